/**
 * LangGraph's human-in-the-loop (`interrupt` and `Command({ resume })`) as the runtime's approval
 * handler.
 *
 * Before running a call that a rule could ask approval for, the guarded tool asks the policy
 * (`enforcer.decide`, an audited decision that counts nothing); when it requires approval, the
 * tool calls LangGraph's `interrupt` with the request (the action as it would run, its hash, the
 * rules and reason, the group). The graph stops and its checkpoint keeps the pending call; when
 * the application resumes it with `{ approved, actionHash, approver, note }`, the node runs again,
 * `interrupt` returns that answer, and the guarded call grants it for the session and the decided
 * action's hash. An approval must name the hash of the interrupt it answers: LangGraph hands a
 * resume value to the next `interrupt` of the node, which may belong to another call when the
 * first no longer needs approval, so an answer without the hash, or with another one, rejects.
 * The runtime's approval request for the call is then answered from that grant, and the call is
 * decided again before it runs. An approval given after the policy's timeout (counted from the
 * first interrupt this process raised for the action) is a timeout; a graph resumed by another
 * process counts from its first `ask` there. A request with no grant goes to the fallback, or is
 * rejected.
 *
 * `interrupt` is passed in (`import { interrupt } from "@langchain/langgraph"`), so this package
 * does not depend on LangGraph.
 */
import type { ActionContext, ApprovalHandler, ApprovalRequest, ApprovalResponse, Decision, Enforcer } from "@agent-armor/runtime";
import { flowApprovals, mayRequireApproval } from "@agent-armor/runtime/adapter-kit";

/** What the graph's `interrupt` is given, and what the application sees in `__interrupt__`. */
export interface ArmorApprovalInterrupt {
  kind: "armor_approval";
  tool: string;
  /** The action as it would run (after redaction), and its hash. */
  action: unknown;
  actionHash: string;
  rules: { id: string; reason: string | null }[];
  reason: string | null;
  from: string | null;
  session: string;
}

/** The answer to resume the graph with: `Command({ resume: { approved: true, actionHash: request.actionHash, approver: "lee" } })`. */
export interface ArmorApprovalAnswer {
  approved: boolean;
  /** The `actionHash` of the interrupt answered: an approval holds only for that action. */
  actionHash?: string;
  approver?: string;
  note?: string;
}

export interface LangGraphApprovalsOptions {
  /** LangGraph's `interrupt`. */
  interrupt: (value: ArmorApprovalInterrupt) => unknown;
  /** Answers the requests no interrupt answered (results, output): by default they are rejected. */
  fallback?: ApprovalHandler;
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

export interface LangGraphApprovals extends ApprovalHandler {
  /**
   * Called by a guarded tool before it runs a call: when the policy requires approval for it,
   * interrupts the graph (the first time) or grants the answer it was resumed with; returns the
   * grant's release.
   */
  ask(enforcer: Enforcer, action: { type: string }, ctx: ActionContext | undefined): Promise<() => void>;
}

export function langGraphApprovals(options: LangGraphApprovalsOptions): LangGraphApprovals {
  const flow = flowApprovals({ flow: "a LangGraph interrupt", groups: options.approverGroups ?? [], ...(options.now ? { now: options.now } : {}) });
  return {
    async ask(enforcer, action, ctx) {
      if (!mayRequireApproval(enforcer, action.type)) return () => {};
      const d = await enforcer.decide(action, ctx);
      if (d.decision !== "require_approval") return () => {};
      flow.asked(d.session, d.actionHash);
      const answer = answerOf(options.interrupt(interruptOf(action.type, d)), d.actionHash);
      return flow.grant(d.session, d.actionHash, answer);
    },
    async request(req: ApprovalRequest): Promise<ApprovalResponse> {
      const answer = flow.answer(req);
      if (answer !== undefined) return answer;
      if (options.fallback !== undefined) return options.fallback.request(req);
      return { approved: false, note: "no LangGraph interrupt answered this approval" };
    },
  };
}

function interruptOf(tool: string, d: Decision): ArmorApprovalInterrupt {
  const rules = d.rules.filter((r) => r.effect === "require_approval").map((r) => ({ id: r.id, reason: r.reason ?? null }));
  return {
    kind: "armor_approval",
    tool,
    action: d.action,
    actionHash: d.actionHash,
    rules,
    reason: rules.find((r) => r.reason !== null)?.reason ?? null,
    from: d.approval?.from ?? null,
    session: d.session,
  };
}

/**
 * The resume value as an answer to the interrupt of the action hashed `actionHash`: it approves
 * only as `{ approved: true, actionHash }` with that hash; anything else rejects.
 */
function answerOf(value: unknown, actionHash: string): ApprovalResponse {
  if (typeof value !== "object" || value === null) return { approved: false, note: "the graph was resumed without an answer naming the action: resume with { approved, actionHash }" };
  const v = value as Record<string, unknown>;
  const own = (k: string): unknown => (Object.hasOwn(v, k) ? v[k] : undefined);
  const who = {
    ...(typeof own("approver") === "string" ? { approver: own("approver") as string } : {}),
    ...(typeof own("note") === "string" ? { note: own("note") as string } : {}),
  };
  if (own("approved") === true && own("actionHash") !== actionHash) {
    return { ...who, approved: false, note: "the answer does not name this action (its `actionHash` is another interrupt's, or missing)" };
  }
  return { ...who, approved: own("approved") === true };
}
