/**
 * Pending approvals in Redis (src/approvals.ts) against a real redis-server: a request made in
 * one process is answered in another and releases the action there; a new queue (a restart)
 * still lists it; a timeout still denies and leaves nothing pending; quorum votes are kept in
 * Redis; listeners hear requests arrive and settle; the process that decided writes the
 * approval's audit records.
 */
import { type ApprovalQueueEvent, type ApprovalRequest, createEnforcer } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../../../test/support/redis-server.js";
import { type RedisApprovalQueue, redisApprovalQueue } from "../src/index.js";

const POLICY = `default allow
rule big when action.type == "wire" and amount > 1000 require approval from "finance" timeout 5s because "big wires need a second pair of eyes"
rule quick when action.type == "wire" and amount > 100 require approval timeout 300ms because "answered fast or not at all"
`;

const skip = skipWithoutRedis("store-redis approvals");

/** A request as the enforcer makes it, for the queue alone. */
function request(id: string, signal: AbortSignal, extra: Record<string, unknown> = {}): ApprovalRequest {
  return {
    id,
    action: { type: "wire", amount: 5000 },
    actionHash: `hash-${id}`,
    rules: [],
    reason: "why",
    from: null,
    timeoutMs: 5_000,
    session: "s",
    user: undefined,
    policy: { name: "p", version: null, sourceHash: "x" },
    signal,
    ...extra,
  } as ApprovalRequest;
}

describe.skipIf(skip)("redisApprovalQueue with a real Redis", () => {
  let redis: RedisServer;
  const queues: RedisApprovalQueue[] = [];
  const open = async (prefix: string, pollMs = 1000) => {
    const q = redisApprovalQueue({ url: redis.url, prefix, timeoutMs: 5000, pollMs });
    queues.push(q);
    await q.ready;
    return q;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const q of queues) await q.close();
    await redis?.dispose();
  });

  it("releases the action waiting in one process when another answers, and the asking process audits it", async () => {
    const [a, b] = [await open("ap1"), await open("ap1")];
    const records: Record<string, unknown>[] = [];
    const enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "a.armor" }, approvals: a, audit: { callback: (r) => void records.push(r) }, throwOnDeny: false });
    const events: ApprovalQueueEvent[] = [];
    b.subscribe((e) => events.push(e));
    const running = enforcer.run({ type: "wire", amount: 5000 }, { session: "s" }, () => "sent");
    const seen = await b.waitFor((p) => p.session === "s");
    expect(seen.action).toEqual({ type: "wire", amount: 5000 });
    expect(b.get(seen.id)?.actionHash).toBe(seen.actionHash);
    expect(b.resolve(seen.id, { approved: true, approver: "alice", actionHash: seen.actionHash })).toBe(true);
    const { decision, result } = await running;
    expect(decision.decision).toBe("allow");
    expect(result).toBe("sent");
    expect(JSON.stringify(records)).toContain('"approver":"alice"');
    // B heard it arrive and leave; neither queue lists it any more
    await expect.poll(() => events.map((e) => e.type)).toEqual(["requested", "settled"]);
    await expect.poll(() => a.pending().length + b.pending().length).toBe(0);
    // a second answer to a settled request is not taken
    expect(await b.answer(seen.id, { approved: false, approver: "mallory" })).toBe(false);
  });

  it("keeps a request pending for a new queue (a restart), where it can be answered", async () => {
    const a = await open("ap2");
    const controller = new AbortController();
    const answered = a.request(request("r-restart", controller.signal));
    const again = await open("ap2");
    expect(again.pending().map((p) => p.id)).toEqual(["r-restart"]);
    expect(again.get("r-restart")?.action).toEqual({ type: "wire", amount: 5000 });
    expect(await again.answer("r-restart", { approved: false, approver: "bob", note: "no" })).toBe(true);
    await expect(answered).resolves.toMatchObject({ approved: false, approver: "bob", note: "no" });
  });

  it("denies on timeout, and the request leaves the queue of every process", async () => {
    const [a, b] = [await open("ap3"), await open("ap3")];
    const enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "a.armor" }, approvals: a, throwOnDeny: false });
    const { decision } = await enforcer.run({ type: "wire", amount: 500 }, { session: "s" }, () => "sent");
    expect(decision.decision).toBe("deny");
    expect(JSON.stringify(decision)).toMatch(/timed out/);
    await expect.poll(() => b.pending().length).toBe(0);
    expect(await redisKeys(redis.url, "ap3:*:a:*")).toEqual([]);
  });

  it("settles a request at its quorum of distinct approvers, kept in Redis, or at the first rejection", async () => {
    const [a, b, c] = [await open("ap4"), await open("ap4"), await open("ap4")];
    const approved = a.request(request("q2", new AbortController().signal, { quorum: 2 }));
    await b.waitFor((p) => p.id === "q2");
    expect(await b.answer("q2", { approved: true, approver: "alice" })).toBe(true);
    // the same approver again is no second vote, from any process
    expect(await c.answer("q2", { approved: true, approver: "alice" })).toBe(false);
    await expect.poll(() => (c.get("q2") as unknown as { approvers: string[] } | undefined)?.approvers).toEqual(["alice"]);
    expect(await c.answer("q2", { approved: true, approver: "bob" })).toBe(true);
    await expect(approved).resolves.toMatchObject({ approved: true, approver: "bob", approvers: ["alice", "bob"] });

    const rejected = a.request(request("q3", new AbortController().signal, { quorum: 3 }));
    await b.waitFor((p) => p.id === "q3");
    expect(await b.answer("q3", { approved: true, approver: "alice" })).toBe(true);
    expect(await c.answer("q3", { approved: false, approver: "carol" })).toBe(true);
    await expect(rejected).resolves.toMatchObject({ approved: false, approver: "carol", approvers: ["alice"] });
  });

  it("refuses an answer for another action hash", async () => {
    const [a, b] = [await open("ap5"), await open("ap5")];
    const controller = new AbortController();
    const answered = a.request(request("h1", controller.signal));
    await b.waitFor((p) => p.id === "h1");
    expect(b.resolve("h1", { approved: true, approver: "alice", actionHash: "another" })).toBe(false);
    expect(await b.answer("h1", { approved: true, approver: "alice", actionHash: "another" })).toBe(false);
    controller.abort(new Error("gave up"));
    await expect(answered).rejects.toThrow(/aborted/);
    await expect.poll(() => b.pending().length).toBe(0);
  });
});

async function redisKeys(url: string, pattern: string): Promise<string[]> {
  const { Redis } = await import("ioredis");
  const c = new Redis(url);
  try {
    return await c.keys(pattern);
  } finally {
    c.disconnect();
  }
}
