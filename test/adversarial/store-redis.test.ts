/**
 * Hostile input to the Redis history store. Session names that are Redis-special (glob
 * characters, hash-tag braces, separators, newlines, a megabyte) make keys of their own and never
 * reach another session's keys; a "Redis" that answers garbage, closes the connection, or never
 * answers makes every decision a deny that names the store, within the store's timeout; so does
 * an answer to the sum/max/min/since script that is well-formed RESP but not a value. Approval ids
 * that are Redis-special or huge are only ever data (never a key, a pattern or a script), and
 * pending approvals are bounded: past `maxPending`, a request is refused and its action denied.
 */

import { createServer, type Server, type Socket } from "node:net";
import { createEnforcer, type Enforcer, type SharedHistoryStore } from "@agent-armor/runtime";
import { redisApprovalQueue, redisStore } from "@agent-armor/store-redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/redis-server.js";

const POLICY = `default allow
rule once when action.type == "wire" and seen(type == "wire") deny because "one wire per session"
rule tagged when action.type == "read" label "read"
`;

const TIMEOUT_MS = 300;

const enforcerOn = (url: string, prefix = "adv") => {
  const store = redisStore({ url, prefix, timeoutMs: TIMEOUT_MS });
  return { store, enforcer: createEnforcer({ policy: { source: POLICY, fileName: "adv.armor" }, history: store, throwOnDeny: false }) };
};

/** A TCP server posing as Redis, answering each chunk it reads with `answer` (or nothing). */
function fakeRedis(answer: ((socket: Socket, chunk: Buffer) => void) | null): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      socket.on("data", (chunk: Buffer) => answer?.(socket, chunk));
    });
    server.on("close", () => {
      for (const s of sockets) s.destroy();
    });
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `redis://127.0.0.1:${(server.address() as { port: number }).port}` }));
  });
}

const FAKES: [string, ((socket: Socket) => void) | null][] = [
  ["answers garbage", (s) => s.write("this is not RESP\r\n\x00\xff{}\r\n")],
  ["answers a wrong type", (s) => s.write(":42\r\n")],
  ["answers an error", (s) => s.write("-ERR nothing here\r\n")],
  ["closes every connection", (s) => s.destroy()],
  ["never answers", null],
];

describe("a Redis that misbehaves", () => {
  it.each(FAKES)("denies naming the store when it %s, within the timeout", async (_name, answer) => {
    const { server, url } = await fakeRedis(answer);
    const { store, enforcer } = enforcerOn(url);
    const e = await enforcer;
    try {
      for (const call of [() => e.run({ type: "wire" }, { session: "s" }, () => "ran"), () => e.decide({ type: "wire" }, { session: "s" }, { reserve: true }).then((decision) => ({ decision }))]) {
        const started = Date.now();
        const { decision } = await call();
        expect(decision.decision).toBe("deny");
        expect(decision.errors[0]?.message).toMatch(new RegExp(`^history store unavailable: ${url.replace(/\./g, "\\.")}: .+`));
        expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 10);
      }
      await expect(e.record({ type: "wire" }, { session: "s" })).rejects.toThrow(/^history store unavailable: redis:\/\//);
    } finally {
      await store.close();
      server.close();
    }
  });

  it.each([
    ["not a URL", "localhost:6379"],
    ["another scheme", "http://127.0.0.1:6379"],
    ["not a string", 6379],
  ])("refuses a url that is %s, saying what it wants", (_name, url) => {
    expect(() => redisStore({ url: url as string })).toThrow(/url must be a redis:\/\/ or rediss:\/\/ URL/);
  });

  it("never puts a password in what decisions say", async () => {
    const { server, url } = await fakeRedis(null);
    const secretUrl = url.replace("redis://", "redis://:hunter2@");
    const { store, enforcer } = enforcerOn(secretUrl);
    const { decision } = await (await enforcer).run({ type: "wire" }, { session: "s" }, () => "ran");
    expect(decision.errors[0]?.message).toContain(url);
    expect(JSON.stringify(decision)).not.toContain("hunter2");
    await store.close();
    server.close();
  });
});

const skip = skipWithoutRedis("adversarial store-redis");

