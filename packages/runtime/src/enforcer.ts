/**
 * The enforcer: decides every action an agent proposes before it runs, asks for approvals,
 * runs allowed actions with their rewritten (redacted) arguments, keeps the session history
 * that rate limits and sequence rules read, and writes every decision to the audit log.
 *
 * It fails closed: an exception anywhere while deciding, approving or auditing becomes a deny
 * that names the cause, and nothing runs on a deny.
 */
import { type AuditFields, type AuditLog, type AuditSink, appenderFor, callbackSink, createAuditLog, DEFAULT_WRITE_TIMEOUT_MS, fileSink, type SerializedRecord, streamSink } from "./audit.js";
import { canonicalJsonOrUndefined, JsonValueError, jsonSnapshot, sha256, strictJson } from "./hash.js";
import { memoryHistoryStore, type Reservation, SessionTrackers } from "./history.js";
import { loadPolicy, PolicyLoadError, type PolicyDiagnostic, type PolicySource } from "./load.js";
import { DecisionRecord, OutcomeRecord } from "./records.js";
import type { Action, ActionContext, ApprovalHandler, ApprovalRequest, ApprovalResponse, Decision, HistoryStore, PolicyDecision, PolicyModule } from "./types.js";
import { setLongTimeout, withTimeout } from "./timers.js";
import { type ActionValidator, compileValidator } from "./validate.js";

/** Thrown by `run` (and wrapped tools) when an action is denied; carries the decision. */
export class ActionDenied extends Error {
  constructor(readonly decision: Decision) {
    super(describeDenial(decision));
    this.name = "ActionDenied";
  }
}

/**
 * Thrown by `record` for an input that is not JSON all the way down (a non-finite number, a
 * function, a value that contains itself); `decide` and `run` deny such inputs instead.
 */
export class InvalidInputError extends TypeError {
  override readonly name = "InvalidInputError";
}

function describeDenial(d: Decision): string {
  // the rules that decided: the denying ones when any fired, else the approval rules
  const denying = d.rules.filter((r) => r.effect === "deny");
  const deciding = denying.length > 0 ? denying : d.rules.filter((r) => r.effect === "require_approval");
  const reasons = [
    ...deciding.map((r) => `${r.id}${r.reason ? `: ${r.reason}` : ""}`),
    ...d.errors.map((e) => (e.rule ? `${e.rule}: ${e.message}` : e.message)),
  ];
  return `action \`${String((d.action as { type?: unknown } | null)?.type ?? "?")}\` denied${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`;
}

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
}

/** A decision of the candidate policy that differs from the enforced one. */
export interface ShadowFlip {
  decisionId: string;
  session: string;
  action: unknown;
  enforced: Decision["decision"];
  candidate: Decision["decision"];
  candidateRules: string[];
}

export interface ShadowReport {
  candidate: { name: string; version: string | null; sourceHash: string } | null;
  decisions: number;
  flips: number;
  /** Counts by `enforced->candidate`, e.g. `allow->deny`. */
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
  /** Session history store (default: in memory). */
  history?: HistoryStore;
  /** Milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
  /** Called with every decision. */
  onDecision?: (decision: Decision) => void;
  /** Called with every failure the enforcer absorbs (audit sinks, callbacks, shadow policy). */
  onError?: (error: Error) => void;
  /** Validate actions against the policy's schema before deciding (default: when it has one). */
  validate?: boolean;
  /** A candidate policy decided beside the enforced one; its flips are reported, never enforced. */
  shadow?: PolicySource;
  onShadowFlip?: (flip: ShadowFlip) => void;
  /** `run` throws `ActionDenied` on deny (default); with false it returns `{ decision }`. */
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
   * retires the oldest, as its expiry would: it stays counted and can no longer be released.
   */
  maxReservations?: number;
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
  /** Present when the action ran. */
  result?: T;
}

interface Active {
  module: PolicyModule;
  validator: ActionValidator | null;
  /** The policy's name, version and source hash as its decisions carry them (shared, frozen). */
  meta: Decision["policy"];
  /** Their canonical JSON, for the audit records. */
  metaJson: string | undefined;
}

