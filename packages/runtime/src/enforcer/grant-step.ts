/**
 * Grants in decisions (`require approval ... grant`): a live grant of the rule that fired, for the
 * action's scope, stands in for asking. `run` takes the action's amount of it and keeps it when
 * the action runs; `decide` with `reserve` takes it and holds it for the reservation (`record`
 * with the decision's id keeps it, `release` gives it back, and a hold that outlives its reservation
 * keeps it taken, `grant_hold_expired`: the action may have run); `decide` without `reserve` only
 * says which grant covers the action. Every use is an `approval` record naming the grant.
 */
import { REDACTED } from "@agent-armor/contract";
import { grantValue, type IssuedApproval, offerDigest } from "../grants.js";
import type { Decision, GrantInput, GrantOffer } from "../types.js";
import { type ApprovalSubject, recordApproval } from "./audit-step.js";
import { type Decided, decideWith } from "./decide-step.js";
import { GrantNeedsReservation, HistoryStoreUnavailable } from "./errors.js";
import { isoTime } from "./ids.js";
import type { EnforcerState } from "./state.js";
import { afresh, type Subject } from "./subject.js";

/** A use of a grant by a decision: what to keep or give back. */
export interface GrantUseRef {
  readonly grantId: string;
  readonly decisionId: string;
}

/** The decision a grant covered: decided again with the grants in `live`, and the use it made (null when nothing was taken). */
export interface Covered {
  readonly decided: Decided;
  readonly subject: Subject;
  readonly now: number;
  readonly live: readonly GrantInput[];
  readonly use: GrantUseRef | null;
  /**
   * `decide` without `reserve` of an action whose amount the covering grant governs (`up to`):
   * the grant would cover it only with a reservation taking its amount, so nothing is named or
   * taken, and `decide` denies saying so.
   */
  readonly reservationRequired?: { readonly grantId: string; readonly rule: string };
}

/** How a grant is used: taken (`run`, and `decide` with `reserve`: held until `holdUntil`), or only named (`decide`). */
export type GrantMode = { readonly take: true; readonly holdUntil?: number } | { readonly take: false };

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
export function offerOf(d: Decision): GrantOffer | null {
  const offer = d.approval?.grant;
  return offer !== undefined && d.rules.filter((x) => x.effect === "require_approval").length === 1 ? offer : null;
}

/** The digest of what the decision's rule offers now: its grant clause, group and quorum. */
function digestOf(d: Decision, offer: GrantOffer): string {
  return offerDigest(offer, d.approval?.from ?? null, d.approval?.quorum ?? 1);
}

/**
 * The live grants of the decision's rule for the action's scope, made under the rule's current
 * offer; grants found expired (`grant_expired`), made under an offer the rule no longer makes
 * (`grant_revoked`), and reservations' holds past their time (`grant_hold_expired`: the amount stays
 * taken, recorded under the reserving session) are recorded.
 * Null when the rule offers none, the action has no scope value, or the store failed.
 */
async function liveGrants(st: EnforcerState, d: Decision, subject: Subject, now: number): Promise<{ offer: GrantOffer; live: GrantInput[] } | null> {
  const offer = offerOf(d);
  const value = offer === null ? null : scopeValue(offer, subject);
  if (offer === null || value === null) return null;
  // a grant made under another offer (the policy was reloaded since) covers nothing: it is dropped
  const found = await grantStoreCall(st, () => st.grants.find(offer.rule, offer.scope, value, now, digestOf(d, offer)));
  if (found === null) return null;
  for (const g of found.expired) await recordApproval(st, d, { event: "grant_expired", grantId: g.id, rule: g.rule, expiresAt: isoTime(g.expiresAt) });
  for (const g of found.stale) await recordApproval(st, d, { event: "grant_revoked", grantId: g.id, rule: g.rule, why: "the rule's grant, group or quorum changed" });
  for (const l of found.lapsed ?? []) {
    await recordApproval(
      st,
      { id: l.decisionId, session: l.session ?? d.session, actionHash: l.actionHash ?? "" },
      { event: "grant_hold_expired", grantId: l.grantId, why: "its reservation was neither recorded nor released in time: the amount stays taken" },
    );
  }
  return { offer, live: found.live };
}

/**
 * Decides again with the live grants of the action's scope; when the policy allows it by one of
 * them, takes the action's amount of it (exactly, with `mode.take`) and records the use
 * (`grant_used`, or `grant_covers` when nothing is taken). The covered decision, or null when no
 * grant covers the action (or its use could not be recorded: the approver is asked then).
 */