const SESSIONS: [string, string, string][] = [
  // [what, a session, a session its keys must not reach]
  ["glob characters", "a*", "ab"],
  ["a character class", "[ab]", "a"],
  ["a question mark", "a?", "ab"],
  ["hash-tag braces", "}{x", "x"],
  ["the key separator", "s:t:e", "s"],
  ["a newline", "s\nPING", "s"],
  ["a backslash", "a\\*", "a*"],
  ["the empty name", "", "default"],
  ["a megabyte", "m".repeat(1 << 20), "m"],
  // UTF-8 turns every lone surrogate into U+FFFD: keys come from the code units instead
  ["a lone high surrogate (its neighbour: U+FFFD)", "x\uD800", "x\uFFFD"],
  ["a lone low surrogate (its neighbour: another)", "agent-\uDFFF", "agent-\uDC00"],
];

describe.skipIf(skip)("session names against a real Redis", () => {
  let redis: RedisServer;
  let e: Enforcer;
  let store: ReturnType<typeof redisStore>;
  beforeAll(async () => {
    redis = await startRedis();
    store = redisStore({ url: redis.url, prefix: "adv*{p}", timeoutMs: 5000 });
    e = await createEnforcer({ policy: { source: POLICY, fileName: "adv.armor" }, history: store, throwOnDeny: false });
  });
  afterAll(async () => {
    await store?.close();
    await redis?.dispose();
  });

  it.each(SESSIONS)("keeps a session named with %s apart, and forgets only it", async (_what, session, neighbour) => {
    expect((await e.run({ type: "wire" }, { session: neighbour }, () => "ran")).decision.decision).toBe("allow");
    expect((await e.run({ type: "wire" }, { session }, () => "ran")).decision.decision).toBe("allow");
    expect((await e.run({ type: "wire" }, { session }, () => "ran")).decision.decision).toBe("deny");
    // every key is short, whatever the name
    const keys = await store.client.keys("*");
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThan(100);
    e.endSession(session);
    // endSession's deletion goes out on the connection before the next decision's script
    expect((await e.run({ type: "wire" }, { session }, () => "ran")).decision.decision).toBe("allow");
    expect((await e.run({ type: "wire" }, { session: neighbour }, () => "ran")).decision.decision).toBe("deny");
    e.endSession(neighbour);
    e.endSession(session);
  });
});

/** A shared store that answers nothing and notes what was asked of it. */
function recordingStore(): SharedHistoryStore & { calls: string[] } {
  const calls: string[] = [];
  const fail = (what: string) => async () => {
    calls.push(what);
    throw new Error("not reachable");
  };
  return {
    shared: true,
    name: "recording://",
    calls,
    read: fail("read"),
    refile: fail("refile"),
    keep: fail("keep"),
    confirm: fail("confirm"),
    pending: fail("pending"),
    release: fail("release"),
    addLabels: fail("addLabels"),
    forget: fail("forget"),
    close: async () => undefined,
  } as SharedHistoryStore & { calls: string[] };
}

const revoked = Proxy.revocable({}, {});
revoked.revoke();
const HOSTILE_CONTEXTS: [string, unknown][] = [
  [
    "a session getter that throws",
    Object.defineProperty({}, "session", {
      get: () => {
        throw new Error("boom");
      },
      enumerable: true,
    }),
  ],
  [
    "a Proxy whose get trap throws",
    new Proxy(
      {},
      {
        get: () => {
          throw new Error("trap");
        },
      },
    ),
  ],
  ["a revoked Proxy", revoked.proxy],
];

describe("release() with a shared store and a hostile context", () => {
  it.each(HOSTILE_CONTEXTS)("answers false for %s, without throwing or asking the store", async (_what, ctx) => {
    const store = recordingStore();
    const e = await createEnforcer({ policy: { source: POLICY, fileName: "adv.armor" }, history: store, throwOnDeny: false });
    await expect(e.release("some-id", ctx as never)).resolves.toBe(false);
    expect(store.calls).toEqual([]);
  });
});

/** RESP text of the read script's answer for one tracker of another kind: [[-1, value, after], []]. */
const kindAnswer = (value: string, after = "") => `*2\r\n*3\r\n:-1\r\n$${Buffer.byteLength(value)}\r\n${value}\r\n$${Buffer.byteLength(after)}\r\n${after}\r\n*0\r\n`;

