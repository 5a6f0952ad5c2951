/**
 * Rule analysis over the checked IR: rules that can never fire (constant-false conditions,
 * contradictory constraints such as `amount > 10 and amount < 5`), and rules whose effect never
 * matters because a broader rule with a stronger effect always fires with them.
 *
 * The analysis is sound but incomplete: it reasons about conjunctions of simple constraints on
 * one path (comparisons, `in`, `between` with constants) and treats anything else as opaque, so
 * it may miss a dead rule but never reports a live one.
 */
import { catalog } from "../diagnostics/catalog.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import type * as IR from "../ir.js";
import * as sem from "../semantics.js";
import { exprKey } from "./expr-key.js";

/** What a conjunction says about one path's value. */
interface Domain {
  eq?: IR.Value;
  hasEq: boolean;
  ne: IR.Value[];
  oneOf?: IR.Value[];
  lo?: { v: number | string; inclusive: boolean };
  hi?: { v: number | string; inclusive: boolean };
}

interface Conjunct {
  readonly expr: IR.Expr;
  readonly key: string | null;
  /** Tests a candidate value of `key`. */
  readonly test?: (v: IR.Value) => boolean;
  readonly apply?: (d: Domain) => void;
  /** The structural key of `expr` (`conjunctText`), computed only when another rule's condition is compared with it. */
  text?: string;
}

function conjunctText(c: Conjunct): string {
  c.text ??= exprKey(c.expr);
  return c.text;
}

function pathKey(e: IR.Expr): string | null {
  if (e.kind === "path") return `${e.root}.${e.fields.join(".")}`;
  if (e.kind === "time") return `time.${e.field}`;
  return null;
}

const flip: Record<IR.CompareOp, IR.CompareOp> = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

function safe(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}

function conjunct(e: IR.Expr): Conjunct {
  if (e.kind === "compare") {
    let subject = e.left;
    let value = e.right;
    let op = e.op;
    if (pathKey(subject) === null && pathKey(value) !== null) {
      [subject, value] = [value, subject];
      op = flip[op];
    }
    const key = pathKey(subject);
    if (key !== null && value.kind === "literal") {
      const lit = value.value;
      const test = (v: IR.Value): boolean => safe(() => (op === "==" ? sem.equals(v, lit) : op === "!=" ? !sem.equals(v, lit) : sem.order(op, v, lit)));
      const apply = (d: Domain): void => {
        if (op === "==") {
          if (d.hasEq && !sem.equals(d.eq, lit)) d.oneOf = [];
          d.eq = lit;
          d.hasEq = true;
        } else if (op === "!=") d.ne.push(lit);
        else if (typeof lit === "number" || typeof lit === "string") {
          const bound = { v: lit, inclusive: op === "<=" || op === ">=" };
          if (op === ">" || op === ">=") {
            if (!d.lo || bound.v > d.lo.v || (bound.v === d.lo.v && !bound.inclusive)) d.lo = bound;
          } else if (!d.hi || bound.v < d.hi.v || (bound.v === d.hi.v && !bound.inclusive)) d.hi = bound;
        }
      };
      return { expr: e, key, test, apply };
    }
  }
  if (e.kind === "in" && e.list.kind === "literal" && Array.isArray(e.list.value)) {
    const key = pathKey(e.left);
    const list = e.list.value as IR.Value[];
    if (key !== null) {
      return {
        expr: e,
        key,
        test: (v) => safe(() => sem.inList(v, list)),
        apply: (d) => {
          d.oneOf = d.oneOf ? d.oneOf.filter((x) => list.some((y) => sem.equals(x, y))) : [...list];
        },
      };
    }
  }
  if (e.kind === "not" && e.arg.kind === "in" && e.arg.list.kind === "literal" && Array.isArray(e.arg.list.value)) {
    const key = pathKey(e.arg.left);
    const list = e.arg.list.value as IR.Value[];
    if (key !== null) {
      return { expr: e, key, test: (v) => !safe(() => sem.inList(v, list)), apply: (d) => void d.ne.push(...list) };
    }
  }
  if (e.kind === "between" && e.low.kind === "literal" && e.high.kind === "literal") {
    const key = pathKey(e.value);
    const lo = e.low.value;
    const hi = e.high.value;
    if (key !== null && (typeof lo === "number" || typeof lo === "string") && typeof hi === typeof lo) {
      return {
        expr: e,
        key,
        test: (v) => safe(() => sem.between(v, lo, hi)),
        apply: (d) => {
          conjunct({ kind: "compare", op: ">=", left: e.value, right: e.low, span: e.span }).apply!(d);
          conjunct({ kind: "compare", op: "<=", left: e.value, right: e.high, span: e.span }).apply!(d);
        },
      };
    }
  }
  return { expr: e, key: null };
}

