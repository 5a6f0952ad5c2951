/**
 * Executing: the tool runs under the recorded decision, with its own copy of the decided action
 * (the redacted one when the policy rewrote it), and its outcome record is chained after it.
 */
import { canonicalJson, sha256 } from "../hash.js";
import type { Reservation } from "../history.js";
import { OutcomeRecord } from "../records.js";
import type { Action, Decision } from "../types.js";
import type { RunResult } from "./api.js";
import { auditFailed, write } from "./audit-step.js";
import type { Decided } from "./decide-step.js";
import { ActionDenied, errorText } from "./errors.js";
import { isoTime } from "./ids.js";
import { decideResult } from "./result-step.js";
import type { EnforcerState } from "./state.js";
import type { Subject } from "./subject.js";

/** What the tool is given, and what it is. */
export interface Execution<T> {
  decided: Decided;
  subject: Subject;
  /** When the action was decided and counted. */
  now: number;
  readonly execute: (action: Action) => T | Promise<T>;
}

/**
 * Runs the action under its recorded decision (`final`: a deny takes the history's recording
 * back and runs nothing) and chains the outcome record.
 */
export function perform<T>(st: EnforcerState, r: Execution<T>, final: Decision, reservation: Reservation | null): Promise<RunResult<T>> {
  if (final.decision !== "allow") {
    reservation?.cancel();
    return st.throwOnDeny ? Promise.reject(new ActionDenied(final)) : Promise.resolve({ decision: final });
  }
  const started = st.clock();
  let result: T | Promise<T>;
  let thenable: boolean;
  try {
    result = r.execute(toolCopy(r, final) as Action);
    // inside the try: reading `then` of what the tool returned can throw (a getter, a Proxy)
    thenable = isThenable(result);
  } catch (e) {
    return failed(st, r, final, started, e, reservation);
  }
  if (thenable) {
    return Promise.resolve(result as Promise<T>).then(
      (value) => succeeded(st, r, final, started, value, reservation),
      (e: unknown) => failed(st, r, final, started, e, reservation),
    );
  }
  return succeeded(st, r, final, started, result as T, reservation);
}

/**
 * The tool's own copy of the decided action: the spare one made with the snapshot when the
 * policy did not rewrite the action, otherwise parsed from the text that was hashed and audited.
 */
function toolCopy(r: Execution<unknown>, final: Decision): unknown {
  const json = r.decided.actionJson;
  const own = r.decided.decision.action === r.subject.action ? r.subject.spare : undefined;
  return own !== undefined ? own : json === undefined ? final.action : JSON.parse(json);
}

/** The outcome record of a tool that returned, then its result decided when the policy has rules on results. */
function succeeded<T>(st: EnforcerState, r: Execution<T>, final: Decision, started: number, result: T, reservation: Reservation | null): Promise<RunResult<T>> {
  const after: () => Promise<RunResult<T>> = st.active.decidesResults
    ? () => decideResult(st, { subject: r.subject, now: r.now }, final, result, reservation)
    : () => {
        reservation?.settle();
        return Promise.resolve({ decision: final, result });
      };
  if (st.audit === null) return after();
  const end = st.clock();
  const written = write(st, new OutcomeRecord(final.id, isoTime(end), "ok", end - started), true);
  return written instanceof Promise ? written.then(after) : after();
}

/**
 * The outcome record of a tool that threw, then the tool's error: as it threw it, or, when the
 * policy has rules on results, decided as the result `{ error: MESSAGE }` (result-step.ts), and
 * the record holds the message's hash rather than its text.
 */
function failed<T>(st: EnforcerState, r: Execution<T>, final: Decision, started: number, e: unknown, reservation: Reservation | null): Promise<RunResult<T>> {
  const decides = st.active.decidesResults;
  const text = errorText(e);
  const after: () => Promise<RunResult<T>> = decides
    ? () => decideResult(st, { subject: r.subject, now: r.now }, final, { error: text } as T, reservation, true)
    : () => {
        reservation?.settle();
        return Promise.reject(e);
      };
  if (st.audit === null) return after();
  const end = st.clock();
  let written: ReturnType<typeof write>;
  try {
    const record = decides
      ? new OutcomeRecord(final.id, isoTime(end), "error", end - started, undefined, sha256(canonicalJson({ error: text })))
      : new OutcomeRecord(final.id, isoTime(end), "error", end - started, text);
    written = write(st, record, true);
  } catch (cannot) {
    // a record that cannot be serialized: reported, and the tool's error still rejects
    written = auditFailed(st, cannot);
  }
  return written instanceof Promise ? written.then(after) : after();
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}
