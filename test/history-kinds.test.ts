/**
 * `sum`, `max`, `min`, `count` over a whole session and `seen(A since B)`: the runtime's trackers
 * (packages/runtime/src/history.ts, tracker-kinds.ts) keep O(1) state per decision, and the values
 * they pass to `decide` must give the decision that scanning the same history gives, in the
 * compiled module and in the reference interpreter; reservations taken back, reloads and poisoned
 * windows included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { memoryHistoryStore, SessionTrackers } from "../packages/runtime/src/history.js";

const source = `
policy kinds
default allow
rule budget when action.type == "wire" and sum(amount where type == "wire" within 1h) > 100 deny
rule total when action.type == "wire" and sum(amount where type == "wire") > 300 require approval
rule biggest when max(amount where type == "wire" within 30m) >= 90 deny
rule smallest when action.type == "refund" and min(amount where type == "wire") < 5 deny
rule live when action.type == "read" and not seen(type == "login" since type == "logout") deny
rule live_recent when action.type == "write" and seen(type == "login" since type == "logout" within 20m) allow
rule calls when count(true) >= 25 deny
rule writes when action.type == "write" and count(type == "write") >= 3 require approval
`;

const compilation = compileSource("kinds.armor", source, { readFile: () => undefined });
const T0 = Date.parse("2026-03-02T00:00:00Z");
const iso = (ms: number): string => new Date(ms).toISOString();

interface Step {
  action: Record<string, unknown>;
  /** Minutes after the previous step. */
  gap: number;
}

const actionArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant("wire"), amount: fc.integer({ min: -20, max: 120 }) }),
  fc.record({ type: fc.constantFrom("login", "logout", "read", "write", "refund") }),
);
const stepArb: fc.Arbitrary<Step> = fc.record({ action: actionArb, gap: fc.nat(25) });

/** What a decision says, without the error texts (the runtime's texts name no history index). */
const outcome = (d: { decision: string; rules: { id: string }[]; errors: { rule: string | null }[] }) => ({
  decision: d.decision,
  rules: d.rules.map((r) => r.id),
  errors: d.errors.map((e) => e.rule),
});

