/**
 * Writing the enforcer's records to the audit log, through the log's AuditAppender (its
 * synchronous fast path when it has one), and what a failing log does to a decision.
 */
import { type AuditAppender, type AuditFields, type AuditLog, type AuditSink, appenderFor, callbackSink, createAuditLog, fileSink, type SerializedRecord, streamSink } from "../audit.js";
import { DecisionRecord } from "../records.js";
import { actionTypeLabel, failCause, policyLabels, ruleLabel } from "../telemetry/labels.js";
import type { TelemetryObserver } from "../telemetry/options.js";
import { secondsSince } from "../telemetry/probe.js";
import { withTimeout } from "../timers.js";
import type { Decision, StageDecision } from "../types.js";
import type { ApprovalOutcome, AuditOption } from "./api.js";
import type { Decided } from "./decide-step.js";
import { isoTime } from "./ids.js";
import type { EnforcerState } from "./state.js";
import type { Subject } from "./subject.js";

/** The audit log as the enforcer writes to it. */
export interface AuditChannel {
  readonly log: AuditLog;
  readonly appendNow: AuditAppender["appendNow"];
  /** An audit log given ready-made bounds its sinks' writes itself, if at all: the enforcer bounds its appends. */
  readonly boundAppends: boolean;
  readonly timeoutMs: number;
}

/** The audit log for an option; failures are reported once, by the enforcer, when an append rejects. */
export function auditChannel(option: AuditOption | undefined, timeoutMs: number): AuditChannel | null {
  if (option === undefined || option === false) return null;
  const boundAppends = isAuditLog(option);
  const log = boundAppends ? option : createAuditLog({ sinks: sinksOf(option), writeTimeoutMs: timeoutMs });
  return { log, appendNow: appenderFor(log), boundAppends, timeoutMs };
}

/**
 * Whether the option is an audit log of the caller's: it has `append` of its own or from its
 * class, never from `Object.prototype` (a polluted prototype cannot turn `{ file }` into a log).
 */
function isAuditLog(option: Exclude<AuditOption, false>): option is AuditLog {
  for (let o: object | null = option; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    if (Object.hasOwn(o, "append")) return true;
  }
  return false;
}

/** The sinks of an options object, read as its own fields. */
function sinksOf(option: Exclude<AuditOption, false | AuditLog>): AuditSink[] {
  if (Object.hasOwn(option, "file") && "file" in option) return [fileSink(option.file, { fsync: option.fsync ?? false })];
  if (Object.hasOwn(option, "stream") && "stream" in option) return [streamSink(option.stream)];
  if (Object.hasOwn(option, "callback") && "callback" in option) return [callbackSink(option.callback as Parameters<typeof callbackSink>[0])];
  return (option as { sinks: AuditSink[] }).sinks;
}

/** Reports an audit failure and returns it as an Error. */
export function auditFailed(st: EnforcerState, e: unknown): Error {
  const error = e instanceof Error ? e : new Error(String(e));
  st.report(error);
  return error;
}

/**
 * Appends a record; `defer` for the outcome records of run(), which nothing waits on (see
 * AuditAppender). Returns the failure (or null) directly when the record was written
 * synchronously, so that run() does not yield to the event loop between writing the decision
 * record and calling the tool.
 */
export function write(st: EnforcerState, entry: AuditFields | SerializedRecord, defer = false): Error | null | Promise<Error | null> {
  const audit = st.audit;
  if (audit === null) return null;
  const observer = st.telemetry.last?.observer;
  if (observer != null) return timedWrite(st, audit, entry, defer, observer);
  return append(st, audit, entry, defer);
}

/** A write, its time and outcome told to the telemetry observer. */
function timedWrite(st: EnforcerState, audit: AuditChannel, entry: AuditFields | SerializedRecord, defer: boolean, observer: TelemetryObserver): Error | null | Promise<Error | null> {
  const started = performance.now();
  const written = append(st, audit, entry, defer);
  const done = (failure: Error | null) => {
    observer.auditWrite(secondsSince(started), failure === null);
    return failure;
  };
  return written instanceof Promise ? written.then(done) : done(written);
}

