/**
 * Runtimes keep their own counters and pass each history predicate's value to `decide` instead
 * of the session history. The compiled module and the interpreter must agree on that path too,
 * and the values must mean the same as the history they summarize.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";

const source = `
policy limits
default allow
rule email_rate when action.type == "send_email" and count(type == "send_email" within 1h) >= 3 deny
rule exfil when action.type == "http_post" and seen(type == "read_file" and path contains "secret" within 30m) deny
rule first_time when action.type == "deploy" and not seen(type == "deploy") require approval from "ops"
`;

const compilation = compileSource("limits.armor", source, { readFile: () => undefined });

describe("decide with tracker values", () => {
  it("compiles with one tracker per distinct history predicate", () => {
    expect(compilation.ok).toBe(true);
    expect(compilation.policy.trackers.map((t) => [t.kind, t.withinMs])).toEqual([
      ["count", 3_600_000],
      ["seen", 1_800_000],
      ["seen", null],
    ]);
  });

  it("agrees with the interpreter for any tracker values", async () => {
    const module = await loadModule(emit(compilation).js);
    const type = fc.constantFrom("send_email", "http_post", "deploy", "other");
    const value = fc.option(fc.oneof(fc.nat(10), fc.boolean()), { nil: undefined });
    fc.assert(
      fc.property(type, fc.tuple(value, value, value), (t, values) => {
        const input = { action: { type: t }, time: "2026-03-02T10:00:00Z", history: "not a list" };
        const compiled = module.decide(input, values);
        const reference = evaluatePolicy(compilation.policy, input, { trackerValues: values }).result;
        expect(compiled).toEqual(reference);
      }),
      { numRuns: 2000 },
    );
  });

  it("means what the same history means", async () => {
    const module = await loadModule(emit(compilation).js);
    const history = [
      { action: { type: "send_email" }, time: "2026-03-02T09:10:00Z" },
      { action: { type: "send_email" }, time: "2026-03-02T09:20:00Z" },
      { action: { type: "send_email" }, time: "2026-03-02T09:30:00Z" },
    ];
    const input = { action: { type: "send_email" }, time: "2026-03-02T10:00:00Z" };
    expect(module.decide({ ...input, history }).decision).toBe("deny");
    expect(module.decide(input, [3, false, false]).decision).toBe("deny");
    expect(module.decide(input, [2, false, false]).decision).toBe("allow");
    // the trackers' own tests say which executed actions count
    expect(history.filter((h) => module.trackers[0]!.matches(h.action))).toHaveLength(3);
    expect(module.trackers[1]!.matches({ type: "read_file", path: "/etc/secret" })).toBe(true);
  });
});

describe("a tracker's identity across policy versions", () => {
  /** The key of each tracker of a policy whose rules are `rules`, in order. */
  const keys = async (rules: string): Promise<string[]> => {
    const c = compileSource("v.armor", `default allow\n${rules}`, { readFile: () => undefined });
    expect(c.ok).toBe(true);
    return (await loadModule(emit(c).js)).trackers.map((t) => t.key);
  };
  const cardRule = 'rule cards when action.type == "post" and count(body matches std.card_number within 1d) >= 5 deny';

  it.each([
    ["a detector", "body matches std.iban", "body matches std.card_number"],
    ["a regex", "body matches /a+/", "body matches /b+/"],
    ["regex flags", "body matches /a/", "body matches /a/i"],
    ["a glob", 'path matches glob("src/**")', 'path matches glob("lib/**")'],
    ["a regex and a glob of the same text", "path matches /src/", 'path matches glob("src")'],
  ])("names %s by what it is, not by its place in the policy", async (_what, one, other) => {
    const [a] = await keys(`rule r when count(${one} within 1d) > 1 deny`);
    const [b] = await keys(`rule r when count(${other} within 1d) > 1 deny`);
    expect(a).not.toBe(b);
  });

  it("keeps a predicate's key when another pattern takes its place in the list", async () => {
    const [alone] = await keys(cardRule);
    const after = await keys(`rule ibans when action.type == "post" and body matches std.iban deny\n${cardRule}`);
    expect(after).toEqual([alone]);
  });
});

describe("correlation keys in parentheses", () => {
  it.each(["ticker == (current.ticker)", "(ticker) == current.ticker", "(ticker == current.ticker)"])("`%s` is a key", async (key) => {
    const c = compileSource("k.armor", `default allow\nrule r when action.type == "sell" and not seen(type == "approve" and ${key} within 1d) deny`, { readFile: () => undefined });
    expect(c.diagnostics.map((d) => d.code)).toEqual([]);
    const module = await loadModule(emit(c).js);
    const approved = { time: "2026-01-05T12:00:00Z", history: [{ action: { type: "approve", ticker: "A" }, time: "2026-01-05T11:00:00Z" }] };
    expect(module.decide({ ...approved, action: { type: "sell", ticker: "A" } }).decision).toBe("allow");
    expect(module.decide({ ...approved, action: { type: "sell", ticker: "B" } }).decision).toBe("deny");
    expect(module.trackers[0]!.currentKey!({ type: "sell", ticker: "A" })).toEqual(module.trackers[0]!.entryKeys!({ type: "approve", ticker: "A" })[0]);
  });
});
