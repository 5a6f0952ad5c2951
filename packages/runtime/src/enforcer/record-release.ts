/**
 * record() and release(): the history and the audit log of actions that run outside run(). A
 * record counts the action (or settles its reservation), with the labels a decision of it would
 * give; a release takes a reservation back.
 * Both write an outcome record and reject when the log fails.
 */
import { sha256 } from "../hash.js";
import type { SharedHistoryStore } from "../store.js";
import type { ActionContext } from "../types.js";
import type { RecordInfo, RecordResult } from "./api.js";
import { write } from "./audit-step.js";
import { decideWith } from "./decide-step.js";
import { errorText, HistoryStoreUnavailable, InvalidInputError, ReservationMismatch } from "./errors.js";
import { giveBackGrant, heldUse, refuseUnreserved, settleHeld } from "./grant-step.js";
import { count, type Pending } from "./history-step.js";
import type { EnforcerState } from "./state.js";
import { StoreView, unavailable } from "./store-step.js";
import { type Subject, sessionOf, snapshot } from "./subject.js";

export async function record(st: EnforcerState, action: unknown, ctx: ActionContext = {}, info: RecordInfo = {}): Promise<RecordResult> {
  const now = st.clock();
  const subject = snapshot(action, ctx);
  const session = subject.session;
  if (subject.problem !== null) {
    const problem = new InvalidInputError(subject.problem);
    await refused(st, subject, null, now, problem);
    throw problem;
  }
  const hash = sha256(subject.json ?? "null");
  const reservations = st.reservations;
  reservations.expire(now);
  const given = typeof info.decisionId === "string" ? info.decisionId : undefined;
  let settled: boolean;
  try {
    // another session's reservation, or this session's of another action, is not this record's to settle
    const pending = given === undefined ? undefined : reservations.get(given);
    if (pending !== undefined && (pending.session !== session || pending.actionHash !== hash)) throw mismatch(given!, pending.session !== session);
    settled = st.store !== null ? await settleShared(st, st.store, subject, hash, now, info) : await settleHere(st, subject, hash, now, info, pending);
    // the grant's amount the reservation held stays taken: a store that fails to say so fails the record
    if (settled) await settleHeld(st, given!);
  } catch (e) {
    // every record leaves one in the log: what was refused, and why
    await refused(st, subject, hash, now, e);
    throw e;
  }
  // under the decision's id only when it settled that decision's reservation, or the caller checked
  // it reports that approved decision (`approved`); anything else is an action of its own
  const id = given !== undefined && (settled || info.approved === true) ? given : st.decisionId(now);
  const failure = await write(st, {
    kind: "outcome",
    decisionId: id,
    time: new Date(now).toISOString(),
    mode: "record",
    session,
    user: subject.user ?? null,
    // as the policy redacts it: what a rule hides never reaches the log, whoever records the action
    ...loggedAction(st, subject, now),
    actionHash: hash,
    outcome: info.outcome ?? "ok",
    ...(info.error !== undefined ? { error: info.error } : {}),
    ...(settled ? { reservation: "settled" } : {}),
  });
  if (failure !== null) throw failure;
  return { decisionId: id, session, actionHash: hash, settled };
}

/**
 * The action of a `record`'s outcome record, as the policy has it written: the action itself when
 * no rule on calls redacts, else the redacted copy a decision of it makes. When that decision has
 * errors (a redaction that could not apply, a policy that failed), what the policy hides is not
 * known: the record then carries the action hash only.
 */
function loggedAction(st: EnforcerState, subject: Subject, now: number): { action?: unknown } {
  if (!st.active.redactsCalls) return { action: subject.action };
  const d = decideWith(st, st.active, subject, now).decision;
  return d.errors.length === 0 ? { action: d.action } : {};
}

const mismatch = (id: string, otherSession: boolean): ReservationMismatch =>
  new ReservationMismatch(
    otherSession
      ? `decision ${id} is another session's reservation: a reservation is recorded by the session that made it (the same \`session\` as its decide)`
      : `decision ${id} reserved another action: record the action exactly as it was decided (its \`actionHash\` must match)`,
  );

/**
 * The `record_refused` outcome record of a record that counted nothing (its input, its decision id
 * or its store refused it), under an id of its own: the log has one record for every record call,
 * and a late or mistaken one is on record with its reason. A log that fails here is reported; the
 * refusal stands.
 */
async function refused(st: EnforcerState, subject: Subject, hash: string | null, now: number, e: unknown): Promise<void> {
  const failure = await write(st, {
    kind: "outcome",
    decisionId: st.decisionId(now),
    time: new Date(now).toISOString(),
    mode: "record",
    session: subject.session,
    // a user that is not JSON is left out rather than written as something it was not
    ...(subject.userJson !== undefined ? { user: subject.user ?? null } : {}),
    ...(hash !== null ? { ...loggedAction(st, subject, now), actionHash: hash } : {}),
    outcome: "record_refused",
    error: `${e instanceof Error ? e.name : "Error"}: ${errorText(e)}`,
  });
  if (failure !== null) st.report(failure);
}

