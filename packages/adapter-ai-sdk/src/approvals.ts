/**
 * The AI SDK's tool approval flow (`needsApproval`, `tool-approval-request` and
 * `tool-approval-response` parts) as the runtime's approval handler.
 *
 * `needsApproval` asks the policy (`enforcer.decide`, an audited decision that counts nothing)
 * whether the call needs approval; the SDK then stops and hands the approval request to the
 * application. When the application answers and calls `generateText`/`streamText` again, the
 * SDK asks `needsApproval` once more and runs the approved call; the guarded `execute` finds the
 * approval in the messages and grants it for that session and the decided action's hash, and the
 * runtime's approval request for the same call is answered from that grant. An approval given
 * after the policy's timeout (counted from the SDK's first `needsApproval`) is a timeout. A
 * request with no grant (another hash, a result or output stage, a call the SDK never asked
 * about) goes to the fallback handler, or is rejected.
 */
import type { ActionContext, ApprovalHandler, ApprovalRequest, ApprovalResponse, Enforcer } from "@agent-armor/runtime";
import { flowApprovals, MAX_FLOW_PENDING, mayRequireApproval } from "@agent-armor/runtime/adapter-kit";
import type { ModelMessage } from "ai";

export interface AiSdkApprovalsOptions {
  /** Answers the requests the SDK's flow did not approve (e.g. results, output): by default they are rejected. */
  fallback?: ApprovalHandler;
  /** Who the audit log names as the approver (default `"ai-sdk tool approval"`). */
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

export interface AiSdkApprovals extends ApprovalHandler {
  /** `needsApproval` of a guarded tool: whether the policy requires approval for this call now. */
  needsApproval(enforcer: Enforcer, action: { type: string }, ctx: ActionContext | undefined, toolCallId: string): Promise<boolean>;
  /** Called by a guarded `execute`: grants the approval the messages hold for this call; returns the grant's release. */
  grant(toolCallId: string, messages: readonly ModelMessage[]): () => void;
}

export function aiSdkApprovals(options: AiSdkApprovalsOptions = {}): AiSdkApprovals {
  const approver = options.approver ?? "ai-sdk tool approval";
  const flow = flowApprovals({ flow: "the AI SDK's tool approval", groups: options.approverGroups ?? [], ...(options.now ? { now: options.now } : {}) });
  const pending = new Map<string, { session: string; actionHash: string }>();

  return {
    async needsApproval(enforcer, action, ctx, toolCallId) {
      if (!mayRequireApproval(enforcer, action.type)) return false;
      const d = await enforcer.decide(action, ctx);
      if (d.decision !== "require_approval") return false;
      flow.asked(d.session, d.actionHash);
      pending.delete(toolCallId);
      pending.set(toolCallId, { session: d.session, actionHash: d.actionHash });
      if (pending.size > MAX_FLOW_PENDING) pending.delete(pending.keys().next().value as string);
      return true;
    },
    grant(toolCallId, messages) {
      const p = pending.get(toolCallId);
      const answer = p === undefined ? undefined : approvalIn(messages, toolCallId);
      if (p === undefined || answer === undefined) return () => {};
      pending.delete(toolCallId);
      return flow.grant(p.session, p.actionHash, { approved: true, approver, ...(answer.reason !== undefined ? { note: answer.reason } : {}) });
    },
    async request(req: ApprovalRequest): Promise<ApprovalResponse> {
      const answer = flow.answer(req);
      if (answer !== undefined) return answer;
      if (options.fallback !== undefined) return options.fallback.request(req);
      return { approved: false, approver, note: "not approved through the AI SDK's tool approval (needsApproval)" };
    },
  };
}

/** The approving `tool-approval-response` the messages hold for a tool call, if any. */
function approvalIn(messages: readonly ModelMessage[], toolCallId: string): { reason: string | undefined } | undefined {
  const requested = new Set<string>();
  for (const m of messages) {
    if (m.role !== "assistant" || typeof m.content === "string") continue;
    for (const part of m.content) if (part.type === "tool-approval-request" && part.toolCallId === toolCallId) requested.add(part.approvalId);
  }
  for (const m of messages) {
    if (m.role !== "tool") continue;
    for (const part of m.content) {
      if (part.type === "tool-approval-response" && requested.has(part.approvalId) && part.approved === true) return { reason: part.reason };
    }
  }
  return undefined;
}