describe("tracker kinds", () => {
  it("compiles to one tracker per predicate, with since and value where they belong", async () => {
    expect(compilation.ok).toBe(true);
    const module = await loadModule(emit(compilation).js);
    expect(module.trackers.map((t) => [t.kind, t.withinMs, typeof t.since, typeof t.value])).toEqual([
      ["sum", 3_600_000, "undefined", "function"],
      ["sum", null, "undefined", "function"],
      ["max", 1_800_000, "undefined", "function"],
      ["min", null, "undefined", "function"],
      ["seen", null, "function", "undefined"],
      ["seen", 1_200_000, "function", "undefined"],
      ["count", null, "undefined", "undefined"],
      ["count", null, "undefined", "undefined"],
    ]);
    expect(new Set(module.trackers.map((t) => t.key)).size).toBe(8);
  });

  it("runtime values decide as scanning the history does (compiled and interpreted)", async () => {
    const module = await loadModule(emit(compilation).js);
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), actionArb, fc.nat(30), (steps, current, lastGap) => {
        const trackers = new SessionTrackers(memoryHistoryStore());
        const history: { action: Record<string, unknown>; time: string }[] = [];
        let now = T0;
        for (const s of steps) {
          now += s.gap * 60_000;
          trackers.record("s", s.action, now, [module.trackers]);
          history.push({ action: s.action, time: iso(now) });
        }
        now += lastGap * 60_000;
        const values = trackers.values("s", module.trackers, now);
        const input = { action: current, time: iso(now) };
        const scanned = module.decide({ ...input, history });
        expect(outcome(module.decide(input, values))).toEqual(outcome(scanned));
        expect(outcome(evaluatePolicy(compilation.policy, input, { trackerValues: values }).result)).toEqual(outcome(scanned));
        expect(evaluatePolicy(compilation.policy, { ...input, history }).result).toEqual(scanned);
      }),
      { numRuns: 1500 },
    );
  });

  it("takes back reservations exactly, for every kind", async () => {
    const module = await loadModule(emit(compilation).js);
    fc.assert(
      fc.property(fc.array(fc.tuple(stepArb, fc.boolean()), { maxLength: 30 }), fc.nat(30), (steps, lastGap) => {
        const trackers = new SessionTrackers(memoryHistoryStore());
        const history: { action: Record<string, unknown>; time: string }[] = [];
        const cancels: (() => void)[] = [];
        let now = T0;
        for (const [s, cancelled] of steps) {
          now += s.gap * 60_000;
          const reservation = trackers.record("s", s.action, now, [module.trackers]);
          if (cancelled) cancels.push(() => reservation.cancel());
          else history.push({ action: s.action, time: iso(now) });
        }
        // taken back out of order (every second one first), after later actions were recorded
        for (const cancel of [...cancels.filter((_, i) => i % 2 === 1), ...cancels.filter((_, i) => i % 2 === 0)]) cancel();
        now += lastGap * 60_000;
        const values = trackers.values("s", module.trackers, now);
        const input = { action: { type: "read" }, time: iso(now) };
        expect(values).toEqual(module.trackers.map((_, i) => probe(i, { ...input, history })));
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ["login", ["login"], true],
    ["login, logout", ["login", "logout"], false],
    ["login, logout, login", ["login", "logout", "login"], true],
    ["nothing", [], false],
    ["logout only", ["logout"], false],
    ["login, read, logout, read", ["login", "read", "logout", "read"], false],
  ])("seen(login since logout) after %s is %s", async (_name, types, expected) => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    for (const [i, type] of types.entries()) trackers.record("s", { type }, T0 + i * 1000, [module.trackers]);
    const values = trackers.values("s", module.trackers, T0 + 60_000);
    expect(values[4]).toBe(expected);
    const input = { action: { type: "read" }, time: iso(T0 + 60_000), history: types.map((type, i) => ({ action: { type }, time: iso(T0 + i * 1000) })) };
    expect(module.decide(input).decision).toBe(expected ? "allow" : "deny");
  });

  it("an entry matching both A and B is the last B", async () => {
    const c = compileSource("both.armor", 'default allow\nrule r when seen(kind == "x" since kind == "x") deny', { readFile: () => undefined });
    const module = await loadModule(emit(c).js);
    const input = { action: { type: "t" }, history: [{ action: { type: "a", kind: "x" } }] };
    expect(module.decide(input).decision).toBe("allow");
    expect(evaluatePolicy(c.policy, input).result.decision).toBe("allow");
  });

  it("a new predicate starts from the session's recent actions, so a reload cannot reset a sum, max, min or since", async () => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    const steps = [{ type: "login" }, { type: "wire", amount: 60 }, { type: "wire", amount: 3 }, { type: "wire", amount: 95 }, { type: "write" }];
    // the policy in force had only a count over the session; the reloaded policy's other trackers are new and seeded
    for (const [i, a] of steps.entries()) trackers.record("s", a, T0 + i * 60_000, [[module.trackers[6]!]]);
    const now = T0 + 10 * 60_000;
    const values = trackers.values("s", module.trackers, now);
    const history = steps.map((action, i) => ({ action, time: iso(T0 + i * 60_000) }));
    expect(values).toEqual(module.trackers.map((_, i) => probe(i, { action: { type: "read" }, time: iso(now), history })));
    expect(values.slice(0, 5)).toEqual([158, 158, 95, 3, true]);
  });

  it("a value that is not a number poisons the window, and the decision names the rule", async () => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    trackers.record("s", { type: "wire", amount: "12" }, T0, [module.trackers]);
    const inWindow = trackers.values("s", module.trackers, T0 + 10 * 60_000);
    expect(inWindow[0]).toEqual({ error: "`sum` needs a number from every matching entry; an earlier action gives string" });
    const d = module.decide({ action: { type: "wire", amount: 1 } }, inWindow);
    expect(d.decision).toBe("deny");
    expect(d.errors.map((e) => e.rule)).toEqual(["budget", "total", "biggest"]);
    expect(d.errors[0]!.message).toBe("`sum` needs a number from every matching entry; an earlier action gives string");
    // out of the hour's window, the windowed sum recovers; the session's sum stays poisoned
    const later = trackers.values("s", module.trackers, T0 + 2 * 3_600_000);
    expect(later[0]).toBe(0);
    expect(later[1]).toEqual({ error: "`sum` needs a number from every matching entry; an earlier action gives string" });
  });

  it("windowed sums expire to exactly 0", async () => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    for (let i = 0; i < 50; i++) trackers.record("s", { type: "wire", amount: 0.1 }, T0 + i, [module.trackers]);
    expect(trackers.values("s", module.trackers, T0 + 3_600_000 + 50)[0]).toBe(0);
  });
});

/** Tracker `i`'s value by scanning, read from the interpreter through a rule that compares it. */
const probes = new Map<number, { policy: ReturnType<typeof compileSource>["policy"]; expr: string }>();
function probe(i: number, input: unknown): unknown {
  const t = compilation.policy.trackers[i]!;
  const text = source.slice(t.span.start, t.span.end);
  let p = probes.get(i);
  if (p === undefined) {
    const c = compileSource("probe.armor", `default allow\nrule r when ${text} == null deny`, { readFile: () => undefined });
    p = { policy: c.policy, expr: text };
    probes.set(i, p);
  }
  // the interpreter's explanation records the tracker's value
  const e = evaluatePolicy(p.policy, input, { explain: true });
  const trace = e.explanations[0]!.trace;
  const node = trace.find((x) => x.expr.kind === "count" || x.expr.kind === "seen" || x.expr.kind === "aggregate");
  return node?.value;
}
