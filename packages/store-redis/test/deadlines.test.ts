/**
 * The decisions' shared time limit (deadlines.ts): a call that does not answer fails with
 * "Command timed out" no sooner than its own deadline, counted from when it started, whatever
 * the calls before it did; calls that answer leave nothing behind. Against a "Redis" that never
 * answers, a decision denies naming the store with that error, and the store's other calls keep
 * ioredis's own `commandTimeout`.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createEnforcer } from "@agent-armor/runtime";
import { describe, expect, it } from "vitest";
import { Deadlines, TIMED_OUT } from "../src/deadlines.js";
import { redisStore } from "../src/index.js";

const never = new Promise<never>(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Deadlines", () => {
  it("fails a call that does not answer at its deadline, and one started later at its own", async () => {
    const d = new Deadlines(60);
    const t0 = performance.now();
    const first = d.within(never).then(
      () => "answered",
      (e: Error) => ({ message: e.message, at: performance.now() - t0 }),
    );
    await sleep(30);
    const t1 = performance.now();
    const second = d.within(never).then(
      () => "answered",
      (e: Error) => ({ message: e.message, at: performance.now() - t1 }),
    );
    const a = (await first) as { message: string; at: number };
    expect(a.message).toBe(TIMED_OUT);
    expect(a.at).toBeGreaterThanOrEqual(60);
    // the second was not failed with the first: it waits for its own deadline
    expect(d.waiting).toBe(1);
    const b = (await second) as { message: string; at: number };
    expect(b.message).toBe(TIMED_OUT);
    expect(b.at).toBeGreaterThanOrEqual(60);
    expect(d.waiting).toBe(0);
  });

  it("passes answers and errors through, keeps nothing of calls that answered, and ignores an answer after the deadline", async () => {
    const d = new Deadlines(40);
    for (let i = 0; i < 3000; i++) expect(await d.within(Promise.resolve(i))).toBe(i);
    await expect(d.within(Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(d.waiting).toBe(0);
    let answer!: (v: string) => void;
    const late = d.within(new Promise<string>((r) => (answer = r)));
    await expect(late).rejects.toThrow(TIMED_OUT);
    answer("too late");
    await sleep(5);
    expect(d.waiting).toBe(0);
  });

  it("fails many waiting calls, each at its deadline, while others between them answer", async () => {
    const d = new Deadlines(30);
    const started: number[] = [];
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      started.push(t);
      calls.push(
        d.within(i % 2 === 0 ? never : sleep(5).then(() => i)).then(
          (v) => v,
          (e: Error) => ({ message: e.message, after: performance.now() - t }),
        ),
      );
      await sleep(2);
    }
    const out = await Promise.all(calls);
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 1) expect(out[i]).toBe(i);
      else {
        const r = out[i] as { message: string; after: number };
        expect(r.message).toBe(TIMED_OUT);
        expect(r.after).toBeGreaterThanOrEqual(30);
      }
    }
  });
});

/** A TCP server that reads and never answers. */
function silentRedis(): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
      s.on("data", () => {});
    });
    server.on("close", () => {
      for (const s of sockets) s.destroy();
    });
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `redis://127.0.0.1:${(server.address() as { port: number }).port}` }));
  });
}

describe("a decision against a Redis that never answers", () => {
  it("denies naming the store once its time limit passed; the other calls keep ioredis's commandTimeout", async () => {
    const { server, url } = await silentRedis();
    const store = redisStore({ url, prefix: "dl", timeoutMs: 150, redis: { enableReadyCheck: false } });
    try {
      const e = await createEnforcer({
        policy: { source: 'default allow\nrule once when action.type == "wire" and seen(type == "wire") deny\n', fileName: "dl.armor" },
        history: store,
        throwOnDeny: false,
      });
      const t0 = performance.now();
      const decisions = await Promise.all(Array.from({ length: 5 }, (_, i) => e.decide({ type: "wire", i }, { session: "s" }, { reserve: true })));
      expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
      for (const d of decisions) {
        expect(d.decision).toBe("deny");
        expect(d.errors).toEqual([{ rule: null, message: `history store unavailable: ${url}: ${TIMED_OUT}` }]);
      }
      expect(store.client.options.commandTimeout).toBe(150);
      await expect(store.confirm("x", "s")).rejects.toThrow(TIMED_OUT);
      await expect(Promise.resolve(store.grants.giveBack("g", "d"))).rejects.toThrow(TIMED_OUT);
    } finally {
      await store.close();
      server.close();
    }
  });
});
