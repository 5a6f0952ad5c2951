/**
 * run(): the steps in the order the invariants depend on. Snapshot the action once → decide on
 * one copy (with the shadow candidate beside it) → approval if required, then decide again on
 * the same snapshot → record into the trackers (synchronously, before any await) → write the
 * decision record (a failure denies and takes the recording back) → execute with the other copy
 * (or a copy of the redacted action) → write the outcome record → decide the result, when the
 * policy has rules on results (result-step.ts).
 *
 * It returns one promise and, when nothing on the way is asynchronous (no approval, an audit
 * log that writes synchronously, a tool that returns a value), does all its work before
 * returning it. Every failure becomes a rejection, as from an async function.
 */

import type { SharedHistoryStore } from "../store.js";
import { RunTrace } from "../telemetry/spans.js";
import type { Action, ActionContext, Decision } from "../types.js";
import type { RunResult } from "./api.js";
import { type Approving, approve } from "./approval-step.js";
import { recordDecision } from "./audit-step.js";
import { decideWith, shadowDecide } from "./decide-step.js";
import { ActionDenied, ResultWithheld, ToolFailed } from "./errors.js";
import { type Execution, perform } from "./execute-step.js";
import { giveBackGrant, settleGrant } from "./grant-step.js";
import { addLabels, count } from "./history-step.js";
import type { EnforcerState } from "./state.js";
import { filedHash, StoreView } from "./store-step.js";
import { type Subject, snapshot } from "./subject.js";

/** One action on its way through run(). */
interface Run<T> extends Approving, Execution<T> {
  /** The shadow candidate's decision, for the decision record. */
  readonly shadowInfo: Record<string, unknown> | undefined;
  /** Its spans, when a tracer is registered (telemetry/spans.ts); null otherwise. */
  readonly trace: RunTrace | null;
}

export function run<T>(st: EnforcerState, action: unknown, ctx: ActionContext | undefined, execute: (action: Action) => T | Promise<T>): Promise<RunResult<T>> {
  const probe = st.telemetry.current();
  if (probe === null || probe.tracer === null) return runAction(st, action, ctx, execute, null);
  const trace = new RunTrace(probe, st.active.decidesResults);
  return runAction(st, action, ctx, trace.execute(execute), trace).then(
    (r) => {
      trace.finish(r.decision, r.resultDecision);
      return r;
    },
    (e: unknown) => {
      const decision = e instanceof ActionDenied || e instanceof ToolFailed ? e.decision : undefined;
      const resultDecision = e instanceof ToolFailed ? e.resultDecision : e instanceof ResultWithheld ? e.decision : undefined;
      trace.finish(decision, resultDecision, e);
      throw e;
    },
  );
}

function runAction<T>(st: EnforcerState, action: unknown, ctx: ActionContext | undefined, execute: (action: Action) => T | Promise<T>, trace: RunTrace | null): Promise<RunResult<T>> {
  try {
    const now = st.clock();
    // reservations past their time settle, so that the entries recorded after them need not wait
    st.reservations.expire(now);
    const subject = snapshot(action, ctx ?? {});
    if (st.store !== null) return runShared(st, st.store, subject, now, execute, trace);
    return runSubject(st, subject, now, execute, trace);
  } catch (e) {
    return Promise.reject(e);
  }
}

function runSubject<T>(st: EnforcerState, subject: Subject, now: number, execute: (action: Action) => T | Promise<T>, trace: RunTrace | null): Promise<RunResult<T>> {
  try {
    const policy = st.active;
    const decided = decideWith(st, policy, subject, now);
    const shadowInfo = shadowDecide(st, decided.decision, subject, now);
    if (trace !== null) trace.decided(decided.decision);
    const r: Run<T> = { decided, subject, now, approval: null, shadowInfo, execute, trace };
    if (decided.decision.decision === "require_approval") return runAfterApproval(st, r);
    return runDecided(st, r);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** With a shared history store: one call to the store files the action, then the same steps run on its answer (store-step.ts). */
async function runShared<T>(st: EnforcerState, store: SharedHistoryStore, subject: Subject, now: number, execute: (action: Action) => T | Promise<T>, trace: RunTrace | null): Promise<RunResult<T>> {
  const view = await StoreView.open(st, store, subject.session, now, subject.action, filedHash(subject, true), subject);
  try {
    return await runSubject(view.state, subject, now, execute, trace);
  } finally {
    await view.finish(true);
  }
}

async function runAfterApproval<T>(st: EnforcerState, r: Run<T>): Promise<RunResult<T>> {
  r.trace?.approvalStarted();
  await approve(st, r);
  r.trace?.approvalEnded(r.approval?.outcome ?? (r.grantUse != null ? "grant" : undefined));
  const use = r.grantUse;
  if (use === undefined || use === null) return runDecided(st, r);
  // an action a grant allowed keeps what it took of it only when it runs
  let ran = false;
  try {
    const result = await runDecided(st, r);
    ran = result.decision.decision === "allow";
    return result;
  } catch (e) {
    // a withheld result is of an action that ran
    ran = e instanceof ResultWithheld;
    throw e;
  } finally {
    if (ran) await settleGrant(st, use);
    else await giveBackGrant(st, r.decided.decision, use, "the action did not run, or its tool failed");
  }
}

/** Records an allowed action into the trackers, writes the decision record, and runs the action if it is still allowed. */
function runDecided<T>(st: EnforcerState, r: Run<T>): Promise<RunResult<T>> {
  // the final decision's labels reach the session, and the entry of the action when it runs
  if (r.decided.decision.labels!.length > 0) r.decided = { ...r.decided, decision: addLabels(st, r.decided.decision) };
  const decision = r.decided.decision;
  // record before anything awaits, so concurrent decisions in the session count this one
  const reservation = decision.decision === "allow" ? count(st, decision.session, decision.action, r.now, r.subject, decision.labels, st.active.decidesResults) : null;
  const recording = recordDecision(st, r.decided, r.subject, "run", r.approval, r.shadowInfo);
  const trace = r.trace;
  if (trace !== null) {
    const performed = (final: Decision) => {
      trace.recorded(final);
      return perform(st, r, final, reservation);
    };
    return recording instanceof Promise ? recording.then(performed) : performed(recording);
  }
  return recording instanceof Promise ? recording.then((final) => perform(st, r, final, reservation)) : perform(st, r, recording, reservation);
}
