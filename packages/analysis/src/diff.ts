/**
 * The behaviour difference between two versions of a policy at the call stage. For each kind of
 * change (a decision that becomes another, a redaction added or removed) the solver either proves
 * that no input makes it, or gives an input that does; that input is decided again by the
 * reference interpreter and by the compiled module of each version before it is reported, and one
 * that does not reproduce is an internal error. Where the encoding left a construct out (see
 * encode.ts), or the solver gave up within its timeout, a bounded random search over the same
 * variables looks for an example instead, and the result says so.
 */
import { type Compilation, emit, evaluatePolicy, type IR, loadModule, type PolicyDecision, type PolicyModule } from "@agent-armor/compiler";
import { encodePolicy, type NotEncoded, OUTCOMES, type Outcome, type PolicyEncoding } from "./encode.js";
import { type Assignment, buildInput, type Counterexample, trackerValues } from "./model.js";
import { literalsOf, randomAssignments } from "./search.js";
import * as smt from "./smt.js";
import { openSession } from "./solver.js";
import { Vocabulary } from "./vocabulary.js";

export interface ChangeKind {
  /** `allow->deny`, `redaction-added`, ... */
  readonly id: string;
  readonly from: Outcome | null;
  readonly to: Outcome | null;
  readonly redaction: "added" | "removed" | null;
}

/** Every kind of change the diff asks about, in the order reports list them. */
export const CHANGE_KINDS: readonly ChangeKind[] = [
  ...OUTCOMES.flatMap((from) => OUTCOMES.filter((to) => to !== from).map((to) => ({ id: `${from}->${to}`, from, to, redaction: null }))),
  { id: "redaction-added", from: null, to: null, redaction: "added" },
  { id: "redaction-removed", from: null, to: null, redaction: "removed" },
];

export interface SideDecision {
  readonly decision: IR.DecisionKind;
  readonly redacted: boolean;
  /** The rules that decided: the failed rules, or the fired rules of the decision's effect; empty for the default. */
  readonly responsible: readonly { readonly id: string; readonly line: number; readonly effect: string; readonly error?: string }[];
  readonly rules: readonly string[];
}

export interface Finding {
  readonly kind: ChangeKind;
  /** `changed`: an example below; `unchanged`: proved; `unknown`: neither (see `note`). */
  readonly status: "changed" | "unchanged" | "unknown";
  /** How the example was found, or why the status is unknown. */
  readonly method: "solver" | "search" | null;
  readonly note: string | null;
  readonly example: (Counterexample & { readonly old: SideDecision; readonly new: SideDecision }) | null;
}

export interface DiffResult {
  readonly old: string;
  readonly new: string;
  /** `changed` when some finding is; `unchanged` when every kind is proved unchanged; `unknown` otherwise. */
  readonly status: "changed" | "unchanged" | "unknown";
  readonly findings: readonly Finding[];
  readonly notEncoded: readonly NotEncoded[];
  /** Rules of the result and output stages, which the diff does not compare. */
  readonly notCompared: readonly { readonly file: string; readonly rule: string; readonly stage: IR.Stage }[];
  readonly solverMs: number;
  readonly searchSamples: number;
}

