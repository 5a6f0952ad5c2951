/**
 * The approval handlers that ship with the runtime.
 *
 * - `createApprovalQueue()`: requests wait in an in-process queue until a program (a UI, a chat
 *   bot, a test) resolves them by id.
 * - `terminalApprovals()`: asks a human at a terminal, one request at a time.
 *
 * The enforcer owns the timeout: it aborts `req.signal` when it stops waiting and treats a
 * timeout, a rejection or a thrown error as deny. Both handlers then drop the request and reject
 * its promise with `ApprovalAborted`. The enforcer also checks that the action it executes has
 * the approved hash; the queue additionally lets a resolver pin the hash it looked at.
 *
 * This module imports no Node modules at top level; the terminal handler loads `node:readline`
 * and `node:os` when it first needs them.
 */
import type { ApprovalHandler, ApprovalRequest, ApprovalResponse, ApprovalVote, Decision, FiredRule, GrantOffer } from "./types.js";

/** The request's promise rejects with this when `req.signal` aborts before an answer. */
export class ApprovalAborted extends Error {
  override readonly name = "ApprovalAborted";
  /** The request (decision) id. */
  readonly id: string;
  /** `req.signal.reason`. */
  readonly reason: unknown;

  constructor(id: string, reason?: unknown) {
    const why = reason instanceof Error ? `: ${reason.message}` : typeof reason === "string" ? `: ${reason}` : "";
    super(`approval request ${id} was aborted${why}`);
    this.id = id;
    this.reason = reason;
  }
}

// ---- queue -------------------------------------------------------------------------------

/** A request waiting in an `ApprovalQueue`: the request without its signal, plus its arrival time. */
export interface PendingApproval {
  readonly id: string;
  readonly action: unknown;
  readonly actionHash: string;
  readonly rules: readonly FiredRule[];
  readonly reason: string | null;
  readonly from: string | null;
  readonly timeoutMs: number | null;
  /** The distinct approvers needed (`quorum N`; 1 without it). */
  readonly quorum: number;
  /** The approvers who approved so far, in the order they voted. */
  readonly approvers: readonly string[];
  /** What an approver may grant besides approving once (`require approval ... grant`), or null. */
  readonly grant: Readonly<GrantOffer> | null;
  readonly session: string;
  readonly user: Record<string, unknown> | undefined;
  readonly policy: Decision["policy"];
  /** ISO-8601 time the request arrived. */
  readonly requestedAt: string;
  /** For a tool's result or a model's message: the stage, the value as it will be returned, and its hash. */
  readonly stage?: "result" | "output";
  readonly value?: unknown;
  readonly valueHash?: string;
}

/**
 * An answer given to `ApprovalQueue.resolve`. With `actionHash` (or `valueHash`, for a result or
 * a message), the queue refuses the answer unless it is the hash of the pending request: a
 * resolver that looked at a stale view of an action cannot approve a different one.
 */
export interface ApprovalResolution extends Omit<ApprovalResponse, "groups" | "approvers"> {
  actionHash?: string;
  valueHash?: string;
  /** The groups of the approver who votes, where the resolver knows them (approvers.ts does). */
  groups?: readonly string[];
}

/**
 * A change of an `ApprovalQueue`: a request joined it (`requested`) or left it (`settled`:
 * answered, aborted or timed out). Listeners read the request itself with `get(id)`.
 */
export interface ApprovalQueueEvent {
  readonly type: "requested" | "settled";
  readonly id: string;
}

export interface ApprovalQueueOptions {
  /** Called synchronously when a request arrives (after it joined the queue). */
  onRequest?: (pending: PendingApproval) => void;
  /**
   * The most requests pending at once (default 1,000, as the Redis queue): a request past it is
   * refused (its promise rejects, saying so), and the enforcer denies its action.
   */
  maxPending?: number;
}

/** The default bound of an in-memory approval queue: the requests pending at once. */
const DEFAULT_MAX_PENDING = 1_000;

