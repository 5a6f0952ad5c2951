/**
 * checkResult(): the result of an action that ran outside run(), decided by the policy's rules on
 * results (stage-step.ts), as run() decides one: a host that asked `decide` (or the decision
 * service) and ran the tool itself asks this before the model reads what the tool returned. When
 * `decisionId` names the pending reservation of the same session and action (`decide` with
 * `reserve`), the labels the result adds go to that action's history entry where it stands, as
 * in run(); otherwise they go to the session only. Never throws for a deny: the host withholds
 * the result when the decision is not `allow`, and otherwise gives the model `result`, the value
 * as the policy rewrote it.
 */
import { sha256 } from "../hash.js";
import { snapshotStageValue } from "../stage-value.js";
import type { ActionContext, StageDecision } from "../types.js";
import type { ResultInfo } from "./api.js";
import { approveStage, decideStage, finishStage, stageSubject } from "./stage-step.js";
import type { EnforcerState } from "./state.js";
import { relabelShared, withHistory } from "./store-step.js";
import { snapshot } from "./subject.js";

/** Longest decision id a result is filed under as given (the runtime's own are about 30 characters). */
const MAX_ID_LENGTH = 128;

export async function checkResult(st: EnforcerState, action: unknown, result: unknown, ctx: ActionContext = {}, info: ResultInfo = {}): Promise<StageDecision> {
  const now = st.clock();
  const call = snapshot(action, ctx ?? {});
  const actionHash = call.problem === null ? sha256(call.json ?? "null") : "";
  const given = typeof info?.decisionId === "string" && info.decisionId.length > 0 && info.decisionId.length <= MAX_ID_LENGTH ? info.decisionId : undefined;
  st.reservations.expire(now);
  const pending = given === undefined ? undefined : st.reservations.get(given);
  const reservation = pending !== undefined && pending.session === call.session && pending.actionHash === actionHash ? pending.reservation : null;
  const s = stageSubject({
    stage: "result",
    id: given ?? st.decisionId(now),
    session: call.session,
    action: call.action,
    actionHash,
    user: call.user,
    context: call.context,
    userJson: call.userJson,
    problem: call.problem,
    // a tool that returns nothing returns null, as a missing result reads
    value: snapshotStageValue(result === undefined ? null : result, "result"),
  });
  return withHistory(st, call.session, now, async (hst) => {
    let decided = decideStage(hst, hst.active, s, now);
    if (decided.decision.decision === "require_approval") decided = await approveStage(hst, s, decided);
    // the reservation stays pending for `record` or `release`; only its labels are settled here
    if (reservation !== null && decided.decision.labels.length > 0) reservation.relabel(decided.decision.labels);
    // reserved in another process that shares the store: the store files the labels on its entry
    else if (st.store !== null && pending === undefined && given !== undefined && decided.decision.labels.length > 0 && call.problem === null) {
      await relabelShared(hst, st.store, given, call.session, actionHash, call.action, decided.decision.labels).catch((e) => st.report(e));
    }
    return finishStage(hst, s, decided);
  });
}
