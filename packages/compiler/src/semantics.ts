/**
 * The value semantics of the language, as plain functions: equality, ordering, membership,
 * string operators and safe field reads. The reference interpreter and constant folding call
 * these; emitted code inlines the same logic and is held to them by the differential test.
 *
 * Rules: a missing field reads as `null`. `==`/`!=` compare `null` like any value. Ordering,
 * `in`, `between`, `matches`, `contains`, `starts_with`, `ends_with` with a `null` operand are
 * false. Any other operand of the wrong type is an evaluation error, which makes the decision deny.
 */

/** An error while evaluating a condition; the decision becomes `deny` and names it. */
export class EvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EvaluationError";
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Reads an own, enumerable-or-not data field; never the prototype chain. Missing → null. */
export function readField(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || !hasOwn.call(obj, key)) return null;
  const v = (obj as Record<string, unknown>)[key];
  return v === undefined ? null : v;
}

export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "list";
  const t = typeof v;
  if (t === "object") return "object";
  if (t === "number") return (v as number) - (v as number) === 0 ? t : "non-finite number";
  if (t === "string" || t === "boolean") return t;
  return "unsupported value";
}

/** A number that JSON can carry: not `Infinity`, `-Infinity` or `NaN` (`x - x` is `NaN` for those). */
function finite(v: unknown): v is number {
  return typeof v === "number" && v - v === 0;
}

/** How deep `equals` follows two values that are both nested (two fields of the input can be). */
const MAX_COMPARE_DEPTH = 1000;

/**
 * The work a walk of input values may do, in steps: one per character (UTF-16 code unit) of a
 * string read or compared, STEPS_PER_ELEMENT per list element compared, STEPS_PER_FIELD per object
 * field compared, STEPS_PER_VALUE per value `strings` visits. The weights make a step cost about
 * the same time whatever it reads (a few nanoseconds: bench/work-budget.mjs measures each).
 * Walks inside the condition of a quantifier share the budget of the outermost quantifier, which
 * starts it afresh (with its element count, MAX_QUANTIFIER_VISITS); every walk of a history
 * condition shares the budget of its scan (or of one call of a runtime's tracker); a comparison
 * outside both (`==`, `!=`, `in`, `contains`, `starts_with`, `ends_with` without a literal that
 * makes it one operation) has a budget of its own, which bounds a deep comparison of two values
 * that share parts (a caller of `decide` can pass such values; JSON cannot). Past it, an
 * evaluation error. The emitted `$wb` counts the same steps at the same points (prelude.ts), so
 * compiled modules and the interpreter throw on exactly the same inputs. docs/language.md §6.7.
 */
export const MAX_WORK = 10_000_000;
export const STEPS_PER_ELEMENT = 2;
export const STEPS_PER_FIELD = 16;
export const STEPS_PER_VALUE = 4;
export const WORK_LIMIT_MESSAGE = `reading the input took more than ${MAX_WORK.toLocaleString("en-US")} steps in one \`any\`/\`all\`, comparison or history scan`;

/** A work budget: the steps left. The interpreter has one and resets it where emitted code resets `$wb`. */
export interface Work {
  left: number;
}

/** Takes `n` steps from the budget; `null` is a walk that is not charged (outside quantifiers). */
export function spend(work: Work | null, n: number): void {
  if (work === null) return;
  work.left -= n;
  if (work.left < 0) throw new EvaluationError(WORK_LIMIT_MESSAGE);
}

/** What comparing two strings costs: the shorter's length (engines stop at the first difference or a length mismatch). */
function stringSteps(a: string, b: string): number {
  return Math.min(a.length, b.length);
}

/**
 * Structural equality of JSON values. Numbers compare with `===` (so `0 == -0`). Two values that
 * both nest deeper than MAX_COMPARE_DEPTH are an evaluation error, not a stack overflow whose
 * depth would differ between the interpreter and compiled code. With a budget, two strings of the
 * same length cost their length, two lists of the same length their length, and two objects
 * their fields (before their values are compared), each at its weight.
 */
