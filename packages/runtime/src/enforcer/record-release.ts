/**
 * record() and release(): the history and the audit log of actions that run outside run(). A
 * record counts the action (or settles its reservation), with the labels a decision of it would
 * give; a release takes a reservation back.
 * Both write an outcome record and reject when the log fails.
 */
import { sha256 } from "../hash.js";
import type { ActionContext } from "../types.js";
import type { RecordInfo, RecordResult } from "./api.js";
import { write } from "./audit-step.js";
import { decideWith } from "./decide-step.js";
import { InvalidInputError } from "./errors.js";
import { count } from "./history-step.js";
import type { EnforcerState } from "./state.js";
import { type Subject, sessionOf, snapshot } from "./subject.js";

export async function record(st: EnforcerState, action: unknown, ctx: ActionContext = {}, info: RecordInfo = {}): Promise<RecordResult> {
  const now = st.clock();
  const subject = snapshot(action, ctx);
  const session = subject.session;
  if (subject.problem !== null) throw new InvalidInputError(subject.problem);
  const hash = sha256(subject.json ?? "null");
  const reservations = st.reservations;
  reservations.expire(now);
  const pending = info.decisionId === undefined ? undefined : reservations.get(info.decisionId);
  const settled = pending !== undefined && pending.session === session && pending.actionHash === hash;
  if (settled) {
    reservations.delete(info.decisionId!);
    pending.reservation?.settle();
  } else count(st, session, subject.action, now, labelsNow(st, subject, now));
  // another session's pending reservation is not this record's decision: it gets an id of its own
  const id = pending !== undefined && !settled ? st.decisionId(now) : (info.decisionId ?? st.decisionId(now));
  const failure = await write(st, {
    kind: "outcome",
    decisionId: id,
    time: new Date(now).toISOString(),
    mode: "record",
    session,
    user: subject.user ?? null,
    action: subject.action,
    actionHash: hash,
    outcome: info.outcome ?? "ok",
    ...(info.error !== undefined ? { error: info.error } : {}),
    ...(settled ? { reservation: "settled" } : {}),
  });
  if (failure !== null) throw failure;
  return { decisionId: id, session, actionHash: hash, settled };
}

/**
 * The labels a decision of the action would give it now, for its history entry (a host that
 * asked `decide` without `reserve` and then records the action gets the same entry as run()).
 * Only policies with label rules on calls decide for this.
 */
function labelsNow(st: EnforcerState, subject: Subject, now: number): readonly string[] | undefined {
  const policy = st.active;
  if (!policy.module.policy.rules.some((r) => r.effect === "label" && (r.stage ?? "call") === "call")) return undefined;
  const labels = decideWith(st, policy, subject, now).decision.labels;
  const problem = st.trackers.addLabels(subject.session, labels);
  // the action ran: its entry keeps its labels even when the session cannot hold more
  if (problem !== null) st.report(new Error(`the labels of a recorded action cannot be added to its session: ${problem}`));
  return labels;
}

export async function release(st: EnforcerState, id: string, ctx: ActionContext = {}): Promise<boolean> {
  const now = st.clock();
  const reservations = st.reservations;
  reservations.expire(now);
  const pending = typeof id === "string" ? reservations.get(id) : undefined;
  let session: string;
  try {
    session = sessionOf(ctx ?? {});
  } catch {
    // a context whose session cannot be read names no session
    return false;
  }
  // only the session that reserved may take it back: ids are unique, not secret
  if (pending === undefined || pending.session !== session) return false;
  // taken out first, so that a second release of the same id finds nothing
  reservations.delete(id);
  const failure = await write(st, {
    kind: "outcome",
    decisionId: id,
    time: new Date(now).toISOString(),
    mode: "release",
    session: pending.session,
    actionHash: pending.actionHash,
    outcome: "released",
  });
  if (failure !== null) {
    // not audited, so not taken back: the action stays counted and the reservation pending
    if (pending.expires > st.clock()) reservations.restore(id, pending);
    throw failure;
  }
  pending.reservation?.cancel();
  return true;
}
