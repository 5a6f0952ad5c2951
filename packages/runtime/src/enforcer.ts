/**
 * The enforcer: decides every action an agent proposes before it runs, asks for approvals,
 * runs allowed actions with their rewritten (redacted) arguments, keeps the session history
 * that rate limits and sequence rules read, and writes every decision to the audit log.
 *
 * It fails closed: an exception anywhere while deciding, approving or auditing becomes a deny
 * that names the cause, and nothing runs on a deny.
 */
import { type AuditLog, type AuditSink, appendNow, callbackSink, createAuditLog, fileSink, streamSink } from "./audit.js";
import { actionHash } from "./hash.js";
import { memoryHistoryStore, type Reservation, SessionTrackers } from "./history.js";
import { loadPolicy, PolicyLoadError, type PolicyDiagnostic, type PolicySource } from "./load.js";
import type { Action, ActionContext, ApprovalHandler, ApprovalResponse, Decision, HistoryStore, PolicyDecision, PolicyModule } from "./types.js";
import { type ActionValidator, compileValidator } from "./validate.js";

/** Thrown by `run` (and wrapped tools) when an action is denied; carries the decision. */
export class ActionDenied extends Error {
  constructor(readonly decision: Decision) {
    super(describeDenial(decision));
    this.name = "ActionDenied";
  }
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
}

export interface LoadResult {
  ok: boolean;
  /** The compiler's diagnostics for a `.armor` source (warnings on success, errors on failure). */
  diagnostics: PolicyDiagnostic[];
  /** Why the policy was not loaded. */
  error?: string;
}

export interface RecordInfo {
  /** The decision the action ran under, if known; a new id otherwise. */
  decisionId?: string;
  outcome?: "ok" | "error";
  error?: string;
}

export interface RecordResult {
  decisionId: string;
  session: string;
  actionHash: string;
}

export interface RunResult<T> {
  decision: Decision;
  /** Present when the action ran. */
  result?: T;
}

interface Active {
  module: PolicyModule;
  validator: ActionValidator | null;
}

