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
 * Structural equality of JSON values. Numbers compare with `===` (so `0 == -0`). Two values that
 * both nest deeper than MAX_COMPARE_DEPTH are an evaluation error, not a stack overflow whose
 * depth would differ between the interpreter and compiled code.
 */
export function equals(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (a === undefined) return b === null;
  if (b === undefined) return a === null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth >= MAX_COMPARE_DEPTH) throw new EvaluationError(`values nested more than ${MAX_COMPARE_DEPTH} deep cannot be compared`);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!hasOwn.call(b, k) || !equals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

export type OrderOp = "<" | "<=" | ">" | ">=";

/**
 * Ordering of two numbers or two strings; null on either side is false. A non-finite number
 * (which no JSON input holds, but a caller of `decide` can pass) is an error, not a value that
 * passes every threshold.
 */
export function order(op: OrderOp, a: unknown, b: unknown): boolean {
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (!((finite(a) && finite(b)) || (typeof a === "string" && typeof b === "string"))) {
    throw new EvaluationError(`\`${op}\` needs two numbers or two strings, got ${kindOf(a)} and ${kindOf(b)}`);
  }
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

export function between(v: unknown, low: unknown, high: unknown): boolean {
  if (v === null || low === null || high === null || v === undefined || low === undefined || high === undefined) return false;
  const numbers = finite(v) && finite(low) && finite(high);
  const strings = typeof v === "string" && typeof low === "string" && typeof high === "string";
  if (!numbers && !strings) {
    throw new EvaluationError(`\`between\` needs three numbers or three strings, got ${kindOf(v)}, ${kindOf(low)} and ${kindOf(high)}`);
  }
  return (v as number) >= (low as number) && (v as number) <= (high as number);
}

export function inList(v: unknown, list: unknown): boolean {
  if (v === null || v === undefined || list === null || list === undefined) return false;
  if (!Array.isArray(list)) throw new EvaluationError(`\`in\` needs a list on its right, got ${kindOf(list)}`);
  for (const x of list) if (equals(v, x)) return true;
  return false;
}

export type StringOp = "contains" | "starts_with" | "ends_with";

export function stringOp(op: StringOp, a: unknown, b: unknown): boolean {
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (op === "contains" && Array.isArray(a)) {
    for (const x of a) if (equals(x, b)) return true;
    return false;
  }
  if (typeof a !== "string" || typeof b !== "string") {
    const what = op === "contains" ? "a string or a list and a string" : "two strings";
    throw new EvaluationError(`\`${op}\` needs ${what}, got ${kindOf(a)} and ${kindOf(b)}`);
  }
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
