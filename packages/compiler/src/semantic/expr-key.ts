/**
 * A structural key for an IR expression: two expressions have the same key exactly when they are
 * the same condition, wherever they were written (spans are left out). The checker uses it to
 * share one tracker between equal history predicates; rule analysis, to find a condition of one
 * rule among the conditions of another.
 */
import type * as IR from "../ir.js";

export function exprKey(e: IR.Expr): string {
  switch (e.kind) {
    case "literal":
      return `v${JSON.stringify(e.value)}`;
    case "path":
      return `p${e.root}${JSON.stringify(e.fields)}`;
    case "time":
      return `t${e.field}`;
    case "and":
    case "or":
      return `${e.kind}(${e.args.map(exprKey).join(",")})`;
    case "not":
      return `not(${exprKey(e.arg)})`;
    case "compare":
      return `${e.op}(${exprKey(e.left)},${exprKey(e.right)})`;
    case "in":
      return `in(${exprKey(e.left)},${exprKey(e.list)})`;
    case "between":
      return `between(${exprKey(e.value)},${exprKey(e.low)},${exprKey(e.high)})`;
    case "matches":
      return `matches(${exprKey(e.value)},${e.regex})`;
    case "stringOp":
      return `${e.op}(${exprKey(e.left)},${exprKey(e.right)})`;
    case "exists":
      return `exists(${exprKey(e.path)})`;
    case "count":
    case "seen":
      return `${e.kind}(${e.tracker})`;
    case "fn":
      return `fn.${e.name}(${exprKey(e.arg)})`;
    case "aggregate":
      return `${e.aggregate}(${e.tracker})`;
    case "quantifier":
      return `${e.quantifier}(${JSON.stringify(e.variable)},${exprKey(e.list)},${exprKey(e.condition)})`;
    case "arith":
      return `${e.op}(${exprKey(e.left)},${exprKey(e.right)})`;
  }
}
