/**
 * The Agents SDK's tool approval flow (`needsApproval`, `result.interruptions`,
 * `state.approve(item)` / `state.reject(item)` and running the state again) as the runtime's
 * approval handler.
 *
 * `needsApproval` asks the policy (`enforcer.decide`, an audited decision that counts nothing)
 * whether the call needs approval; the run then stops with the call among its interruptions.
 * When the application approves it and runs the state again, the guarded `execute` finds the
 * approval in the run context (`isToolApproved`) and grants it for that session and the decided
 * action's hash; the runtime's approval request for the call is answered from that grant, and the
 * call is decided again before it runs. An approval given after the policy's timeout (counted
 * from the first `needsApproval`) is a timeout. A request with no grant goes to the fallback, or
 * is rejected. A rejected call never reaches `execute`: the SDK tells the model it was rejected.
 */
import type { ActionContext, ApprovalHandler, ApprovalRequest, ApprovalResponse, Enforcer } from "@agent-armor/runtime";
import { flowApprovals, MAX_FLOW_PENDING, mayRequireApproval } from "@agent-armor/runtime/adapter-kit";

export interface AgentsApprovalsOptions {
  /** Answers the requests the SDK's flow did not approve (results, output): by default they are rejected. */
  fallback?: ApprovalHandler;
  /** Who the audit log names as the approver (default `"openai-agents approval"`). */
  approver?: string;
  /**
   * The groups this flow answers for: whoever answers it (a chat's user, an application's
   * reviewer) belongs to them. A rule that asks approval from another group (`require approval
   * from "finance"`) is not approved through this flow (default: none, so only rules that name no
   * group are).
   */
  approverGroups?: readonly string[];
  /** The milliseconds clock the wait for an answer is measured with (default `Date.now`). */
  now?: () => number;
}

export interface AgentsApprovals extends ApprovalHandler {
  /** `needsApproval` of a guarded tool: whether the policy requires approval for this call now. */
  needsApproval(enforcer: Enforcer, action: { type: string }, ctx: ActionContext | undefined, callId: string | undefined): Promise<boolean>;
  /** Called by a guarded `execute` whose call the SDK reports approved: grants it; returns the grant's release. */
  grant(callId: string | undefined, approved: boolean): () => void;
}

export function agentsApprovals(options: AgentsApprovalsOptions = {}): AgentsApprovals {
  const approver = options.approver ?? "openai-agents approval";
  const flow = flowApprovals({ flow: "the Agents SDK's tool approval", groups: options.approverGroups ?? [], ...(options.now ? { now: options.now } : {}) });
  const pending = new Map<string, { session: string; actionHash: string }>();
  return {
    async needsApproval(enforcer, action, ctx, callId) {
      if (callId === undefined || !mayRequireApproval(enforcer, action.type)) return false;
      const d = await enforcer.decide(action, ctx);
      if (d.decision !== "require_approval") return false;
      flow.asked(d.session, d.actionHash);
      pending.delete(callId);
      pending.set(callId, { session: d.session, actionHash: d.actionHash });
      if (pending.size > MAX_FLOW_PENDING) pending.delete(pending.keys().next().value as string);
      return true;
    },
    grant(callId, approved) {
      const p = callId === undefined ? undefined : pending.get(callId);
      if (p === undefined || !approved) return () => {};
      pending.delete(callId!);
      return flow.grant(p.session, p.actionHash, { approved: true, approver });
    },
    async request(req: ApprovalRequest): Promise<ApprovalResponse> {
      const answer = flow.answer(req);
      if (answer !== undefined) return answer;
      if (options.fallback !== undefined) return options.fallback.request(req);
      return { approved: false, approver, note: "not approved through the Agents SDK's tool approval (needsApproval)" };
    },
  };
}
