/**
 * checkResult(): the result of an action that ran outside run(), decided by the policy's rules on
 * results (stage-step.ts), as run() decides one: a host that asked `decide` (or the decision
 * service) and ran the tool itself asks this before the model reads what the tool returned. When
 * `decisionId` names the pending reservation of the same session and action (`decide` with
 * `reserve`), the result record is filed under it and the labels the result adds go to that
 * action's history entry where it stands, as in run(); otherwise the record gets an id of its own
 * (a caller's text names nothing of ours) and the labels go to the session only, or, with
 * `requireReservation`, nothing is decided and `NoReservation` is thrown. Never throws for a deny: the host withholds
 * the result when the decision is not `allow`, and otherwise gives the model `result`, the value
 * as the policy rewrote it.
 */
import { sha256 } from "../hash.js";
import { snapshotStageValue } from "../stage-value.js";
import { traced } from "../telemetry/spans.js";
import type { ActionContext, StageDecision } from "../types.js";
import type { ResultInfo } from "./api.js";
import { NoReservation } from "./errors.js";
import { approveStage, decideStage, finishStage, type StageSubject } from "./stage-step.js";
import type { EnforcerState } from "./state.js";
import { relabelShared, withHistory } from "./store-step.js";
import { snapshot } from "./subject.js";

export function checkResult(st: EnforcerState, action: unknown, result: unknown, ctx: ActionContext = {}, info: ResultInfo = {}): Promise<StageDecision> {
  const probe = st.telemetry.current();
  if (probe === null || probe.tracer === null) return checkResultOf(st, action, result, ctx, info);
  return traced(probe, "armor.check_result", () => checkResultOf(st, action, result, ctx, info));
}

async function checkResultOf(st: EnforcerState, action: unknown, result: unknown, ctx: ActionContext, info: ResultInfo): Promise<StageDecision> {
  const now = st.clock();
  const call = snapshot(action, ctx ?? {});
  const actionHash = call.problem === null ? sha256(call.json ?? "null") : "";
  const given = givenId(info);
  st.reservations.expire(now);
  const pending = given === undefined ? undefined : st.reservations.get(given);
  const local = pending !== undefined && pending.session === call.session && pending.actionHash === actionHash;
  // reserved in another process that shares the store
  const store = st.store;
  const shared = !local && store !== null && given !== undefined && call.problem === null && (await store.pending(given, call.session).catch(() => null))?.actionHash === actionHash;
  if (!local && !shared && Object.hasOwn(info ?? {}, "requireReservation") && info.requireReservation === true) {
    throw new NoReservation("the decisionId names no pending reservation of this session and action (never made, settled, released or expired)");
  }
  const s: StageSubject = {
    stage: "result",
    // filed under the reservation's decision; any other id a caller gives names nothing of ours
    id: local || shared ? given! : st.decisionId(now),
    session: call.session,
    action: call.action,
    actionHash,
    user: call.user,
    context: call.context,
    userJson: call.userJson,
    problem: call.problem,
    // a tool that returns nothing returns null, as a missing result reads
    value: snapshotStageValue(result === undefined ? null : result, "result"),
  };
  return withHistory(
    st,
    call.session,
    now,
    async (hst) => {
      let decided = decideStage(hst, hst.active, s, now);
      if (decided.decision.decision === "require_approval") decided = await approveStage(hst, s, decided);
      // the reservation stays pending for `record` or `release`; only its labels are settled here
      const labels = decided.decision.labels;
      if (labels.length > 0 && local && pending!.reservation !== null) pending!.reservation.relabel(labels);
      // reserved in another process: the store files the labels on its entry
      else if (labels.length > 0 && shared) await relabelShared(hst, store!, given!, call.session, actionHash, call.action, labels, call).catch((e) => st.report(e));
      return finishStage(hst, s, decided);
    },
    call.action,
    call,
  );
}

/** The decision id a caller names, read once, own field only. */
function givenId(info: ResultInfo | undefined): string | undefined {
  if (info === null || typeof info !== "object" || !Object.hasOwn(info, "decisionId")) return undefined;
  const id: unknown = info.decisionId;
  return typeof id === "string" ? id : undefined;
}
