/**
 * Deciding: the action validated against the policy's schema, the policy's `decide` with the
 * session's tracker values (synchronously, never throwing), and the runtime's decision made of
 * it (id, time, policy, session, action hash). Also the shadow candidate's decision beside it.
 */
import { canonicalJsonOrUndefined, sha256 } from "../hash.js";
import { ScopeUnavailable } from "../history.js";
import type { Decision, GrantInput, PolicyDecision } from "../types.js";
import type { ShadowFlip } from "./api.js";
import { isoTime } from "./ids.js";
import type { Active } from "./policies.js";
import type { EnforcerState } from "./state.js";
import { actionHashOf, type Subject } from "./subject.js";

/** The labels of a decision made by a module compiled before labels existed. */
export const NO_LABELS: string[] = Object.freeze([]) as unknown as string[];

/**
 * A decision on its way to the audit log, with the canonical JSON of its action: the text its
 * `actionHash` is the hash of, which the decision record reuses rather than serializing the action
 * again. It is undefined when JSON has no text for the action (the record leaves the field out),
 * or when the action cannot be serialized (it contains itself): then the decision is a deny that
 * says so, its `actionHash` is empty, and its record is written without the action.
 */
export interface Decided {
  decision: Decision;
  actionJson: string | undefined;
  policyJson: string | undefined;
  /** When the policy's evaluation started (`performance.now()`), while telemetry is on; 0 otherwise. */
  started: number;
}

/** The runtime's decision on a subject by `policy` at `now`; `id` when it decides again under an earlier id. */
export function decideWith(st: EnforcerState, policy: Active, subject: Subject, now: number, id?: string, grants?: readonly GrantInput[]): Decided {
  const started = st.telemetry.last === null ? 0 : performance.now();
  const d = evaluate(st, policy, subject, now, grants);
  return finish(policy, d, subject, now, id ?? st.decisionId(now), started);
}

/** The policy's decision for an action, synchronously, never throwing. */
function evaluate(st: EnforcerState, policy: Active, subject: Subject, now: number, grants?: readonly GrantInput[]): PolicyDecision {
  const action = subject.action;
  if (subject.problem !== null) return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message: subject.problem }] };
  // a shared history store that did not answer: no decision can count or read the session's history
  const unavailable = st.trackers.problem(subject.session);
  if (unavailable !== null) return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message: unavailable }] };
  try {
    if (policy.validator !== null) {
      const problems = policy.validator(action);
      if (problems !== null) {
        return { decision: "deny", rules: [], approval: null, action, errors: problems.map((message) => ({ rule: null, message: `invalid action: ${message}` })) };
      }
    }
    const values = st.trackers.values(subject.session, policy.module.trackers, now, action, subject);
    // a scope whose history cannot be kept (MAX_SCOPES): the action could not be counted, so it does not run
    const full = values.find((v) => v instanceof ScopeUnavailable) as ScopeUnavailable | undefined;
    if (full !== undefined) return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message: full.error }] };
    const session = st.trackers.sessionInput(subject.session);
    const input =
      grants === undefined
        ? { action, user: subject.user, context: subject.context, time: isoTime(now), session }
        : // the grants the store holds for this action's scope, which `grant session` compares with the session's id
          { action, user: subject.user, context: subject.context, time: isoTime(now), session: { labels: session.labels, id: subject.session }, grants };
    return policy.module.decide(input, values);
  } catch (e) {
    return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message: `the policy failed: ${(e as Error).message}` }] };
  }
}

/** The runtime's decision: the policy's, with its id, time, policy, session and action hash. */
function finish(policy: Active, d: PolicyDecision, subject: Subject, now: number, id: string, started: number): Decided {
  let actionJson: string | undefined;
  let hash: string;
  try {
    // the policy's action is the snapshot itself unless it rewrote it (a redacted copy)
    actionJson = d.action === subject.action ? subject.json : canonicalJsonOrUndefined(d.action);
    // an action that is not JSON has no hash; the policy's deny already says why
    hash = d.action !== subject.action ? sha256(actionJson ?? "null") : subject.hashable ? actionHashOf(subject) : "";
  } catch (e) {
    actionJson = undefined;
    hash = "";
    d = { ...d, decision: "deny", errors: [...d.errors, { rule: null, message: `the action cannot be hashed: ${(e as Error).message}` }] };
  }
  // built field by field: an object spread of the policy's decision costs more than all of this
  const decision: Decision = {
    decision: d.decision,
    rules: d.rules,
    approval: d.approval,
    action: d.action,
    errors: d.errors,
    labels: d.labels ?? NO_LABELS,
    id,
    time: isoTime(now),
    policy: policy.meta,
    session: subject.session,
    actionHash: hash,
  };
  if (d.grant !== undefined) decision.grant = d.grant;
  return { decision, actionJson, policyJson: policy.metaJson, started };
}

/** The shadow candidate's decision on the same subject, counted and reported when it differs; the record's `shadow` field. */
export function shadowDecide(st: EnforcerState, decision: Decision, subject: Subject, now: number): Record<string, unknown> | undefined {
  const shadow = st.shadow;
  if (shadow === null) return undefined;
  return compareShadow(st, decision, evaluate(st, shadow, subject, now));
}

/**
 * Counts the shadow candidate's decision against the enforced one, and reports a flip
 * (`onShadowFlip`); a result's or a message's flip names its stage, and is counted under
 * `result allow->deny` and the like.
 */
export function compareShadow(
  st: EnforcerState,
  enforced: { id: string; session: string; action: unknown; decision: Decision["decision"] },
  candidate: { decision: Decision["decision"]; rules: readonly { id: string }[] },
  stage?: "result" | "output",
): Record<string, unknown> {
  const stats = st.shadowStats;
  stats.decisions++;
  if (candidate.decision === enforced.decision) return { decision: candidate.decision, flipped: false };
  stats.flips++;
  const kind = `${stage === undefined ? "" : `${stage} `}${enforced.decision}->${candidate.decision}`;
  stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
  const flip: ShadowFlip = {
    decisionId: enforced.id,
    session: enforced.session,
    action: enforced.action,
    enforced: enforced.decision,
    candidate: candidate.decision,
    candidateRules: candidate.rules.map((r) => r.id),
    ...(stage === undefined ? {} : { stage }),
  };
  try {
    st.options.onShadowFlip?.(flip);
  } catch (e) {
    st.report(e);
  }
  return { decision: candidate.decision, flipped: true, rules: flip.candidateRules };
}
