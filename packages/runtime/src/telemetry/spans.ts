/**
 * The enforcer's spans: `armor.run` with children `armor.decide`, `armor.approval`,
 * `armor.execute` and `armor.result`; `armor.decide` for `decide()`, `armor.check_result` and
 * `armor.check_output`. Parents are passed explicitly (no context manager is needed); the tool
 * runs with its `armor.execute` span active, so its own spans nest under it. Attributes name the
 * policy, the decision, its rules, the action type and the session (hashed by default), never an
 * argument value unless `recordFields` names its field. A throwing SDK is reported and changes
 * nothing.
 */
import { type Attributes, type Context, context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { sha256 } from "../hash.js";
import type { Decision, StageDecision } from "../types.js";
import { failCause } from "./labels.js";
import type { Probe } from "./probe.js";

/** The longest attribute text recorded (an action type, a field's value); longer ones are cut. */
export const MAX_ATTRIBUTE_TEXT = 256;

const cut = (s: string): string => (s.length > MAX_ATTRIBUTE_TEXT ? `${s.slice(0, MAX_ATTRIBUTE_TEXT)}…` : s);

/** A span's calls, each guarded. */
function safely(probe: Probe, f: () => void): void {
  try {
    f();
  } catch (e) {
    probe.report(e);
  }
}

export function startSpan(probe: Probe, name: string, parent: Context): Span | null {
  try {
    return probe.tracer!.startSpan(name, undefined, parent);
  } catch (e) {
    probe.report(e);
    return null;
  }
}

export function endSpan(probe: Probe, span: Span | null, attributes?: Attributes, error?: string): void {
  if (span === null) return;
  safely(probe, () => {
    if (attributes !== undefined) span.setAttributes(attributes);
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
  });
}

/** The attributes of a decision: policy, decision, rules, action type, session, and the fields `recordFields` names. */
export function decisionAttributes(probe: Probe, d: Decision | StageDecision): Attributes {
  try {
    return attributesOf(probe, d);
  } catch (e) {
    probe.report(e);
    return {};
  }
}

function attributesOf(probe: Probe, d: Decision | StageDecision): Attributes {
  const a: Attributes = {
    "armor.policy.name": d.policy.name,
    "armor.policy.hash": d.policy.sourceHash,
    "armor.decision": d.decision,
    "armor.decision.id": d.id,
    "armor.rules": d.rules.map((r) => r.id),
    "armor.errors": d.errors.length,
  };
  if (d.policy.version !== null) a["armor.policy.version"] = d.policy.version;
  const stage = (d as { stage?: unknown }).stage;
  if (typeof stage === "string") a["armor.stage"] = stage;
  const action = d.action;
  if (action !== null && typeof action === "object" && Object.hasOwn(action, "type")) {
    const type = (action as { type?: unknown }).type;
    if (typeof type === "string") a["armor.action.type"] = cut(type);
  }
  const mode = probe.options.session ?? "hash";
  if (mode === "plain") a["armor.session"] = cut(d.session);
  else if (mode === "hash") a["armor.session"] = sha256(d.session).slice(0, 16);
  for (const field of probe.options.recordFields ?? []) {
    if (action === null || typeof action !== "object" || !Object.hasOwn(action, field)) continue;
    const v = (action as Record<string, unknown>)[field];
    a[`armor.action.${field}`] = typeof v === "string" ? cut(v) : typeof v === "number" || typeof v === "boolean" ? v : cut(JSON.stringify(v) ?? String(v));
  }
  const cause = failCause(d);
  if (cause !== null) a["armor.fail_closed.cause"] = cause;
  return a;
}

/** The error status of a decision that failed closed (its cause, never its message, which may quote values). */
export function decisionError(d: Decision | StageDecision): string | undefined {
  const cause = failCause(d);
  return cause === null ? undefined : `failed closed: ${cause}`;
}

/** A span around a promise: `armor.decide`, `armor.check_result`, `armor.check_output`. */
export function traced<D extends Decision | StageDecision>(probe: Probe, name: string, body: () => Promise<D>): Promise<D> {
  const span = startSpan(probe, name, context.active());
  if (span === null) return body();
  return body().then(
    (d) => {
      endSpan(probe, span, decisionAttributes(probe, d), decisionError(d));
      return d;
    },
    (e: unknown) => {
      endSpan(probe, span, undefined, errorName(e));
      throw e;
    },
  );
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : "error";
}

/** The spans of one run(). */
export class RunTrace {
  readonly span: Span | null;
  private readonly ctx: Context;
  private decideSpan: Span | null;
  private approvalSpan: Span | null = null;
  private resultSpan: Span | null = null;
  /** The call's final decision, once it is on record. */
  private final: Decision | undefined;

  constructor(
    private readonly probe: Probe,
    /** Whether the policy decides tools' results: the `armor.result` span starts when the tool settles. */
    private readonly decidesResults: boolean,
  ) {
    const parent = context.active();
    this.span = startSpan(probe, "armor.run", parent);
    this.ctx = this.span === null ? parent : trace.setSpan(parent, this.span);
    this.decideSpan = startSpan(probe, "armor.decide", this.ctx);
  }

  /** The first decision is made. */
  decided(d: Decision): void {
    endSpan(this.probe, this.decideSpan, decisionAttributes(this.probe, d), decisionError(d));
    this.decideSpan = null;
  }

  /** The call's final decision is on record (before the tool runs). */
  recorded(d: Decision): void {
    this.final = d;
  }

  approvalStarted(): void {
    this.approvalSpan = startSpan(this.probe, "armor.approval", this.ctx);
  }

  approvalEnded(outcome: string | undefined): void {
    endSpan(this.probe, this.approvalSpan, outcome === undefined ? {} : { "armor.approval.outcome": outcome });
    this.approvalSpan = null;
  }

  /** The tool, run with its `armor.execute` span active. */
  execute<A, T>(execute: (action: A) => T | Promise<T>): (action: A) => T | Promise<T> {
    return (action) => {
      const span = startSpan(this.probe, "armor.execute", this.ctx);
      const settled = (error?: string) => {
        endSpan(this.probe, span, error === undefined ? {} : { "armor.tool.failed": true }, error);
        if (this.decidesResults) this.resultSpan = startSpan(this.probe, "armor.result", this.ctx);
      };
      let out: T | Promise<T>;
      try {
        out = span === null ? execute(action) : context.with(trace.setSpan(this.ctx, span), () => execute(action));
      } catch (e) {
        // the tool's message is not recorded: it may quote the arguments
        settled("the tool threw");
        throw e;
      }
      if (out !== null && typeof out === "object" && typeof (out as { then?: unknown }).then === "function") {
        return Promise.resolve(out).then(
          (v) => {
            settled();
            return v;
          },
          (e: unknown) => {
            settled("the tool threw");
            throw e;
          },
        );
      }
      settled();
      return out;
    };
  }

  /** run() settled: its decision (and its result's), or what it threw. */
  finish(given: Decision | undefined, resultDecision: StageDecision | undefined, thrown?: unknown): void {
    const decision = given ?? this.final;
    if (this.decideSpan !== null) {
      if (decision !== undefined) this.decided(decision);
      else endSpan(this.probe, this.decideSpan);
    }
    this.approvalEnded(undefined);
    if (resultDecision !== undefined) endSpan(this.probe, this.resultSpan, decisionAttributes(this.probe, resultDecision), decisionError(resultDecision));
    else endSpan(this.probe, this.resultSpan);
    const error = decision !== undefined ? decisionError(decision) : undefined;
    endSpan(this.probe, this.span, decision !== undefined ? decisionAttributes(this.probe, decision) : {}, error ?? (thrown !== undefined ? errorName(thrown) : undefined));
  }
}
