/**
 * The tamper-evident audit log: chain properties, sinks, tampering detection, and a real crash
 * (a child process killed with SIGKILL mid-stream) verified by the library and by `armorc`.
 * `npm test` builds first: the crash test and the CLI tests run the built packages.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type AuditFields, type AuditSink, AuditWriteError, buildAuditRecord, callbackSink, createAuditLog, fileSink, GENESIS_HASH, streamSink } from "../src/audit.js";
import { type AuditProblemKind, verifyAuditLog } from "../src/audit-verify.js";
import { canonicalJson, sha256 } from "../src/hash.js";
import type { AuditRecord } from "../src/types.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const armorcBin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
const runtimeDist = join(repoRoot, "packages", "runtime", "dist", "index.js");

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "armor-audit-"));
});
afterEach(() => {
  vi.restoreAllMocks();
});

let fileCount = 0;
const tempFile = (): string => join(work, `log-${fileCount++}.jsonl`);

const fields = (i: number, extra: Record<string, unknown> = {}): AuditFields => ({
  kind: i % 2 === 0 ? "decision" : "outcome",
  decisionId: `d${Math.floor(i / 2)}`,
  time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
  n: i,
  ...extra,
});

function armorc(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [armorcBin, ...args], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Ten records, as their lines (no newlines). */
async function tenLines(): Promise<string[]> {
  const lines: string[] = [];
  const log = createAuditLog({ sinks: [callbackSink((_, line) => void lines.push(line))] });
  for (let i = 0; i < 10; i++) await log.append(fields(i));
  await log.close();
  return lines;
}

const joined = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join("");

