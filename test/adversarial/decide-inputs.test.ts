/**
 * Hostile decision inputs: getters that throw, Proxies whose traps throw, revoked Proxies,
 * Symbols, non-finite and non-numeric tracker values, inputs whose prototype is not
 * Object.prototype. Emitted `decide` never throws (ARCHITECTURE invariant 6) and agrees with the
 * interpreter: a failure while the input itself is read denies with `rule: null`; a failure while
 * a rule reads a field denies and names the rule; the decision keeps its full shape.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { FOREIGN_ERROR, INPUT_UNREADABLE } from "../../packages/compiler/src/decision-input.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import type * as IR from "../../packages/compiler/src/ir.js";
import { loadModule } from "../../packages/compiler/src/load.js";
import type { PolicyModule } from "../../packages/contract/src/index.js";

const SOURCE = `
policy hostile
default allow
rule big when action.type == "pay" and amount > 100 deny
rule vip when action.type == "pay" and user.role == "vip" allow
rule region when context.region == "eu" require approval from "ops"
rule burst when action.type == "pay" and count(type == "pay" within 1h) >= 3 deny
rule once when action.type == "pay" and seen(type == "refund") deny
rule hide when action.type == "pay" redact memo
`;

const boom = (): never => {
  throw new Error("boom");
};
const getter = (o: Record<string, unknown>, key: string): Record<string, unknown> => Object.defineProperty(o, key, { get: boom, enumerable: true, configurable: true });
/** A Proxy every trap of which throws. */
const throwingProxy = (): object =>
  new Proxy(
    {},
    {
      get: boom,
      has: boom,
      ownKeys: boom,
      getOwnPropertyDescriptor: boom,
      getPrototypeOf: boom,
      set: boom,
      defineProperty: boom,
      deleteProperty: boom,
      isExtensible: boom,
      preventExtensions: boom,
      setPrototypeOf: boom,
    },
  );
const revoked = (): object => {
  const r = Proxy.revocable({}, {});
  r.revoke();
  return r.proxy;
};
/** A Proxy that forwards everything to a plain action, so it reads as one. */
const forwarding = (target: object): object => new Proxy(target, {});
class Action {
  constructor(
    readonly type: string,
    readonly amount: number,
  ) {}
}

type Expect = { rule: string | null; message: string | RegExp } | "no errors";

