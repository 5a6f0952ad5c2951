/**
 * Approvals: the approver is asked (shown a copy of the action that was hashed), and after an
 * approval the same snapshot is decided again. The approval holds only for the same action hash,
 * the same approver group and the same quorum; a decision that now needs another group or another
 * quorum asks again.
 */
import { secondsSince } from "../telemetry/probe.js";
import { setLongTimeout } from "../timers.js";
import type { ApprovalHandler, ApprovalRequest, ApprovalResponse, ApprovalVote, Decision, FiredRule } from "../types.js";
import type { ApprovalOutcome } from "./api.js";
import { recordApproval } from "./audit-step.js";
import { type Decided, decideWith } from "./decide-step.js";
import { createGrant, type GrantUseRef, useGrant } from "./grant-step.js";
import type { EnforcerState } from "./state.js";
import { afresh, fresh, type Subject } from "./subject.js";

const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;

/** The part of a run that approvals change: the decision in force, its subject and time, and the last approval asked. */
export interface Approving {
  decided: Decided;
  subject: Subject;
  now: number;
  approval: ApprovalOutcome | null;
  /** A grant that stood in for the approval: what the action took of it, given back if it does not run. */
  grantUse?: GrantUseRef | null;
}

/**
 * Asks for approval while the decision requires one, deciding again after each approval; leaves
 * `r` with a decision that is `allow` (approved, and still the same action asking the same
 * group) or `deny` (rejected, timed out, failed, or changing on every round).
 */
export async function approve(st: EnforcerState, r: Approving): Promise<void> {
  // an approval covers one exact action: after it, the action is decided again, and it runs
  // only if it still needs no more than the approval that was given for that same action
  for (let round = 0; r.decided.decision.decision === "require_approval"; round++) {
    const decision = r.decided.decision;
    if (round === 3) {
      r.decided = { ...r.decided, decision: { ...decision, decision: "deny", errors: [...decision.errors, { rule: null, message: "the action kept changing while it was being approved" }] } };
      return;
    }
    // a live grant of the rule stands in for asking
    const covered = await useGrant(st, r.decided, r.subject, { take: true });
    if (covered !== null) {
      r.decided = covered.decided;
      r.subject = covered.subject;
      r.now = covered.now;
      r.grantUse = covered.use;
      return;
    }
    r.approval = await askApproval(st, r.decided, r.subject);
    if (r.approval.outcome !== "approved") {
      r.decided = { ...r.decided, decision: denyAfterApproval(decision, r.approval) };
      return;
    }
    r.now = st.clock();
    // the same snapshot, afresh: nothing anyone did to the decision's action meanwhile counts
    r.subject = afresh(r.subject);
    const again = decideWith(st, st.active, r.subject, r.now, decision.id);
    // the approval given holds only for the same action, approver group and quorum: if the
    // policy now asks someone else (the time, the history or the policy changed), they are asked
    if (again.decision.decision === "deny" || again.decision.actionHash !== decision.actionHash || !sameApprover(again.decision, decision)) {
      r.decided = again;
      continue;
    }
    r.decided = { ...again, decision: { ...again.decision, decision: "allow" } };
    if (r.approval.grant) await createGrant(st, decision, r.subject, r.now, r.approval.approvers);
  }
}

function askApproval(st: EnforcerState, decided: Decided, subject: Subject): Promise<ApprovalOutcome> {
  const approvalRules = decided.decision.rules.filter((r) => r.effect === "require_approval");
  return ask(st, decided.decision, (timeoutMs, signal) => approvalRequest(decided, approvalRules, subject, timeoutMs, signal));
}

/**
 * Asks the approval handler about a decision that requires approval, with the request `build`
 * makes (given the timeout the runtime enforces and the signal it aborts); the outcome, never a
 * throw.
 */
