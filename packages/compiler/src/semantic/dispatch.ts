/**
 * The action types a rule can fire for, as used for dispatch in emitted code.
 *
 * Only the leading conjuncts that read nothing but `action.type` count. A later type test does
 * not: `amount > 5 and action.type == "x"` evaluates `amount > 5` first for every action, and
 * that comparison may fail with an evaluation error, which must deny also for other types.
 * Type-only conditions never fail, so skipping the rule for other types changes nothing.
 */
import type * as IR from "../ir.js";

function intersect(a: Set<string> | null, b: Set<string>): Set<string> {
  return a === null ? b : new Set([...a].filter((t) => b.has(t)));
}

function isTypePath(e: IR.Expr): boolean {
  return e.kind === "path" && e.root === "action" && e.fields.length === 1 && e.fields[0] === "type";
}

/** The types a type-only condition admits; `null` when it admits any or cannot be told. */
function admitted(e: IR.Expr): Set<string> | null {
  switch (e.kind) {
    case "compare": {
      if (e.op !== "==") return null;
      const lit = isTypePath(e.left) ? e.right : isTypePath(e.right) ? e.left : null;
      return lit?.kind === "literal" && typeof lit.value === "string" ? new Set([lit.value]) : null;
    }
    case "in": {
      if (!isTypePath(e.left) || e.list.kind !== "literal" || !Array.isArray(e.list.value)) return null;
      const values = e.list.value as IR.Value[];
      return values.every((v) => typeof v === "string") ? new Set(values as string[]) : null;
    }
    case "or": {
      const parts = e.args.map(admitted);
      if (parts.some((p) => p === null)) return null;
      return new Set(parts.flatMap((p) => [...p!]));
    }
    case "and": {
      let acc: Set<string> | null = null;
      for (const a of e.args) {
        const p = admitted(a);
        if (p !== null) acc = intersect(acc, p);
      }
      return acc;
    }
    default:
      return null;
  }
}

export function readsOnlyType(e: IR.Expr): boolean {
  switch (e.kind) {
    case "literal":
      return true;
    case "path":
      return isTypePath(e);
    case "and":
    case "or":
      return e.args.every(readsOnlyType);
    case "not":
      return readsOnlyType(e.arg);
    case "compare":
      return readsOnlyType(e.left) && readsOnlyType(e.right);
    case "in":
      return readsOnlyType(e.left) && readsOnlyType(e.list);
    default:
      return false;
  }
}

/** By condition: a re-check that takes a rule over (rule-cache.ts) hands back the same condition. IR is never changed once built. */
const dispatchOf = new WeakMap<IR.Expr, string[] | null>();

export function dispatchTypes(condition: IR.Expr): string[] | null {
  let types = dispatchOf.get(condition);
  if (types === undefined) {
    types = computeDispatchTypes(condition);
    dispatchOf.set(condition, types);
  }
  return types;
}

function computeDispatchTypes(condition: IR.Expr): string[] | null {
  const conjuncts = condition.kind === "and" ? condition.args : [condition];
  let acc: Set<string> | null = null;
  for (const c of conjuncts) {
    if (!readsOnlyType(c)) break;
    const p = admitted(c);
    if (p !== null) acc = intersect(acc, p);
  }
  return acc === null ? null : [...acc].sort();
}
