/**
 * Approvals for the decision service (`armor serve --approvers FILE`). `/v1/decide` answers
 * `require_approval` to the agent; this keeps what the service decided, so that the agent can
 * then ask for the approval by the decision's id alone:
 *
 *   POST /v1/approvals { decisionId, session? }  (service token) opens it: the request the
 *        approvers see is the service's decision (the action as it would run, redacted as the
 *        policy redacts it, its hash, rules, reason, group, timeout, session and user), never
 *        anything the agent sends now → 202 { status: "pending", expiresAt, ... }
 *   GET  /v1/approvals/{id}?wait=S  (service token) its state, after waiting up to S seconds
 *        (at most until the approval times out) for an answer: pending, approved, rejected,
 *        timeout or error
 *   approvers answer through the approval routes (approvals-http.ts), by token or the console.
 *
 * The approval's audit records (`requested`, a `vote` for each vote the queue takes, then
 * `approved` (with `approvers` for a quorum), `rejected`, `timeout` or `error`, with the approver
 * the token names) are written to the service's chain under the decision's
 * id, as the runtime writes its own; an approval whose record cannot be written does not count
 * (fail closed). An approved decision may be reported once with `POST /v1/record` under its id,
 * by its own session and only with the approved action (`checkRecord`). Everything here is bounded: decisions kept
 * (`maxKept` of them and `maxKeptBytes` of their JSON, the oldest going first, each for its
 * approval timeout, dropped on a timer after it), pending approvals per session and overall, and
 * waiting requests; past a bound the caller gets 429 saying which.
 */
import { type ApprovalQueue, type ApprovalResponse, type ApprovalVote, actionHash, createApprovalQueue, type Decision, setLongTimeout } from "@agent-armor/runtime";
import { HttpError } from "./http-util.js";

/** The runtime's default approval timeout, for a policy that names none. */
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/** How long a settled approval's answer stays readable (and reportable). */
const KEEP_SETTLED_MS = 10 * 60_000;

export type ApprovalStatus = "pending" | "approved" | "rejected" | "timeout" | "error";

export interface ApprovalState {
  decisionId: string;
  status: ApprovalStatus;
  actionHash: string;
  from: string | null;
  /** When a pending approval times out (ISO-8601). */
  expiresAt: string;
  approver?: string;
  note?: string;
  /** "Approve and grant": the grant the approval made (the rule's offer), which later decisions of its scope use. */
  grantId?: string;
}

export interface ServiceApprovalsOptions {
  /** Appends an approval record to the service's audit log (rejects when it cannot). */
  audit(fields: Record<string, unknown>): Promise<void>;
  /**
   * "Approve and grant": makes the grant the decision's rule offers (the enforcer's `grant`, on
   * record in the same chain); its id, or null when none was made. Without it, approvals are once only.
   */
  grant?(decision: Decision, approvers: readonly string[]): Promise<string | null>;
  maxPending?: number;
  maxPendingPerSession?: number;
  maxWaiting?: number;
  maxKept?: number;
  /** The most decision JSON kept, in all (default 64 MiB): past it, the oldest go first. */
  maxKeptBytes?: number;
  /** How often kept decisions past their time are dropped (default 10 s). */
  sweepMs?: number;
  now?: () => number;
  /** Where pending approvals wait (default: in this process); `redisApprovalQueue` shares them with every replica on one Redis. */
  queue?: ApprovalQueue;
}

interface Kept {
  decision: Decision;
  user: Record<string, unknown> | undefined;
  timeoutMs: number;
  /** Until when it may be opened, or (once settled) read and reported. */
  forgetAt: number;
  state: ApprovalState | null;
  waiters: Set<() => void>;
  /** Reported as run: its record counted it. */
  reported: boolean;
  /** A record of it is under way (`checkRecord` answered true, `recordDone` not yet called). */
  reporting: boolean;
  /** The length of its JSON (the decision's and the user's), counted against `maxKeptBytes`. */
  bytes: number;
}

