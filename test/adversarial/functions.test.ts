/**
 * Hostile arguments of `host`, `lower`, `upper`, `length` and `strings`: values at and past the
 * limits of `strings` (100,000 values, 10,000 strings, 64 levels), Proxies that fake depth or
 * length, getters that throw, URLs of megabytes. Each decision is made by compiled `decide` and by
 * the interpreter, which must agree; past a limit the rule errs and the decision denies with the
 * documented text (docs/language.md, "Functions"), never a silent miss, a throw or a hang.
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { FOREIGN_ERROR } from "../../packages/compiler/src/decision-input.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import type * as IR from "../../packages/compiler/src/ir.js";
import { loadModule } from "../../packages/compiler/src/load.js";

const POLICY = `default allow
rule secret when strings(action) contains "AKIA-secret" deny
rule count when length(strings(payload)) > 5 deny
rule host when host(url) in ["evil.example"] deny
rule shout when upper(name) == "ROOT" deny
`;

async function decideBoth(input: unknown): Promise<IR.PolicyDecision> {
  const c = compileSource("p.armor", POLICY, { readFile: () => undefined });
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const module = await loadModule(emit(c).js);
  const compiled = module.decide(input);
  const interpreted = evaluatePolicy(c.policy, input, { now: () => Date.parse("2026-03-02T10:00:00Z") }).result;
  expect(compiled).toEqual(interpreted);
  return compiled;
}

/** A list of `n` values, numbers unless told (n + 1 values with the list itself; a list has no keys, which `strings` would count). */
const wide = (n: number, value: (i: number) => unknown = (i) => i): unknown[] => Array.from({ length: n }, (_, i) => value(i));

/** A Proxy that claims to be an object of one key whose value is another such Proxy, forever. */
const bottomless = (): object => {
  const handler: ProxyHandler<object> = {
    ownKeys: () => ["next"],
    getOwnPropertyDescriptor: () => ({ value: undefined, enumerable: true, configurable: true, writable: true }),
    get: () => new Proxy({}, handler),
    has: () => true,
  };
  return new Proxy({}, handler);
};

/** A Proxy of a list that claims 2^32 - 1 elements. */
const hugeList = (): unknown[] =>
  new Proxy([] as unknown[], {
    get: (t, k) => (k === "length" ? 4_294_967_295 : k === Symbol.iterator ? t[Symbol.iterator] : "x"),
  });

const deepList = (depth: number): unknown => {
  let v: unknown = "AKIA-secret";
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

const MB = 1 << 20;

interface Case {
  readonly name: string;
  readonly action: () => Record<string, unknown>;
  /** The rules that fire. */
  readonly rules: readonly string[];
  /** The errors, by rule. */
  readonly errors: readonly { rule: string; message: string }[];
}

const visited = "`strings` visited more than 100000 values";
const cases: readonly Case[] = [
  { name: "an action of 100,000 values (itself, its type, its payload and 99,997 numbers): at the limit", action: () => ({ type: "t", payload: wide(99_997) }), rules: [], errors: [] },
  {
    name: "an action of 100,001 values: one past the limit",
    action: () => ({ type: "t", payload: wide(99_998) }),
    rules: [],
    errors: [{ rule: "secret", message: visited }],
  },
  {
    name: "a list of 100,000 numbers: past the limit in the action and in the payload",
    action: () => ({ type: "t", payload: wide(100_000) }),
    rules: [],
    errors: [
      { rule: "secret", message: visited },
      { rule: "count", message: visited },
    ],
  },
  {
    name: "10,000 strings (the keys type and payload, the type and 9,997 others): at the limit",
    action: () => ({ type: "t", payload: wide(9_997, () => "s") }),
    rules: ["count"],
    errors: [],
  },
  {
    name: "10,001 strings in the payload: past the limit, never a silent miss",
    action: () => ({ type: "t", payload: wide(10_001, () => "s") }),
    rules: [],
    errors: [
      { rule: "secret", message: "`strings` found more than 10000 strings" },
      { rule: "count", message: "`strings` found more than 10000 strings" },
    ],
  },
  { name: "a string inside 63 lists in the action (64 levels) is found", action: () => ({ type: "t", x: deepList(63) }), rules: ["secret"], errors: [] },
  {
    name: "a string inside 64 lists in the action is an error, not a miss",
    action: () => ({ type: "t", x: deepList(64) }),
    rules: [],
    errors: [{ rule: "secret", message: "`strings` found a value nested more than 64 deep" }],
  },
  {
    name: "a Proxy that fakes endless depth",
    action: () => ({ type: "t", payload: bottomless() }),
    rules: [],
    errors: [
      { rule: "secret", message: "`strings` found a value nested more than 64 deep" },
      { rule: "count", message: "`strings` found a value nested more than 64 deep" },
    ],
  },
  {
    name: "a Proxy of a list that claims 2^32 - 1 elements",
    action: () => ({ type: "t", payload: hugeList() }),
    rules: [],
    errors: [
      { rule: "secret", message: visited },
      { rule: "count", message: visited },
    ],
  },
  {
    name: "a getter that throws inside the walked value",
    action: () => ({
      type: "t",
      payload: Object.defineProperty({}, "k", {
        get: () => {
          throw new Error("boom");
        },
        enumerable: true,
      }),
    }),
    rules: [],
    errors: [
      { rule: "secret", message: FOREIGN_ERROR },
      { rule: "count", message: FOREIGN_ERROR },
    ],
  },
  {
    name: "a non-enumerable own value is not walked (Object.keys)",
    action: () => ({ type: "t", payload: Object.defineProperty({}, "k", { value: "AKIA-secret", enumerable: false }) }),
    rules: [],
    errors: [],
  },
  {
    name: "a URL of 4 MiB whose host is evil",
    action: () => ({ type: "t", url: `https://evil.example/${"a".repeat(4 * MB)}` }),
    rules: ["host"],
    errors: [],
  },
  {
    name: "a URL whose user info is 4 MiB of @",
    action: () => ({ type: "t", url: `https://${"@".repeat(4 * MB)}evil.example/` }),
    rules: ["host"],
    errors: [],
  },
  {
    name: "a host name of 4 MiB is not a host (a label is at most 63 characters)",
    action: () => ({ type: "t", url: `https://${"a".repeat(4 * MB)}.example/` }),
    rules: [],
    errors: [],
  },
  { name: "upper of a string of 4 MiB", action: () => ({ type: "t", name: "ß".repeat(4 * MB) }), rules: [], errors: [] },
  { name: "a non-string URL is an error", action: () => ({ type: "t", url: ["https://evil.example/"] }), rules: [], errors: [{ rule: "host", message: "`host` needs a string, got list" }] },
];

describe("hostile arguments of the value functions", () => {
  it.each(cases)("$name", async (c) => {
    const d = await decideBoth({ action: c.action() });
    expect(d.rules.map((r) => r.id)).toEqual(c.rules);
    expect(d.errors).toEqual(c.errors);
    expect(d.decision).toBe(c.rules.length > 0 || c.errors.length > 0 ? "deny" : "allow");
  });
});