export function equals(a: unknown, b: unknown, work: Work | null = null, depth = 0): boolean {
  if (typeof a === "string" && typeof b === "string") {
    if (a.length === b.length) spend(work, a.length);
    return a === b;
  }
  if (a === b) return true;
  if (a === undefined) return b === null;
  if (b === undefined) return a === null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth >= MAX_COMPARE_DEPTH) throw new EvaluationError(`values nested more than ${MAX_COMPARE_DEPTH} deep cannot be compared`);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    spend(work, a.length * STEPS_PER_ELEMENT);
    for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i], work, depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  spend(work, (ka.length + kb.length) * STEPS_PER_FIELD);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!hasOwn.call(b, k) || !equals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], work, depth + 1)) return false;
  }
  return true;
}

export type OrderOp = "<" | "<=" | ">" | ">=";

/**
 * Ordering of two numbers or two strings; null on either side is false. A non-finite number
 * (which no JSON input holds, but a caller of `decide` can pass) is an error, not a value that
 * passes every threshold.
 */
export function order(op: OrderOp, a: unknown, b: unknown, work: Work | null = null): boolean {
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (!((finite(a) && finite(b)) || (typeof a === "string" && typeof b === "string"))) {
    throw new EvaluationError(`\`${op}\` needs two numbers or two strings, got ${kindOf(a)} and ${kindOf(b)}`);
  }
  if (typeof a === "string") spend(work, stringSteps(a, b as string));
  switch (op) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}

export function between(v: unknown, low: unknown, high: unknown, work: Work | null = null): boolean {
  if (v === null || low === null || high === null || v === undefined || low === undefined || high === undefined) return false;
  const numbers = finite(v) && finite(low) && finite(high);
  const strings = typeof v === "string" && typeof low === "string" && typeof high === "string";
  if (!numbers && !strings) {
    throw new EvaluationError(`\`between\` needs three numbers or three strings, got ${kindOf(v)}, ${kindOf(low)} and ${kindOf(high)}`);
  }
  if (strings) spend(work, stringSteps(v as string, low as string) + stringSteps(v as string, high as string));
  return (v as number) >= (low as number) && (v as number) <= (high as number);
}

/** `v in list`; with a budget, each element costs a step, and comparing it what `equals` charges. */
export function inList(v: unknown, list: unknown, work: Work | null = null): boolean {
  if (v === null || v === undefined || list === null || list === undefined) return false;
  if (!Array.isArray(list)) throw new EvaluationError(`\`in\` needs a list on its right, got ${kindOf(list)}`);
  spend(work, list.length * STEPS_PER_ELEMENT);
  for (const x of list) if (equals(v, x, work)) return true;
  return false;
}

export type StringOp = "contains" | "starts_with" | "ends_with";

/**
 * `contains`, `starts_with`, `ends_with`. With a budget, `contains` costs the lengths of both
 * strings (or, on a list, what `in` costs), `starts_with`/`ends_with` the shorter length.
 */
export function stringOp(op: StringOp, a: unknown, b: unknown, work: Work | null = null): boolean {
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (op === "contains" && Array.isArray(a)) {
    spend(work, a.length * STEPS_PER_ELEMENT);
    for (const x of a) if (equals(x, b, work)) return true;
    return false;
  }
  if (typeof a !== "string" || typeof b !== "string") {
    const what = op === "contains" ? "a string or a list and a string" : "two strings";
    throw new EvaluationError(`\`${op}\` needs ${what}, got ${kindOf(a)} and ${kindOf(b)}`);
  }
  spend(work, op === "contains" ? a.length + b.length : stringSteps(a, b));
  if (op === "contains") return a.includes(b);
  if (op === "starts_with") return a.startsWith(b);
  return a.endsWith(b);
}

/** `matches` on a value: null is false, a non-string is an error. */
export function matchSubject(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw new EvaluationError(`\`matches\` needs a string, got ${kindOf(v)}`);
  return v;
}