const KIND_GARBAGE: [string, string][] = [
  ["an unknown value tag", kindAnswer("Xyz")],
  ["a sum that is not a number", kindAnswer("Sabc")],
  ["a sum that is not finite", kindAnswer("Sinf")],
  ["an empty sum", kindAnswer("S")],
  ["a negative count", kindAnswer("C-1")],
  ["a fractional count", kindAnswer("C1.5")],
  ["a max without a number", kindAnswer("Vid\nabc")],
  ["a boolean with more after it", kindAnswer("Tx")],
  ["an empty value", kindAnswer("")],
  ["a plain count where a value was asked", "*2\r\n*2\r\n:3\r\n$0\r\n\r\n*0\r\n"],
  ["an integer where the value should be", "*2\r\n*3\r\n:-1\r\n:5\r\n$0\r\n\r\n*0\r\n"],
  ["a garbage value after filing", kindAnswer("S1", "Q")],
];

/** Answers every command (not every chunk: a client may send several in one) with `answer`: RESP arrays of bulk strings, as clients send them. */
function perCommand(answer: string): (socket: Socket, chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (socket, chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      let at = 0;
      const line = (): number | null => {
        const end = pending.indexOf("\r\n", at);
        if (end < 0) return null;
        const n = Number(pending.subarray(at + 1, end).toString());
        at = end + 2;
        return n;
      };
      const count = line();
      if (count === null) return;
      for (let i = 0; i < count; i++) {
        const len = line();
        if (len === null || pending.length < at + len + 2) return;
        at += len + 2;
      }
      pending = pending.subarray(at);
      socket.write(answer);
    }
  };
}

describe("a Redis that answers the sum script with well-formed garbage", () => {
  it.each(KIND_GARBAGE)("denies naming the store for %s", async (_name, answer) => {
    const { server, url } = await fakeRedis(perCommand(answer));
    const store = redisStore({ url, prefix: "adv", timeoutMs: TIMEOUT_MS, redis: { enableReadyCheck: false } });
    try {
      const source = 'default allow\nrule big when action.type == "pay" and sum(amount where type == "pay" within 1h) > 100 deny because "too much"\n';
      const e = await createEnforcer({ policy: { source, fileName: "sum.armor" }, history: store, throwOnDeny: false });
      for (const reserve of [false, true]) {
        const d = await e.decide({ type: "pay", amount: 1 }, { session: "s" }, { reserve });
        expect(d.decision).toBe("deny");
        expect(d.errors[0]?.message, d.errors[0]?.message).toMatch(/^history store unavailable: redis:\/\/127\.0\.0\.1:\d+: Redis answered something the store did not expect/);
      }
    } finally {
      await store.close();
      server.close();
    }
  });
});

describe("an approval queue on a Redis that misbehaves", () => {
  it.each(FAKES)("refuses requests (the action is denied) when it %s", async (_name, answer) => {
    const { server, url } = await fakeRedis(answer);
    const queue = redisApprovalQueue({ url, prefix: "adv", timeoutMs: TIMEOUT_MS, pollMs: 50 });
    try {
      await expect(queue.ready).rejects.toThrow();
      const source = 'default allow\nrule big when action.type == "wire" require approval timeout 5s because "check"\n';
      const e = await createEnforcer({ policy: { source, fileName: "a.armor" }, approvals: queue, throwOnDeny: false });
      const started = Date.now();
      const { decision } = await e.run({ type: "wire" }, { session: "s" }, () => "ran");
      expect(decision.decision).toBe("deny");
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 10);
      expect(queue.pending()).toEqual([]);
    } finally {
      await queue.close();
      server.close();
    }
  });
});

const HOSTILE_IDS: [string, string][] = [
  ["glob characters", "a*?[b]"],
  ["hash-tag braces", "}{approvals}"],
  ["the key separator", "armor:{approvals}:pending"],
  ["a newline and a command", "x\r\nFLUSHALL\r\n"],
  ["a quote and Lua", "'..redis.call('FLUSHALL')..'"],
  ["JSON", '{"t":"settled","id":"other"}'],
  ["__proto__", "__proto__"],
  ["a megabyte", "i".repeat(1 << 20)],
];

