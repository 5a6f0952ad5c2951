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

/**
 * The canonical JSON of a value, or `undefined` for what JSON.stringify omits (functions,
 * symbols, undefined). One pass, without per-call closures: it is on the path of every audited
 * decision.
 */
export function canonicalJsonOrUndefined(v: unknown, stack: unknown[] = []): string | undefined {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? JSON.stringify(v) : "null";
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
        const keys = Object.keys(v);
        // sort by UTF-16 code units, only when not sorted already
        for (let i = 1; i < keys.length; i++) {
          if (keys[i - 1]! > keys[i]!) {
            keys.sort();
            break;
          }
        }
        out = "{";
        let first = true;
        for (const k of keys) {
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

/** JSON.stringify of an object key, remembered for the keys records keep repeating. */
const quotedKeys = new Map<string, string>();
export function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 4096 && k.length <= 64) quotedKeys.set(k, q);
  }
  return q;
}

/** The hash that binds an approval to one exact action. */
export function actionHash(action: unknown): string {
  return sha256(canonicalJson(action));
}