/** A condition's value: booleans as they are, null as false, anything else an error. */
export function truth(v: unknown): boolean {
  if (v === true || v === false) return v;
  if (v === null || v === undefined) return false;
  throw new EvaluationError(`a condition must be true or false, got ${kindOf(v)}`);
}

// ---- built-in functions: host, lower, upper, length, strings (docs/language.md §3.11) -------------

/** The names of the value functions, in the order of the language facts. */
export type FunctionName = "host" | "lower" | "upper" | "length" | "strings";

/** How deep `strings` follows nested lists and objects, how many strings it returns and how many values it visits. */
export const STRINGS_MAX_DEPTH = 64;
export const STRINGS_MAX_COUNT = 10_000;
export const STRINGS_MAX_NODES = 100_000;

/**
 * `host(url)`: the host of an absolute URL, as the WHATWG URL parser reads it, in lower case,
 * without port or user info, and without one trailing dot (`example.com.` names the same host as
 * `example.com`); IPv6 addresses keep their brackets and internationalized names are punycode
 * (`xn--...`), as the parser returns them. `null` for anything that is not a URL with a host.
 * The global `URL` is the parser browsers and Node use, so no library is needed and the emitted
 * helper (`$host`) gets the same answer from the same parser.
 */
export function host(v: unknown, work: Work | null = null): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw new EvaluationError(`\`host\` needs a string, got ${kindOf(v)}`);
  spend(work, v.length);
  if (!mayBeAbsoluteUrl(v)) return null;
  let h: string;
  try {
    h = new URL(v).hostname;
  } catch {
    return null;
  }
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h === "" ? null : h.toLowerCase();
}

/**
 * Whether `URL` could read `v` as an absolute URL: after the leading C0 controls and spaces it
 * strips, a scheme (an ASCII letter, then letters, digits, `+`, `-` or `.`; tabs and newlines are
 * removed anywhere) and a `:`. Anything else throws in the parser, which costs far more than this
 * scan (most strings `host` is asked about, such as the values of `strings(action)`, are not
 * URLs). The emitted `$host` makes the same scan.
 */
export function mayBeAbsoluteUrl(v: string): boolean {
  const n = v.length;
  let i = 0;
  while (i < n && v.charCodeAt(i) <= 0x20) i++;
  if (i === n) return false;
  let c = v.charCodeAt(i) | 0x20;
  if (c < 0x61 || c > 0x7a) return false;
  for (i++; i < n; i++) {
    c = v.charCodeAt(i);
    if (c === 0x3a) return true;
    if (c === 0x09 || c === 0x0a || c === 0x0d) continue;
    const l = c | 0x20;
    if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return false;
  }
  return false;
}

/** `lower(s)` and `upper(s)`: the Unicode default case mapping (`toLowerCase`), the same in every locale. */
export function changeCase(name: "lower" | "upper", v: unknown, work: Work | null = null): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw new EvaluationError(`\`${name}\` needs a string, got ${kindOf(v)}`);
  spend(work, v.length);
  return name === "lower" ? v.toLowerCase() : v.toUpperCase();
}

/**
 * `length(x)`: a list's number of elements, or a string's number of Unicode code points (a
 * surrogate pair is one, a lone surrogate is one), which is how JSON Schema's `maxLength` counts.
 */