describe.skipIf(skip)("approval ids and floods against a real Redis", () => {
  let redis: RedisServer;
  const queues: ReturnType<typeof redisApprovalQueue>[] = [];
  const open = async (prefix: string, maxPending?: number) => {
    const q = redisApprovalQueue({ url: redis.url, prefix, timeoutMs: 5000, pollMs: 200, ...(maxPending !== undefined ? { maxPending } : {}) });
    queues.push(q);
    await q.ready;
    return q;
  };
  const request = (id: string, signal: AbortSignal) =>
    ({
      id,
      action: { type: "wire" },
      actionHash: "h",
      rules: [],
      reason: null,
      from: null,
      timeoutMs: 10_000,
      session: "s",
      user: undefined,
      policy: { name: "p", version: null, sourceHash: "x" },
      signal,
    }) as never;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const q of queues) await q.close();
    await redis?.dispose();
  });

  it.each(HOSTILE_IDS)("keeps an approval id with %s as data: listed, answered and gone exactly", async (what, id) => {
    const [a, b] = [await open(`hid ${what}`), await open(`hid ${what}`)];
    const bystander = a.request(request("bystander", new AbortController().signal));
    const mine = a.request(request(id, new AbortController().signal));
    await b.waitFor((p) => p.id === id);
    expect(b.get(id)?.id).toBe(id);
    // an unknown id close to it, or not a string, answers nothing
    for (const other of [`${id}x`, id.slice(0, -1), 42, null]) expect(b.resolve(other as string, { approved: true })).toBe(false);
    expect(await b.answer(id, { approved: true, approver: "alice" })).toBe(true);
    await expect(mine).resolves.toMatchObject({ approved: true, approver: "alice" });
    // the other request is untouched
    await expect.poll(() => b.pending().map((p) => p.id)).toEqual(["bystander"]);
    expect(await b.answer("bystander", { approved: false })).toBe(true);
    await expect(bystander).resolves.toMatchObject({ approved: false });
  });

  it("bounds a flood of pending approvals: past maxPending a request is refused and its action denied", async () => {
    const q = await open("flood", 5);
    const controllers = Array.from({ length: 8 }, () => new AbortController());
    const outcomes = controllers.map((c, i) =>
      q.request(request(`f${i}`, c.signal)).then(
        () => "answered",
        (e: Error) => e.message,
      ),
    );
    // the requests past the bound are refused by Redis, the first five stay pending
    const refused = await Promise.all(outcomes.slice(5));
    expect(refused.every((m) => /already holds 5 pending requests/.test(m))).toBe(true);
    const other = await open("flood", 5);
    expect(other.pending().map((p) => p.id)).toEqual(["f0", "f1", "f2", "f3", "f4"]);
    const source = 'default allow\nrule big when action.type == "wire" require approval timeout 5s because "check"\n';
    const e = await createEnforcer({ policy: { source, fileName: "a.armor" }, approvals: q, throwOnDeny: false });
    expect((await e.run({ type: "wire" }, { session: "s" }, () => "ran")).decision.decision).toBe("deny");
    for (const c of controllers) c.abort();
    await Promise.all(outcomes);
    await expect.poll(() => other.pending().length).toBe(0);
  });
});

describe.skipIf(skip)("seen(A since B) after more marks than the store keeps are taken back", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  // 1,001 reservations of the mark, all released: the store trimmed the oldest into its floor
  // and cannot know what came before it; it must not answer with a mark that was taken back
  it.each([
    ["A's marks released", 'not seen(type == "mfa" since type == "logout")', "logout", "mfa"],
    ["B's marks released", 'seen(type == "read_secret" since type == "sanitize")', "read_secret", "sanitize"],
  ])("%s: the rule still denies", async (_what, condition, settled, reserved) => {
    const store = redisStore({ url: redis.url, prefix: `since-${reserved}`, timeoutMs: 5000 });
    const policy = `default allow\nrule guard when action.type == "act" and ${condition} deny because "guarded"\n`;
    const e = await createEnforcer({ policy: { source: policy, fileName: "since.armor" }, history: store, throwOnDeny: false });
    try {
      await e.run({ type: settled }, { session: "s" }, () => 1);
      const ids: string[] = [];
      for (let i = 0; i < 1001; i++) ids.push((await e.decide({ type: reserved }, { session: "s" }, { reserve: true })).id);
      for (const id of ids) expect(await e.release(id, { session: "s" })).toBe(true);
      const d = await e.decide({ type: "act" }, { session: "s" });
      expect(d.decision).toBe("deny");
    } finally {
      await e.close();
      await store.close();
    }
  });
});
