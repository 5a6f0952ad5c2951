/**
 * What the checker knows at a position of a rule's condition: the action types the subject can
 * have there. The conjuncts of an `and` before the position narrow it by what the checker found
 * they restrict to (`SemanticModel.narrowings`: type tests, `in` a list or a let, `or`s of them);
 * inside `count(...)` and `seen(...)` the subject is an earlier action, with no narrowing from
 * outside. Tools ask this (the language server's completion of `action.`) rather than reading
 * type tests themselves. A position may be in a half-typed condition: only the finished
 * conjuncts before it count.
 */
import type * as A from "../syntax/ast.js";
import type { SemanticModel } from "./checker.js";

function narrowsOf(model: SemanticModel, e: A.Expr): ReadonlySet<string> | undefined {
  return model.narrowings.get(e.span);
}

function intersect(a: ReadonlySet<string> | null, b: ReadonlySet<string>): ReadonlySet<string> {
  return a === null ? b : new Set([...a].filter((x) => b.has(x)));
}

/** With `outer`, a position inside a history function gets the types at the call (for `current.F`), not the earlier action's. */
function typesIn(model: SemanticModel, e: A.Expr, offset: number, acc: ReadonlySet<string> | null, outer = false): ReadonlySet<string> | null {
  switch (e.kind) {
    case "and": {
      let types = acc;
      for (const op of e.operands) {
        if (op.span.start <= offset && offset < op.span.end) return typesIn(model, op, offset, types, outer);
        if (op.span.end <= offset) {
          const n = narrowsOf(model, op);
          if (n) types = intersect(types, n);
        }
      }
      return types;
    }
    case "or":
      for (const op of e.operands) if (op.span.start <= offset && offset <= op.span.end) return typesIn(model, op, offset, acc, outer);
      return acc;
    case "paren":
      return typesIn(model, e.expr, offset, acc, outer);
    case "not":
      return typesIn(model, e.operand, offset, acc, outer);
    case "call":
      if (outer) return acc;
      if (e.argument.span.start <= offset && offset <= e.argument.span.end) return typesIn(model, e.argument, offset, null);
      if (e.clause && e.clause.expr.span.start <= offset && offset <= e.clause.expr.span.end) return typesIn(model, e.clause.expr, offset, null);
      return acc;
    default:
      return acc;
  }
}

/**
 * The action types of the current action at `offset` inside a history condition of `item`: what
 * the rule is narrowed to where the history function is called (`current.F` is checked against
 * them); `null`: any type.
 */
export function currentTypesAt(model: SemanticModel, item: A.Item | null, offset: number): ReadonlySet<string> | null {
  if (item?.kind !== "rule") return null;
  return typesIn(model, item.condition, offset, null, true);
}

/**
 * The action types in scope at `offset` in `item` (`null`: any type). Outside a rule's condition,
 * or in a rule's effect, it is what the whole condition narrows to.
 */
export function actionTypesAt(model: SemanticModel, item: A.Item | null, offset: number): ReadonlySet<string> | null {
  if (item?.kind !== "rule") return null;
  if (item.condition.span.end <= offset && item.effect !== null && item.effect.span.start <= offset) return narrowsOf(model, item.condition) ?? null;
  return typesIn(model, item.condition, offset, null);
}
