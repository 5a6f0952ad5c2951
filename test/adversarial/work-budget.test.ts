/**
 * The work budget (docs/language.md §6.7, semantics.ts `MAX_WORK`): walks of input values repeated
 * by a quantifier's condition, and comparisons of values that share parts. Every case runs in
 * compiled `decide` and in the interpreter, which must agree on the decision and the error.
 *
 * The boundary table pins what each operation costs: a condition that costs exactly `c` steps per
 * element, over `floor(MAX_WORK / c)` elements, stays within the budget, and one element more is
 * over it, in both engines. The hostile table has the inputs that held a decision for seconds or
 * minutes before the budget (a 200 KB body lowered for every element, lookups in the strings of a
 * 200 KiB value, deep comparisons of shared parts); each now ends in the budget's error.
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import type * as IR from "../../packages/compiler/src/ir.js";
import { loadModule } from "../../packages/compiler/src/load.js";
import { MAX_WORK, STEPS_PER_ELEMENT, STEPS_PER_FIELD, STEPS_PER_VALUE, WORK_LIMIT_MESSAGE } from "../../packages/compiler/src/semantics.js";
import type { PolicyModule } from "../../packages/contract/src/index.js";

interface Compiled {
  readonly policy: IR.Policy;
  readonly module: PolicyModule;
}

async function compile(condition: string): Promise<Compiled> {
  const c = compileSource("budget.armor", `default allow\nrule r when ${condition} deny\n`);
  if (!c.ok) throw new Error(c.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return { policy: c.policy, module: await loadModule(emit(c).js) };
}

/** The rule's outcome in both engines, which must agree: "fires", "quiet", or the error message. */
function outcome(c: Compiled, action: Record<string, unknown>): string {
  const input = { action: { type: "t", ...action } };
  const compiled = c.module.decide(input) as IR.PolicyDecision;
  const interpreted = evaluatePolicy(c.policy, input).result;
  expect({ rules: compiled.rules, errors: compiled.errors }).toEqual({ rules: interpreted.rules, errors: interpreted.errors });
  if (compiled.errors.length > 0) return compiled.errors.map((e) => e.message).join("; ");
  return compiled.rules.length > 0 ? "fires" : "quiet";
}

const repeat = (s: string, n: number): string => s.repeat(n);
const fields = (n: number, last: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i === n - 1 ? last : i]));

interface BoundaryCase {
  readonly name: string;
  /** A condition over `l` (the list walked) that is false for every element. */
  readonly condition: string;
  /** The other fields of the action. */
  readonly data: Record<string, unknown>;
  /** The steps the condition costs per element, by the table of §6.7. */
  readonly steps: number;
}

