/**
 * Hostile input to the Redis history store. Session names that are Redis-special (glob
 * characters, hash-tag braces, separators, newlines, a megabyte) make keys of their own and never
 * reach another session's keys; a "Redis" that answers garbage, closes the connection, or never
 * answers makes every decision a deny that names the store, within the store's timeout.
 */

import { createServer, type Server, type Socket } from "node:net";
import { createEnforcer, type Enforcer, type SharedHistoryStore } from "@agent-armor/runtime";
import { redisStore } from "@agent-armor/store-redis";
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
function fakeRedis(answer: ((socket: Socket) => void) | null): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      socket.on("data", () => answer?.(socket));
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
