/**
 * The reference interpreter: the definition of the language's semantics. It walks the checked
 * IR directly and is written for clarity, not speed. Compiled decision functions must agree with
 * it on every input (see test/differential.test.ts). With `explain`, it records the value of every
 * condition so that `armorc eval --explain` and the test runner can show why a rule did or did not
 * fire.
 */
import {
  FOREIGN_ERROR,
  type HistoryEntry,
  INPUT_UNREADABLE,
  isEvaluationError,
  type ReadInput,
  readInput,
  readTrackerValues,
  type TimeParts,
  TrackerError,
  type TrackerValue,
  timeParts,
} from "./decision-input.js";
import { grantedDecision } from "./grant-source.js";
import * as IR from "./ir.js";
import { scopeText } from "./ir.js";
import { constantSet, literalAffix, literalSide } from "./ir-shapes.js";
import { patternReplace, patternTest, RegexLimitError, type RegexProgram } from "./regex/index.js";
import * as sem from "./semantics.js";
import { readOutput, readResult } from "./stage-input.js";

export interface Trace {
  readonly expr: IR.Expr;
  readonly value: unknown;
  /** Operand values of a comparison, in order. */
  readonly operands?: readonly unknown[];
  readonly error?: string;
}

export interface RuleExplanation {
  readonly rule: IR.Rule;
  readonly fired: boolean;
  readonly error: string | null;
  /** Every condition evaluated, innermost first; conditions skipped by `and`/`or` are absent. */
  readonly trace: readonly Trace[];
}

export interface EvaluateOptions {
  /** The clock for inputs without `time`. */
  readonly now?: () => number;
  /** Record an explanation of every rule. */
  readonly explain?: boolean;
  /** Values of the history predicates, replacing the scan of `input.history` (as in emitted `decide`). */
  readonly trackerValues?: readonly unknown[];
  /** The stage to decide (`call` by default): `decide`, `decideResult` or `decideOutput` of emitted modules. */
  readonly stage?: IR.Stage;
}

export interface Evaluation {
  readonly result: IR.PolicyDecision;
  readonly explanations: readonly RuleExplanation[];
}

class Context {
  private time: TimeParts | undefined;
  private readonly trackerValues = new Map<number, number | boolean | null>();
  trace: Trace[] | null = null;
  /** List elements the quantifiers of the current condition may still visit. */
  quantifierBudget = 0;
  /** The work budget (semantics.ts `MAX_WORK`): one, like the emitted `$wb`, reset where it is. */
  readonly work: sem.Work = { left: 0 };

  /** The labels of the history entry a tracker is testing (`labels` in a history condition). */
  entryLabels: unknown = null;

  constructor(
    readonly policy: IR.Policy,
    readonly input: ReadInput,
    readonly given: readonly (TrackerValue | undefined)[] | undefined,
    /** The result (result stage) or output (output stage) being decided; null at the call stage. */
    readonly value: unknown = null,
  ) {}

  timePart(field: IR.TimeField): number | string {
    this.time ??= timeParts(this.input.now(), this.policy.timezone);
    return this.time[field];
  }

  scopeOf(t: IR.Tracker): (entry: HistoryEntry) => boolean {
    const s = t.scope;
    if (s.kind === "deployment") return everyEntry;
    if (s.kind === "session") return sessionEntry;
    const root = s.root === "action" ? this.input.action : s.root === "user" ? this.input.user() : this.input.context();
    const current = sem.decisionScopeKey(root, s.fields, scopeText(s));
    return (e) => sem.scopeKeyAt(s.root === "action" ? e.action : sem.readField(e.entry, s.root), s.fields) === current;
  }

