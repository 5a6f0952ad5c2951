/**
 * Canonical JSON and SHA-256, shared by approvals (an approval is bound to the hash of the exact
 * action) and the audit log (each record carries the hash of the previous one).
 *
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, `undefined` fields and
 * functions omitted as JSON.stringify does. Two structurally equal actions always have the same
 * text, whatever the order their fields were written in. Non-finite numbers (NaN, ±Infinity,
 * what `-1e400` parses to) are refused with a `JsonValueError`, as are values that contain
 * themselves: JSON.stringify writes the numbers as `null`, which would give `Infinity` and `null`
 * one hash. `strictJson` also refuses what JSON has no text for (functions, symbols, bigints).
 */
import { sha256 } from "./sha256.js";

export { sha256 };

/** A value that canonical JSON refuses, with the path of the offending part (`[]` for the value itself). */
export class JsonValueError extends TypeError {
  override readonly name = "JsonValueError";
  readonly path: (string | number)[] = [];

  constructor(readonly problem: string) {
    super(`the value ${problem}`);
  }

  /** `amount`, `items[2].price`, or "the value" for the top level. */
  where(root = "the value"): string {
    if (this.path.length === 0) return root;
    let out = "";
    for (const k of this.path) out += typeof k === "number" ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? (out === "" ? k : `.${k}`) : `[${JSON.stringify(k)}]`;
    return `\`${out}\``;
  }

  /** The problem, said of what `root` names at the top level: "`amount` is -Infinity, …". */
  describe(root = "the value"): string {
    return `${this.where(root)} ${this.problem}`;
  }
}

function refuse(v: unknown): never {
  if (typeof v === "number") throw new JsonValueError(`is ${String(v)}, which is not a finite number`);
  if (typeof v === "object") throw new JsonValueError("contains itself");
  throw new JsonValueError(`is a ${typeof v}, which JSON cannot represent`);
}

/** Adds one step to the path of a JsonValueError on its way out. */
function within(e: unknown, key: string | number): never {
  if (e instanceof JsonValueError) {
    e.path.unshift(key);
    e.message = e.describe();
  }
  throw e;
}

export function canonicalJson(value: unknown): string {
  return canonicalJsonOrUndefined(value) ?? "null";
}

/** What JSON.stringify escapes in a string: `"`, `\`, control characters, and surrogates (it escapes lone ones). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * JSON.stringify of a string. Most strings (identifiers, ids, times) need no escape; testing for
 * that first is about twice as fast as JSON.stringify on the short strings records are made of.
 */
export function quoteJson(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** JSON.stringify of a finite number (ToString); a JsonValueError for the others. */
export function numberJson(n: number): string {
  if (!Number.isFinite(n)) refuse(n);
  return String(n);
}

/**
 * The canonical JSON of a value, or `undefined` for what JSON.stringify omits (functions,
 * symbols, undefined). One pass, without per-call closures: it is on the path of every audited
 * decision. Throws a JsonValueError for non-finite numbers and cycles.
 */
export function canonicalJsonOrUndefined(v: unknown): string | undefined {
  return serialize(v, [], false);
}

/**
 * The canonical JSON of a value that must be JSON all the way down, as decision inputs must:
 * besides what canonicalJsonOrUndefined refuses, a JsonValueError for functions, symbols and
 * bigints anywhere (`undefined` object fields are left out; `undefined` itself has no text).
 * A `toJSON` method is honoured (a `Date` becomes its ISO string).
 */
export function strictJson(v: unknown): string | undefined {
  return serialize(v, [], true);
}

function serialize(v: unknown, stack: unknown[], strict: boolean): string | undefined {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return quoteJson(v);
    case "number":
      return numberJson(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      if (strict) refuse(v);
      return JSON.stringify(v.toString());
    case "object": {
      if (stack.includes(v)) refuse(v);
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return serialize((toJSON as () => unknown).call(v), stack, strict);
      stack.push(v);
      let out: string;
      if (Array.isArray(v)) {
        out = "[";
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out += ",";
          let x: string | undefined;
          try {
            x = serialize(v[i], stack, strict);
            if (x === undefined && strict && v[i] !== undefined) refuse(v[i]);
          } catch (e) {
            within(e, i);
          }
          out += x ?? "null";
        }
        out += "]";
      } else {
        const keys = sortedKeys(v);
        out = "{";
        let first = true;
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i]!;
          const value = (v as Record<string, unknown>)[k];
          let x: string | undefined;
          try {
            x = serialize(value, stack, strict);
            if (x === undefined && strict && value !== undefined) refuse(value);
          } catch (e) {
            within(e, k);
          }
          if (x === undefined) continue;
          out += first ? `${quoteKey(k)}:${x}` : `,${quoteKey(k)}:${x}`;
          first = false;
        }
        out += "}";
      }
      stack.pop();
      return out;
    }
    default:
      if (strict && v !== undefined) refuse(v);
      return undefined;
  }
}

/** What `jsonSnapshot` takes from a value: its strict canonical JSON and two copies of what it says. */
export interface JsonSnapshot {
  /** strictJson of the value. */
  json: string | undefined;
  /** The value as JSON.parse(json) would give it, twice, sharing nothing with the value or each other. */
  copy: unknown;
  spare: unknown;
}

