/**
 * The comparisons that cost nothing on the work budget, as the compiler's `ir-shapes.ts` names them
 * for the interpreter and emitted code (that module is internal to the compiler, so its two
 * predicates the encoding needs are repeated here; test/diff.test.ts holds the budget's errors).
 */
import type { IR } from "@agent-armor/compiler";

const primitive = (v: IR.Value): boolean => v === null || typeof v !== "object";

/** `==`/`!=` with a primitive literal on either side: compared without a walk. */
export function literalSide(e: IR.CompareExpr): boolean {
  return (e.right.kind === "literal" && primitive(e.right.value)) || (e.left.kind === "literal" && primitive(e.left.value));
}

/** `starts_with`/`ends_with` a string literal: the string method, no walk. */
export function literalAffix(e: IR.StringOpExpr): boolean {
  return e.op !== "contains" && e.right.kind === "literal" && typeof e.right.value === "string";
}