/**
 * A decision on its way to the audit log, with the canonical JSON of its action: the text its
 * `actionHash` is the hash of, which the decision record reuses rather than serializing the action
 * again. It is undefined when JSON has no text for the action (the record leaves the field out),
 * or when the action cannot be serialized (it contains itself): then the decision is a deny that
 * says so, its `actionHash` is empty, and its record is written without the action.
 */
interface Decided {
  decision: Decision;
  actionJson: string | undefined;
  policyJson: string | undefined;
}

/**
 * What a decision is about, snapshotted once when it is asked for: the action parsed back from
 * its canonical JSON (so the policy, the hash, the audit record, the approver and the tool all
 * see one value, which the caller can no longer change), and the user's canonical JSON for the
 * record. `problem` says why the input cannot be decided (it is not JSON), and then the
 * decision is a deny.
 */
interface Subject {
  action: unknown;
  json: string | undefined;
  /** A second copy of the action, for the tool when it runs the action as it came (not rewritten). */
  spare: unknown;
  /** False when the action is not JSON (then `json` is undefined and `problem` says why). */
  hashable: boolean;
  /** The user the policy reads: a copy parsed from `userJson`, so a getter is read only once. */
  user: unknown;
  userJson: string | undefined;
  /** The context the policy reads, a copy parsed from `contextJson` as the user is. */
  context: unknown;
  contextJson: string | undefined;
  /** The session, read once: the history the policy reads and the one the action counts in are the same. */
  session: string;
  problem: string | null;
}

/** A fresh copy of a snapshotted value (its canonical JSON), or undefined where JSON has no text. */
function fresh(json: string | undefined): unknown {
  return json === undefined ? undefined : JSON.parse(json);
}

/** A reservation made by `decide(..., { reserve: true })`, kept until settled, released or expired. */
interface Pending {
  session: string;
  actionHash: string;
  reservation: Reservation | null;
  expires: number;
}

export interface Enforcer {
  /**
   * Decides an action without running it. With `reserve`, an allowed action is counted in the
   * session's history at once (before anything is awaited) and the decision says `reserved:
   * true`; `record` with its id settles the reservation, `release` takes it back.
   */
  decide(action: unknown, ctx?: ActionContext, options?: DecideOptions): Promise<Decision>;
  /** Decides, asks for approval when required, runs `execute` with the (rewritten) action when allowed. */
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
  /** Guards a tool function `(args) => result`: the action is `{ type: name, ...args }`. */
  wrap<A extends Record<string, unknown>, R>(name: string, fn: (args: A) => R | Promise<R>, ctx?: ActionContext | (() => ActionContext)): (args: A) => Promise<R>;
  /** Wraps every function of an object of tools, by key. */
  wrapTools<T extends Record<string, (args: never) => unknown>>(tools: T, ctx?: ActionContext | (() => ActionContext)): { [K in keyof T]: (args: Parameters<T[K]>[0]) => Promise<Awaited<ReturnType<T[K]>>> };
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

const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_RESERVATION_TTL_MS = 10 * 60_000;
const DEFAULT_MAX_RESERVATIONS = 10_000;

/** The audit log for an option; failures are reported once, by the enforcer, when an append rejects. */
function auditLogFrom(option: AuditOption | undefined, writeTimeoutMs: number): AuditLog | null {
  if (option === undefined || option === false) return null;
  if ("append" in option) return option;
  let sinks: AuditSink[];
  if ("file" in option) sinks = [fileSink(option.file, { fsync: option.fsync ?? false })];
  else if ("stream" in option) sinks = [streamSink(option.stream)];
  else if ("callback" in option) sinks = [callbackSink(option.callback as Parameters<typeof callbackSink>[0])];
  else sinks = option.sinks;
  return createAuditLog({ sinks, writeTimeoutMs });
}

/** The subject of a decision (see Subject); never throws. */
function snapshot(action: unknown, ctx: ActionContext): Subject {
  let json: string | undefined;
  let copy: unknown;
  let spare: unknown;
  let userJson: string | undefined;
  let contextJson: string | undefined;
  let problem: string | null = null;
  const session = sessionOf(ctx);
  try {
    // no user is written as null, as before; a user that is not JSON is left out of the record
    userJson = ctx.user === undefined ? "null" : strictJson(ctx.user);
  } catch (e) {
    problem = `invalid user: ${inputProblem(e, "the user")}`;
  }
  // the policy reads copies of the user and the context taken now, as it does of the action:
  // a getter or Proxy in them is read once, and what the record shows is what was decided on
  const user = ctx.user === undefined || userJson === undefined ? undefined : fresh(userJson);
  try {
    ({ json, copy, spare } = jsonSnapshot(action));
  } catch (e) {
    return { action, json: undefined, spare: undefined, hashable: false, user, userJson, context: undefined, contextJson: undefined, session, problem: `invalid action: ${inputProblem(e, "the action")}` };
  }
  // what JSON has no text for (undefined) is decided as it is: the policy denies it
  if (json === undefined) copy = spare = action;
  if (problem === null && ctx.context !== undefined) {
    try {
      // the context reaches the policy: it must be JSON too
      contextJson = strictJson(ctx.context);
    } catch (e) {
      problem = `invalid context: ${inputProblem(e, "the context")}`;
    }
  }
  return { action: copy, json, spare, hashable: true, user, userJson, context: fresh(contextJson), contextJson, session, problem };
}

/** The session named by a context, read once; a session that is not a string is "default". */
function sessionOf(ctx: ActionContext): string {
  const s = ctx.session;
  return typeof s === "string" ? s : "default";
}

function inputProblem(e: unknown, root: string): string {
  return e instanceof JsonValueError ? e.describe(root) : `${root} cannot be read: ${errorText(e)}`;
}

function activate(module: PolicyModule, validate: boolean | undefined): Active {
  const validator = validate === false ? null : compileValidator(module.actionSchema, module.actionBranches);
  const m = meta(module);
  return { module, validator, meta: Object.freeze(m), metaJson: canonicalJsonOrUndefined(m) };
}

function meta(m: PolicyModule): Decision["policy"] {
  return { name: m.policy.name, version: m.policy.version, sourceHash: m.policy.sourceHash };
}

/** ISO-8601 text of a time; the last one is kept, since a decision formats the same instant twice. */
let isoMs = NaN;
let isoText = "";
function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
}