  tracker(index: number): number | boolean | null {
    // checked when the input was read (readTrackerValues)
    const given = this.given?.[index];
    if (given instanceof TrackerError) throw new sem.EvaluationError(given.message);
    if (given !== undefined) return given;
    let v = this.trackerValues.get(index);
    if (v === undefined) {
      const t = this.policy.trackers[index]!;
      const history = this.input.history();
      // one work budget for the whole scan: what a history condition does for each entry adds up
      this.work.left = sem.MAX_WORK;
      const now = t.withinMs !== null ? this.input.now() : 0;
      const inWindow = (entry: HistoryEntry): boolean => t.withinMs === null || entry.time === null || now - entry.time < t.withinMs;
      const holds = (c: IR.Expr, entry: HistoryEntry): boolean => {
        this.entryLabels = entry.labels;
        return sem.truth(evaluate(this, c, entry.action, false));
      };
      // the entries of the predicate's scope: the others are not its history at all
      const inScope = this.scopeOf(t);
      if (t.kind === "sum" || t.kind === "max" || t.kind === "min") v = aggregate(this, t, t.kind, history, inScope, inWindow);
      else if (t.since !== null) {
        // an entry matching B (window or not) restarts the search; an A after it must be in the window.
        // A is tested on every entry in the window that is not a B, so that an entry on which it
        // cannot be evaluated is an error wherever it is (as in a runtime's trackers)
        let found = false;
        for (const entry of history) {
          if (!inScope(entry)) continue;
          if (holds(t.since, entry)) found = false;
          else if (inWindow(entry) && holds(t.condition, entry)) found = true;
        }
        v = found;
      } else {
        let n = 0;
        for (const entry of history) {
          // `seen` too tests every entry in the window: one it cannot evaluate is an error, before or after a match
          if (inScope(entry) && inWindow(entry) && holds(t.condition, entry)) n++;
        }
        v = t.kind === "count" ? n : n > 0;
      }
      this.trackerValues.set(index, v);
    }
    return v;
  }
}

/**
 * Which entries a predicate reads (docs/language.md §7.1): without `per`, the session's (not those
 * marked `otherSession`); `per deployment`, all; `per user.F` (`context.F`, `action.F`), those whose
 * value there is the decision's, as a scope key. The decision's value is read first, and one that
 * cannot key a scope is an evaluation error; an entry whose value cannot is in no scope.
 */
const everyEntry = (): boolean => true;
const sessionEntry = (e: HistoryEntry): boolean => !e.other;

/**
 * `sum`/`max`/`min` of the tracker's value over the history entries in the window that match its
 * condition. A sum is exact, rounded once (`sem.addPartial`); once it goes past the largest finite
 * number the entries after are still read, so that an entry without a number is the error reported.
 */
function aggregate(
  ctx: Context,
  t: IR.Tracker,
  kind: "sum" | "max" | "min",
  history: readonly HistoryEntry[],
  inScope: (e: HistoryEntry) => boolean,
  inWindow: (e: HistoryEntry) => boolean,
): number | null {
  let acc: number | null = null;
  const partials: number[] = [];
  let finite = true;
  for (let i = 0; i < history.length; i++) {
    const entry = history[i]!;
    ctx.entryLabels = entry.labels;
    if (!inScope(entry) || !inWindow(entry) || !sem.truth(evaluate(ctx, t.condition, entry.action, false))) continue;
    const v = sem.aggregateValue(kind, i, evaluate(ctx, t.value!, entry.action, false));
    if (kind !== "sum") acc = sem.aggregateStep(kind, acc, v);
    else if (finite) finite = sem.addPartial(partials, v);
  }
  if (kind !== "sum") return acc;
  if (!finite) throw new sem.EvaluationError(sem.SUM_NOT_FINITE);
  return sem.partialsValue(partials);
}

/** The names bound by the quantifiers around a condition, innermost first. */
interface Locals {
  readonly name: string;
  readonly value: unknown;
  readonly outer: Locals | null;
}

function readLocal(locals: Locals | null, name: string): unknown {
  for (let l = locals; l !== null; l = l.outer) if (l.name === name) return l.value;
  throw new Error(`interpreter: local \`${name}\` is not bound`);
}

function readPath(ctx: Context, e: IR.PathExpr, item: Record<string, unknown> | null, locals: Locals | null = null): unknown {
  if (e.root === "local") {
    let v = readLocal(locals, e.fields[0]!);
    for (let i = 1; i < e.fields.length; i++) v = sem.readField(v, e.fields[i]!);
    return v ?? null;
  }
  let v: unknown = rootValue(ctx, e.root, item);
  for (const f of e.fields) v = sem.readField(v, f);
  return v ?? null;
}

function rootValue(ctx: Context, root: IR.PathRoot, item: Record<string, unknown> | null): unknown {
  switch (root) {
    case "action":
    case "current":
      return ctx.input.action;
    case "item":
      return item;
    case "user":
      return ctx.input.user();
    case "context":
      return ctx.input.context();
    case "result":
    case "output":
      return ctx.value;
    case "session":
      return ctx.input.session();
    case "itemLabels":
      return ctx.entryLabels;
    case "local":
      throw new Error("interpreter: a local is read through readLocal");
  }
}

