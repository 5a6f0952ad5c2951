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
 * it is believed; one that does not reproduce, or a question the solver gives up on, leaves the
 * rule `unknown`, never proved. Arithmetic (rounded by JavaScript) proves nothing unless the
 * question is impossible with every rounding its bounds allow (solver.ts).
 */
import { type Compilation, evaluatePolicy, type IR, type PolicyDecision } from "@agent-armor/compiler";
import { encodePolicy, OUTCOMES, type PolicyEncoding, type SourceLines } from "./encode.js";
import { type Assignment, buildInput, type Counterexample, type TrackerValue, trackerValues } from "./model.js";
import * as smt from "./smt.js";
import { openSession } from "./solver.js";
import { Vocabulary } from "./vocabulary.js";

export const DEFAULT_RULE_TIMEOUT_MS = 5_000;

export type Verdict = { readonly status: "proved" } | { readonly status: "example"; readonly input: Counterexample } | { readonly status: "unknown"; readonly why: string };

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
export async function analyseRules(c: Compilation, options: { readonly timeoutMs?: number } = {}): Promise<RuleAnalysis[]> {
  if (!c.ok) throw new Error(`analyseRules: ${c.policy.file} has errors`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_RULE_TIMEOUT_MS;
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
  const ask = async (q: string, confirm: (e: ReturnType<typeof example>) => string | null): Promise<Verdict & { with?: string; without?: string }> => {
    const answer = await session.check([q]);
    if (answer.kind === "unsat") return { status: "proved" };
    if (answer.kind === "unknown")
      return { status: "unknown", why: `the solver gave up (${answer.reason === "timeout" || answer.reason === "canceled" ? `timeout of ${timeoutMs} ms` : answer.reason})` };
    const e = example((name) => answer.values.get(name));
    const problem = confirm(e);
    if (problem === null) return { status: "example", input: e.input };
    return {
      status: "unknown",
      why: answer.inexact !== undefined ? `${answer.inexact} (the solver's example does not reproduce: ${problem})` : `the solver's example does not reproduce (${problem})`,
    };
  };
  const out: RuleAnalysis[] = [];
  try {
    for (const r of calls) {
      const neverFires = await ask(fires.get(r)!, (e) => (decide(policy, e).rules.some((x) => x.id === r.id) ? null : "the rule does not fire on it"));
      let shadowed: RuleAnalysis["shadowed"] = null;
      const q = differs.get(r);
      if (q !== undefined && neverFires.status !== "proved") {
        const without = { ...policy, rules: policy.rules.filter((x) => x !== r) };
        let sides: { with: string; without: string } | null = null;
        const verdict = await ask(q, (e) => {
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
