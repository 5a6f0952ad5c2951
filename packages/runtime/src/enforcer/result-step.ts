/**
 * The result stage of run(): after the tool returned, its result is decided (stage-step.ts) and
 * returned as the policy rewrote it, or withheld (`ResultWithheld`). The decision's labels reach
 * the session and the call's history entry: the call was counted when it was allowed (before it
 * ran, so that concurrent calls see it), so when the result adds labels the entry does not have,
 * the entry is taken back exactly and counted again, at the same time, with all its labels
 * (O(trackers), like counting it the first time). Deferring the count to after the result would
 * let concurrent calls race past a limit while the tool runs.
 */
import type { Reservation } from "../history.js";
import { snapshotStageValue } from "../stage-value.js";
import type { Decision, StageDecision } from "../types.js";
import type { RunResult } from "./api.js";
import { ResultWithheld } from "./errors.js";
import { count } from "./history-step.js";
import { approveStage, decideStage, finishStage, type StageDecided, type StageSubject, stageSubject } from "./stage-step.js";
import type { EnforcerState } from "./state.js";
import type { Subject } from "./subject.js";

/** The call whose result is decided. */
export interface ResultOf {
  readonly subject: Subject;
  /** When the call was counted in the history. */
  readonly now: number;
}

export function decideResult<T>(st: EnforcerState, call: ResultOf, final: Decision, raw: T, reservation: Reservation | null): Promise<RunResult<T>> {
  const s = stageSubject({
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
  });
  const decided = decideStage(st, st.active, s, st.clock());
  if (decided.decision.decision === "require_approval") return approveStage(st, s, decided).then((approved) => settle(st, call, final, s, approved, raw, reservation));
  return settle(st, call, final, s, decided, raw, reservation);
}

function settle<T>(st: EnforcerState, call: ResultOf, final: Decision, s: StageSubject, decided: StageDecided, raw: T, reservation: Reservation | null): Promise<RunResult<T>> {
  refile(st, call, final, decided.decision.labels, reservation);
  const finished = finishStage(st, s, decided);
  return finished instanceof Promise ? finished.then((d) => returned(st, final, d, decided, raw)) : returned(st, final, finished, decided, raw);
}

/** The result as decided: a fresh copy of the text that was hashed (and approved), or the withholding. */
function returned<T>(st: EnforcerState, final: Decision, d: StageDecision, decided: StageDecided, raw: T): Promise<RunResult<T>> {
  if (d.decision !== "allow") {
    return st.throwOnDeny ? Promise.reject(new ResultWithheld(d)) : Promise.resolve({ decision: final, resultDecision: d });
  }
  const json = decided.valueJson;
  // a tool that returned nothing, and no rule wrote anything in its place: nothing
  const result = (raw === undefined && json === "null" ? undefined : json === undefined ? null : JSON.parse(json)) as T;
  return Promise.resolve({ decision: final, result, resultDecision: d });
}

/** Counts the call again with the labels its result added, when it has labels its entry lacks. */
function refile(st: EnforcerState, call: ResultOf, final: Decision, labels: readonly string[], reservation: Reservation | null): void {
  if (reservation === null || labels.length === 0) return;
  const had = final.labels ?? [];
  const added = labels.filter((l) => !had.includes(l));
  if (added.length === 0) return;
  reservation.cancel();
  count(st, final.session, final.action, call.now, [...had, ...added]);
}
