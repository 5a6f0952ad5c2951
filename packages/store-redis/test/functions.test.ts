/**
 * The scripts as a Redis 7 function library (functions.ts): a decision is one FCALL once the
 * library is loaded; a Redis that lost its functions gets the library again on the next call,
 * which still answers (and counts) as it should; a Redis without FCALL (before 7, here one with
 * the command renamed away) runs the same scripts with EVALSHA, with the same answers.
 */
import { createEnforcer } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../../../test/support/redis-server.js";
import { LIBRARY_NAME } from "../src/functions.js";
import { redisStore } from "../src/index.js";

const POLICY = `default allow
rule a when action.type == "send" and count(type == "send" within 1h) >= 3 deny
rule b when action.type == "pay" and sum(amount where type == "pay" within 1h) + action.amount > 100 deny
`;

const skip = skipWithoutRedis("store-redis function library");

type Store = ReturnType<typeof redisStore>;

/** The commands a store sends, by name. */
function spy(store: Store): string[] {
  const sent: string[] = [];
  const send = store.client.sendCommand.bind(store.client);
  store.client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name);
    return send(command as never, ...(rest as []));
  }) as typeof store.client.sendCommand;
  return sent;
}

/** Three sends allowed, the fourth denied; 60 + 30 paid, then 20 more denied (over 100): the same on every Redis. */
async function limitsHold(store: Store, session: string): Promise<void> {
  const e = await createEnforcer({ policy: { source: POLICY, fileName: "functions.armor" }, history: store, throwOnDeny: false });
  const sends = [];
  for (let i = 0; i < 4; i++) sends.push((await e.decide({ type: "send", i }, { session }, { reserve: true })).decision);
  expect(sends).toEqual(["allow", "allow", "allow", "deny"]);
  const pays = [];
  for (const amount of [60, 30, 20]) pays.push((await e.decide({ type: "pay", amount }, { session }, { reserve: true })).decision);
  expect(pays).toEqual(["allow", "allow", "deny"]);
}

describe.skipIf(skip)("the store's scripts as a function library", () => {
  let redis: RedisServer;
  let major = 0;
  const stores: Store[] = [];
  const open = (url: string, prefix: string): Store => {
    const s = redisStore({ url, prefix, timeoutMs: 5000 });
    stores.push(s);
    return s;
  };
  beforeAll(async () => {
    redis = await startRedis();
    const probe = open(redis.url, "probe");
    major = Number(/redis_version:(\d+)/.exec(await probe.client.info("server"))![1]);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await redis?.dispose();
  });

  it("loads the library once and then decides with one FCALL per decision (Redis 7)", async () => {
    if (major < 7) return expect(major).toBeLessThan(7);
    const store = open(redis.url, "fn");
    const sent = spy(store);
    await limitsHold(store, "s");
    const libraries = (await store.client.call("FUNCTION", "LIST", "LIBRARYNAME", LIBRARY_NAME)) as unknown[];
    expect(libraries).toHaveLength(1);
    expect(sent.filter((c) => c === "function")).toEqual(["function"]);
    expect(sent.filter((c) => c === "evalsha" || c === "eval")).toEqual([]);
    sent.length = 0;
    const e = await createEnforcer({ policy: { source: POLICY, fileName: "functions.armor" }, history: store, throwOnDeny: false });
    expect((await e.decide({ type: "send" }, { session: "t" }, { reserve: true })).decision).toBe("allow");
    expect(sent).toEqual(["fcall"]);
  });

  it("loads the library again when Redis lost it, and the call that found it missing still counts once", async () => {
    if (major < 7) return expect(major).toBeLessThan(7);
    const store = open(redis.url, "flush");
    const e = await createEnforcer({ policy: { source: POLICY, fileName: "functions.armor" }, history: store, throwOnDeny: false });
    expect((await e.decide({ type: "send" }, { session: "s" }, { reserve: true })).decision).toBe("allow");
    await store.client.call("FUNCTION", "FLUSH");
    const sent = spy(store);
    expect((await e.decide({ type: "send" }, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect(sent).toEqual(["fcall", "function", "fcall"]);
    expect((await e.decide({ type: "send" }, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect((await e.decide({ type: "send" }, { session: "s" }, { reserve: true })).decision).toBe("deny");
  });

  it.each([
    ["may not call functions", "-fcall -fcall_ro"],
    ["may call functions but not load them", "-function|load"],
  ])("runs the scripts with EVALSHA for a user who %s (ACL)", async (_, denied) => {
    if (major < 7) return expect(major).toBeLessThan(7);
    const admin = open(redis.url, "acl-admin");
    const user = `u${Math.random().toString(36).slice(2, 8)}`;
    await admin.client.call("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", ...denied.split(" "));
    await admin.client.call("FUNCTION", "FLUSH");
    const url = redis.url.replace("redis://", `redis://${user}:secret@`);
    const store = open(url, `acl-${user}`);
    const sent = spy(store);
    await limitsHold(store, "s");
    expect(sent.filter((c) => c === "evalsha").length).toBeGreaterThan(5);
  });

  it("runs the same scripts with EVALSHA on a Redis without FCALL, with the same answers", async () => {
    const old = await startRedis(["--rename-command", "FCALL", "", "--rename-command", "FUNCTION", ""]);
    try {
      const store = open(old.url, "old");
      const sent = spy(store);
      await limitsHold(store, "s");
      // the library's load as the connection was ready failed; no FCALL was tried after it
      expect(sent.filter((c) => c === "function")).toEqual(["function"]);
      // the calls made before the first answer said so try FCALL; none after it
      const firstEval = sent.findIndex((c) => c === "eval" || c === "evalsha");
      expect(firstEval).toBeGreaterThan(0);
      expect(sent.lastIndexOf("fcall")).toBeLessThan(firstEval);
      expect(sent.filter((c) => c === "evalsha").length).toBeGreaterThan(5);
      // reserved, then released and confirmed through the same scripts
      const e = await createEnforcer({ policy: { source: POLICY, fileName: "functions.armor" }, history: store, throwOnDeny: false });
      const d = await e.decide({ type: "send" }, { session: "r" }, { reserve: true });
      expect(await store.pending(d.id, "r")).toEqual({ actionHash: d.actionHash, labels: [] });
      expect(await store.release(d.id, "r")).toBe(true);
      expect(await store.pending(d.id, "r")).toBeNull();
    } finally {
      await old.dispose();
    }
  });
});
