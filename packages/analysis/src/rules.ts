/**
 * Exact rule analysis on the solver: whether a call rule can fire at all, and whether it can
 * change the decision. The compiler's own check (semantic/analysis.ts, A401/A402) is syntactic
 * and fast; this one asks Z3 about every input. For each rule R:
 *
 * - fires: is there an input on which R's condition holds without an error? None is a proof that
 *   R never fires;
 * - matters: is there an input decided differently (another decision kind, or a redaction more
 *   or less) by the policy and by the policy without R? None is a proof that R is shadowed.
 *   Redaction and label rules are only asked whether they fire: what they rewrite or add is not a
 *   decision kind.
 *
 * Every example is decided again by the reference interpreter (with and without the rule) before
 * it is believed. Where the solver cannot settle a question (a construct the encoding leaves open
 * gives a solution that does not reproduce, or it gives up), a bounded random search over the same
 * variables looks for an example, as the diff does: an example it finds is labelled as the
 * search's, and when it finds none the rule stays `unknown` (never proved), saying how many inputs
 * were tried. Arithmetic (rounded by JavaScript) proves nothing unless the
 * question is impossible with every rounding its bounds allow (solver.ts).
 */
import { type Compilation, evaluatePolicy, type IR, type PolicyDecision } from "@agent-armor/compiler";
import { encodePolicy, OUTCOMES, type PolicyEncoding, type SourceLines } from "./encode.js";
import { type Assignment, buildInput, type Counterexample, type TrackerValue, trackerValues } from "./model.js";
import { literalsOf, randomAssignments } from "./search.js";
import * as smt from "./smt.js";
import { openSession } from "./solver.js";
import { Vocabulary } from "./vocabulary.js";

export const DEFAULT_RULE_TIMEOUT_MS = 5_000;
/** The inputs the bounded search tries for a question the solver could not settle. */
export const DEFAULT_RULE_SEARCH_SAMPLES = 1_000;

/**
 * An example is the solver's (`method` "solver") or the bounded search's ("search", with `why` the
 * solver could not settle the question).
 */
export type Verdict =
  | { readonly status: "proved" }
  | { readonly status: "example"; readonly input: Counterexample; readonly method: "solver" | "search"; readonly why?: string }
  | { readonly status: "unknown"; readonly why: string };

export interface RuleAnalysis {
  readonly rule: IR.Rule;
  /** `proved`: the rule never fires; `example`: an input on which it fires. */
  readonly neverFires: Verdict;
  /**
   * `proved`: no input is decided differently without it (shadowed); `example`: an input that is
   * (with `with`/`without` its two decisions); null for redaction and label rules, and rules that never fire.
   */
  readonly shadowed: (Verdict & { readonly with?: string; readonly without?: string }) | null;
}

