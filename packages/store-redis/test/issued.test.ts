/**
 * The approval-requiring decisions an enforcer issued, kept for `Enforcer.grant` (grants.ts
 * `issue`/`issued`): in Redis, found by decision id and action hash only, at every process on the
 * same prefix, gone after their time, and never trusted when what Redis holds is not one; in
 * memory, bounded with the soonest to lapse giving way.
 */
import { type IssuedApproval, MAX_ISSUED, MAX_ISSUED_PER_SESSION, memoryIssued } from "@agent-armor/runtime";
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
    expect(ISSUES.map(([id]) => [id, kept.take(id, HASH, 1) !== null])).toEqual([
      ["long", true],
      ["short", false],
      ["mid", true],
      ["new", true],
    ]);
    expect([kept.take("long", "b".repeat(64), 1), kept.take("mid", HASH, 5_000)]).toEqual([null, null]);
  });

  it("is taken once: a second take finds nothing", () => {
    const kept = memoryIssued(3);
    kept.issue("d1", HASH, ISSUED, 0, 1_000);
    expect([kept.take("d1", HASH, 1), kept.take("d1", HASH, 1)]).toEqual([ISSUED, null]);
  });

  it("gives each session a share: a session over it or at the bound gives up only its own, and with none is refused", () => {
    const kept = memoryIssued(3, 2);
    const of = (session: string): IssuedApproval => ({ ...ISSUED, session });
    // [id, session]
    const ISSUES: [string, string][] = [
      ["v1", "victim"],
      ["f1", "flood"],
      ["f2", "flood"],
      ["f3", "flood"],
    ];
    for (const [id, session] of ISSUES) kept.issue(id, HASH, of(session), 0, 1_000);
    // the bound reached with none of its own: refused
    expect(() => kept.issue("o1", HASH, of("other"), 0, 1_000)).toThrow(/none of them is session other's/);
    expect(ISSUES.map(([id]) => [id, kept.take(id, HASH, 1) !== null])).toEqual([
      ["v1", true],
      ["f1", false],
      ["f2", true],
      ["f3", true],
    ]);
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
    for (const [id, hash, found] of LOOKUPS) expect([id, hash.slice(0, 1), (await b.grants.take!(id, hash, Date.now())) !== null]).toEqual([id, hash.slice(0, 1), found]);
    // taken at b: gone for a, and for b
    expect([await a.grants.take!("d1", HASH, Date.now()), await b.grants.take!("d1", HASH, Date.now())]).toEqual([null, null]);
    await a.grants.issue!("d3", HASH, ISSUED, Date.now(), 300);
    expect(await b.grants.take!("d3", HASH, Date.now())).toEqual(ISSUED);
    // another prefix is another deployment
    await a.grants.issue!("d4", HASH, ISSUED, Date.now(), 300);
    expect(await store("iss2").grants.take!("d4", HASH, Date.now())).toBeNull();
    await new Promise((r) => setTimeout(r, 450));
    expect(await b.grants.take!("d4", HASH, Date.now())).toBeNull();
  });

  it("gives each session its share of the cap: a flood gives up its own, never another session's", async () => {
    const s = store("iss4");
    const now = Date.now();
    await s.grants.issue!("victim", HASH, { ...ISSUED, session: "victim" }, now, 60_000);
    for (let i = 0; i < MAX_ISSUED; i++) await s.grants.issue!(`f${i}`, HASH, { ...ISSUED, session: "flood" }, now, 60_000);
    // [id, kept]
    const KEPT: [string, boolean][] = [
      ["victim", true],
      ["f0", false],
      [`f${MAX_ISSUED - 1}`, true],
    ];
    for (const [id, yes] of KEPT) expect([id, (await s.grants.take!(id, HASH, now)) !== null]).toEqual([id, yes]);
    expect(await s.client.zcard("iss4:{grants}:issued")).toBe(MAX_ISSUED_PER_SESSION - 1);
  });

  it("never trusts what Redis holds when it is not an issued decision", async () => {
    const s = store("iss3");
    await s.grants.issue!("d1", HASH, ISSUED, Date.now(), 60_000);
    const [key] = await s.client.keys("iss3*:i:*");
    // [what is stored]
    const CORRUPT: string[] = ["not json", "null", JSON.stringify({ ...ISSUED, offer: null }), JSON.stringify({ ...ISSUED, value: { x: 1 } }), JSON.stringify({ ...ISSUED, redacted: "no" })];
    for (const text of CORRUPT) {
      await s.client.set(key!, text);
      await expect(s.grants.take!("d1", HASH, Date.now()), text).rejects.toThrow(/did not expect/);
    }
  });
});