/**
 * `any`/`all`: the condition for each element in order, stopping at the first that decides.
 * Every element visited counts against the condition's budget (sem.MAX_QUANTIFIER_VISITS), and
 * every walk inside the condition against the work budget (sem.MAX_WORK); a quantifier that is
 * not nested in another starts both afresh.
 */
function quantify(ctx: Context, e: IR.QuantifierExpr, item: Record<string, unknown> | null, locals: Locals | null): { value: boolean; list: unknown } {
  const listValue = evaluate(ctx, e.list, item, false, locals);
  const list = sem.quantifierList(e.quantifier, listValue);
  if (list === null) return { value: false, list: listValue };
  if (locals === null) {
    ctx.quantifierBudget = sem.MAX_QUANTIFIER_VISITS;
    // in a history condition (`item`), the scan started the work budget for all its entries
    if (item === null) ctx.work.left = sem.MAX_WORK;
  }
  const wanted = e.quantifier === "any";
  for (let i = 0; i < list.length; i++) {
    if (--ctx.quantifierBudget < 0) throw new sem.EvaluationError(sem.QUANTIFIER_LIMIT_MESSAGE);
    const element = list[i];
    const holds = sem.truth(evaluate(ctx, e.condition, item, false, { name: e.variable, value: element === undefined ? null : element, outer: locals }));
    if (holds === wanted) return { value: wanted, list: listValue };
  }
  return { value: !wanted, list: listValue };
}

function evaluate(ctx: Context, e: IR.Expr, item: Record<string, unknown> | null, record: boolean, locals: Locals | null = null): unknown {
  const trace = record ? ctx.trace : null;
  const note = (value: unknown, operands?: unknown[]): unknown => {
    trace?.push(operands ? { expr: e, value, operands } : { expr: e, value });
    return value;
  };
  const sub = (x: IR.Expr): unknown => evaluate(ctx, x, item, record, locals);
  const regex = (i: number): IR.RegexDef => ctx.policy.regexes[i]!;
  // walks inside a quantifier's condition draw on its work budget, and so do all walks of a history
  // condition (`item`) on the budget of the scan; elsewhere only comparisons are charged, each with
  // a budget of its own (reset after its operands, as the emitted helpers do)
  const charged = locals !== null || item !== null;
  const work = (): sem.Work | null => (charged ? ctx.work : null);
  const comparison = (): sem.Work => {
    if (!charged) ctx.work.left = sem.MAX_WORK;
    return ctx.work;
  };
  switch (e.kind) {
    case "literal":
      return e.value;
    case "path":
      return readPath(ctx, e, item, locals);
    case "time":
      return ctx.timePart(e.field);
    case "and": {
      for (const a of e.args) if (!sem.truth(sub(a))) return note(false);
      return note(true);
    }
    case "or": {
      for (const a of e.args) if (sem.truth(sub(a))) return note(true);
      return note(false);
    }
    case "not":
      return note(!sem.truth(sub(e.arg)));
    case "compare": {
      const l = sub(e.left);
      const r = sub(e.right);
      let v: boolean;
      if (e.op === "==" || e.op === "!=") {
        // a primitive literal on either side is compared without a walk (`===` in emitted code)
        const same = sem.equals(l, r, literalSide(e) !== null ? null : comparison());
        v = e.op === "==" ? same : !same;
      } else v = sem.order(e.op, l, r, work());
      return note(v, [l, r]);
    }
    case "in": {
      const l = sub(e.left);
      const list = sub(e.list);
      // a literal list of primitives is a set lookup in emitted code: no walk
      return note(sem.inList(l, list, constantSet(e) ? null : comparison()), [l, list]);
    }
    case "between": {
      const v = sub(e.value);
      const lo = sub(e.low);
      const hi = sub(e.high);
      return note(sem.between(v, lo, hi, work()), [v, lo, hi]);
    }
    case "matches": {
      const v = sub(e.value);
      const s = sem.matchSubject(v);
      const r = regex(e.regex);
      // a detector's candidates count only when its check accepts them (docs/language.md, "Detectors")
      const m = s === null || r.program === null ? false : limited(() => patternTest(r.program as RegexProgram, r.check, s));
      // charged after the match, so that a string past the matcher's limits gets the matcher's error
      if (s !== null) sem.spend(work(), s.length);
      return note(m, [v]);
    }
    case "stringOp": {
      const l = sub(e.left);
      const r = sub(e.right);
      // `starts_with`/`ends_with` a string literal is the string method in emitted code: no walk
      return note(sem.stringOp(e.op, l, r, literalAffix(e) ? null : comparison()), [l, r]);
    }
    case "exists": {
      const v = readPath(ctx, e.path, item, locals);
      return note(v !== null, [v]);
    }
    case "count":
    case "seen":
    case "aggregate":
      return note(ctx.tracker(e.tracker));
    case "fn": {
      const v = sub(e.arg);
      return note(sem.callFunction(e.name, v, work()), [v]);
    }
    case "quantifier": {
      const q = quantify(ctx, e, item, locals);
      return note(q.value, [q.list]);
    }
    case "arith": {
      const l = sub(e.left);
      const r = sub(e.right);
      return note(sem.arith(e.op, l, r), [l, r]);
    }
  }
}