export interface DiffOptions {
  /** Each solver question's limit in milliseconds (DEFAULT_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** The inputs the random search tries when it runs (DEFAULT_SEARCH_SAMPLES). */
  readonly searchSamples?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_SEARCH_SAMPLES = 3_000;

/** A counterexample the solver gave that the policies decide otherwise: a bug in the encoding. */
export class UnreproducedCounterexample extends Error {
  constructor(
    readonly kind: ChangeKind,
    readonly example: Counterexample,
    detail: string,
  ) {
    super(`internal error: the solver's example for ${kind.id} does not reproduce (${detail}); input: ${JSON.stringify(example.input)}`);
  }
}

interface Side {
  readonly compilation: Compilation;
  readonly module: PolicyModule;
  readonly encoding: PolicyEncoding;
}

/** The difference between two compiled, error-free policies. */
export async function diffPolicies(oldC: Compilation, newC: Compilation, options: DiffOptions = {}): Promise<DiffResult> {
  for (const c of [oldC, newC]) if (!c.ok) throw new Error(`diffPolicies: ${c.policy.file} has errors; only policies that compile can be compared`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const vocab = new Vocabulary(oldC.policy.timezone);
  const side = async (c: Compilation): Promise<Side> => ({
    compilation: c,
    module: await loadModule(emit(c).js),
    encoding: encodePolicy(vocab, c.policy, { lineColumn: (o) => lineColumn(c, o), text: (s) => c.source.text.slice(s.start, s.end) }),
  });
  const old = await side(oldC);
  const neu = await side(newC);
  const notEncoded = unique([...old.encoding.notEncoded, ...neu.encoding.notEncoded]);
  if (vocab.time.has("date") && vocab.time.has("weekday")) {
    notEncoded.push({ file: newC.policy.file, line: 0, column: 0, what: "`time.weekday` together with `time.date` (the weekday of a date)" });
  }
  const queries = CHANGE_KINDS.map((k) => {
    const name = vocab.declare("q", "Bool");
    vocab.lines.push(`(assert (= ${name} ${query(k, old.encoding, neu.encoding)}))`);
    return name;
  });
  const constraints = vocab.constraints();
  const script = [...vocab.lines, ...constraints].join("\n");
  const session = await openSession(script, timeoutMs);
  let search: Map<string, Example> | null = null;
  const samples = options.searchSamples ?? DEFAULT_SEARCH_SAMPLES;
  const searched = (): Map<string, Example> => {
    search ??= randomSearch(vocab, old, neu, samples);
    return search;
  };
  const findings: Finding[] = [];
  let solverMs = 0;
  try {
    for (let i = 0; i < CHANGE_KINDS.length; i++) {
      const kind = CHANGE_KINDS[i]!;
      const t = performance.now();
      const answer = await session.check(queries[i]!);
      solverMs += performance.now() - t;
      if (answer.kind === "unsat") {
        findings.push({ kind, status: "unchanged", method: null, note: null, example: null });
        continue;
      }
      if (answer.kind === "sat") {
        const value: Assignment = (name) => answer.values.get(name);
        const example = buildExample(vocab, value, old, neu);
        const problem = reproduces(kind, example, old, neu);
        if (problem === null) {
          findings.push({ kind, status: "changed", method: "solver", note: null, example: describe(example, old, neu) });
          continue;
        }
        if (notEncoded.length === 0) throw new UnreproducedCounterexample(kind, example.counterexample, problem);
      }
      const why =
        answer.kind === "unknown"
          ? `the solver gave up (${answer.reason === "timeout" || answer.reason === "canceled" ? `timeout of ${timeoutMs} ms` : answer.reason})`
          : "the solver's example relies on constructs not encoded and does not reproduce";
      const found = searched().get(kind.id);
      if (found) {
        findings.push({ kind, status: "changed", method: "search", note: why, example: describe(found, old, neu) });
      } else findings.push({ kind, status: "unknown", method: null, note: `${why}; a random search of ${samples} inputs found no example`, example: null });
    }
  } finally {
    session.close();
  }
  const status = findings.some((f) => f.status === "changed") ? "changed" : findings.every((f) => f.status === "unchanged") ? "unchanged" : "unknown";
  const notCompared = [old, neu].flatMap((s) => s.encoding.otherStages.map((r) => ({ file: s.compilation.policy.file, rule: r.id, stage: r.stage })));
  return { old: oldC.policy.file, new: newC.policy.file, status, findings, notEncoded, notCompared, solverMs: Math.round(solverMs), searchSamples: search === null ? 0 : samples };
}

/** One report per place: both versions of a file name the same construct at the same place. */
function unique(list: readonly NotEncoded[]): NotEncoded[] {
  const seen = new Set<string>();
  return list.filter((n) => {
    const key = `${n.file}:${n.line}:${n.column}:${n.what}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function lineColumn(c: Compilation, offset: number): { line: number; column: number } {
  const p = c.source.positionAt(offset);
  return { line: p.line + 1, column: p.column + 1 };
}

/** The term that holds on the inputs that make change `k`. */
function query(k: ChangeKind, old: PolicyEncoding, neu: PolicyEncoding): smt.Term {
  if (k.from !== null && k.to !== null) return smt.and(old.decision[k.from], neu.decision[k.to]);
  const same = smt.or(...OUTCOMES.map((o) => smt.and(old.decision[o], neu.decision[o])));
  return k.redaction === "added" ? smt.and(same, smt.not(old.redacted), neu.redacted) : smt.and(same, old.redacted, smt.not(neu.redacted));
}

interface Example {
  readonly counterexample: Counterexample;
  /** The tracker values each side decides with. */
  readonly old: (number | boolean | null)[];
  readonly neu: (number | boolean | null)[];
}

function buildExample(vocab: Vocabulary, value: Assignment, old: Side, neu: Side): Example {
  return { counterexample: buildInput(vocab, value), old: trackerValues(old.encoding.trackers, value), neu: trackerValues(neu.encoding.trackers, value) };
}

/** Both ways of deciding (interpreter and compiled module), for one side. */
function decideBoth(s: Side, input: unknown, values: (number | boolean | null)[]): { interpreted: PolicyDecision; compiled: PolicyDecision } {
  const given = s.compilation.policy.trackers.length > 0 ? values : undefined;
  const interpreted = evaluatePolicy(s.compilation.policy, input, { trackerValues: given, now: () => 0 }).result;
  const compiled = (s.module.decide as (i: unknown, t?: unknown) => PolicyDecision)(input, given);
  return { interpreted, compiled };
}

function outcome(d: PolicyDecision): { decision: IR.DecisionKind; redacted: boolean } {
  return { decision: d.decision, redacted: d.rules.some((r) => r.effect === "redact") };
}

/** Null when the example makes change `k` in both the interpreter and the compiled modules; else what differs. */
function reproduces(k: ChangeKind, e: Example, old: Side, neu: Side): string | null {
  const a = decideBoth(old, e.counterexample.input, e.old);
  const b = decideBoth(neu, e.counterexample.input, e.neu);
  for (const [name, d] of [
    ["old", a],
    ["new", b],
  ] as const) {
    if (JSON.stringify(d.interpreted) !== JSON.stringify(d.compiled)) return `the ${name} policy's compiled module and interpreter disagree`;
  }
  return makes(k, outcome(a.interpreted), outcome(b.interpreted)) ? null : `decided ${a.interpreted.decision} then ${b.interpreted.decision}`;
}

function makes(k: ChangeKind, a: { decision: string; redacted: boolean }, b: { decision: string; redacted: boolean }): boolean {
  if (k.from !== null) return a.decision === k.from && b.decision === k.to;
  return a.decision === b.decision && (k.redaction === "added" ? !a.redacted && b.redacted : a.redacted && !b.redacted);
}

function describe(e: Example, old: Side, neu: Side): Finding["example"] {
  const side = (s: Side, values: (number | boolean | null)[]): SideDecision => {
    const d = decideBoth(s, e.counterexample.input, values).interpreted;
    return { ...outcome(d), responsible: responsible(s.compilation.policy, d), rules: d.rules.map((r) => r.id) };
  };
  return { ...e.counterexample, old: side(old, e.old), new: side(neu, e.neu) };
}

function responsible(policy: IR.Policy, d: PolicyDecision): SideDecision["responsible"] {
  const line = (id: string | null): number => policy.rules.find((r) => r.id === id)?.line ?? 0;
  if (d.errors.length > 0) return d.errors.map((e) => ({ id: e.rule ?? "(input)", line: line(e.rule), effect: "error", error: e.message }));
  const effects = d.decision === "allow" ? ["allow", "redact"] : [d.decision];
  return d.rules.filter((r) => effects.includes(r.effect)).map((r) => ({ id: r.id, line: line(r.id), effect: r.effect }));
}

/** The first input of the random search that makes each kind of change, by kind id. */
function randomSearch(vocab: Vocabulary, old: Side, neu: Side, samples: number): Map<string, Example> {
  const found = new Map<string, Example>();
  const literals = literalsOf([old.compilation.policy, neu.compilation.policy]);
  // lists the search builds hold the policies' literals (membership variables the solver never saw)
  const primitives = [...new Set(literals.filter((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean"))].slice(0, 32);
  for (const p of [...vocab.paths]) for (const v of primitives) vocab.member(p, v);
  for (const value of randomAssignments(vocab, samples, literals)) {
    const e = buildExample(vocab, value, old, neu);
    const a = outcome(decideBoth(old, e.counterexample.input, e.old).interpreted);
    const b = outcome(decideBoth(neu, e.counterexample.input, e.neu).interpreted);
    for (const k of CHANGE_KINDS) {
      if (!found.has(k.id) && makes(k, a, b) && reproduces(k, e, old, neu) === null) found.set(k.id, e);
    }
    if (found.size === CHANGE_KINDS.length) break;
  }
  return found;
}
