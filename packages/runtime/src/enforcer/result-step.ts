/**
 * The result stage of run(): after the tool returned, its result is decided (stage-step.ts) and
 * returned as the policy rewrote it, or withheld (`ResultWithheld`). The decision's labels reach
 * the session and the call's history entry: the call was counted when it was allowed (before it
 * ran, so that concurrent calls see it), so when the result adds labels the entry does not have,
 * the entry is given them where it stands (`Reservation.relabel`: same time, same place among the
 * session's entries). Deferring the count to after the result would let concurrent calls race
 * past a limit while the tool runs.
 *
 * A tool that throws has a result too: `{ "error": MESSAGE }`, decided like any other, so that a
 * credential in an error message is withheld or redacted as it would be in a value. The caller
 * then gets `ToolFailed` with the message as decided, never the tool's own error (its stack,
 * cause and other fields were not decided).
 */
import type { Reservation } from "../history.js";
import { snapshotStageValue } from "../stage-value.js";
import type { Decision, StageDecision } from "../types.js";
import type { RunResult } from "./api.js";
import { ResultWithheld, ToolFailed } from "./errors.js";
import { approveStage, decideStage, finishStage, type StageDecided, type StageSubject } from "./stage-step.js";
import type { EnforcerState } from "./state.js";
import type { Subject } from "./subject.js";

/** The call whose result is decided. */
export interface ResultOf {
  readonly subject: Subject;
  /** When the call was counted in the history. */
  readonly now: number;
}

/** `thrown`: `raw` is `{ error: MESSAGE }` of a tool that threw. */
export function decideResult<T>(st: EnforcerState, call: ResultOf, final: Decision, raw: T, reservation: Reservation | null, thrown = false): Promise<RunResult<T>> {
  const s: StageSubject = {
    stage: "result",
    id: final.id,
    session: final.session,
    action: final.action,
    actionHash: final.actionHash,
    user: call.subject.user,
    context: call.subject.context,
    userJson: call.subject.userJson,
    problem: null,
    // a tool that returns nothing returns null, as a missing result reads
    value: snapshotStageValue(raw === undefined ? null : raw, "result"),
  };
  const decided = decideStage(st, st.active, s, st.clock());
  const then = (approved: StageDecided) => settle(st, final, s, approved, raw, reservation, thrown);
  if (decided.decision.decision === "require_approval")
    return approveStage(st, s, decided).then(then, (e: unknown) => {
      reservation?.settle();
      throw e;
    });
  return then(decided);
}

function settle<T>(st: EnforcerState, final: Decision, s: StageSubject, decided: StageDecided, raw: T, reservation: Reservation | null, thrown: boolean): Promise<RunResult<T>> {
  relabel(decided.decision.labels, reservation);
  const finished = finishStage(st, s, decided);
  return finished instanceof Promise ? finished.then((d) => returned(st, final, d, decided, raw, thrown)) : returned(st, final, finished, decided, raw, thrown);
}

/** The result as decided: the private copy made when it was hashed (and approved), or the withholding. */
function returned<T>(st: EnforcerState, final: Decision, d: StageDecision, decided: StageDecided, raw: T, thrown: boolean): Promise<RunResult<T>> {
  if (d.decision !== "allow") {
    return st.throwOnDeny ? Promise.reject(new ResultWithheld(d)) : Promise.resolve({ decision: final, resultDecision: d });
  }
  const kept = decided.kept === undefined ? null : decided.kept;
  if (thrown) return Promise.reject(new ToolFailed(final, d, kept));
  // a tool that returned nothing, and no rule wrote anything in its place: nothing
  const result = (raw === undefined && kept === null ? undefined : kept) as T;
  return Promise.resolve({ decision: final, result, resultDecision: d });
}

/** Gives the call's history entry the labels its result added, where it stands; then nothing more changes it. */
function relabel(labels: readonly string[], reservation: Reservation | null): void {
  if (reservation === null) return;
  if (labels.length > 0) reservation.relabel(labels);
  reservation.settle();
}
