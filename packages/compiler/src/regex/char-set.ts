/**
 * Character sets as sorted, disjoint, non-adjacent ranges of UTF-16 code units
 * `[lo, hi, lo, hi, ...]`: the classes of the regex syntax (`\d`, `\w`, `\s`, `.`), normalizing,
 * complementing and closing a set under case-insensitive matching.
 */

const MAX_UNIT = 0xffff;
export const DIGIT: readonly number[] = [0x30, 0x39];
export const WORD: readonly number[] = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
/** JavaScript's WhiteSpace and LineTerminator code points, as `\s` matches them. */
export const SPACE: readonly number[] = [0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff];
export const LINE_TERMINATOR: readonly number[] = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];
export const ALL: readonly number[] = [0, MAX_UNIT];

/** Sorts and merges arbitrary `[lo, hi, ...]` pairs into a canonical range list. */
export function normalize(pairs: readonly number[]): number[] {
  const list: [number, number][] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) list.push([pairs[i] ?? 0, pairs[i + 1] ?? 0]);
  list.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of list) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] ?? 0) + 1) out[last] = Math.max(out[last] ?? 0, hi);
    else out.push(lo, hi);
  }
  return out;
}

export function complement(ranges: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    const lo = ranges[i] ?? 0;
    if (lo > next) out.push(next, lo - 1);
    next = (ranges[i + 1] ?? 0) + 1;
  }
  if (next <= MAX_UNIT) out.push(next, MAX_UNIT);
  return out;
}

/**
 * Case-insensitive matching without the `u` flag (ECMA-262 Canonicalize): two code units match if
 * their canonical forms are equal, where the canonical form is the single-unit upper case of the
 * unit, except that a non-ASCII unit never maps to ASCII. `orbit` links every unit to the next
 * unit with the same canonical form (a cycle; a unit alone points to itself), and `folding` lists
 * the units whose cycle has more than one member, in ascending order. The table comes from the
 * compiler's `toUpperCase`; programs carry the folded sets, so matching never depends on the
 * runtime's Unicode data.
 */
interface CaseTable {
  readonly orbit: Uint16Array;
  readonly folding: readonly number[];
}

let caseTable: CaseTable | null = null;

function getCaseTable(): CaseTable {
  if (caseTable !== null) return caseTable;
  const canon = new Uint16Array(MAX_UNIT + 1);
  for (let c = 0; c <= MAX_UNIT; c++) {
    const upper = String.fromCharCode(c).toUpperCase();
    const u = upper.length === 1 ? upper.charCodeAt(0) : c;
    canon[c] = c >= 128 && u < 128 ? c : u;
  }
  // Link the members of each class into a cycle, in ascending order.
  const orbit = new Uint16Array(MAX_UNIT + 1);
  const first = new Int32Array(MAX_UNIT + 1).fill(-1);
  const last = new Int32Array(MAX_UNIT + 1).fill(-1);
  for (let c = 0; c <= MAX_UNIT; c++) {
    const k = canon[c] ?? c;
    const tail = last[k] ?? -1;
    if (tail < 0) first[k] = c;
    else orbit[tail] = c;
    last[k] = c;
  }
  const folding: number[] = [];
  for (let c = 0; c <= MAX_UNIT; c++) {
    const k = canon[c] ?? c;
    if (last[k] === c) orbit[c] = first[k] ?? c;
    if (first[k] !== last[k]) folding.push(c);
  }
  caseTable = { orbit, folding };
  return caseTable;
}

/** Closed sets by key: classes such as `\W` or `.` recur and are costly to close. */
const closedSets = new Map<string, readonly number[]>();
const MAX_CLOSED_SETS = 1000;

/** Adds to a set every code unit that matches one of its members case-insensitively. */
export function caseClose(ranges: readonly number[]): readonly number[] {
  const key = ranges.join(",");
  let closed = closedSets.get(key);
  if (closed === undefined) {
    closed = computeCaseClose(ranges);
    if (closedSets.size >= MAX_CLOSED_SETS) closedSets.clear();
    closedSets.set(key, closed);
  }
  return closed;
}

function computeCaseClose(ranges: readonly number[]): readonly number[] {
  const { orbit, folding } = getCaseTable();
  const extra: number[] = [];
  const addOrbit = (c: number): void => {
    for (let d = orbit[c] ?? c; d !== c; d = orbit[d] ?? c) extra.push(d, d);
  };
  let units = 0;
  for (let i = 0; i + 1 < ranges.length; i += 2) units += (ranges[i + 1] ?? 0) - (ranges[i] ?? 0) + 1;
  if (units <= folding.length) {
    // Small sets (single characters, most classes): walk their members.
    for (let i = 0; i + 1 < ranges.length; i += 2) {
      for (let c = ranges[i] ?? 0; c <= (ranges[i + 1] ?? 0); c++) addOrbit(c);
    }
  } else {
    // Large sets: walk the units that have case variants, in step with the ranges.
    let r = 0;
    for (const c of folding) {
      while (r + 1 < ranges.length && (ranges[r + 1] ?? 0) < c) r += 2;
      if (r + 1 >= ranges.length) break;
      if ((ranges[r] ?? 0) <= c) addOrbit(c);
    }
  }
  return extra.length === 0 ? [...ranges] : normalize([...ranges, ...extra]);
}
