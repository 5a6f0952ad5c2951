/** Messages from a worker or a Python process are checked before the parent acts on them: anything malformed is refused. */
import { describe, expect, it } from "vitest";
import { checkMessage } from "../src/messages.js";

const cases: { name: string; message: unknown; ok: boolean }[] = [
  { name: "ready", message: { kind: "ready" }, ok: true },
  { name: "a call", message: { kind: "call", job: 1, call: 0, name: "fetch", args: "[]" }, ok: true },
  { name: "done", message: { kind: "done", job: 1, value: "1", stdout: "" }, ok: true },
  { name: "failed", message: { kind: "failed", job: 1, failure: "exception", message: "x" }, ok: true },
  { name: "facts", message: { kind: "facts", job: 1, facts: "{}" }, ok: true },
  { name: "null", message: null, ok: false },
  { name: "a string", message: "done", ok: false },
  { name: "an array", message: [{ kind: "ready" }], ok: false },
  { name: "an unknown kind", message: { kind: "exit", job: 1 }, ok: false },
  { name: "a kind from the prototype", message: { kind: "toString", job: 1 }, ok: false },
  { name: "a job that is not an integer", message: { kind: "done", job: "1", value: "1", stdout: "" }, ok: false },
  { name: "a fractional job", message: { kind: "done", job: 1.5, value: "1", stdout: "" }, ok: false },
  { name: "a missing field", message: { kind: "done", job: 1, value: "1" }, ok: false },
  { name: "a field of the wrong type", message: { kind: "call", job: 1, call: 0, name: "fetch", args: [] }, ok: false },
  { name: "a failure without a message", message: { kind: "failed", job: 1, failure: "exception" }, ok: false },
];

describe("checkMessage", () => {
  it.each(cases)("$name", ({ message, ok }) => {
    expect(checkMessage(message) !== null).toBe(ok);
  });
});