const boundary: BoundaryCase[] = [
  { name: "lower of a string", condition: 'any(x in l: lower(s) == "q")', data: { s: repeat("a", 1000) }, steps: 1000 },
  { name: "upper of a string", condition: 'any(x in l: upper(s) == "q")', data: { s: repeat("a", 1000) }, steps: 1000 },
  { name: "length of a string", condition: "any(x in l: length(s) == 1)", data: { s: repeat("a", 1000) }, steps: 1000 },
  { name: "length of a list is free", condition: 'any(x in l: length(m) == 1 or lower(s) == "q")', data: { m: [1, 2], s: repeat("a", 1000) }, steps: 1000 },
  { name: "host of a URL", condition: 'any(x in l: host(s) == "q")', data: { s: `https://${repeat("a", 992)}` }, steps: 1000 },
  // strings visits the list and its 999 elements (1,000 values), `in` reads 999 elements and
  // compares "q" with each "a" (one character each)
  { name: "a lookup in strings(V)", condition: 'any(x in l: "q" in strings(v))', data: { v: Array(999).fill("a") }, steps: 1000 * STEPS_PER_VALUE + 999 * STEPS_PER_ELEMENT + 999 },
  { name: "in a list of numbers", condition: "any(x in l: x in m)", data: { m: Array(500).fill(1) }, steps: 500 * STEPS_PER_ELEMENT },
  { name: "contains on a list", condition: 'any(x in l: m contains "q")', data: { m: Array(999).fill("a") }, steps: 999 * STEPS_PER_ELEMENT + 999 },
  { name: "contains on strings", condition: "any(x in l: s contains t)", data: { s: repeat("a", 900), t: repeat("b", 100) }, steps: 1000 },
  { name: "starts_with a field", condition: "any(x in l: s starts_with t)", data: { s: repeat("a", 1000), t: repeat("b", 2000) }, steps: 1000 },
  { name: "ends_with a field", condition: "any(x in l: t ends_with s)", data: { s: repeat("a", 1000), t: repeat("b", 2000) }, steps: 1000 },
  { name: "== on strings of one length", condition: "any(x in l: s == t)", data: { s: repeat("a", 1000), t: `${repeat("a", 999)}b` }, steps: 1000 },
  { name: "!= on strings of one length", condition: "any(x in l: s != t)", data: { s: repeat("a", 1000), t: repeat("a", 1000) }, steps: 1000 },
  { name: "== on strings of two lengths is free", condition: 'any(x in l: s == t or lower(u) == "q")', data: { s: "a", t: repeat("a", 5000), u: repeat("a", 1000) }, steps: 1000 },
  { name: "ordering of strings", condition: "any(x in l: s < t)", data: { s: repeat("b", 1000), t: repeat("a", 3000) }, steps: 1000 },
  { name: "between on strings", condition: "any(x in l: s between a and b)", data: { s: repeat("a", 500), a: repeat("b", 500), b: repeat("c", 900) }, steps: 1000 },
  { name: "matches a literal pattern", condition: "any(x in l: s matches /zz/)", data: { s: repeat("a", 1000) }, steps: 1000 },
  { name: "matches a pattern", condition: "any(x in l: s matches /a+b/)", data: { s: repeat("a", 1000) }, steps: 1000 },
  { name: "matches a detector", condition: "any(x in l: s matches std.card_number)", data: { s: repeat("abcd ", 200) }, steps: 1000 },
  { name: "== on lists", condition: "any(x in l: a == b)", data: { a: [...Array(499).fill(0), 1], b: Array(500).fill(0) }, steps: 500 * STEPS_PER_ELEMENT },
  { name: "== on objects", condition: "any(x in l: a == b)", data: { a: fields(50, -1), b: fields(50, -2) }, steps: 100 * STEPS_PER_FIELD },
  {
    name: "== on nested values",
    condition: "any(x in l: a == b)",
    data: { a: [repeat("a", 498), [1, 2], "x"], b: [repeat("a", 498), [1, 2], "y"] },
    // the outer lists (3 elements), the strings of 498, the inner lists (2 elements), the last strings (1)
    steps: 3 * STEPS_PER_ELEMENT + 498 + 2 * STEPS_PER_ELEMENT + 1,
  },
  { name: "nested quantifiers share the budget", condition: "any(x in l: any(y in m: lower(s) == y))", data: { m: ["q"], s: repeat("a", 1000) }, steps: 1000 },
];

describe("the work budget: each operation costs what §6.7 says, in both engines", () => {
  it.each(boundary)("$name", async ({ condition, data, steps }) => {
    const c = await compile(condition);
    const n = Math.floor(MAX_WORK / steps);
    expect(n).toBeLessThanOrEqual(100_000);
    expect(outcome(c, { ...data, l: Array(n).fill(0) })).toBe("quiet");
    expect(outcome(c, { ...data, l: Array(n + 1).fill(0) })).toBe(WORK_LIMIT_MESSAGE);
  });
});

const free = Array(100_000).fill(0);
const big = repeat("A", 1_000_000);
const cheap: { name: string; condition: string; data: Record<string, unknown> }[] = [
  { name: "== a literal", condition: 'any(x in l: s == "q")', data: { s: big } },
  { name: "in a literal list", condition: 'any(x in l: s in ["q", "r"])', data: { s: big } },
  { name: "starts_with a literal", condition: 'any(x in l: s starts_with "q")', data: { s: big } },
  { name: "ends_with a literal", condition: 'any(x in l: s ends_with "q")', data: { s: big } },
  { name: "ordering of numbers", condition: "any(x in l: n < x)", data: { n: 1 } },
];

describe("comparisons with a literal cost nothing", () => {
  it.each(cheap)("$name, 100,000 times on a 1 MB string", async ({ condition, data }) => {
    expect(outcome(await compile(condition), { ...data, l: free })).toBe("quiet");
  });
});