describe("the chain", () => {
  it("orders concurrent appends by call order into a valid chain", async () => {
    const lines: string[] = [];
    const log = createAuditLog({ sinks: [callbackSink(async (_, line) => void lines.push(line))] });
    const records = await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(fields(i))));
    await log.close();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(records[0]!.prev).toBe(GENESIS_HASH);
    for (let i = 1; i < records.length; i++) expect(records[i]!.prev).toBe(records[i - 1]!.hash);
    for (const r of records) {
      const { hash, ...body } = r;
      expect(hash).toBe(sha256(canonicalJson(body)));
    }
    expect(lines).toEqual(records.map((r) => canonicalJson(r)));
    expect(verifyAuditLog(joined(lines))).toEqual({ ok: true, records: 40, problem: null, tornTail: false, tornLines: [], gaps: [], chains: 1, heads: [] });
  });

  it("returns the record as stored, snapshotting the fields at call time", async () => {
    const log = createAuditLog({ sinks: [callbackSink(() => undefined)] });
    const extra = { when: new Date(0), gone: undefined, nested: { b: 1, a: [1, 2] } };
    const pending = log.append(fields(0, extra));
    extra.nested.b = 99; // after the call: must not leak into the record
    const r = await pending;
    expect(r.when).toBe("1970-01-01T00:00:00.000Z");
    expect("gone" in r).toBe(false);
    expect(r.nested).toEqual({ a: [1, 2], b: 1 });
  });

  it("rejects fields that are not a record, without consuming a seq", async () => {
    const log = createAuditLog({ sinks: [callbackSink(() => undefined)] });
    await expect(log.append({ ...fields(0), kind: "other" as "decision" })).rejects.toThrow(TypeError);
    await expect(log.append({ ...fields(0), seq: 7 })).rejects.toThrow(/must not set `seq`/);
    await expect(log.append({ ...fields(0), decisionId: "" })).rejects.toThrow(TypeError);
    expect((await log.append(fields(0))).seq).toBe(0);
    await log.close();
    await expect(log.append(fields(1))).rejects.toThrow(/closed/);
  });

  it("continues seq and prev in a new log on the same file", async () => {
    const path = tempFile();
    const first = createAuditLog({ sinks: [fileSink(path)] });
    const a = await Promise.all([0, 1, 2].map((i) => first.append(fields(i))));
    await first.close();
    const second = createAuditLog({ sinks: [fileSink(path)] });
    const b = await second.append(fields(3));
    await second.close();
    expect(b.seq).toBe(3);
    expect(b.prev).toBe(a[2]!.hash);
    const text = readFileSync(path, "utf8");
    expect(text.split("\n")).toHaveLength(5);
    expect(verifyAuditLog(text)).toMatchObject({ ok: true, records: 4, tornTail: false });
  });

  it("resumes from the first sink that can, before the first append", async () => {
    const resume = vi.fn(() => ({ seq: 41, prev: "a".repeat(64) }));
    const other = vi.fn(() => null);
    const log = createAuditLog({ sinks: [callbackSink(() => undefined), { write: () => undefined, resume }, { write: () => undefined, resume: other }] });
    expect(resume).not.toHaveBeenCalled();
    const r = await log.append(fields(0));
    expect(r).toMatchObject({ seq: 41, prev: "a".repeat(64) });
    expect((await log.append(fields(1))).seq).toBe(42);
    expect(resume).toHaveBeenCalledTimes(1);
    expect(other).not.toHaveBeenCalled();
  });

  it("resumes from a file whose last line is torn, keeping the fragment and starting a fresh line with a gap record", async () => {
    const path = tempFile();
    const log = createAuditLog({ sinks: [fileSink(path)] });
    const a = await Promise.all([0, 1, 2].map((i) => log.append(fields(i))));
    await log.close();
    const torn = canonicalJson({ ...fields(3), seq: 3 }).slice(0, 30);
    appendFileSync(path, torn);
    expect(await fileSink(path).resume!()).toEqual({ seq: 3, prev: a[2]!.hash, torn: 1 });
    const again = createAuditLog({ sinks: [fileSink(path)] });
    const b = await again.append(fields(3));
    await again.close();
    // a gap record after the fragment says a record was lost to the crash; the chain goes on after it
    expect(b).toMatchObject({ seq: 4 });
    const text = readFileSync(path, "utf8");
    expect(text.split("\n")[3]).toBe(torn);
    expect(JSON.parse(text.split("\n")[4]!)).toMatchObject({ kind: "gap", seq: 3, prev: a[2]!.hash, lost: 1, reason: expect.stringContaining("torn by a crash") });
    expect(verifyAuditLog(text)).toEqual({
      ok: true,
      records: 5,
      problem: null,
      tornTail: false,
      tornLines: [4],
      gaps: [{ line: 5, seq: 3, lost: 1, from: null, to: null, reason: expect.stringContaining("torn") }],
      chains: 1,
      heads: [],
    });
  });

  it("resumes from a record longer than the read-back chunk, and from a missing or empty file", async () => {
    const path = tempFile();
    expect(await fileSink(path).resume!()).toBeNull();
    writeFileSync(path, "");
    expect(await fileSink(path).resume!()).toBeNull();
    const log = createAuditLog({ sinks: [fileSink(path)] });
    await log.append(fields(0));
    const big = await log.append(fields(1, { blob: "x".repeat(200_000) }));
    await log.close();
    expect(await fileSink(path).resume!()).toEqual({ seq: 2, prev: big.hash });
  });

  it("gives callback and stream sinks identical lines", async () => {
    const fromCallback: string[] = [];
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c.toString("utf8")));
    const log = createAuditLog({ sinks: [callbackSink((_record, line) => void fromCallback.push(line)), streamSink(stream)] });
    await Promise.all(Array.from({ length: 12 }, (_, i) => log.append(fields(i))));
    await log.close();
    const streamed = chunks.join("");
    expect(streamed.endsWith("\n")).toBe(true);
    expect(streamed.slice(0, -1).split("\n")).toEqual(fromCallback);
    expect(verifyAuditLog(streamed)).toMatchObject({ ok: true, records: 12 });
  });

  it("hands the callback a copy of the record matching its line", async () => {
    const seen: [AuditRecord, string][] = [];
    const log = createAuditLog({ sinks: [callbackSink((r, l) => void seen.push([r, l]))] });
    const r = await log.append(fields(0));
    expect(seen[0]![0]).toEqual(r);
    expect(seen[0]![0]).not.toBe(r);
    expect(seen[0]![1]).toBe(canonicalJson(r));
  });

  it("syncs every record with fsync, and never without", async () => {
    const probe = await open(tempFile(), "w");
    const proto = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
    await probe.close();
    const sync = vi.spyOn(proto, "sync");

    const plain = createAuditLog({ sinks: [fileSink(tempFile())] });
    for (let i = 0; i < 3; i++) await plain.append(fields(i));
    await plain.close();
    expect(sync).not.toHaveBeenCalled();

    const path = tempFile();
    const synced = createAuditLog({ sinks: [fileSink(path, { fsync: true })] });
    for (let i = 0; i < 3; i++) {
      await synced.append(fields(i));
      expect(sync).toHaveBeenCalledTimes(i + 1); // before the append resolved
    }
    await synced.close();
    expect(verifyAuditLog(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 3 });
  });
});

