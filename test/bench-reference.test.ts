/**
 * The benchmark's "hand-written JS with the language's guarantees"
 * (bench/lib/adapters/handwritten-guarded.js) stands for what the guarantees cost with no
 * compiler involved, so its decisions must be those of compiled `decide` for every input, not
 * only for the benchmark's well-formed actions: random decision inputs (missing, null, wrongly
 * typed and inherited fields, non-plain objects, inputs that are not objects) against the
 * emitted module of the peer workload, deep-equal, decision object and all.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JavaScript without declarations
import guarded from "../bench/lib/adapters/handwritten-guarded.js";
// @ts-expect-error plain JavaScript without declarations
import { specToArmor } from "../bench/lib/gen-armor.js";
// @ts-expect-error plain JavaScript without declarations
import { makeSpec } from "../bench/lib/spec.js";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { loadModule } from "../packages/compiler/src/load.js";

type Decide = (input: unknown) => unknown;

async function both(n: number): Promise<{ compiled: Decide; handWritten: Decide }> {
  const spec = makeSpec(n);
  const c = compileSource(`peer-N${n}.armor`, specToArmor(spec) as string);
  expect(c.ok).toBe(true);
  const compiled = (await loadModule(emit(c).js)).decide as Decide;
  const handWritten = ((await guarded.create(spec)) as { decideFull: Decide }).decideFull;
  return { compiled, handWritten };
}

/** A value of any kind the language can meet in a field, including ones it must refuse. */
const value = fc.oneof(
  fc.integer({ min: -5, max: 30_000 }),
  fc.constantFrom(0, 9, 17, 18, 10_000, 10_001, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.constantFrom("acct_blocked_007", "acct_1", "admin", "user", "", "10001"),
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.constant([1, 2]),
  fc.constant({ nested: true }),
);

/** Values that decide something for the field, or any value. */
const FIELD: Record<string, fc.Arbitrary<unknown>> = {
  amount: fc.oneof(fc.integer({ min: 0, max: 20_000 }), value),
  recipient: fc.oneof(fc.constantFrom("acct_blocked_007", "acct_1"), value),
  hour: fc.oneof(fc.integer({ min: 0, max: 23 }), value),
  role: fc.oneof(fc.constantFrom("admin", "user"), value),
};

/** An object with some of the keys, as a plain object, a null-prototype object or a class instance. */
function record(keys: readonly string[], typeValue: fc.Arbitrary<unknown>) {
  return fc
    .tuple(fc.record(Object.fromEntries(keys.map((k) => [k, k === "type" ? typeValue : (FIELD[k] ?? value)])), { requiredKeys: [] }), fc.constantFrom("plain", "null-prototype", "instance"))
    .map(([fields, how]) => {
      if (how === "plain") return fields;
      const o = how === "null-prototype" ? Object.create(null) : new (class Action {})();
      return Object.assign(o, fields) as Record<string, unknown>;
    });
}

function inputs(n: number) {
  const type = fc.oneof(
    fc.constantFrom("wire_transfer", "send_email", "read_file", "tool_4", `tool_${n}`, `tool_${n + 1}`),
    fc.integer({ min: 4, max: n }).map((k) => `tool_${k}`),
    value,
  );
  const action = fc.oneof({ weight: 8, arbitrary: record(["type", "amount", "recipient", "hour"], type) }, { weight: 1, arbitrary: value });
  const user = fc.oneof(record(["role", "mfa"], value), value);
  return fc.oneof({ weight: 12, arbitrary: fc.record({ action, user }, { requiredKeys: ["action"] }) }, { weight: 1, arbitrary: value }, { weight: 1, arbitrary: fc.constant([]) });
}

describe("the benchmark's guarded hand-written function decides as compiled decide", () => {
  for (const n of [10, 100]) {
    it(`at N = ${n}, on any input`, async () => {
      const { compiled, handWritten } = await both(n);
      fc.assert(
        fc.property(inputs(n), (input) => {
          expect(handWritten(input)).toEqual(compiled(input));
        }),
        { numRuns: 5000 },
      );
    });
  }

  it("an inherited field is never read, by either", async () => {
    const { compiled, handWritten } = await both(10);
    const action = Object.assign(Object.create({ amount: 1_000_000 }) as object, { type: "wire_transfer", recipient: "acct_1" });
    const d = compiled({ action }) as { decision: string };
    expect(d.decision).toBe("allow");
    expect(handWritten({ action })).toEqual(d);
  });
});
