/**
 * Decision shipping (packages/runtime/src/audit-ship.ts): an enforcer's audit log teed to a
 * local collector that goes down and comes back, answers 5xx and 429 with `Retry-After`, answers
 * late, and fills the shipper's buffer. What must hold: the local chain is the source of truth
 * and verifies; the collector gets every record the chain holds, once by seq, with the same
 * hashes, and its copy verifies; what a full buffer dropped is declared in the chain; with
 * overflow "deny" decisions fail closed naming the buffer.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  type AuditRecord,
  createAuditLog,
  createDecisionShipper,
  createEnforcer,
  type DecisionShipper,
  fileSink,
  type ShipEvent,
  type ShipperOptions,
  verifyAuditLog,
} from "../packages/runtime/src/index.js";
import { type Collector, startCollector } from "./helpers/collector.js";

const work = mkdtempSync(join(tmpdir(), "armor-shipping-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const POLICY = `
policy p version "1"
default allow
rule no when action.type == "forbidden" deny
`;

let collectors: Collector[] = [];
afterEach(async () => {
  for (const c of collectors) await c.stop();
  collectors = [];
});
async function collector(): Promise<Collector> {
  const c = await startCollector();
  collectors.push(c);
  return c;
}

let n = 0;
/** An enforcer whose audit file is teed to a shipper; the events it reported. */
async function shipped(options: Omit<ShipperOptions, "onEvent">) {
  const file = join(work, `audit-${n++}.jsonl`);
  const events: ShipEvent[] = [];
  const shipper: DecisionShipper = createDecisionShipper({ flushIntervalMs: 20, initialBackoffMs: 10, maxBackoffMs: 100, ...options, onEvent: (e) => events.push(e) });
  const log = createAuditLog({ sinks: [shipper.tee(fileSink(file))] });
  shipper.attach(log);
  const enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "p.armor" }, audit: log, throwOnDeny: false });
  const act = (i: number) => enforcer.run({ type: "read", i }, { session: "s" }, () => ({ ok: i }));
  const local = (): AuditRecord[] =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as AuditRecord);
  return { file, events, shipper, log, enforcer, act, local };
}