/**
 * strictJson of a value and two copies of it as plain data, in one pass that reads every field
 * once: the text and the copies cannot disagree, whatever getters or proxies do, and nothing
 * is parsed. The copies are what JSON.parse(json) gives (keys in canonical order, `__proto__`
 * an own field like any other).
 */
export function jsonSnapshot(v: unknown): JsonSnapshot {
  const out: [unknown, unknown] = [undefined, undefined];
  const json = snap(v, [], out);
  return { json, copy: out[0], spare: out[1] };
}

function setField(o: Record<string, unknown>, k: string, x: unknown): void {
  if (k === "__proto__") Object.defineProperty(o, k, { value: x, enumerable: true, writable: true, configurable: true });
  else o[k] = x;
}

/** strictJson's serialize, also writing the two copies of the value into `out`. */
function snap(v: unknown, stack: unknown[], out: [unknown, unknown]): string | undefined {
  if (typeof v !== "object" || v === null) {
    const text = serialize(v, stack, true);
    // -0 is written as 0, and read back as 0
    out[0] = out[1] = text === undefined ? undefined : v === 0 ? 0 : v;
    return text;
  }
  if (stack.includes(v)) refuse(v);
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return snap((toJSON as () => unknown).call(v), stack, out);
  stack.push(v);
  const item: [unknown, unknown] = [undefined, undefined];
  let text: string;
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    const b: unknown[] = [];
    text = "[";
    for (let i = 0; i < v.length; i++) {
      if (i > 0) text += ",";
      let x: string | undefined;
      try {
        x = snap(v[i], stack, item);
        if (x === undefined && v[i] !== undefined) refuse(v[i]);
      } catch (e) {
        within(e, i);
      }
      text += x ?? "null";
      a.push(x === undefined ? null : item[0]);
      b.push(x === undefined ? null : item[1]);
    }
    text += "]";
    out[0] = a;
    out[1] = b;
  } else {
    const a: Record<string, unknown> = {};
    const b: Record<string, unknown> = {};
    const keys = sortedKeys(v);
    text = "{";
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const value = (v as Record<string, unknown>)[k];
      let x: string | undefined;
      try {
        x = snap(value, stack, item);
        if (x === undefined && value !== undefined) refuse(value);
      } catch (e) {
        within(e, k);
      }
      if (x === undefined) continue;
      text += first ? `${quoteKey(k)}:${x}` : `,${quoteKey(k)}:${x}`;
      first = false;
      setField(a, k, item[0]);
      setField(b, k, item[1]);
    }
    text += "}";
    out[0] = a;
    out[1] = b;
  }
  stack.pop();
  return text;
}

/**
 * An object's own enumerable keys sorted by UTF-16 code units. Objects in actions and contexts
 * have a handful of keys, for which an insertion sort is several times faster than
 * Array.prototype.sort (and does nothing when they are in order already).
 */
function sortedKeys(v: object): string[] {
  const keys = Object.keys(v);
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/** JSON.stringify of an object key, remembered for the keys records keep repeating. */
const quotedKeys = new Map<string, string>();
export function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = quoteJson(k);
    if (quotedKeys.size < 4096 && k.length <= 64) quotedKeys.set(k, q);
  }
  return q;
}

// ---- values that cannot change -------------------------------------------------------------
//
// The compiled policy shares one frozen `rules` list (and `errors`, `approval`) among all the
// decisions with the same outcome, so their text can be computed once. A value qualifies when it
// is deeply frozen plain data: frozen arrays and plain objects all the way down, with data
// properties only. Then its own keys and values are fixed, and the only thing that could change
// its canonical JSON is a `toJSON` added to Object.prototype or Array.prototype later, which
// every lookup checks (`v.toJSON` finds one on the value, its prototype or Object.prototype).

const frozenText = new WeakMap<object, string | null>();

function isFrozenPlainData(v: unknown, depth: number): boolean {
  if (typeof v !== "object" || v === null) return typeof v !== "function" && typeof v !== "symbol" && typeof v !== "bigint";
  if (depth > 32 || !Object.isFrozen(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== (Array.isArray(v) ? Array.prototype : Object.prototype)) return false;
  for (const d of Object.values(Object.getOwnPropertyDescriptors(v))) {
    if (!("value" in d) || !isFrozenPlainData(d.value, depth + 1)) return false;
  }
  return true;
}

/**
 * canonicalJsonOrUndefined, remembering the text of deeply frozen plain data (the rule lists of
 * compiled policies); any other value is serialized every time.
 */
export function canonicalJsonOfShared(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || !Object.isFrozen(v)) return canonicalJsonOrUndefined(v);
  if ((v as { toJSON?: unknown }).toJSON !== undefined || (Array.prototype as { toJSON?: unknown }).toJSON !== undefined) return canonicalJsonOrUndefined(v);
  // the common case, no rules fired and no errors, without the lookup
  if (Array.isArray(v) && v.length === 0) return "[]";
  const known = frozenText.get(v);
  if (known !== undefined) return known ?? canonicalJsonOrUndefined(v);
  const text = canonicalJsonOrUndefined(v);
  frozenText.set(v, text !== undefined && isFrozenPlainData(v, 0) ? text : null);
  return text;
}

/** The hash that binds an approval to one exact action. */
export function actionHash(action: unknown): string {
  return sha256(canonicalJson(action));
}
