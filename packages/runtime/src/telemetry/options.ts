/** The enforcer's telemetry options and the events a `TelemetryObserver` receives (public types). */
import type { MeterProvider, TracerProvider } from "@opentelemetry/api";

/** Why a decision failed closed: the label of `armor.fail_closed` (labels.ts `failCause`). */
export type FailCause = "input" | "evaluation" | "history" | "audit" | "approval" | "other";

/** One decision (a call's, a result's or a message's), as it is recorded. */
export interface DecisionEvent {
  readonly stage: "call" | "result" | "output";
  readonly decision: "allow" | "deny" | "require_approval";
  /**
   * The rule that decided (the first denying rule of a deny, the first approval rule of a
   * require_approval, the first allowing rule of an allow): one of the policy's rule ids, `none`
   * when no rule decided (the default), `other` past the label limit.
   */
  readonly rule: string;
  /** The action's type when the policy names it, `other` for any other, `none` for a message. */
  readonly actionType: string;
  /** From the policy's evaluation to the decision being on record, in seconds. */
  readonly seconds: number;
}

/**
 * What an enforcer reports beside its OpenTelemetry metrics, e.g. to Prometheus
 * (`armor serve --metrics`). Its label values are bounded as the metrics' are; a method that
 * throws is reported to `onError` and changes nothing.
 */
export interface TelemetryObserver {
  decision(e: DecisionEvent): void;
  /** An approver was asked. */
  approvalAsked(): void;
  /** An approval was answered (`approved`, `rejected`, `timeout`, `error`, `unavailable`) after `seconds`. */
  approvalAnswered(outcome: string, seconds: number): void;
  failClosed(cause: FailCause): void;
  /** One audit write: how long it took, and whether it stored the record. */
  auditWrite(seconds: number, ok: boolean): void;
}

export interface TelemetryOptions {
  /** Where spans go (default: the global tracer provider, when an SDK registered one). */
  tracerProvider?: TracerProvider;
  /** Where metrics go (default: the global meter provider, when an SDK registered one). */
  meterProvider?: MeterProvider;
  /**
   * Top-level fields of the action whose values spans may carry (`armor.action.FIELD`), as the
   * policy left them (redacted where it redacted them). Default: none; no argument value is
   * ever recorded otherwise.
   */
  recordFields?: readonly string[];
  /** The session in spans: `hash` (default: the first 16 hex digits of its SHA-256), `plain`, or `omit`. */
  session?: "hash" | "plain" | "omit";
  /** Also told of every decision, approval, fail-closed error and audit write. */
  observer?: TelemetryObserver;
}
