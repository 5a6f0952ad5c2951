/**
 * A policy's properties (`property NAME: always|never OUTCOMES when CONDITION`) proved for every
 * call input on the solver: the policy's decision and the property's condition are encoded over
 * one vocabulary (encode.ts), and the question is whether some input meets the condition and is
 * decided against the property. "No such input" is a proof (the encoding over-approximates what
 * it leaves open, so a proof still holds; arithmetic, which JavaScript rounds, counts only once
 * impossible with every rounding its bounds allow: solver.ts); a solution is a counterexample only once the reference
 * interpreter and the compiled module both decide it against the property. Where the solver gives
 * up (its timeout) or its solution does not reproduce (a construct the encoding leaves open), a
 * bounded random search looks for a counterexample, and the result says it was searched, not proved.
 */
import {
  type Compilation,
  checkProperty,
  emit,
  evaluatePolicy,
  type IR,
  loadModule,
  meetsProperty,
  type PolicyDecision,
  type PolicyModule,
  propertyPolicy,
  type SourceFile,
} from "@agent-armor/compiler";
import { encodeCondition, encodePolicy, type NotEncoded, type PolicyEncoding, type SourceLines } from "./encode.js";
import { type Assignment, buildInput, type Counterexample, type TrackerValue, trackerValues } from "./model.js";
import { literalsOf, randomAssignments } from "./search.js";
import * as smt from "./smt.js";
import { openSession } from "./solver.js";
import { Tag, Vocabulary } from "./vocabulary.js";

/** Each property's solver question gives up after this long (`armorc test --timeout`). */
export const DEFAULT_PROPERTY_TIMEOUT_MS = 10_000;
/** The inputs the bounded search tries for a property the solver could not settle. */
export const DEFAULT_PROPERTY_SAMPLES = 2_000;

export interface PropertyOptions {
  readonly timeoutMs?: number;
  readonly searchSamples?: number;
}

export interface PropertyResult {
  readonly property: IR.Property;
  /**
   * `holds`: proved for every input; `fails`: `example` is decided against it (by the interpreter
   * and the compiled module); `unknown`: neither (the solver gave up or its solution did not
   * reproduce, and the bounded search found no counterexample; `note` says which).
   */
  readonly status: "holds" | "fails" | "unknown";
  /** How the counterexample was found: by the solver, or by the bounded search. */
  readonly method: "solver" | "search" | null;
  readonly note: string | null;
  readonly example: (Counterexample & { readonly decision: PolicyDecision }) | null;
  /** The constructs the encoding left open on the way (an `unknown` may come from them). */
  readonly notEncoded: readonly NotEncoded[];
  readonly solverMs: number;
  /** The inputs the bounded search tried (0 when it did not run). */
  readonly searchSamples: number;
  /**
   * For a counterexample: the importer's `disable`s and `override`s that change the decision of an
   * imported rule on it (one line each: the rule, what it would do, and where it is replaced).
   */
  readonly replacements: readonly string[];
}

interface Prover {
  /** The policy the property is about: the compilation's, or the one a test file's properties were joined to. */
  readonly policy: IR.Policy;
  readonly combined: IR.Policy;
  readonly module: PolicyModule;
  readonly vocab: Vocabulary;
  readonly encoding: PolicyEncoding;
}

/** A property's source: where the solver's notes about its condition point. */
export interface PropertySources {
  /** The text of every file a property may be written in (imported files, the test file), by path. */
  readonly sources?: ReadonlyMap<string, SourceFile>;
}

/**
 * Proves each property of an error-free compilation, in order: the root's, then those of the
 * files it imports (each against the merged policy). `policy`: the compilation's policy with other
 * properties (a test file's, `TestFileCompilation.propertyPolicy`), proved instead of its own;
 * `sources` then names the test file's text.
 */
export async function proveProperties(c: Compilation, options: PropertyOptions & PropertySources = {}, policy: IR.Policy = c.policy): Promise<PropertyResult[]> {
  if (!c.ok) throw new Error(`proveProperties: ${c.policy.file} has errors; only policies that compile can be proved`);
  const out: PropertyResult[] = [];
  if (policy.properties.length === 0) return out;
  const module = await loadModule(emit(c).js);
  const sources = new Map([...c.sources, ...(options.sources ?? [])]);
  // one vocabulary and solver per property: each question starts from the policy alone
  const root = withTrackerTexts(sourceLines(c.source), policy, (file) => sources.get(file));
  for (const property of policy.properties) {
    const own = property.file === undefined ? sourceLines(c.source) : sourceLines(sources.get(property.file) ?? c.source);
    out.push(await prove(policy, module, property, { root, condition: own }, options));
  }
  return out;
}

function sourceLines(source: SourceFile): SourceLines {
  return {
    lineColumn: (o) => {
      const p = source.positionAt(o);
      return { line: p.line + 1, column: p.column + 1 };
    },
    text: (s) => source.text.slice(s.start, s.end),
  };
}

