/**
 * Codegen, first half: what a decision module contains and how it is laid out, as plain data
 * (`ModulePlan`), computed from the checked IR. `print.ts` turns a plan into JavaScript text.
 *
 * - Dispatch on `action.type` through a Map to one function per action type, which evaluates
 *   only the rules that can fire for that type (plus the rules that apply to every type), in
 *   source order. A decision costs about the same with 10 rules or 10,000.
 * - Within a type's function, conjuncts that only test `action.type` are known and dropped.
 * - Rule conditions are templates (`conditions`): their literals are data, so rules that differ
 *   only in literals share one function, and types whose rules have the same shapes share one
 *   per-type function (`typeFunctions`). The data of every type (`entries`) is one flat array.
 *
 * The compiled expressions are text (from `expressions.ts`); everything else in a plan is data.
 * Lets need no place in it: the checker folded them into literals.
 */

import { createHash } from "node:crypto";
import type { PolicyMetadata } from "@agent-armor/contract";
import type * as IR from "../ir.js";
import { REDACTED, scopeText } from "../ir.js";
import { readsOnlyType } from "../semantic/dispatch.js";
import * as sem from "../semantics.js";
import { type Constant, ExpressionCompiler, type Literal } from "./expressions.js";

export type ModuleFormat = "esm" | "cjs";

export interface EmitOptions {
  readonly format?: ModuleFormat;
  readonly compilerVersion?: string;
}

export interface ModulePlan {
  readonly format: ModuleFormat;
  readonly compilerVersion: string | null;
  /** The policy as the module's header comment names it. */
  readonly source: { readonly file: string; readonly name: string; readonly version: string | null; readonly sourceHash: string };
  readonly defaultDecision: IR.Policy["defaultDecision"];
  /** With `default require approval`: its approval. */
  readonly defaultApproval: IR.Policy["defaultApproval"];
  /** Whether a rule offers a grant: `decide` then applies `input.grants` (grant-source.ts). */
  readonly grants: boolean;
  /** The prelude helpers the module calls, in the order of first use (`helperClosure` adds what they need). */
  readonly helpers: readonly string[];
  /** Whether a pattern is matched (`__reLength`) and whether by the matcher (its source). */
  readonly regex: { readonly length: boolean; readonly matcher: boolean };
  /** The detector checks the module carries (function names of regex/detector-source.ts). */
  readonly detectorChecks: readonly string[];
  /** Whether the time and history helpers read the input lazily from module state. */
  readonly lazyInput: boolean;
  /** Whether rules read `time.*`, and the zone they read it in (null: UTC). */
  readonly time: { readonly zone: string | null } | null;
  /** Hoisted constants (sets, frozen literals, regex programs), in the order they were made. */
  readonly constants: readonly Constant[];
  /** Every rule in source order. */
  readonly rules: readonly RulePlan[];
  /** The rule function templates `$g<n>`, in the order they were made. */
  readonly conditions: readonly ConditionTemplate[];
  readonly trackers: readonly TrackerPlan[];
  /** The per-type function templates `$t<n>`, in the order they were made. */
  readonly typeFunctions: readonly TypeFunction[];
  /** The entries of `$D`, in order: each action type's (sorted by type), then every other type's. */
  readonly entries: readonly DataEntry[];
  readonly dispatch: DispatchPlan;
  /** The keys decide checks are absent from Object.prototype before reading fields directly. */
  readonly fastPathKeys: readonly string[];
  /** The exported `policy` metadata. */
  /** The module's `policy` export: the contract's metadata. */
  readonly metadata: PolicyMetadata;
  readonly actionSchema: IR.Policy["actionSchema"];
  readonly actionBranches: IR.Policy["actionBranches"];
  /** The rules of the result and output stages, which `decideResult` and `decideOutput` evaluate in source order. */
  readonly stages: { readonly result: StagePlan; readonly output: StagePlan };
  /** The label rules of the call stage: `decide` then lists the labels of the rules that fired. */
  readonly callLabels: boolean;
}

/**
 * The rules of one stage past the call: no dispatch by type (their conditions are whole), their
 * data in one array (`$SD1` results, `$SD2` output) laid out as a dispatch entry's rules.
 */
