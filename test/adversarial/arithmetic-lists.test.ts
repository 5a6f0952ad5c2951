/**
 * Hostile arithmetic and quantifiers: huge lists, nested quantifiers over large inputs (a
 * product of lengths), overflow (`1e308 * 10`), `0 / 0`, `-0`, strings and `null` as operands,
 * `__proto__` as a local name and as an element's field, lists that are Proxies whose traps
 * throw, sparse arrays. Compiled `decide` and the interpreter give the same decision; a value
 * that cannot be computed denies and says why; no input makes a decision take unbounded time
 * (docs/language.md §6.5, §6.10).
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { FOREIGN_ERROR } from "../../packages/compiler/src/decision-input.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import type * as IR from "../../packages/compiler/src/ir.js";
import { loadModule } from "../../packages/compiler/src/load.js";
import { MAX_QUANTIFIER_VISITS, QUANTIFIER_LIMIT_MESSAGE } from "../../packages/compiler/src/semantics.js";
import type { PolicyModule } from "../../packages/contract/src/index.js";

interface Compiled {
  readonly policy: IR.Policy;
  readonly module: PolicyModule;
}

async function compile(source: string): Promise<Compiled> {
  const c = compileSource("hostile.armor", `default allow\n${source}\n`);
  if (!c.ok) throw new Error(c.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return { policy: c.policy, module: await loadModule(emit(c).js) };
}

/** Decides with both engines, checks they agree, and returns the decision. */
function decideBoth(c: Compiled, input: unknown): IR.PolicyDecision {
  const compiled = c.module.decide(input) as IR.PolicyDecision;
  const interpreted = evaluatePolicy(c.policy, input).result;
  expect({ decision: compiled.decision, rules: compiled.rules, errors: compiled.errors }).toEqual({
    decision: interpreted.decision,
    rules: interpreted.rules,
    errors: interpreted.errors,
  });
  return compiled;
}

const boom = (): never => {
  throw new Error("boom");
};
/** An array whose every trap throws: `Array.isArray` is true, reading it is not. */
const throwingList = (): unknown[] => new Proxy([1, 2, 3], { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom });
/** An array whose elements throw when read, after its length is read. */
const throwingElements = (): unknown[] => new Proxy([1, 2, 3], { get: (t, k) => (k === "length" ? t.length : boom()) });

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly action: Record<string, unknown>;
  /** `fires`: the rule fired; otherwise the error message of the rule (it denies). */
  readonly expect: "fires" | "does not fire" | { readonly error: string };
}

const arithmetic: Case[] = [
  { name: "overflow of a product", rule: "when a * 10 > 0 deny", action: { a: 1e308 }, expect: { error: "`*` gives a number too large to represent" } },
  { name: "overflow of a sum", rule: "when a + a > 0 deny", action: { a: Number.MAX_VALUE }, expect: { error: "`+` gives a number too large to represent" } },
  { name: "0 / 0", rule: "when a / b == 0 deny", action: { a: 0, b: 0 }, expect: { error: "`/` divides by zero" } },
  { name: "division by -0", rule: "when a / b < 0 deny", action: { a: 1, b: -0 }, expect: { error: "`/` divides by zero" } },
  { name: "-0 as a result equals 0", rule: "when a * -1 == 0 deny", action: { a: 0 }, expect: "fires" },
  { name: "a string operand", rule: "when a + 1 > 0 deny", action: { a: "1" }, expect: { error: "`+` needs two numbers, got string and number" } },
  { name: "a null operand", rule: "when a - b > 0 deny", action: { a: 1, b: null }, expect: { error: "`-` needs two numbers, got number and null" } },
  { name: "a missing operand", rule: "when a - b > 0 deny", action: { a: 1 }, expect: { error: "`-` needs two numbers, got number and null" } },
  { name: "a list operand", rule: "when a * 2 > 0 deny", action: { a: [1] }, expect: { error: "`*` needs two numbers, got list and number" } },
  { name: "an object operand", rule: "when 2 / a > 0 deny", action: { a: { valueOf: 2 } }, expect: { error: "`/` needs two numbers, got number and object" } },
  { name: "Infinity from a direct caller", rule: "when 1 / a == 0 deny", action: { a: Number.POSITIVE_INFINITY }, expect: { error: "`/` needs two numbers, got number and non-finite number" } },
  { name: "NaN from a direct caller", rule: "when a - a == 0 deny", action: { a: Number.NaN }, expect: { error: "`-` needs two numbers, got non-finite number and non-finite number" } },
  { name: "a field called __proto__", rule: "when __proto__ + 1 > 0 deny", action: {}, expect: { error: "`+` needs two numbers, got null and number" } },
  { name: "precedence", rule: "when a + b * c == 7 and a * b + c == 5 deny", action: { a: 1, b: 2, c: 3 }, expect: "fires" },
  { name: "left-associative division", rule: "when a / b / c == 1 deny", action: { a: 8, b: 4, c: 2 }, expect: "fires" },
  { name: "a getter that throws", rule: "when a + 1 > 0 deny", action: Object.defineProperty({}, "a", { get: boom, enumerable: true }), expect: { error: FOREIGN_ERROR } },
];

