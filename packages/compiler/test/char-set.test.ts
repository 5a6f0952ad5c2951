// Character sets of the regex engine (regex/char-set.ts) on their own: each operation on a table of
// range lists, and the named classes and case closure against V8's RegExp over every code unit.
import { describe, expect, it } from "vitest";
import { ALL, caseClose, complement, DIGIT, LINE_TERMINATOR, normalize, SPACE, WORD } from "../src/regex/char-set.js";

const MAX = 0xffff;

/** Every code unit in a range list, one by one. */
function members(ranges: readonly number[]): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i + 1 < ranges.length; i += 2) for (let c = ranges[i]!; c <= ranges[i + 1]!; c++) out.add(c);
  return out;
}

/** The code units a RegExp of one character matches, tested one by one. */
function matchedBy(re: RegExp): Set<number> {
  const out = new Set<number>();
  for (let c = 0; c <= MAX; c++) if (re.test(String.fromCharCode(c))) out.add(c);
  return out;
}

/** A RegExp class source for a range list, every unit as `\uXXXX`. */
function classSource(ranges: readonly number[]): string {
  const hex = (c: number): string => `\\u${c.toString(16).padStart(4, "0")}`;
  let body = "";
  for (let i = 0; i + 1 < ranges.length; i += 2) body += `${hex(ranges[i]!)}-${hex(ranges[i + 1]!)}`;
  return body === "" ? "[^\\s\\S]" : `[${body}]`;
}

/** Sorted, disjoint, non-adjacent pairs inside 0..0xffff. */
function isCanonical(ranges: readonly number[]): boolean {
  if (ranges.length % 2 !== 0) return false;
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i]!,
      hi = ranges[i + 1]!;
    if (lo < 0 || hi > MAX || lo > hi) return false;
    if (i > 0 && lo <= ranges[i - 1]! + 1) return false;
  }
  return true;
}

describe("normalize", () => {
  it.each([
    { pairs: [], want: [] },
    { pairs: [5, 5], want: [5, 5] },
    { pairs: [10, 20, 1, 5], want: [1, 5, 10, 20] },
    { pairs: [3, 4, 1, 2], want: [1, 4] }, // adjacent ranges merge
    { pairs: [1, 10, 2, 3], want: [1, 10] }, // a range inside another
    { pairs: [1, 5, 4, 8], want: [1, 8] }, // overlapping ranges
    { pairs: [7, 7, 7, 7, 7, 7], want: [7, 7] }, // repeats
    { pairs: [0, MAX, 100, 200], want: [0, MAX] },
    { pairs: [0x61, 0x7a, 0x41, 0x5a, 0x30, 0x39, 0x5f, 0x5f], want: [...WORD] },
  ])("$pairs -> $want", ({ pairs, want }) => {
    expect(normalize(pairs)).toEqual(want);
  });
});

describe("complement", () => {
  it.each([
    { ranges: [], want: [0, MAX] },
    { ranges: [0, MAX], want: [] },
    { ranges: [0, 5], want: [6, MAX] },
    { ranges: [5, MAX], want: [0, 4] },
    { ranges: [0x30, 0x39], want: [0, 0x2f, 0x3a, MAX] },
    { ranges: [1, 1, 3, 3], want: [0, 0, 2, 2, 4, MAX] },
  ])("$ranges -> $want", ({ ranges, want }) => {
    expect(complement(ranges)).toEqual(want);
    expect(complement(want)).toEqual(ranges);
  });
});

describe("caseClose", () => {
  it.each([
    { name: "a letter adds its other case", ranges: [0x61, 0x61], want: [0x41, 0x41, 0x61, 0x61] },
    { name: "digits have no case", ranges: [0x30, 0x39], want: [0x30, 0x39] },
    { name: "a-z adds A-Z", ranges: [0x61, 0x7a], want: [0x41, 0x5a, 0x61, 0x7a] },
    // without the `u` flag a non-ASCII unit never matches an ASCII one: U+017F (long s) upper-cases
    // to `S` and U+212A (Kelvin) lower-cases to `k`, and neither joins `s` or `k`
    { name: "`s` does not take the long s", ranges: [0x73, 0x73], want: [0x53, 0x53, 0x73, 0x73] },
    { name: "`k` does not take the Kelvin sign", ranges: [0x6b, 0x6b], want: [0x4b, 0x4b, 0x6b, 0x6b] },
    { name: "the long s stays alone", ranges: [0x17f, 0x17f], want: [0x17f, 0x17f] },
    // micro sign, capital mu and small mu share one canonical form (U+039C)
    { name: "the micro sign joins mu", ranges: [0xb5, 0xb5], want: [0xb5, 0xb5, 0x39c, 0x39c, 0x3bc, 0x3bc] },
    { name: "a set without `a` but with `A` takes every unit", ranges: complement([0x61, 0x61]), want: [0, MAX] },
    { name: "the empty set", ranges: [], want: [] },
  ])("$name", ({ ranges, want }) => {
    expect(caseClose(ranges)).toEqual(want);
  });

  it.each([
    { name: "a-z", ranges: [0x61, 0x7a] },
    { name: "Greek and Cyrillic", ranges: [0x370, 0x4ff] },
    { name: "everything but a-z", ranges: complement([0x61, 0x7a]) },
    { name: "\\w", ranges: WORD },
    { name: "\\W", ranges: complement(WORD) },
  ])("$name is closed as RegExp's `i` flag matches it", ({ ranges }) => {
    const closed = caseClose(ranges);
    expect(isCanonical(closed)).toBe(true);
    expect(members(closed)).toEqual(matchedBy(new RegExp(`^${classSource(ranges)}$`, "i")));
  });

  it("returns the same sets on a second call (the cache holds what was computed)", () => {
    const ranges = [0x61, 0x66, 0x3b1, 0x3c9];
    const first = caseClose(ranges);
    expect(caseClose([...ranges])).toEqual(first);
  });
});

describe("the named classes", () => {
  it.each([
    { name: "\\d", ranges: DIGIT, re: /^\d$/ },
    { name: "\\w", ranges: WORD, re: /^\w$/ },
    { name: "\\s", ranges: SPACE, re: /^\s$/ },
    { name: "line terminators", ranges: LINE_TERMINATOR, re: /^[\n\r\u2028\u2029]$/ },
    { name: "`.` with `s`", ranges: ALL, re: /^.$/s },
    { name: "`.` without `s`", ranges: complement(LINE_TERMINATOR), re: /^.$/ },
  ])("$name matches what RegExp matches", ({ ranges, re }) => {
    expect(isCanonical(ranges)).toBe(true);
    expect(members(ranges)).toEqual(matchedBy(re));
  });
});
