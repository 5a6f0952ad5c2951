/**
 * Canonical JSON: the fast paths (string quoting, number text, the small-object key sort, the
 * remembered text of frozen rule lists) give exactly the text of the plain definition below, on
 * random values, including lone surrogates, control characters, integer-like keys, `toJSON`,
 * non-finite numbers (refused) and values JSON has no text for.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalJsonOfShared, canonicalJsonOrUndefined, JsonValueError, jsonSnapshot, numberJson, quoteJson, strictJson } from "../src/hash.js";
import { anyString } from "./arbitraries.js";

/** The definition: keys sorted by UTF-16 code units, JSON.stringify for strings and finite numbers; non-finite numbers refused. */
function reference(v: unknown, stack: unknown[] = []): string | undefined {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) throw new TypeError("non-finite");
      return JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return JSON.stringify(v.toString());
    case "object": {
      if (stack.includes(v)) throw new TypeError("cycle");
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return reference((toJSON as () => unknown).call(v), stack);
      stack.push(v);
      let out: string;
      if (Array.isArray(v)) out = `[${v.map((x) => reference(x, stack) ?? "null").join(",")}]`;
      else {
        const members: string[] = [];
        for (const k of Object.keys(v).sort()) {
          const x = reference((v as Record<string, unknown>)[k], stack);
          if (x !== undefined) members.push(`${JSON.stringify(k)}:${x}`);
        }
        out = `{${members.join(",")}}`;
      }
      stack.pop();
      return out;
    }
    default:
      return undefined;
  }
}

/** What a serializer gives: its text, or "refused" when it throws (the serializers must throw a JsonValueError). */
function outcome(f: () => string | undefined, reference = false): string | undefined {
  try {
    return f();
  } catch (e) {
    if (!reference) expect(e).toBeInstanceOf(JsonValueError);
    return "refused";
  }
}

/** Keys that sort differently as numbers and as text, and the usual suspects. */
const anyKey = fc.oneof(anyString, fc.constantFrom("10", "9", "1", "01", "-1", "a", "B", "__proto__", "constructor", "toString", "é", "\u{1f600}"));

const anyValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    anyString,
    fc.double(),
    fc.integer(),
    fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1e21, 1e-7, true, false, null, undefined),
    fc.bigInt(),
    fc.func(fc.constant(1)),
    fc.date({ noInvalidDate: true }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(anyKey, tie("value"), { maxKeys: 6 }),
    // past the size where the insertion sort gives way to Array.prototype.sort
    fc.dictionary(anyKey, fc.oneof(fc.integer(), anyString), { minKeys: 15, maxKeys: 40 }),
  ),
})).value;