export function length(v: unknown, work: Work | null = null): number | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.length;
  if (typeof v !== "string") throw new EvaluationError(`\`length\` needs a string or a list, got ${kindOf(v)}`);
  spend(work, v.length);
  let n = v.length;
  for (let i = 0; i < v.length - 1; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = v.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/**
 * `strings(V)`: every string inside `V`, depth first: `V` itself if it is a string, the elements
 * of a list in order, each key of an object followed by the strings of its value, in the order
 * of `Object.keys` (a key is text the input chose, as a value is). Past STRINGS_MAX_DEPTH levels, STRINGS_MAX_COUNT strings or STRINGS_MAX_NODES
 * values (the value itself, and every element and object value counted when its container is
 * opened), an evaluation error: a limit never hides a string silently. An explicit stack, so
 * that depth costs no recursion.
 */
export function strings(v: unknown, work: Work | null = null): string[] {
  const out: string[] = [];
  const stack: unknown[] = [v];
  const depths: number[] = [0];
  let visited = 1;
  while (stack.length > 0) {
    const value = stack.pop();
    const depth = depths.pop()!;
    if (typeof value === "string") {
      if (out.length === STRINGS_MAX_COUNT) throw new EvaluationError(`\`strings\` found more than ${STRINGS_MAX_COUNT} strings`);
      out.push(value);
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth === STRINGS_MAX_DEPTH) throw new EvaluationError(`\`strings\` found a value nested more than ${STRINGS_MAX_DEPTH} deep`);
    const list = Array.isArray(value);
    const keys = list ? null : Object.keys(value);
    const n = list ? (value as unknown[]).length : keys!.length;
    if (visited + n > STRINGS_MAX_NODES) throw new EvaluationError(`\`strings\` visited more than ${STRINGS_MAX_NODES} values`);
    visited += n;
    // pushed last to first, so that the first child is taken next; an object's key before its value
    for (let i = n - 1; i >= 0; i--) {
      stack.push(list ? (value as unknown[])[i] : (value as Record<string, unknown>)[keys![i]!]);
      depths.push(depth + 1);
      if (!list) {
        stack.push(keys![i]!);
        depths.push(depth + 1);
      }
    }
  }
  spend(work, visited * STEPS_PER_VALUE);
  return out;
}

/** Applies a value function; with a budget, it costs the string's length, or the values `strings` visited. */
export function callFunction(name: FunctionName, v: unknown, work: Work | null = null): unknown {
  switch (name) {
    case "host":
      return host(v, work);
    case "lower":
    case "upper":
      return changeCase(name, v, work);
    case "length":
      return length(v, work);
    case "strings":
      return strings(v, work);
  }
}

/** The number `sum`, `max` or `min` takes from history entry `i`: a finite number, else an evaluation error naming the entry. */
export function aggregateValue(kind: "sum" | "max" | "min", i: number, v: unknown): number {
  if (finite(v)) return v;
  throw new EvaluationError(`\`${kind}\` needs a number from every matching entry; history[${i}] gives ${kindOf(v)}`);
}

/** `acc` with one more entry's number: the larger (`max`) or smaller (`min`) of the two, the earlier on a tie. */
export function aggregateStep(kind: "max" | "min", acc: number | null, v: number): number {
  if (acc === null) return v;
  return kind === "max" ? (v > acc ? v : acc) : v < acc ? v : acc;
}

/**
 * `sum` is the exact sum of its numbers, rounded once (as Python's `math.fsum`), so that a runtime
 * adding numbers as they come and taking them back as they leave a window gets the value a fresh
 * scan gets. The running sum is Shewchuk's partials ("Adaptive Precision Floating-Point
 * Arithmetic", 1997): non-overlapping doubles, smallest first, whose exact sum is the sum so far;
 * adding `x` is exact, and so is taking it back (adding `-x`). Written here rather than taken
 * from a library because no small, maintained package does this (the runtime's twin is
 * `addPartial`/`partialsValue` in packages/runtime/src/exact-sum.ts, and the compiled twin is
 * `$sumAdd`/`$sumValue` in codegen/prelude.ts; tests hold the three equal).
 *
 * Adds `x` to `partials` in place. Returns false when a partial became non-finite (the sum went
 * past the largest finite number): then the sum is an evaluation error and `partials` is spent.
 */
export function addPartial(partials: number[], x: number): boolean {
  let i = 0;
  for (let j = 0; j < partials.length; j++) {
    let y = partials[j]!;
    if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) partials[i++] = lo;
    x = hi;
  }
  partials.length = i;
  partials.push(x);
  return x - x === 0;
}

