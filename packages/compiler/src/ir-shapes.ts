/**
 * Shapes of conditions whose evaluation never walks an input value: emitted code compiles them
 * to a single JavaScript operation (`===` against a literal, a `Set` lookup, `startsWith`), and
 * the interpreter charges them nothing against the work budget (semantics.ts `MAX_WORK`). Both
 * ask these functions, so that they charge the same conditions.
 */
import type * as IR from "./ir.js";

const primitive = (v: IR.Value): v is string | number | boolean | null => v === null || typeof v !== "object";

/** The side of `==`/`!=` that is a primitive literal (the right one first), or null. */
export function literalSide(e: IR.CompareExpr): IR.LiteralExpr | null {
  if (e.right.kind === "literal" && primitive(e.right.value)) return e.right;
  if (e.left.kind === "literal" && primitive(e.left.value)) return e.left;
  return null;
}

/** `x in [...]` with a literal list of primitives: a set lookup. */
export function constantSet(e: IR.InExpr): boolean {
  return e.list.kind === "literal" && Array.isArray(e.list.value) && (e.list.value as IR.Value[]).every(primitive);
}

/** `starts_with`/`ends_with` a string literal: the string method on a string. */
export function literalAffix(e: IR.StringOpExpr): boolean {
  return e.op !== "contains" && e.right.kind === "literal" && typeof e.right.value === "string";
}