function ruleFires(ctx: Context, rule: IR.Rule): boolean {
  return sem.truth(evaluate(ctx, rule.condition, null, true));
}

/** Runs the matcher; a string or a match past its limits is an evaluation error of the rule. */
function limited<T>(match: () => T): T {
  try {
    return match();
  } catch (e) {
    if (e instanceof RegexLimitError) throw new sem.EvaluationError(e.message);
    throw e;
  }
}

/** Applies a redaction to a copy of the action; returns the new action. */
export function redact(action: Record<string, unknown>, effect: Extract<IR.Effect, { kind: "redact" }>, policy: IR.Policy): Record<string, unknown> {
  const path = effect.path;
  const copy = (o: Record<string, unknown>, depth: number): Record<string, unknown> => {
    const key = path[depth]!;
    const current = sem.readField(o, key);
    if (current === null) return o;
    let next: unknown;
    if (depth === path.length - 1) {
      if (effect.regex === null) next = effect.text;
      else {
        if (typeof current !== "string") throw new sem.EvaluationError(`\`redact ${path.join(".")} matching\` needs a string, got ${sem.kindOf(current)}`);
        const { program, check } = policy.regexes[effect.regex]!;
        next = program === null ? current : limited(() => patternReplace(program, check, current, effect.text));
      }
    } else {
      if (current === null || typeof current !== "object" || Array.isArray(current)) return o;
      next = copy(current as Record<string, unknown>, depth + 1);
      if (next === current) return o;
    }
    return { ...o, [key]: next };
  };
  return copy(action, 0);
}

/** Decides an input with the reference semantics. */
export function evaluatePolicy(policy: IR.Policy, input: unknown, options: EvaluateOptions = {}): Evaluation {
  const stage = options.stage ?? "call";
  let read: ReadInput | string;
  let given: (TrackerValue | undefined)[] | undefined;
  let value: unknown = null;
  try {
    read = readInput(input, options.now ?? Date.now, stage !== "output");
    if (typeof read !== "string" && stage !== "call") value = stage === "result" ? readResult(input) : readOutput(input);
    if (typeof read !== "string" && policy.trackers.length > 0 && options.trackerValues !== undefined) {
      given = readTrackerValues(
        options.trackerValues,
        policy.trackers.map((t) => t.kind),
      );
    }
  } catch (e) {
    read = isEvaluationError(e) ? e.message : INPUT_UNREADABLE;
  }
  if (typeof read === "string") return { result: inputError(input, read, stage), explanations: [] };
  const ctx = new Context(policy, read, given, value);
  const fired: IR.Rule[] = [];
  let action: Record<string, unknown> = read.action;
  // what the stage's redactions rewrite: the action, the result or the output
  let rewritten: unknown = stage === "call" ? read.action : value;
  const errors: IR.DecisionError[] = [];
  const explanations: RuleExplanation[] = [];
  for (const rule of policy.rules) {
    if (rule.stage !== stage) continue;
    ctx.trace = options.explain ? [] : null;
    let fires = false;
    let error: string | null = null;
    try {
      fires = ruleFires(ctx, rule);
    } catch (e) {
      // an evaluation error, or a getter or Proxy in the input that threw (FOREIGN_ERROR)
      error = isEvaluationError(e) ? e.message : FOREIGN_ERROR;
      errors.push({ rule: rule.id, message: error });
    }
    if (fires) {
      fired.push(rule);
      // redactions apply in source order, to a copy; conditions always read the original action
      if (rule.effect.kind === "redact") {
        try {
          rewritten = redactValue(rewritten, rule.effect, policy);
        } catch (e) {
          errors.push({ rule: rule.id, message: isEvaluationError(e) ? e.message : FOREIGN_ERROR });
        }
      }
    }
    if (options.explain) explanations.push({ rule, fired: fires, error, trace: ctx.trace ?? [] });
  }
  if (stage === "call") action = rewritten as Record<string, unknown>;
  const result = combine(policy, fired, errors, action, stage, rewritten);
  // a live grant in the input stands in for the approval of the one rule that asks for it
  return { result: stage === "call" && policy.grants ? grantedDecision(result, input, options.now ?? Date.now) : result, explanations };
}

