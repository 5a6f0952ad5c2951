/**
 * The audit log's interface to the enforcer: `appendNow` (AuditAppender) and a sink's own
 * synchronous writer (AuditSink.syncWriter). A record goes out synchronously exactly when the
 * chain state is known and every sink has a ready writer; the stored text is the same either way.
 */
import { describe, expect, it } from "vitest";
import { type AuditFields, type AuditLog, type AuditSink, appenderFor, createAuditLog } from "../src/audit.js";
import { verifyAuditLog } from "../src/audit-verify.js";
import type { AuditRecord } from "../src/types.js";

const fields = (i: number): AuditFields => ({ kind: "decision", decisionId: `d${i}`, time: "2026-01-01T00:00:00.000Z", n: i });

/** A sink that keeps what it is given by `write` and, when it has one, by its synchronous writer. */
function sink(writer: "none" | "ready" | "not ready") {
  const queued: string[] = [];
  let direct = "";
  const s: AuditSink = {
    name: "kept",
    write: (line) => void queued.push(line),
    ...(writer === "none"
      ? {}
      : {
          syncWriter: {
            ready: () => writer === "ready",
            write: (text: string) => {
              direct += text;
            },
          },
        }),
  };
  return { sink: s, queued, direct: () => direct };
}

describe("appendNow", () => {
  // [case, the sink's writer, defer, the second append returns null, lines written directly after it, after flush]
  const cases: [string, "none" | "ready" | "not ready", boolean, boolean, number, number][] = [
    ["without a synchronous writer: queued", "none", false, false, 0, 0],
    ["with a writer that is not ready: queued", "not ready", false, false, 0, 0],
    ["with a ready writer: written before it returns", "ready", false, true, 1, 1],
    ["with a ready writer, deferred: chained at once, written by flush", "ready", true, true, 0, 1],
  ];
  it.each(cases)("%s", async (_name, writer, defer, now, directBefore, directAfter) => {
    const kept = sink(writer);
    const log = createAuditLog({ sinks: [kept.sink] });
    // the first append reads the chain state, so it is queued
    const first = log.appendNow(fields(0), false);
    expect(first).toBeInstanceOf(Promise);
    await first;
    const second = log.appendNow(fields(1), defer);
    expect(second === null).toBe(now);
    expect(kept.direct().split("\n").length - 1).toBe(directBefore);
    await second;
    await log.flush();
    expect(kept.direct().split("\n").length - 1).toBe(directAfter);
    // one chain, whichever way each record went
    const text = `${kept.queued.map((l) => `${l}\n`).join("")}${kept.direct()}`;
    expect(verifyAuditLog(text)).toMatchObject({ ok: true, records: 2 });
  });

  it("rejects rather than throws once the log is closed", async () => {
    const log = createAuditLog({ sinks: [sink("ready").sink] });
    await log.close();
    await expect(log.appendNow(fields(0), false)).rejects.toThrow(/closed/);
  });
});

describe("appenderFor", () => {
  it("uses a log's own appendNow, and `append` with the record's fields for a log without one", async () => {
    const kept = sink("ready");
    const made = createAuditLog({ sinks: [kept.sink] });
    await appenderFor(made)(fields(0), false);
    expect(appenderFor(made)(fields(1), false)).toBeNull();

    const appended: AuditFields[] = [];
    const own: AuditLog = {
      append: async (f) => {
        appended.push(f);
        return { ...f, seq: 0, prev: "", hash: "" } as AuditRecord;
      },
      flush: async () => {},
      close: async () => {},
    };
    await expect(appenderFor(own)(fields(2), false)).resolves.toBeUndefined();
    expect(appended).toEqual([fields(2)]);
  });
});

describe("a sink that wraps a file sink by replacing write", () => {
  it("gets every record through its own write: the file sink's synchronous writer does not come along with a spread", async () => {
    const { mkdtempSync, readFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { fileSink } = await import("../src/audit.js");
    const { createEnforcer } = await import("../src/index.js");
    const path = join(mkdtempSync(join(tmpdir(), "armor-wrap-")), "audit.jsonl");
    const base = fileSink(path);
    const mirrored: string[] = [];
    const wrapper: AuditSink = {
      ...base,
      name: "mirrored file",
      write(line) {
        mirrored.push(line);
        return base.write(line);
      },
    };
    expect(Object.hasOwn(wrapper, "syncWriter")).toBe(false);
    const e = await createEnforcer({ policy: { source: "policy p\ndefault allow\n", fileName: "p.armor" }, audit: { sinks: [wrapper] } });
    for (let i = 0; i < 5; i++) await e.run({ type: "noop", i }, undefined, () => i);
    await e.close();
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(10);
    expect(mirrored).toEqual(lines);
    expect(verifyAuditLog(lines.join("\n")).ok).toBe(true);
  });
});