export interface StagePlan {
  readonly steps: readonly RuleStep[];
  readonly slots: readonly Slot[];
}

export interface RulePlan {
  readonly index: number;
  readonly id: string;
  readonly effect: IR.Effect;
  readonly reason: string | null;
  /** Whether the rule is the only rule of some type's entry, which then holds its frozen list `$F<index>`. */
  readonly onlyRuleOfAType: boolean;
  /** Its condition's template and literals; null when the condition always holds for its action types. */
  readonly condition: { readonly template: string; readonly literals: readonly Literal[] } | null;
}

export interface ConditionTemplate {
  readonly name: string;
  readonly body: string;
  readonly temps: number;
  /** The rule that made the template, and how many literals it reads (with any, rules of the same shape share it). */
  readonly rule: { readonly id: string; readonly line: number };
  readonly literalCount: number;
}

export interface TrackerPlan {
  readonly index: number;
  readonly kind: IR.TrackerKind;
  readonly withinMs: number | null;
  /** The predicate's identity across policy versions (see `trackerKey`). */
  readonly key: string;
  readonly condition: string;
  readonly temps: number;
  /** `seen(A since B)`: B over one entry (`$item`); null otherwise. */
  readonly since: { readonly body: string; readonly temps: number } | null;
  /** `sum`/`max`/`min`: the entry's number (`$item`); null otherwise. */
  readonly value: { readonly body: string; readonly temps: number } | null;
  /**
   * With `current.F` keys: the condition without them (`rest`), and the key values of an entry
   * (`entry`) and of the current action (`current`), each over `$item`; null without keys. When a
   * key goes through `any` (`listed`), `entry` gives a list of values per key (`trackerKeyParts`).
   */
  readonly keyed: { readonly rest: Body; readonly entry: Body; readonly current: Body; readonly listed: boolean } | null;
  /** Whether it reads the entries' `labels`: the scan sets `$itemLabels` per entry, and the exported functions take them. */
  readonly readsLabels: boolean;
  /** Whose history it reads (`per ...`): the scan keeps the entries of that scope, and the export names it. */
  readonly scope: IR.TrackerScope;
}

interface Body {
  readonly body: string;
  readonly temps: number;
}

/** One rule inside a per-type function; its data is at `o + at` in the type's entry. */
export interface RuleStep {
  readonly effect: IR.EffectKind;
  /** For a redaction: whether it has a regex (one more slot). */
  readonly redactRegex: boolean;
  /** For a redaction: whether its pattern is a detector with a check, and whether it has a text other than the default (a slot each). */
  readonly redactCheck: boolean;
  readonly redactText: boolean;
  /** The condition's template, or null when the rule always fires for the type. */
  readonly condition: string | null;
  /** The rule's position in the type's list: its bit in the mask of fired rules below 30. */
  readonly slot: number;
  readonly at: number;
  /** The only rule of the type: no descriptor slot, its descriptor is the one element of `D[o + 1]`. */
  readonly only: boolean;
}

export interface TypeFunction {
  readonly name: string;
  readonly comment: string;
  /** Where each rule's data starts in an entry (`$O<n>`, for types with more than one rule). */
  readonly offsets: readonly number[];
  readonly steps: readonly RuleStep[];
}

/** A slot of a `$D` entry. */
export type Slot =
  | { readonly kind: "descriptor"; readonly rule: number }
  | { readonly kind: "approval"; readonly rule: number }
  | { readonly kind: "redactPath"; readonly rule: number }
  | { readonly kind: "program"; readonly constant: string }
  | { readonly kind: "check"; readonly name: string }
  | { readonly kind: "literal"; readonly value: Literal };

/**
 * An entry of `$D`: the per-type function, the frozen list of the one rule (a type with one
 * rule: `onlyRule`) or a cache of fired-rule lists by bit mask, then each rule's slots.
 */
export interface DataEntry {
  readonly offset: number;
  readonly function: string;
  readonly onlyRule: number | null;
  readonly slots: readonly Slot[];
}

