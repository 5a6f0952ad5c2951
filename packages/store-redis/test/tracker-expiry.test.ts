/**
 * A tracker's key outlives its window: after every filing its expiry is at least the window plus a
 * minute away (Redis's clock), whether the read set it again or found it set by a filing less than
 * a minute earlier (by the decider's clock); a set made again after it was forgotten or emptied
 * always gets an expiry, never lives on without one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../../../test/support/redis-server.js";
import { redisStore } from "../src/index.js";

const skip = skipWithoutRedis("store-redis tracker expiry");
const WINDOW = 1000;
const tracker = { key: "count|send", kind: "count" as const, withinMs: WINDOW };

describe.skipIf(skip)("a tracker key's expiry", () => {
  let redis: RedisServer;
  let store: ReturnType<typeof redisStore>;
  beforeAll(async () => {
    redis = await startRedis();
    store = redisStore({ url: redis.url, prefix: "exp", timeoutMs: 5000 });
  });
  afterAll(async () => {
    await store?.close();
    await redis?.dispose();
  });

  const entriesKey = async (): Promise<string> => {
    const keys = (await store.client.keys("exp*")).filter((k) => k.endsWith(":e"));
    expect(keys).toHaveLength(1);
    return keys[0]!;
  };
  const file = (id: string, now: number) => store.read({ scope: "s", now, trackers: [tracker], reserve: { id, ttlMs: 600_000, filings: [{ tracker, error: null }], actionHash: "h" } });

  // [what happens before the filing, the decider's clock at the filing, the count the filing reads]
  const steps: [string, number, number][] = [
    ["a new set", 1_000_000, 0],
    ["a filing a moment later", 1_000_010, 1],
    ["a filing 59 s later by the decider's clock", 1_059_000, 0],
    ["a filing from a decider whose clock runs 30 s behind", 1_029_000, 1],
    ["a filing more than a minute after the first", 1_070_000, 0],
  ];
  it.each(steps)("after %s the key expires at least the window and a minute later", async (_what, now, count) => {
    const read = await file(`r${now}`, now);
    expect(read.values[0]).toEqual({ count, error: null });
    expect(await store.client.pttl(await entriesKey())).toBeGreaterThan(WINDOW + 60_000 - 5_000);
  });

  it("a set forgotten and filed again at once gets its expiry again", async () => {
    await store.forget("s");
    expect((await store.client.keys("exp*")).filter((k) => k.endsWith(":e"))).toHaveLength(0);
    await file("again", 1_070_005);
    expect(await store.client.pttl(await entriesKey())).toBeGreaterThan(WINDOW + 60_000 - 5_000);
  });

  it("a set emptied by a release and filed again at once gets its expiry again", async () => {
    expect(await store.release("again", "s")).toBe(true);
    expect((await store.client.keys("exp*")).filter((k) => k.endsWith(":e"))).toHaveLength(0);
    await file("third", 1_070_008);
    expect(await store.client.pttl(await entriesKey())).toBeGreaterThan(WINDOW + 60_000 - 5_000);
  });
});
