/**
 * Signature help inside a call of a built-in function (`count(`, `seen(`, `exists(`, `any(`), from the
 * language facts: the signature, its parameters and the one being written (the window once
 * `within` is typed). The call around the cursor is found in the text before it, which a
 * half-typed call has not yet made a tree of: the innermost `(` that is not closed.
 */
import { facts } from "@agent-armor/compiler";
import { MarkupKind, type SignatureHelp } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";

/** How far back the open call is looked for: a call's argument is one condition. */
const LOOKBACK = 2000;

/**
 * The innermost unclosed `(` before `offset` in the same item (a line starting at column 0 starts
 * an item), or -1. Parentheses inside strings and regexes count too: this only picks a hint.
 */
function openParen(text: string, offset: number): number {
  let depth = 0;
  for (let i = offset - 1; i >= Math.max(0, offset - LOOKBACK); i--) {
    const c = text[i];
    if (c === ")") depth++;
    else if (c === "(") {
      if (depth === 0) return i;
      depth--;
    } else if (c === "\n" && /^[A-Za-z]/.test(text.slice(i + 1, i + 2))) return -1; // an item line: the call is not in this item
  }
  return -1;
}

export function signatureHelp(a: Analysis, offset: number): SignatureHelp | null {
  const text = a.text;
  const paren = openParen(text, offset);
  if (paren < 0) return null;
  const name = /([A-Za-z_]\w*)\s*$/.exec(text.slice(Math.max(0, paren - 40), paren))?.[1];
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
  const inside = text.slice(paren + 1, offset);
  const window = fn.parameters.findIndex((p) => p.type === "duration");
  const clause = fn.parameters.findIndex((p) => /^(where|since) /.test(p.label));
  let activeParameter = window >= 0 && /\bwithin\b/.test(inside) ? window : clause >= 0 && /\b(where|since)\b/.test(inside) ? clause : 0;
  // `any(x in LIST: CONDITION)`: the list after `in`, the condition after the colon
  if (fn.parameters[0]?.type === "name") activeParameter = inside.includes(":") ? 2 : /\bin\b/.test(inside) ? 1 : 0;
  return {
    signatures: [{ label, documentation: { kind: MarkupKind.Markdown, value: `${fn.doc}\n\n\`\`\`armor\n${fn.example}\n\`\`\`` }, parameters }],
    activeSignature: 0,
    activeParameter,
  };
}