describe("failing sinks", () => {
  const failing = (message: string): AuditSink => ({
    name: "flaky",
    write() {
      throw new Error(message);
    },
  });

  it("rejects the append with an AuditWriteError naming the sink, and stays usable", async () => {
    const stored: AuditRecord[] = [];
    const flaky: string[] = [];
    let fail = true;
    const onError = vi.fn();
    const log = createAuditLog({
      sinks: [callbackSink((r) => void stored.push(r)), { name: "flaky", write: (line) => (fail ? Promise.reject(new Error("disk full")) : void flaky.push(line)) }],
      onError,
    });
    const error = await log.append(fields(0)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditWriteError);
    const e = error as AuditWriteError;
    expect(e.sink).toBe("flaky");
    expect(e.message).toMatch(/record 0 was not stored by flaky \(disk full\)/);
    expect((e.cause as Error).message).toBe("disk full");
    expect(e.record?.seq).toBe(0);
    expect(onError).toHaveBeenCalledWith(e);

    // the record stays in the chain of the sink that stored it; a gap record tells the other what it missed
    fail = false;
    const next = await log.append(fields(1));
    expect(stored[1]).toMatchObject({ kind: "gap", seq: 1, prev: stored[0]!.hash, lost: 0, missing: [{ sink: "flaky", from: 0, to: 0 }] });
    expect(next).toMatchObject({ seq: 2, prev: stored[1]!.hash });
    expect(verifyAuditLog(joined(stored.map((r) => canonicalJson(r))))).toMatchObject({ ok: true, records: 3 });
    expect(flaky).toHaveLength(2);
    expect(verifyAuditLog(joined(flaky), { sink: "flaky" })).toMatchObject({ ok: true, records: 2, gaps: [{ line: 1, from: 0, to: 0 }] });
  });

  it("reports a sink that throws synchronously, and names every failing sink", async () => {
    const log = createAuditLog({ sinks: [failing("boom"), { write: () => Promise.reject(new Error("bang")) }] });
    const e = (await log.append(fields(0)).catch((x: unknown) => x)) as AuditWriteError;
    expect(e).toBeInstanceOf(AuditWriteError);
    expect(e.failures.map((f) => f.sink)).toEqual(["flaky", "sink 1"]);
    expect(e.message).toContain("flaky (boom), sink 1 (bang)");
  });

  it("rejects when resume fails, and tries again on the next append", async () => {
    let attempts = 0;
    const log = createAuditLog({
      sinks: [
        {
          name: "remote",
          write: () => undefined,
          resume: () => {
            if (attempts++ === 0) throw new Error("unreachable");
            return { seq: 5, prev: "b".repeat(64) };
          },
        },
      ],
    });
    await expect(log.append(fields(0))).rejects.toThrow(AuditWriteError);
    expect((await log.append(fields(0))).seq).toBe(5);
  });

  it("rejects on a stream that fails", async () => {
    const stream = new PassThrough();
    stream.destroy(new Error("pipe closed"));
    const log = createAuditLog({ sinks: [streamSink(stream)] });
    const e = (await log.append(fields(0)).catch((x: unknown) => x)) as AuditWriteError;
    expect(e).toBeInstanceOf(AuditWriteError);
    expect(e.sink).toBe("stream");
  });
});

