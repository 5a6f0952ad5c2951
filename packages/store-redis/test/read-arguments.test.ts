/**
 * What a decision sends: the read script builds every key from the scope's one key and takes the
 * policy's trackers as one argument fixed per policy, so a reserved decision sends a handful of
 * arguments whatever its trackers; a reservation whose id is not a plain key part (a caller's
 * own id) is filed and found under the same key the other scripts use.
 */
import { createEnforcer } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../../../test/support/redis-server.js";
import { redisStore } from "../src/index.js";

const POLICY = `default allow
rule a when action.type == "send" and count(type == "send" within 1h) >= 20 deny
rule b when action.type == "send" and count(type == "send" and action.big == true within 1m) >= 2 deny
rule c when action.type == "wire" and seen(type == "wire") deny
rule d when action.type == "send" and count(type == "send" and action.to == "x" within 1d) >= 5 deny
`;

const skip = skipWithoutRedis("store-redis read arguments");

describe.skipIf(skip)("the read script's arguments", () => {
  let redis: RedisServer;
  const stores: ReturnType<typeof redisStore>[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await redis?.dispose();
  });

  it("a reserved decision with four trackers sends one key and six arguments, and still counts in each tracker", async () => {
    const store = redisStore({ url: redis.url, prefix: "args", timeoutMs: 5000 });
    stores.push(store);
    const sent: { name: string; args: unknown[] }[] = [];
    const send = store.client.sendCommand.bind(store.client);
    store.client.sendCommand = ((command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
      sent.push({ name: command.name, args: [...command.args] });
      return send(command as never, ...(rest as []));
    }) as typeof store.client.sendCommand;
    const e = await createEnforcer({ policy: { source: POLICY, fileName: "args.armor" }, history: store, throwOnDeny: false });
    sent.length = 0;
    for (let i = 0; i < 2; i++) expect((await e.decide({ type: "send", big: true, to: "x" }, { session: "s" }, { reserve: true })).decision).toBe("allow");
    const d = await e.decide({ type: "send", big: true, to: "x" }, { session: "s" }, { reserve: true });
    expect(d.decision).toBe("deny");
    expect(d.rules.map((r) => r.id)).toEqual(["b"]);
    const reads = sent.filter((c) => c.name === "fcall" || c.name === "evalsha" || c.name === "eval");
    expect(reads.length).toBeGreaterThanOrEqual(3);
    // function (or sha), number of keys, the scope's key, then now, id, ttl, action hash, trackers, filings
    for (const r of reads.slice(0, 3)) expect(r.args).toHaveLength(2 + 1 + 6);
  });

  it("files a reservation under a caller's id that is not a plain key part, and finds it by that id", async () => {
    const store = redisStore({ url: redis.url, prefix: "odd", timeoutMs: 5000 });
    stores.push(store);
    const tracker = { key: "count|send", kind: "count" as const, withinMs: 3_600_000 };
    for (const id of ["a b\nc", "{x}:R:y", "x".repeat(100), "#00"]) {
      const read = await store.read({ scope: "s", now: 1000, trackers: [tracker], reserve: { id, ttlMs: 60_000, filings: [{ tracker, error: null }], actionHash: "h" } });
      expect(read.values[0]).toEqual({ count: 0, error: null });
      expect(await store.pending(id, "s")).toEqual({ actionHash: "h", labels: [] });
      expect((await store.read({ scope: "s", now: 1001, trackers: [tracker] })).values[0]).toEqual({ count: 1, error: null });
      expect(await store.release(id, "s")).toBe(true);
      expect((await store.read({ scope: "s", now: 1002, trackers: [tracker] })).values[0]).toEqual({ count: 0, error: null });
    }
  });

  it("answers no labels when the decision does not read them, and the labels when it does", async () => {
    const store = redisStore({ url: redis.url, prefix: "lab", timeoutMs: 5000 });
    stores.push(store);
    expect(await store.addLabels("s", ["secret"], 10)).toBeNull();
    const tracker = { key: "count|send", kind: "count" as const, withinMs: 3_600_000 };
    expect((await store.read({ scope: "s", now: 1000, trackers: [tracker] })).labels).toEqual(["secret"]);
    expect((await store.read({ scope: "s", now: 1000, trackers: [tracker], labels: true })).labels).toEqual(["secret"]);
    expect((await store.read({ scope: "s", now: 1000, trackers: [tracker], labels: false })).labels).toEqual([]);
  });

  it("reads the session's labels only for policies that read or add them, and a policy that reads them sees them", async () => {
    const store = redisStore({ url: redis.url, prefix: "need", timeoutMs: 5000 });
    stores.push(store);
    const asked: (boolean | undefined)[] = [];
    const read = store.read.bind(store);
    store.read = (r) => {
      asked.push(r.labels);
      return read(r);
    };
    const source = (rules: string) => ({ source: `default allow\nrule n when action.type == "send" and count(type == "send" within 1h) >= 100 deny\n${rules}`, fileName: "need.armor" });
    const plain = await createEnforcer({ policy: source(""), history: store, throwOnDeny: false });
    expect((await plain.decide({ type: "send" }, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect(asked).toEqual([false]);
    // a policy that adds labels reads them (a label already held is not added again, and the bound is the store's)
    const labelling = await createEnforcer({ policy: source('rule l when action.type == "read" label "secret"\n'), history: store, throwOnDeny: false });
    expect((await labelling.run({ type: "read" }, { session: "s" }, () => "ok")).decision.labels).toEqual(["secret"]);
    expect(asked.at(-1)).toBeUndefined();
    // one that reads them sees the labels another process added
    const reading = await createEnforcer({ policy: source('rule r when action.type == "mail" and "secret" in session.labels deny\n'), history: store, throwOnDeny: false });
    const d = await reading.decide({ type: "mail" }, { session: "s" }, { reserve: true });
    expect(d.decision).toBe("deny");
    expect(d.rules.map((r) => r.id)).toEqual(["r"]);
    expect(asked.at(-1)).toBeUndefined();
    // a shadow candidate that reads them makes the read include them, and the enforced policy still does not need them
    const shadowed = await createEnforcer({ policy: source(""), shadow: source('rule r when action.type == "mail" and "secret" in session.labels deny\n'), history: store, throwOnDeny: false });
    expect((await shadowed.decide({ type: "mail" }, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect(asked.at(-1)).toBeUndefined();
    expect(shadowed.shadowReport().byKind["allow->deny"]).toBe(1);
  });
});