/**
 * `lines`, except that the text of a history predicate only a property of another file reads (a
 * counterexample names it) is read from that file: the tracker's span is looked up by identity.
 */
function withTrackerTexts(lines: SourceLines, policy: IR.Policy, sourceOf: (file: string) => SourceFile | undefined): SourceLines {
  const bySpan = new Map<object, SourceFile>();
  const all = [...policy.trackers, ...policy.propertyTrackers];
  for (const p of policy.properties) {
    const file = p.file === undefined ? undefined : sourceOf(p.file);
    if (file === undefined) continue;
    for (const i of trackersRead(p.condition)) if (i >= policy.trackers.length && all[i] !== undefined) bySpan.set(all[i]!.span, file);
  }
  if (bySpan.size === 0) return lines;
  return { lineColumn: lines.lineColumn, text: (span) => (bySpan.has(span) ? bySpan.get(span)!.text.slice(span.start, span.end) : lines.text(span)) };
}

/** The trackers an expression reads (its `count`, `seen` and aggregates, at any depth). */
function trackersRead(e: unknown, out: number[] = []): number[] {
  if (e === null || typeof e !== "object") return out;
  const node = e as { kind?: unknown; tracker?: unknown };
  if ((node.kind === "count" || node.kind === "seen" || node.kind === "aggregate") && typeof node.tracker === "number") out.push(node.tracker);
  for (const v of Object.values(e)) trackersRead(v, out);
  return out;
}

async function prove(policy: IR.Policy, module: PolicyModule, property: IR.Property, source: { root: SourceLines; condition: SourceLines }, options: PropertyOptions): Promise<PropertyResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROPERTY_TIMEOUT_MS;
  const samples = options.searchSamples ?? DEFAULT_PROPERTY_SAMPLES;
  const combined = propertyPolicy(policy);
  const vocab = new Vocabulary(combined.timezone);
  const encoding = encodePolicy(vocab, combined, source.root);
  // the condition's notes name the file the property is written in
  const condition = encodeCondition(vocab, { ...combined, file: property.file ?? combined.file }, source.condition, property.condition);
  const p: Prover = { policy, combined, module, vocab, encoding };
  const notEncoded = [...encoding.notEncoded, ...condition.notEncoded];
  const one = smt.or(...property.outcomes.map((o) => (o === "redacted" ? encoding.redacted : encoding.decision[o])));
  const violated = smt.and(smt.not(condition.err), condition.val, property.mode === "always" ? smt.not(one) : one);
  const q = vocab.declare("q", "Bool");
  vocab.lines.push(`(assert (= ${q} ${violated}))`);
  const script = [...vocab.lines, ...vocab.constraints()].join("\n");
  for (const what of new Set(vocab.lateNotEncoded)) notEncoded.push({ file: property.file ?? policy.file, line: property.line, column: property.column, what });
  const base = { property, notEncoded, searchSamples: 0, replacements: [] as string[] };
  const session = await openSession(script, timeoutMs, vocab.approximation());
  const t = performance.now();
  let why: string;
  try {
    const answer = await session.check([q]);
    const solverMs = Math.round(performance.now() - t);
    if (answer.kind === "unsat") return { ...base, status: "holds", method: null, note: null, example: null, solverMs };
    if (answer.kind === "sat") {
      const value: Assignment = (name) => answer.values.get(name);
      const problem = reproduces(p, property, value);
      if (problem === null) {
        const simple = simplify(p, property, value);
        return { ...base, status: "fails", method: "solver", note: null, example: describe(p, property, simple), replacements: replacementsOn(p, simple), solverMs };
      }
      why =
        answer.inexact !== undefined
          ? `${answer.inexact} (the solver's counterexample does not reproduce: ${problem})`
          : `the solver's counterexample does not reproduce (${problem}; ${notEncoded.length > 0 ? "it relies on constructs not encoded" : "a limit of the encoding"})`;
    } else {
      why = `the solver gave up (${answer.reason === "timeout" || answer.reason === "canceled" ? `timeout of ${timeoutMs} ms` : answer.reason})`;
    }
  } finally {
    session.close();
  }
  const solverMs = Math.round(performance.now() - t);
  const found = search(p, property, samples);
  if (found !== null) return { ...base, status: "fails", method: "search", note: why, example: describe(p, property, found), replacements: replacementsOn(p, found), solverMs, searchSamples: samples };
  return { ...base, status: "unknown", method: null, note: `not proved: ${why}; a bounded search of ${samples} inputs found no counterexample`, example: null, solverMs, searchSamples: samples };
}

interface Example {
  readonly input: Counterexample;
  /** Values of `[...trackers, ...propertyTrackers]`; undefined when the history is malformed (then scanned). */
  readonly values: TrackerValue[] | undefined;
}

function build(p: Prover, value: Assignment): Example {
  return { input: buildInput(p.vocab, value), values: trackerValues(p.vocab, p.encoding.trackers, value) };
}