export interface Enforcer {
  /** Decides an action without running it or recording it in the history. */
  decide(action: unknown, ctx?: ActionContext): Promise<Decision>;
  /** Decides, asks for approval when required, runs `execute` with the (rewritten) action when allowed. */
  run<T>(action: unknown, ctx: ActionContext | undefined, execute: (action: Action) => T | Promise<T>): Promise<RunResult<T>>;
  /**
   * Records an action that was executed outside `run` (e.g. reported to a decision service after
   * the fact): it counts in the session's history whatever a decision now would say, and an
   * `outcome` record (`mode: "record"`) goes to the audit log. Rejects if the audit log fails;
   * the history keeps the action either way, since it ran.
   */
  record(action: unknown, ctx?: ActionContext, info?: RecordInfo): Promise<RecordResult>;
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

/** The audit log for an option; failures are reported once, by the enforcer, when an append rejects. */
function auditLogFrom(option: AuditOption | undefined): AuditLog | null {
  if (option === undefined || option === false) return null;
  if ("append" in option) return option;
  let sinks: AuditSink[];
  if ("file" in option) sinks = [fileSink(option.file, { fsync: option.fsync ?? false })];
  else if ("stream" in option) sinks = [streamSink(option.stream)];
  else if ("callback" in option) sinks = [callbackSink(option.callback as Parameters<typeof callbackSink>[0])];
  else sinks = option.sinks;
  return createAuditLog({ sinks });
}

function activate(module: PolicyModule, validate: boolean | undefined): Active {
  const validator = validate === false ? null : compileValidator(module.actionSchema);
  return { module, validator };
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
  const audit = auditLogFrom(options.audit);
  const throwOnDeny = options.throwOnDeny ?? true;
  const decisionId = idSource();

  /** The policy's decision for an action, synchronously, never throwing. */
  function evaluate(policy: Active, action: unknown, ctx: ActionContext, now: number): PolicyDecision {
    const session = ctx.session ?? "default";
    try {
      if (policy.validator !== null) {
        const problems = policy.validator(action);
        if (problems !== null) {
          return { decision: "deny", rules: [], approval: null, action, errors: problems.map((message) => ({ rule: null, message: `invalid action: ${message}` })) };
        }
      }
      const values = trackers.values(session, policy.module.trackers, now);
      const input = { action, user: ctx.user, context: ctx.context, time: isoTime(now) };
      return policy.module.decide(input, values);
    } catch (e) {
      return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message: `the policy failed: ${(e as Error).message}` }] };
    }
  }

  function finish(d: PolicyDecision, ctx: ActionContext, now: number, id = decisionId(now)): Decision {
    let hash: string;
    try {
      hash = actionHash(d.action);
    } catch (e) {
      hash = "";
      d = { ...d, decision: "deny", errors: [...d.errors, { rule: null, message: `the action cannot be hashed: ${(e as Error).message}` }] };
    }
    return { ...d, id, time: isoTime(now), policy: meta(active.module), session: ctx.session ?? "default", actionHash: hash };
  }

  function shadowDecide(decision: Decision, action: unknown, ctx: ActionContext, now: number): Record<string, unknown> | undefined {
    if (shadow === null) return undefined;
    const candidate = evaluate(shadow, action, ctx, now);
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
  function write(fields: Record<string, unknown> & { kind: "decision" | "outcome"; decisionId: string; time: string }, defer = false): Error | null | Promise<Error | null> {
    if (audit === null) return null;
    let pending: Promise<void> | null;
    try {
      pending = appendNow(audit, fields, defer);
    } catch (e) {
      return auditFailed(e);
    }
    return pending === null ? null : pending.then(() => null, auditFailed);
  }

  /** Writes the decision record; on a failing sink the decision becomes deny unless configured otherwise. */
  function record(decision: Decision, ctx: ActionContext, mode: "decide" | "run", approval: ApprovalOutcome | null, shadowInfo: Record<string, unknown> | undefined): Decision | Promise<Decision> {
    const written = write({
      kind: "decision",
      decisionId: decision.id,
      time: decision.time,
      mode,
      policy: decision.policy,
      session: decision.session,
      user: ctx.user ?? null,
      action: decision.action,
      actionHash: decision.actionHash,
      decision: decision.decision,
      rules: decision.rules,
      errors: decision.errors,
      approval,
      ...(shadowInfo ? { shadow: shadowInfo } : {}),
    });
    return written instanceof Promise ? written.then((failure) => recorded(decision, failure)) : recorded(decision, written);
  }

  function recorded(decision: Decision, failure: Error | null): Decision {
    let final = decision;
    if (failure !== null && (options.onAuditFailure ?? "deny") === "deny" && decision.decision !== "deny") {
      final = { ...decision, decision: "deny", errors: [...decision.errors, { rule: null, message: `the audit log failed, so nothing runs: ${failure.message}` }] };
    }
    try {
      options.onDecision?.(final);
    } catch (e) {
      report(e);
    }
    return final;
  }

  async function askApproval(decision: Decision, ctx: ActionContext): Promise<ApprovalOutcome> {
    const from = decision.approval?.from ?? null;
    const timeoutMs = decision.approval?.timeoutMs ?? options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
    const base = { required: true, from, timeoutMs, approver: null, note: null };
    const handler = options.approvals;
    if (handler === undefined) return { ...base, outcome: "unavailable" };
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const approvalRules = decision.rules.filter((r) => r.effect === "require_approval");
    try {
      const response = await Promise.race([
        handler.request({
          id: decision.id,
          action: decision.action,
          actionHash: decision.actionHash,
          rules: approvalRules,
          reason: approvalRules.find((r) => r.reason !== null)?.reason ?? null,
          from,
          timeoutMs,
          session: decision.session,
          user: ctx.user,
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
      clearTimeout(timer);
    }
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

  async function run<T>(action: unknown, ctxIn: ActionContext | undefined, execute: (action: Action) => T | Promise<T>): Promise<RunResult<T>> {
    const ctx = ctxIn ?? {};
    const session = ctx.session ?? "default";
    let now = clock();
    const policy = active;
    let decision = finish(evaluate(policy, action, ctx, now), ctx, now);
    const shadowInfo = shadowDecide(decision, action, ctx, now);
    let approval: ApprovalOutcome | null = null;
    let reservation: Reservation | null = null;

    // an approval covers one exact action: after it, the action is decided again, and it runs
    // only if it still needs no more than the approval that was given for that same action
    for (let round = 0; decision.decision === "require_approval"; round++) {
      if (round === 3) {
        decision = { ...decision, decision: "deny", errors: [...decision.errors, { rule: null, message: "the action kept changing while it was being approved" }] };
        break;
      }
      approval = await askApproval(decision, ctx);
      if (approval.outcome !== "approved") {
        decision = denyAfterApproval(decision, approval);
        break;
      }
      now = clock();
      const again = finish(evaluate(active, action, ctx, now), ctx, now, decision.id);
      if (again.decision === "deny" || again.actionHash !== decision.actionHash) {
        decision = again;
        continue;
      }
      decision = { ...again, decision: "allow" };
    }

    if (decision.decision === "allow") {
      // record before anything awaits, so concurrent decisions in the session count this one
      reservation = trackers.record(session, decision.action, now, shadow ? [active.module.trackers, shadow.module.trackers] : [active.module.trackers]);
    }
    const recording = record(decision, ctx, "run", approval, shadowInfo);
    const final = recording instanceof Promise ? await recording : recording;
    if (final.decision !== "allow") {
      reservation?.cancel();
      if (throwOnDeny) throw new ActionDenied(final);
      return { decision: final };
    }

    const started = clock();
    try {
      const result = await execute(final.action as Action);
      const outcome = write({ kind: "outcome", decisionId: final.id, time: isoTime(clock()), outcome: "ok", durationMs: clock() - started }, true);
      if (outcome !== null && outcome instanceof Promise) await outcome;
      return { decision: final, result };
    } catch (e) {
      await write({
        kind: "outcome",
        decisionId: final.id,
        time: isoTime(clock()),
        outcome: "error",
        error: e instanceof Error ? e.message : String(e),
        durationMs: clock() - started,
      }, true);
      throw e;
    }
  }

  const resolveCtx = (ctx: ActionContext | (() => ActionContext) | undefined): ActionContext | undefined => (typeof ctx === "function" ? ctx() : ctx);

  const enforcer: Enforcer = {
    async decide(action, ctx = {}) {
      const now = clock();
      const decision = finish(evaluate(active, action, ctx, now), ctx, now);
      const shadowInfo = shadowDecide(decision, action, ctx, now);
      return record(decision, ctx, "decide", null, shadowInfo);
    },
    run,
    async record(action, ctx = {}, info = {}) {
      const now = clock();
      const session = ctx.session ?? "default";
      const hash = actionHash(action);
      trackers.record(session, action, now, shadow ? [active.module.trackers, shadow.module.trackers] : [active.module.trackers]);
      const id = info.decisionId ?? decisionId(now);
      const failure = await write({
        kind: "outcome",
        decisionId: id,
        time: new Date(now).toISOString(),
        mode: "record",
        session,
        user: ctx.user ?? null,
        action,
        actionHash: hash,
        outcome: info.outcome ?? "ok",
        ...(info.error !== undefined ? { error: info.error } : {}),
      });
      if (failure !== null) throw failure;
      return { decisionId: id, session, actionHash: hash };
    },
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
