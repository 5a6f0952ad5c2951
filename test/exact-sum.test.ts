/**
 * `sum` is the exact sum of its numbers, rounded once (docs/language.md §7). Three copies of the
 * partials that compute it must agree with each other and with an exact reference (BigInt): the
 * compiler's (semantics.ts, the interpreter's scan), the compiled module's prelude (`$sumAdd`,
 * `$sumValue`) and the runtime's (exact-sum.ts). And the runtime's windowed and whole-session
 * sums, which add numbers as they come and take them back as they leave or are released, must
 * give the value the compiled and interpreted scans of the same history give.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { helpers } from "../packages/compiler/src/codegen/prelude.js";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import * as sem from "../packages/compiler/src/semantics.js";
import * as runtimeSum from "../packages/runtime/src/exact-sum.js";
import { memoryHistoryStore, SessionTrackers } from "../packages/runtime/src/history.js";

type Partials = { add: (p: number[], x: number) => boolean; value: (p: readonly number[]) => number };
const prelude = new Function(`${helpers.$sumAdd!.source}\n${helpers.$sumValue!.source}\nreturn { add: $sumAdd, value: $sumValue };`)() as Partials;
const twins: [string, Partials][] = [
  ["compiler", { add: sem.addPartial, value: sem.partialsValue }],
  ["compiled prelude", prelude],
  ["runtime", { add: runtimeSum.addPartial, value: runtimeSum.partialsValue }],
];

/** A double as an integer count of 2^-1074, the smallest subnormal: every double is one, exactly. */
function scaled(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const magnitude = exponent === 0 ? fraction : (fraction | (1n << 52n)) << BigInt(exponent - 1);
  return bits >> 63n === 1n ? -magnitude : magnitude;
}

/** The exact sum of `values` rounded once to the nearest double, ties to even; `Infinity` past the largest (the reference). */
function exactRounded(values: readonly number[]): number {
  const total = values.reduce((s, x) => s + scaled(x), 0n);
  const sign = total < 0n ? -1 : 1;
  const k = total < 0n ? -total : total;
  const bits = k.toString(2).length;
  if (k < 1n << 53n) return sign * Number(k) * 2 ** -1074 || 0;
  const shift = bits - 53;
  let q = k >> BigInt(shift);
  const rest = k - (q << BigInt(shift));
  const half = 1n << BigInt(shift - 1);
  if (rest > half || (rest === half && (q & 1n) === 1n)) q++;
  return sign * Number(q) * 2 ** (shift - 1074);
}

function sumWith(twin: Partials, values: readonly number[]): number | "not finite" {
  const partials: number[] = [];
  for (const v of values) if (!twin.add(partials, v)) return "not finite";
  return twin.value(partials);
}

/** Numbers of every magnitude the property tests use: 1e-300 to 1e300, negatives, decimals, integers, subnormals. */
const magnitudeArb = fc.oneof(
  fc.double({ min: -1e300, max: 1e300, noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -300, max: 300 }).chain((e) => fc.integer({ min: -9, max: 9 }).map((m) => m * 10 ** e)),
  fc.constantFrom(0.1, 0.2, 0.3, -0.1, 0.7, 1e-300, -1e-300, 1e300, -1e300, 5e-324, 2 ** 53, 1, -0),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => n / 100),
);