describe("canonical JSON", () => {
  it("quotes every string as JSON.stringify does", () => {
    fc.assert(
      fc.property(anyString, (s) => quoteJson(s) === JSON.stringify(s)),
      { numRuns: 5000 },
    );
  });

  it("writes every finite number as JSON.stringify does, and refuses the others", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 1e21, 5e-324)),
        (n) => outcome(() => numberJson(n)) === (Number.isFinite(n) ? JSON.stringify(n) : "refused"),
      ),
      { numRuns: 5000 },
    );
  });

  it("gives the text of the definition for any value", () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        const expected = outcome(() => reference(v), true);
        expect(outcome(() => canonicalJsonOrUndefined(v))).toBe(expected);
        expect(outcome(() => canonicalJson(v))).toBe(expected ?? "null");
      }),
      { numRuns: 3000 },
    );
  });

  it("sorts keys by UTF-16 code units, not as numbers", () => {
    expect(canonicalJson({ 9: 1, 10: 2, b: 3, a: 4, "\u{1f600}": 5, "\uffff": 6 })).toBe('{"10":2,"9":1,"a":4,"b":3,"\u{1f600}":5,"\uffff":6}');
  });

  it.each([
    ["a non-finite number", { amount: -Infinity }, "`amount` is -Infinity, which is not a finite number"],
    ["NaN deep inside", { items: [{ price: 1 }, { price: NaN }] }, "`items[1].price` is NaN, which is not a finite number"],
    ["an odd key", { "a b": [Infinity] }, '`["a b"][0]` is Infinity, which is not a finite number'],
    ["a top-level number", Infinity, "the value is Infinity, which is not a finite number"],
  ])("refuses %s, naming where it is", (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(JsonValueError);
    expect(() => canonicalJson(value)).toThrow(message);
  });

  it.each([
    ["a function", { cb: () => 1 }, "`cb` is a function, which JSON cannot represent"],
    ["a symbol in a list", { xs: [Symbol("s")] }, "`xs[0]` is a symbol, which JSON cannot represent"],
    ["a bigint", { n: 1n }, "`n` is a bigint, which JSON cannot represent"],
  ])("strictJson also refuses %s, which canonical JSON leaves out or quotes", (_name, value, message) => {
    expect(() => strictJson(value)).toThrow(message);
    expect(() => canonicalJson(value)).not.toThrow();
  });

  it("strictJson leaves out undefined fields and honours toJSON, as canonical JSON does", () => {
    const value = { a: undefined, d: new Date(0) };
    expect(strictJson(value)).toBe(canonicalJson(value));
  });

  it("jsonSnapshot gives strictJson's text and two copies equal to parsing it, sharing nothing", () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        let expected: string | undefined;
        try {
          expected = strictJson(v);
        } catch (e) {
          expect(() => jsonSnapshot(v)).toThrow((e as Error).message);
          return;
        }
        const { json, copy, spare } = jsonSnapshot(v);
        expect(json).toBe(expected);
        if (json === undefined) return;
        // (toStrictEqual would compare a `constructor` field as the objects' classes)
        expect(copy).toEqual(JSON.parse(json));
        expect(spare).toEqual(JSON.parse(json));
        expect(canonicalJson(copy)).toBe(json);
        if (typeof copy === "object" && copy !== null) {
          expect(copy).not.toBe(spare);
          expect(copy).not.toBe(v);
        }
      }),
      { numRuns: 2000 },
    );
    const { copy } = jsonSnapshot(JSON.parse('{"__proto__":{"polluted":true},"a":[-0]}'));
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy as object)).toEqual(["__proto__", "a"]);
    expect(Object.is((copy as { a: number[] }).a[0], 0)).toBe(true);
  });

  it("still rejects values that contain themselves", () => {
    const a: unknown[] = [];
    a.push({ a });
    expect(() => canonicalJson(a)).toThrow(TypeError);
  });
});

describe("canonicalJsonOfShared", () => {
  it("gives the text of the definition, frozen or not", () => {
    const deepFreeze = (v: unknown): unknown => {
      if (typeof v === "object" && v !== null) {
        for (const x of Object.values(v)) deepFreeze(x);
        Object.freeze(v);
      }
      return v;
    };
    fc.assert(
      fc.property(anyValue, fc.boolean(), (v, freeze) => {
        const value = freeze ? deepFreeze(v) : v;
        // twice: the second may come from memory
        const expected = outcome(() => reference(value), true);
        expect(outcome(() => canonicalJsonOfShared(value))).toBe(expected);
        expect(outcome(() => canonicalJsonOfShared(value))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("does not remember a frozen list whose contents can change", () => {
    const rule = { id: "r", effect: "deny", reason: null as string | null };
    const rules = Object.freeze([rule]);
    expect(canonicalJsonOfShared(rules)).toBe('[{"effect":"deny","id":"r","reason":null}]');
    rule.reason = "changed";
    expect(canonicalJsonOfShared(rules)).toBe('[{"effect":"deny","id":"r","reason":"changed"}]');
  });

  it("notices a toJSON added to a prototype after the text was remembered", () => {
    const rules = Object.freeze([Object.freeze({ id: "r", effect: "deny", reason: null })]);
    const empty = Object.freeze([]);
    expect(canonicalJsonOfShared(rules)).toBe('[{"effect":"deny","id":"r","reason":null}]');
    for (const proto of [Object.prototype, Array.prototype]) {
      Object.defineProperty(proto, "toJSON", { value: () => "polluted", configurable: true, writable: true });
      try {
        expect(canonicalJsonOfShared(rules)).toBe(reference(rules));
        expect(canonicalJsonOfShared(empty)).toBe(reference(empty));
      } finally {
        delete (proto as { toJSON?: unknown }).toJSON;
      }
    }
    expect(canonicalJsonOfShared(rules)).toBe('[{"effect":"deny","id":"r","reason":null}]');
  });
});