export interface DispatchPlan {
  /** Every action type named by a rule, sorted, with its entry's offset. */
  readonly types: readonly { readonly type: string; readonly offset: number }[];
  /** The entry of every other type. */
  readonly other: number;
  /** The types with a per-type function of their own that decide finds by a switch, by their length. */
  readonly own: readonly { readonly length: number; readonly types: readonly { readonly type: string; readonly function: string; readonly offset: number }[] }[];
  /** The per-type functions decide calls directly. */
  readonly direct: readonly string[];
}

/** How many action types with a function of their own decide finds by a switch on the type. */
const OWN_SWITCH = 8;

/** How many per-type functions decide calls directly, in a switch (one comparison each). */
const DIRECT_CALLS = 8;

/**
 * Plans the module for `policy`. The steps run in a fixed order, because names (`$g<n>`, `$t<n>`,
 * constants) and the helpers' order come from the order in which things are first needed.
 */
export function planModule(policy: IR.Policy, options: EmitOptions = {}): ModulePlan {
  const code = new ExpressionCompiler(policy.regexes);
  const { conditions, templates } = planConditions(policy.rules, code);
  const trackers = policy.trackers.map((t) => planTracker(t, code, policy.regexes));
  const time = policy.rules.some((r) => usesTime(r.condition)) ? { zone: policy.timezone } : null;
  if (time !== null) {
    code.use("$now");
    code.use("$dateText");
    if (time.zone !== null) code.use("$zoneOffset");
  }
  const layout = planDispatch(policy.rules, conditions, code);
  const stages = { result: planStage(policy.rules, "result", conditions, code), output: planStage(policy.rules, "output", conditions, code) };
  // decideResult and decideOutput, which every module has
  code.use("$stageValue");
  code.use("$err");
  code.use("$V");
  // the helpers that read the input lazily (the time and the history) find it in module state
  const lazyInput = code.uses("$now") || code.uses("$history");
  // decide's guards, registered before the helpers are listed
  code.use("$failed");
  if (policy.trackers.length > 0 && lazyInput) code.use("$tv");
  if (policy.grants) code.use("$granted");
  return {
    format: options.format ?? "esm",
    compilerVersion: options.compilerVersion ?? null,
    source: { file: policy.file, name: policy.name, version: policy.version, sourceHash: policy.sourceHash },
    defaultDecision: policy.defaultDecision,
    defaultApproval: policy.defaultApproval,
    grants: policy.grants,
    helpers: code.helpers(),
    regex: { length: code.usesRegex, matcher: code.usesRegexVm },
    detectorChecks: [...code.checks],
    lazyInput,
    time,
    constants: [...code.constants],
    rules: policy.rules.map((r) => ({
      index: r.index,
      id: r.id,
      effect: r.effect,
      reason: r.reason,
      onlyRuleOfAType: layout.onlyRules.has(r.index),
      condition: conditions[r.index] ?? null,
    })),
    conditions: templates,
    trackers,
    typeFunctions: layout.typeFunctions,
    entries: layout.entries,
    dispatch: layout.dispatch,
    fastPathKeys: code.fastPathKeys(),
    metadata: planMetadata(policy, options.compilerVersion ?? null),
    actionSchema: policy.actionSchema,
    actionBranches: policy.actionBranches,
    stages,
    callLabels: policy.rules.some((r) => r.stage === "call" && r.effect.kind === "label"),
  };
}

/** The rules of `stage`, in source order, with their data in one array (descriptors always: no rule is the only one of a type). */
function planStage(rules: readonly IR.Rule[], stage: "result" | "output", conditions: readonly RuleCondition[], code: ExpressionCompiler): StagePlan {
  const slots: Slot[] = [];
  const steps: RuleStep[] = [];
  for (const rule of rules) {
    if (rule.stage !== stage) continue;
    steps.push(ruleStep(rule, conditions[rule.index] ?? null, 0, slots.length, false, code));
    slots.push(...ruleSlots(rule, conditions[rule.index] ?? null, false, code));
  }
  return { steps, slots };
}

type RuleCondition = RulePlan["condition"];

/**
 * Each rule's condition, specialized to its action types, as a shared template and its literals
 * (null when it always holds); templates are shared by rules whose conditions differ only in
 * literals.
 */
