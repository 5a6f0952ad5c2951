/**
 * Messages from a sandbox's worker or Python process, checked before the parent acts on them: a
 * guest that reached its engine's host side could send anything, and the parent must not crash
 * on it. Anything but a well-formed message fails the run with `engine` (and the worker or
 * process is discarded).
 */
import type { CodeFacts } from "./js-facts.js";

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

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** Facts as a worker or Python process sent them (JSON text), when they have the shape of facts; own fields only. */
export function factsOf(text: string): CodeFacts | null {
  const parsed = parseJson(text);
  if (!parsed.ok) return null;
  const v = parsed.value;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const own = (k: string): unknown => (Object.hasOwn(v, k) ? (v as Record<string, unknown>)[k] : undefined);
  const [imports, calls, urls, hosts, dynamic, error] = ["imports", "calls", "urls", "hosts", "dynamic", "error"].map(own);
  if (!isStrings(imports) || !isStrings(calls) || !isStrings(urls) || !isStrings(hosts) || typeof dynamic !== "boolean") return null;
  if (error !== null && typeof error !== "string") return null;
  return { imports, calls, urls, hosts, dynamic, error };
}

/** JSON text parsed, or `undefined` when it is not JSON. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * A `done` message as the run's result, with the output limit kept again in the parent (the
 * worker or process checks it too, but what it sends is not trusted), or why it cannot be one.
 */
export function doneResult(
  m: { value: string; stdout: string },
  outputChars: number,
  sender: string,
): { ok: true; result: { value: unknown; stdout: string } } | { ok: false; kind: "output" | "engine"; message: string } {
  if (m.stdout.length > outputChars) return { ok: false, kind: "output", message: `the code printed more than ${outputChars} characters` };
  if (m.value.length > outputChars) return { ok: false, kind: "output", message: `the code returned more than ${outputChars} characters of JSON` };
  const value = parseJson(m.value);
  if (!value.ok) return { ok: false, kind: "engine", message: `${sender} sent a value that is not JSON` };
  return { ok: true, result: { value: value.value, stdout: m.stdout } };
}
