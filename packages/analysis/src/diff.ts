/**
 * The behaviour difference between two versions of a policy at the call stage. For each kind of
 * change (a decision that becomes another, a redaction added or removed) the solver either proves
 * that no input makes it, or gives an input that does; that input is decided again by the
 * reference interpreter and by the compiled module of each version before it is reported; one
 * that does not reproduce is never reported, and the search below looks instead. Where the encoding left a construct out (see
 * encode.ts), or the solver gave up within its timeout, a bounded random search over the same
 * variables looks for an example instead, and the result says so.
 */
import { type ActionSchema, type Compilation, emit, evaluatePolicy, type IR, loadModule, type PolicyDecision, type PolicyModule } from "@agent-armor/compiler";
import { encodePolicy, exprKey, type NotEncoded, noteHostNames, OUTCOMES, type Outcome, type PolicyEncoding } from "./encode.js";
import { type Assignment, buildInput, type Counterexample, type TrackerValue, trackerValues } from "./model.js";
import { schemaConstraints } from "./schema.js";
import { literalsOf, randomAssignments } from "./search.js";
import * as smt from "./smt.js";
import { openSession, trace } from "./solver.js";
import { Tag, Vocabulary } from "./vocabulary.js";

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
  /** Each with the file it is written in: the policy's, or an imported file's (`line` is that file's). */
  readonly responsible: readonly { readonly id: string; readonly file: string; readonly line: number; readonly effect: string; readonly error?: string }[];
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
  /**
   * Rules of the result and output stages that differ between the versions (added, removed or
   * disabled, changed, or moved), which the solver does not compare; and call rules whose effect's
   * details changed (what a redaction rewrites, a label, an approval's group or timeout), which the
   * kinds of change do not tell apart. `why` says which. A stage whose rules are the same in both
   * versions decides alike, and its rules are not listed.
   */
  readonly notCompared: readonly { readonly file: string; readonly rule: string; readonly stage: IR.Stage; readonly why: string }[];
  readonly solverMs: number;
  readonly searchSamples: number;
  /** The schema inputs were limited to (its path), or null. */
  readonly schema: string | null;
}

