/**
 * Approvals: the approver is asked (shown a copy of the action that was hashed), and after an
 * approval the same snapshot is decided again. The approval holds only for the same action hash,
 * the same approver group and the same quorum; a decision that now needs another group or another
 * quorum asks again.
 */
import { grantValue, offerDigest } from "../grants.js";
import { secondsSince } from "../telemetry/probe.js";
import { setLongTimeout } from "../timers.js";
import type { ApprovalHandler, ApprovalRequest, ApprovalResponse, ApprovalVote, Decision, FiredRule, GrantOffer } from "../types.js";
import type { ApprovalOutcome } from "./api.js";
import { write } from "./audit-step.js";
import { type Decided, decideWith } from "./decide-step.js";
import { isoTime } from "./ids.js";
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
  grantUse?: { readonly grantId: string; readonly decisionId: string } | null;
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
    if (await useGrant(st, r)) return;
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

/** The value a grant of `offer` is scoped to for this action: the session id or the field's value; null when it has none a grant can hold. */
function scopeValue(offer: GrantOffer, subject: Subject): string | number | boolean | null {
  return grantValue(offer.scope === "session" ? subject.session : readPath(subject.action, offer.scope));
}

/** `action.a.b` of the action snapshot, own fields only. */
function readPath(action: unknown, path: string): unknown {
  let v = action;
  for (const k of path.split(".").slice(1)) v = v !== null && typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v, k) ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** The grant a decision may use: the one approval rule that fired offers it. */
function offerOf(d: Decision): GrantOffer | null {
  const offer = d.approval?.grant;
  return offer !== undefined && d.rules.filter((x) => x.effect === "require_approval").length === 1 ? offer : null;
}

/** The digest of what the decision's rule offers now: its grant clause, group and quorum. */
function digestOf(d: Decision, offer: GrantOffer): string {
  return offerDigest(offer, d.approval?.from ?? null, d.approval?.quorum ?? 1);
}

/**
 * Decides again with the live grants of the action's scope; when the policy allows it by one of
 * them, takes the action's amount of it (exactly) and records the use. True when the action is
 * then allowed by the grant; grants found expired (`grant_expired`) or made under an offer the rule
 * no longer makes (`grant_revoked`) are recorded and dropped.
 */
async function useGrant(st: EnforcerState, r: Approving): Promise<boolean> {
  const d = r.decided.decision;
  const offer = offerOf(d);
  const value = offer === null ? null : scopeValue(offer, r.subject);
  if (offer === null || value === null) return false;
  const now = st.clock();
  // a grant made under another offer (the policy was reloaded since) covers nothing: it is dropped
  const found = await grantStoreCall(st, () => st.grants.find(offer.rule, offer.scope, value, now, digestOf(d, offer)));
  if (found === null) return false;
  const { live, expired, stale } = found;
  for (const g of expired) await recordApproval(st, d, { event: "grant_expired", grantId: g.id, rule: g.rule, expiresAt: isoTime(g.expiresAt) });
  for (const g of stale) await recordApproval(st, d, { event: "grant_revoked", grantId: g.id, rule: g.rule, why: "the rule's grant, group or quorum changed" });
  if (live.length === 0) return false;
  const subject = afresh(r.subject);
  const again = decideWith(st, st.active, subject, now, d.id, live);
  const use = again.decision.grant;
  if (again.decision.decision !== "allow" || use === undefined || again.decision.actionHash !== d.actionHash) return false;
  const amount = offer.of === null ? null : (readPath(subject.action, offer.of) as number);
  const taken = await grantStoreCall(st, () => st.grants.use(use.id, d.id, amount, now));
  if (taken === null) return false;
  const failed = await recordApproval(st, d, {
    event: "grant_used",
    grantId: use.id,
    rule: use.rule,
    expiresAt: use.expiresAt,
    ...(taken.amount !== null ? { amount: taken.amount, remaining: taken.remaining, ...(taken.remaining === 0 ? { exhausted: true } : {}) } : {}),
  });
  if (failed !== null && (st.options.onAuditFailure ?? "deny") === "deny") {
    // a use that is not on record is not made: the approver is asked (and that fails closed too)
    await grantStoreCall(st, () => st.grants.giveBack(use.id, d.id));
    return false;
  }
  r.decided = again;
  r.subject = subject;
  r.now = now;
  r.grantUse = { grantId: use.id, decisionId: d.id };
  return true;
}

/**
 * "Approve and grant": the grant the rule offers, for the approved action's scope, on record and
 * then in the store. The record comes first: a grant whose record cannot be written is not made
 * (with `onAuditFailure: "deny"`, the default), so that no action runs under a grant the log lacks.
 */
async function createGrant(st: EnforcerState, decision: Decision, subject: Subject, now: number, approvers: readonly string[]): Promise<void> {
  const offer = offerOf(decision);
  const value = offer === null ? null : scopeValue(offer, subject);
  if (offer === null || value === null) return;
  const id = `grant-${decision.id}`;
  const failed = await recordApproval(st, decision, {
    event: "grant",
    grantId: id,
    rule: offer.rule,
    scope: offer.scope,
    value,
    expiresAt: isoTime(now + offer.durationMs),
    upTo: offer.upTo,
    approvers: [...approvers],
  });
  if (failed !== null && (st.options.onAuditFailure ?? "deny") === "deny") return;
  // a grant the store did not keep is on record as made: the record that follows says it is not
  if ((await grantStoreCall(st, () => st.grants.create(id, offer, value, now, digestOf(decision, offer)))) === null) {
    await recordApproval(st, decision, { event: "grant_revoked", grantId: id, rule: offer.rule, why: "the grant store did not keep it" });
  }
}

/**
 * A call of the grant store; null when it fails (a shared store that does not answer), which is
 * reported. Without a grant the approver is asked, so a store that fails never allows more.
 */
async function grantStoreCall<T>(st: EnforcerState, call: () => T | Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (e) {
    st.report(new Error(`grant store unavailable: ${e instanceof Error ? e.message : String(e)}`));
    return null;
  }
}

/** The action a grant allowed ran: what it took stays taken (a store that fails keeps it taken too). */
export async function settleGrant(st: EnforcerState, use: { readonly grantId: string; readonly decisionId: string }): Promise<void> {
  await grantStoreCall(st, () => st.grants.settle(use.grantId, use.decisionId));
}

/** What a grant use took goes back when its action did not run (denied, or the tool failed). */
export async function giveBackGrant(st: EnforcerState, decision: Decision, use: { readonly grantId: string; readonly decisionId: string }, why: string): Promise<void> {
  if ((await grantStoreCall(st, () => st.grants.giveBack(use.grantId, use.decisionId))) === true) await recordApproval(st, decision, { event: "grant_returned", grantId: use.grantId, why });
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

/**
 * An `approval` audit record: the request (`requested`) and its answer (`approved`, `rejected`,
 * `timeout`, `error`), chained with the decision's other records under its id; the failure, or null.
 */
async function recordApproval(st: EnforcerState, decision: Decision, fields: Record<string, unknown>): Promise<Error | null> {
  if (st.audit === null) return null;
  const stage = (decision as { stage?: unknown }).stage;
  const hashes = stage === "result" || stage === "output" ? { stage, valueHash: (decision as { valueHash?: unknown }).valueHash } : { actionHash: decision.actionHash };
  return write(st, { kind: "approval", decisionId: decision.id, time: isoTime(st.clock()), session: decision.session, ...hashes, ...fields });
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
