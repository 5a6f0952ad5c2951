/**
 * Grants through `decide()`: a live grant of the rule covers an action that would ask for
 * approval, and the decision names it. Without `reserve` nothing is taken: a grant without an
 * amount is named, and one whose amount governs the action answers a deny naming `reserve` (an
 * allow would let the action run with its amount taken nowhere); with it the action's amount is
 * taken once and held for the reservation: `record` with its id keeps it, `release` gives it back
 * (once), and a hold that outlives its reservation stays taken. A `record` without the
 * reservation of an action whose amount a live grant governs is refused, counting nothing, with a
 * `record_refused` record. The same with the in-memory store and with grants and history in Redis.
 */
import { createEnforcer, type Decision, GrantNeedsReservation, type SharedHistoryStore } from "@agent-armor/runtime";
import { redisStore } from "@agent-armor/store-redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "./support/redis-server.js";

const POLICY = `default allow
rule big when action.type == "wire" and amount > 60000 deny because "too big for anyone"
rule wires when action.type == "wire" require approval from "finance" grant action.to 1h up to 50000 of action.amount
rule sends when action.type == "send" require approval grant session 30m
`;

const skipRedis = skipWithoutRedis("grants through decide() on Redis");
let redis: RedisServer | undefined;
const stores: SharedHistoryStore[] = [];
let prefixes = 0;
beforeAll(async () => {
  if (!skipRedis) redis = await startRedis();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await redis?.dispose();
});

/** The history (and grant) store of a case: in memory, or a fresh prefix on the Redis. */
function history(kind: "memory" | "redis"): { history?: SharedHistoryStore } {
  if (kind === "memory") return {};
  const store = redisStore({ url: redis!.url, prefix: `gd${++prefixes}` });
  stores.push(store);
  return { history: store };
}

async function granting(kind: "memory" | "redis", reservationTtlMs = 60_000) {
  // the real time: Redis expires a grant's keys by its own clock
  const clock = { now: Date.now() };
  const records: Record<string, unknown>[] = [];
  const e = await createEnforcer({
    policy: { source: POLICY, fileName: "g.armor" },
    approvals: { request: async () => ({ approved: true, approver: "ann", grant: true }) },
    throwOnDeny: false,
    clock: () => clock.now,
    reservationTtlMs,
    ...history(kind),
    audit: { callback: (r) => void records.push(r as unknown as Record<string, unknown>) },
  });
  // approved once, with the grant: wires to acme up to 50,000 for an hour, and sends in session s1
  await e.run({ type: "wire", to: "acme", amount: 1 }, { session: "s0" }, () => "sent");
  await e.run({ type: "send" }, { session: "s1" }, () => "sent");
  const [wireGrant, sendGrant] = records.filter((r) => r.event === "grant").map((r) => r.grantId as string);
  const events = (event: string) => records.filter((r) => r.kind === "approval" && r.event === event);
  return { clock, e, records, events, wireGrant: wireGrant!, sendGrant: sendGrant! };
}

const wire = (amount: number, to = "acme") => ({ type: "wire", to, amount });
const outcome = (d: Decision) => [d.decision, d.grant?.id ?? null, d.reserved === true];

