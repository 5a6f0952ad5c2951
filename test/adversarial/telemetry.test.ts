/**
 * Telemetry under attack: action types of a megabyte, with control characters and bidi
 * overrides, named like prototype keys, or 10,000 distinct ones, and a policy of 1,500 rules, do
 * not grow the metrics' label sets (types the policy does not name are `other`; rule ids past
 * MAX_LABEL_VALUES are `other`); argument values never reach a span unless a field is named; a
 * tracer provider, tracer, span, meter, instrument, exporter or observer that throws never
 * changes a decision or loses an audit record.
 */
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { createEnforcer, type EnforcerOptions, MAX_LABEL_VALUES, type PolicyModule, type TelemetryObserver, verifyAuditLog } from "@agent-armor/runtime";
import type { Meter, MeterProvider, Span, Tracer, TracerProvider } from "@opentelemetry/api";
import { MeterProvider as SdkMeterProvider } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";

const POLICY = `
policy hostile version "1"
default allow

rule no_delete
  when action.type == "delete_file"
  deny because "never"

rule ssn
  when action.type == "send_email"
  redact body matching /\\d{3}-\\d{2}-\\d{4}/
`;

async function compile(source: string): Promise<PolicyModule> {
  const c = compileSource("hostile.armor", source);
  if (!c.ok) throw new Error(JSON.stringify(c.diagnostics.slice(0, 3)));
  return (await loadModule(emit(c).js)) as PolicyModule;
}

/** An observer that keeps every label value it is given. */
function recorder(): TelemetryObserver & { types: Set<string>; rules: Set<string>; decisions: number } {
  const r = {
    types: new Set<string>(),
    rules: new Set<string>(),
    decisions: 0,
    decision(e: { actionType: string; rule: string }) {
      r.decisions++;
      r.types.add(e.actionType);
      r.rules.add(e.rule);
    },
    approvalAsked() {},
    approvalAnswered() {},
    failClosed() {},
    auditWrite() {},
  };
  return r;
}

const HOSTILE_TYPES: [string, unknown][] = [
  ["a megabyte", "t".repeat(1 << 20)],
  ["control characters", "read\u0000\u001b[31m\r\nfile"],
  ["bidi override", "read\u202efile"],
  ["__proto__", "__proto__"],
  ["constructor", "constructor"],
  ["toString", "toString"],
  ["a number", 42],
  ["an object", { type: "delete_file" }],
  ["a lone surrogate", "\ud800"],
  ["the policy's type with a space", "delete_file "],
];

describe("metric labels stay bounded", () => {
  it.each(HOSTILE_TYPES)("an action type that is %s is `other`", async (_name, type) => {
    const obs = recorder();
    const e = await createEnforcer({ policy: await compile(POLICY), throwOnDeny: false, telemetry: { observer: obs } });
    await e.decide({ type, path: "/x" });
    expect([...obs.types]).toEqual(["other"]);
  });

  it("10,000 distinct action types give one label value", async () => {
    const obs = recorder();
    const e = await createEnforcer({ policy: await compile(POLICY), throwOnDeny: false, telemetry: { observer: obs } });
    for (let i = 0; i < 10_000; i++) await e.decide({ type: `tool_${i}` });
    await e.decide({ type: "delete_file" });
    expect(obs.decisions).toBe(10_001);
    expect([...obs.types].sort()).toEqual(["delete_file", "other"]);
  });

  it(`a policy of 1,500 rules gives at most ${MAX_LABEL_VALUES} rule ids, then \`other\``, async () => {
    const rules = Array.from({ length: 1500 }, (_, i) => `rule r${i}\n  when action.type == "t${i}"\n  deny because "no"\n`).join("\n");
    const policy = await compile(`policy many version "1"\ndefault allow\n\n${rules}`);
    const obs = recorder();
    const e = await createEnforcer({ policy, throwOnDeny: false, telemetry: { observer: obs } });
    for (let i = 0; i < 1500; i++) await e.decide({ type: `t${i}` });
    expect(obs.rules.size).toBe(MAX_LABEL_VALUES + 1);
    expect(obs.rules.has("other")).toBe(true);
    expect(obs.types.size).toBe(MAX_LABEL_VALUES + 1);
  });
});