/** Settles the action's pending reservation, or counts the action; whether it settled one. */
async function settleHere(st: EnforcerState, subject: Subject, hash: string, now: number, info: RecordInfo, pending: Pending | undefined): Promise<boolean> {
  const settled = pending !== undefined && pending.session === subject.session && pending.actionHash === hash;
  if (settled) {
    st.reservations.delete(info.decisionId!);
    pending.reservation?.settle();
    return true;
  }
  if (info.approved !== true) await refuseUnreserved(st, subject, now);
  count(st, subject.session, subject.action, now, subject, labelsNow(st, subject, now));
  return false;
}

/**
 * With a shared store: the reservation is confirmed in the store, whichever process made it;
 * without one, the action is filed (one call) and confirmed. A store that does not answer
 * rejects the record: the action may not be counted.
 */
async function settleShared(st: EnforcerState, store: SharedHistoryStore, subject: Subject, hash: string, now: number, info: RecordInfo): Promise<boolean> {
  const id = info.decisionId;
  let settled: boolean;
  try {
    settled = id !== undefined && typeof id === "string" && (await store.confirm(id, subject.session, hash));
  } catch (e) {
    throw new HistoryStoreUnavailable(unavailable(store, e));
  }
  if (settled) {
    st.reservations.delete(id!);
    return true;
  }
  if (typeof id === "string") {
    // this session's reservation of another action is not settled by this one
    let kept: { readonly actionHash: string } | null;
    try {
      kept = await store.pending(id, subject.session);
    } catch (e) {
      throw new HistoryStoreUnavailable(unavailable(store, e));
    }
    if (kept !== null && kept.actionHash !== "" && kept.actionHash !== hash) throw mismatch(id, false);
  }
  const view = await StoreView.open(st, store, subject.session, now, subject.action, hash, subject);
  const problem = view.problem();
  if (problem !== null) throw new HistoryStoreUnavailable(problem);
  try {
    if (info.approved !== true) await refuseUnreserved(view.state, subject, now);
  } catch (e) {
    await view.finish(false);
    throw e;
  }
  count(view.state, subject.session, subject.action, now, subject, labelsNow(view.state, subject, now));
  await view.finish(true);
  return false;
}

/**
 * The labels a decision of the action would give it now, for its history entry (a host that
 * asked `decide` without `reserve` and then records the action gets the same entry as run()).
 * Only policies with label rules on calls decide for this.
 */
function labelsNow(st: EnforcerState, subject: Subject, now: number): readonly string[] | undefined {
  const policy = st.active;
  if (!policy.labelsCalls) return undefined;
  const labels = decideWith(st, policy, subject, now).decision.labels;
  const problem = st.trackers.addLabels(subject.session, labels);
  // the action ran: its entry keeps its labels even when the session cannot hold more
  if (problem !== null) st.report(new Error(`the labels of a recorded action cannot be added to its session: ${problem}`));
  return labels;
}

export async function release(st: EnforcerState, id: string, ctx: ActionContext = {}): Promise<boolean> {
  let session: string;
  try {
    session = sessionOf(ctx ?? {});
  } catch {
    // a context whose session cannot be read (a getter that throws, a revoked Proxy) names no session
    return false;
  }
  if (st.store !== null) return releaseShared(st, st.store, id, session);
  const now = st.clock();
  const reservations = st.reservations;
  reservations.expire(now);
  const pending = typeof id === "string" ? reservations.get(id) : undefined;
  // only the session that reserved may take it back: ids are unique, not secret
  if (pending === undefined || pending.session !== session) return false;
  // taken out first, so that a second release of the same id finds nothing
  reservations.delete(id);
  const failure = await write(st, releaseRecord(id, pending.session, pending.actionHash, now));
  if (failure !== null) {
    // not audited, so not taken back: the action stays counted and the reservation pending
    if (pending.expires > st.clock()) reservations.restore(id, pending);
    throw failure;
  }
  pending.reservation?.cancel();
  await giveBackHeld(st, id, pending.session, pending.actionHash);
  return true;
}

/** A released reservation gives back the grant's amount it held. */
async function giveBackHeld(st: EnforcerState, id: string, session: string, actionHash: string): Promise<void> {
  const use = await heldUse(st, id);
  if (use !== null) await giveBackGrant(st, { id, session, actionHash }, use, "its reservation was released");
}

function releaseRecord(id: string, session: string, actionHash: string, now: number) {
  return { kind: "outcome", decisionId: id, time: new Date(now).toISOString(), mode: "release", session, actionHash, outcome: "released" } as const;
}

/**
 * With a shared store, whichever process made the reservation: it is looked up, taken back, and
 * the release is audited once the store says this call took it back (two releases at once, at two
 * processes, write one `released` record, by the one that released it). A log that fails then
 * rejects the release, which stands.
 */
async function releaseShared(st: EnforcerState, store: SharedHistoryStore, id: string, session: string): Promise<boolean> {
  const now = st.clock();
  if (typeof id !== "string" || id.length === 0) return false;
  let pending: { readonly actionHash: string } | null;
  try {
    pending = await store.pending(id, session);
  } catch (e) {
    throw new HistoryStoreUnavailable(unavailable(store, e));
  }
  if (pending === null) return false;
  let released: boolean;
  try {
    released = await store.release(id, session);
  } catch (e) {
    throw new HistoryStoreUnavailable(unavailable(store, e));
  }
  if (!released) return false;
  st.reservations.delete(id);
  const failure = await write(st, releaseRecord(id, session, pending.actionHash, now));
  await giveBackHeld(st, id, session, pending.actionHash);
  if (failure !== null) throw failure;
  return true;
}