function planConditions(rules: readonly IR.Rule[], code: ExpressionCompiler): { conditions: RuleCondition[]; templates: ConditionTemplate[] } {
  const templates: ConditionTemplate[] = [];
  const byText = new Map<string, string>();
  const conditions = rules.map((rule): RuleCondition => {
    // rules past the call stage are not dispatched by type: their type tests stay
    const condition = rule.stage === "call" ? specialize(rule) : rule.condition;
    if (isTrue(condition)) return null;
    const compiled = code.ruleCondition(condition);
    const text = `${compiled.temps}\n${compiled.body}`;
    let name = byText.get(text);
    if (name === undefined) {
      name = `$g${templates.length}`;
      byText.set(text, name);
      templates.push({ name, body: compiled.body, temps: compiled.temps, rule: { id: rule.id, line: rule.line }, literalCount: compiled.literals.length });
    }
    return { template: name, literals: compiled.literals };
  });
  return { conditions, templates };
}

function planTracker(t: IR.Tracker, code: ExpressionCompiler, regexes: IR.Policy["regexes"]): TrackerPlan {
  const compiled = code.trackerCondition(t.condition);
  const since = t.since === null ? null : code.trackerCondition(t.since);
  const value = t.value === null ? null : code.trackerValue(t.value);
  code.use("$history");
  if (t.withinMs !== null) code.use("$now");
  if (value !== null) code.use("$aggValue");
  if (t.kind === "sum") {
    code.use("$sumAdd");
    code.use("$sumValue");
  }
  if (t.scope.kind === "path") {
    code.use("$scopeKey");
    code.use("$scopeOf");
  }
  let keyed: TrackerPlan["keyed"] = null;
  if (t.keys.length > 0) {
    code.use("$keyOf");
    const body = (c: { body: string; temps: number }): Body => ({ body: c.body, temps: c.temps });
    const listed = t.keys.some((k) => k.list !== undefined);
    if (listed) code.use("$entryKeys");
    keyed = {
      listed,
      rest: body(code.trackerCondition(t.rest)),
      // through `any`, one list of values per key; otherwise the keys' values
      entry: body(listed ? code.trackerKeyParts(t.keys) : code.trackerList(t.keys.map((k) => k.entry))),
      // the current action's fields, read from the action the runtime passes
      current: body(code.trackerList(t.keys.map((k): IR.Expr => ({ ...k.current, root: "item" })))),
    };
  }
  return {
    index: t.index,
    kind: t.kind,
    withinMs: t.withinMs,
    key: trackerKey(t, regexes),
    condition: compiled.body,
    temps: compiled.temps,
    since: since && { body: since.body, temps: since.temps },
    value: value && { body: value.body, temps: value.temps },
    keyed,
    readsLabels: [t.condition, t.since, t.value].some((e) => e !== null && readsItemLabels(e)),
    scope: t.scope,
  };
}

/** Whether an expression reads `labels` of a history entry. */
function readsItemLabels(e: IR.Expr): boolean {
  switch (e.kind) {
    case "path":
      return e.root === "itemLabels";
    case "and":
    case "or":
      return e.args.some(readsItemLabels);
    case "not":
      return readsItemLabels(e.arg);
    case "compare":
    case "stringOp":
    case "arith":
      return readsItemLabels(e.left) || readsItemLabels(e.right);
    case "in":
      return readsItemLabels(e.left) || readsItemLabels(e.list);
    case "between":
      return readsItemLabels(e.value) || readsItemLabels(e.low) || readsItemLabels(e.high);
    case "matches":
      return readsItemLabels(e.value);
    case "fn":
      return readsItemLabels(e.arg);
    case "quantifier":
      return readsItemLabels(e.list) || readsItemLabels(e.condition);
    default:
      return false;
  }
}

/** Whether a rule of the policy, at any stage, reads `session.labels` (its metadata says so: `readsSessionLabels`). */
export function readsSessionLabels(p: IR.Policy): boolean {
  return p.rules.some((r) => readsRoot(r.condition, "session"));
}

