/** The enforcer's public types: its options, what its calls take and return, and the Enforcer itself. */
import type { AuditLog, AuditSink } from "../audit.js";
import type { PolicyDiagnostic, PolicySource } from "../load.js";
import type { SharedHistoryStore } from "../store.js";
import type { TelemetryOptions } from "../telemetry/options.js";
import type { Action, ActionContext, ApprovalHandler, Decision, HistoryStore, PolicyModule, StageDecision } from "../types.js";

export type AuditOption =
  | false
  | AuditLog
  | { file: string; fsync?: boolean }
  | { stream: { write(chunk: string, cb: (error?: Error | null) => void): unknown } }
  | { callback: (record: Record<string, unknown>, line: string) => void | Promise<void> }
  | { sinks: AuditSink[] };

export interface ApprovalOutcome {
  required: boolean;
  from: string | null;
  timeoutMs: number | null;
  outcome: "approved" | "rejected" | "timeout" | "error" | "unavailable";
  approver: string | null;
  note: string | null;
  /** The distinct approvers of an approval (with a quorum, every voter); empty otherwise. */
  approvers: string[];
  /** The approvers' groups, where the handler reported them; null otherwise. */
  groups: Readonly<Record<string, readonly string[]>> | null;
  /** Whether the approval also grants what the rule offers ("approve and grant"). */
  grant: boolean;
}

/** A decision of the candidate policy that differs from the enforced one. */
export interface ShadowFlip {
  decisionId: string;
  session: string;
  action: unknown;
  enforced: Decision["decision"];
  candidate: Decision["decision"];
  candidateRules: string[];
  /** A flip on a tool's result or a model's message (absent for calls). */
  stage?: "result" | "output";
}

export interface ShadowReport {
  candidate: { name: string; version: string | null; sourceHash: string } | null;
  decisions: number;
  flips: number;
  /** Counts by `enforced->candidate`, e.g. `allow->deny` (a result's or a message's: `result allow->deny`, `output allow->deny`). */
  byKind: Record<string, number>;
}

export interface EnforcerOptions {
  /** A compiled module, the path of a `.armor` file (compiled on load) or of a compiled `.js`. */
  policy: PolicySource;
  /** Who approves `require approval` actions; without one they are denied. */
  approvals?: ApprovalHandler;
  /** Timeout for approvals whose rule names none (default 5 minutes). */
  approvalTimeoutMs?: number;
  /** Where decisions are recorded (default: nowhere). */
  audit?: AuditOption;
  /** What a failing audit sink does to the decision: `deny` (default) or `allow` (reported only). */
  onAuditFailure?: "deny" | "allow";
  /**
   * Session history store: in this process (default, `memoryHistoryStore()`), or shared by many
   * processes and kept across restarts (`redisStore({ url })` from `@agent-armor/store-redis`).
   */
  history?: HistoryStore | SharedHistoryStore;
  /** Milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
  /** Called with every decision. */
  onDecision?: (decision: Decision) => void;
  /** Called with every failure the enforcer absorbs (audit sinks, callbacks, shadow policy). */
  onError?: (error: Error) => void;
  /** Validate actions against the policy's schema before deciding (default: when it has one). */
  validate?: boolean;
  /**
   * With `policy` the path of a `.armor` file: reload it whenever it or a file it imports changes
   * (the folders of those files are watched, so a file replaced by an editor or created later is
   * seen). A policy that does not load leaves the last good one in force; `onReload` hears every
   * attempt, and a failed one also goes to `onError`. `close()` stops watching.
   */
  watch?: boolean | { readonly debounceMs?: number; readonly onReload?: (result: LoadResult) => void };
  /** A candidate policy decided beside the enforced one; its flips are reported, never enforced. */
  shadow?: PolicySource;
  onShadowFlip?: (flip: ShadowFlip) => void;
  /**
   * `run` throws `ActionDenied` on deny and `ResultWithheld` when the result is withheld
   * (default); with false it returns `{ decision }` or `{ decision, resultDecision }`.
   */
  throwOnDeny?: boolean;
  /**
   * How long an audit write may take (default 5 seconds); a sink that takes longer (or never
   * settles) counts as failed, so the action is denied with an error naming it.
   */
  auditTimeoutMs?: number;
  /** How long a reservation (`decide(..., { reserve: true })`) can be settled or released (default 10 minutes). */
  reservationTtlMs?: number;
  /**
   * How many reservations can be pending at once (default 10,000). At the cap, a new reservation
   * retires its own session's oldest, as its expiry would: it stays counted and can no longer be
   * released; a session with none pending is refused (the decision is a deny saying so). One
   * session never retires another's.
   */
  maxReservations?: number;
  /**
   * How many reservations one session can have pending at once (default 1,000, at most
   * `maxReservations`): past it, the session's own oldest is retired.
   */
  maxReservationsPerSession?: number;
  /**
   * OpenTelemetry spans and metrics (docs/telemetry.md): by default to the global providers an
   * SDK registered, at no cost when none is; `false` for none at all.
   */
  telemetry?: TelemetryOptions | false;
}

export interface DecideOptions {
  /**
   * Count an allowed action in the session's history at once, as `run` does, and keep the
   * reservation under the decision's id until `record` settles it or `release` takes it back.
   */
  reserve?: boolean;
}

export interface LoadResult {
  ok: boolean;
  /** The compiler's diagnostics for a `.armor` source (warnings on success, errors on failure). */
  diagnostics: PolicyDiagnostic[];
  /** The files the policy loaded was compiled from (the policy and every file it imports); absent when none was loaded. */
  files?: string[];
  /** Why the policy was not loaded. */
  error?: string;
}

