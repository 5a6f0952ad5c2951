/**
 * The AI SDK's tool approval flow (`needsApproval`, `tool-approval-request` and
 * `tool-approval-response` parts) as the runtime's approval handler.
 *
 * `needsApproval` asks the policy (`enforcer.decide`, an audited decision that counts nothing)
 * whether the call needs approval; the SDK then stops and hands the approval request to the
 * application. When the application answers and calls `generateText`/`streamText` again, the
 * SDK asks `needsApproval` once more and runs the approved call; the guarded `execute` finds the
 * approval in the messages and grants it for that session and the decided action's hash, and the
 * runtime's approval request for the same call is answered from that grant. A request with no
 * grant (another hash, a result or output stage, a call the SDK never asked about) goes to the
 * fallback handler, or is rejected.
 */
import type { ActionContext, ApprovalHandler, ApprovalRequest, ApprovalResponse, Enforcer } from "@agent-armor/runtime";
import type { ModelMessage } from "ai";

/** Tool calls whose approval the SDK was asked for, kept at most this many at a time. */
const MAX_PENDING = 10_000;

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
}

export interface AiSdkApprovals extends ApprovalHandler {
  /** `needsApproval` of a guarded tool: whether the policy requires approval for this call now. */
  needsApproval(enforcer: Enforcer, action: { type: string }, ctx: ActionContext | undefined, toolCallId: string): Promise<boolean>;
  /** Called by a guarded `execute`: grants the approval the messages hold for this call; returns the grant's release. */
  grant(toolCallId: string, messages: readonly ModelMessage[]): () => void;
}

interface Pending {
  session: string;
  actionHash: string;
}

const grantKey = (session: string, actionHash: string): string => `${session}\u0000${actionHash}`;

export function aiSdkApprovals(options: AiSdkApprovalsOptions = {}): AiSdkApprovals {
  const approver = options.approver ?? "ai-sdk tool approval";
  const pending = new Map<string, Pending>();
  const grants = new Map<string, { note: string | undefined }>();

  return {
    async needsApproval(enforcer, action, ctx, toolCallId) {
      if (!mayRequireApproval(enforcer, action.type)) return false;
      const d = await enforcer.decide(action, ctx);
      if (d.decision !== "require_approval") return false;
      pending.delete(toolCallId);
      pending.set(toolCallId, { session: d.session, actionHash: d.actionHash });
      if (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value as string);
      return true;
    },
    grant(toolCallId, messages) {
      const p = pending.get(toolCallId);
      const answer = p === undefined ? undefined : approvalIn(messages, toolCallId);
      if (p === undefined || answer === undefined) return () => {};
      pending.delete(toolCallId);
      const key = grantKey(p.session, p.actionHash);
      grants.set(key, { note: answer.reason });
      return () => grants.delete(key);
    },
    async request(req: ApprovalRequest): Promise<ApprovalResponse> {
      const key = grantKey(req.session, req.actionHash);
      const g = req.stage === undefined ? grants.get(key) : undefined;
      if (g !== undefined) {
        grants.delete(key);
        const outside = outsideGroups(req.from, options.approverGroups ?? []);
        if (outside !== null) return { approved: false, approver, note: outside };
        return { approved: true, approver, ...(g.note !== undefined ? { note: g.note } : {}) };
      }
      if (options.fallback !== undefined) return options.fallback.request(req);
      return { approved: false, approver, note: "not approved through the AI SDK's tool approval (needsApproval)" };
    },
  };
}

/** Why a grant of this flow cannot answer a request asked of `from`, or null when it can. */
function outsideGroups(from: string | null, groups: readonly string[]): string | null {
  if (from === null || groups.includes(from)) return null;
  return `the rule asks approval from \`${from}\`, and the AI SDK's tool approval answers for ${groups.length > 0 ? groups.map((g) => `\`${g}\``).join(", ") : "no group"} (approverGroups)`;
}

/** Whether any rule of the policy in force could ask approval for a call of this type (so that other calls are not decided twice). */
function mayRequireApproval(enforcer: Enforcer, type: string): boolean {
  const p = enforcer.policy;
  if (p.default === "require_approval") return true;
  return p.rules.some((r) => r.effect === "require_approval" && (r.stage ?? "call") === "call" && (r.actionTypes === null || r.actionTypes.includes(type)));
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