export async function useGrant(st: EnforcerState, decided: Decided, subject: Subject, mode: GrantMode): Promise<Covered | null> {
  const d = decided.decision;
  const now = st.clock();
  const grants = await liveGrants(st, d, subject, now);
  if (grants === null || grants.live.length === 0) return null;
  const { offer, live } = grants;
  const fresh = afresh(subject);
  const again = decideWith(st, st.active, fresh, now, d.id, live);
  const g = again.decision.grant;
  if (again.decision.decision !== "allow" || g === undefined || again.decision.actionHash !== d.actionHash) return null;
  const grant = { grantId: g.id, rule: g.rule, expiresAt: g.expiresAt };
  const failClosed = (st.options.onAuditFailure ?? "deny") === "deny";
  if (!mode.take && offer.upTo !== null) return { decided: again, subject: fresh, now, live, use: null, reservationRequired: { grantId: g.id, rule: g.rule } };
  if (!mode.take) {
    const remaining = live.find((x) => x.id === g.id)?.remaining;
    const failed = await recordApproval(st, d, { event: "grant_covers", ...grant, ...(typeof remaining === "number" ? { remaining } : {}) });
    return failed !== null && failClosed ? null : { decided: again, subject: fresh, now, live, use: null };
  }
  const amount = offer.of === null ? null : (readPath(fresh.action, offer.of) as number);
  const holder = mode.holdUntil !== undefined ? { session: d.session, actionHash: d.actionHash } : undefined;
  const taken = await grantStoreCall(st, () => st.grants.use(g.id, d.id, amount, now, mode.holdUntil, holder));
  if (taken === null) return null;
  const failed = await recordApproval(st, d, {
    event: "grant_used",
    ...grant,
    ...(taken.amount !== null ? { amount: taken.amount, remaining: taken.remaining, ...(taken.remaining === 0 ? { exhausted: true } : {}) } : {}),
    ...(mode.holdUntil !== undefined ? { reserved: true } : {}),
  });
  if (failed !== null && failClosed) {
    // a use that is not on record is not made: the approver is asked (and that fails closed too)
    await grantStoreCall(st, () => st.grants.giveBack(g.id, d.id));
    return null;
  }
  return { decided: again, subject: fresh, now, live, use: { grantId: g.id, decisionId: d.id } };
}

/** How long past its approval's timeout an issued decision may still be granted (the approval may be opened up to a timeout after it was decided). */
const ISSUED_MARGIN_MS = 60_000;
const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;

/**
 * What a grant of the decision's rule would be made of for this action: its offer, the scope's
 * value before redaction (as scoped history reads it), and whether a redaction rewrote that field
 * in the decided action (then the value is never shown). Null when the rule offers no grant or
 * the action has no scope value a grant can hold.
 */
function issuedOf(decision: Decision, subject: Subject): IssuedApproval | null {
  const offer = offerOf(decision);
  const value = offer === null ? null : scopeValue(offer, subject);
  if (offer === null || value === null) return null;
  const shown = offer.scope === "session" ? value : readPath(decision.action, offer.scope);
  return { session: decision.session, offer, digest: digestOf(decision, offer), value, redacted: shown !== value };
}

/**
 * Keeps on record a `require_approval` decision of `decide` whose rule offers a grant, so that
 * `Enforcer.grant` makes grants only of decisions this enforcer (or, with a shared store, a
 * process sharing it) issued. A store that fails to keep it is reported: the decision stands, and
 * its approval then grants nothing.
 */
export async function issueApproval(st: EnforcerState, decision: Decision, subject: Subject, now: number): Promise<void> {
  if (decision.decision !== "require_approval") return;
  const issued = issuedOf(decision, subject);
  if (issued === null) return;
  const timeoutMs = decision.approval?.timeoutMs ?? st.options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  await grantStoreCall(st, () => st.issued.issue(decision.id, decision.actionHash, issued, now, 2 * timeoutMs + ISSUED_MARGIN_MS));
}

/**
 * "Approve and grant": the grant the rule offers, for the approved action's scope, on record and
 * then in the store. The record comes first: a grant whose record cannot be written is not made
 * (with `onAuditFailure: "deny"`, the default), so that no action runs under a grant the log lacks.
 * The grant's id, or null when none was made.
 */
export async function createGrant(st: EnforcerState, decision: Decision, subject: Subject, now: number, approvers: readonly string[]): Promise<string | null> {
  const issued = issuedOf(decision, subject);
  return issued === null ? null : makeGrant(st, decision, issued, now, approvers);
}

/** The grant of an issued decision (`decision` names it in the records: its id, session and action hash). */
async function makeGrant(st: EnforcerState, decision: ApprovalSubject, issued: IssuedApproval, now: number, approvers: readonly string[]): Promise<string | null> {
  const { offer, value } = issued;
  const id = `grant-${decision.id}`;
  // a grant is made once per decision: granting it again (a replay) makes nothing
  if (await grantKept(st, id)) return null;
  const failed = await recordApproval(st, decision, {
    event: "grant",
    grantId: id,
    rule: offer.rule,
    scope: offer.scope,
    // the value of a field a rule redacts is never written: the grant holds it, the log does not
    value: issued.redacted ? REDACTED : value,
    ...(issued.redacted ? { redacted: true } : {}),
    expiresAt: isoTime(now + offer.durationMs),
    upTo: offer.upTo,
    approvers: [...approvers],
  });
  if (failed !== null && (st.options.onAuditFailure ?? "deny") === "deny") return null;
  // a grant the store did not keep is on record as made: the record that follows says it is not
  const made = await grantStoreCall(st, () => st.grants.create(id, offer, value, now, issued.digest));
  if (made === null) {
    // null from the store itself: one of this id was made meanwhile, and it stands as it is
    if (await grantKept(st, id)) await recordApproval(st, decision, { event: "grant_not_made", grantId: id, rule: offer.rule, why: "a grant of this decision was made already: it stands as it was" });
    else await recordApproval(st, decision, { event: "grant_revoked", grantId: id, rule: offer.rule, why: "the grant store did not keep it" });
    return null;
  }
  return id;
}