/** [name, input, tracker values, the first error expected]. */
const CASES: [string, () => unknown, unknown, Expect][] = [
  // the input itself
  ["a getter on input.action that throws", () => getter({}, "action"), undefined, { rule: null, message: INPUT_UNREADABLE }],
  ["a getter on action.type that throws", () => ({ action: getter({ amount: 1 }, "type") }), undefined, { rule: null, message: INPUT_UNREADABLE }],
  ["an own __proto__ getter that throws, which no rule reads", () => getter({ action: { type: "pay" } }, "__proto__"), undefined, "no errors"],
  ["a throwing Proxy as the input", throwingProxy, undefined, { rule: null, message: INPUT_UNREADABLE }],
  ["a throwing Proxy as the action", () => ({ action: throwingProxy() }), undefined, { rule: null, message: INPUT_UNREADABLE }],
  ["a revoked Proxy as the input", revoked, undefined, { rule: null, message: INPUT_UNREADABLE }],
  ["a revoked Proxy as the action", () => ({ action: revoked() }), undefined, { rule: null, message: INPUT_UNREADABLE }],
  ["a Symbol as the input", () => Symbol("x"), undefined, { rule: null, message: "the input must be an object with an `action`" }],
  ["a Symbol as action.type", () => ({ action: { type: Symbol("pay") } }), undefined, { rule: null, message: "`action.type` must be a string" }],
  // fields that rules read
  ["a getter on action.amount that throws", () => ({ action: getter({ type: "pay" }, "amount") }), undefined, { rule: "big", message: FOREIGN_ERROR }],
  ["a getter on input.user that throws", () => getter({ action: { type: "pay", amount: 1 } }, "user"), undefined, { rule: "vip", message: FOREIGN_ERROR }],
  ["a getter on input.context that throws", () => getter({ action: { type: "other" } }, "context"), undefined, { rule: "region", message: FOREIGN_ERROR }],
  ["a throwing Proxy as user", () => ({ action: { type: "pay", amount: 1 }, user: throwingProxy() }), undefined, { rule: "vip", message: FOREIGN_ERROR }],
  ["a revoked Proxy as context", () => ({ action: { type: "other" }, context: revoked() }), undefined, { rule: "region", message: FOREIGN_ERROR }],
  ["a getter on the redacted field that throws", () => ({ action: getter({ type: "pay", amount: 1 }, "memo") }), undefined, { rule: "hide", message: FOREIGN_ERROR }],
  ["a Symbol as a field", () => ({ action: { type: "pay", amount: Symbol("1") } }), undefined, { rule: "big", message: /`>` needs two numbers or two strings/ }],
  // no JSON holds them, so they are errors, not amounts that pass (or fail) every threshold
  ["NaN as a field", () => ({ action: { type: "pay", amount: Number.NaN } }), undefined, { rule: "big", message: "`>` needs two numbers or two strings, got non-finite number and number" }],
  [
    "Infinity as a field",
    () => ({ action: { type: "pay", amount: Number.POSITIVE_INFINITY } }),
    undefined,
    { rule: "big", message: "`>` needs two numbers or two strings, got non-finite number and number" },
  ],
  [
    "-Infinity as a field",
    () => ({ action: { type: "pay", amount: Number.NEGATIVE_INFINITY } }),
    undefined,
    { rule: "big", message: "`>` needs two numbers or two strings, got non-finite number and number" },
  ],
  ["a getter on a history entry that throws", () => ({ action: { type: "pay", amount: 1 }, history: [getter({}, "action")] }), undefined, { rule: "burst", message: FOREIGN_ERROR }],
  // inputs whose prototype is not Object.prototype
  ["a null-prototype input and action", () => Object.assign(Object.create(null), { action: Object.assign(Object.create(null), { type: "pay", amount: 500 }) }), undefined, "no errors"],
  ["a class instance as the action", () => ({ action: new Action("pay", 500) }), undefined, "no errors"],
  ["a forwarding Proxy as the action", () => ({ action: forwarding({ type: "pay", amount: 500 }) }), undefined, "no errors"],
  // tracker values
  ["a Symbol as a count", () => ({ action: { type: "pay", amount: 1 } }), [Symbol("3"), false], { rule: null, message: "`trackerValues[0]` must be a finite number" }],
  ["a string as a count", () => ({ action: { type: "pay", amount: 1 } }), ["3", false], { rule: null, message: "`trackerValues[0]` must be a finite number" }],
  ["NaN as a count", () => ({ action: { type: "pay", amount: 1 } }), [Number.NaN, false], { rule: null, message: "`trackerValues[0]` must be a finite number" }],
  ["Infinity as a count", () => ({ action: { type: "pay", amount: 1 } }), [Number.POSITIVE_INFINITY, false], { rule: null, message: "`trackerValues[0]` must be a finite number" }],
  ["a Symbol as seen", () => ({ action: { type: "pay", amount: 1 } }), [1, Symbol("yes")], { rule: null, message: "`trackerValues[1]` must be true or false" }],
  [
    "a throwing getter in the tracker values",
    () => ({ action: { type: "pay", amount: 1 } }),
    Object.defineProperty([], 0, { get: boom }),
    { rule: null, message: "`trackerValues[0]` cannot be read" },
  ],
  ["a revoked Proxy as the tracker values", () => ({ action: { type: "pay", amount: 1 } }), revoked(), { rule: null, message: "`trackerValues[0]` cannot be read" }],
  ["tracker values a rule denies on", () => ({ action: { type: "pay", amount: 1 } }), [3, false], "no errors"],
];