function append(st: EnforcerState, audit: AuditChannel, entry: AuditFields | SerializedRecord, defer: boolean): Error | null | Promise<Error | null> {
  let pending: Promise<void> | null;
  try {
    pending = audit.appendNow(entry, defer);
  } catch (e) {
    return auditFailed(st, e);
  }
  if (pending === null) return null;
  return (audit.boundAppends ? bounded(audit, pending) : pending).then(
    () => null,
    (e: unknown) => auditFailed(st, e),
  );
}

/** An append of a ready-made audit log, failing after the audit timeout if it has not settled. */
function bounded(audit: AuditChannel, pending: Promise<void>): Promise<void> {
  const ms = audit.timeoutMs;
  return withTimeout(pending, ms, () => new Error(`the audit log did not store the record within ${ms} ms`));
}

/** Writes the decision record; on a failing sink the decision becomes deny unless configured otherwise. */
export function recordDecision(
  st: EnforcerState,
  decided: Decided,
  subject: Subject,
  mode: "decide" | "run",
  approval: ApprovalOutcome | null,
  shadowInfo: Record<string, unknown> | undefined,
  reserved = false,
): Decision | Promise<Decision> {
  const decision = decided.decision;
  if (st.audit === null) return recorded(st, decision, null, decided.started);
  let entry: DecisionRecord;
  try {
    entry = new DecisionRecord(decision, decided.actionJson, decided.policyJson, mode, subject.userJson, approval, shadowInfo, reserved);
  } catch (e) {
    // a user that cannot be serialized (it contains itself, a getter throws): the record cannot be written
    return recorded(st, decision, auditFailed(st, e), decided.started);
  }
  const written = write(st, entry);
  return written instanceof Promise ? written.then((failure) => recorded(st, decision, failure, decided.started)) : recorded(st, decision, written, decided.started);
}

/** The decision as recorded (a deny when the log failed, unless `onAuditFailure: "allow"`), handed to `onDecision`. */
function recorded(st: EnforcerState, decision: Decision, failure: Error | null, started: number): Decision {
  const options = st.options;
  let final = decision;
  if (failure !== null && (options.onAuditFailure ?? "deny") === "deny" && decision.decision !== "deny") {
    final = { ...decision, decision: "deny", errors: [...decision.errors, { rule: null, message: `the audit log failed, so nothing runs: ${failure.message}` }] };
  }
  const observer = st.telemetry.last?.observer;
  if (observer != null) observeDecision(st, observer, final, "call", started);
  if (options.onDecision !== undefined) {
    try {
      options.onDecision(final);
    } catch (e) {
      st.report(e);
    }
  }
  return final;
}

/** A decision on record, told to the telemetry observer with label values the policy bounds (telemetry/labels.ts). */
export function observeDecision(st: EnforcerState, observer: TelemetryObserver, d: Decision | StageDecision, stage: "call" | "result" | "output", started: number): void {
  const labels = policyLabels(st.active.module);
  observer.decision({ stage, decision: d.decision, rule: ruleLabel(labels, d), actionType: actionTypeLabel(labels, d.action), seconds: started === 0 ? 0 : secondsSince(started) });
  const cause = failCause(d);
  if (cause !== null) observer.failClosed(cause);
}

/** What an `approval` record is filed under: the decision's id, session and hashes. */
export type ApprovalSubject = Pick<Decision, "id" | "session" | "actionHash">;

/**
 * An `approval` audit record: the request (`requested`) and its answer (`approved`, `rejected`,
 * `timeout`, `error`), votes and grants' events, chained with the decision's other records under
 * its id; the failure, or null.
 */
export async function recordApproval(st: EnforcerState, decision: ApprovalSubject, fields: Record<string, unknown>): Promise<Error | null> {
  if (st.audit === null) return null;
  const stage = (decision as { stage?: unknown }).stage;
  const hashes = stage === "result" || stage === "output" ? { stage, valueHash: (decision as { valueHash?: unknown }).valueHash } : { actionHash: decision.actionHash };
  return write(st, { kind: "approval", decisionId: decision.id, time: isoTime(st.clock()), session: decision.session, ...hashes, ...fields });
}
