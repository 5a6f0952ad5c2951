/**
 * Messages from a sandbox's worker or Python process, checked before the parent acts on them: a
 * guest that reached its engine's host side could send anything, and the parent must not crash
 * on it. Anything but a well-formed message fails the run with `engine` (and the worker or
 * process is discarded).
 */

/** A message from a worker or Python process, well formed. */
export type FromSandbox =
  | { kind: "ready" }
  | { kind: "call"; job: number; call: number; name: string; args: string }
  | { kind: "facts"; job: number; facts: string }
  | { kind: "done"; job: number; value: string; stdout: string }
  | { kind: "failed"; job: number; failure: string; message: string };

const FIELDS: Record<FromSandbox["kind"], Record<string, "int" | "string">> = {
  ready: {},
  call: { job: "int", call: "int", name: "string", args: "string" },
  facts: { job: "int", facts: "string" },
  done: { job: "int", value: "string", stdout: "string" },
  failed: { job: "int", failure: "string", message: "string" },
};

/** `m` as a message of a known kind with its fields of the right types, or null. */
export function checkMessage(m: unknown): FromSandbox | null {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return null;
  const proto = Object.getPrototypeOf(m);
  if (proto !== Object.prototype && proto !== null) return null;
  const rec = m as Record<string, unknown>;
  const kind = rec.kind;
  if (typeof kind !== "string" || !Object.hasOwn(FIELDS, kind)) return null;
  for (const [k, t] of Object.entries(FIELDS[kind as FromSandbox["kind"]])) {
    const v = rec[k];
    if (t === "int" ? !Number.isSafeInteger(v) : typeof v !== "string") return null;
  }
  return m as FromSandbox;
}

/** JSON text parsed, or `undefined` when it is not JSON. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
