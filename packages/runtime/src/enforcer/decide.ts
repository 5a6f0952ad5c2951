/**
 * decide(): the steps of run() up to the decision record, without approvals or executing; with
 * `reserve`, an allowed action is counted at once and its reservation kept under the decision's id.
 */

import { traced } from "../telemetry/spans.js";
import type { ActionContext, Decision } from "../types.js";
import type { DecideOptions } from "./api.js";
import { recordDecision } from "./audit-step.js";
import { type Decided, decideWith, shadowDecide } from "./decide-step.js";
import { type GrantUseRef, giveBackGrant, issueApproval, useGrant } from "./grant-step.js";
import { addLabels, count } from "./history-step.js";
import type { EnforcerState } from "./state.js";
import { filedHash, StoreView } from "./store-step.js";
import { type Subject, snapshot } from "./subject.js";

export function decide(st: EnforcerState, action: unknown, ctx: ActionContext = {}, options: DecideOptions = {}): Promise<Decision> {
  const probe = st.telemetry.current();
  if (probe === null || probe.tracer === null) return decideAction(st, action, ctx, options);
  return traced(probe, "armor.decide", () => decideAction(st, action, ctx, options));
}

async function decideAction(st: EnforcerState, action: unknown, ctx: ActionContext, options: DecideOptions): Promise<Decision> {
  const now = st.clock();
  const subject = snapshot(action, ctx);
  if (st.store === null) return decideSubject(st, subject, now, options);
  // a shared store: one call reads the history and files the action, then the same steps run on its answer
  const view = await StoreView.open(st, st.store, subject.session, now, subject.action, filedHash(subject, options?.reserve === true), subject);
  try {
    const final = await decideSubject(view.state, subject, now, options);
    if (final.reserved === true) view.keep(final.actionHash, st.reservations.ttlMs);
    return final;
  } finally {
    await view.finish(false);
  }
}

async function decideSubject(st: EnforcerState, subject: Subject, now: number, options: DecideOptions): Promise<Decision> {
  const policy = st.active;
  let decided = decideWith(st, policy, subject, now);
  const shadowInfo = shadowDecide(st, decided.decision, subject, now);
  const reserving = options?.reserve === true;
  // a live grant of the rule stands in for the approval: named, and with `reserve` taken and held
  let use: GrantUseRef | null = null;
  if (decided.decision.decision === "require_approval") {
    const covered = await useGrant(st, decided, subject, reserving ? { take: true, holdUntil: now + st.reservations.ttlMs } : { take: false });
    if (covered?.reservationRequired !== undefined) decided = reservationRequired(decided, covered.reservationRequired);
    else if (covered !== null) {
      // decided again after the grant's awaits, so that what is counted below is what the history says now
      decided = decideWith(st, policy, covered.subject, now, decided.decision.id, covered.live);
      subject = covered.subject;
      use = covered.use;
    }
  }
  if (decided.decision.labels!.length > 0) decided = { ...decided, decision: addLabels(st, decided.decision) };
  const session = decided.decision.session;
  // room for the reservation, claimed before it is counted: a session past its share retires its own oldest, never another's
  const refused = reserving && decided.decision.decision === "allow" ? st.reservations.claim(session, now) : null;
  if (refused !== null)
    decided = { ...decided, decision: { ...decided.decision, decision: "deny", errors: [...decided.decision.errors, { rule: null, message: `no reservation can be kept: ${refused}` }] } };
  const reserve = reserving && decided.decision.decision === "allow";
  // counted before anything awaits, as run() does: concurrent decisions see it
  const reservation = reserve ? count(st, session, decided.decision.action, now, subject, decided.decision.labels, policy.decidesResults) : null;
  let final: Decision;
  try {
    final = await recordDecision(st, decided, subject, "decide", null, shadowInfo, reserve);
  } catch (e) {
    if (reserve) st.reservations.unclaim(session);
    throw e;
  }
  // an approval it asks for may be granted (`Enforcer.grant`) only as issued here
  await issueApproval(st, final, subject, now);
  if (!reserve || final.decision !== "allow") {
    if (reserve) st.reservations.unclaim(session);
    reservation?.cancel();
    // a grant's amount is held only for an allowed reservation
    if (use !== null) await giveBackGrant(st, final, use, "the decision was not allowed and reserved");
    return final;
  }
  // with a shared store the reservation stays pending there, for `record` or `release` in any process,
  // until the store's own expiry: this process forgetting it (past its cap) must not settle it there
  const kept = st.store !== null && reservation !== null ? { ...reservation, settle: () => {} } : reservation;
  st.reservations.keep(final.id, { session, actionHash: final.actionHash, reservation: kept, expires: now + st.reservations.ttlMs });
  return { ...final, reserved: true };
}

/**
 * `decide` without `reserve` of an action a grant's amount (`up to`) would cover: denied, naming
 * the grant and `reserve`. An allow here would let the action run with its amount taken nowhere
 * (`record` refuses it: `GrantNeedsReservation`); with `reserve` the amount is taken and held.
 */
function reservationRequired(decided: Decided, grant: { readonly grantId: string; readonly rule: string }): Decided {
  const d = decided.decision;
  const message = `grant ${grant.grantId} of rule \`${grant.rule}\` covers this action's amount only when it is taken: decide it with \`reserve: true\` (which takes the amount and holds it for the reservation), then record it with that decision's id`;
  return { ...decided, decision: { ...d, decision: "deny", errors: [...d.errors, { rule: grant.rule, message }] } };
}