export interface ApprovalQueue extends ApprovalHandler {
  /** The requests waiting for an answer, in arrival order. */
  pending(): PendingApproval[];
  /** A waiting request, or undefined when unknown or already settled. */
  get(id: string): PendingApproval | undefined;
  /**
   * Votes on a waiting request: a rejection settles it rejected; an approval by `approver` is
   * counted, and settles it approved once `quorum` distinct approvers approved (an approval
   * without an approver counts only when the quorum is 1). False when the id is unknown, the
   * request is already settled (answered or aborted), `response.actionHash` is given and differs
   * from the request's, or the vote counts nothing (the approver already approved, or no
   * approver with a quorum above 1). `get(id)` shows the votes of a request still waiting.
   */
  resolve(id: string, response: ApprovalResolution): boolean;
  /**
   * `resolve` for a queue kept outside this process (a shared store): resolves once the vote is
   * stored there, true when it was taken (as `resolve`), and rejects when the store did not take
   * it (unreachable), so that a caller never reports a vote that was lost. Absent where
   * `resolve` already applies the vote before it returns (the in-memory queue).
   */
  answer?(id: string, response: ApprovalResolution): Promise<boolean>;
  /**
   * `answer`, also saying how many approvals the shared store holds after the vote (other
   * processes' votes included), where `get(id)` may not show them yet; `votes` is null when the
   * vote counted none (a rejection, or not taken).
   */
  vote?(id: string, response: ApprovalResolution): Promise<{ taken: boolean; votes: number | null }>;
  /** `resolve(id, { approved: true, approver, note })`. */
  approve(id: string, approver: string, note?: string): boolean;
  /** `resolve(id, { approved: false, approver, note })`. */
  reject(id: string, approver: string, note?: string): boolean;
  /**
   * The first waiting request that satisfies `predicate`, or else the next one to arrive that
   * does. Rejects with `ApprovalAborted` if `options.signal` aborts first.
   */
  waitFor(predicate?: (pending: PendingApproval) => boolean, options?: { signal?: AbortSignal }): Promise<PendingApproval>;
  /**
   * Calls `listener` after each change, synchronously, in the order of the changes; returns the
   * function that unsubscribes. A listener that throws is unsubscribed (it cannot stop the queue
   * or the other listeners).
   */
  subscribe(listener: (event: ApprovalQueueEvent) => void): () => void;
}

interface QueueEntry {
  pending: PendingApproval;
  /** The approvals so far, by approver: its groups (when the resolver gave them) and whether it asked for the grant. */
  readonly votes: Map<string, { groups: readonly string[] | undefined; grant: boolean }>;
  onVote: ((vote: ApprovalVote) => void) | undefined;
  settle(response: ApprovalResponse): void;
}

interface Waiter {
  predicate: (pending: PendingApproval) => boolean;
  resolve(pending: PendingApproval): void;
  reject(error: unknown): void;
}

/** What every approval queue tells the same way: events to its listeners, and requests to `waitFor`'s waiters. */
export interface QueueNotices {
  /** Tells the listeners; a listener that throws is unsubscribed. */
  emit(type: ApprovalQueueEvent["type"], id: string): void;
  /** Hands a request that joined the queue to the waiters it matches. */
  offer(pending: PendingApproval): void;
  subscribe: ApprovalQueue["subscribe"];
  waitFor: ApprovalQueue["waitFor"];
  /** Rejects every waiter with `error` (the queue closed). */
  rejectAll(error: unknown): void;
}

