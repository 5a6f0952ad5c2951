/**
 * Faults under the audit log: sinks that fail for a while and recover (a callback that throws,
 * a real disk that fills and frees, one of several sinks), torn writes in the middle of a log,
 * and logs verified in chunks, tampered at the chunk boundaries.
 *
 * The full disk is a 64 KiB tmpfs when the test runs as root and can mount one; otherwise the
 * failure half runs against /dev/full.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AuditRecord,
  buildAuditRecord,
  callbackSink,
  createAuditLog,
  createEnforcer,
  type EnforcerOptions,
  fileSink,
  verifyAuditLog,
  verifyAuditLogFile,
} from "../../packages/runtime/src/index.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const armorcBin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
const work = mkdtempSync(join(tmpdir(), "armor-audit-faults-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const POLICY = `
policy p version "1"
default allow
rule no when action.type == "forbidden" deny
`;
const enforcer = (extra: Partial<EnforcerOptions>) => createEnforcer({ policy: { source: POLICY, fileName: "p.armor" }, throwOnDeny: false, ...extra });
const joined = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join("");
const records = (text: string): AuditRecord[] =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as AuditRecord];
      } catch {
        return [];
      }
    });

function armorc(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [armorcBin, ...args], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("row 5: the chain after a transient sink failure", () => {
  it("continues from the last stored record after a callback that throws twice, and says what was lost", async () => {
    const stored: string[] = [];
    let calls = 0;
    const e = await enforcer({
      audit: {
        callback: (_r, line) => {
          calls++;
          if (calls === 2 || calls === 3) throw new Error(`sink down (call ${calls})`);
          stored.push(line);
        },
      },
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push((await e.run({ type: "a", i }, {}, () => "ran")).decision.decision);
    await e.close();
    expect(outcomes).toEqual(["allow", "deny", "allow", "allow"]);
    const result = verifyAuditLog(joined(stored));
    expect(result).toMatchObject({ ok: true, problem: null });
    const gaps = records(joined(stored)).filter((r) => r.kind === "gap");
    expect(gaps).toEqual([expect.objectContaining({ lost: 2, reason: expect.stringContaining("sink down (call 2)") })]);
    expect(result.gaps).toEqual([expect.objectContaining({ lost: 2, from: null, to: null })]);
    // seq has no holes: the lost records were taken back
    expect(records(joined(stored)).map((r) => r.seq)).toEqual(stored.map((_, i) => i));
  });

  it("keeps every sink verifiable when only one of them failed", async () => {
    const a: string[] = [];
    const b: string[] = [];
    let bDown = 2;
    const log = createAuditLog({
      sinks: [
        callbackSink((_r, line) => void a.push(line), "primary"),
        callbackSink((_r, line) => {
          if (bDown > 0) {
            bDown--;
            throw new Error("replica unreachable");
          }
          b.push(line);
        }, "replica"),
      ],
    });
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++)
      results.push(
        await log.append({ kind: "decision", decisionId: `d${i}`, time: "2026-01-01T00:00:00.000Z", i }).then(
          () => true,
          () => false,
        ),
      );
    await log.close();
    expect(results).toEqual([false, false, true, true, true, true]);
    // the primary stored everything: its chain is whole, with a gap record before each append
    // while the replica was down, each naming what the replica misses
    expect(verifyAuditLog(joined(a))).toMatchObject({
      ok: true,
      records: 8,
      gaps: [
        { seq: 1, lost: 0, from: null },
        { seq: 3, lost: 0, from: null },
      ],
    });
    expect(
      records(joined(a))
        .filter((r) => r.kind === "gap")
        .map((r) => r.missing),
    ).toEqual([[{ sink: "replica", from: 0, to: 0 }], [{ sink: "replica", from: 0, to: 2 }]]);
    // the replica lacks seq 0 to 2, which its first record, the second gap record, declares:
    // accepted when the file is verified as the replica's copy, and only then
    expect(verifyAuditLog(joined(b), { sink: "replica" })).toMatchObject({ ok: true, records: 5, gaps: [{ line: 1, seq: 3, from: 0, to: 2 }] });
    expect(verifyAuditLog(joined(b))).toMatchObject({ ok: false, problem: { kind: "deleted", line: 1, message: expect.stringContaining('--sink "replica"') } });
    expect(verifyAuditLog(joined(b), { sink: "primary" }).ok).toBe(false);
  });

  it("keeps a sink's copy in chain order when a write that timed out completes late", async () => {
    const slow: string[] = [];
    const other: string[] = [];
    let n = 0;
    const log = createAuditLog({
      writeTimeoutMs: 50,
      sinks: [
        callbackSink(async (_r, line) => {
          // the third record is stored, but only after its write timed out
          if (n++ === 2) await new Promise((r) => setTimeout(r, 200));
          slow.push(line);
        }, "slow"),
        callbackSink((_r, line) => void other.push(line), "other"),
      ],
    });
    for (let i = 0; i < 7; i++) await log.append({ kind: "decision", decisionId: `d${i}`, time: "2026-01-01T00:00:00.000Z", i }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    await log.close();
    const seqs = slow.map((l) => (JSON.parse(l) as AuditRecord).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(verifyAuditLog(joined(other)).ok).toBe(true);
    expect(verifyAuditLog(joined(slow), { sink: "slow" })).toMatchObject({ ok: true });
  });

  it("does not let records be deleted from one sink's copy behind a range declared missing for another", async () => {
    const a: string[] = [];
    let down = 3;
    const log = createAuditLog({
      sinks: [
        callbackSink((_r, line) => void a.push(line), "primary"),
        callbackSink(() => {
          if (down-- > 0) throw new Error("siem unreachable");
        }, "siem"),
      ],
    });
    for (let i = 0; i < 8; i++) await log.append({ kind: "decision", decisionId: `d${i}`, time: "2026-01-01T00:00:00.000Z", i }).catch(() => undefined);
    await log.close();
    expect(verifyAuditLog(joined(a)).ok).toBe(true);
    // cut the primary's records that a gap record declares missing from the siem, and the gap
    // records between them: what is left chains only through the siem's declared range
    const lastGap = a.map((l) => JSON.parse(l) as AuditRecord).findLastIndex((r) => r.kind === "gap");
    const firstMissing = (JSON.parse(a[lastGap]!) as { missing: { from: number }[] }).missing[0]!.from;
    const cut = a.filter((l, i) => i >= lastGap || (JSON.parse(l) as AuditRecord).seq < firstMissing);
    expect(cut.length).toBeLessThan(a.length);
    expect(verifyAuditLog(joined(cut))).toMatchObject({ ok: false, problem: { kind: "deleted" } });
    expect(verifyAuditLog(joined(cut), { sink: "primary" }).ok).toBe(false);
  });

  describe("a disk that fills and frees", () => {
    const mountPoint = join(work, "small-disk");
    let mounted = false;
    beforeAll(() => {
      mkdirSync(mountPoint, { recursive: true });
      if (process.getuid?.() !== 0) return;
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint], { stdio: "ignore" });
        mounted = true;
      } catch {
        mounted = false;
      }
    });
    afterAll(() => {
      if (mounted) execFileSync("umount", [mountPoint], { stdio: "ignore" });
    });

    /** Fills the file system of `dir` up to the last byte. */
    function fill(dir: string): string {
      const filler = join(dir, "filler");
      const block = Buffer.alloc(1024, 0x78);
      writeFileSync(filler, "");
      try {
        for (;;) appendFileSync(filler, block);
      } catch {
        // full
      }
      try {
        for (;;) appendFileSync(filler, "x");
      } catch {
        // to the last byte
      }
      return filler;
    }

    it("denies while the disk is full, then chains new records to the last stored one, and verify passes", async (ctx) => {
      if (!mounted) ctx.skip();
      for (const fsync of [false, true]) {
        const path = join(mountPoint, `audit-${fsync}.jsonl`);
        const e = await enforcer({ audit: { file: path, fsync } });
        for (let i = 0; i < 3; i++) expect((await e.run({ type: "a", i }, {}, () => "ran")).decision.decision).toBe("allow");
        const filler = fill(mountPoint);
        // larger than a page, so that it cannot fit in the free end of the log's last page
        const denied = await e.run({ type: "a", i: 3, pad: "y".repeat(6000) }, {}, () => "ran");
        expect(denied.decision.decision).toBe("deny");
        expect(denied.decision.errors.at(-1)?.message).toMatch(/ENOSPC|no space/i);
        rmSync(filler);
        for (let i = 4; i < 6; i++) expect((await e.run({ type: "a", i }, {}, () => "ran")).decision.decision).toBe("allow");
        await e.close();
        const text = readFileSync(path, "utf8");
        const result = verifyAuditLog(text);
        expect(result, text).toMatchObject({ ok: true, tornLines: [] });
        expect(result.gaps).toHaveLength(1);
        expect(result.gaps[0]!.lost).toBeGreaterThanOrEqual(1);
        expect(result.gaps[0]!.reason).toMatch(/ENOSPC|no space/i);
        const cli = armorc(["audit", "verify", path]);
        expect(cli.status, cli.stderr).toBe(0);
        expect(cli.stdout).toMatch(/^ok: \d+ records \(line \d+: gap record, \d+ lost/);
        rmSync(path);
      }
    });

    it("denies with the disk's error on /dev/full, and writes nothing half", async () => {
      const e = await enforcer({ audit: { file: "/dev/full" } });
      const tool = () => "ran";
      for (let i = 0; i < 2; i++) {
        const r = await e.run({ type: "a" }, {}, tool);
        expect(r.decision.decision).toBe("deny");
        expect(r.decision.errors.at(-1)?.message).toMatch(/ENOSPC|no space/i);
      }
      await e.close().catch(() => {});
    });
  });
});