/** The exact sum that `partials` hold, rounded once to the nearest double (ties to even); `0` for none. */
export function partialsValue(partials: readonly number[]): number {
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // `hi + lo` rounded to `hi` by a tie to even; the partials below `lo` say which way the exact sum leans
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi === 0 ? 0 : hi;
}

export const SUM_NOT_FINITE = "`sum` over the history is not a finite number";

/** At most this many values (list elements and object members, nested) make one correlation key. */
export const MAX_KEY_VALUES = 100_000;

/**
 * The correlation key of values read for `ENTRY == current.F` conjuncts: two lists of values have
 * the same key exactly when they are `==` element by element (`equals`): object members sorted,
 * `-0` as `0`, `1` and `"1"` apart. A value that equals nothing (`NaN`, inside anything) has no
 * key: `null`. Past 1,000 levels or `MAX_KEY_VALUES` values, an evaluation error. The emitted
 * module's `$keyOf` (codegen/prelude.ts) is the same function.
 */
export function correlationKey(values: readonly unknown[]): string | null {
  const budget = { left: MAX_KEY_VALUES };
  return keyPart(values, 0, budget);
}

function keyPart(v: unknown, depth: number, budget: { left: number }): string | null {
  if (--budget.left < 0) throw new EvaluationError(`a correlation key holds more than ${MAX_KEY_VALUES} values`);
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isNaN(v) ? null : v === 0 ? "0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v !== "object") throw new EvaluationError(`a correlation key cannot hold ${kindOf(v)}`);
  if (depth >= 1000) throw new EvaluationError("values nested more than 1000 deep cannot be compared");
  const parts: string[] = [];
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = keyPart(x, depth + 1, budget);
      if (p === null) return null;
      parts.push(p);
    }
    return `[${parts.join(",")}]`;
  }
  for (const k of Object.keys(v).sort()) {
    const p = keyPart((v as Record<string, unknown>)[k], depth + 1, budget);
    if (p === null) return null;
    parts.push(`${JSON.stringify(k)}:${p}`);
  }
  return `{${parts.join(",")}}`;
}

/** At most this many keys file one history entry: the product of the distinct values of its keys through `any`. */
export const MAX_ENTRY_KEYS = 1_000;
export const ENTRY_KEYS_MESSAGE = `an earlier action would be filed under more than ${MAX_ENTRY_KEYS.toLocaleString("en-US")} correlation keys (the distinct values of its lists through \`any\`, multiplied)`;

/**
 * The keys an entry is filed under when its correlations include `any(x in LIST: x.G == current.F)`:
 * `parts` holds, per key in order, the values read from the entry (one for a plain `ENTRY ==
 * current.F`, one per list element for `any`). Each combination of one distinct value per key is
 * a key, the same string `correlationKey` makes of those values; a value equal to nothing (`NaN`)
 * gives none. Each part may hold `MAX_KEY_VALUES` values; more than `MAX_ENTRY_KEYS` keys is an
 * evaluation error. The emitted module's `$entryKeys` (codegen/prelude.ts) is the same function.
 */
export function entryKeySet(parts: readonly (readonly unknown[])[]): string[] {
  const distinct: string[][] = [];
  let over = false;
  for (const values of parts) {
    const budget = { left: MAX_KEY_VALUES };
    const seen = new Set<string>();
    for (const v of values) {
      const k = keyPart(v, 1, budget);
      if (k !== null) seen.add(k);
      // enough to know the product is too large (unless another part is empty)
      if (seen.size > MAX_ENTRY_KEYS) {
        over = true;
        break;
      }
    }
    distinct.push([...seen]);
  }
  if (distinct.some((d) => d.length === 0)) return [];
  if (over || distinct.reduce((n, d) => n * d.length, 1) > MAX_ENTRY_KEYS) throw new EvaluationError(ENTRY_KEYS_MESSAGE);
  let keys = [""];
  for (const [i, d] of distinct.entries()) keys = keys.flatMap((k) => d.map((p) => (i === 0 ? p : `${k},${p}`)));
  return keys.map((k) => `[${k}]`);
}

