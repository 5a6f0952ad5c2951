/**
 * Deciding a tool's result or a model's message: the value snapshotted once (stage-value.ts), the
 * module's `decideResult`/`decideOutput` on that copy (with the session's labels and tracker
 * values), approval when the stage requires it (the approver sees a copy of the rewritten value,
 * and the approval holds only for its hash), the decision's labels added to the session, and its
 * audit record (`result` or `output`).
 */
import { canonicalJson, sha256 } from "../hash.js";
import { StageRecord } from "../records.js";
import { changedPaths, type StageValue, snapshotStageValue } from "../stage-value.js";
import type { ApprovalRequest, FiredRule, PolicyDecision, StageDecision } from "../types.js";
import type { ApprovalOutcome } from "./api.js";
import { ask, denyAfterApproval, sameApprover } from "./approval-step.js";
import { observeDecision, write } from "./audit-step.js";
import { compareShadow, NO_LABELS } from "./decide-step.js";
import { addLabels } from "./history-step.js";
import { isoTime } from "./ids.js";
import type { Active } from "./policies.js";
import type { EnforcerState } from "./state.js";

export type StageName = "result" | "output";

/** What a stage decides about besides its value: the call (for a result), who, where and when. */
export interface StageSubject {
  readonly stage: StageName;
  /** The decision id: the call's for a result, a new one for a message. */
  readonly id: string;
  readonly session: string;
  /** The call's action as the policy decided it (for a result), or null. */
  readonly action: unknown;
  readonly actionHash: string;
  readonly user: unknown;
  readonly context: unknown;
  /** The user's canonical JSON, for an output record (a result's call record has it). */
  readonly userJson: string | undefined;
  /** A problem of the subject itself (a user or context that is not JSON): the decision denies. */
  readonly problem: string | null;
  /** The value, snapshotted once: the first decision reads it, every later one a fresh copy. */
  readonly value: StageValue;
}

/** A stage's decision, with a private copy of the value as decided. */
export interface StageDecided {
  decision: StageDecision;
  /**
   * A copy of the value as decided, made when it was hashed, in its own key order; nothing else
   * holds it, so it is what was hashed (and approved) when it is handed out. Undefined when the
   * value is not JSON.
   */
  kept: unknown;
  approval: ApprovalOutcome | null;
  /** When the policy's evaluation started (`performance.now()`), while telemetry is on; 0 otherwise. */
  started: number;
}

/** A copy of plain JSON data, keys in their order (stage-value.ts, on data already checked). */
export function copyOf(v: unknown): unknown {
  return snapshotStageValue(v, "result").copy;
}

/**
 * The stage's decision of the subject's value by `policy` at `now`; synchronous, never throws.
 * `again`: a decision after an approval, which reads a fresh copy of the value.
 */
export function decideStage(st: EnforcerState, policy: Active, s: StageSubject, now: number, again = false): StageDecided {
  const started = st.telemetry.last === null ? 0 : performance.now();
  const d = evaluate(st, policy, s, now, again);
  // the shadow candidate decides the same value (a fresh copy), once per value
  const shadow = st.shadow;
  if (shadow !== null && !again) compareShadow(st, { id: s.id, session: s.session, action: s.action, decision: d.decision }, evaluate(st, shadow, s, now, true), s.stage);
  const value = s.stage === "result" ? d.result : d.output;
  let kept: unknown;
  let hash = "";
  let errors = d.errors;
  let kind = d.decision;
  if (s.value.problem === null) {
    try {
      hash = sha256(canonicalJson(value));
      const copy = snapshotStageValue(value, s.stage);
      if (copy.problem !== null) throw new Error(copy.problem);
      kept = copy.copy;
    } catch (e) {
      kind = "deny";
      errors = [...errors, { rule: null, message: `the ${s.stage} cannot be hashed: ${(e as Error).message}` }];
    }
  }
  const decision: StageDecision = {
    decision: kind,
    rules: d.rules,
    approval: d.approval,
    action: s.action,
    errors,
    labels: d.labels ?? NO_LABELS,
    id: s.id,
    time: isoTime(now),
    policy: policy.meta,
    session: s.session,
    actionHash: s.actionHash,
    stage: s.stage,
    valueHash: hash,
    ...(s.stage === "result" ? { result: value } : { output: value }),
  };
  return { decision, kept, approval: null, started };
}

