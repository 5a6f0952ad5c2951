/**
 * checkOutput(): a model's message decided before the user reads it, by the policy's rules on
 * output (stage-step.ts). The host withholds it when the decision is not `allow`; nothing throws.
 */
import { snapshotStageValue } from "../stage-value.js";
import { traced } from "../telemetry/spans.js";
import type { ActionContext, StageDecision } from "../types.js";
import type { OutputMessage } from "./api.js";
import { approveStage, decideStage, finishStage, type StageSubject } from "./stage-step.js";
import type { EnforcerState } from "./state.js";
import { withHistory } from "./store-step.js";
import { snapshot } from "./subject.js";

export function checkOutput(st: EnforcerState, message: OutputMessage, ctx: ActionContext = {}): Promise<StageDecision> {
  const probe = st.telemetry.current();
  if (probe === null || probe.tracer === null) return checkMessage(st, message, ctx);
  return traced(probe, "armor.check_output", () => checkMessage(st, message, ctx));
}

async function checkMessage(st: EnforcerState, message: OutputMessage, ctx: ActionContext): Promise<StageDecision> {
  const now = st.clock();
  // the user and the context, snapshotted as a call's are (no action)
  const who = snapshot(null, ctx ?? {});
  const s: StageSubject = {
    stage: "output",
    id: st.decisionId(now),
    session: who.session,
    action: null,
    actionHash: "",
    user: who.user,
    context: who.context,
    userJson: who.userJson,
    problem: who.problem,
    value: snapshotStageValue(typeof message === "string" ? { text: message } : message, "output"),
  };
  return withHistory(
    st,
    who.session,
    now,
    async (hst) => {
      let decided = decideStage(hst, hst.active, s, now);
      if (decided.decision.decision === "require_approval") decided = await approveStage(hst, s, decided);
      return finishStage(hst, s, decided);
    },
    null,
    who,
  );
}
