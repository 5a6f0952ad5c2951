/**
 * A polluted Object.prototype against the audit log's interface to the enforcer: the fast path
 * (`appendNow`) and a sink's synchronous writer (`syncWriter`) are used only as the log's and the
 * sink's own properties, so a value planted on Object.prototype never receives a record, and the
 * records still reach the sink or the log they were meant for.
 */
import { describe, expect, it } from "vitest";
import { type AuditFields, type AuditOption, createEnforcer } from "../../packages/runtime/src/index.js";

const POLICY = `
policy p version "1"
default allow
`;

/** Where the records were meant to go: a callback sink, or an audit log of the caller's own. */
function destination(kind: "callback sink" | "log of the caller's"): { audit: AuditOption; kinds: string[] } {
  const kinds: string[] = [];
  if (kind === "callback sink") return { audit: { callback: (record) => void kinds.push(String(record.kind)) }, kinds };
  const log = {
    append: async (f: AuditFields) => {
      kinds.push(f.kind);
      return { ...f, seq: kinds.length - 1, prev: "", hash: "" };
    },
    flush: async () => {},
    close: async () => {},
  };
  return { audit: log as unknown as AuditOption, kinds };
}

describe("a polluted Object.prototype", () => {
  const stolen: unknown[] = [];
  const writer = { ready: () => true, write: (text: string) => void stolen.push(text) };
  const appendNow = (record: unknown) => {
    stolen.push(record);
    return null;
  };
  // [the key planted on Object.prototype, where the records are meant to go, the planted value]
  const cases: [string, "callback sink" | "log of the caller's", unknown][] = [
    ["syncWriter", "callback sink", writer],
    ["appendNow", "log of the caller's", appendNow],
    ["appendNow", "callback sink", appendNow],
  ];
  it.each(cases)("Object.prototype.%s never gets a record meant for a %s", async (key, kind, value) => {
    stolen.length = 0;
    const meant = destination(kind);
    Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true });
    try {
      const enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "p.armor" }, audit: meant.audit });
      for (let i = 0; i < 3; i++) await enforcer.run({ type: "send", n: i }, { session: "s" }, () => i);
      await enforcer.close();
    } finally {
      delete (Object.prototype as Record<string, unknown>)[key];
    }
    expect(stolen).toEqual([]);
    expect(meant.kinds).toEqual(["decision", "outcome", "decision", "outcome", "decision", "outcome"]);
  });
});

describe("the enforcer's audit option under a polluted Object.prototype", () => {
  // [the key planted on Object.prototype, the option given]
  const cases: [string, (records: unknown[]) => object][] = [
    ["append", (records) => ({ callback: (r: unknown) => void records.push(r) })],
    ["file", (records) => ({ callback: (r: unknown) => void records.push(r) })],
    ["callback", (records) => ({ sinks: [{ name: "kept", write: (line: string) => void records.push(JSON.parse(line)) }] })],
  ];
  it.each(cases)("`%s` planted: the records still reach the sink the option names", async (key, option) => {
    const records: unknown[] = [];
    const proto = Object.prototype as Record<string, unknown>;
    proto[key] = key === "append" ? () => Promise.resolve() : key === "file" ? "/nonexistent/planted.jsonl" : () => {};
    try {
      const e = await createEnforcer({ policy: { source: "policy p\ndefault allow\n", fileName: "p.armor" }, audit: option(records) as never });
      await e.run({ type: "noop" }, undefined, () => 1);
      await e.close();
    } finally {
      delete proto[key];
    }
    expect(records.length).toBe(2);
  });
});