/** A list of two references to one list, `depth` times: 2^depth leaves from `depth` objects. */
function shared(depth: number): unknown {
  let v: unknown = [0];
  for (let i = 0; i < depth; i++) v = [v, v];
  return v;
}

const hostile: { name: string; condition: string; data: () => Record<string, unknown> }[] = [
  {
    name: "each of 2,000 items looked up among the strings of 217 KiB",
    condition: "any(x in items: x in strings(data))",
    data: () => ({ items: Array.from({ length: 2000 }, (_, i) => `item-${i}`), data: Array.from({ length: 9000 }, (_, i) => `value-${i}-xxxxxxxxxxxx`) }),
  },
  { name: "a 200 KB body lowered for each of 1,000 items", condition: "any(x in items: lower(big) == x)", data: () => ({ items: Array(1000).fill("q"), big: repeat("A", 200_000) }) },
  { name: "100,000 elements each looked up in 100,000", condition: "any(x in l: x in m)", data: () => ({ l: Array(100_000).fill(-1), m: Array(100_000).fill(1) }) },
  { name: "a 500 KB string searched for each element", condition: "any(x in l: s contains x)", data: () => ({ l: Array(100_000).fill("ab"), s: repeat("a", 500_000) }) },
  { name: "a 500 KB string matched for each element", condition: "any(x in l: s matches std.email)", data: () => ({ l: free, s: repeat("a.a@", 125_000) }) },
  { name: "two equal 500 KB strings ordered for each element", condition: "any(x in l: s < t)", data: () => ({ l: free, s: repeat("b", 500_000), t: repeat("b", 500_000) }) },
  { name: "two values sharing parts, 2^60 leaves each", condition: "p == q", data: () => ({ p: shared(60), q: shared(60) }) },
  { name: "a value sharing parts looked up in a list", condition: "p in m", data: () => ({ p: shared(60), m: [shared(60)] }) },
  { name: "a list sharing parts searched", condition: "m contains p", data: () => ({ p: shared(60), m: [shared(60)] }) },
];

describe("hostile inputs end in the budget's error", () => {
  it.each(hostile)("$name", async ({ condition, data }) => {
    expect(outcome(await compile(condition), data())).toBe(WORK_LIMIT_MESSAGE);
  });
});

describe("the budget starts afresh", () => {
  it("for each outermost quantifier and each comparison outside one", async () => {
    // each quantifier alone is within the budget; together they would not be
    const half = Math.floor(MAX_WORK / 1000 / 2) + 1;
    const c = await compile('any(x in l: lower(s) == "q") or any(x in l: lower(s) == "q") or a == b');
    expect(outcome(c, { l: Array(half).fill(0), s: repeat("a", 1000), a: [repeat("a", 9_000_000)], b: [repeat("a", 9_000_000)] })).toBe("fires");
  });

  it("once for a scan of the history, and for each call of a runtime's tracker", async () => {
    const c = await compile('seen(any(x in l: lower(s) == "q") within 1h)');
    const action = (n: number) => ({ type: "t", l: Array(n).fill(0), s: repeat("a", 1000) });
    const entry = (n: number) => ({ action: action(n), time: "2026-03-02T09:30:00Z" });
    const input = (history: unknown[]) => ({ action: { type: "t" }, time: "2026-03-02T10:00:00Z", history });
    const both = (i: unknown) => {
      const compiled = c.module.decide(i) as IR.PolicyDecision;
      expect(compiled.errors).toEqual(evaluatePolicy(c.policy, i).result.errors);
      return compiled.errors;
    };
    // 4,000 elements of 1,000 steps: two entries are 8,000,000 steps in all, three are 12,000,000
    expect(both(input([entry(4000), entry(4000)]))).toEqual([]);
    expect(both(input([entry(4000), entry(4000), entry(4000)]))).toEqual([{ rule: "r", message: WORK_LIMIT_MESSAGE }]);
    // a runtime records one action at a time: each call has the budget to itself
    const tracker = c.module.trackers[0]!;
    const n = Math.floor(MAX_WORK / 1000);
    for (let k = 0; k < 3; k++) expect(tracker.matches(action(n))).toBe(false);
    expect(() => tracker.matches(action(n + 1))).toThrow(WORK_LIMIT_MESSAGE);
  });
});
