/**
 * The runtime's public types: the compiled policy module it enforces, decisions, contexts, and
 * the interfaces of its pluggable parts (approval handlers, history stores, audit sinks).
 */

import type { FiredRule, GrantOffer, PolicyDecision } from "@agent-armor/contract";
import type { GrantStore } from "./grants.js";

// the compiled module's contract, re-exported for the runtime's users
export type { DecisionInput, DecisionKind, EffectKind, FiredRule, GrantInput, GrantOffer, GrantUse, PolicyDecision, PolicyMetadata, PolicyModule, PolicyTracker } from "@agent-armor/contract";

/** An action an agent proposes: a tool name in `type` and its arguments. */
export interface Action {
  type: string;
  [field: string]: unknown;
}

/** Who and where: passed with every action. */
export interface ActionContext {
  /** The session whose history rate limits and `seen` rules read; "default" when absent. */
  session?: string;
  user?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/**
 * The decision on a tool's result (`stage: "result"`, with `result`) or a model's message
 * (`stage: "output"`, with `output`): the value as the policy rewrote it, and its hash. A result's
 * decision carries the id, action and action hash of the call whose result it is; a message's
 * has an id of its own, `action: null` and an empty `actionHash`.
 */
export interface StageDecision extends Decision {
  stage: "result" | "output";
  labels: string[];
  /** SHA-256 of the canonical JSON of the result or message as decided (rewritten); empty when it is not JSON. */
  valueHash: string;
}

/** A decision as the runtime reports it: the policy's decision plus identity and provenance. */
export interface Decision extends PolicyDecision {
  /** Unique id of this decision; audit records carry it. */
  id: string;
  /** ISO-8601 time of the decision. */
  time: string;
  policy: { name: string; version: string | null; sourceHash: string };
  session: string;
  /** SHA-256 of the canonical JSON of the action as decided (after redaction). */
  actionHash: string;
  /** Present on an allowed `decide(..., { reserve: true })`: the action is counted, pending `record` or `release`. */
  reserved?: true;
}

// ---- approvals ---------------------------------------------------------------------------

export interface ApprovalRequest {
  /** The decision id; a queue handler uses it as the request id. */
  id: string;
  /** The action to approve, after redaction: exactly what will run. */
  action: unknown;
  /** Binds the approval to this exact action. */
  actionHash: string;
  /** The approval rules that fired, with their reasons. */
  rules: FiredRule[];
  reason: string | null;
  /** The group named by `require approval from "..."`, if any. */
  from: string | null;
  /** The timeout named by the policy, if any; the runtime enforces it. */
  timeoutMs: number | null;
  /**
   * `quorum N`: how many distinct approvers must approve (1 without it). A handler answers when
   * that many have approved, listing them in `approvers`, or at the first rejection; the runtime
   * denies an approval with fewer.
   */
  quorum: number;
  /** `grant ...`: what an approver may grant besides approving once (`grant: true` in the answer); null when the rule offers no grant. */
  grant: GrantOffer | null;
  /**
   * Called by a handler that collects votes (the queue) for each vote it takes, before the answer:
   * the runtime records each in the audit log (`approval` record, event `vote`).
   */
  onVote?: (vote: ApprovalVote) => void;
  session: string;
  user: Record<string, unknown> | undefined;
  policy: Decision["policy"];
  /** Aborted when the runtime stops waiting (timeout). */
  signal: AbortSignal;
  /**
   * Set when a tool's result (`result`) or a model's message (`output`) needs approval, not the
   * call: `action` is then the call whose result it is (null for output).
   */
  stage?: "result" | "output";
  /** The result or message to approve, after redaction: exactly what will be returned. */
  value?: unknown;
  /** Binds the approval to this exact result or message (SHA-256 of its canonical JSON). */
  valueHash?: string;
}

export interface ApprovalResponse {
  approved: boolean;
  /** Who answered (the last vote, with a quorum). */
  approver?: string;
  note?: string;
  /**
   * The answer came after the policy's timeout (a flow that waits outside the runtime, such as a
   * framework's human-in-the-loop, measures the wait itself): the runtime takes it as a timeout.
   */
  expired?: boolean;
  /** Every distinct approver whose approval the answer holds (with a quorum, the voters); `[approver]` when absent. */
  approvers?: string[];
  /**
   * The groups each approver belongs to, where the handler knows them (`{ ann: ["finance"] }`):
   * the runtime then denies an approval by an approver outside the rule's group.
   */
  groups?: Record<string, readonly string[]>;
  /** "Approve and grant": with a rule that offers a grant, the approval also creates it. */
  grant?: boolean;
}

/** One vote on a request (see `ApprovalRequest.onVote`). */
export interface ApprovalVote {
  approver: string | null;
  approved: boolean;
  /** Whether the vote asks for the rule's grant too. */
  grant: boolean;
  note?: string;
}

export interface ApprovalHandler {
  request(req: ApprovalRequest): Promise<ApprovalResponse>;
}

// ---- history -----------------------------------------------------------------------------

/**
 * Where sessions' history state lives. The in-memory store ships; others implement the same
 * interface. The state of a session is owned by the enforcer; a store only keeps it.
 */
export interface HistoryStore {
  get(session: string): SessionHistory | undefined;
  set(session: string, state: SessionHistory): void;
  delete(session: string): void;
  /** The grants approvers gave (grants.ts); a store without them keeps grants in this process. */
  grants?: GrantStore;
}

/**
 * One session's state: for each history predicate (by tracker key) the times of matching
 * actions still inside its window, or a running total when it has none; and the recent executed
 * actions, kept only as long as the longest window, to start the counters of predicates that a
 * reloaded policy adds.
 */
export interface SessionHistory {
  /** `count` and `seen` trackers hold a `TrackerState`; `sum`, `max`, `min` and `seen(... since ...)` their own state (tracker-kinds.ts). */
  trackers: Map<string, TrackerState | object>;
  recent: HistoryEntry[];
  /**
   * The labels the session's decisions added (`session.labels`), each once, in the order they
   * were first added; at most `MAX_SESSION_LABELS`. Absent until the first label.
   */
  labels?: SessionLabels;
}

/** An executed action as the session keeps it to seed the trackers a reloaded policy adds. */
export interface HistoryEntry {
  time: number;
  action: unknown;
  /** The labels of every stage's decision on the action (the call's, then its result's). */
  labels?: readonly string[];
  /**
   * What later predicates need of the action's result. No predicate reads a result in history
   * yet (A214 reserves it), so nothing of the result is kept and this is never set.
   */
  result?: unknown;
}

/** A session's labels: a set to test and add in O(1), and the list decisions read as `session.labels`. */
export interface SessionLabels {
  readonly set: Set<string>;
  /** What a decision reads as `session`: `{ labels }`, the set's members in the order they were added. */
  readonly input: { readonly labels: string[] };
}

export interface TrackerState {
  /** Times (ms) of matching actions inside the window, oldest first, from index `head`. */
  times: number[];
  head: number;
  /** Matching actions in the whole session (used by predicates without a window). */
  total: number;
  /**
   * Actions whose condition could not be evaluated, oldest first: while one is in the window (in
   * the session, without a window) the tracker's value is its error, as a history scan makes it
   * an evaluation error of the rule.
   */
  poison?: { readonly time: number; readonly error: string }[];
}

// ---- audit -------------------------------------------------------------------------------

export interface AuditRecord {
  /** Position in the log, from 0. */
  seq: number;
  /**
   * `gap`: written by the log itself after records were lost (see audit.ts); `shipping`: records
   * a full decision-shipping buffer did not ship (audit-ship.ts).
   */
  kind: "decision" | "outcome" | "result" | "output" | "approval" | "gap" | "shipping";
  decisionId: string;
  time: string;
  [field: string]: unknown;
  /** The `hash` of the previous record, or 64 zeros for the first. */
  prev: string;
  /** SHA-256 of this record without `hash`. */
  hash: string;
}