function conjuncts(e: IR.Expr): Conjunct[] {
  if (e.kind === "and") return e.args.flatMap(conjuncts);
  if (e.kind === "literal" && e.value === true) return [];
  return [conjunct(e)];
}

function domains(cs: Conjunct[]): Map<string, Domain> {
  const out = new Map<string, Domain>();
  for (const c of cs) {
    if (c.key === null || !c.apply) continue;
    let d = out.get(c.key);
    if (!d) {
      d = { hasEq: false, ne: [] };
      out.set(c.key, d);
    }
    c.apply(d);
  }
  return out;
}

function inRange(d: Domain, v: IR.Value): boolean {
  if (d.lo || d.hi) {
    const kind = typeof (d.lo?.v ?? d.hi?.v);
    if (typeof v !== kind) return false;
    const x = v as number | string;
    if (d.lo && (x < d.lo.v || (x === d.lo.v && !d.lo.inclusive))) return false;
    if (d.hi && (x > d.hi.v || (x === d.hi.v && !d.hi.inclusive))) return false;
  }
  return !d.ne.some((n) => sem.equals(n, v));
}

/** Whether no value satisfies the domain. */
function empty(d: Domain): boolean {
  if (d.hasEq) {
    if (!inRange(d, d.eq ?? null)) return true;
    if (d.oneOf && !d.oneOf.some((x) => sem.equals(x, d.eq))) return true;
    return false;
  }
  if (d.oneOf) return !d.oneOf.some((x) => inRange(d, x));
  if (d.lo && d.hi) {
    if (typeof d.lo.v !== typeof d.hi.v) return true;
    if (d.lo.v > d.hi.v) return true;
    if (d.lo.v === d.hi.v && !(d.lo.inclusive && d.hi.inclusive)) return true;
    if (d.lo.v === d.hi.v && d.ne.some((n) => n === d.lo!.v)) return true;
  }
  return false;
}

/** Whether every value allowed by `d` satisfies `c`; false when unknown. */
function domainImplies(d: Domain | undefined, c: Conjunct): boolean {
  if (!d || !c.test) return false;
  if (d.hasEq) return c.test(d.eq ?? null);
  if (d.oneOf) return d.oneOf.filter((x) => inRange(d, x)).every((x) => c.test!(x));
  // a numeric range: implied when c is a range that contains it
  if ((d.lo || d.hi) && c.apply) {
    const cd: Domain = { hasEq: false, ne: [] };
    c.apply(cd);
    if (cd.hasEq || cd.oneOf || cd.ne.length > 0) return false;
    const loOk = !cd.lo || (d.lo !== undefined && typeof d.lo.v === typeof cd.lo.v && (d.lo.v > cd.lo.v || (d.lo.v === cd.lo.v && (cd.lo.inclusive || !d.lo.inclusive))));
    const hiOk = !cd.hi || (d.hi !== undefined && typeof d.hi.v === typeof cd.hi.v && (d.hi.v < cd.hi.v || (d.hi.v === cd.hi.v && (cd.hi.inclusive || !d.hi.inclusive))));
    return loOk && hiOk;
  }
  return false;
}

/** What a condition says, as conjuncts and the domains they give each path; read only once built. */
interface ConditionFacts {
  readonly cs: Conjunct[];
  readonly ds: Map<string, Domain>;
  /** The keys of `cs`, computed when the rule is first compared with a broader one (most never are). */
  texts: Set<string> | null;
}

interface RuleFacts {
  readonly rule: IR.Rule;
  readonly cs: Conjunct[];
  readonly ds: Map<string, Domain>;
  readonly facts: ConditionFacts;
}

/**
 * The facts of each condition analysed, by the condition's IR: a checker that takes a rule over
 * from its previous check (an editor's re-check, rule-cache.ts) hands back the same condition, so
 * its facts are not computed again. IR is never changed once built.
 */
const conditionFacts = new WeakMap<IR.Expr, ConditionFacts>();

function factsOf(condition: IR.Expr): ConditionFacts {
  let f = conditionFacts.get(condition);
  if (f === undefined) {
    const cs = conjuncts(condition);
    f = { cs, ds: domains(cs), texts: null };
    conditionFacts.set(condition, f);
  }
  return f;
}

function textsOf(f: RuleFacts): Set<string> {
  f.facts.texts ??= new Set(f.cs.map(conjunctText));
  return f.facts.texts;
}

/** Whether the condition of `a` implies the condition of `b` (b is broader). */
function implies(a: RuleFacts, b: RuleFacts): boolean {
  return b.cs.every((c) => (c.key !== null && domainImplies(a.ds.get(c.key), c)) || textsOf(a).has(conjunctText(c)));
}