/**
 * Decision ids are unique and start with the time: the time in base 36, a random tag per
 * enforcer (64 bits, so enforcers in other processes do not collide), and a counter. They are not
 * secrets (the approval endpoint lists them), so a counter serves as well as fresh randomness per
 * decision, at a fraction of the cost. They are made of base-36 digits and dashes only, which the
 * audit records rely on (records.ts).
 */
function idSource(): (now: number) => string {
  const words = globalThis.crypto.getRandomValues(new Uint32Array(2));
  const tag = `${words[0]!.toString(16).padStart(8, "0")}${words[1]!.toString(16).padStart(8, "0")}`;
  let counter = 0;
  // the prefix changes once a millisecond, and formatting a number in base 36 is not cheap
  let prefixMs = NaN;
  let prefix = "";
  return (now) => {
    if (now !== prefixMs) {
      // Number(): a clock that returns something else must not put arbitrary text in an id
      prefix = `${Number(now).toString(36)}-${tag}-`;
      prefixMs = now;
    }
    return `${prefix}${(++counter).toString(36)}`;
  };
}

/** What the outcome record says a tool threw; never throws itself. */
function errorText(e: unknown): string {
  try {
    return e instanceof Error ? String(e.message) : String(e);
  } catch {
    return "the tool threw a value that has no text";
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}

export async function createEnforcer(options: EnforcerOptions): Promise<Enforcer> {
  const clock = options.clock ?? Date.now;
  const report = (e: unknown): void => {
    const error = e instanceof Error ? e : new Error(String(e));
    try {
      options.onError?.(error);
    } catch {
      // a failing error callback must not change a decision
    }
  };
  const loaded = await loadPolicy(options.policy);
  let active = activate(loaded.module, options.validate);
  let shadow: Active | null = options.shadow !== undefined ? activate((await loadPolicy(options.shadow)).module, options.validate) : null;
  const shadowStats: ShadowReport = { candidate: shadow ? meta(shadow.module) : null, decisions: 0, flips: 0, byKind: {} };
  const trackers = new SessionTrackers(options.history ?? memoryHistoryStore());
  const auditTimeoutMs = options.auditTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  const audit = auditLogFrom(options.audit, auditTimeoutMs);
  // an audit log given ready-made bounds its sinks' writes itself, if at all: the enforcer bounds its appends
  const boundAppends = options.audit !== undefined && options.audit !== false && "append" in options.audit;
  const reservationTtlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  // a cap that is not a number (NaN) would leave reservations unbounded: the default then
  const maxReservations = Math.max(1, Number.isFinite(options.maxReservations) ? options.maxReservations! : DEFAULT_MAX_RESERVATIONS);
  // pending reservations by decision id, oldest first (they all live equally long)
  const reservations = new Map<string, Pending>();
  const append = audit === null ? null : appenderFor(audit);
  const throwOnDeny = options.throwOnDeny ?? true;
  const decisionId = idSource();

  /** The policy's decision for an action, synchronously, never throwing. */
  function evaluate(policy: Active, subject: Subject, now: number): PolicyDecision {
    const session = subject.session;
    const action = subject.action;
    if (subject.problem !== null) return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message: subject.problem }] };
    try {
      if (policy.validator !== null) {
        const problems = policy.validator(action);
        if (problems !== null) {
          return { decision: "deny", rules: [], approval: null, action, errors: problems.map((message) => ({ rule: null, message: `invalid action: ${message}` })) };
        }
      }
      const values = trackers.values(session, policy.module.trackers, now);
      const input = { action, user: subject.user, context: subject.context, time: isoTime(now) };
      return policy.module.decide(input, values);
    } catch (e) {
      return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message: `the policy failed: ${(e as Error).message}` }] };
    }
  }

  /** The runtime's decision: the policy's, with its id, time, policy, session and action hash. */
  function finish(policy: Active, d: PolicyDecision, subject: Subject, now: number, id = decisionId(now)): Decided {
    let actionJson: string | undefined;
    let hash: string;
    try {
      // the policy's action is the snapshot itself unless it rewrote it (a redacted copy)
      actionJson = d.action === subject.action ? subject.json : canonicalJsonOrUndefined(d.action);
      // an action that is not JSON has no hash; the policy's deny already says why
      hash = d.action === subject.action && !subject.hashable ? "" : sha256(actionJson ?? "null");
    } catch (e) {
      actionJson = undefined;
      hash = "";
      d = { ...d, decision: "deny", errors: [...d.errors, { rule: null, message: `the action cannot be hashed: ${(e as Error).message}` }] };
    }
    // built field by field: an object spread of the policy's decision costs more than all of this
    const decision: Decision = {
      decision: d.decision,
      rules: d.rules,
      approval: d.approval,
      action: d.action,
      errors: d.errors,
      id,
      time: isoTime(now),
      policy: policy.meta,
      session: subject.session,
      actionHash: hash,
    };
    return { decision, actionJson, policyJson: policy.metaJson };
  }

  function shadowDecide(decision: Decision, subject: Subject, now: number): Record<string, unknown> | undefined {
    if (shadow === null) return undefined;
    const candidate = evaluate(shadow, subject, now);
    shadowStats.decisions++;
    if (candidate.decision === decision.decision) return { decision: candidate.decision, flipped: false };
    shadowStats.flips++;
    const kind = `${decision.decision}->${candidate.decision}`;
    shadowStats.byKind[kind] = (shadowStats.byKind[kind] ?? 0) + 1;
    const flip: ShadowFlip = {
      decisionId: decision.id,
      session: decision.session,
      action: decision.action,
      enforced: decision.decision,
      candidate: candidate.decision,
      candidateRules: candidate.rules.map((r) => r.id),
    };
    try {
      options.onShadowFlip?.(flip);
    } catch (e) {
      report(e);
    }
    return { decision: candidate.decision, flipped: true, rules: flip.candidateRules };
  }

  const auditFailed = (e: unknown): Error => {
    const error = e instanceof Error ? e : new Error(String(e));
    report(error);
    return error;
  };

  /**
   * Appends a record; `defer` for the outcome records of run(), which nothing waits on (see
   * appendQuietly). Returns the failure (or null) directly when the record was written
   * synchronously, so that run() does not yield to the event loop between writing the decision
   * record and calling the tool.
   */
  function write(entry: AuditFields | SerializedRecord, defer = false): Error | null | Promise<Error | null> {
    if (append === null) return null;
    let pending: Promise<void> | null;
    try {
      pending = append(entry, defer);
    } catch (e) {
      return auditFailed(e);
    }
    if (pending === null) return null;
    return (boundAppends ? bounded(pending) : pending).then(() => null, auditFailed);
  }

  /** An append of a ready-made audit log, failing after auditTimeoutMs if it has not settled. */
  function bounded(pending: Promise<void>): Promise<void> {
    return withTimeout(pending, auditTimeoutMs, () => new Error(`the audit log did not store the record within ${auditTimeoutMs} ms`));
  }

  /** Writes the decision record; on a failing sink the decision becomes deny unless configured otherwise. */
  function record(
    decided: Decided,
    subject: Subject,
    mode: "decide" | "run",
    approval: ApprovalOutcome | null,
    shadowInfo: Record<string, unknown> | undefined,
    reserved = false,
  ): Decision | Promise<Decision> {
    const decision = decided.decision;
    if (audit === null) return recorded(decision, null);
    let entry: DecisionRecord;
    try {
      entry = new DecisionRecord(decision, decided.actionJson, decided.policyJson, mode, subject.userJson, approval, shadowInfo, reserved);
    } catch (e) {
      // a user that cannot be serialized (it contains itself, a getter throws): the record cannot be written
      return recorded(decision, auditFailed(e));
    }
    const written = write(entry);
    return written instanceof Promise ? written.then((failure) => recorded(decision, failure)) : recorded(decision, written);
  }

  function recorded(decision: Decision, failure: Error | null): Decision {
    let final = decision;
    if (failure !== null && (options.onAuditFailure ?? "deny") === "deny" && decision.decision !== "deny") {
      final = { ...decision, decision: "deny", errors: [...decision.errors, { rule: null, message: `the audit log failed, so nothing runs: ${failure.message}` }] };
    }
    if (options.onDecision !== undefined) {
      try {
        options.onDecision(final);
      } catch (e) {
        report(e);
      }
    }
    return final;
  }

  async function askApproval(decided: Decided, subject: Subject): Promise<ApprovalOutcome> {
    const decision = decided.decision;
    const from = decision.approval?.from ?? null;
    const timeoutMs = decision.approval?.timeoutMs ?? options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
    const base = { required: true, from, timeoutMs, approver: null, note: null };
    const handler = options.approvals;
    if (handler === undefined) return { ...base, outcome: "unavailable" };
    const controller = new AbortController();
    let cancelTimer: () => void = () => {};
    const timeout = new Promise<"timeout">((resolve) => {
      cancelTimer = setLongTimeout(() => resolve("timeout"), timeoutMs);
    });
    const approvalRules = decision.rules.filter((r) => r.effect === "require_approval");
    try {
      const response = await Promise.race([
        handler.request({
          id: decision.id,
          // a copy of the text that was hashed: what the approver sees cannot change what runs
          action: decided.actionJson === undefined ? decision.action : JSON.parse(decided.actionJson),
          actionHash: decision.actionHash,
          rules: approvalRules,
          reason: approvalRules.find((r) => r.reason !== null)?.reason ?? null,
          from,
          timeoutMs,
          session: decision.session,
          // a copy too: an approver that edits the user changes nothing the policy reads later
          user: (subject.user === undefined ? undefined : fresh(subject.userJson)) as ApprovalRequest["user"],
          policy: decision.policy,
          signal: controller.signal,
        }),
        timeout,
      ]);
      if (response === "timeout") {
        controller.abort(new Error("approval timed out"));
        return { ...base, outcome: "timeout" };
      }
      const r = response as ApprovalResponse;
      return { ...base, outcome: r.approved === true ? "approved" : "rejected", approver: r.approver ?? null, note: r.note ?? null };
    } catch (e) {
      report(e);
      controller.abort(e);
      return { ...base, outcome: "error", note: (e as Error).message ?? String(e) };
    } finally {
      cancelTimer();
    }
  }

  /** Whether a decision asks for no approval, or for the one another asked for. */
  function sameApprover(now: Decision, approved: Decision): boolean {
    return now.decision !== "require_approval" || (now.approval?.from ?? null) === (approved.approval?.from ?? null);
  }

  function denyAfterApproval(d: Decision, outcome: ApprovalOutcome): Decision {
    const why =
      outcome.outcome === "unavailable"
        ? "approval required, but no approval handler is configured"
        : outcome.outcome === "timeout"
          ? `approval timed out after ${outcome.timeoutMs} ms`
          : outcome.outcome === "error"
            ? `the approval handler failed: ${outcome.note ?? "unknown error"}`
            : `approval rejected${outcome.approver ? ` by ${outcome.approver}` : ""}${outcome.note ? `: ${outcome.note}` : ""}`;
    return { ...d, decision: "deny", errors: [...d.errors, { rule: null, message: why }] };
  }

  /**
   * run() returns one promise and, when nothing on the way is asynchronous (no approval, an audit
   * log that writes synchronously, a tool that returns a value), does all its work before
   * returning it: decide, record into the trackers, write the decision record, call the tool,
   * chain the outcome record. Every failure becomes a rejection, as from an async function.
   */
  function run<T>(action: unknown, ctxIn: ActionContext | undefined, execute: (action: Action) => T | Promise<T>): Promise<RunResult<T>> {
    try {
      const ctx = ctxIn ?? {};
      const now = clock();
      const policy = active;
      const subject = snapshot(action, ctx);
      const decided = finish(policy, evaluate(policy, subject, now), subject, now);
      const shadowInfo = shadowDecide(decided.decision, subject, now);
      if (decided.decision.decision === "require_approval") return runAfterApproval(decided, subject, now, shadowInfo, execute);
      return runDecided(decided, subject, now, null, shadowInfo, execute);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Asks for approval, then decides again and runs (or denies) as run() does. */
  async function runAfterApproval<T>(
    first: Decided,
    subject: Subject,
    decidedAt: number,
    shadowInfo: Record<string, unknown> | undefined,
    execute: (action: Action) => T | Promise<T>,
  ): Promise<RunResult<T>> {
    let decided = first;
    let approval: ApprovalOutcome | null = null;
    let now = decidedAt;
    // an approval covers one exact action: after it, the action is decided again, and it runs
    // only if it still needs no more than the approval that was given for that same action
    for (let round = 0; decided.decision.decision === "require_approval"; round++) {
      const decision = decided.decision;
      if (round === 3) {
        decided = { ...decided, decision: { ...decision, decision: "deny", errors: [...decision.errors, { rule: null, message: "the action kept changing while it was being approved" }] } };
        break;
      }
      approval = await askApproval(decided, subject);
      if (approval.outcome !== "approved") {
        decided = { ...decided, decision: denyAfterApproval(decision, approval) };
        break;
      }
      now = clock();
      // the same snapshot, afresh: nothing anyone did to the decision's action meanwhile counts
      const same: Subject = {
        ...subject,
        action: subject.json === undefined || subject.action === null || typeof subject.action !== "object" ? subject.action : JSON.parse(subject.json),
        user: subject.user === undefined ? undefined : fresh(subject.userJson),
        context: fresh(subject.contextJson),
      };
      subject = same;
      const again = finish(active, evaluate(active, same, now), same, now, decision.id);
      // the approval given holds only for the same action and the same approver group: if the
      // policy now asks someone else (the time, the history or the policy changed), they are asked
      if (again.decision.decision === "deny" || again.decision.actionHash !== decision.actionHash || !sameApprover(again.decision, decision)) {
        decided = again;
        continue;
      }
      decided = { ...again, decision: { ...again.decision, decision: "allow" } };
    }
    return runDecided(decided, subject, now, approval, shadowInfo, execute);
  }

  /** Records an allowed action into the trackers, writes the decision record, and runs the action if it is still allowed. */
  function runDecided<T>(
    decided: Decided,
    subject: Subject,
    now: number,
    approval: ApprovalOutcome | null,
    shadowInfo: Record<string, unknown> | undefined,
    execute: (action: Action) => T | Promise<T>,
  ): Promise<RunResult<T>> {
    // record before anything awaits, so concurrent decisions in the session count this one
    const reservation = decided.decision.decision === "allow" ? count(decided.decision.session, decided.decision.action, now) : null;
    const recording = record(decided, subject, "run", approval, shadowInfo);
    // the tool's copy: the spare one made with the snapshot when the policy did not rewrite the
    // action, otherwise parsed from the rewritten action's text
    const json = decided.actionJson;
    const own = decided.decision.action === subject.action ? subject.spare : undefined;
    return recording instanceof Promise ? recording.then((final) => perform(final, json, own, reservation, execute)) : perform(recording, json, own, reservation, execute);
  }

  /**
   * Runs the action under its recorded decision and chains the outcome record. The tool gets its
   * own copy of the decided action, parsed from the text that was hashed and audited.
   */
  function perform<T>(
    final: Decision,
    actionJson: string | undefined,
    own: unknown,
    reservation: Reservation | null,
    execute: (action: Action) => T | Promise<T>,
  ): Promise<RunResult<T>> {
    if (final.decision !== "allow") {
      reservation?.cancel();
      return throwOnDeny ? Promise.reject(new ActionDenied(final)) : Promise.resolve({ decision: final });
    }
    const started = clock();
    let result: T | Promise<T>;
    let thenable: boolean;
    try {
      result = execute((own !== undefined ? own : actionJson === undefined ? final.action : JSON.parse(actionJson)) as Action);
      // inside the try: reading `then` of what the tool returned can throw (a getter, a Proxy)
      thenable = isThenable(result);
    } catch (e) {
      return failed(final, started, e);
    }
    if (thenable) {
      return Promise.resolve(result as Promise<T>).then(
        (value) => succeeded(final, started, value),
        (e: unknown) => failed(final, started, e),
      );
    }
    return succeeded(final, started, result as T);
  }

  function succeeded<T>(final: Decision, started: number, result: T): Promise<RunResult<T>> {
    const value: RunResult<T> = { decision: final, result };
    if (audit === null) return Promise.resolve(value);
    const end = clock();
    const written = write(new OutcomeRecord(final.id, isoTime(end), "ok", end - started), true);
    return written instanceof Promise ? written.then(() => value) : Promise.resolve(value);
  }

  function failed(final: Decision, started: number, e: unknown): Promise<never> {
    if (audit === null) return Promise.reject(e);
    const end = clock();
    let written: ReturnType<typeof write>;
    try {
      written = write(new OutcomeRecord(final.id, isoTime(end), "error", end - started, errorText(e)), true);
    } catch (cannot) {
      // a record that cannot be serialized: reported, and the tool's error still rejects
      written = auditFailed(cannot);
    }
    return written instanceof Promise ? written.then(() => Promise.reject(e)) : Promise.reject(e);
  }

  const resolveCtx = (ctx: ActionContext | (() => ActionContext) | undefined): ActionContext | undefined => (typeof ctx === "function" ? ctx() : ctx);

  /** Counts an allowed action in its session's history (with the shadow policy's trackers too). */
  function count(session: string, action: unknown, now: number): Reservation | null {
    if (active.module.trackers.length === 0 && (shadow === null || shadow.module.trackers.length === 0)) return null;
    return trackers.record(session, action, now, shadow ? [active.module.trackers, shadow.module.trackers] : [active.module.trackers]);
  }

  /** Forgets reservations past their time; they stay counted (fail closed). */
  function expireReservations(now: number): void {
    for (const [id, p] of reservations) {
      if (p.expires > now) break;
      reservations.delete(id);
    }
  }

  /** Keeps a reservation; at the cap, the oldest one is retired as if it had expired. */
  function keepReservation(id: string, pending: Pending): void {
    expireReservations(pending.expires - reservationTtlMs);
    while (reservations.size >= maxReservations) {
      const oldest = reservations.keys().next().value as string;
      reservations.delete(oldest);
    }
    reservations.set(id, pending);
  }

  async function decide(action: unknown, ctx: ActionContext = {}, options: DecideOptions = {}): Promise<Decision> {
    const now = clock();
    const policy = active;
    const subject = snapshot(action, ctx);
    const decided = finish(policy, evaluate(policy, subject, now), subject, now);
    const shadowInfo = shadowDecide(decided.decision, subject, now);
    const session = decided.decision.session;
    const reserve = options?.reserve === true && decided.decision.decision === "allow";
    // counted before anything awaits, as run() does: concurrent decisions see it
    const reservation = reserve ? count(session, decided.decision.action, now) : null;
    const final = await record(decided, subject, "decide", null, shadowInfo, reserve);
    if (!reserve) return final;
    if (final.decision !== "allow") {
      reservation?.cancel();
      return final;
    }
    keepReservation(final.id, { session, actionHash: final.actionHash, reservation, expires: now + reservationTtlMs });
    return { ...final, reserved: true };
  }

  async function recordRan(action: unknown, ctx: ActionContext = {}, info: RecordInfo = {}): Promise<RecordResult> {
    const now = clock();
    const subject = snapshot(action, ctx);
    const session = subject.session;
    if (subject.problem !== null) throw new InvalidInputError(subject.problem);
    const hash = sha256(subject.json ?? "null");
    expireReservations(now);
    const pending = info.decisionId === undefined ? undefined : reservations.get(info.decisionId);
    const settled = pending !== undefined && pending.session === session && pending.actionHash === hash;
    if (settled) reservations.delete(info.decisionId!);
    else count(session, subject.action, now);
    // another session's pending reservation is not this record's decision: it gets an id of its own
    const id = pending !== undefined && !settled ? decisionId(now) : (info.decisionId ?? decisionId(now));
    const failure = await write({
      kind: "outcome",
      decisionId: id,
      time: new Date(now).toISOString(),
      mode: "record",
      session,
      user: subject.user ?? null,
      action: subject.action,
      actionHash: hash,
      outcome: info.outcome ?? "ok",
      ...(info.error !== undefined ? { error: info.error } : {}),
      ...(settled ? { reservation: "settled" } : {}),
    });
    if (failure !== null) throw failure;
    return { decisionId: id, session, actionHash: hash, settled };
  }

  async function release(id: string, ctx: ActionContext = {}): Promise<boolean> {
    const now = clock();
    expireReservations(now);
    const pending = typeof id === "string" ? reservations.get(id) : undefined;
    // only the session that reserved may take it back: ids are unique, not secret
    if (pending === undefined || pending.session !== sessionOf(ctx)) return false;
    // taken out first, so that a second release of the same id finds nothing
    reservations.delete(id);
    const failure = await write({
      kind: "outcome",
      decisionId: id,
      time: new Date(now).toISOString(),
      mode: "release",
      session: pending.session,
      actionHash: pending.actionHash,
      outcome: "released",
    });
    if (failure !== null) {
      // not audited, so not taken back: the action stays counted and the reservation pending
      if (pending.expires > clock()) reservations.set(id, pending);
      throw failure;
    }
    pending.reservation?.cancel();
    return true;
  }

  const enforcer: Enforcer = {
    decide,
    run,
    record: recordRan,
    release,
    wrap(name, fn, ctx) {
      return async (args) => {
        const action = { ...(args ?? {}), type: name };
        const { decision, result } = await run(action, resolveCtx(ctx), (rewritten) => {
          const { type: _type, ...rest } = rewritten;
          return fn(rest as typeof args);
        });
        if (decision.decision !== "allow") throw new ActionDenied(decision);
        return result as Awaited<ReturnType<typeof fn>>;
      };
    },
    wrapTools(tools, ctx) {
      const out: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(tools)) out[name] = enforcer.wrap(name, fn as (args: Record<string, unknown>) => unknown, ctx);
      return out as never;
    },
    async reload(source) {
      try {
        const next = await loadPolicy(source);
        active = activate(next.module, options.validate);
        return { ok: true, diagnostics: next.diagnostics };
      } catch (e) {
        report(e);
        return { ok: false, diagnostics: e instanceof PolicyLoadError ? e.diagnostics : [], error: (e as Error).message };
      }
    },
    async setShadow(source) {
      if (source === null) {
        shadow = null;
        shadowStats.candidate = null;
        return { ok: true, diagnostics: [] };
      }
      try {
        const next = await loadPolicy(source);
        shadow = activate(next.module, options.validate);
        Object.assign(shadowStats, { candidate: meta(next.module), decisions: 0, flips: 0, byKind: {} });
        return { ok: true, diagnostics: next.diagnostics };
      } catch (e) {
        report(e);
        return { ok: false, diagnostics: e instanceof PolicyLoadError ? e.diagnostics : [], error: (e as Error).message };
      }
    },
    shadowReport: () => structuredClone(shadowStats),
    get policy() {
      return active.module.policy;
    },
    endSession: (session) => trackers.forget(session),
    async close() {
      await audit?.close();
    },
  };
  return enforcer;
}