export interface RecordInfo {
  /**
   * The decision the action ran under, if known; a new id otherwise. When it names a pending
   * reservation of the same session and action, the reservation is settled: the action is not
   * counted again.
   */
  decisionId?: string;
  outcome?: "ok" | "error";
  error?: string;
  /**
   * A person approved this action for `decisionId` (a `require_approval` decision approved outside
   * `run`, as `armor serve`'s approvals are): it is recorded without a reservation even where a
   * grant's amount would govern it (otherwise `GrantNeedsReservation`).
   */
  approved?: boolean;
}

export interface ResultInfo {
  /**
   * The decision the action ran under. When it names a pending reservation of the same session
   * and action, the result record is filed under it and the labels the result adds go to that
   * action's history entry (so check the result before `record` settles the reservation);
   * otherwise the record gets an id of its own.
   */
  decisionId?: string;
  /** Throw `NoReservation`, deciding nothing, unless `decisionId` names such a reservation. */
  requireReservation?: boolean;
}

export interface RecordResult {
  decisionId: string;
  session: string;
  actionHash: string;
  /** The record settled a reservation, so the history did not count the action again. */
  settled: boolean;
}

export interface RunResult<T> {
  decision: Decision;
  /**
   * Present when the action ran and its result was not withheld: what the tool returned, or, when
   * the policy has rules on results, a copy of it as the policy rewrote it.
   */
  result?: T;
  /** The result stage's decision, when the policy has rules on results and the action ran. */
  resultDecision?: StageDecision;
}

/** A model's message for `checkOutput`: its text and whatever else the host gives (`lang`), or just the text. */
export type OutputMessage = string | { text: string; [field: string]: unknown };

export interface Enforcer {
  /**
   * Decides an action without running it. With `reserve`, an allowed action is counted in the
   * session's history at once (before anything is awaited) and the decision says `reserved:
   * true`; `record` with its id settles the reservation, `release` takes it back.
   */
  decide(action: unknown, ctx?: ActionContext, options?: DecideOptions): Promise<Decision>;
  /**
   * Decides, asks for approval when required, runs `execute` with the (rewritten) action when
   * allowed; then, when the policy has rules on results, decides the result (asking for approval
   * when required) and returns it as the policy rewrote it, or withholds it (`ResultWithheld`).
   */
  run<T>(action: unknown, ctx: ActionContext | undefined, execute: (action: Action) => T | Promise<T>): Promise<RunResult<T>>;
  /**
   * Records an action that was executed outside `run` (e.g. reported to a decision service after
   * the fact): it counts in the session's history whatever a decision now would say, and an
   * `outcome` record (`mode: "record"`) goes to the audit log. Rejects if the audit log fails;
   * the history keeps the action either way, since it ran.
   */
  record(action: unknown, ctx?: ActionContext, info?: RecordInfo): Promise<RecordResult>;
  /**
   * Takes back a pending reservation: the action no longer counts, and an outcome record
   * (`outcome: "released"`) says so. False when no reservation with that id is pending (never
   * made, settled, released, or expired: an expired reservation stays counted), and when it is
   * another session's: only the session that reserved (`ctx.session`) may take it back.
   */
  release(decisionId: string, ctx?: ActionContext): Promise<boolean>;
  /**
   * "Approve and grant" for an approval given outside `run` (as `armor serve`'s approvers give
   * them): makes the grant the `require_approval` decision's rule offers, for the decision's
   * session or field value, on record (an `approval` record, event `grant`, with `approvers`)
   * before it is kept. Later decisions it covers (`run`, and `decide`) use it. The grant's id, or
   * null when the rule offers none or the grant was not made (its record or the store failed).
   */
  grant(decision: Decision, approvers: readonly string[]): Promise<string | null>;
  /**
   * Decides a model's message before the user reads it (the policy's rules on output), asking for
   * approval when required, and writes an `output` record. Never throws for a deny: the host
   * withholds the message when `decision` is not `allow`, and otherwise shows `output`, the
   * message as the policy rewrote it. A string is the message `{ text }`.
   */
  checkOutput(message: OutputMessage, ctx?: ActionContext): Promise<StageDecision>;
  /**
   * Decides the result of an action that ran outside `run` (the host asked `decide` and ran the
   * tool) by the policy's rules on results, asking for approval when required, and writes a
   * `result` record. Never throws for a deny: the host withholds the result when `decision` is
   * not `allow`, and otherwise gives the model `result`, the value as the policy rewrote it.
   */
  checkResult(action: unknown, result: unknown, ctx?: ActionContext, info?: ResultInfo): Promise<StageDecision>;
  /** Guards a tool function `(args) => result`: the action is `{ type: name, ...args }`; the result is decided as in `run`. */
  wrap<A extends Record<string, unknown>, R>(name: string, fn: (args: A) => R | Promise<R>, ctx?: ActionContext | (() => ActionContext)): (args: A) => Promise<R>;
  /** Wraps every function of an object of tools, by key. */
  wrapTools<T extends Record<string, (args: never) => unknown>>(
    tools: T,
    ctx?: ActionContext | (() => ActionContext),
  ): { [K in keyof T]: (args: Parameters<T[K]>[0]) => Promise<Awaited<ReturnType<T[K]>>> };
  /** Swaps in a new policy atomically; one that does not compile leaves the old in force. */
  reload(source: PolicySource): Promise<LoadResult>;
  /** Sets or clears the shadow candidate. */
  setShadow(source: PolicySource | null): Promise<LoadResult>;
  shadowReport(): ShadowReport;
  /** The metadata of the policy in force. */
  readonly policy: PolicyModule["policy"];
  /** Forgets a session's history. */
  endSession(session: string): void;
  /** Flushes and closes the audit log. */
  close(): Promise<void>;
}
