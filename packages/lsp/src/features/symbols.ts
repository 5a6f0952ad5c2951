/** Document symbols (headers, lets, rules, tests) and folding ranges. */
import type { AST } from "@agent-armor/compiler";
import { type DocumentSymbol, type FoldingRange, FoldingRangeKind, SymbolKind } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { toRange } from "../positions.js";

function astOf(a: Analysis): AST.FileNode {
  return a.kind === "policy" ? a.compilation.ast : a.ast;
}

export function documentSymbols(a: Analysis): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  const rules = a.kind === "policy" ? a.compilation.policy.rules : [];
  for (const item of astOf(a).items) {
    const range = toRange(a.source, item.span);
    switch (item.kind) {
      case "let":
        if (item.name)
          out.push({ name: item.name.name, kind: SymbolKind.Constant, range, selectionRange: toRange(a.source, item.name.span), detail: a.text.slice(item.value.span.start, item.value.span.end) });
        break;
      case "rule": {
        const ir = rules.find((r) => r.span.start === item.span.start || (item.name !== null && r.id === item.name.name));
        const name = item.name?.name ?? ir?.id ?? "(rule)";
        out.push({ name, kind: SymbolKind.Function, range, selectionRange: toRange(a.source, item.name?.span ?? item.span), detail: item.effect?.kind.replace("_", " ") ?? "" });
        break;
      }
      case "test":
        out.push({ name: item.name?.value ?? "(test)", kind: SymbolKind.Event, range, selectionRange: toRange(a.source, item.name?.span ?? item.span), detail: "test" });
        break;
      case "policy":
        if (item.name)
          out.push({ name: item.name.name, kind: SymbolKind.Module, range, selectionRange: toRange(a.source, item.name.span), detail: item.version ? `version ${item.version.value}` : "policy" });
        break;
      default:
        break;
    }
  }
  return out;
}

export function foldingRanges(a: Analysis): FoldingRange[] {
  const out: FoldingRange[] = [];
  const lineOf = (offset: number): number => a.source.positionAt(offset).line;
  for (const item of astOf(a).items) {
    const start = lineOf(item.span.start);
    const end = lineOf(item.span.end);
    if (end > start) out.push({ startLine: start, endLine: end, kind: FoldingRangeKind.Region });
  }
  // block comments, and runs of line comments
  let run: { start: number; end: number } | null = null;
  const flush = (): void => {
    if (run && run.end > run.start) out.push({ startLine: run.start, endLine: run.end, kind: FoldingRangeKind.Comment });
    run = null;
  };
  for (const c of astOf(a).comments) {
    const start = lineOf(c.span.start);
    const end = lineOf(c.span.end);
    if (c.block) {
      flush();
      if (end > start) out.push({ startLine: start, endLine: end, kind: FoldingRangeKind.Comment });
      continue;
    }
    const ownLine = a.source.lineText(start).trimStart().startsWith("//");
    if (run && ownLine && start === run.end + 1) run.end = start;
    else {
      flush();
      if (ownLine) run = { start, end: start };
    }
  }
  flush();
  return out.sort((x, y) => x.startLine - y.startLine);
}
