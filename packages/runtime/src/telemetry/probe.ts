/**
 * Whether telemetry is on, checked at every entry point without allocating: with no SDK
 * registered (and no providers or observer given), `current()` is null and the enforcer's steps
 * skip every telemetry call. `@opentelemetry/api` answers the global providers without
 * allocating: the tracer provider is a proxy whose delegate is the no-op provider until an SDK
 * sets one, and the meter provider is the no-op one. When they change (an SDK registered after
 * the enforcer was made), the tracer and the instruments are made again, once.
 */
import { createNoopMeter, type Meter, type MeterProvider, metrics, ProxyTracerProvider, type Tracer, type TracerProvider, trace } from "@opentelemetry/api";
import type { DecisionEvent, FailCause, TelemetryObserver, TelemetryOptions } from "./options.js";

/** The name the enforcer's tracer and meter go by. */
export const INSTRUMENTATION = "@agent-armor/runtime";

const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
const NOOP_METER = createNoopMeter();

/** What an entry point reports to while telemetry is on. */
export interface Probe {
  /** Null when no tracer provider is registered or given. */
  readonly tracer: Tracer | null;
  /** The OpenTelemetry instruments and the options' observer, as one; null when there are neither. */
  readonly observer: TelemetryObserver | null;
  readonly options: TelemetryOptions;
  readonly report: (e: unknown) => void;
}

export class Telemetry {
  private tracerProvider: TracerProvider | undefined;
  private meterProvider: MeterProvider | undefined;
  private probe: Probe | null = null;
  /**
   * The probe the last `current()` returned: the steps that one entry point runs synchronously
   * after it read this (deciding, recording) see it without asking again.
   */
  last: Probe | null = null;

  constructor(
    private readonly options: TelemetryOptions | false,
    private readonly report: (e: unknown) => void,
  ) {}

  /** The probe to report to, or null when nothing listens (the fast path). */
  current(): Probe | null {
    const o = this.options;
    if (o === false) return null;
    const tp = o.tracerProvider ?? delegateOf(trace.getTracerProvider());
    const mp = o.meterProvider ?? metrics.getMeterProvider();
    if (tp !== this.tracerProvider || mp !== this.meterProvider) this.resolve(o, tp, mp);
    this.last = this.probe;
    return this.probe;
  }

  private resolve(o: TelemetryOptions, tp: TracerProvider, mp: MeterProvider): void {
    this.tracerProvider = tp;
    this.meterProvider = mp;
    let tracer: Tracer | null = null;
    let meters: TelemetryObserver | null = null;
    try {
      if (tp !== NOOP_TRACER_PROVIDER) tracer = tp.getTracer(INSTRUMENTATION);
    } catch (e) {
      // an SDK that cannot give a tracer: without spans, as with no SDK
      this.report(e);
    }
    try {
      const m = mp.getMeter(INSTRUMENTATION);
      if (m !== NOOP_METER) meters = meterObserver(m);
    } catch (e) {
      // nor a meter or its instruments: without metrics
      this.report(e);
    }
    const observers = [...(meters !== null ? [meters] : []), ...(o.observer !== undefined ? [o.observer] : [])];
    const observer = observers.length === 0 ? null : guarded(observers, this.report);
    this.probe = tracer === null && observer === null ? null : { tracer, observer, options: o, report: this.report };
  }
}

/** The provider behind the global proxy (the no-op one until an SDK registers); duck-typed, for a second copy of the API. */
function delegateOf(tp: TracerProvider): TracerProvider {
  const d = (tp as { getDelegate?: () => TracerProvider }).getDelegate;
  return typeof d === "function" ? d.call(tp) : tp;
}

/** The enforcer's metrics as OpenTelemetry instruments. */
function meterObserver(meter: Meter): TelemetryObserver {
  const decisions = meter.createCounter("armor.decisions", { description: "Decisions by decision, deciding rule, action type and stage" });
  const latency = meter.createHistogram("armor.decision.duration", { description: "From the policy's evaluation to the decision on record", unit: "s" });
  const pending = meter.createUpDownCounter("armor.approvals.pending", { description: "Approvals asked and not yet answered" });
  const wait = meter.createHistogram("armor.approval.wait", { description: "How long approvals took to be answered, by outcome", unit: "s" });
  const failClosed = meter.createCounter("armor.fail_closed", { description: "Decisions denied because something failed, by cause" });
  const audit = meter.createHistogram("armor.audit.write.duration", { description: "Audit writes, by whether they stored the record", unit: "s" });
  return {
    decision(e: DecisionEvent) {
      decisions.add(1, { "armor.decision": e.decision, "armor.rule": e.rule, "armor.action.type": e.actionType, "armor.stage": e.stage });
      latency.record(e.seconds, { "armor.decision": e.decision, "armor.stage": e.stage });
    },
    approvalAsked: () => pending.add(1),
    approvalAnswered(outcome: string, seconds: number) {
      pending.add(-1);
      wait.record(seconds, { "armor.approval.outcome": outcome });
    },
    failClosed: (cause: FailCause) => failClosed.add(1, { "armor.cause": cause }),
    auditWrite: (seconds: number, ok: boolean) => audit.record(seconds, { "armor.audit.outcome": ok ? "ok" : "failed" }),
  };
}

/** The observers as one, each call guarded: a throwing SDK or observer is reported and changes nothing. */
function guarded(observers: readonly TelemetryObserver[], report: (e: unknown) => void): TelemetryObserver {
  const each =
    <K extends keyof TelemetryObserver>(k: K) =>
    (...args: Parameters<TelemetryObserver[K]>): void => {
      for (const o of observers) {
        try {
          (o[k] as (...a: unknown[]) => void)(...args);
        } catch (e) {
          report(e);
        }
      }
    };
  return {
    decision: each("decision"),
    approvalAsked: each("approvalAsked"),
    approvalAnswered: each("approvalAnswered"),
    failClosed: each("failClosed"),
    auditWrite: each("auditWrite"),
  };
}

/** Seconds since `start` (a `performance.now()`). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