/** Whether an expression reads a path from `root` (tracker conditions are not entered: they read entries). */
function readsRoot(e: IR.Expr, root: IR.PathRoot): boolean {
  const reads = (x: IR.Expr): boolean => readsRoot(x, root);
  switch (e.kind) {
    case "path":
      return e.root === root;
    case "exists":
      return e.path.root === root;
    case "and":
    case "or":
      return e.args.some(reads);
    case "not":
      return reads(e.arg);
    case "compare":
    case "stringOp":
    case "arith":
      return reads(e.left) || reads(e.right);
    case "in":
      return reads(e.left) || reads(e.list);
    case "between":
      return reads(e.value) || reads(e.low) || reads(e.high);
    case "matches":
      return reads(e.value);
    case "fn":
      return reads(e.arg);
    case "quantifier":
      return reads(e.list) || reads(e.condition);
    default:
      return false;
  }
}

/**
 * A tracker's identity across policy versions: the same kind, window and condition give the same
 * key, so a runtime can keep a predicate's counters when a policy is reloaded. A pattern is named
 * by what it is (its source and flags, the detector or the glob), never by its index in the
 * policy's list of patterns, which another version may give to another pattern.
 */
function trackerKey(t: IR.Tracker, regexes: IR.Policy["regexes"]): string {
  const pattern = (i: number): unknown => {
    const r = regexes[i];
    return r === undefined ? i : { source: r.source, flags: r.flags, detector: r.detector, glob: r.glob };
  };
  const text = (e: IR.Expr): string =>
    JSON.stringify(e, function (this: Record<string, unknown>, k, v: unknown) {
      if (k === "span") return undefined;
      return k === "regex" && this.kind === "matches" && typeof v === "number" ? pattern(v) : v;
    });
  // `since`, `value` and a scope are appended only when present, so the keys of `count` and `seen` stay as they were
  const extra = `${t.since !== null ? `|since|${text(t.since)}` : ""}${t.value !== null ? `|value|${text(t.value)}` : ""}${t.scope.kind !== "session" ? `|per|${scopeText(t.scope)}` : ""}`;
  return createHash("sha256")
    .update(`${t.kind}|${t.withinMs}|${text(t.condition)}${extra}`)
    .digest("hex")
    .slice(0, 32);
}

interface DispatchLayout {
  readonly typeFunctions: TypeFunction[];
  readonly entries: DataEntry[];
  readonly dispatch: DispatchPlan;
  /** Rules that are the only rule of some entry. */
  readonly onlyRules: Set<number>;
}

/**
 * Dispatch: one entry per action type named by some rule, and one for all other types. Per-type
 * functions are templates too: types whose rules have the same shapes (the same condition
 * templates and effects, in the same order) share one function, and each type has an entry in
 * one flat array of data, `$D`, which the function reads from the entry's offset:
 *   [type function, the frozen list of the one rule (a type with one rule) or a cache of the
 *    frozen lists of fired rules by bit mask, then for each rule: descriptor (except for the
 *    one rule of a type, whose descriptor is in the list), approval or redaction path and
 *    redaction regex when the effect has them, the literals of its condition]
 * One array keeps the data of a type together in memory, whatever the number of types. It is
 * module-private and never handed out, so it is not frozen (V8 reads frozen arrays more slowly).
 */