export interface ServiceApprovals {
  readonly queue: ApprovalQueue;
  /** Keeps a `require_approval` decision of `/v1/decide` (others are ignored). */
  keep(decision: Decision, user: Record<string, unknown> | undefined): void;
  /** Opens the approval of a kept decision (idempotent: an open one answers its state). */
  open(decisionId: string, session: string | undefined): Promise<ApprovalState>;
  /** The state, after waiting up to `waitMs` for a pending approval to settle. */
  wait(decisionId: string, waitMs: number): Promise<ApprovalState>;
  /**
   * For `/v1/record` under `decisionId`: false when the id is no kept decision; 409 unless
   * it is the session's own decision, its approval was given, for this action, and not reported
   * yet, nor being reported; then marks its record under way and answers true (a person approved
   * it). The caller ends that with `recordDone`.
   */
  checkRecord(decisionId: string, action: unknown, session: string): boolean;
  /**
   * Ends the record `checkRecord` let through: `counted` (the action is in the history) marks the
   * approval reported, so it holds no more; otherwise it may be reported again (a record that
   * failed, such as a store that did not answer, is retried).
   */
  recordDone(decisionId: string, counted: boolean): void;
  /** How many decisions are kept, and the length of their JSON. */
  stats(): { kept: number; bytes: number };
  /** Answers every waiting request with the state it has, and stops the timers. */
  close(): void;
}

const unknown = (id: string) =>
  new HttpError(404, "unknown_decision", `no decision ${id} awaits approval here (unknown, not require_approval, another session's, or past its approval timeout)`, {
    hint: "open an approval with the id of a require_approval decision this service gave, within its timeout",
  });