let module: PolicyModule;
let policy: IR.Policy;
beforeAll(async () => {
  const c = compileSource("hostile.armor", SOURCE, { readFile: () => undefined });
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  policy = c.policy;
  module = await loadModule(emit(c).js);
});

describe("hostile decision inputs", () => {
  it.each(CASES)("%s", (_name, make, values, expected) => {
    const input = make();
    const compiled = module.decide(input, values as never);
    const reference = evaluatePolicy(policy, input, { trackerValues: values as never, now: () => Date.parse("2026-03-02T10:00:00Z") }).result;
    expect(Object.keys(compiled)).toEqual(["decision", "rules", "approval", "action", "errors", "labels"]);
    // a hostile action is returned as it is: compared by identity, since reading it throws
    const { action, ...rest } = compiled;
    const { action: referenceAction, ...referenceRest } = reference;
    expect(rest).toEqual(referenceRest);
    if (!Object.is(action, referenceAction)) expect(action).toEqual(referenceAction);
    if (expected === "no errors") {
      expect(compiled.errors).toEqual([]);
    } else {
      expect(compiled.decision).toBe("deny");
      expect(compiled.errors[0]?.rule).toBe(expected.rule);
      if (typeof expected.message === "string") expect(compiled.errors[0]?.message).toBe(expected.message);
      else expect(compiled.errors[0]?.message).toMatch(expected.message);
    }
  });
});

describe("non-finite numbers in every ordering form", () => {
  // literal bound (inlined), two fields ($ord), \`between\` with literal bounds (inlined) and with fields ($btw)
  const src = "default allow\nrule lit when a < 0 deny\nrule fields when a >= b deny\nrule range when a between 1 and 5 deny\nrule span when b between a and 9 deny\n";
  const NON_FINITE = "non-finite number";
  it.each([
    ["Infinity", { a: Number.POSITIVE_INFINITY, b: 2 }],
    ["-Infinity", { a: Number.NEGATIVE_INFINITY, b: 2 }],
    ["NaN", { a: Number.NaN, b: 2 }],
  ])("%s errs in each rule, compiled and interpreted alike", async (_name, fields) => {
    const c = compileSource("finite.armor", src, { readFile: () => undefined });
    expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const m = await loadModule(emit(c).js);
    const input = { action: { type: "t", ...fields } };
    const compiled = m.decide(input);
    const reference = evaluatePolicy(c.policy, input, { now: () => 0 }).result;
    expect(compiled).toEqual(reference);
    expect(compiled.decision).toBe("deny");
    expect(compiled.errors.map((e) => e.rule)).toEqual(["lit", "fields", "range", "span"]);
    for (const e of compiled.errors) expect(e.message).toContain(NON_FINITE);
  });
  it("finite numbers compare as before", async () => {
    const c = compileSource("finite.armor", src, { readFile: () => undefined });
    const m = await loadModule(emit(c).js);
    const d = m.decide({ action: { type: "t", a: 3, b: 3 } });
    expect(d.errors).toEqual([]);
    expect(d.rules.map((r) => r.id)).toEqual(["fields", "range", "span"]);
  });
});

describe("two deep input values compared with each other", () => {
  const deep = (n: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = [v];
    return v;
  };
  it.each([
    [10, []],
    [999, []],
    [1001, ["r", "s"]],
    [200_000, ["r", "s"]],
  ] as const)("nested %i deep: the rules that compare them err (%j), the same both ways", async (n, erring) => {
    const c = compileSource("deep.armor", "default allow\nrule r when a == b deny\nrule s when tags contains b deny\n", { readFile: () => undefined });
    const m = await loadModule(emit(c).js);
    const input = { action: { type: "x", a: deep(n), b: deep(n), tags: [deep(n)] } };
    const compiled = m.decide(input);
    expect(compiled).toEqual(evaluatePolicy(c.policy, input).result);
    expect(compiled.errors.map((e) => e.rule)).toEqual(erring);
    for (const e of compiled.errors) expect(e.message).toBe("values nested more than 1000 deep cannot be compared");
  });
});