describe("the exact sum's three copies", () => {
  // [values, the exact sum rounded once]
  const cases: [number[], number][] = [
    [[], 0],
    [[0.1, 0.2, 0.3], 0.6],
    [[0.1, 0.2, 0.3, -0.1], 0.5],
    [[-1e300, 9000, 900, 1e300], 9900],
    [[1e100, 1, -1e100], 1],
    [[1, 1e100, 1, -1e100], 2],
    [Array(10).fill(0.1), 1],
    [[2 ** 53, 1, 1], 2 ** 53 + 2],
    [[1e308, 1e308, -1e308], Infinity],
    [[-0], 0],
    [[5e-324, 5e-324], 1e-323],
  ];
  it.each(twins)("%s: a table of sums", (_, twin) => {
    for (const [values, expected] of cases) {
      const got = sumWith(twin, values);
      expect(got, `sum of ${values}`).toBe(Number.isFinite(expected) ? expected : "not finite");
      if (Number.isFinite(expected)) expect(exactRounded(values)).toBe(expected);
    }
  });

  it("all three equal the exact sum rounded once on random numbers of mixed magnitudes", () => {
    fc.assert(
      fc.property(fc.array(magnitudeArb, { maxLength: 40 }), (values) => {
        const expected = exactRounded(values);
        for (const [name, twin] of twins) expect(sumWith(twin, values), name).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it("taking numbers back is exact: adding them and their negations in any order leaves the sum of the rest", () => {
    fc.assert(
      fc.property(fc.array(magnitudeArb, { maxLength: 30 }), fc.array(magnitudeArb, { maxLength: 30 }), (kept, taken) => {
        for (const [name, twin] of twins) {
          const partials: number[] = [];
          for (const v of [...taken, ...kept]) twin.add(partials, v);
          for (const v of taken) twin.add(partials, -v);
          expect(twin.value(partials), name).toBe(exactRounded(kept));
        }
      }),
      { numRuns: 1500 },
    );
  });
});

const source = `
default allow
rule window when action.type == "check" and sum(amount where type == "pay" within 1h) == action.window deny
rule session when action.type == "check" and sum(amount where type == "pay") == action.session deny
`;
const compilation = compileSource("sums.armor", source, { readFile: () => undefined });
const T0 = Date.parse("2026-03-02T00:00:00Z");
const iso = (ms: number): string => new Date(ms).toISOString();
const NOT_FINITE = "`sum` over the history is not a finite number";

/** A payment `gap` minutes after the one before; `released` ones never ran (recorded, then taken back). */
interface Pay {
  amount: number;
  gap: number;
  released: boolean;
}

/**
 * Runs `pays` through the runtime's trackers, then asks at `lastGap` minutes after the last: the
 * runtime's two values (windowed, whole session), and what the compiled and interpreted scans of
 * the same history decide when the current action names the exact sums.
 */
async function runtimeAndScans(pays: readonly Pay[], lastGap: number) {
  const module = await loadModule(emit(compilation).js);
  const trackers = new SessionTrackers(memoryHistoryStore());
  const history: { action: Record<string, unknown>; time: string }[] = [];
  let now = T0;
  for (const p of pays) {
    now += p.gap * 60_000;
    const action = { type: "pay", amount: p.amount };
    const reservation = trackers.record("s", action, now, [module.trackers]);
    if (p.released) reservation.cancel();
    else history.push({ action, time: iso(now) });
  }
  now += lastGap * 60_000;
  const ran = pays.filter((p) => !p.released);
  let t = T0;
  const times = pays.map((p) => (t += p.gap * 60_000)).filter((_, i) => !pays[i]!.released);
  const inWindow = ran.filter((_, i) => now - times[i]! < 3_600_000).map((p) => p.amount);
  // the scan's definition: the compiler's partials, step by step in time order (Infinity: a step went past the largest number)
  const scan = (values: number[]): number => {
    const v = sumWith(twins[0]![1], values);
    return v === "not finite" ? Infinity : v;
  };
  const expected = { window: scan(inWindow), session: scan(ran.map((p) => p.amount)) };
  const windowIndex = module.trackers.findIndex((k) => k.kind === "sum" && k.withinMs !== null);
  const sessionIndex = module.trackers.findIndex((k) => k.kind === "sum" && k.withinMs === null);
  // past the largest number there is no exact sum to name (and an action holds only finite numbers)
  const named = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const action = { type: "check", window: named(expected.window), session: named(expected.session) };
  const values = trackers.values("s", module.trackers, now, action);
  const input = { action, time: iso(now) };
  return {
    expected,
    runtime: { window: values[windowIndex], session: values[sessionIndex] },
    decisions: {
      runtime: module.decide(input, values),
      compiled: module.decide({ ...input, history }),
      interpreted: evaluatePolicy(compilation.policy, { ...input, history }).result,
    },
  };
}

const value = (v: number): number | { error: string } => (Number.isFinite(v) ? v : { error: NOT_FINITE });

describe("the runtime's sums equal the scans'", () => {
  it("on random histories of mixed magnitudes, with windows that expire entries and released reservations", async () => {
    expect(compilation.ok).toBe(true);
    const payArb = fc.record({ amount: magnitudeArb, gap: fc.nat(40), released: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(payArb, { maxLength: 30 }), fc.nat(70), async (pays, lastGap) => {
        const { expected, runtime, decisions } = await runtimeAndScans(pays, lastGap);
        expect(runtime).toEqual({ window: value(expected.window), session: value(expected.session) });
        // the current action names the exact sums, so each rule fires exactly when its sum is exact
        expect(decisions.compiled.rules.map((r) => r.id)).toEqual(["window", "session"]);
        expect(decisions.runtime).toEqual(decisions.compiled);
        expect(decisions.interpreted).toEqual(decisions.compiled);
      }),
      { numRuns: 400 },
    );
  });

  it("near the largest number too, where a step of the sum can go past it while the exact sum does not", async () => {
    const huge = fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, 1e308, -1e308, 8e307, -8e307, 2 ** 970, -(2 ** 970), 1, -0.5);
    const payArb = fc.record({ amount: huge, gap: fc.nat(40), released: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(payArb, { maxLength: 12 }), fc.nat(70), async (pays, lastGap) => {
        const { expected, runtime, decisions } = await runtimeAndScans(pays, lastGap);
        expect(runtime.window).toEqual(value(expected.window));
        const windowRule = (d: typeof decisions.compiled) => ({ rules: d.rules.filter((r) => r.id === "window"), errors: d.errors.filter((e) => e.rule === "window") });
        expect(windowRule(decisions.runtime)).toEqual(windowRule(decisions.compiled));
        expect(decisions.interpreted).toEqual(decisions.compiled);
      }),
      { numRuns: 1500 },
    );
  });

  // [case, payments as [amount, minutes after the one before, released], minutes to the decision, windowed value, whole-session value]
  const cases: [string, [number, number, boolean?][], number, number | string, number | string][] = [
    [
      "a -1e300 that left the window takes nothing with it",
      [
        [-1e300, 0],
        [9000, 30],
        [900, 15],
      ],
      30,
      9900,
      -1e300,
    ],
    [
      "decimals: 0.1 left, 0.2 + 0.3 is 0.5 exactly",
      [
        [0.1, 0],
        [0.2, 10],
        [0.3, 10],
      ],
      45,
      0.5,
      0.6,
    ],
    [
      "a session's sum past the largest number stays an error",
      [
        [-1e308, 0],
        [-1e308, 1],
        [9000, 1],
        [9000, 1],
      ],
      120,
      0,
      NOT_FINITE,
    ],
    [
      "a windowed sum past the largest number recovers when what overflowed it leaves",
      [
        [1e308, 0],
        [1e308, 30],
        [-1, 1],
      ],
      31,
      1e308 - 1,
      NOT_FINITE,
    ],
    [
      "a windowed sum past the largest number is an error while it is in the window",
      [
        [1e308, 0],
        [1e308, 30],
        [-1, 1],
      ],
      1,
      NOT_FINITE,
      NOT_FINITE,
    ],
    [
      "a released payment that overflowed a session's sum is taken back",
      [
        [1e308, 0],
        [1e308, 1, true],
        [5, 1],
      ],
      1,
      1e308 + 5,
      1e308 + 5,
    ],
    // the scan steps past the largest number at MAX_VALUE + 2^970 (a tie rounded up), though the window's exact sum is finite
    [
      "a step past the largest number after a number left the window",
      [
        [-1e308, 0],
        [Number.MAX_VALUE, 10],
        [2 ** 970, 10],
        [-1e308, 10],
      ],
      35,
      NOT_FINITE,
      exactRounded([-1e308, Number.MAX_VALUE, 2 ** 970, -1e308]),
    ],
  ];
  it.each(cases)("%s", async (_, steps, lastGap, windowed, session) => {
    const pays = steps.map(([amount, gap, released]) => ({ amount, gap, released: released === true }));
    const { runtime, decisions } = await runtimeAndScans(pays, lastGap);
    const asValue = (v: number | string) => (typeof v === "string" ? { error: v } : v);
    expect(runtime).toEqual({ window: asValue(windowed), session: asValue(session) });
    expect(decisions.runtime).toEqual(decisions.compiled);
    expect(decisions.interpreted).toEqual(decisions.compiled);
    const errors = decisions.compiled.errors.map((e) => e.message);
    if (typeof session === "string" || typeof windowed === "string") expect(errors).toContain(NOT_FINITE);
    else expect(decisions.compiled.rules.map((r) => r.id)).toEqual(["window", "session"]);
  });
});