/** The module's decision of the stage, or a deny that says why there is none. */
function evaluate(st: EnforcerState, policy: Active, s: StageSubject, now: number, again: boolean): PolicyDecision {
  const deny = (message: string): PolicyDecision => ({ decision: "deny", rules: [], approval: null, action: null, errors: [{ rule: null, message }], labels: NO_LABELS, [s.stage]: null });
  if (s.problem !== null) return deny(s.problem);
  if (s.value.problem !== null) return deny(s.value.problem);
  const unavailable = st.trackers.problem(s.session);
  if (unavailable !== null) return deny(unavailable);
  const decideFn = s.stage === "result" ? policy.module.decideResult : policy.module.decideOutput;
  // a module compiled before stages: the value passes as it is (a copy of it)
  if (typeof decideFn !== "function") return { decision: "allow", rules: [], approval: null, action: null, errors: [], labels: NO_LABELS, [s.stage]: copyOf(s.value.copy) };
  try {
    const action = s.stage === "result" ? s.action : undefined;
    const values = st.trackers.values(s.session, policy.module.trackers, now, action, s);
    // the snapshot is the runtime's own copy, which the module only reads
    const value = again ? copyOf(s.value.copy) : s.value.copy;
    const input = { action, user: s.user, context: s.context, time: isoTime(now), session: st.trackers.sessionInput(s.session), [s.stage]: value };
    return decideFn.call(policy.module, input, values);
  } catch (e) {
    return deny(`the policy failed: ${(e as Error).message}`);
  }
}

/**
 * Asks for approval while the stage's decision requires one, deciding the same value afresh after
 * each approval: it is allowed only when the value as rewritten has the hash that was approved
 * and asks the same approver group (as a call's approval, approval-step.ts).
 */
export async function approveStage(st: EnforcerState, s: StageSubject, decided: StageDecided): Promise<StageDecided> {
  for (let round = 0; decided.decision.decision === "require_approval"; round++) {
    const decision = decided.decision;
    if (round === 3) {
      return { ...decided, decision: { ...decision, decision: "deny", errors: [...decision.errors, { rule: null, message: `the ${s.stage} kept changing while it was being approved` }] } };
    }
    const outcome = await ask(st, decision, (timeoutMs, signal) => stageRequest(decided, s.userJson, timeoutMs, signal));
    if (outcome.outcome !== "approved") return { ...decided, decision: denyAfterApproval(decision, outcome), approval: outcome };
    const again = decideStage(st, st.active, s, st.clock(), true);
    if (again.decision.decision === "deny" || again.decision.valueHash !== decision.valueHash || !sameApprover(again.decision, decision)) {
      decided = { ...again, approval: outcome };
      continue;
    }
    return { ...again, decision: { ...again.decision, decision: "allow" }, approval: outcome };
  }
  return decided;
}

/** What the approver is shown: a copy of the value as it will be returned, and its hash. */
function stageRequest(decided: StageDecided, userJson: string | undefined, timeoutMs: number, signal: AbortSignal): ApprovalRequest {
  const d = decided.decision;
  const rules: FiredRule[] = d.rules.filter((r) => r.effect === "require_approval");
  return {
    id: d.id,
    action: d.action === null ? null : JSON.parse(JSON.stringify(d.action)),
    actionHash: d.actionHash,
    rules,
    reason: rules.find((r) => r.reason !== null)?.reason ?? null,
    from: d.approval?.from ?? null,
    timeoutMs,
    quorum: d.approval?.quorum ?? 1,
    grant: null,
    session: d.session,
    user: (userJson === undefined || userJson === "null" ? undefined : JSON.parse(userJson)) as ApprovalRequest["user"],
    policy: d.policy,
    signal,
    stage: d.stage,
    value: decided.kept === undefined ? null : copyOf(decided.kept),
    valueHash: d.valueHash,
  };
}

/**
 * The final decision of a stage: its labels added to the session (a deny when they cannot be),
 * its record written (a failing log withholds the value unless `onAuditFailure: "allow"`), and
 * `onDecision` told. A decision that is not `allow` carries no value (`result`/`output` null).
 */
export function finishStage(st: EnforcerState, s: StageSubject, decided: StageDecided): StageDecision | Promise<StageDecision> {
  const decision = addLabels(st, decided.decision);
  const written = st.audit === null ? null : write(st, stageRecord(s, { ...decided, decision }));
  return written instanceof Promise ? written.then((failure) => recorded(st, decision, failure, decided.started)) : recorded(st, decision, written, decided.started);
}

function recorded(st: EnforcerState, decision: StageDecision, failure: Error | null, started: number): StageDecision {
  let final = decision;
  if (failure !== null && (st.options.onAuditFailure ?? "deny") === "deny" && decision.decision !== "deny") {
    final = { ...decision, decision: "deny", errors: [...decision.errors, { rule: null, message: `the audit log failed, so the ${decision.stage} is withheld: ${failure.message}` }] };
  }
  // a withheld value goes no further, not even inside the decision that withholds it
  if (final.decision !== "allow") final = { ...final, [final.stage]: null };
  const observer = st.telemetry.last?.observer;
  if (observer != null) observeDecision(st, observer, final, final.stage, started);
  try {
    st.options.onDecision?.(final);
  } catch (e) {
    st.report(e);
  }
  return final;
}

/** The `result` or `output` record (records.ts), with the paths a redaction changed. */
function stageRecord(s: StageSubject, decided: StageDecided): StageRecord {
  const d = decided.decision;
  const value = s.stage === "result" ? d.result : d.output;
  const redacted = s.value.problem === null && d.rules.some((r) => r.effect === "redact") ? changedPaths(s.stage, s.value.copy, value) : [];
  return new StageRecord(d, redacted, s.userJson, decided.approval);
}