export async function ask(st: EnforcerState, decision: Decision, build: (timeoutMs: number, signal: AbortSignal) => ApprovalRequest): Promise<ApprovalOutcome> {
  const from = decision.approval?.from ?? null;
  const timeoutMs = decision.approval?.timeoutMs ?? st.options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  const base = { required: true, from, timeoutMs, approver: null, note: null, approvers: [], groups: null, grant: false };
  const handler = st.options.approvals;
  if (handler === undefined) return { ...base, outcome: "unavailable" };
  // the request is in the audit log before anyone is asked: a process that dies while it waits
  // leaves the request on record; one that cannot be recorded is not asked (fail closed)
  const failClosed = (st.options.onAuditFailure ?? "deny") === "deny";
  const quorum = decision.approval?.quorum ?? 1;
  const requested = await recordApproval(st, decision, { event: "requested", from, timeoutMs, ...(quorum !== 1 ? { quorum } : {}) });
  if (requested !== null && failClosed) return { ...base, outcome: "error", note: `the approval request could not be recorded: ${requested.message}` };
  // each vote is on record, in the order the handler took them, before the answer
  const votes = new VoteRecords(st, decision, from);
  const observer = st.telemetry.last?.observer;
  const asked = observer != null ? performance.now() : 0;
  observer?.approvalAsked();
  const answer = await waitForAnswer(st, handler, base, timeoutMs, (t, signal) => ({ ...build(t, signal), onVote: (v) => votes.add(v) }));
  const outcome = checkQuorum(answer, quorum, from);
  observer?.approvalAnswered(outcome.outcome, secondsSince(asked));
  for (const approver of outcome.approvers) votes.add({ approver, approved: true, grant: outcome.grant });
  const lost = await votes.done();
  const answered = await recordApproval(st, decision, {
    event: outcome.outcome,
    from,
    approver: outcome.approver,
    note: outcome.note,
    ...(quorum !== 1 || outcome.approvers.length > 1 ? { approvers: outcome.approvers } : {}),
  });
  const failed = answered ?? lost;
  if (failed !== null && failClosed && outcome.outcome === "approved") return { ...outcome, outcome: "error", note: `the approval could not be recorded: ${failed.message}` };
  return outcome;
}

/** The `vote` records of one request: each approver's approval once, and every rejection, written in order. */
class VoteRecords {
  private readonly seen = new Set<string>();
  private chain: Promise<Error | null> = Promise.resolve(null);

  constructor(
    private readonly st: EnforcerState,
    private readonly decision: Decision,
    private readonly from: string | null,
  ) {}

  add(v: ApprovalVote): void {
    if (v.approved && v.approver !== null) {
      if (this.seen.has(v.approver)) return;
      this.seen.add(v.approver);
    }
    const fields = { event: "vote", from: this.from, approver: v.approver, approved: v.approved, ...(v.grant ? { grant: true } : {}), ...(v.note !== undefined ? { note: v.note } : {}) };
    this.chain = this.chain.then(async (earlier) => (await recordApproval(this.st, this.decision, fields)) ?? earlier);
  }

  /** Waits for the records; the first failure, or null. */
  done(): Promise<Error | null> {
    return this.chain;
  }
}

/**
 * An approval holds only with `quorum` distinct approvers, each (where the handler reports their
 * groups) in the rule's group; otherwise it is an error that says why, whatever the handler said.
 */
function checkQuorum(o: ApprovalOutcome, quorum: number, from: string | null): ApprovalOutcome {
  if (o.outcome !== "approved") return o;
  const have = o.approvers.length;
  // an approval without a name holds only where one approver is enough
  if (have < quorum && quorum > 1) {
    const who = have === 0 ? "no named approver" : `${have} distinct approver${have === 1 ? "" : "s"} (${o.approvers.join(", ")})`;
    return { ...o, outcome: "error", grant: false, note: `approved by ${who}, and the rule needs ${quorum}` };
  }
  if (from !== null && o.groups !== null) {
    const outside = o.approvers.filter((a) => !(Object.hasOwn(o.groups!, a) && Array.isArray(o.groups![a]) && o.groups![a]!.includes(from)));
    if (outside.length > 0) return { ...o, outcome: "error", grant: false, note: `${outside.join(", ")} ${outside.length === 1 ? "is" : "are"} not in the group \`${from}\` the rule asks` };
  }
  return o;
}