/** The notices of a queue whose waiting requests `current` lists, in arrival order. */
export function queueNotices(current: () => Iterable<PendingApproval>): QueueNotices {
  const waiters = new Set<Waiter>();
  const listeners = new Set<(event: ApprovalQueueEvent) => void>();
  return {
    emit(type, id) {
      const event: ApprovalQueueEvent = Object.freeze({ type, id });
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch {
          listeners.delete(listener);
        }
      }
    },
    offer(pending) {
      for (const waiter of [...waiters]) {
        let matches: boolean;
        try {
          matches = waiter.predicate(pending);
        } catch (error) {
          waiters.delete(waiter);
          waiter.reject(error);
          continue;
        }
        if (matches) {
          waiters.delete(waiter);
          waiter.resolve(pending);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    rejectAll(error) {
      for (const waiter of [...waiters]) {
        waiters.delete(waiter);
        waiter.reject(error);
      }
    },
    waitFor(predicate = () => true, waitOptions = {}) {
      return new Promise<PendingApproval>((resolve, reject) => {
        const { signal } = waitOptions;
        if (signal?.aborted) {
          reject(new ApprovalAborted("waitFor", signal.reason));
          return;
        }
        try {
          for (const pending of current()) {
            if (predicate(pending)) {
              resolve(pending);
              return;
            }
          }
        } catch (error) {
          reject(error);
          return;
        }
        const onAbort = (): void => {
          waiters.delete(waiter);
          reject(new ApprovalAborted("waitFor", signal?.reason));
        };
        const waiter: Waiter = {
          predicate,
          resolve(pending) {
            signal?.removeEventListener("abort", onAbort);
            resolve(pending);
          },
          reject(error) {
            signal?.removeEventListener("abort", onAbort);
            reject(error);
          },
        };
        waiters.add(waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}

export function createApprovalQueue(options: ApprovalQueueOptions = {}): ApprovalQueue {
  // Map iteration order is insertion order: arrival order.
  const entries = new Map<string, QueueEntry>();
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  const { emit, offer, subscribe, waitFor } = queueNotices(function* () {
    for (const entry of entries.values()) yield entry.pending;
  });

  const queue: ApprovalQueue = {
    request(req: ApprovalRequest): Promise<ApprovalResponse> {
      return new Promise<ApprovalResponse>((resolve, reject) => {
        const { signal } = req;
        if (signal.aborted) {
          reject(new ApprovalAborted(req.id, signal.reason));
          return;
        }
        if (entries.has(req.id)) {
          reject(new Error(`an approval request with id ${req.id} is already pending`));
          return;
        }
        if (entries.size >= maxPending) {
          reject(new Error(`the approval queue already holds ${maxPending} pending requests, the most it keeps`));
          return;
        }
        const pending: PendingApproval = Object.freeze({
          id: req.id,
          action: req.action,
          actionHash: req.actionHash,
          rules: Object.freeze(req.rules.map((r) => Object.freeze({ ...r }))),
          reason: req.reason,
          from: req.from,
          timeoutMs: req.timeoutMs,
          quorum: validQuorum(req.quorum),
          approvers: Object.freeze([]),
          grant: req.grant === null || req.grant === undefined ? null : Object.freeze({ ...req.grant }),
          session: req.session,
          user: req.user,
          policy: Object.freeze({ ...req.policy }),
          requestedAt: new Date().toISOString(),
          ...(req.stage !== undefined ? { stage: req.stage, value: req.value, valueHash: req.valueHash } : {}),
        });
        const onAbort = (): void => {
          if (entries.get(req.id) !== entry) return;
          entries.delete(req.id);
          reject(new ApprovalAborted(req.id, signal.reason));
          emit("settled", req.id);
        };
        const entry: QueueEntry = {
          pending,
          votes: new Map(),
          onVote: req.onVote,
          settle(response) {
            entries.delete(req.id);
            signal.removeEventListener("abort", onAbort);
            resolve(response);
            emit("settled", req.id);
          },
        };
        entries.set(req.id, entry);
        signal.addEventListener("abort", onAbort, { once: true });

        if (options.onRequest) {
          try {
            options.onRequest(pending);
          } catch (error) {
            if (entries.get(req.id) === entry) {
              entries.delete(req.id);
              signal.removeEventListener("abort", onAbort);
              reject(error);
            }
            return;
          }
        }
        // onRequest may have answered it already.
        if (entries.get(req.id) !== entry) return;
        emit("requested", req.id);
        if (entries.get(req.id) === entry) offer(pending);
      });
    },

    pending() {
      return [...entries.values()].map((e) => e.pending);
    },

    get(id) {
      return entries.get(id)?.pending;
    },

    resolve(id, response) {
      const entry = entries.get(id);
      if (!entry) return false;
      if (response.actionHash !== undefined && response.actionHash !== entry.pending.actionHash) return false;
      if (response.valueHash !== undefined && response.valueHash !== entry.pending.valueHash) return false;
      return vote(entry, response);
    },

    approve(id, approver, note) {
      return queue.resolve(id, note === undefined ? { approved: true, approver } : { approved: true, approver, note });
    },

    reject(id, approver, note) {
      return queue.resolve(id, note === undefined ? { approved: false, approver } : { approved: false, approver, note });
    },

    subscribe,
    waitFor,
  };
  return queue;
}

/** A request's quorum as the queue counts it: a whole number of at least 1 (1 for anything else). */
function validQuorum(q: unknown): number {
  return typeof q === "number" && Number.isSafeInteger(q) && q >= 1 ? q : 1;
}

/**
 * One vote on a waiting entry (see `ApprovalQueue.resolve`): counted, reported to the request's
 * `onVote`, and the entry settled when it rejects or completes the quorum; false when it counts
 * nothing.
 */
function vote(entry: QueueEntry, response: ApprovalResolution): boolean {
  const approved = response.approved === true;
  const approver = typeof response.approver === "string" ? response.approver : null;
  const quorum = entry.pending.quorum;
  if (approved && (approver === null ? quorum !== 1 : entry.votes.has(approver))) return false;
  const grant = approved && response.grant === true;
  const note = typeof response.note === "string" ? response.note : undefined;
  if (approver !== null && approved) entry.votes.set(approver, { groups: response.groups, grant });
  try {
    entry.onVote?.({ approver, approved, grant, ...(note !== undefined ? { note } : {}) });
  } catch {
    // a failing listener must not lose the vote; the runtime records votes again from the answer
  }
  if (approved && approver !== null && entry.votes.size < quorum) {
    entry.pending = Object.freeze({ ...entry.pending, approvers: Object.freeze([...entry.votes.keys()]) });
    return true;
  }
  const answer: ApprovalResponse = { approved };
  if (approver !== null) answer.approver = approver;
  if (note !== undefined) answer.note = note;
  if (approved) {
    answer.approvers = [...entry.votes.keys()];
    const groups: Record<string, readonly string[]> = Object.create(null);
    let known = true;
    for (const [name, v] of entry.votes) {
      if (v.groups === undefined) known = false;
      else groups[name] = [...v.groups];
    }
    if (known && entry.votes.size > 0) answer.groups = groups;
    // a grant is made only when every approver asked for it
    if (entry.votes.size > 0 ? [...entry.votes.values()].every((v) => v.grant) : grant) answer.grant = true;
  }
  entry.settle(answer);
  return true;
}

// ---- terminal ----------------------------------------------------------------------------

export interface TerminalApprovalsOptions {
  /** Where answers are read from; default `process.stdin`. */
  input?: NodeJS.ReadableStream;
  /** Where requests and prompts are printed; default `process.stdout`. */
  output?: NodeJS.WritableStream;
  /**
   * The approver recorded on answers. When absent, an approval asks for a name, defaulting to
   * the OS user name (or "terminal" when that is unavailable).
   */
  approver?: string;
}

export interface TerminalApprovals extends ApprovalHandler {
  /** Stops reading the input; requests still waiting are rejected as unanswered. */
  close(): void;
}

/** Shared reader over the input: one readline interface for all prompts. */
interface LineReader {
  /** Marks the start of a prompt; drops stale lines. */
  begin(): void;
  /** Marks the end of a prompt. */
  end(): void;
  /** The next line, or null at end of input. Rejects with `ApprovalAborted` if `signal` aborts. */
  next(id: string, signal: AbortSignal): Promise<string | null>;
  /** After an aborted prompt: an answer typed late must not answer the next request. */
  discardStale(): void;
  close(): void;
}

/**
 * Asks at a terminal: prints the request, then `approve? [y/N] `. "y" or "yes" approves;
 * anything else, including end of input, rejects. Requests are asked one at a time in arrival
 * order. A request whose signal aborts while it is asked prints "approval timed out"; one that
 * aborts while waiting its turn is never shown. Either way its promise rejects with
 * `ApprovalAborted`.
 *
 * Lines typed at a TTY while no question is showing are dropped (an answer must follow the
 * question it answers); from a pipe, type-ahead is kept in order, except across a timeout.
 */
export function terminalApprovals(options: TerminalApprovalsOptions = {}): TerminalApprovals {
  let reader: Promise<LineReader> | undefined;
  let closed = false;
  let turn: Promise<void> = Promise.resolve();
  let defaultName: string | undefined;

  const input = (): NodeJS.ReadableStream => options.input ?? process.stdin;
  const output = (): NodeJS.WritableStream => options.output ?? process.stdout;
  const write = (text: string): void => {
    try {
      output().write(text);
    } catch {
      // An unwritable output must not hang the request; the answer still decides.
    }
  };

  const getReader = (): Promise<LineReader> => {
    reader ??= (async () => {
      const readline = await import("node:readline");
      return openLineReader(readline, input(), closed);
    })();
    return reader;
  };

  const approverName = async (): Promise<string> => {
    if (defaultName !== undefined) return defaultName;
    let name = "terminal";
    try {
      const os = await import("node:os");
      const user = os.userInfo().username;
      if (user) name = user;
    } catch {
      // no user database entry, or not on Node: keep "terminal"
    }
    defaultName = name;
    return name;
  };

  const ask = async (req: ApprovalRequest): Promise<ApprovalResponse> => {
    const lines = await getReader();
    if (req.signal.aborted) throw new ApprovalAborted(req.id, req.signal.reason);
    lines.begin();
    try {
      write(renderRequest(req));
      write("approve? [y/N] ");
      const answer = await lines.next(req.id, req.signal);
      if (answer === null) {
        write("\n");
        return { approved: false, note: "no answer (end of input)" };
      }
      const approved = /^\s*y(es)?\s*$/i.test(answer);
      let approver = options.approver;
      if (approver === undefined) {
        const fallback = await approverName();
        if (approved) {
          write(`approver [${sanitize(fallback)}]: `);
          const name = await lines.next(req.id, req.signal);
          if (name === null) write("\n");
          approver = name?.trim() || fallback;
        } else {
          approver = fallback;
        }
      }
      write(approved ? "approved\n" : "rejected\n");
      return { approved, approver };
    } catch (error) {
      if (error instanceof ApprovalAborted) {
        lines.discardStale();
        write("\napproval timed out\n");
      }
      throw error;
    } finally {
      lines.end();
    }
  };

  return {
    request(req: ApprovalRequest): Promise<ApprovalResponse> {
      return new Promise<ApprovalResponse>((resolve, reject) => {
        const { signal } = req;
        if (signal.aborted) {
          reject(new ApprovalAborted(req.id, signal.reason));
          return;
        }
        // Aborted while waiting for its turn: reject now, skip it when its turn comes.
        let skipped = false;
        const onQueuedAbort = (): void => {
          skipped = true;
          reject(new ApprovalAborted(req.id, signal.reason));
        };
        signal.addEventListener("abort", onQueuedAbort, { once: true });
        const mine = turn.then(async () => {
          signal.removeEventListener("abort", onQueuedAbort);
          if (skipped) return;
          if (closed) {
            resolve({ approved: false, note: "no answer (terminal approvals closed)" });
            return;
          }
          try {
            resolve(await ask(req));
          } catch (error) {
            reject(error);
          }
        });
        turn = mine.catch(() => undefined);
      });
    },

    close() {
      closed = true;
      void reader?.then((r) => r.close()).catch(() => undefined);
    },
  };
}

function openLineReader(readline: typeof import("node:readline"), input: NodeJS.ReadableStream, alreadyClosed: boolean): LineReader {
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  const handle = input as { ref?: () => void; unref?: () => void };
  const buffered: string[] = [];
  let eof = alreadyClosed;
  let active = false;
  let stale = false;
  let waiter: ((line: string | null) => void) | undefined;

  const rl = readline.createInterface({ input, terminal: false, crlfDelay: Infinity });
  // Keep reading (so stale lines can be dropped) without keeping the process alive when idle.
  handle.unref?.();

  rl.on("line", (line: string) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(line);
    } else if (active || (!interactive && !stale)) {
      buffered.push(line);
    }
  });
  rl.on("close", () => {
    eof = true;
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(null);
    }
  });
  if (alreadyClosed) rl.close();

  return {
    begin() {
      active = true;
      if (stale || interactive) buffered.length = 0;
      stale = false;
      handle.ref?.();
    },
    end() {
      active = false;
      waiter = undefined;
      handle.unref?.();
    },
    next(id, signal) {
      const line = buffered.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (eof) return Promise.resolve(null);
      if (signal.aborted) return Promise.reject(new ApprovalAborted(id, signal.reason));
      return new Promise<string | null>((resolve, reject) => {
        const onAbort = (): void => {
          waiter = undefined;
          reject(new ApprovalAborted(id, signal.reason));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter = (l) => {
          signal.removeEventListener("abort", onAbort);
          resolve(l);
        };
      });
    },
    discardStale() {
      stale = true;
      buffered.length = 0;
    },
    close() {
      rl.close();
    },
  };
}

// ---- rendering ---------------------------------------------------------------------------

/** Escapes control and bidi-override characters so requests cannot forge terminal output. */
function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function oneLine(text: string): string {
  return sanitize(text).replace(/\r?\n/g, "\\n").replace(/\t/g, "\\t");
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join("");
}

function actionJson(action: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(action, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value), 2);
  } catch {
    text = undefined;
  }
  return sanitize(text ?? String(action));
}

function renderRequest(req: ApprovalRequest): string {
  const out: string[] = ["", "── approval required ──"];
  const { policy } = req;
  out.push(`policy:  ${oneLine(policy.name)}${policy.version ? ` ${oneLine(policy.version)}` : ""}`);
  out.push(`session: ${oneLine(req.session)}`);
  const userId = req.user?.id ?? req.user?.name;
  if (typeof userId === "string" || typeof userId === "number") out.push(`user:    ${oneLine(String(userId))}`);
  const ruleReasons = new Set(req.rules.map((r) => r.reason));
  if (req.reason !== null && !ruleReasons.has(req.reason)) out.push(`reason:  ${oneLine(req.reason)}`);
  for (const rule of req.rules) {
    out.push(`rule:    ${oneLine(rule.id)}${rule.reason !== null ? ` — ${oneLine(rule.reason)}` : ""}`);
  }
  out.push(`from:    ${req.from !== null ? oneLine(req.from) : "(anyone)"}`);
  if (req.timeoutMs !== null) out.push(`timeout: ${formatDuration(req.timeoutMs)}`);
  if (req.stage !== "output") {
    out.push(req.stage === "result" ? "action (its result is to approve):" : "action:");
    for (const line of actionJson(req.action).split("\n")) out.push(`  ${line}`);
  }
  if (req.stage !== undefined) {
    out.push(`${req.stage}:`);
    for (const line of actionJson(req.value).split("\n")) out.push(`  ${line}`);
  }
  out.push(`hash:    ${oneLine((req.stage !== undefined ? (req.valueHash ?? "") : req.actionHash).slice(0, 12))}`);
  return `${out.join("\n")}\n`;
}