describe("argument values never reach a span by default", () => {
  const SECRETS: [string, Record<string, unknown>][] = [
    ["a path", { type: "read_file", path: "/home/alice/.ssh/id_ed25519" }],
    ["a redacted body", { type: "send_email", body: "ssn 123-45-6789", to: "bob@example.com" }],
    ["a denied action", { type: "delete_file", path: "/var/db/customers.sqlite" }],
    ["nested values", { type: "query", sql: { text: "SELECT * FROM cards", params: ["4111111111111111"] } }],
    ["a field named like an attribute", { type: "read_file", "armor.decision": "allow-forged", session: "forged" }],
  ];
  it.each(SECRETS)("%s", async (_name, action) => {
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const e = await createEnforcer({ policy: await compile(POLICY), throwOnDeny: false, telemetry: { tracerProvider } });
    await e.run(action, { session: "sess-secret-name", user: { id: "alice@example.com" } }, () => "ok");
    await e.decide(action, { session: "sess-secret-name" });
    const text = JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes));
    expect(spans.getFinishedSpans().length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(action)) if (k !== "type") expect(text).not.toContain(typeof v === "string" ? v : JSON.stringify(v).slice(2, 20));
    expect(text).not.toContain("sess-secret-name");
    expect(text).not.toContain("alice@example.com");
    expect(text).not.toContain("allow-forged");
  });
});

const boom = (): never => {
  throw new Error("telemetry exploded");
};

/** A tracer provider whose every span throws on every call. */
const throwingSpan = { setAttributes: boom, setAttribute: boom, setStatus: boom, end: boom, spanContext: boom, isRecording: boom } as unknown as Span;
const tracerThat = (startSpan: () => Span): TracerProvider => ({ getTracer: () => ({ startSpan, startActiveSpan: boom }) as unknown as Tracer });
const meterThat = (meter: Partial<Meter>): MeterProvider => ({ getMeter: () => meter as Meter });
const throwingInstrument = { add: boom, record: boom };
const throwingExporter: SpanExporter = { export: boom, shutdown: async () => {} };

const FAULTS: [string, Partial<EnforcerOptions["telemetry"] & object>][] = [
  ["getTracer throws", { tracerProvider: { getTracer: boom } }],
  ["startSpan throws", { tracerProvider: tracerThat(boom) }],
  ["every span method throws", { tracerProvider: tracerThat(() => throwingSpan) }],
  ["the span exporter throws", { tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(throwingExporter)] }) }],
  ["getMeter throws", { meterProvider: { getMeter: boom } }],
  ["createCounter throws", { meterProvider: meterThat({ createCounter: boom }) }],
  [
    "every instrument throws",
    {
      meterProvider: meterThat({
        createCounter: () => throwingInstrument as never,
        createHistogram: () => throwingInstrument as never,
        createUpDownCounter: () => throwingInstrument as never,
      }),
    },
  ],
  ["the observer throws", { observer: { decision: boom, approvalAsked: boom, approvalAnswered: boom, failClosed: boom, auditWrite: boom } }],
  ["all at once", { tracerProvider: tracerThat(() => throwingSpan), meterProvider: meterThat({ createCounter: boom }), observer: { decision: boom } as unknown as TelemetryObserver }],
  ["a working SDK (the control)", { tracerProvider: new BasicTracerProvider(), meterProvider: new SdkMeterProvider() }],
];

const ACTIONS: Record<string, unknown>[] = [
  { type: "read_file", path: "/a" },
  { type: "delete_file", path: "/b" },
  { type: "send_email", body: "ssn 123-45-6789" },
  { amount: 1 },
  { type: "read_file", path: "/c" },
];

/** The decisions and audit records of the actions, with the given telemetry. */
async function outcome(telemetry: EnforcerOptions["telemetry"]): Promise<{ decisions: unknown[]; records: Record<string, unknown>[]; log: string }> {
  const lines: string[] = [];
  const e = await createEnforcer({
    policy: await compile(POLICY),
    throwOnDeny: false,
    clock: () => Date.UTC(2026, 0, 1),
    audit: { callback: (_r, line) => void lines.push(line) },
    onError: () => {},
    telemetry,
  });
  const decisions: unknown[] = [];
  for (const a of ACTIONS) {
    const r = await e.run(a, { session: "s" }, () => "ran");
    decisions.push({ decision: r.decision.decision, rules: r.decision.rules.map((x) => x.id), action: r.decision.action, result: r.result });
  }
  for (const a of ACTIONS) decisions.push((await e.decide(a, { session: "s" })).decision);
  decisions.push((await e.checkOutput("hello", { session: "s" })).decision);
  await e.close();
  const log = lines.join("");
  return { decisions, records: lines.map((l) => JSON.parse(l) as Record<string, unknown>), log };
}

describe("a throwing SDK changes no decision and loses no audit record", () => {
  it.each(FAULTS)("%s", async (_name, telemetry) => {
    const quiet = await outcome(false);
    const faulty = await outcome(telemetry);
    expect(faulty.decisions).toEqual(quiet.decisions);
    expect(faulty.records.map((r) => [r.kind, r.decision ?? r.outcome])).toEqual(quiet.records.map((r) => [r.kind, r.decision ?? r.outcome]));
    expect(verifyAuditLog(faulty.log).ok).toBe(true);
  });
});