/**
 * The rules that could be broader than `a`: a rule dispatched on action types can only be implied
 * by rules that apply to all of its types. Indexing by type keeps the analysis near-linear for
 * policies with thousands of rules over many action types.
 */
function candidates(a: RuleFacts, generic: RuleFacts[], byType: Map<string, RuleFacts[]>): Iterable<RuleFacts> {
  const types = a.rule.actionTypes;
  if (types === null || types.length === 0) return generic;
  const first = byType.get(types[0]!) ?? [];
  const rest = types.slice(1);
  const typed = first.filter((b) => rest.every((t) => b.rule.actionTypes!.includes(t)));
  return [...generic, ...typed];
}

// a label never changes the decision: it neither overrides nor is overridden
const strength: Record<IR.EffectKind, number> = { deny: 3, require_approval: 2, allow: 1, redact: 0, label: -1 };

/** The live rules whose effect is at least `min` strong: those without dispatch types, and the rest by type. */
function overriders(info: readonly RuleFacts[], live: ReadonlySet<number>, min: number): { generic: RuleFacts[]; byType: Map<string, RuleFacts[]> } {
  const generic: RuleFacts[] = [];
  const byType = new Map<string, RuleFacts[]>();
  for (const b of info) {
    if (!live.has(b.rule.index) || strength[b.rule.effect.kind] < min) continue;
    if (b.rule.actionTypes === null) generic.push(b);
    else {
      for (const t of b.rule.actionTypes) {
        const list = byType.get(t);
        if (list) list.push(b);
        else byType.set(t, [b]);
      }
    }
  }
  return { generic, byType };
}

export function analyzeRules(policy: IR.Policy, bag: DiagnosticBag): void {
  const info: RuleFacts[] = policy.rules.map((rule) => {
    const facts = factsOf(rule.condition);
    return { rule, cs: facts.cs, ds: facts.ds, facts };
  });
  const live = new Set<number>();
  for (const { rule, cs, ds } of info) {
    const name = rule.anonymous ? "this rule" : `rule \`${rule.id}\``;
    if (rule.condition.kind === "literal" && rule.condition.value !== true) {
      bag.report(catalog.neverFires, rule.span, `${name} can never fire: its condition is always false`, { help: "fix the condition or remove the rule" });
      continue;
    }
    const contradiction = [...ds.entries()].find(([, d]) => empty(d));
    if (contradiction) {
      const [key] = contradiction;
      const involved = cs.filter((c) => c.key === key);
      bag.report(catalog.neverFires, rule.span, `${name} can never fire: no value of \`${key.replace(/^item\./, "")}\` satisfies all its conditions`, {
        help: "the conditions on this value contradict each other; fix or remove one",
        related: involved.map((c) => ({ file: policy.file, span: c.expr.span, message: "this condition" })),
      });
      continue;
    }
    live.add(rule.index);
  }
  // the rules that can override an effect (deny overrides require approval; both override
  // allow), indexed by their dispatch types: a rule is compared only with rules stronger than it,
  // so thousands of approvals of one action type are not compared with each other
  const overApproval = overriders(info, live, strength.deny);
  const overAllow = overriders(info, live, strength.require_approval);
  for (const a of info) {
    if (!live.has(a.rule.index)) continue;
    const ka = a.rule.effect.kind;
    if (ka === "deny" || ka === "redact" || ka === "label") continue;
    const stronger = ka === "allow" ? overAllow : overApproval;
    let over: RuleFacts | undefined;
    for (const b of candidates(a, stronger.generic, stronger.byType)) {
      // rules of different stages decide different things
      if (b !== a && b.rule.stage === a.rule.stage && strength[b.rule.effect.kind] > strength[ka] && implies(a, b)) {
        if (over === undefined || b.rule.index < over.rule.index) over = b;
      }
    }
    if (!over) continue;
    const what = ka === "allow" ? "`allow`" : "`require approval`";
    const by = over.rule.effect.kind === "deny" ? "denies" : "requires approval for";
    bag.report(
      catalog.shadowedEffect,
      a.rule.span,
      `the ${what} of ${a.rule.anonymous ? "this rule" : `rule \`${a.rule.id}\``} never matters: rule \`${over.rule.id}\` ${by} every action it matches`,
      {
        help: "narrow the broader rule, or remove this one",
        related: [{ file: policy.file, span: over.rule.span, message: "the broader rule" }],
      },
    );
  }
  if (policy.rules.length === 0) {
    bag.report(catalog.noRules, { start: 0, end: 0 }, "the policy has no rules", {
      help: `every action gets the default, \`${policy.defaultDecision}\``,
    });
  }
}
