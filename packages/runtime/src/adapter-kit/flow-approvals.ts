/**
 * Approvals given through an agent framework's own human-in-the-loop flow (the AI SDK's and the
 * Agents SDK's `needsApproval`, LangGraph's interrupts), as answers to the runtime's approval
 * requests.
 *
 * A framework stops before a call the policy sends for approval and hands it to the application;
 * the application answers later, possibly much later, and the framework runs the call. The
 * adapter keeps the answer as a grant for the session and the exact action hash it was asked
 * about; the runtime's approval request for that call is answered from the grant. The grant
 * answers only for the groups the flow speaks for, and only within the policy's approval timeout
 * counted from when the flow first asked: an answer that comes later is a timeout, as it is when
 * the runtime itself waits.
 */
import type { Enforcer } from "../enforcer/api.js";
import type { ApprovalRequest, ApprovalResponse } from "../types.js";

/** Calls asked about and answers given, kept at most this many at a time each (the oldest go first). */
export const MAX_FLOW_PENDING = 10_000;

export interface FlowApprovalsOptions {
  /** The flow, as messages name it: `"the AI SDK's tool approval"`. */
  flow: string;
  /** The groups whoever answers the flow belongs to (`approverGroups`). */
  groups: readonly string[];
  /** The milliseconds clock the wait is measured with (default `Date.now`). */
  now?: () => number;
}

/** The approvals a framework's flow gave, by session and action hash. */
export interface FlowApprovals {
  /**
   * The flow asked about this action (first time only: asking again, as a framework does when it
   * resumes, keeps the first time); the wait for its answer counts from then.
   */
  asked(session: string, actionHash: string): void;
  /** The flow answered for this action: the runtime's next request for it gets `answer`; returns the grant's release. */
  grant(session: string, actionHash: string, answer: ApprovalResponse): () => void;
  /** The answer to a request of the runtime from a grant (used up), or undefined when the flow gave none. */
  answer(req: ApprovalRequest): ApprovalResponse | undefined;
}

const keyOf = (session: string, actionHash: string): string => `${session}\u0000${actionHash}`;

export function flowApprovals(options: FlowApprovalsOptions): FlowApprovals {
  const now = options.now ?? Date.now;
  const askedAt = new Map<string, number>();
  const grants = new Map<string, { answer: ApprovalResponse; askedAt: number | null }>();
  return {
    asked(session, actionHash) {
      const key = keyOf(session, actionHash);
      if (askedAt.has(key)) return;
      askedAt.set(key, now());
      bound(askedAt);
    },
    grant(session, actionHash, answer) {
      const key = keyOf(session, actionHash);
      // an answer to a question this process did not see asked (evicted, or asked before a
      // restart) has no start to count the timeout from: it is taken as late
      const g = { answer, askedAt: askedAt.get(key) ?? null };
      askedAt.delete(key);
      grants.set(key, g);
      bound(grants);
      return () => {
        if (grants.get(key) === g) grants.delete(key);
      };
    },
    answer(req) {
      const key = keyOf(req.session, req.actionHash);
      const g = req.stage === undefined ? grants.get(key) : undefined;
      if (g === undefined) return undefined;
      grants.delete(key);
      if (!g.answer.approved) return g.answer;
      if (g.askedAt === null) {
        return { ...g.answer, approved: false, expired: true, note: `${options.flow} answered a question this process has no record of asking, so its wait cannot be bounded: ask again` };
      }
      const waited = now() - g.askedAt;
      if (req.timeoutMs !== null && waited > req.timeoutMs) {
        return { ...g.answer, approved: false, expired: true, note: `${options.flow} answered after ${waited} ms, past the policy's approval timeout of ${req.timeoutMs} ms` };
      }
      const outside = outsideGroups(req.from, options.groups, options.flow);
      return outside === null ? g.answer : { ...g.answer, approved: false, note: outside };
    },
  };
}

function bound(map: Map<string, unknown>): void {
  if (map.size > MAX_FLOW_PENDING) map.delete(map.keys().next().value as string);
}

/** Why a flow that answers for `groups` cannot answer a request asked of `from`, or null when it can. */
export function outsideGroups(from: string | null, groups: readonly string[], flow: string): string | null {
  if (from === null || groups.includes(from)) return null;
  return `the rule asks approval from \`${from}\`, and ${flow} answers for ${groups.length > 0 ? groups.map((g) => `\`${g}\``).join(", ") : "no group"} (approverGroups)`;
}

/** Whether any rule of the policy in force could ask approval for a call of this type (so that other calls are not decided twice). */
export function mayRequireApproval(enforcer: Enforcer, type: string): boolean {
  const p = enforcer.policy;
  if (p.default === "require_approval") return true;
  return p.rules.some((r) => r.effect === "require_approval" && (r.stage ?? "call") === "call" && (r.actionTypes === null || r.actionTypes.includes(type)));
}