export function createServiceApprovals(options: ServiceApprovalsOptions): ServiceApprovals {
  const now = options.now ?? Date.now;
  const maxPending = options.maxPending ?? 256;
  const perSession = options.maxPendingPerSession ?? 16;
  const maxWaiting = options.maxWaiting ?? 256;
  const maxKept = options.maxKept ?? 10_000;
  const maxKeptBytes = options.maxKeptBytes ?? 64 * 1024 * 1024;
  const queue = options.queue ?? createApprovalQueue();
  const kept = new Map<string, Kept>();
  const timers = new Set<() => void>();
  let waiting = 0;
  let closed = false;
  // approvals opened here and not settled, by session: counted against the limits from the check
  // on, before the request is recorded and in the queue, so that concurrent opens cannot all pass
  const opened = new Map<string, string>();
  const pendingCount = (session: string): { all: number; session: number } => {
    const ids = new Map<string, string>(opened);
    for (const p of queue.pending()) ids.set(p.id, p.session);
    let mine = 0;
    for (const s of ids.values()) if (s === session) mine++;
    return { all: ids.size, session: mine };
  };

  let keptBytes = 0;
  const drop = (id: string, k: Kept): void => {
    kept.delete(id);
    keptBytes -= k.bytes;
  };
  /** Drops the decisions past their time (never a pending one). */
  const sweep = (): void => {
    const t = now();
    for (const [id, k] of kept) if (k.forgetAt <= t && k.state?.status !== "pending") drop(id, k);
  };
  /** Makes room for one more decision of `bytes`: true when there is room. */
  const forget = (bytes: number): boolean => {
    const full = () => kept.size >= maxKept || keptBytes + bytes > maxKeptBytes;
    if (!full()) return true;
    // one that could never fit is not kept, and drops nothing
    if (bytes > maxKeptBytes) return false;
    sweep();
    // still full: the oldest never opened go first, then the oldest settled (never a pending one)
    for (const settledToo of [false, true]) {
      for (const [id, k] of kept) {
        if (!full()) return true;
        if (k.state === null || (settledToo && k.state.status !== "pending")) drop(id, k);
      }
    }
    return !full();
  };
  // past their time, decisions go on a timer too, whether or not the service is full
  const sweeper = setInterval(sweep, options.sweepMs ?? 10_000);
  sweeper.unref?.();

  const settle = async (
    k: Kept,
    status: Exclude<ApprovalStatus, "pending">,
    approver: string | undefined,
    note: string | undefined,
    votes: Promise<Error | null>,
    approvers: string[] | null,
    grant = false,
  ): Promise<void> => {
    const state = k.state!;
    let final: ApprovalState = { ...state, status, ...(approver !== undefined ? { approver } : {}), ...(note !== undefined ? { note } : {}) };
    try {
      // every vote is on record before the answer; a vote that is not does not count
      const lost = await votes;
      if (lost !== null) throw lost;
      await options.audit(record(k, status === "error" ? "error" : status, { from: state.from, approver: approver ?? null, note: note ?? null, ...(approvers !== null ? { approvers } : {}) }));
      // the grant after the approval it comes with is on record (a grant that is not made leaves the approval once only)
      if (status === "approved" && grant && options.grant !== undefined) {
        const grantId = await options.grant(k.decision, approvers ?? (approver !== undefined ? [approver] : [])).catch(() => null);
        if (grantId !== null) final = { ...final, grantId };
      }
    } catch (e) {
      // an approval that is not on record does not count
      if (status === "approved") final = { ...final, status: "error", note: `the approval could not be recorded: ${(e as Error).message}` };
    }
    k.state = final;
    k.forgetAt = now() + KEEP_SETTLED_MS;
    for (const wake of [...k.waiters]) wake();
  };

  return {
    queue,
    keep(decision, user) {
      if (decision.decision !== "require_approval" || decision.actionHash === "") return;
      if (closed || kept.has(decision.id)) return;
      let bytes: number;
      try {
        bytes = JSON.stringify(decision).length + (user === undefined ? 0 : JSON.stringify(user).length);
      } catch {
        return;
      }
      if (!forget(bytes)) return;
      const timeoutMs = decision.approval?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      kept.set(decision.id, { decision, user, timeoutMs, forgetAt: now() + timeoutMs, state: null, waiters: new Set(), reported: false, reporting: false, bytes });
      keptBytes += bytes;
    },

    async open(decisionId, session) {
      if (closed) throw new HttpError(503, "shutting_down", "the service is shutting down");
      const k = kept.get(decisionId);
      if (k === undefined || (session !== undefined && session !== k.decision.session)) throw unknown(decisionId);
      if (k.state !== null) return k.state;
      if (k.forgetAt <= now()) throw unknown(decisionId);
      const pending = pendingCount(k.decision.session);
      if (pending.all >= maxPending)
        throw new HttpError(429, "too_many_pending", `${maxPending} approvals are pending, the most this service keeps; answer or let some time out first`, {}, { "retry-after": "5" });
      if (pending.session >= perSession) {
        throw new HttpError(429, "too_many_pending", `session ${k.decision.session} has ${perSession} approvals pending, the most one session may`, {}, { "retry-after": "5" });
      }
      // pending from here: the awaits below cannot let another open past the limits
      opened.set(decisionId, k.decision.session);
      const d = k.decision;
      const from = d.approval?.from ?? null;
      const expiresAt = now() + k.timeoutMs;
      k.state = { decisionId, status: "pending", actionHash: d.actionHash, from, expiresAt: new Date(expiresAt).toISOString() };
      try {
        await options.audit(record(k, "requested", { from, timeoutMs: k.timeoutMs }));
      } catch (e) {
        k.state = null;
        opened.delete(decisionId);
        throw new HttpError(500, "audit_failed", `the approval was not opened: its request could not be recorded in the audit log: ${(e as Error).message}`);
      }
      const rules = d.rules.filter((r) => r.effect === "require_approval");
      const quorum = d.approval?.quorum ?? 1;
      // each vote the queue takes is an `approval` record (event `vote`), in order, as the runtime writes them
      let votes: Promise<Error | null> = Promise.resolve(null);
      const onVote = (v: ApprovalVote): void => {
        const fields = { from, approver: v.approver, approved: v.approved, ...(v.grant ? { grant: true } : {}), ...(v.note !== undefined ? { note: v.note } : {}) };
        votes = votes.then(async (earlier) => {
          try {
            await options.audit(record(k, "vote", fields));
            return earlier;
          } catch (e) {
            return earlier ?? (e as Error);
          }
        });
      };
      const controller = new AbortController();
      const stop = setLongTimeout(() => controller.abort(new Error("approval timed out")), k.timeoutMs);
      timers.add(stop);
      queue
        .request({
          id: decisionId,
          action: d.action,
          actionHash: d.actionHash,
          rules,
          reason: rules.find((r) => r.reason !== null)?.reason ?? null,
          from,
          timeoutMs: k.timeoutMs,
          session: d.session,
          user: k.user,
          policy: d.policy,
          signal: controller.signal,
          quorum,
          // what "approve and grant" grants: the offer of the one approval rule that fired (once only without `grant`)
          grant: options.grant !== undefined && rules.length === 1 ? (d.approval?.grant ?? null) : null,
          onVote,
        })
        .then(
          (answer) => {
            const approved = answer.approved === true && (quorum <= 1 || approversOf(answer).length >= quorum);
            const approvers = approved && (quorum !== 1 || approversOf(answer).length > 1) ? approversOf(answer) : null;
            return settle(k, approved ? "approved" : "rejected", answer.approver, answer.note, votes, approvers, approved && answer.grant === true);
          },
          (e: unknown) => settle(k, controller.signal.aborted && !closed ? "timeout" : "error", undefined, controller.signal.aborted ? undefined : (e as Error).message, votes, null),
        )
        .finally(() => {
          stop();
          timers.delete(stop);
          opened.delete(decisionId);
        });
      return k.state;
    },

    async wait(decisionId, waitMs) {
      const k = kept.get(decisionId);
      if (k === undefined || k.state === null) throw unknown(decisionId);
      const left = Date.parse(k.state.expiresAt) - now();
      if (k.state.status !== "pending" || waitMs <= 0 || closed) return k.state;
      if (waiting >= maxWaiting)
        throw new HttpError(429, "too_many_waiting", `${maxWaiting} requests are waiting for approvals, the most this service holds; poll without wait or retry`, {}, { "retry-after": "1" });
      waiting++;
      try {
        await new Promise<void>((resolve) => {
          // bounded by the approval's own timeout (its settlement wakes this too)
          const stop = setLongTimeout(done, Math.max(0, Math.min(waitMs, left + 1_000)));
          function done(): void {
            stop();
            k!.waiters.delete(done);
            resolve();
          }
          k.waiters.add(done);
        });
      } finally {
        waiting--;
      }
      return k.state;
    },

    checkRecord(decisionId, action, session) {
      const k = kept.get(decisionId);
      if (k === undefined) return false;
      if (k.decision.session !== session) {
        throw new HttpError(409, "session_mismatch", `decision ${decisionId} is another session's: a decision is reported by the session it was decided for`, {
          location: "/session",
          hint: "send the same `session` as in the decision's /v1/decide",
        });
      }
      const status = k.state?.status ?? "not opened";
      if (status !== "approved") throw new HttpError(409, "not_approved", `decision ${decisionId} requires approval, and its approval is ${status}: it may not be reported as run`);
      let hash: string;
      try {
        hash = actionHash(action);
      } catch {
        hash = "";
      }
      if (hash !== k.state!.actionHash) throw new HttpError(409, "hash_mismatch", "this is not the action that was approved: report the decision's `action` exactly as the service returned it");
      if (k.reported) throw new HttpError(409, "approval_used", `the approval of decision ${decisionId} was already reported as run: an approval holds once`);
      if (k.reporting) {
        throw new HttpError(409, "approval_in_use", `a record of the approval of decision ${decisionId} is under way: an approval holds once`, {
          hint: "retry once that record answered: if it failed, the approval may be reported again",
        });
      }
      k.reporting = true;
      return true;
    },

    recordDone(decisionId, counted) {
      const k = kept.get(decisionId);
      if (k === undefined) return;
      k.reporting = false;
      if (counted) k.reported = true;
    },

    stats() {
      return { kept: kept.size, bytes: keptBytes };
    },

    close() {
      closed = true;
      clearInterval(sweeper);
      for (const stop of timers) stop();
      timers.clear();
      for (const k of kept.values()) for (const wake of [...k.waiters]) wake();
    },
  };
}

/** An `approval` audit record, in the shape the runtime writes its own (approval-step.ts). */
function record(k: Kept, event: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { kind: "approval", decisionId: k.decision.id, time: new Date().toISOString(), session: k.decision.session, actionHash: k.decision.actionHash, event, ...fields };
}

/** The distinct approvers an answer holds: its `approvers`, or its one `approver`. */
function approversOf(answer: ApprovalResponse): string[] {
  const names = Array.isArray(answer.approvers) ? answer.approvers : typeof answer.approver === "string" ? [answer.approver] : [];
  return [...new Set(names.filter((n): n is string => typeof n === "string"))];
}