/** The list of `any(x in LIST: x.G == current.F)` as a key reads it: missing is empty, a non-list or one past the visit limit an evaluation error. */
export function keyList(v: unknown): readonly unknown[] {
  const list = quantifierList("any", v) ?? [];
  if (list.length > MAX_QUANTIFIER_VISITS) throw new EvaluationError(QUANTIFIER_LIMIT_MESSAGE);
  return list;
}

/**
 * How many list elements the quantifiers of one condition may visit: a quantifier that is not
 * inside another starts the count, and the quantifiers nested in it add to it (nested lists
 * multiply). Past it, the rule has an evaluation error. docs/language.md §6.7.
 */
export const MAX_QUANTIFIER_VISITS = 100_000;
export const QUANTIFIER_LIMIT_MESSAGE = `\`any\` and \`all\` visited more than ${MAX_QUANTIFIER_VISITS.toLocaleString("en-US")} list elements in one condition`;

/** The list a quantifier walks: `null` (missing) stays null, a non-list is an evaluation error. */
export function quantifierList(quantifier: "any" | "all", v: unknown): readonly unknown[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) throw new EvaluationError(`\`${quantifier}\` needs a list after \`in\`, got ${kindOf(v)}`);
  return v;
}

export type ArithOp = "+" | "-" | "*" | "/";

/**
 * `a + b`, `a - b`, `a * b`, `a / b`: both finite numbers (`null`, a missing field, is an error
 * here, not false: a sum with a missing term has no value), a divisor other than zero, and a
 * finite result; anything else is an evaluation error.
 */
export function arith(op: ArithOp, a: unknown, b: unknown): number {
  if (!finite(a) || !finite(b)) throw new EvaluationError(`\`${op}\` needs two numbers, got ${kindOf(a)} and ${kindOf(b)}`);
  if (op === "/" && b === 0) throw new EvaluationError("`/` divides by zero");
  const v = op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b;
  if (!finite(v)) throw new EvaluationError(`\`${op}\` gives a number too large to represent`);
  return v;
}

/** The longest string a scope value (`per user.id`) may be, in UTF-16 code units. */
export const MAX_SCOPE_TEXT = 1024;

/**
 * The value at `fields` of `root`, as a scope key (`per user.id`, docs/language.md §7.1): `s:` and
 * a string of at most MAX_SCOPE_TEXT code units, or `n:` and a finite number (`0` and `-0` are one
 * key, as they are `==`); null when the value cannot key a scope. The emitted twin is `$scopeOf`.
 */
export function scopeKeyAt(root: unknown, fields: readonly string[]): string | null {
  let v = root;
  for (const f of fields) v = readField(v, f);
  if (typeof v === "string") return v.length <= MAX_SCOPE_TEXT ? `s:${v}` : null;
  if (typeof v === "number") return v - v === 0 ? `n:${String(v)}` : null;
  return null;
}

/**
 * The scope key of the decision (`root` is its user, context or action), or the evaluation error
 * that says why its value cannot key a scope (missing, not a string or a finite number, too long).
 * The emitted twin is `$scopeKey`.
 */
export function decisionScopeKey(root: unknown, fields: readonly string[], text: string): string {
  const key = scopeKeyAt(root, fields);
  if (key !== null) return key;
  let v = root;
  for (const f of fields) v = readField(v, f);
  const kind = kindOf(v);
  const why =
    kind === "null"
      ? `the decision has no \`${text}\``
      : kind === "string"
        ? `\`${text}\` is longer than ${MAX_SCOPE_TEXT.toLocaleString("en-US")} characters`
        : `\`${text}\` is ${kind === "list" ? "a list" : kind === "object" ? "an object" : kind === "boolean" ? "a boolean" : `a ${kind}`}, not a string or a finite number`;
  throw new EvaluationError(`\`per ${text}\`: ${why}`);
}
