/**
 * `SpanTable`, the checker's side tables by span: the same answers as a `Map` keyed by
 * `"start:end"` (what it replaced), for spans that share starts, ends or both.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SpanTable } from "../src/semantic/span-table.js";

describe("SpanTable", () => {
  it("answers like a Map keyed by start and end", () => {
    const op = fc.record({ start: fc.nat(6), length: fc.nat(4), value: fc.integer(), set: fc.boolean() });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const table = new SpanTable<number>();
        const reference = new Map<string, number>();
        for (const { start, length, value, set } of ops) {
          const at = { start, end: start + length };
          const key = `${at.start}:${at.end}`;
          if (set) {
            table.set(at, value);
            reference.set(key, value);
          }
          expect(table.get(at)).toBe(reference.get(key));
          expect(table.has(at)).toBe(reference.has(key));
          expect(table.size).toBe(reference.size);
        }
      }),
    );
  });

  it("keeps a null value apart from no value", () => {
    const table = new SpanTable<string | null>();
    table.set({ start: 3, end: 5 }, null);
    expect(table.has({ start: 3, end: 5 })).toBe(true);
    expect(table.get({ start: 3, end: 5 })).toBeNull();
    expect(table.has({ start: 3, end: 6 })).toBe(false);
    expect(table.get({ start: 3, end: 6 })).toBeUndefined();
  });
});
