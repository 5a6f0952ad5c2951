/**
 * Canonical JSON and SHA-256, shared by approvals (an approval is bound to the hash of the exact
 * action) and the audit log (each record carries the hash of the previous one).
 *
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, `undefined` fields and
 * functions omitted as JSON.stringify does, non-finite numbers as null. Two structurally equal
 * actions always have the same text, whatever the order their fields were written in.
 */
import { sha256 } from "./sha256.js";

export { sha256 };

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

/** JSON.stringify of a finite number (ToString), and null for the others, as JSON.stringify writes them. */
export function numberJson(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

/**
 * The canonical JSON of a value, or `undefined` for what JSON.stringify omits (functions,
 * symbols, undefined). One pass, without per-call closures: it is on the path of every audited
 * decision.
 */
export function canonicalJsonOrUndefined(v: unknown, stack: unknown[] = []): string | undefined {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return quoteJson(v);
    case "number":
      return numberJson(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return JSON.stringify(v.toString());
    case "object": {
      if (stack.includes(v)) throw new TypeError("cannot hash a value that contains itself");
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return canonicalJsonOrUndefined((toJSON as () => unknown).call(v), stack);
      stack.push(v);
      let out: string;
      if (Array.isArray(v)) {
        out = "[";
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out += ",";
          out += canonicalJsonOrUndefined(v[i], stack) ?? "null";
        }
        out += "]";
      } else {
        const keys = sortedKeys(v);
        out = "{";
        let first = true;
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i]!;
          const x = canonicalJsonOrUndefined((v as Record<string, unknown>)[k], stack);
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
      return undefined;
  }
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