describe("verifyAuditLog", () => {
  /** A record that fits wherever its author says, with a correct hash of its own. */
  const forge = (seq: number, prev: string, extra: Record<string, unknown> = {}): string => buildAuditRecord({ ...fields(seq), forged: true, ...extra }, seq, prev).line;
  const hashOf = (line: string): string => (JSON.parse(line) as AuditRecord).hash;

  interface Case {
    name: string;
    tamper(lines: string[]): string;
    kind: AuditProblemKind;
    line: number;
    seq: number | null;
    message: RegExp;
  }
  const cases: Case[] = [
    {
      name: "a field edited",
      tamper: (l) => joined(l.map((x, i) => (i === 5 ? x.replace('"n":5', '"n":6') : x))),
      kind: "edited",
      line: 6,
      seq: 5,
      message: /^record 5 \(line 6\) was edited: its hash does not match its contents$/,
    },
    {
      name: "a field edited and the record's own hash recomputed",
      tamper: (l) => joined(l.map((x, i) => (i === 5 ? buildAuditRecord({ ...fields(5), n: 500 }, 5, hashOf(l[4]!)).line : x))),
      kind: "edited",
      line: 6,
      seq: 5,
      message: /^record 5 \(line 6\) was edited or replaced: record 6 \(line 7\) was chained to a different record 5$/,
    },
    {
      name: "a record deleted",
      tamper: (l) => joined(l.filter((_, i) => i !== 5)),
      kind: "deleted",
      line: 6,
      seq: 6,
      message: /^record 6 \(line 6\) does not follow record 4 \(line 5\): record 5 is missing before it/,
    },
    {
      name: "two records deleted",
      tamper: (l) => joined(l.filter((_, i) => i !== 5 && i !== 6)),
      kind: "deleted",
      line: 6,
      seq: 7,
      message: /records 5–6 are missing before it/,
    },
    {
      name: "the first record deleted",
      tamper: (l) => joined(l.slice(1)),
      kind: "deleted",
      line: 1,
      seq: 1,
      message: /^record 1 \(line 1\) does not follow the start of the log: record 0 is missing/,
    },
    {
      name: "a forged record inserted that fits after its predecessor",
      tamper: (l) => joined([...l.slice(0, 5), forge(5, hashOf(l[4]!)), ...l.slice(5)]),
      kind: "inserted",
      line: 6,
      seq: 5,
      message: /^record 5 \(line 6\) was inserted: record 5 \(line 7\) follows record 4 \(line 5\) directly$/,
    },
    {
      name: "a forged record inserted that fits nowhere",
      tamper: (l) => joined([...l.slice(0, 5), forge(42, "c".repeat(64)), ...l.slice(5)]),
      kind: "inserted",
      line: 6,
      seq: 42,
      message: /^record 42 \(line 6\) was inserted: it does not fit the chain/,
    },
    {
      name: "a forged record claiming an earlier position, inserted later",
      tamper: (l) => joined([...l.slice(0, 7), forge(3, hashOf(l[2]!)), ...l.slice(7)]),
      kind: "inserted",
      line: 8,
      seq: 3,
      message: /^record 3 \(line 8\) was inserted: it claims to follow record 2 \(line 3\), which record 3 \(line 4\) already follows$/,
    },
    {
      name: "two records swapped",
      tamper: (l) => joined([...l.slice(0, 4), l[5]!, l[4]!, ...l.slice(6)]),
      kind: "reordered",
      line: 5,
      seq: 5,
      message: /^record 5 \(line 5\) is out of order: it belongs after record 4 \(line 6\)$/,
    },
    {
      name: "a record moved to the end",
      tamper: (l) => joined([...l.slice(0, 2), ...l.slice(3), l[2]!]),
      kind: "reordered",
      line: 3,
      seq: 3,
      message: /^record 3 \(line 3\) is out of order: it belongs after record 2 \(line 10\)$/,
    },
    {
      name: "a record duplicated",
      tamper: (l) => joined([...l.slice(0, 5), l[4]!, ...l.slice(5)]),
      kind: "inserted",
      line: 6,
      seq: 4,
      message: /^record 4 \(line 6\) was inserted: it is a copy of line 5$/,
    },
    {
      name: "a line replaced by text that is not JSON",
      tamper: (l) => joined(l.map((x, i) => (i === 3 ? "hello" : x))),
      kind: "malformed",
      line: 4,
      seq: null,
      message: /^line 4 is not valid JSON$/,
    },
    {
      name: "a record cut short in the middle",
      tamper: (l) => joined(l.map((x, i) => (i === 3 ? x.slice(0, 40) : x))),
      kind: "malformed",
      line: 4,
      seq: null,
      message:
        /^line 4 is not valid JSON, and only the last line may be a torn write: record 4 \(line 5\) after it is not a gap record that continues from record 2 \(line 3\) and declares a torn write$/,
    },
    {
      name: "JSON that is not a record",
      tamper: (l) => joined([...l.slice(0, 2), '{"seq":2}', ...l.slice(2)]),
      kind: "malformed",
      line: 3,
      seq: null,
      message: /^line 3 is not an audit record: `prev` is not a SHA-256 hash$/,
    },
    {
      name: "a record rewritten in a non-canonical layout",
      tamper: (l) => joined(l.map((x, i) => (i === 2 ? JSON.stringify(JSON.parse(x), null, 1).replace(/\n/g, "") : x))),
      kind: "edited",
      line: 3,
      seq: 2,
      message: /was edited: its text is not the canonical JSON/,
    },
  ];

  it.each(cases)("names $name: $kind at line $line", async ({ tamper, kind, line, seq, message }) => {
    const result = verifyAuditLog(tamper(await tenLines()));
    expect(result.ok).toBe(false);
    expect(result.problem).toMatchObject({ kind, line, seq });
    expect(result.problem?.message).toMatch(message);
  });

  it("accepts a log truncated mid-line at the end as a torn tail", async () => {
    const lines = await tenLines();
    const text = joined(lines.slice(0, 9)) + lines[9]!.slice(0, 57);
    expect(verifyAuditLog(text)).toEqual({ ok: true, records: 9, problem: null, tornTail: true, tornLines: [10], gaps: [], chains: 1, heads: [] });
  });

  it("accepts a whole final record without its newline", async () => {
    const text = joined(await tenLines()).slice(0, -1);
    expect(verifyAuditLog(text)).toEqual({ ok: true, records: 10, problem: null, tornTail: false, tornLines: [], gaps: [], chains: 1, heads: [] });
  });

  it("accepts an empty log", () => {
    expect(verifyAuditLog("")).toEqual({ ok: true, records: 0, problem: null, tornTail: false, tornLines: [], gaps: [], chains: 0, heads: [] });
  });

  it("reports the first problem only, and counts the records verified before it", async () => {
    const lines = await tenLines();
    const text = joined(lines.map((x, i) => (i === 2 || i === 7 ? x.replace(`"n":${i}`, '"n":0') : x)));
    expect(verifyAuditLog(text)).toMatchObject({ ok: false, records: 2, problem: { line: 3, kind: "edited" } });
  });
});

