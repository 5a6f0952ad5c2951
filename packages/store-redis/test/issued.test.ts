/**
 * The approval-requiring decisions an enforcer issued, kept for `Enforcer.grant` (grants.ts
 * `issue`/`issued`): in Redis, found by decision id and action hash only, at every process on the
 * same prefix, gone after their time, and never trusted when what Redis holds is not one; in
 * memory, bounded with the soonest to lapse giving way.
 */
import { type IssuedApproval, memoryIssued } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../../../test/support/redis-server.js";
import { redisStore } from "../src/index.js";

const ISSUED: IssuedApproval = {
  session: "s1",
  offer: { rule: "wires", scope: "action.to", durationMs: 3_600_000, upTo: 100, of: "action.amount" },
  digest: "d".repeat(64),
  value: "acme",
  redacted: true,
};
const HASH = "a".repeat(64);

describe("issued decisions in memory", () => {
  it("keeps at most its bound, the soonest to lapse giving way, and each only until its time", () => {
    const kept = memoryIssued(3);
    // [id, ttl]
    const ISSUES: [string, number][] = [
      ["long", 10_000],
      ["short", 100],
      ["mid", 5_000],
      ["new", 5_000],
    ];
    for (const [id, ttl] of ISSUES) kept.issue(id, HASH, ISSUED, 0, ttl);
    expect(ISSUES.map(([id]) => [id, kept.issued(id, HASH, 1) !== null])).toEqual([
      ["long", true],
      ["short", false],
      ["mid", true],
      ["new", true],
    ]);
    expect([kept.issued("long", "b".repeat(64), 1), kept.issued("mid", HASH, 5_000)]).toEqual([null, null]);
  });
});

const skip = skipWithoutRedis("issued decisions in Redis");

describe.skipIf(skip)("issued decisions in Redis", () => {
  let redis: RedisServer;
  const stores: ReturnType<typeof redisStore>[] = [];
  const store = (prefix: string) => {
    const s = redisStore({ url: redis.url, prefix, timeoutMs: 5000 });
    stores.push(s);
    return s;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await redis?.dispose();
  });

  it("is found at another process by id and action hash only, and is gone after its time", async () => {
    const [a, b] = [store("iss1"), store("iss1")];
    await a.grants.issue!("d1", HASH, ISSUED, Date.now(), 300);
    // [id, action hash, found at b]
    const LOOKUPS: [string, string, boolean][] = [
      ["d1", HASH, true],
      ["d1", "b".repeat(64), false],
      ["d2", HASH, false],
    ];
    for (const [id, hash, found] of LOOKUPS) expect([id, hash.slice(0, 1), (await b.grants.issued!(id, hash, Date.now())) !== null]).toEqual([id, hash.slice(0, 1), found]);
    expect(await b.grants.issued!("d1", HASH, Date.now())).toEqual(ISSUED);
    // another prefix is another deployment
    expect(await store("iss2").grants.issued!("d1", HASH, Date.now())).toBeNull();
    await new Promise((r) => setTimeout(r, 450));
    expect(await b.grants.issued!("d1", HASH, Date.now())).toBeNull();
  });

  it("never trusts what Redis holds when it is not an issued decision", async () => {
    const s = store("iss3");
    await s.grants.issue!("d1", HASH, ISSUED, Date.now(), 60_000);
    const [key] = await s.client.keys("iss3*:i:*");
    // [what is stored]
    const CORRUPT: string[] = ["not json", "null", JSON.stringify({ ...ISSUED, offer: null }), JSON.stringify({ ...ISSUED, value: { x: 1 } }), JSON.stringify({ ...ISSUED, redacted: "no" })];
    for (const text of CORRUPT) {
      await s.client.set(key!, text);
      await expect(s.grants.issued!("d1", HASH, Date.now()), text).rejects.toThrow(/did not expect/);
    }
  });
});