/** Null when the example meets the condition and both the interpreter and the compiled module decide it against the property; else what differs. */
function confirm(p: Prover, property: IR.Property, e: Example): string | null {
  const policy = p.policy;
  const checked = checkProperty(policy, property, e.input.input, { trackerValues: e.values, now: () => 0 });
  if (checked.status !== "fails") return checked.conditionError !== null ? `its condition cannot be evaluated: ${checked.conditionError}` : `the interpreter says ${checked.status}`;
  const given = policy.trackers.length > 0 ? e.values?.slice(0, policy.trackers.length) : undefined;
  const compiled = (p.module.decide as (i: unknown, t?: unknown) => PolicyDecision)(e.input.input, given);
  if (JSON.stringify(compiled) !== JSON.stringify(checked.decision)) return "the compiled module and the interpreter disagree";
  return meetsProperty(property, compiled) ? "the compiled module meets the property" : null;
}

function reproduces(p: Prover, property: IR.Property, value: Assignment): string | null {
  return confirm(p, property, build(p, value));
}

/** The counterexample with every field it does not need left out (each tried missing in turn). */
function simplify(p: Prover, property: IR.Property, value: Assignment): Example {
  const missing = new Set<string>();
  const current: Assignment = (name) => (missing.has(name) ? Tag.null : value(name));
  let best = build(p, current);
  for (const path of [...p.vocab.paths].reverse()) {
    if (current(path.tag) === Tag.null || current(path.tag) === undefined || (path.root === "action" && path.fields.length === 1 && path.fields[0] === "type")) continue;
    missing.add(path.tag);
    const candidate = build(p, current);
    if (confirm(p, property, candidate) === null) best = candidate;
    else missing.delete(path.tag);
  }
  return best;
}

function describe(p: Prover, property: IR.Property, e: Example): PropertyResult["example"] {
  const decision = checkProperty(p.policy, property, e.input.input, { trackerValues: e.values, now: () => 0 }).decision;
  return { ...e.input, decision };
}

/**
 * The replaced imported rules whose replacement decides the counterexample differently: a
 * disabled rule that would fire on it, an override that fires where the imported rule would not
 * (or the other way round). Each line names the imported rule's file and the replacement's.
 */
function replacementsOn(p: Prover, e: Example): string[] {
  const out: string[] = [];
  const fires = (rule: IR.Rule): boolean => {
    const alone = { ...p.policy, rules: [rule], defaultDecision: "allow" as const, defaultApproval: null };
    const values = e.values?.slice(0, p.policy.trackers.length);
    return evaluatePolicy(alone, e.input.input, { trackerValues: values, now: () => 0 }).result.rules.some((r) => r.id === rule.id);
  };
  for (const r of p.policy.replacedRules ?? []) {
    const original = `${r.rule.id} (${r.rule.file ?? p.policy.file}:${r.rule.line}) would ${effectWord(r.rule)} this input`;
    const where = `${r.file}:${r.line}:${r.column}`;
    const was = fires(r.rule);
    if (r.how === "disable") {
      if (was) out.push(`${original}; it is disabled at ${where}`);
      continue;
    }
    const override = p.policy.rules.find((x) => x.id === r.rule.id);
    const now = override !== undefined && fires(override);
    if (was && !now) out.push(`${original}; the override at ${where} does not fire on it`);
    else if (now && !(was && override!.effect.kind === r.rule.effect.kind)) {
      const instead = was ? `would ${effectWord(r.rule)} it` : "would not fire";
      out.push(`the override of ${r.rule.id} at ${where} fires on this input (${effectWord(override!)}); ${r.rule.id} (${r.rule.file ?? p.policy.file}:${r.rule.line}) ${instead}`);
    }
  }
  return out;
}

function effectWord(rule: IR.Rule): string {
  return rule.effect.kind === "require_approval" ? "require approval for" : rule.effect.kind === "redact" ? "redact" : `${rule.effect.kind}`;
}

/** The first input of a seeded random search that the property fails on, over every action type the policy or property names (and one it does not). */
function search(p: Prover, property: IR.Property, samples: number): Example | null {
  const withProperty = { ...p.combined, rules: [...p.combined.rules, { condition: property.condition }] } as unknown as IR.Policy;
  const literals = literalsOf([withProperty]);
  const primitives = [...new Set(literals.filter((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean"))].slice(0, 32);
  for (const path of [...p.vocab.paths]) for (const v of primitives) p.vocab.member(path, v);
  const types = [...new Set([...p.combined.rules.flatMap((r) => r.actionTypes ?? []), ...literals.filter((v): v is string => typeof v === "string")])].slice(0, 31);
  types.push(unusedType(types));
  const each = Math.max(1, Math.ceil(samples / types.length));
  for (const [i, type] of types.entries()) {
    for (const value of randomAssignments(p.vocab, each, literals, type, i + 1)) {
      const e = build(p, value);
      if (confirm(p, property, e) === null) return simplify(p, property, value);
    }
  }
  return null;
}

function unusedType(named: readonly string[]): string {
  let t = "other";
  while (named.includes(t)) t = `~${t}`;
  return t;
}