describe("armorc audit verify", () => {
  beforeAll(() => {
    expect(existsSync(join(repoRoot, "packages", "cli", "dist", "bundle", "armorc.js")), "run `npm run build` first").toBe(true);
  });

  it("exits 0 on an intact log, 1 naming the line of an edited record, 2 on a missing file", async () => {
    const lines = await tenLines();
    const good = join(work, "good.jsonl");
    writeFileSync(good, joined(lines));
    expect(armorc(["audit", "verify", good])).toEqual({ status: 0, stdout: "ok: 10 records\n", stderr: "" });

    const edited = join(work, "edited.jsonl");
    writeFileSync(edited, joined(lines.map((x, i) => (i === 6 ? x.replace('"n":6', '"n":60') : x))));
    const bad = armorc(["audit", "verify", edited]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain(`${edited}:7: record 6 was edited: its hash does not match its contents\n`);

    const missing = armorc(["audit", "verify", join(work, "nope.jsonl")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read `.*nope\.jsonl`: no such file/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    expect(armorc(["audit", "check", good]).status).toBe(2);
    expect(armorc(["audit", "verify"]).status).toBe(2);
  });

  it("notes a torn tail and still exits 0", async () => {
    const lines = await tenLines();
    const torn = join(work, "torn.jsonl");
    writeFileSync(torn, joined(lines.slice(0, 9)) + lines[9]!.slice(0, 20));
    const r = armorc(["audit", "verify", torn]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok: 9 records \(line 10: a write torn by a crash, ignored\)\n$/);
  });
});

describe("a crash", () => {
  it("leaves a log whose every whole record verifies, and which a restart continues", async () => {
    expect(existsSync(runtimeDist), "run `npm run build` first").toBe(true);
    const dir = mkdtempSync(join(work, "crash-"));
    const path = join(dir, "audit.jsonl");
    const script = join(dir, "writer.mjs");
    writeFileSync(
      script,
      [
        `import { createAuditLog, fileSink } from ${JSON.stringify(pathToFileURL(runtimeDist).href)};`,
        `const log = createAuditLog({ sinks: [fileSink(${JSON.stringify(path)}, { fsync: true })] });`,
        `for (let i = 0; ; i++) {`,
        `  await log.append({ kind: i % 2 ? "outcome" : "decision", decisionId: "d" + (i >> 1), time: new Date().toISOString(), i, pad: "x".repeat(i % 97) });`,
        `}`,
      ].join("\n"),
    );
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const exited = new Promise<NodeJS.Signals | number | null>((done) => child.on("exit", (code, signal) => done(signal ?? code)));
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));

    // wait for at least 50 whole records (about 200 bytes each), then kill it mid-stream
    for (;;) {
      if (exitedEarly) throw new Error(`the writer exited early: ${stderr}`);
      const size = existsSync(path) ? statSync(path).size : 0;
      if (size > 50 * 260 && readFileSync(path, "utf8").split("\n").length > 51) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const text = readFileSync(path, "utf8");
    const whole = text
      .split("\n")
      .slice(0, text.endsWith("\n") ? -1 : undefined)
      .filter((l) => {
        try {
          JSON.parse(l);
          return true;
        } catch {
          return false;
        }
      }).length;
    const result = verifyAuditLog(text);
    expect(result.problem).toBeNull();
    expect(result.ok).toBe(true);
    expect(result.records).toBeGreaterThanOrEqual(50);
    expect(result.records).toBe(whole);
    expect(result.tornTail).toBe(!text.endsWith("\n"));

    const cli = armorc(["audit", "verify", path]);
    expect(cli.stderr).toBe("");
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`^ok: ${whole} records`));

    // a restart continues the chain from the last whole record
    const log = createAuditLog({ sinks: [fileSink(path, { fsync: true })] });
    const next = await log.append(fields(0));
    await log.close();
    expect(next.seq).toBe(whole);
    const after = verifyAuditLog(readFileSync(path, "utf8"));
    expect(after).toMatchObject({ ok: true, records: whole + 1, tornTail: false });
    expect(armorc(["audit", "verify", path]).status).toBe(0);
  });
});