function planDispatch(rules: readonly IR.Rule[], conditions: readonly RuleCondition[], code: ExpressionCompiler): DispatchLayout {
  // `decide` dispatches the rules on calls; the other stages have functions of their own (planStage)
  const calls = rules.filter((r) => r.stage === "call");
  const generic = calls.filter((r) => r.actionTypes === null).map((r) => r.index);
  const byType = new Map<string, number[]>();
  for (const r of calls) for (const t of r.actionTypes ?? []) byType.set(t, [...(byType.get(t) ?? []), r.index]);
  const typeFunctions: TypeFunction[] = [];
  const byShape = new Map<string, string>();
  /** How many action types use each per-type function, for the order of decide's switch. */
  const functionUses = new Map<string, number>();
  const onlyRules = new Set<number>();
  const entries: DataEntry[] = [];
  let dataLength = 0;
  /** Adds the entry of a type with these rules to `$D`; returns it. */
  const entry = (indices: readonly number[], comment: string): DataEntry => {
    const sorted = [...indices].sort((a, b) => a - b);
    const only = sorted.length === 1;
    if (only) onlyRules.add(sorted[0]!);
    const slots: Slot[] = [];
    const offsets: number[] = [];
    const steps: RuleStep[] = [];
    sorted.forEach((i, slot) => {
      const rule = rules[i]!;
      const at = 2 + slots.length;
      offsets.push(at);
      steps.push(ruleStep(rule, conditions[i] ?? null, slot, at, only, code));
      slots.push(...ruleSlots(rule, conditions[i] ?? null, only, code));
    });
    const shape = JSON.stringify(steps);
    let name = byShape.get(shape);
    if (name === undefined) {
      name = `$t${typeFunctions.length}`;
      byShape.set(shape, name);
      typeFunctions.push({ name, comment, offsets, steps });
    }
    functionUses.set(name, (functionUses.get(name) ?? 0) + 1);
    const made: DataEntry = { offset: dataLength, function: name, onlyRule: only ? sorted[0]! : null, slots };
    entries.push(made);
    dataLength += 2 + slots.length;
    return made;
  };
  const types: { type: string; offset: number; function: string; firstRule: number }[] = [];
  for (const [type, indices] of [...byType.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { offset, function: fn } = entry([...indices, ...generic], `action type ${type}, and every type whose rules have the same shapes`);
    types.push({ type, offset, function: fn, firstRule: indices[0]! });
  }
  const other = entry([...generic], "any other action type").offset;
  const own = ownSwitch(types, functionUses);
  const ownFunctions = new Set(own.flatMap((group) => group.types.map((t) => t.function)));
  // decide calls the per-type functions that the most types use directly (V8 can inline a
  // direct call), and the others through the entry
  const direct = [...functionUses.entries()]
    .filter(([name]) => !ownFunctions.has(name))
    .sort(([, a], [, b]) => b - a)
    .slice(0, DIRECT_CALLS)
    .map(([name]) => name);
  const dispatch: DispatchPlan = { types: types.map(({ type, offset }) => ({ type, offset })), other, own, direct };
  return { typeFunctions, entries, dispatch, onlyRules };
}

/**
 * Action types with a per-type function of their own (the first few, in source order) are found
 * by a switch on the type, before the Map: a switch on the length and one string comparison is
 * cheaper than a Map lookup, and turns other types away without comparing strings. Types that
 * share a function (families of similar tools) go through the Map.
 */
function ownSwitch(types: readonly { type: string; offset: number; function: string; firstRule: number }[], functionUses: ReadonlyMap<string, number>): DispatchPlan["own"] {
  const own = types
    .filter((t) => functionUses.get(t.function) === 1)
    .sort((a, b) => a.firstRule - b.firstRule)
    .slice(0, OWN_SWITCH);
  const byLength = new Map<number, { type: string; function: string; offset: number }[]>();
  for (const t of own) byLength.set(t.type.length, [...(byLength.get(t.type.length) ?? []), { type: t.type, function: t.function, offset: t.offset }]);
  return [...byLength.entries()].sort(([a], [b]) => a - b).map(([length, ts]) => ({ length, types: ts }));
}

function ruleStep(rule: IR.Rule, condition: RuleCondition, slot: number, at: number, only: boolean, code: ExpressionCompiler): RuleStep {
  const effect = rule.effect;
  if (effect.kind === "redact") code.use("$redact");
  const redact = effect.kind === "redact" ? effect : null;
  return {
    effect: effect.kind,
    redactRegex: redact !== null && redact.regex !== null,
    redactCheck: redact !== null && redact.regex !== null && code.regexCheck(redact.regex) !== null,
    redactText: redact !== null && redact.text !== REDACTED,
    condition: condition?.template ?? null,
    slot,
    at,
    only,
  };
}

/** A rule's data in a dispatch entry (see `RuleStep`). */
function ruleSlots(rule: IR.Rule, condition: RuleCondition, only: boolean, code: ExpressionCompiler): Slot[] {
  const i = rule.index;
  const effect = rule.effect;
  const data: Slot[] = only ? [] : [{ kind: "descriptor", rule: i }];
  if (effect.kind === "require_approval") data.push({ kind: "approval", rule: i });
  if (effect.kind === "redact") data.push({ kind: "redactPath", rule: i });
  if (effect.kind === "redact" && effect.regex !== null) data.push({ kind: "program", constant: code.regexProgram(effect.regex) });
  if (effect.kind === "redact" && effect.regex !== null) {
    const check = code.regexCheck(effect.regex);
    if (check !== null) data.push({ kind: "check", name: code.check(check) });
  }
  if (effect.kind === "redact" && effect.text !== REDACTED) data.push({ kind: "literal", value: effect.text });
  return [...data, ...(condition?.literals ?? []).map((value): Slot => ({ kind: "literal", value }))];
}

function planMetadata(p: IR.Policy, compilerVersion: string | null): PolicyMetadata {
  return {
    name: p.name,
    version: p.version,
    sourceHash: p.sourceHash,
    file: p.file,
    default: p.defaultDecision,
    defaultApproval: p.defaultApproval,
    timezone: p.timezone,
    schema: p.schema,
    compiler: compilerVersion,
    rules: p.rules.map((r) => ({
      id: r.id,
      effect: r.effect.kind,
      reason: r.reason,
      line: r.line,
      column: r.column,
      span: { start: r.span.start, end: r.span.end },
      actionTypes: r.actionTypes,
      /** The rule fires for every action of its types: its condition is only the type test. */
      typeOnly: r.actionTypes !== null && isTrue(specialize(r)),
      stage: r.stage,
      ...(r.effect.kind === "label" ? { label: r.effect.label } : {}),
      ...(r.effect.kind === "require_approval" && r.effect.grant !== null ? { grant: r.effect.grant } : {}),
    })),
    trackers: p.trackers.map((t) => ({ kind: t.kind, withinMs: t.withinMs })),
    readsSessionLabels: readsSessionLabels(p),
  };
}

// ---- conditions --------------------------------------------------------------------------------

/** Drops the top-level conjuncts that only test `action.type` and hold for every dispatched type. */
function specialize(rule: IR.Rule): IR.Expr {
  const types = rule.actionTypes;
  if (types === null) return rule.condition;
  const keep = (c: IR.Expr): boolean => !(readsOnlyType(c) && types.every((t) => evalTypeOnly(c, t) === true));
  if (rule.condition.kind === "and") {
    const args = rule.condition.args.filter(keep);
    if (args.length === 0) return { kind: "literal", value: true, span: rule.condition.span };
    return args.length === 1 ? args[0]! : { ...rule.condition, args };
  }
  return keep(rule.condition) ? rule.condition : { kind: "literal", value: true, span: rule.condition.span };
}

function isTrue(e: IR.Expr): boolean {
  return e.kind === "literal" && e.value === true;
}

function usesTime(e: IR.Expr): boolean {
  switch (e.kind) {
    case "time":
      return true;
    case "and":
    case "or":
      return e.args.some(usesTime);
    case "not":
      return usesTime(e.arg);
    case "compare":
    case "stringOp":
      return usesTime(e.left) || usesTime(e.right);
    case "in":
      return usesTime(e.left) || usesTime(e.list);
    case "between":
      return usesTime(e.value) || usesTime(e.low) || usesTime(e.high);
    case "matches":
      return usesTime(e.value);
    case "fn":
      return usesTime(e.arg);
    default:
      return false;
  }
}

/** Evaluates a condition that reads only `action.type`; `undefined` when it would be an error. */
function evalTypeOnly(e: IR.Expr, type: string): unknown {
  try {
    const v = (x: IR.Expr): unknown => {
      switch (x.kind) {
        case "literal":
          return x.value;
        case "path":
          return type;
        case "and":
          return x.args.every((a) => sem.truth(v(a)));
        case "or":
          return x.args.some((a) => sem.truth(v(a)));
        case "not":
          return !sem.truth(v(x.arg));
        case "compare":
          return x.op === "==" ? sem.equals(v(x.left), v(x.right)) : x.op === "!=" ? !sem.equals(v(x.left), v(x.right)) : sem.order(x.op, v(x.left), v(x.right));
        case "in":
          return sem.inList(v(x.left), v(x.list));
        default:
          throw new sem.EvaluationError("not type-only");
      }
    };
    return v(e);
  } catch {
    return undefined;
  }
}
