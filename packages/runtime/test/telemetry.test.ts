/**
 * OpenTelemetry in the enforcer, through the SDK's in-memory exporters: the spans of run() and
 * decide() (with their children, attributes and status) and the metrics (decisions, latency,
 * approval wait, fail-closed errors, audit writes) for allow, deny, approvals approved and timed
 * out, redaction, and the fail-closed paths (an evaluation error, a throwing tool, a failing
 * audit sink), as a table of cases; no telemetry at all with no SDK registered.
 */
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { type Context, type ContextManager, context, metrics, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { type ApprovalHandler, type AuditSink, createEnforcer, type EnforcerOptions, type PolicyModule } from "../src/index.js";
import { failCause } from "../src/telemetry/labels.js";

const POLICY = `
policy tele version "1"
default allow

rule reads
  when action.type == "read_file"
  allow

rule no_delete
  when action.type == "delete_file"
  deny because "never delete"

rule big_payment
  when action.type == "pay" and action.amount > 100
  require approval timeout 50ms

rule no_ssn
  when action.type == "send_email"
  redact body matching /\\b\\d{3}-\\d{2}-\\d{4}\\b/

rule cards on result
  when action.type == "lookup"
  redact result.notes matching std.card_number with "[CARD]"
`;

let module: PolicyModule;
async function policy(): Promise<PolicyModule> {
  if (module === undefined) {
    const c = compileSource("tele.armor", POLICY);
    if (!c.ok) throw new Error(JSON.stringify(c.diagnostics));
    module = (await loadModule(emit(c).js)) as PolicyModule;
  }
  return module;
}

interface Sdk {
  spans: InMemorySpanExporter;
  metricExporter: InMemoryMetricExporter;
  reader: PeriodicExportingMetricReader;
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
}

function sdk(): Sdk {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return { spans, metricExporter, reader, tracerProvider, meterProvider };
}

interface Point {
  attributes: Record<string, unknown>;
  value: number | { count: number; sum?: number };
}

/** Every data point of the named metric, after a flush. */
async function points(s: Sdk, name: string): Promise<Point[]> {
  await s.reader.forceFlush();
  const all = s.metricExporter.getMetrics();
  const last = all[all.length - 1];
  const out: Point[] = [];
  for (const scope of last?.scopeMetrics ?? []) for (const m of scope.metrics) if (m.descriptor.name === name) for (const p of m.dataPoints) out.push(p as unknown as Point);
  return out;
}

const approving = (approved: boolean): ApprovalHandler => ({ request: async () => ({ approved, approver: "ana" }) });
const never: ApprovalHandler = { request: () => new Promise(() => {}) };
const failingSink: AuditSink = { write: () => Promise.reject(new Error("disk full")) };

interface Case {
  name: string;
  action: Record<string, unknown>;
  options?: Partial<EnforcerOptions>;
  tool?: () => unknown;
  /** The spans (names, in the order they ended). */
  spans: string[];
  decision: "allow" | "deny";
  rule: string;
  actionType: string;
  cause?: string;
  /** Approval wait points by outcome. */
  approval?: string;
  /** A span attribute expected on armor.run (undefined: absent). */
  attribute?: [string, unknown];
  /** Whether run() rejects. */
  rejects?: boolean;
  /** The data point of the result stage's decision. */
  result?: { decision: string; rule: string };
}

const CASES: Case[] = [
  { name: "allow", action: { type: "read_file", path: "/etc/motd" }, spans: ["armor.decide", "armor.execute", "armor.result", "armor.run"], decision: "allow", rule: "reads", actionType: "read_file" },
  { name: "allow by default", action: { type: "list_dir", path: "/" }, spans: ["armor.decide", "armor.execute", "armor.result", "armor.run"], decision: "allow", rule: "none", actionType: "other" },
  { name: "deny", action: { type: "delete_file", path: "/x" }, spans: ["armor.decide", "armor.run"], decision: "deny", rule: "no_delete", actionType: "delete_file" },
  {
    name: "approval, approved",
    action: { type: "pay", amount: 500 },
    options: { approvals: approving(true) },
    spans: ["armor.decide", "armor.approval", "armor.execute", "armor.result", "armor.run"],
    decision: "allow",
    rule: "big_payment",
    actionType: "pay",
    approval: "approved",
  },
  {
    name: "approval, timed out",
    action: { type: "pay", amount: 500 },
    options: { approvals: never },
    spans: ["armor.decide", "armor.approval", "armor.run"],
    decision: "deny",
    rule: "big_payment",
    actionType: "pay",
    cause: "approval",
    approval: "timeout",
  },
  {
    name: "redaction, the field not recorded",
    action: { type: "send_email", body: "ssn 123-45-6789" },
    spans: ["armor.decide", "armor.execute", "armor.result", "armor.run"],
    decision: "allow",
    rule: "no_ssn",
    actionType: "send_email",
    attribute: ["armor.action.body", undefined],
  },
  {
    name: "redaction, the field recorded as redacted",
    action: { type: "send_email", body: "ssn 123-45-6789" },
    options: { telemetry: { recordFields: ["body"] } },
    spans: ["armor.decide", "armor.execute", "armor.result", "armor.run"],
    decision: "allow",
    rule: "no_ssn",
    actionType: "send_email",
    attribute: ["armor.action.body", "ssn [REDACTED]"],
  },
  {
    name: "result redacted",
    action: { type: "lookup", id: 1 },
    tool: () => ({ notes: "card 4111 1111 1111 1111" }),
    spans: ["armor.decide", "armor.execute", "armor.result", "armor.run"],
    decision: "allow",
    rule: "none",
    actionType: "lookup",
    result: { decision: "allow", rule: "cards" },
  },
  {
    name: "evaluation error",
    action: { type: "pay", amount: "lots" },
    spans: ["armor.decide", "armor.run"],
    decision: "deny",
    rule: "big_payment",
    actionType: "pay",
    cause: "evaluation",
  },
  {
    name: "a throwing tool",
    action: { type: "read_file", path: "/secret/SSN-123-45-6789" },
    tool: () => {
      throw new Error("cannot read /secret/SSN-123-45-6789");
    },
    spans: ["armor.decide", "armor.execute", "armor.result", "armor.run"],
    decision: "allow",
    rule: "reads",
    actionType: "read_file",
    rejects: true,
  },
  {
    name: "an audit sink failure",
    action: { type: "read_file", path: "/etc/motd" },
    options: { audit: { sinks: [failingSink] } },
    spans: ["armor.decide", "armor.run"],
    decision: "deny",
    rule: "none",
    actionType: "read_file",
    cause: "audit",
  },
];

describe("telemetry through the in-memory exporters", () => {
  it.each(CASES)("$name", async (c) => {
    const s = sdk();
    const errors: Error[] = [];
    const e = await createEnforcer({
      policy: await policy(),
      throwOnDeny: false,
      onError: (x) => void errors.push(x),
      ...c.options,
      telemetry: { tracerProvider: s.tracerProvider, meterProvider: s.meterProvider, ...(c.options?.telemetry || {}) },
    });
    const run = e.run(c.action, { session: "alice-session" }, c.tool ?? (() => "done"));
    if (c.rejects) await expect(run).rejects.toThrow();
    else expect((await run).decision.decision).toBe(c.decision);

    const spans = s.spans.getFinishedSpans();
    expect(spans.map((x) => x.name)).toEqual(c.spans);
    const root = spans.find((x) => x.name === "armor.run")!;
    // every child is the run's
    for (const child of spans.filter((x) => x !== root)) expect(child.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(root.attributes).toMatchObject({ "armor.decision": c.decision, "armor.policy.name": "tele", "armor.action.type": c.action.type });
    expect(root.attributes["armor.policy.hash"]).toMatch(/^[0-9a-f]{64}$/);
    // the session hashed, never as given
    expect(root.attributes["armor.session"]).toMatch(/^[0-9a-f]{16}$/);
    if (c.attribute !== undefined) expect(root.attributes[c.attribute[0]]).toBe(c.attribute[1]);
    if (c.cause !== undefined) {
      expect(root.attributes["armor.fail_closed.cause"]).toBe(c.cause);
      expect(root.status).toMatchObject({ code: 2, message: `failed closed: ${c.cause}` });
    }
    if (c.rejects) {
      const exec = spans.find((x) => x.name === "armor.execute")!;
      expect(exec.status.code).toBe(2);
      expect(exec.attributes["armor.tool.failed"]).toBe(true);
    }
    // no argument value in any span unless a field was named
    if (c.options?.telemetry === undefined) for (const x of spans) expect(JSON.stringify(x.attributes)).not.toMatch(/123-45-6789|motd|4111|lots/);

    const decisions = await points(s, "armor.decisions");
    const call = decisions.find((p) => p.attributes["armor.stage"] === "call")!;
    expect(call.attributes).toEqual({ "armor.decision": c.decision, "armor.rule": c.rule, "armor.action.type": c.actionType, "armor.stage": "call" });
    expect(call.value).toBe(1);
    if (c.result !== undefined) {
      const result = decisions.find((p) => p.attributes["armor.stage"] === "result")!;
      expect(result.attributes).toMatchObject({ "armor.decision": c.result.decision, "armor.rule": c.result.rule });
    }
    // the policy decides every result: one more decision for each action that ran
    expect(decisions.length).toBe(c.spans.includes("armor.execute") ? 2 : 1);
    const latency = await points(s, "armor.decision.duration");
    expect(latency.reduce((n, p) => n + (p.value as { count: number }).count, 0)).toBe(decisions.length);
    const failed = await points(s, "armor.fail_closed");
    expect(failed.map((p) => [p.attributes["armor.cause"], p.value])).toEqual(c.cause === undefined ? [] : [[c.cause, 1]]);
    const waits = await points(s, "armor.approval.wait");
    expect(waits.map((p) => [p.attributes["armor.approval.outcome"], (p.value as { count: number }).count])).toEqual(c.approval === undefined ? [] : [[c.approval, 1]]);
    if (c.approval !== undefined) expect((await points(s, "armor.approvals.pending")).map((p) => p.value)).toEqual([0]);
    if (c.options?.audit !== undefined) {
      const writes = await points(s, "armor.audit.write.duration");
      expect(writes.map((p) => p.attributes["armor.audit.outcome"])).toContain("failed");
    }
    await e.close();
  });

  it("decide(), checkResult() and checkOutput() have a span each, and count their decisions by stage", async () => {
    const s = sdk();
    const e = await createEnforcer({ policy: await policy(), telemetry: { tracerProvider: s.tracerProvider, meterProvider: s.meterProvider } });
    await e.decide({ type: "delete_file", path: "/x" }, { session: "s" });
    await e.checkResult({ type: "lookup", id: 2 }, { notes: "none" }, { session: "s" });
    await e.checkOutput("hello", { session: "s" });
    expect(s.spans.getFinishedSpans().map((x) => [x.name, x.attributes["armor.decision"], x.attributes["armor.stage"]])).toEqual([
      ["armor.decide", "deny", undefined],
      ["armor.check_result", "allow", "result"],
      ["armor.check_output", "allow", "output"],
    ]);
    const decisions = await points(s, "armor.decisions");
    expect(decisions.map((p) => [p.attributes["armor.stage"], p.attributes["armor.action.type"], p.value]).sort()).toEqual([
      ["call", "delete_file", 1],
      ["output", "none", 1],
      ["result", "lookup", 1],
    ]);
  });

  it("records the session as given, or not at all, when configured", async () => {
    for (const [mode, expected] of [
      ["plain", "alice"],
      ["omit", undefined],
    ] as const) {
      const s = sdk();
      const e = await createEnforcer({ policy: await policy(), telemetry: { tracerProvider: s.tracerProvider, session: mode } });
      await e.decide({ type: "read_file" }, { session: "alice" });
      expect(s.spans.getFinishedSpans()[0]!.attributes["armor.session"]).toBe(expected);
    }
  });
});

describe("the global providers", () => {
  afterEach(() => {
    trace.disable();
    metrics.disable();
  });

  it("nothing is recorded while no SDK is registered, and an SDK registered later is used from then on", async () => {
    const e = await createEnforcer({ policy: await policy() });
    await e.run({ type: "read_file" }, {}, () => 1);
    const s = sdk();
    trace.setGlobalTracerProvider(s.tracerProvider);
    metrics.setGlobalMeterProvider(s.meterProvider);
    expect(s.spans.getFinishedSpans()).toEqual([]);
    await e.run({ type: "read_file" }, {}, () => 1);
    expect(s.spans.getFinishedSpans().map((x: ReadableSpan) => x.name)).toEqual(["armor.decide", "armor.execute", "armor.result", "armor.run"]);
    // the call and its result, only the second run's
    expect((await points(s, "armor.decisions")).map((p) => p.value)).toEqual([1, 1]);
  });

  it("`telemetry: false` records nothing even with an SDK registered", async () => {
    const s = sdk();
    trace.setGlobalTracerProvider(s.tracerProvider);
    const e = await createEnforcer({ policy: await policy(), telemetry: false });
    await e.run({ type: "read_file" }, {}, () => 1);
    expect(s.spans.getFinishedSpans()).toEqual([]);
  });

  it("the tool runs with its execute span active, so its own spans nest under it", async () => {
    context.setGlobalContextManager(new StackContextManager());
    try {
      const s = sdk();
      const e = await createEnforcer({ policy: await policy(), telemetry: { tracerProvider: s.tracerProvider } });
      let active: string | undefined;
      await e.run({ type: "read_file" }, {}, () => {
        active = trace.getActiveSpan()?.spanContext().spanId;
      });
      const exec = s.spans.getFinishedSpans().find((x) => x.name === "armor.execute")!;
      expect(active).toBe(exec.spanContext().spanId);
    } finally {
      context.disable();
    }
  });
});

/** A context manager for synchronous code (the SDK's own keeps the context across awaits too). */
class StackContextManager implements ContextManager {
  private stack: Context[] = [];
  active(): Context {
    return this.stack[this.stack.length - 1] ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.stack.push(ctx);
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.stack.pop();
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.stack = [];
    return this;
  }
}

describe("the cause of a decision that failed closed", () => {
  const deny = (message: string, rule: string | null = null) => ({ decision: "deny" as const, errors: [{ rule, message }] });
  it.each([
    [deny("the audit log failed, so nothing runs: disk full"), "audit"],
    [deny("invalid action: /amount must be number"), "input"],
    [deny("invalid user: a function at /f"), "input"],
    [deny("the policy failed: boom"), "evaluation"],
    [deny("cannot compare a string with a number", "big_payment"), "evaluation"],
    [deny("history store unavailable: redis://x: ECONNREFUSED"), "history"],
    [deny("approval required, but no approval handler is configured"), "approval"],
    [deny("approval timed out after 50 ms"), "approval"],
    [deny("the approval handler failed: boom"), "approval"],
    [deny("the action kept changing while it was being approved"), "approval"],
    [deny("approval rejected by ana"), null],
    [{ decision: "deny" as const, errors: [] }, null],
    [{ decision: "allow" as const, errors: [] }, null],
  ])("%j is %s", (d, cause) => {
    expect(failCause(d)).toBe(cause);
  });
});
