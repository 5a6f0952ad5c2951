/**
 * Signature help inside a call of a built-in function (`count(`, `seen(`, `exists(`, `any(`), from the
 * language facts: the signature, its parameters and the one being written (the window once
 * `within` is typed). The call around the cursor is found in the compiler's tokens before it
 * (a half-typed call has no tree yet): the innermost `(` that is not closed, in the same item;
 * inside a string, regex or comment there is none.
 */
import { expectedAt, facts } from "@agent-armor/compiler";
import { MarkupKind, type SignatureHelp } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";

/** How many tokens back the open call is looked for: a call's argument is one condition. */
const LOOKBACK = 2000;

/** Item keywords: a call never reaches back past one. */
const itemTokens = new Set(["Policy", "Schema", "Default", "Timezone", "Let", "Rule", "Test"]);

/**
 * The callee of the innermost call left open before `offset`, from the compiler's tokens (so a
 * parenthesis inside a string, a regex or a comment is not one), or null.
 */
function openCall(a: Analysis, offset: number): { name: string; paren: number } | null {
  const tokens = a.syntax.tokens;
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.startOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  let depth = 0;
  for (let i = lo - 1; i >= Math.max(0, lo - LOOKBACK); i--) {
    const t = tokens[i]!;
    const kind = t.tokenType.name;
    if (itemTokens.has(kind)) return null;
    if (kind === "RParen") depth++;
    else if (kind === "LParen") {
      if (depth > 0) {
        depth--;
        continue;
      }
      const callee = tokens[i - 1];
      return callee && /^[A-Za-z_]/.test(callee.image) ? { name: callee.image, paren: t.startOffset } : null;
    }
  }
  return null;
}

/** The names of the tokens between a call's `(` and `offset` that are not inside a nested parenthesis or list. */
function topLevelTokens(a: Analysis, paren: number, offset: number): string[] {
  const out: string[] = [];
  let depth = 0;
  for (const t of a.syntax.tokens) {
    if (t.startOffset <= paren) continue;
    if (t.startOffset >= offset) break;
    const kind = t.tokenType.name;
    if (kind === "LParen" || kind === "LBracket") depth++;
    else if (kind === "RParen" || kind === "RBracket") depth--;
    else if (depth === 0) out.push(kind);
  }
  return out;
}

export function signatureHelp(a: Analysis, offset: number): SignatureHelp | null {
  // inside a string, a regex or a comment there is no call to help with
  if (expectedAt(a.text, offset).inside !== null) return null;
  const call = openCall(a, offset);
  if (call === null) return null;
  const { name, paren } = call;
  const fn = name === undefined ? undefined : facts.functionFact(name);
  if (fn === undefined) return null;
  const params = fn.parameters.map((p) => (p.optional ? `[${p.label}]` : p.label));
  const label = `${fn.name}(${params.join(" ")}) → ${fn.result}`;
  let at = fn.name.length + 1;
  const parameters = params.map((p, i) => {
    const start = at;
    at += p.length + 1;
    return { label: [start, start + p.length] as [number, number], documentation: fn.parameters[i]!.doc };
  });
  // the call's own keywords so far (not those of calls nested in it, nor words in strings)
  const inside = new Set(topLevelTokens(a, paren, offset));
  const window = fn.parameters.findIndex((p) => p.type === "duration");
  const clause = fn.parameters.findIndex((p) => /^(where|since) /.test(p.label));
  const scope = fn.parameters.findIndex((p) => p.label.startsWith("per "));
  let activeParameter = scope >= 0 && inside.has("Per") ? scope : window >= 0 && inside.has("Within") ? window : clause >= 0 && (inside.has("Where") || inside.has("Since")) ? clause : 0;
  // `any(x in LIST: CONDITION)`: the list after `in`, the condition after the colon
  if (fn.parameters[0]?.type === "name") activeParameter = inside.has("Colon") ? 2 : inside.has("In") ? 1 : 0;
  return {
    signatures: [{ label, documentation: { kind: MarkupKind.Markdown, value: `${fn.doc}\n\n\`\`\`armor\n${fn.example}\n\`\`\`` }, parameters }],
    activeSignature: 0,
    activeParameter,
  };
}
