/**
 * The enforcer: decides every action an agent proposes before it runs, asks for approvals,
 * runs allowed actions with their rewritten (redacted) arguments, keeps the session history
 * that rate limits and sequence rules read, and writes every decision to the audit log.
 *
 * It fails closed: an exception anywhere while deciding, approving or auditing becomes a deny
 * that names the cause, and nothing runs on a deny.
 *
 * createEnforcer assembles the steps in enforcer/ over one state object (enforcer/state.ts):
 * subject.ts (the snapshot), decide-step.ts, approval-step.ts, history-step.ts, audit-step.ts
 * and execute-step.ts, put in order by run.ts, decide.ts and record-release.ts; results and
 * messages are decided by stage-step.ts (result-step.ts in run, check-result.ts for checkResult,
 * output-step.ts for checkOutput).
 */

import type { Enforcer, EnforcerOptions } from "./enforcer/api.js";
import { checkResult } from "./enforcer/check-result.js";
import { decide } from "./enforcer/decide.js";
import { ActionDenied, ResultWithheld } from "./enforcer/errors.js";
import { grantApproved } from "./enforcer/grant-step.js";
import { checkOutput } from "./enforcer/output-step.js";
import { reload, setShadow } from "./enforcer/policies.js";
import { record, release } from "./enforcer/record-release.js";
import { run } from "./enforcer/run.js";
import { enforcerState } from "./enforcer/state.js";
import { type PolicyWatch, watchPolicy } from "./enforcer/watch.js";
import type { ActionContext } from "./types.js";

export type {
  ApprovalOutcome,
  AuditOption,
  DecideOptions,
  Enforcer,
  EnforcerOptions,
  LoadResult,
  OutputMessage,
  RecordInfo,
  RecordResult,
  ResultInfo,
  RunResult,
  ShadowFlip,
  ShadowReport,
} from "./enforcer/api.js";
export { ActionDenied, GrantNeedsReservation, HistoryStoreUnavailable, InvalidInputError, NoReservation, ReservationMismatch, ResultWithheld, ToolFailed } from "./enforcer/errors.js";

const resolveCtx = (ctx: ActionContext | (() => ActionContext) | undefined): ActionContext | undefined => (typeof ctx === "function" ? ctx() : ctx);

export async function createEnforcer(options: EnforcerOptions): Promise<Enforcer> {
  const st = await enforcerState(options);
  let watching: PolicyWatch | null = null;
  const enforcer: Enforcer = {
    decide: (action, ctx, opts) => decide(st, action, ctx, opts),
    run: (action, ctx, execute) => run(st, action, ctx, execute),
    record: (action, ctx, info) => record(st, action, ctx, info),
    checkResult: (action, result, ctx, info) => checkResult(st, action, result, ctx, info),
    checkOutput: (message, ctx) => checkOutput(st, message, ctx),
    release: (id, ctx) => release(st, id, ctx),
    grant: (decision, approvers) => grantApproved(st, decision, approvers),
    wrap(name, fn, ctx) {
      return async (args) => {
        const action = { ...(args ?? {}), type: name };
        const { decision, result, resultDecision } = await run(st, action, resolveCtx(ctx), (rewritten) => {
          const { type: _type, ...rest } = rewritten;
          return fn(rest as typeof args);
        });
        if (decision.decision !== "allow") throw new ActionDenied(decision);
        if (resultDecision !== undefined && resultDecision.decision !== "allow") throw new ResultWithheld(resultDecision);
        return result as Awaited<ReturnType<typeof fn>>;
      };
    },
    wrapTools(tools, ctx) {
      const out: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(tools)) out[name] = enforcer.wrap(name, fn as (args: Record<string, unknown>) => unknown, ctx);
      return out as never;
    },
    reload: (source) => reload(st, source),
    setShadow: (source) => setShadow(st, source),
    shadowReport: () => structuredClone(st.shadowStats),
    get policy() {
      return st.active.module.policy;
    },
    endSession: (session) => {
      if (st.store === null) st.trackers.forget(session);
      else st.store.forget(session).catch((e) => st.report(e));
    },
    async close() {
      watching?.close();
      await st.audit?.log.close();
    },
  };
  if (options.watch !== undefined && options.watch !== false && typeof options.policy === "string" && options.policy.endsWith(".armor")) {
    watching = await watchPolicy(options.policy, st.files, (path) => reload(st, path), options.watch === true ? {} : options.watch, st.report);
  }
  return enforcer;
}