const big = Array.from({ length: MAX_QUANTIFIER_VISITS }, (_, i) => `u${i}@example.com`);
const quantifiers: Case[] = [
  { name: "empty list: any is false", rule: "when any(x in l: x == 1) deny", action: { l: [] }, expect: "does not fire" },
  { name: "empty list: all is true", rule: "when all(x in l: x == 1) deny", action: { l: [] }, expect: "fires" },
  { name: "missing list: all is false", rule: "when all(x in l: x == 1) deny", action: {}, expect: "does not fire" },
  { name: "a string is not a list", rule: "when any(x in l: x == 1) deny", action: { l: "abc" }, expect: { error: "`any` needs a list after `in`, got string" } },
  { name: "an object is not a list", rule: "when all(x in l: x == 1) deny", action: { l: { 0: 1, length: 1 } }, expect: { error: "`all` needs a list after `in`, got object" } },
  { name: "a list of 100,000 is walked", rule: 'when all(x in l: x ends_with "@example.com") deny', action: { l: big }, expect: "fires" },
  { name: "one more element is over the budget", rule: 'when all(x in l: x ends_with "@example.com") deny', action: { l: [...big, "a@example.com"] }, expect: { error: QUANTIFIER_LIMIT_MESSAGE } },
  { name: "any stops at the first match of a huge list", rule: "when any(x in l: x == 0) deny", action: { l: [0, ...Array(1_000_000).fill(1)] }, expect: "fires" },
  {
    name: "nested quantifiers multiply: 1,000 × 1,000 is over the budget",
    rule: "when any(x in l: any(y in l: x == y + 1_000_000)) deny",
    action: { l: Array.from({ length: 1000 }, (_, i) => i) },
    expect: { error: QUANTIFIER_LIMIT_MESSAGE },
  },
  { name: "nested quantifiers within the budget", rule: "when any(x in l: all(y in x.to: y == 1)) deny", action: { l: [{ to: [2] }, { to: [1, 1] }] }, expect: "fires" },
  { name: "__proto__ as a local name", rule: "when any(__proto__ in l: __proto__ == 1) deny", action: { l: [1] }, expect: "fires" },
  { name: "an element's __proto__ is not read", rule: "when any(x in l: x.__proto__ != null or x.toString != null) deny", action: { l: [{}, []] }, expect: "does not fire" },
  { name: "an element's own __proto__ is read", rule: "when any(x in l: x.__proto__ == 1) deny", action: { l: [JSON.parse('{"__proto__": 1}')] }, expect: "fires" },
  { name: "a sparse array's holes are null", rule: "when any(x in l: x == null) deny", action: { l: new Array<unknown>(3).fill(1, 0, 1) }, expect: "fires" },
  { name: "a list Proxy whose traps throw", rule: "when any(x in l: x == 1) deny", action: { l: throwingList() }, expect: { error: FOREIGN_ERROR } },
  { name: "elements that throw when read", rule: "when all(x in l: x > 0) deny", action: { l: throwingElements() }, expect: { error: FOREIGN_ERROR } },
  {
    name: "an element's getter that throws",
    rule: "when any(x in l: x.a == 1) deny",
    action: { l: [Object.defineProperty({}, "a", { get: boom, enumerable: true })] },
    expect: { error: FOREIGN_ERROR },
  },
  { name: "arithmetic on elements", rule: "when any(x in l: x * 2 > 10) deny", action: { l: [1, "7"] }, expect: { error: "`*` needs two numbers, got string and number" } },
];