export interface DiffOptions {
  /** Each solver question's limit in milliseconds (DEFAULT_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** The inputs the random search tries when it runs (DEFAULT_SEARCH_SAMPLES). */
  readonly searchSamples?: number;
  /**
   * The action schema inputs are limited to (`armorc diff --schema`): an action it rules out is
   * never a counterexample, and every example is validated against it.
   */
  readonly schema?: ActionSchema;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_SEARCH_SAMPLES = 1_000;

interface Side extends Loaded {
  readonly encoding: PolicyEncoding;
  readonly schema: ActionSchema | null;
}

/** The difference between two compiled, error-free policies. */
export async function diffPolicies(oldC: Compilation, newC: Compilation, options: DiffOptions = {}): Promise<DiffResult> {
  for (const c of [oldC, newC]) if (!c.ok) throw new Error(`diffPolicies: ${c.policy.file} has errors; only policies that compile can be compared`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const samples = options.searchSamples ?? DEFAULT_SEARCH_SAMPLES;
  const load = async (c: Compilation): Promise<Loaded> => ({ compilation: c, module: await loadModule(emit(c).js) });
  const old = await load(oldC);
  const neu = await load(newC);
  const results: GroupResult[] = [];
  const schema = options.schema ?? null;
  for (const group of groupsToSolve(oldC.policy, newC.policy)) results.push(await diffGroup(group, old, neu, timeoutMs, samples, schema));
  const findings = CHANGE_KINDS.map((kind, i) =>
    merge(
      kind,
      results.map((r) => r.findings[i]!),
    ),
  );
  const details = effectDetailChanges(oldC.policy, newC.policy);
  const stages = stageRuleChanges(oldC.policy, newC.policy);
  const proved = findings.every((f) => f.status === "unchanged");
  // a change in what a redaction rewrites, a label or an approval's group is not a kind of change
  // the solver tells apart, nor is any change to the rules of the result and output stages, which
  // it does not compare: "no change" is then not claimed
  const status = findings.some((f) => f.status === "changed") ? "changed" : proved && details.length === 0 && stages.length === 0 ? "unchanged" : "unknown";
  const notCompared = [...stages, ...details];
  return {
    old: oldC.policy.file,
    new: newC.policy.file,
    status,
    findings,
    notEncoded: unique(results.flatMap((r) => r.notEncoded)),
    notCompared,
    solverMs: Math.round(results.reduce((sum, r) => sum + r.solverMs, 0)),
    searchSamples: results.reduce((sum, r) => sum + r.searchSamples, 0),
    schema: schema?.path ?? null,
  };
}

interface Loaded {
  readonly compilation: Compilation;
  readonly module: PolicyModule;
}

/** What of an effect the kinds of change do not compare: a redaction's rewrite, a label, an approval's group and timeout. */
function effectDetail(e: IR.Effect): string | null {
  if (e.kind === "redact" || e.kind === "label" || e.kind === "require_approval") return JSON.stringify(e);
  return null;
}

/**
 * The call rules (by id) whose effect's details differ between the versions, or that have such an
 * effect in one version only.
 */
function effectDetailChanges(oldP: IR.Policy, newP: IR.Policy): { file: string; rule: string; stage: IR.Stage; why: string }[] {
  const details = (p: IR.Policy) => new Map(p.rules.filter((r) => r.stage === "call").map((r) => [r.id, effectDetail(r.effect)] as const));
  const before = details(oldP);
  const after = details(newP);
  const out: { file: string; rule: string; stage: IR.Stage; why: string }[] = [];
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(id) ?? null;
    const b = after.get(id) ?? null;
    if (a === b || (a === null && b === null)) continue;
    out.push({ file: newP.file, rule: id, stage: "call", why: "its redaction, label or approval group differs between the versions, which the kinds of change do not tell apart" });
  }
  return out;
}

type NotCompared = { file: string; rule: string; stage: IR.Stage; why: string };

/** The stages whose rules the solver does not compare (`stageRuleChanges` compares them by structure). */
const UNENCODED_STAGES = ["result", "output"] as const satisfies readonly IR.Stage[];

/**
 * The rules of the result and output stages that differ between the versions. A stage's rules
 * decide alike when they are the same in both, by meaning (condition, effect with what a redaction
 * rewrites and with what text, label, approval), in the same order (redactions apply in order),
 * with the same timezone where they read `time`; their ids and reasons aside. Otherwise each rule
 * that differs is named: one in a version only (added, or removed or disabled), one whose meaning
 * changed, or, when the rules only moved, each that moved.
 */
function stageRuleChanges(oldP: IR.Policy, newP: IR.Policy): NotCompared[] {
  const out: NotCompared[] = [];
  for (const stage of UNENCODED_STAGES) {
    const meanings = (p: IR.Policy) =>
      p.rules
        .filter((r) => r.stage === stage)
        .map((r) => {
          const key = exprKey(p, { condition: r.condition, effect: r.effect });
          // the timezone decides `time.*`, so a rule that reads time means another thing in another zone
          return { id: r.id, key: key.includes('"kind":"time"') ? `${key} ${p.timezone ?? "UTC"}` : key };
        });
    const before = meanings(oldP);
    const after = meanings(newP);
    if (JSON.stringify(before.map((r) => r.key)) === JSON.stringify(after.map((r) => r.key))) continue;
    const not = `; the diff does not compare the ${stage} stage, so no change there is ruled out`;
    const found: NotCompared[] = [];
    const oldById = new Map(before.map((r) => [r.id, r.key]));
    const newById = new Map(after.map((r) => [r.id, r.key]));
    for (const r of before) if (!newById.has(r.id)) found.push({ file: oldP.file, rule: r.id, stage, why: `a rule on ${stage} in the old version only (removed or disabled in the new)${not}` });
    for (const r of after) {
      const was = oldById.get(r.id);
      if (was === undefined) found.push({ file: newP.file, rule: r.id, stage, why: `a rule on ${stage} in the new version only (added)${not}` });
      else if (was !== r.key)
        found.push({
          file: newP.file,
          rule: r.id,
          stage,
          why: `a rule on ${stage} whose condition or effect (what it redacts, with what text, its label or approval) differs between the versions${not}`,
        });
    }
    if (found.length === 0) {
      // the same rules by id and meaning, in another order
      const oldOrder = before.map((r) => r.id);
      const newOrder = after.map((r) => r.id);
      newOrder.forEach((id, i) => {
        if (oldOrder[i] !== id)
          found.push({ file: newP.file, rule: id, stage, why: `a rule on ${stage} whose place among the rules on ${stage} differs between the versions (redactions apply in order)${not}` });
      });
    }
    out.push(...found);
  }
  return out;
}

/**
 * The inputs of one action type (`type`), or of every type no rule names (`type` null, `others`
 * the types that are named). A rule whose leading conjuncts test the action's type neither fires
 * nor fails for other types (the compiler's dispatch relies on the same fact), so each group is
 * decided by its own rules and the rules for every type.
 */
interface Group {
  readonly type: string | null;
  readonly others: readonly string[];
}

function rulesFor(policy: IR.Policy, g: Group): IR.Rule[] {
  return policy.rules.filter((r) => r.stage === "call" && (r.actionTypes === null || (g.type !== null && r.actionTypes.includes(g.type))));
}

/** What decides a group's inputs, as text: the rules' conditions and effects by meaning, in any order. */
function signature(policy: IR.Policy, rules: readonly IR.Rule[]): string {
  const effect = (e: IR.Effect): string => (e.kind === "redact" ? JSON.stringify({ ...e, regex: e.regex === null ? null : exprKey(policy, policy.regexes[e.regex]) }) : JSON.stringify(e));
  return JSON.stringify(rules.map((r) => `${exprKey(policy, r.condition)} ${effect(r.effect)}`).sort());
}

/**
 * The groups whose rules differ between the versions; the others decide alike by construction (the
 * same conditions with the same effects and default), which is proof enough without a solver.
 */
function groupsToSolve(oldP: IR.Policy, newP: IR.Policy): Group[] {
  const types = new Set<string>();
  for (const p of [oldP, newP]) for (const r of p.rules) if (r.stage === "call") for (const t of r.actionTypes ?? []) types.add(t);
  const named = [...types];
  const all: Group[] = [...named.map((type) => ({ type, others: [] })), { type: null, others: named }];
  const sameFrame = oldP.defaultDecision === newP.defaultDecision && oldP.timezone === newP.timezone;
  return all.filter((g) => !sameFrame || signature(oldP, rulesFor(oldP, g)) !== signature(newP, rulesFor(newP, g)));
}

interface GroupResult {
  readonly findings: readonly Finding[];
  readonly notEncoded: readonly NotEncoded[];
  readonly solverMs: number;
  readonly searchSamples: number;
}

/** The finding for a kind over all groups: the first example, else unknown if any group is, else proved. */
function merge(kind: ChangeKind, perGroup: readonly Finding[]): Finding {
  return perGroup.find((f) => f.status === "changed") ?? perGroup.find((f) => f.status === "unknown") ?? { kind, status: "unchanged", method: null, note: null, example: null };
}

async function diffGroup(group: Group, oldL: Loaded, newL: Loaded, timeoutMs: number, samples: number, schema: ActionSchema | null): Promise<GroupResult> {
  const vocab = new Vocabulary(oldL.compilation.policy.timezone);
  for (const l of [oldL, newL]) noteHostNames(vocab, l.compilation.policy);
  const side = (l: Loaded): Side => {
    const c = l.compilation;
    const source = { lineColumn: (o: number) => lineColumn(c, o), text: (s: { start: number; end: number }) => c.source.text.slice(s.start, s.end) };
    return { ...l, encoding: encodePolicy(vocab, c.policy, source, rulesFor(c.policy, group)), schema };
  };
  const old = side(oldL);
  const neu = side(newL);
  const type = vocab.path("action", ["type"]);
  const typeTest = group.type !== null ? smt.eq(type.s, smt.str(group.type)) : smt.not(smt.or(...group.others.map((t) => smt.eq(type.s, smt.str(t)))));
  vocab.lines.push(`(assert ${typeTest})`);
  const notEncoded = unique([...old.encoding.notEncoded, ...neu.encoding.notEncoded]);
  if (vocab.time.has("date") && vocab.time.has("weekday")) {
    notEncoded.push({ file: newL.compilation.policy.file, line: 0, column: 0, what: "`time.weekday` together with `time.date` (the weekday of a date)" });
  }
  const queries = CHANGE_KINDS.map((k) => {
    const name = vocab.declare("q", "Bool");
    vocab.lines.push(`(assert (= ${name} ${query(k, old.encoding, neu.encoding)}))`);
    return name;
  });
  const constraints = vocab.constraints();
  if (schema !== null) constraints.push(...schemaConstraints(vocab, schema).map((t) => `(assert ${t})`));
  for (const what of new Set(vocab.lateNotEncoded)) notEncoded.push({ file: newL.compilation.policy.file, line: 0, column: 0, what });
  const opened = performance.now();
  const session = await openSession([...vocab.lines, ...constraints].join("\n"), timeoutMs, vocab.approximation());
  trace(`diff group ${group.type ?? "(the other types)"}: opened in ${Math.round(performance.now() - opened)} ms; ${queries.map((q, i) => `${q} = ${CHANGE_KINDS[i]!.id}`).join(", ")}`);
  let search: Map<string, Example> | null = null;
  // a type no rule names, for the search's inputs of the last group
  const searchType = group.type ?? unusedType(group.others);
  const searched = (): Map<string, Example> => {
    search ??= randomSearch(vocab, old, neu, samples, searchType);
    return search;
  };
  const findings = new Map<number, Finding>();
  let solverMs = 0;
  const fallBack = (i: number, why: string): void => {
    const kind = CHANGE_KINDS[i]!;
    const found = searched().get(kind.id);
    if (found) findings.set(i, { kind, status: "changed", method: "search", note: why, example: describe(found, old, neu) });
    else findings.set(i, { kind, status: "unknown", method: null, note: `${why}; a random search of ${samples} inputs found no example`, example: null });
  };
  try {
    // each kind is its own question: Z3 decides a disjunction of kinds far slower than each of
    // them (the trading example's host question ran past its timeout as one of two kinds, and took
    // a second alone), and the questions that fold to `false` cost it next to nothing
    for (let i = 0; i < CHANGE_KINDS.length; i++) {
      const t = performance.now();
      const answer = await session.check([queries[i]!]);
      solverMs += performance.now() - t;
      if (answer.kind === "unsat") {
        findings.set(i, { kind: CHANGE_KINDS[i]!, status: "unchanged", method: null, note: null, example: null });
        continue;
      }
      if (answer.kind === "unknown") {
        const reason = answer.reason === "timeout" || answer.reason === "canceled" ? `timeout of ${timeoutMs} ms` : answer.reason;
        // after a solver that failed, the kinds left are not asked: it is replaced, and asking
        // each again would restart it for each
        const left = answer.failed ? CHANGE_KINDS.map((_, j) => j).filter((j) => j >= i) : [i];
        for (const j of left) fallBack(j, `the solver gave up (${reason})`);
        if (answer.failed) break;
        continue;
      }
      const kind = CHANGE_KINDS[i]!;
      let value: Assignment = (name) => answer.values.get(name);
      let example = buildExample(vocab, value, old, neu);
      let problem = reproduces(kind, example, old, neu);
      if (problem !== null && answer.exactCut) {
        // the try with exact values was cut short: it gets the whole timeout before the search
        const t2 = performance.now();
        const again = await session.checkExact([queries[i]!]);
        solverMs += performance.now() - t2;
        if (again.kind === "sat") {
          const exactValue: Assignment = (name) => again.values.get(name);
          const retried = buildExample(vocab, exactValue, old, neu);
          if (reproduces(kind, retried, old, neu) === null) {
            value = exactValue;
            example = retried;
            problem = null;
          }
        }
      }
      if (problem === null) findings.set(i, { kind, status: "changed", method: "solver", note: null, example: describe(simplify(vocab, value, kind, old, neu), old, neu) });
      else {
        // what is not encoded, or a value the input cannot hold exactly (a number past 2^53, a
        // field under a parent the solution left out), can make the solver's example miss: the
        // change may still happen, so the search looks for one and the result says why
        const why = notEncoded.length > 0 ? "it relies on constructs not encoded" : "the encoding and the policies disagree on it, a limit of the encoding";
        const input = JSON.stringify(example.counterexample.input);
        if (answer.inexact !== undefined) fallBack(i, `${answer.inexact} (the solver's example does not reproduce: ${problem}; input: ${input})`);
        else fallBack(i, `the solver's example does not reproduce (${problem}; ${why}); input: ${input}`);
      }
    }
  } finally {
    session.close();
  }
  return { findings: CHANGE_KINDS.map((_, i) => findings.get(i)!), notEncoded, solverMs, searchSamples: search === null ? 0 : samples };
}

/**
 * The example with every field the change does not need left out: each field in turn is made
 * missing, and stays so when the example still makes the same change (in both the interpreter and
 * the compiled modules). The solver picks values for every variable; a reader wants the few that matter.
 */
function simplify(vocab: Vocabulary, value: Assignment, kind: ChangeKind, old: Side, neu: Side): Example {
  const missing = new Set<string>();
  const current: Assignment = (name) => (missing.has(name) ? Tag.null : value(name));
  let best = buildExample(vocab, current, old, neu);
  for (const p of [...vocab.paths].reverse()) {
    if (current(p.tag) === Tag.null || current(p.tag) === undefined || (p.root === "action" && p.fields.length === 1 && p.fields[0] === "type")) continue;
    missing.add(p.tag);
    const candidate = buildExample(vocab, current, old, neu);
    if (reproduces(kind, candidate, old, neu) === null) best = candidate;
    else missing.delete(p.tag);
  }
  return best;
}

function unusedType(named: readonly string[]): string {
  let t = "other";
  while (named.includes(t)) t = `~${t}`;
  return t;
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
  /** The tracker values each side decides with; undefined when the history is malformed (then scanned). */
  readonly old: TrackerValue[] | undefined;
  readonly neu: TrackerValue[] | undefined;
}

function buildExample(vocab: Vocabulary, value: Assignment, old: Side, neu: Side): Example {
  return { counterexample: buildInput(vocab, value), old: trackerValues(vocab, old.encoding.trackers, value), neu: trackerValues(vocab, neu.encoding.trackers, value) };
}

/** Both ways of deciding (interpreter and compiled module), for one side. */
function decideBoth(s: Side, input: unknown, values: TrackerValue[] | undefined): { interpreted: PolicyDecision; compiled: PolicyDecision } {
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
  const action = e.counterexample.input.action;
  if (old.schema !== null && !old.schema.validatorFor(String(action.type))(action)) return `the action is not valid under the schema ${old.schema.path}`;
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
  const side = (s: Side, values: TrackerValue[] | undefined): SideDecision => {
    const d = decideBoth(s, e.counterexample.input, values).interpreted;
    return { ...outcome(d), responsible: responsible(s.compilation.policy, d), rules: d.rules.map((r) => r.id) };
  };
  return { ...e.counterexample, old: side(old, e.old), new: side(neu, e.neu) };
}

function responsible(policy: IR.Policy, d: PolicyDecision): SideDecision["responsible"] {
  const where = (id: string | null): { file: string; line: number } => {
    const rule = policy.rules.find((r) => r.id === id);
    return { file: rule?.file ?? policy.file, line: rule?.line ?? 0 };
  };
  if (d.errors.length > 0) return d.errors.map((e) => ({ id: e.rule ?? "(input)", ...where(e.rule), effect: "error", error: e.message }));
  const effects = d.decision === "allow" ? ["allow", "redact"] : [d.decision];
  return d.rules.filter((r) => effects.includes(r.effect)).map((r) => ({ id: r.id, ...where(r.id), effect: r.effect }));
}

/** The first input of the random search that makes each kind of change, by kind id. */
function randomSearch(vocab: Vocabulary, old: Side, neu: Side, samples: number, type: string): Map<string, Example> {
  const found = new Map<string, Example>();
  const literals = literalsOf([old.compilation.policy, neu.compilation.policy]);
  // lists the search builds hold the policies' literals (membership variables the solver never saw)
  const primitives = [...new Set(literals.filter((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean"))].slice(0, 32);
  for (const p of [...vocab.paths]) for (const v of primitives) vocab.member(p, v);
  for (const value of randomAssignments(vocab, samples, literals, type)) {
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
