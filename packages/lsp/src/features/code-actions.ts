/**
 * Quick fixes from the compiler's diagnostics: every suggested edit a diagnostic carries
 * (did-you-mean, removing an unused let), and adding the missing `default`.
 */
import type { Diagnostic as ArmorDiagnostic } from "@agent-armor/compiler";
import { type CodeAction, CodeActionKind, type Range } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { rangesOverlap, toRange } from "../positions.js";
import { toLspDiagnostic } from "./diagnostics.js";

/** After the last header at the top of the file (policy, schema, timezone), or at the start. */
function defaultInsertion(a: Analysis): number {
  if (a.kind !== "policy") return 0;
  let offset = 0;
  for (const item of a.compilation.ast.items) {
    if (item.kind === "policy" || item.kind === "schema" || item.kind === "timezone") {
      const lineEnd = a.text.indexOf("\n", item.span.end);
      offset = lineEnd === -1 ? a.text.length : lineEnd + 1;
    } else break;
  }
  return offset;
}

function fixesFor(a: Analysis, d: ArmorDiagnostic, docsBaseUrl: string | null): CodeAction[] {
  const lsp = toLspDiagnostic(d, a.source, docsBaseUrl);
  if (d.code === "A404") {
    const at = defaultInsertion(a);
    const needsNewline = at === a.text.length && at > 0 && !a.text.endsWith("\n");
    return (["deny", "allow"] as const).map((effect, i) => ({
      title: `add \`default ${effect}\``,
      kind: CodeActionKind.QuickFix,
      diagnostics: [lsp],
      isPreferred: i === 0,
      edit: { changes: { [a.uri]: [{ range: toRange(a.source, { start: at, end: at }), newText: `${needsNewline ? "\n" : ""}default ${effect}\n` }] } },
    }));
  }
  return (d.suggestions ?? [])
    .filter((s) => s.file === a.source.name)
    .map((s, i) => ({
      title: s.title,
      kind: CodeActionKind.QuickFix,
      diagnostics: [lsp],
      isPreferred: i === 0,
      edit: { changes: { [a.uri]: [{ range: toRange(a.source, s.span), newText: s.newText }] } },
    }));
}

export function codeActions(a: Analysis, range: Range, docsBaseUrl: string | null): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of a.diagnostics) {
    if (d.file !== a.source.name) continue;
    const r = toRange(a.source, d.span);
    // A404 sits at the start of the file; offer it anywhere in the file
    if (d.code !== "A404" && !rangesOverlap(r, range)) continue;
    out.push(...fixesFor(a, d, docsBaseUrl));
  }
  return out;
}