/** Analyses every call rule of an error-free compilation. */
export async function analyseRules(c: Compilation, options: { readonly timeoutMs?: number; readonly searchSamples?: number } = {}): Promise<RuleAnalysis[]> {
  if (!c.ok) throw new Error(`analyseRules: ${c.policy.file} has errors`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_RULE_TIMEOUT_MS;
  const samples = options.searchSamples ?? DEFAULT_RULE_SEARCH_SAMPLES;
  const policy = c.policy;
  const source: SourceLines = {
    lineColumn: (o) => {
      const p = c.source.positionAt(o);
      return { line: p.line + 1, column: p.column + 1 };
    },
    text: (s) => c.source.text.slice(s.start, s.end),
  };
  const calls = policy.rules.filter((r) => r.stage === "call");
  const vocab = new Vocabulary(policy.timezone);
  const full = encodePolicy(vocab, policy, source);
  // the policy without each rule, over the same variables (its conditions' terms are shared)
  const withouts = new Map<IR.Rule, PolicyEncoding>();
  for (const r of calls) {
    if (r.effect.kind === "redact" || r.effect.kind === "label") continue;
    withouts.set(
      r,
      encodePolicy(
        vocab,
        policy,
        source,
        calls.filter((x) => x !== r),
      ),
    );
  }
  const fires = new Map<IR.Rule, string>();
  const differs = new Map<IR.Rule, string>();
  for (const terms of full.rules) {
    const q = vocab.declare("f", "Bool");
    vocab.lines.push(`(assert (= ${q} ${terms.fires}))`);
    fires.set(terms.rule, q);
  }
  for (const [r, without] of withouts) {
    const q = vocab.declare("m", "Bool");
    const kind = smt.or(...OUTCOMES.map((o) => smt.and(full.decision[o], smt.not(without.decision[o]))));
    vocab.lines.push(`(assert (= ${q} ${smt.or(kind, smt.not(smt.eq(full.redacted, without.redacted)))}))`);
    differs.set(r, q);
  }
  const session = await openSession([...vocab.lines, ...vocab.constraints()].join("\n"), timeoutMs, vocab.approximation());
  const example = (value: Assignment): { input: Counterexample; values: TrackerValue[] | undefined } => ({
    input: buildInput(vocab, value),
    values: trackerValues(vocab, full.trackers, value),
  });
  const decide = (p: IR.Policy, e: { input: Counterexample; values: TrackerValue[] | undefined }): PolicyDecision =>
    evaluatePolicy(p, e.input.input, { trackerValues: p.trackers.length > 0 ? e.values : undefined, now: () => 0 }).result;
  const outcome = (d: PolicyDecision): string => `${d.decision}${d.rules.some((x) => x.effect === "redact") ? " with a redaction" : ""}`;
  const search = searcher(vocab, policy, samples, full);
  const ask = async (q: string, rule: IR.Rule, confirm: (e: ReturnType<typeof example>) => string | null): Promise<Verdict & { with?: string; without?: string }> => {
    const answer = await session.check([q]);
    if (answer.kind === "unsat") return { status: "proved" };
    let why: string;
    if (answer.kind === "unknown") why = `the solver gave up (${answer.reason === "timeout" || answer.reason === "canceled" ? `timeout of ${timeoutMs} ms` : answer.reason})`;
    else {
      const e = example((name) => answer.values.get(name));
      const problem = confirm(e);
      if (problem === null) return { status: "example", input: e.input, method: "solver" };
      const open = full.notEncoded.length > 0 ? `; it relies on ${[...new Set(full.notEncoded.map((n) => n.what))].join(", ")}, not encoded` : "";
      why = answer.inexact !== undefined ? `${answer.inexact} (the solver's example does not reproduce: ${problem})` : `the solver's example does not reproduce (${problem}${open})`;
    }
    // as the diff does: what the solver could not settle, the bounded search looks for
    const found = search(rule, (e) => confirm(e) === null);
    if (found !== null) return { status: "example", input: found.input, method: "search", why };
    return { status: "unknown", why: `${why}; a random search of ${samples} inputs found no example` };
  };
  const out: RuleAnalysis[] = [];
  try {
    for (const r of calls) {
      const neverFires = await ask(fires.get(r)!, r, (e) => (decide(policy, e).rules.some((x) => x.id === r.id) ? null : "the rule does not fire on it"));
      let shadowed: RuleAnalysis["shadowed"] = null;
      const q = differs.get(r);
      if (q !== undefined && neverFires.status !== "proved") {
        const without = { ...policy, rules: policy.rules.filter((x) => x !== r) };
        let sides: { with: string; without: string } | null = null;
        const verdict = await ask(q, r, (e) => {
          const a = outcome(decide(policy, e));
          const b = outcome(decide(without, e));
          sides = { with: a, without: b };
          return a !== b ? null : `decided ${a} with the rule and without it`;
        });
        shadowed = verdict.status === "example" && sides !== null ? { ...verdict, ...(sides as { with: string; without: string }) } : verdict;
      }
      out.push({ rule: r, neverFires, shadowed });
    }
  } finally {
    session.close();
  }
  return out;
}

type Example = { input: Counterexample; values: TrackerValue[] | undefined };

/**
 * The bounded random search (search.ts) for one rule: inputs of each action type the rule names (or
 * of every type the policy names and one it does not), drawn from the policy's literals, until one
 * passes `wanted`. Seeded, so a run is repeatable; at most `samples` inputs in all.
 */
function searcher(vocab: Vocabulary, policy: IR.Policy, samples: number, full: PolicyEncoding): (rule: IR.Rule, wanted: (e: Example) => boolean) => Example | null {
  const literals = literalsOf([policy]);
  // lists the search builds hold the policy's literals (membership variables the solver never saw)
  const primitives = [...new Set(literals.filter((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean"))].slice(0, 32);
  for (const p of [...vocab.paths]) for (const v of primitives) vocab.member(p, v);
  const named = [...new Set(policy.rules.flatMap((r) => r.actionTypes ?? []))];
  let other = "other";
  while (named.includes(other)) other = `~${other}`;
  return (rule, wanted) => {
    const types = rule.actionTypes ?? [...named, other];
    const per = Math.max(1, Math.floor(samples / types.length));
    for (const [i, type] of types.entries()) {
      for (const value of randomAssignments(vocab, per, literals, type, i + 1)) {
        const e = { input: buildInput(vocab, value), values: trackerValues(vocab, full.trackers, value) };
        if (wanted(e)) return e;
      }
    }
    return null;
  };
}