describe("torn writes: only the last line may be torn", () => {
  async function log(n: number): Promise<string[]> {
    const lines: string[] = [];
    const l = createAuditLog({ sinks: [callbackSink((_r, line) => void lines.push(line))] });
    for (let i = 0; i < n; i++) await l.append({ kind: "decision", decisionId: `d${i}`, time: "2026-01-01T00:00:00.000Z", i });
    await l.close();
    return lines;
  }
  const fragment = (line: string) => line.slice(0, 25);

  const cases: { name: string; make(lines: string[]): string; ok: boolean; line?: number }[] = [
    { name: "a line starting with { inserted in the middle", make: (l) => joined([...l.slice(0, 3), '{"forged": tru', ...l.slice(3)]), ok: false, line: 4 },
    { name: "a record cut short in the middle", make: (l) => joined([...l.slice(0, 3), fragment(l[3]!), ...l.slice(4)]), ok: false, line: 4 },
    { name: "two fragments at the end, each with its newline", make: (l) => joined([...l, fragment(l[0]!), fragment(l[1]!)]), ok: false, line: 6 },
    { name: "a fragment then a torn last line", make: (l) => joined([...l, fragment(l[0]!)]) + fragment(l[1]!), ok: false, line: 6 },
    { name: "a torn last line", make: (l) => joined(l) + fragment(l[0]!), ok: true },
    {
      name: "a fragment followed by a gap record that continues the chain",
      make: (l) => {
        const last = JSON.parse(l[4]!) as AuditRecord;
        return joined([...l, fragment(l[0]!), buildAuditRecord({ kind: "gap", time: "2026-01-01T00:00:00.000Z", lost: 1, reason: "torn", torn: 1 }, 5, last.hash).line]);
      },
      ok: true,
    },
    {
      // any gap record (one after a sink failure) does not excuse lines made up before it
      name: "made-up lines before a gap record that declares no torn write",
      make: (l) => {
        const last = JSON.parse(l[4]!) as AuditRecord;
        return joined([...l, fragment(l[0]!), buildAuditRecord({ kind: "gap", time: "2026-01-01T00:00:00.000Z", lost: 0, reason: "callback failed" }, 5, last.hash).line]);
      },
      ok: false,
      line: 6,
    },
    {
      name: "two fragments before a gap record that declares one torn write",
      make: (l) => {
        const last = JSON.parse(l[4]!) as AuditRecord;
        return joined([...l, fragment(l[0]!), fragment(l[1]!), buildAuditRecord({ kind: "gap", time: "2026-01-01T00:00:00.000Z", lost: 1, reason: "torn", torn: 1 }, 5, last.hash).line]);
      },
      ok: false,
      line: 6,
    },
    {
      name: "a fragment followed by an ordinary record",
      make: (l) => {
        const last = JSON.parse(l[4]!) as AuditRecord;
        return joined([...l, fragment(l[0]!), buildAuditRecord({ kind: "decision", decisionId: "x", time: "t" }, 5, last.hash).line]);
      },
      ok: false,
      line: 6,
    },
    {
      name: "a gap record declaring a range that is not the one missing",
      make: (l) => joined([...l.slice(0, 2), buildAuditRecord({ kind: "gap", time: "t", lost: 0, missing: [{ sink: "s", from: 3, to: 4 }] }, 5, (JSON.parse(l[4]!) as AuditRecord).hash).line]),
      ok: false,
      line: 3,
    },
  ];

  it.each(cases)("$name: ok $ok", async ({ make, ok, line }) => {
    const text = make(await log(5));
    const result = verifyAuditLog(text);
    expect(result.ok).toBe(ok);
    if (!ok) expect(result.problem?.line).toBe(line);
    const path = join(work, `torn-${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(path, text);
    expect(await verifyAuditLogFile(path, { chunkBytes: 13 })).toEqual(result);
  });

  it("accepts the fragment a crash left once the restarted writer has written its gap record", async () => {
    const path = join(work, "crashed.jsonl");
    const first = createAuditLog({ sinks: [fileSink(path)] });
    for (let i = 0; i < 3; i++) await first.append({ kind: "decision", decisionId: `d${i}`, time: "t" });
    await first.close();
    appendFileSync(path, '{"decisionId":"d3","kind":"deci');
    const second = createAuditLog({ sinks: [fileSink(path)] });
    await second.append({ kind: "decision", decisionId: "d4", time: "t" });
    await second.close();
    const result = await verifyAuditLogFile(path);
    expect(result).toMatchObject({ ok: true, records: 5, tornLines: [4], gaps: [{ line: 5, seq: 3, lost: 1 }] });
  });
});

describe("row 10: verifying a log in chunks", () => {
  let lines: string[] = [];
  beforeAll(async () => {
    const l = createAuditLog({ sinks: [callbackSink((_r, line) => void lines.push(line))] });
    for (let i = 0; i < 40; i++) await l.append({ kind: i % 2 ? "outcome" : "decision", decisionId: `d${i >> 1}`, time: "2026-01-01T00:00:00.000Z", note: "é✓".repeat(i % 5), i });
    await l.close();
    lines = [...lines];
  });

  /** Every way to damage the byte at a position: a changed digit, a deleted newline, an inserted one. */
  const damages: { name: string; apply(text: string, at: number): string }[] = [
    { name: "a byte changed", apply: (t, at) => t.slice(0, at) + (t[at] === "0" ? "1" : "0") + t.slice(at + 1) },
    { name: "a newline inserted", apply: (t, at) => `${t.slice(0, at)}\n${t.slice(at)}` },
    { name: "a byte deleted", apply: (t, at) => t.slice(0, at) + t.slice(at + 1) },
  ];

  it.each([7, 64, 333, 4096])("gives the whole-text result at chunk size %d, tampered at and around every chunk boundary", async (chunkBytes) => {
    const text = joined(lines);
    const bytes = Buffer.byteLength(text);
    let checked = 0;
    // about ten boundaries spread over the log, each damaged three ways at three positions
    const stride = chunkBytes * Math.max(1, Math.floor(bytes / chunkBytes / 10));
    for (let boundary = chunkBytes; boundary < bytes; boundary += stride) {
      for (const at of [boundary - 1, boundary, boundary + 1]) {
        for (const damage of damages) {
          // positions are in bytes: damage the text at the character that holds that byte
          const charAt = Buffer.from(text).subarray(0, at).toString("utf8").length;
          const tampered = damage.apply(text, charAt);
          const path = join(work, `chunks-${chunkBytes}.jsonl`);
          writeFileSync(path, tampered);
          const expected = verifyAuditLog(tampered);
          expect(await verifyAuditLogFile(path, { chunkBytes }), `${damage.name} at byte ${at}`).toEqual(expected);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("reads the file as a stream: progress after every chunk, and a line longer than the limit is a problem, not an allocation", async () => {
    const path = join(work, "stream.jsonl");
    const text = joined(lines);
    writeFileSync(path, text);
    const seen: number[] = [];
    const result = await verifyAuditLogFile(path, { chunkBytes: 256, onProgress: (done, total) => void seen.push(done, total) });
    expect(result).toEqual(verifyAuditLog(text));
    expect(result.records).toBe(40);
    const total = Buffer.byteLength(text);
    expect(seen.length / 2).toBe(Math.ceil(total / 256));
    expect(seen.at(-2)).toBe(total);

    const huge = join(work, "huge-line.jsonl");
    writeFileSync(huge, `${lines[0]}\n{${"x".repeat(1 << 20)}`);
    expect(await verifyAuditLogFile(huge, { chunkBytes: 4096, maxLineBytes: 64 * 1024 })).toMatchObject({
      ok: false,
      records: 1,
      problem: { line: 2, kind: "malformed", message: expect.stringContaining("longer than 65536 bytes") },
    });
  });

  it("armorc audit verify names the tampered line of a file, and draws no progress bar off a terminal", async () => {
    const path = join(work, "cli.jsonl");
    writeFileSync(path, joined(lines.map((l, i) => (i === 30 ? l.replace('"i":30', '"i":31') : l))));
    const bad = armorc(["audit", "verify", path]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:31: record 30 was edited`));
    writeFileSync(path, joined(lines));
    const good = armorc(["audit", "verify", path]);
    expect(good).toEqual({ status: 0, stdout: "ok: 40 records\n", stderr: "" });
  });
});
