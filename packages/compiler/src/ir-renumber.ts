/**
 * Renumbering the regexes and history trackers a piece of checked IR refers to, when IR checked
 * on its own joins another numbering: an imported file's rules and properties merged into the
 * importer's policy (imports.ts), a test file's properties joined to the policy under test
 * (compile.ts). Each number is mapped by a function, so a numbering that moves some ranges and
 * keeps others (a policy's own property trackers moved after its imports' rule trackers) is one map.
 */
import type * as IR from "./ir.js";

export interface Renumbering {
  readonly regex: (index: number) => number;
  readonly tracker: (index: number) => number;
}

/** Every regex moved by `regex` places and every tracker by `tracker`. */
export function offsets(regex: number, tracker: number): Renumbering {
  return { regex: (i) => i + regex, tracker: (i) => i + tracker };
}

export function renumberExpr(e: IR.Expr, n: Renumbering): IR.Expr {
  switch (e.kind) {
    case "literal":
    case "path":
    case "time":
    case "exists":
      return e;
    case "and":
    case "or":
      return { ...e, args: e.args.map((a) => renumberExpr(a, n)) };
    case "not":
      return { ...e, arg: renumberExpr(e.arg, n) };
    case "fn":
      return { ...e, arg: renumberExpr(e.arg, n) };
    case "compare":
    case "stringOp":
    case "arith":
      return { ...e, left: renumberExpr(e.left, n), right: renumberExpr(e.right, n) };
    case "in":
      return { ...e, left: renumberExpr(e.left, n), list: renumberExpr(e.list, n) };
    case "between":
      return { ...e, value: renumberExpr(e.value, n), low: renumberExpr(e.low, n), high: renumberExpr(e.high, n) };
    case "matches":
      return { ...e, value: renumberExpr(e.value, n), regex: n.regex(e.regex) };
    case "count":
    case "seen":
    case "aggregate":
      return { ...e, tracker: n.tracker(e.tracker) };
    case "quantifier":
      return { ...e, list: renumberExpr(e.list, n), condition: renumberExpr(e.condition, n) };
  }
}

/** A redaction's regex renumbered; an approval's grant names the rule's id in its new place. */
export function renumberEffect(e: IR.Effect, n: Renumbering, id: string): IR.Effect {
  if (e.kind === "redact" && e.regex !== null) return { ...e, regex: n.regex(e.regex) };
  if (e.kind === "require_approval" && e.grant !== null) return { ...e, grant: { ...e.grant, rule: id } };
  return e;
}

export function renumberTracker(t: IR.Tracker, n: Renumbering): IR.Tracker {
  return {
    ...t,
    index: n.tracker(t.index),
    condition: renumberExpr(t.condition, n),
    since: t.since === null ? null : renumberExpr(t.since, n),
    value: t.value === null ? null : renumberExpr(t.value, n),
    rest: renumberExpr(t.rest, n),
    keys: t.keys.map((k) => ({ ...k, entry: renumberExpr(k.entry, n), ...(k.list ? { list: { ...k.list, expr: renumberExpr(k.list.expr, n) } } : {}) })),
  };
}

export function renumberRegex(r: IR.RegexDef, n: Renumbering): IR.RegexDef {
  return { ...r, index: n.regex(r.index) };
}

export function renumberProperty(p: IR.Property, n: Renumbering): IR.Property {
  return { ...p, condition: renumberExpr(p.condition, n) };
}