const waitFor = async (what: string, test: () => boolean, ms = 10_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!test()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Every record of the local chain reached the collector once, with its hash, and the copy verifies. */
function expectSameChain(c: Collector, local: readonly AuditRecord[]): void {
  expect([...c.records.keys()].sort((a, b) => a - b)).toEqual(local.map((r) => r.seq));
  for (const r of local) expect((JSON.parse(c.records.get(r.seq)!) as AuditRecord).hash).toBe(r.hash);
  const verified = verifyAuditLog(c.text());
  expect(verified.problem).toBeNull();
  expect(verified.records).toBe(local.length);
}

describe("decision shipping", () => {
  it("ships every record once across a collector that goes down and comes back", async () => {
    const c = await collector();
    const s = await shipped({ url: c.url, batchRecords: 7 });
    for (let i = 0; i < 20; i++) await s.act(i);
    await waitFor("the first records", () => c.records.size > 0);
    await c.stop();
    for (let i = 20; i < 60; i++) await s.act(i);
    await waitFor("a failed post", () => s.events.some((e) => e.type === "failed"));
    await c.start();
    for (let i = 60; i < 70; i++) await s.act(i);
    expect(await s.shipper.flush(10_000)).toBe(true);
    await s.enforcer.close();
    const local = s.local();
    expect(local.length).toBe(140);
    expect(verifyAuditLog(readFileSync(s.file, "utf8")).ok).toBe(true);
    expectSameChain(c, local);
    // each batch names where it continues the chain
    const first = c.deliveries.find((d) => d.status === 200)!;
    expect(first.headers["x-armor-chain-prev"]).toBe("0".repeat(64));
    expect(first.headers["x-armor-chain-seq"]).toMatch(/^0-\d+$/);
    expect(first.headers["content-encoding"]).toBe("gzip");
    expect(c.deliveries.every((d) => d.records <= 7)).toBe(true);
  });

  it("retries 5xx with backoff and waits as long as a 429's Retry-After says", async () => {
    const c = await collector();
    c.answer = (i) => (i < 2 ? { status: 503, body: "down for maintenance" } : i === 2 ? { status: 429, headers: { "retry-after": "1" } } : null);
    const s = await shipped({ url: c.url, token: "t0ken" });
    await s.act(1);
    expect(await s.shipper.flush(10_000)).toBe(true);
    await s.enforcer.close();
    const failed = s.events.filter((e): e is Extract<ShipEvent, { type: "failed" }> => e.type === "failed");
    expect(failed.map((e) => e.status)).toEqual([503, 503, 429]);
    // the collector's words go to the log line only (detail), never to lastError, /readyz or a denial
    expect(failed[0]!.detail).toContain("down for maintenance");
    expect(failed[0]!.error).toBe("the collector answered 503 (a server error: retried)");
    expect(failed[2]!.retryInMs).toBe(1000);
    const [, , limited, taken] = c.deliveries;
    expect(taken!.at - limited!.at).toBeGreaterThanOrEqual(950);
    expect(taken!.headers.authorization).toBe("Bearer t0ken");
    expectSameChain(c, s.local());
  });

  it("gives up on a slow answer after the request timeout, retries, and the collector drops the duplicate by seq", async () => {
    const c = await collector();
    // the first batch is taken but answered too late: the shipper sends it again
    c.answer = (i) => (i === 0 ? { status: 200, delayMs: 600, take: true } : null);
    const s = await shipped({ url: c.url, requestTimeoutMs: 200 });
    for (let i = 0; i < 5; i++) await s.act(i);
    expect(await s.shipper.flush(10_000)).toBe(true);
    await s.enforcer.close();
    const failed = s.events.find((e) => e.type === "failed") as Extract<ShipEvent, { type: "failed" }>;
    expect(failed.error).toBe("no answer within 200 ms");
    expect(c.duplicates).toBeGreaterThan(0);
    expectSameChain(c, s.local());
  });

  it("records in the local chain how many records a full buffer dropped", async () => {
    const c = await collector();
    c.answer = () => ({ status: 503 });
    // a key in the collector's query string never reaches the chain
    const s = await shipped({ url: `${c.url}?key=SECRET-KEY`, bufferRecords: 6 });
    for (let i = 0; i < 10; i++) await s.act(i);
    await s.log.flush();
    expect(s.events.some((e) => e.type === "full")).toBe(true);
    c.answer = () => null;
    await waitFor("the drop record", () => s.events.some((e) => e.type === "dropped"));
    expect(await s.shipper.flush(10_000)).toBe(true);
    await s.enforcer.close();
    const local = s.local();
    expect(verifyAuditLog(readFileSync(s.file, "utf8")).ok).toBe(true);
    const drop = local.find((r) => r.kind === "shipping")!;
    expect(drop).toMatchObject({ dropped: 14, from: 6, to: 19 });
    expect(drop.reason).toContain("buffer was full");
    expect(drop.reason).toContain(`${new URL(c.url).origin}${new URL(c.url).pathname} was not taking records`);
    expect(readFileSync(s.file, "utf8")).not.toContain("SECRET-KEY");
    // the collector has every record but the dropped ones, and the record that declares them
    const missing = local.filter((r) => !c.records.has(r.seq)).map((r) => r.seq);
    expect(missing).toEqual(Array.from({ length: 14 }, (_, i) => 6 + i));
    expect(c.records.has(drop.seq)).toBe(true);
    expect(c.duplicates).toBe(0);
    // the collector's copy verifies as a shipped copy: the shipping record declares the range it lacks
    expect(verifyAuditLog(c.text()).problem?.kind).toBe("deleted");
    const copy = verifyAuditLog(c.text(), { shipped: true });
    expect(copy.problem).toBeNull();
    expect(copy.gaps).toEqual([expect.objectContaining({ from: 6, to: 19, seq: drop.seq })]);
    // records missing without a shipping record that declares them are still deleted records
    const lines = c.text().split("\n");
    const cut = lines.filter((l) => l === "" || ![2, 3].includes((JSON.parse(l) as AuditRecord).seq)).join("\n");
    expect(verifyAuditLog(cut, { shipped: true }).problem).toMatchObject({ kind: "deleted", seq: 4 });
  });

  it("with overflow deny, fails closed while the buffer is full and recovers when the collector takes records", async () => {
    const c = await collector();
    c.answer = () => ({ status: 503 });
    const s = await shipped({ url: `${c.url}?key=SECRET-KEY`, bufferRecords: 4, overflow: "deny" });
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push((await s.act(i)).decision);
    expect(decisions.slice(0, 2).map((d) => d.decision)).toEqual(["allow", "allow"]);
    const refused = decisions[2]!;
    expect(refused.decision).toBe("deny");
    expect(refused.errors.map((e) => e.message).join("\n")).toMatch(
      /the audit log failed, so nothing runs: .*the decision shipping buffer is full \(\d records and \d+ bytes held; at most 4 records .* is not taking records/,
    );
    expect(refused.errors.map((e) => e.message).join("\n")).not.toContain("SECRET-KEY");
    c.answer = () => null;
    expect(await s.shipper.flush(10_000)).toBe(true);
    const after = await s.act(99);
    expect(after.decision.decision).toBe("allow");
    await s.shipper.flush(10_000);
    await s.enforcer.close();
    // the refused records were never stored: a gap record declares them, and both copies verify
    const local = s.local();
    expect(verifyAuditLog(readFileSync(s.file, "utf8")).ok).toBe(true);
    expect(local.some((r) => r.kind === "gap")).toBe(true);
    expectSameChain(c, local);
  });

  it("names each batch's chain by the hash of its first record, so two chains that both start at seq 0 stay apart", async () => {
    const c = await collector();
    const a = await shipped({ url: c.url });
    const b = await shipped({ url: c.url });
    for (let i = 0; i < 3; i++) {
      await a.act(i);
      await b.act(i);
    }
    expect(await a.shipper.flush(10_000)).toBe(true);
    expect(await b.shipper.flush(10_000)).toBe(true);
    await a.enforcer.close();
    await b.enforcer.close();
    const ids = [a.local()[0]!.hash, b.local()[0]!.hash];
    expect(ids[0]).not.toBe(ids[1]);
    const named = new Set(c.deliveries.map((d) => d.headers["x-armor-chain-id"]));
    expect(named).toEqual(new Set(ids));
    // the example collector keeps both chains, keyed by (chain, seq), and verifies each
    const { createCollector } = (await import("../examples/decision-shipping/collector.mjs")) as {
      createCollector(): { take(body: Buffer, headers: Record<string, string>): { status: number }; records: Map<string, string>; chains: Map<string, unknown>; verify(): { ok: boolean } };
    };
    const example = createCollector();
    for (const s of [a, b]) {
      const local = readFileSync(s.file, "utf8").trim().split("\n");
      const chainId = JSON.parse(local[0]!).hash as string;
      expect(example.take(Buffer.from(`[${local.join(",")}]`), { "x-armor-chain-id": chainId, "x-armor-chain-prev": "0".repeat(64) }).status).toBe(200);
    }
    expect(example.records.size).toBe(a.local().length + b.local().length);
    expect(example.chains.size).toBe(2);
    expect(example.verify().ok).toBe(true);
    // a batch that claims a chain its record 0 does not start is refused
    const other = readFileSync(a.file, "utf8").trim().split("\n");
    expect(example.take(Buffer.from(`[${other[0]}]`), { "x-armor-chain-id": ids[1]! }).status).toBe(400);
  });

  it("never retries sooner than the backoff, whatever Retry-After says (0, or a date in the past)", async () => {
    const c = await collector();
    c.answer = (i) => (i === 0 ? { status: 503, headers: { "retry-after": "0" } } : i === 1 ? { status: 429, headers: { "retry-after": "Thu, 01 Jan 1970 00:00:00 GMT" } } : null);
    const s = await shipped({ url: c.url, initialBackoffMs: 200, maxBackoffMs: 1000 });
    await s.act(1);
    expect(await s.shipper.flush(10_000)).toBe(true);
    await s.enforcer.close();
    const [first, second, third] = c.deliveries;
    // equal jitter: at least half the backoff (200 ms, then 400 ms)
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(90);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(190);
    expect(third!.status).toBe(200);
    expectSameChain(c, s.local());
  });

  it("sends a batch refused for good record by record, skips a record still refused and declares it in the chain", async () => {
    const c = await collector();
    // the collector refuses (400) any batch holding the record of action 3, and takes the rest
    const poisoned = (batch: readonly Record<string, unknown>[]) => batch.some((r) => JSON.stringify(r).includes('"i":3'));
    c.answer = (_i, batch) => (poisoned(batch) ? { status: 400, body: "bad record" } : null);
    const s = await shipped({ url: c.url, overflow: "deny", bufferRecords: 50 });
    for (let i = 0; i < 6; i++) expect((await s.act(i)).decision.decision).toBe("allow");
    await waitFor("the refusal record", () => s.events.some((e) => e.type === "refused" && e.recorded));
    expect(await s.shipper.flush(10_000)).toBe(true);
    // the collector takes records again: decisions go on (deny mode is not blocked)
    for (let i = 6; i < 8; i++) expect((await s.act(i)).decision.decision).toBe("allow");
    expect(await s.shipper.flush(10_000)).toBe(true);
    expect(s.shipper.stats()).toMatchObject({ refused: 1, buffered: 0 });
    await s.enforcer.close();
    const local = s.local();
    const skipped = local.find((r) => JSON.stringify(r).includes('"i":3') && r.kind === "decision")!;
    const declared = local.find((r) => r.kind === "shipping")!;
    expect(declared).toMatchObject({ refused: 1, from: skipped.seq, to: skipped.seq, status: 400 });
    const missing = local.filter((r) => !c.records.has(r.seq)).map((r) => r.seq);
    expect(missing).toEqual([skipped.seq]);
    expect(verifyAuditLog(c.text(), { shipped: true }).problem).toBeNull();
    const lastError = s.events.find((e) => e.type === "failed") as Extract<ShipEvent, { type: "failed" }>;
    expect(lastError.error).not.toContain("bad record");
  });

  it("counts the buffer's bytes in UTF-8", async () => {
    const c = await collector();
    c.answer = () => ({ status: 503 });
    const s = await shipped({ url: c.url, maxBackoffMs: 10_000, initialBackoffMs: 5_000 });
    await s.log.append({ kind: "decision", decisionId: "d-utf8", time: new Date().toISOString(), note: "é€😀".repeat(300) } as never);
    await s.log.flush();
    const stored = readFileSync(s.file, "utf8");
    const expected = Buffer.byteLength(stored);
    expect(s.shipper.stats().bufferedBytes).toBe(expected);
    expect(expected).toBe(stored.length + 1500);
    c.answer = () => null;
    expect(await s.shipper.flush(15_000)).toBe(true);
    await s.enforcer.close();
  });
});
