/**
 * Selection ranges (expand selection): from the word at the cursor outwards through the
 * expressions of the AST that contain it (a path, a comparison, an `and`, parentheses, a call),
 * then the condition or effect, then the whole item. Spans are the compiler's.
 */
import type { AST, Span } from "@agent-armor/compiler";
import type { SelectionRange } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { toRange, touches } from "../positions.js";
import { itemAt } from "./locate.js";

/** The sub-expressions of an expression, in order. */
function children(e: AST.Expr): AST.Expr[] {
  switch (e.kind) {
    case "list":
      return [...e.elements];
    case "call":
      return [e.argument, ...(e.clause ? [e.clause.expr] : [])];
    case "not":
      return [e.operand];
    case "and":
    case "or":
      return [...e.operands];
    case "compare":
    case "arith":
      return [e.left, e.right];
    case "between":
      return [e.value, e.low, e.high];
    case "matches":
      return [e.value];
    case "paren":
      return [e.expr];
    case "quantifier":
      return [e.list, e.condition];
    default:
      return [];
  }
}

/** The spans around `offset`, outermost first: the item, then each expression that holds it. */
function spansAround(item: AST.Item, offset: number): Span[] {
  const out: Span[] = [item.span];
  let e: AST.Expr | null = item.kind === "rule" ? item.condition : item.kind === "let" ? item.value : null;
  if (item.kind === "rule" && item.effect && touches(item.effect.span, offset)) return [...out, item.effect.span];
  // a chain of expressions, bounded by the nesting limit the compiler enforces (A109)
  while (e && touches(e.span, offset)) {
    out.push(e.span);
    if (e.kind === "path") {
      for (const s of e.segments) if (touches(s.span, offset)) out.push({ start: e.span.start, end: s.span.end }, s.span);
      break;
    }
    e = children(e).find((c) => touches(c.span, offset)) ?? null;
  }
  return out;
}

function selectionAt(a: Analysis, offset: number): SelectionRange {
  const ast = a.kind === "policy" ? a.compilation.ast : a.ast;
  const item = itemAt(ast, offset);
  const spans = item ? spansAround(item, offset) : [];
  let range: SelectionRange = { range: toRange(a.source, { start: 0, end: a.text.length }) };
  let last: Span = { start: 0, end: a.text.length };
  for (const s of spans) {
    if (s.start === last.start && s.end === last.end) continue; // an expression as wide as its parent is one step
    if (s.start < last.start || s.end > last.end) continue; // parents must contain their children
    range = { range: toRange(a.source, s), parent: range };
    last = s;
  }
  return range;
}

export function selectionRanges(a: Analysis, offsets: readonly number[]): SelectionRange[] {
  return offsets.map((o) => selectionAt(a, o));
}