describe.each([["memory"], ...(skipRedis ? [] : [["redis"]])] as ["memory" | "redis"][])("grants through decide(), %s store", (kind) => {
  it("without reserve, names a grant without an amount and denies naming `reserve` where an amount governs", async () => {
    const g = await granting(kind);
    // [action, session, decision, grant]
    const CASES: [Record<string, unknown>, string, string, string | null][] = [
      [wire(30_000), "a", "deny", null],
      [wire(50_000), "b", "deny", null],
      [wire(50_000.01), "b", "require_approval", null],
      [wire(10, "globex"), "a", "require_approval", null],
      [wire(70_000), "a", "deny", null],
      [{ type: "send" }, "s1", "allow", g.sendGrant],
      [{ type: "send" }, "s2", "require_approval", null],
    ];
    for (const [action, session, decision, grant] of CASES) {
      const d = await g.e.decide(action, { session });
      expect([JSON.stringify(action), session, d.decision, d.grant?.id ?? null]).toEqual([JSON.stringify(action), session, decision, grant]);
      if (decision === "deny" && (action.amount as number) <= 50_000) expect(d.errors).toEqual([{ rule: "wires", message: expect.stringContaining(`grant ${g.wireGrant} of rule \`wires\``) }]);
    }
    expect(g.events("grant_covers").map((r) => [r.grantId, r.remaining ?? null])).toEqual([[g.sendGrant, null]]);
    expect(g.events("grant_used")).toEqual([]);
  });

  it("takes the amount once with reserve; record keeps it, release gives it back once", async () => {
    const g = await granting(kind);
    const first = await g.e.decide(wire(30_000), { session: "a" }, { reserve: true });
    expect(outcome(first)).toEqual(["allow", g.wireGrant, true]);
    expect(g.events("grant_used").at(-1)).toMatchObject({ decisionId: first.id, grantId: g.wireGrant, amount: 30_000, remaining: 20_000, reserved: true });
    // 20,000 are left
    expect(outcome(await g.e.decide(wire(30_000), { session: "b" }, { reserve: true }))).toEqual(["require_approval", null, false]);
    expect(await g.e.release(first.id, { session: "a" })).toBe(true);
    expect(await g.e.release(first.id, { session: "a" })).toBe(false);
    expect(g.events("grant_returned").map((r) => r.decisionId)).toEqual([first.id]);
    const second = await g.e.decide(wire(30_000), { session: "b" }, { reserve: true });
    expect(outcome(second)).toEqual(["allow", g.wireGrant, true]);
    expect(await g.e.record(wire(30_000), { session: "b" }, { decisionId: second.id })).toMatchObject({ settled: true });
    // settled: a release no longer gives it back
    expect(await g.e.release(second.id, { session: "b" })).toBe(false);
    expect(outcome(await g.e.decide(wire(20_000), { session: "c" }, { reserve: true }))).toEqual(["allow", g.wireGrant, true]);
    expect(outcome(await g.e.decide(wire(0.01), { session: "c" }, { reserve: true }))).toEqual(["require_approval", null, false]);
    expect(g.events("grant_returned")).toHaveLength(1);
  });

  it("keeps the amount taken when a reservation's hold outlives it (its action may have run)", async () => {
    // Redis measures a hold by its own clock: a short one, waited out for real
    const ttl = kind === "redis" ? 300 : 60_000;
    const g = await granting(kind, ttl);
    const held = await g.e.decide(wire(50_000), { session: "a" }, { reserve: true });
    expect(outcome(held)).toEqual(["allow", g.wireGrant, true]);
    expect((await g.e.decide(wire(1), { session: "a" }, { reserve: true })).decision).toBe("require_approval");
    if (kind === "redis") await new Promise((r) => setTimeout(r, ttl + 150));
    g.clock.now += ttl + 1;
    // another session reads the grant next: the amount is still taken, and the record names the reserving session
    expect(outcome(await g.e.decide(wire(50_000), { session: "b" }, { reserve: true }))).toEqual(["require_approval", null, false]);
    expect(g.events("grant_hold_expired").map((r) => [r.decisionId, r.session, r.actionHash, r.grantId])).toEqual([[held.id, "a", held.actionHash, g.wireGrant]]);
    expect(g.events("grant_returned")).toEqual([]);
    // the late release of an expired reservation gives nothing back either
    expect(await g.e.release(held.id, { session: "a" })).toBe(false);
    expect(outcome(await g.e.decide(wire(1), { session: "b" }, { reserve: true }))).toEqual(["require_approval", null, false]);
    expect(g.events("grant_hold_expired")).toHaveLength(1);
  });

  it("refuses a record without the reservation of an action a grant's amount governs, counting nothing", async () => {
    const g = await granting(kind);
    const before = g.records.length;
    // [what, action, session, info, refused]
    const CASES: [string, Record<string, unknown>, string, Record<string, unknown>, boolean][] = [
      ["no decision id, within the amount", wire(10), "a", {}, true],
      ["no decision id, past the amount", wire(60_000), "a", {}, true],
      ["another session's reservation", wire(10), "a", { decisionId: "nope" }, true],
      ["a recipient no grant covers", wire(10, "globex"), "a", {}, false],
      ["a session grant (no amount)", { type: "send" }, "s1", {}, false],
      ["an action a person approved", wire(10), "a", { approved: true }, false],
    ];
    for (const [what, action, session, info, refused] of CASES) {
      const got = await g.e.record(action, { session }, info).then(
        () => "recorded",
        (e: unknown) => (e instanceof GrantNeedsReservation ? "refused" : String(e)),
      );
      expect([what, got]).toEqual([what, refused ? "refused" : "recorded"]);
    }
    // the three records that went through are outcomes, the three refused are on record as refused; the whole amount is still there
    const outcomes = g.records.slice(before).filter((r) => r.kind === "outcome");
    expect(outcomes.map((r) => r.outcome)).toEqual(["record_refused", "record_refused", "record_refused", "ok", "ok", "ok"]);
    expect(outcome(await g.e.decide(wire(50_000), { session: "a" }, { reserve: true }))).toEqual(["allow", g.wireGrant, true]);
  });
});
