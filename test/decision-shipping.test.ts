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
    expect(failed[0]!.error).toContain("down for maintenance");
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
    const s = await shipped({ url: c.url, bufferRecords: 6 });
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
    // the collector has every record but the dropped ones, and the record that declares them
    const missing = local.filter((r) => !c.records.has(r.seq)).map((r) => r.seq);
    expect(missing).toEqual(Array.from({ length: 14 }, (_, i) => 6 + i));
    expect(c.records.has(drop.seq)).toBe(true);
    expect(c.duplicates).toBe(0);
  });

  it("with overflow deny, fails closed while the buffer is full and recovers when the collector takes records", async () => {
    const c = await collector();
    c.answer = () => ({ status: 503 });
    const s = await shipped({ url: c.url, bufferRecords: 4, overflow: "deny" });
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push((await s.act(i)).decision);
    expect(decisions.slice(0, 2).map((d) => d.decision)).toEqual(["allow", "allow"]);
    const refused = decisions[2]!;
    expect(refused.decision).toBe("deny");
    expect(refused.errors.map((e) => e.message).join("\n")).toMatch(
      /the audit log failed, so nothing runs: .*the decision shipping buffer is full \(\d records and \d+ bytes held; at most 4 records .* is not taking records/,
    );
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
});