async function waitForAnswer(
  st: EnforcerState,
  handler: ApprovalHandler,
  base: Omit<ApprovalOutcome, "outcome">,
  timeoutMs: number,
  build: (timeoutMs: number, signal: AbortSignal) => ApprovalRequest,
): Promise<ApprovalOutcome> {
  const controller = new AbortController();
  let cancelTimer: () => void = () => {};
  const timeout = new Promise<"timeout">((resolve) => {
    cancelTimer = setLongTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const response = await Promise.race([handler.request(build(timeoutMs, controller.signal)), timeout]);
    if (response === "timeout") {
      controller.abort(new Error("approval timed out"));
      return { ...base, outcome: "timeout" };
    }
    const r = response as ApprovalResponse;
    const approved = r.approved === true && r.expired !== true;
    return {
      ...base,
      // an answer the handler says came after the policy's timeout is a timeout
      outcome: r.expired === true ? "timeout" : approved ? "approved" : "rejected",
      approver: typeof r.approver === "string" ? r.approver : null,
      note: typeof r.note === "string" ? r.note : null,
      approvers: approved ? distinctApprovers(r) : [],
      groups: approved && r.groups !== null && typeof r.groups === "object" ? r.groups : null,
      grant: approved && r.grant === true,
    };
  } catch (e) {
    st.report(e);
    controller.abort(e);
    return { ...base, outcome: "error", note: (e as Error).message ?? String(e) };
  } finally {
    cancelTimer();
  }
}

/** The distinct approvers an answer names: `approvers`, and `approver` when it is not among them. */
function distinctApprovers(r: ApprovalResponse): string[] {
  const names = new Set<string>();
  if (Array.isArray(r.approvers)) for (const a of r.approvers) if (typeof a === "string") names.add(a);
  if (typeof r.approver === "string") names.add(r.approver);
  return [...names];
}

/** What the approver is shown: copies, so that what it sees (or edits) cannot change what runs. */
function approvalRequest(decided: Decided, approvalRules: FiredRule[], subject: Subject, timeoutMs: number, signal: AbortSignal): ApprovalRequest {
  const decision = decided.decision;
  return {
    id: decision.id,
    // a copy of the text that was hashed: what the approver sees cannot change what runs
    action: decided.actionJson === undefined ? decision.action : JSON.parse(decided.actionJson),
    actionHash: decision.actionHash,
    rules: approvalRules,
    reason: approvalRules.find((r) => r.reason !== null)?.reason ?? null,
    from: decision.approval?.from ?? null,
    timeoutMs,
    quorum: decision.approval?.quorum ?? 1,
    grant: decision.approval?.grant ?? null,
    session: decision.session,
    // a copy too: an approver that edits the user changes nothing the policy reads later
    user: (subject.user === undefined ? undefined : fresh(subject.userJson)) as ApprovalRequest["user"],
    policy: decision.policy,
    signal,
  };
}

/** Whether a decision asks for no approval, or for the one another asked for: the same group and the same quorum. */
export function sameApprover(now: Decision, approved: Decision): boolean {
  return now.decision !== "require_approval" || ((now.approval?.from ?? null) === (approved.approval?.from ?? null) && (now.approval?.quorum ?? 1) === (approved.approval?.quorum ?? 1));
}

export function denyAfterApproval<D extends Decision>(d: D, outcome: ApprovalOutcome): D {
  const why =
    outcome.outcome === "unavailable"
      ? "approval required, but no approval handler is configured"
      : outcome.outcome === "timeout"
        ? `approval timed out after ${outcome.timeoutMs} ms${outcome.note ? ` (${outcome.note})` : ""}`
        : outcome.outcome === "error"
          ? `the approval handler failed: ${outcome.note ?? "unknown error"}`
          : `approval rejected${outcome.approver ? ` by ${outcome.approver}` : ""}${outcome.note ? `: ${outcome.note}` : ""}`;
  return { ...d, decision: "deny", errors: [...d.errors, { rule: null, message: why }] };
}
