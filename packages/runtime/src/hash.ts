/**
 * Canonical JSON and SHA-256, shared by approvals (an approval is bound to the hash of the exact
 * action) and the audit log (each record carries the hash of the previous one).
 *
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, `undefined` fields and
 * functions omitted as JSON.stringify does, non-finite numbers as null. Two structurally equal
 * actions always have the same text, whatever the order their fields were written in.
 */
import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  const seen = new Set<unknown>();
  const write = (v: unknown): string | undefined => {
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
        if (seen.has(v)) throw new TypeError("cannot hash a value that contains itself");
        const toJSON = (v as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === "function") return write((toJSON as () => unknown).call(v));
        seen.add(v);
        let out: string;
        if (Array.isArray(v)) out = `[${v.map((x) => write(x) ?? "null").join(",")}]`;
        else {
          const parts: string[] = [];
          for (const k of Object.keys(v).sort()) {
            const x = write((v as Record<string, unknown>)[k]);
            if (x !== undefined) parts.push(`${JSON.stringify(k)}:${x}`);
          }
          out = `{${parts.join(",")}}`;
        }
        seen.delete(v);
        return out;
      }
      default:
        return undefined;
    }
  };
  return write(value) ?? "null";
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The hash that binds an approval to one exact action. */
export function actionHash(action: unknown): string {
  return sha256(canonicalJson(action));
}