describe.each([
  ["arithmetic", arithmetic],
  ["any and all", quantifiers],
])("%s", (_name, cases) => {
  it.each(cases)("$name", async ({ rule, action, expect: want }) => {
    const c = await compile(`rule r ${rule}`);
    const started = performance.now();
    const d = decideBoth(c, { action: Object.defineProperties({ type: "t" }, Object.getOwnPropertyDescriptors(action)) });
    // a generous bound: a hang, not a slow machine, fails this
    expect(performance.now() - started).toBeLessThan(20_000);
    if (want === "fires") expect(d.rules.map((r) => r.id)).toEqual(["r"]);
    else if (want === "does not fire") expect({ rules: d.rules, errors: d.errors }).toEqual({ rules: [], errors: [] });
    else expect({ decision: d.decision, errors: d.errors }).toEqual({ decision: "deny", errors: [{ rule: "r", message: want.error }] });
  });
});

describe("a quantifier in a history condition", () => {
  it("walks the earlier entry's list and keeps the budget per entry", async () => {
    const c = await compile('rule r when seen(any(x in to: x ends_with "@x.com") within 1h) deny');
    const entry = (to: unknown) => ({ action: { type: "send", to }, time: "2026-03-02T09:30:00Z" });
    const input = (history: unknown[]) => ({ action: { type: "t" }, time: "2026-03-02T10:00:00Z", history });
    expect(decideBoth(c, input([entry(big), entry(["b@x.com"])])).rules).toEqual([{ id: "r", effect: "deny", reason: null }]);
    expect(decideBoth(c, input([entry([...big, "a"])])).errors).toEqual([{ rule: "r", message: QUANTIFIER_LIMIT_MESSAGE }]);
    expect(decideBoth(c, input([entry("b@x.com")])).errors).toEqual([{ rule: "r", message: "`any` needs a list after `in`, got string" }]);
  });
});

describe("hostile sources", () => {
  it.each([
    ["a constant division by zero", "let X = 1 / 0\nrule r when a > X deny", "A312"],
    ["a constant overflow", "let X = 1e308 * 10\nrule r when a > X deny", "A312"],
    ["a string in arithmetic", 'rule r when a + "1" > 2 deny', "A301"],
    ["null in arithmetic", "rule r when a * null > 2 deny", "A301"],
    ["a local named like a root", "rule r when any(context in l: context == 1) deny", "A210"],
    ["a history condition inside a quantifier", "rule r when any(x in l: count(true within 1h) > x) deny", "A211"],
  ])("%s is a compile error", (_name, source, code) => {
    const c = compileSource("hostile.armor", `default allow\n${source}\n`);
    expect(c.ok).toBe(false);
    expect(c.diagnostics.map((d) => d.code)).toContain(code);
  });

  it.each([
    ["a chain of 10,000 additions", `rule r when ${Array.from({ length: 10_000 }, () => "a").join(" + ")} > 0 deny`],
    ["a chain of 40 inside 40 parentheses", `rule r when ${"(a + ".repeat(40)}${"a + ".repeat(40)}a${")".repeat(40)} > 0 deny`],
    ["10,000 negative numbers", `rule r when ${Array.from({ length: 10_000 }, () => "- -1").join(" ")} > 0 deny`],
  ])("%s stops at the nesting limit (A109), never the stack", (_name, source) => {
    const c = compileSource("hostile.armor", `default allow\n${source}\n`);
    expect(c.diagnostics.map((d) => d.code)).toContain("A109");
  });

  it("a chain of 64 operators is accepted", () => {
    const c = compileSource("hostile.armor", `default allow\nrule r when ${Array.from({ length: 65 }, () => "a").join(" * ")} > 0 deny\n`);
    expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it("100 nested quantifiers stop at the nesting limit", () => {
    const source = `rule r when ${"any(x in l: ".repeat(100)}x == 1${")".repeat(100)} deny`;
    const c = compileSource("hostile.armor", `default allow\n${source}\n`);
    expect(c.diagnostics.map((d) => d.code)).toContain("A109");
  });
});
