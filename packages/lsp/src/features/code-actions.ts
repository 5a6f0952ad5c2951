/**
 * Quick fixes from the compiler's diagnostics: every fix a diagnostic carries as data
 * (did-you-mean, removing an unused let, adding the missing `default`), the first preferred.
 */
import type { Diagnostic as ArmorDiagnostic } from "@agent-armor/compiler";
import { type CodeAction, CodeActionKind, type Range } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { rangesOverlap, toRange } from "../positions.js";
import { toLspDiagnostic } from "./diagnostics.js";

function fixesFor(a: Analysis, d: ArmorDiagnostic, docsBaseUrl: string | null): CodeAction[] {
  const lsp = toLspDiagnostic(d, a.source, docsBaseUrl);
  // a fix is offered when all its edits are in this document (the server edits only what it has open)
  return (d.fixes ?? [])
    .filter((f) => f.edits.every((e) => e.file === a.source.name))
    .map((f, i) => ({
      title: f.title,
      kind: CodeActionKind.QuickFix,
      diagnostics: [lsp],
      isPreferred: i === 0,
      edit: { changes: { [a.uri]: f.edits.map((e) => ({ range: toRange(a.source, e.span), newText: e.newText })) } },
    }));
}

export function codeActions(a: Analysis, range: Range, docsBaseUrl: string | null): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of a.diagnostics) {
    if (d.file !== a.source.name) continue;
    // a diagnostic about the whole file offers its fixes anywhere in it
    if (!d.tags?.includes("file") && !rangesOverlap(toRange(a.source, d.span), range)) continue;
    out.push(...fixesFor(a, d, docsBaseUrl));
  }
  return out;
}
