/**
 * Where a history condition may read `current.F`: the checker accepts it there and reports A213
 * anywhere else, and the language server offers `current` only there. Trackers find earlier
 * actions by equal keys, so `current.F` may only be one side of an `==` that is a top-level
 * conjunct of the condition that picks the entries (the argument of `count`/`seen`, the `where`
 * of `sum`/`max`/`min`), or of the single `==` of such a conjunct `any(x in LIST: x == current.F)`
 * / `any(x in LIST: x.G == current.F)`. Not in `since`'s B, in the value of `sum`/`max`/`min`,
 * under `not`, in an `or`, or outside history.
 */
import type * as A from "../syntax/ast.js";

/** The history functions, and which part of each picks the entries. */
const PICKS_BY_ARGUMENT: ReadonlySet<string> = new Set(["count", "seen"]);
const PICKS_BY_WHERE: ReadonlySet<string> = new Set(["sum", "max", "min"]);

const unparen = (x: A.Expr): A.Expr => (x.kind === "paren" ? unparen(x.expr) : x);
const isCurrent = (x: A.Expr): boolean => x.kind === "path" && x.segments[0]?.name === "current";

/**
 * The `current.F` paths of the condition that picks a history function's entries that may be
 * read. With `pending` (a condition still being written), a `current` path standing alone where
 * such an `==` may follow it (a top-level conjunct, or the whole condition of a top-level `any`)
 * counts too.
 */
export function currentSides(e: A.Expr, pending = false): Set<A.Expr> {
  const out = new Set<A.Expr>();
  const visit = (x: A.Expr): void => {
    if (x.kind === "paren") visit(x.expr);
    else if (x.kind === "and") x.operands.forEach(visit);
    else if (x.kind === "compare" && x.op === "==") {
      const [left, right] = [unparen(x.left), unparen(x.right)];
      if (isCurrent(left) !== isCurrent(right)) out.add(isCurrent(left) ? left : right);
    } else if (x.kind === "quantifier" && x.callee.name === "any" && x.variable !== null) {
      const c = unparen(x.condition);
      if (pending && isCurrent(c)) out.add(c);
      if (c.kind !== "compare" || c.op !== "==") return;
      const [left, right] = [unparen(c.left), unparen(c.right)];
      const isElement = (y: A.Expr): boolean => y.kind === "path" && y.segments[0]?.name === x.variable!.name;
      if (isCurrent(left) && isElement(right)) out.add(left);
      else if (isCurrent(right) && isElement(left)) out.add(right);
    } else if (pending && isCurrent(x)) out.add(x);
  };
  visit(e);
  return out;
}

/** The part of a history call that picks its entries (null: not a history function, or no `where` yet). */
export function pickedBy(call: A.CallExpr): A.Expr | null {
  const name = call.callee.name;
  if (PICKS_BY_ARGUMENT.has(name)) return call.argument;
  if (PICKS_BY_WHERE.has(name)) return call.clause?.keyword === "where" ? call.clause.expr : null;
  return null;
}

const contains = (s: { start: number; end: number }, offset: number): boolean => s.start <= offset && offset <= s.end;

/** The innermost history call of `e` whose span holds `offset`. */
function historyCallAt(e: A.Expr, offset: number): A.CallExpr | null {
  let found: A.CallExpr | null = null;
  const visit = (x: A.Expr): void => {
    if (!contains(x.span, offset)) return;
    if (x.kind === "call" && (PICKS_BY_ARGUMENT.has(x.callee.name) || PICKS_BY_WHERE.has(x.callee.name))) found = x;
    for (const child of childrenOf(x)) visit(child);
  };
  visit(e);
  return found;
}

function childrenOf(x: A.Expr): readonly A.Expr[] {
  switch (x.kind) {
    case "call":
      return x.clause ? [x.argument, x.clause.expr] : [x.argument];
    case "not":
      return [x.operand];
    case "and":
    case "or":
      return x.operands;
    case "compare":
    case "arith":
      return [x.left, x.right];
    case "between":
      return [x.value, x.low, x.high];
    case "matches":
      return [x.value];
    case "paren":
      return [x.expr];
    case "quantifier":
      return [x.list, x.condition];
    case "list":
      return x.elements;
    default:
      return [];
  }
}

/**
 * Whether a `current.F` path written at `offset` in `item` is one the checker accepts (for a
 * condition still being written: one it will accept once the `==` is written). The language
 * server asks this before it offers `current` and its fields; `offset` is inside the path.
 */
export function currentAllowedAt(item: A.Item | null, offset: number): boolean {
  if (item?.kind !== "rule") return false;
  const call = historyCallAt(item.condition, offset);
  const picked = call ? pickedBy(call) : null;
  if (picked === null) return false;
  for (const side of currentSides(picked, true)) if (contains(side.span, offset)) return true;
  return false;
}