/** Whether the store keeps a grant of this id (a failing store answers no: `create` decides then). */
async function grantKept(st: EnforcerState, id: string): Promise<boolean> {
  const has = st.grants.has;
  if (has === undefined) return false;
  return (await grantStoreCall(st, () => has.call(st.grants, id))) === true;
}

/**
 * `Enforcer.grant`: the grant a `require_approval` decision's rule offers, made for an approval
 * given outside `run` (the decision service's approvers). Only a decision this enforcer issued
 * (or, with a shared store, a process sharing it), found by its id and action hash, is granted,
 * and the grant is made from what was issued (the session, the rule's offer, the scope's value
 * before redaction), never from the object handed in. The issued decision is taken as the grant
 * is made, so it makes one grant at most. The grant's id, or null when the decision was not issued
 * (or lapsed, or was granted already), its rule offers none, or the grant was not made.
 */
export async function grantApproved(st: EnforcerState, decision: Decision, approvers: readonly string[]): Promise<string | null> {
  if (decision === null || typeof decision !== "object") return null;
  const { id, actionHash } = decision;
  if (typeof id !== "string" || typeof actionHash !== "string") return null;
  const now = st.clock();
  // taken: one issued decision makes one grant, never a second once the first expired or elsewhere
  const issued = await grantStoreCall(st, () => st.issued.take(id, actionHash, now));
  if (issued === null) {
    st.report(
      new Error(`no grant made for decision ${id}: it is no require_approval decision this enforcer issued with that action hash, or it was granted already (or its time to be granted passed)`),
    );
    return null;
  }
  const names = Array.isArray(approvers) ? approvers.filter((a) => typeof a === "string") : [];
  return makeGrant(st, { id, session: issued.session, actionHash }, issued, now, names);
}

/**
 * `record` of an action that settles no reservation: refused (`GrantNeedsReservation`) when the
 * action would ask for approval from a rule whose grant has an amount (`up to`) and a live grant of
 * it holds for the action's scope. Such an action is recorded under the reservation that took its
 * amount, never beside it: a record past the amount left would admit more than the grant, and one
 * within it would use the amount without the compare-and-set a reservation makes.
 */
export async function refuseUnreserved(st: EnforcerState, subject: Subject, now: number): Promise<void> {
  const d = decideWith(st, st.active, subject, now).decision;
  if (d.decision !== "require_approval" || offerOf(d)?.upTo == null) return;
  const grants = await liveGrants(st, d, subject, now);
  const governing = grants?.live[0];
  if (governing === undefined) return;
  throw new GrantNeedsReservation(
    `grant ${governing.id} of rule \`${governing.rule}\` governs this action's amount: record it with the \`decisionId\` of a decision reserved for it (\`reserve: true\`), which took its amount`,
    governing.id,
  );
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
export async function settleGrant(st: EnforcerState, use: GrantUseRef): Promise<void> {
  await grantStoreCall(st, () => st.grants.settle(use.grantId, use.decisionId));
}

/**
 * `record` of a reservation: the grant's amount it holds, if any, stays taken. A store that does
 * not answer fails the record (`HistoryStoreUnavailable`, naming the store), so that it is never
 * answered settled while the hold is not; the hold then stays taken at its time all the same.
 */
export async function settleHeld(st: EnforcerState, decisionId: string): Promise<void> {
  const grants = st.grants;
  try {
    const grantId = grants.usedBy === undefined ? null : await grants.usedBy(decisionId);
    if (grantId !== null) await grants.settle(grantId, decisionId);
  } catch (e) {
    const store = st.store?.name ?? "grants";
    throw new HistoryStoreUnavailable(
      `history store unavailable: ${store}: the reservation ${decisionId} was confirmed but the grant it holds was not settled (it stays taken): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** What a grant use took goes back when its action did not run (denied, or the tool failed). */
export async function giveBackGrant(st: EnforcerState, decision: ApprovalSubject, use: GrantUseRef, why: string): Promise<void> {
  if ((await grantStoreCall(st, () => st.grants.giveBack(use.grantId, use.decisionId))) === true) await recordApproval(st, decision, { event: "grant_returned", grantId: use.grantId, why });
}

/** The use a reservation holds of a grant (`decide` with `reserve`), found by the decision's id in any process sharing the store; null when none. */
export async function heldUse(st: EnforcerState, decisionId: string): Promise<GrantUseRef | null> {
  const usedBy = st.grants.usedBy;
  if (usedBy === undefined) return null;
  const grantId = await grantStoreCall(st, () => usedBy.call(st.grants, decisionId));
  return grantId === null ? null : { grantId, decisionId };
}