/**
 * A condition's value on a call input, as a rule's condition would be evaluated (a property's
 * `when`): `true`/`false`, or the evaluation error's text. `policy.trackers` are the predicates
 * the condition may read, and `trackerValues` their values (otherwise `input.history` is scanned).
 */
export function evaluateCondition(policy: IR.Policy, condition: IR.Expr, input: unknown, options: EvaluateOptions = {}): { readonly value: boolean } | { readonly error: string } {
  let read: ReadInput | string;
  let given: (TrackerValue | undefined)[] | undefined;
  try {
    read = readInput(input, options.now ?? Date.now, true);
    if (typeof read !== "string" && policy.trackers.length > 0 && options.trackerValues !== undefined) {
      given = readTrackerValues(
        options.trackerValues,
        policy.trackers.map((t) => t.kind),
      );
    }
  } catch (e) {
    read = isEvaluationError(e) ? e.message : INPUT_UNREADABLE;
  }
  if (typeof read === "string") return { error: read };
  try {
    return { value: sem.truth(evaluate(new Context(policy, read, given), condition, null, true)) };
  } catch (e) {
    return { error: isEvaluationError(e) ? e.message : FOREIGN_ERROR };
  }
}

/** A redaction of the action, the result or the output: objects are copied along the path; anything else is left as it is. */
function redactValue(value: unknown, effect: Extract<IR.Effect, { kind: "redact" }>, policy: IR.Policy): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return redact(value as Record<string, unknown>, effect, policy);
}

/**
 * The decision for an input that cannot be read; its action, when that can be read at all (at
 * the call and result stages; the output stage has none). A result or output that cannot be read
 * is never passed on: the decision's `result` or `output` is null.
 */
function inputError(input: unknown, message: string, stage: IR.Stage = "call"): IR.PolicyDecision {
  let action: unknown = null;
  if (stage !== "output") {
    try {
      action = input !== null && typeof input === "object" ? sem.readField(input, "action") : null;
    } catch {
      action = null;
    }
  }
  const decision: IR.PolicyDecision = { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message }], labels: [] };
  return stage === "call" ? decision : { ...decision, [stage]: null };
}

/** How fired rules combine into one decision; see docs/language.md, "How rules combine". */
export function combine(policy: IR.Policy, fired: readonly IR.Rule[], errors: IR.DecisionError[], action: unknown, stage: IR.Stage = "call", value: unknown = null): IR.PolicyDecision {
  let decision: IR.DecisionKind;
  let approval: IR.PolicyDecision["approval"] = null;
  const has = (k: IR.EffectKind): boolean => fired.some((r) => r.effect.kind === k);
  if (errors.length > 0 || has("deny")) decision = "deny";
  else if (has("require_approval")) {
    decision = "require_approval";
    const first = fired.find((r) => r.effect.kind === "require_approval")!.effect as Extract<IR.Effect, { kind: "require_approval" }>;
    approval = IR.approvalAsk(first);
  } else if (has("allow") || has("redact")) decision = "allow";
  else if (stage !== "call") {
    // `default` is about calls: a result or message that no rule decides passes
    decision = "allow";
  } else {
    decision = policy.defaultDecision;
    approval = policy.defaultApproval;
  }
  const labels: string[] = [];
  for (const r of fired) if (r.effect.kind === "label" && !labels.includes(r.effect.label)) labels.push(r.effect.label);
  const result: IR.PolicyDecision = {
    decision,
    rules: fired.map((r) => ({ id: r.id, effect: r.effect.kind, reason: r.reason })),
    approval,
    action: stage === "output" ? null : action,
    errors,
    labels,
  };
  return stage === "call" ? result : { ...result, [stage]: value };
}
