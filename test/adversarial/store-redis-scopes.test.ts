/**
 * Hostile scope values (`per user.id`) on the Redis history store, against a real redis-server:
 * values that are huge, prototype names, lone surrogates, numbers that look like strings, ids that
 * only a prototype has; and more distinct values than the store may hold. Each value keys a scope
 * of its own with a short key, or is a clear error that denies, decided as the in-memory store
 * decides; past the bound of scope values a decision that needs one more is denied naming the
 * store, and neither Redis nor the process grows without bound.
 */
import { createEnforcer, type Enforcer, SCOPE_OVERSHOOT } from "@agent-armor/runtime";
import { redisStore } from "@agent-armor/store-redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/redis-server.js";

const POLICY = `default allow
rule once when action.type == "pay" and count(type == "pay" within 1h per user.id) >= 1 deny because "one a user an hour"
rule most when action.type == "pay" and sum(amount where type == "pay" per user.id) + action.amount > 10 deny because "10 a user"
rule tenant when action.type == "open" and seen(type == "open" per context.tenant) deny because "once a tenant"
rule tag when action.type == "pay" label "paid"
rule paid when action.type == "refund" and not seen(labels contains "paid" within 1d per user.id) deny because "nothing paid to refund"
`;

const H = 3_600_000;
const T0 = 1_800_000_000_000;

/** [name, the user, what its first and second payment of 1 decide, the error of a deny without a rule]. */
const VALUES: [string, unknown, string, string, RegExp | null][] = [
  ["1,024 characters", { id: "u".repeat(1024) }, "allow", "deny", null],
  ["1,025 characters", { id: "u".repeat(1025) }, "deny", "deny", /^`per user\.id`: `user\.id` is longer than 1,024 characters/],
  ["a megabyte", { id: "m".repeat(1 << 20) }, "deny", "deny", /^`per user\.id`: `user\.id` is longer than 1,024 characters/],
  ["__proto__", { id: "__proto__" }, "allow", "deny", null],
  ["constructor", { id: "constructor" }, "allow", "deny", null],
  ["toString", { id: "toString" }, "allow", "deny", null],
  ["hasOwnProperty", { id: "hasOwnProperty" }, "allow", "deny", null],
  ["a lone high surrogate", { id: "\uD800" }, "allow", "deny", null],
  ["a lone low surrogate", { id: "\uDC00" }, "allow", "deny", null],
  ["U+FFFD, what UTF-8 makes of a lone surrogate", { id: "\uFFFD" }, "allow", "deny", null],
  ["a surrogate inside", { id: "a\uD800b" }, "allow", "deny", null],
  ["the empty string", { id: "" }, "allow", "deny", null],
  ["the number 1", { id: 1 }, "allow", "deny", null],
  ['the string "1"', { id: "1" }, "allow", "deny", null],
  ["hash-tag braces and a glob", { id: "}{*?[x]" }, "allow", "deny", null],
  ["an own __proto__ key holding the id", JSON.parse('{"__proto__": {"id": "ann"}}'), "deny", "deny", /^`per user\.id`: the decision has no `user\.id`/],
  ["an id only on the prototype", Object.create({ id: "ann" }), "deny", "deny", /^`per user\.id`: the decision has no `user\.id`/],
  ["an object", { id: { toString: "x" } }, "deny", "deny", /^`per user\.id`: `user\.id` is an object/],
];

type Outcome = [string, string[], string[]];

/** The rules that fired to deny (the label rule fires on every payment). */
const denying = (rules: readonly { id: string; effect: string }[]): string[] => rules.filter((r) => r.effect === "deny").map((r) => r.id);

/** Each value's two payments, in one enforcer, one value after the other. */
async function pays(e: Enforcer): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const [name, user] of VALUES) {
    for (const session of ["s1", "s2"]) {
      const { decision } = await e.run({ type: "pay", amount: 1 }, { session: `${session}-${name}`, user }, () => "paid");
      out.push([decision.decision, denying(decision.rules), decision.errors.map((x) => x.message.slice(0, 120))]);
    }
  }
  return out;
}

const skip = skipWithoutRedis("store-redis scopes (adversarial)");

describe.skipIf(skip)("hostile scope values on the Redis store", () => {
  let redis: RedisServer;
  const stores: ReturnType<typeof redisStore>[] = [];
  const open = async (prefix: string, clock: () => number = () => T0, maxScopes?: number) => {
    const store = redisStore({ url: redis.url, prefix, timeoutMs: 10_000, ...(maxScopes !== undefined ? { maxScopes } : {}) });
    stores.push(store);
    const enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "scopes.armor" }, history: store, clock, throwOnDeny: false });
    return { store, enforcer };
  };
  /** The scope digests that keys in Redis are under, for a prefix. */
  const scopeDigests = async (store: ReturnType<typeof redisStore>, prefix: string): Promise<Set<string>> => {
    const keys = await store.client.keys(`${prefix}:scope:*`);
    return new Set(keys.map((k) => k.slice(`${prefix}:scope:{`.length, `${prefix}:scope:{`.length + 32)));
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await redis?.dispose();
  });

  it("keys each value's scope apart, or denies saying why, as the in-memory store does", async () => {
    const memory = await createEnforcer({ policy: { source: POLICY, fileName: "scopes.armor" }, clock: () => T0, throwOnDeny: false });
    const { store, enforcer } = await open("v");
    const [inMemory, onRedis] = [await pays(memory), await pays(enforcer)];
    expect(onRedis).toEqual(inMemory);
    for (const [i, [name, , first, second, error]] of VALUES.entries()) {
      expect([name, inMemory[2 * i]![0], inMemory[2 * i + 1]![0]]).toEqual([name, first, second]);
      if (error !== null) expect(inMemory[2 * i]![2][0], name).toMatch(error);
      // a second payment is denied by the rule of its own scope, never by another value's
      if (first === "allow") expect(inMemory[2 * i + 1]![1], name).toEqual(["once"]);
    }
    // keys stay short whatever the value, one scope per value that keys one
    const keys = await store.client.keys("v:*");
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThan(120);
    expect((await scopeDigests(store, "v")).size).toBe(VALUES.filter(([, , first]) => first === "allow").length);
    expect(await store.client.zcard("v:scopes")).toBe(VALUES.filter(([, , first]) => first === "allow").length);
  });

  it("holds at most maxScopes scope values: past them a decision that needs one more is denied naming the store, even when no rule reads it", async () => {
    let now = T0;
    const { store, enforcer } = await open("cap", () => now, 5);
    const full = `\`per user.id\`: the history store ${store.name} already keeps the history of 5 scope values, at most, and none of them is empty`;
    const pay = (id: string, type = "pay") => enforcer.run({ type, amount: 1 }, { session: `s-${id}`, user: { id } }, () => "ran").then((r) => r.decision);
    for (let i = 0; i < 5; i++) expect((await pay(`u${i}`)).decision).toBe("allow");
    // 50 more values: each denied with the bound's text, for a payment and for an action no rule reads
    for (let i = 5; i < 55; i++) {
      for (const type of ["pay", "read"]) {
        const d = await pay(`u${i}`, type);
        expect([d.decision, d.rules, d.errors]).toEqual(["deny", [], [{ rule: null, message: full }]]);
      }
    }
    // the values held still decide; nothing of the denied ones is kept
    expect((await pay("u0", "read")).decision).toBe("allow");
    expect(denying((await pay("u0")).rules)).toEqual(["once"]);
    expect(await store.client.zcard("cap:scopes")).toBe(5);
    expect((await scopeDigests(store, "cap")).size).toBe(5);
    // once their history is empty (the hour passed, and `sum` has no window: not yet), nothing is dropped...
    now = T0 + 2 * H;
    expect((await pay("u99")).errors).toEqual([{ rule: null, message: full }]);
  });

  it("drops scope values whose history is empty to hold new ones", async () => {
    let now = T0;
    const { store, enforcer } = await open("drop", () => now, 3);
    const open_ = (tenant: string) => enforcer.run({ type: "open" }, { session: `s-${tenant}`, context: { tenant } }, () => "ran").then((r) => r.decision);
    const read = (id: string) => enforcer.run({ type: "read" }, { session: "s", user: { id }, context: { tenant: "t0" } }, () => "ran").then((r) => r.decision);
    // a tenant's `seen` has no window: held for good; users' are held for their longest window (sum: none)
    expect((await open_("t0")).decision).toBe("allow");
    const policy = `default allow\nrule hourly when action.type == "send" and count(type == "send" within 1h per user.id) >= 2 deny because "two an hour"\n`;
    const hourly = await createEnforcer({ policy: { source: policy, fileName: "hourly.armor" }, history: store, clock: () => now, throwOnDeny: false });
    const send = (id: string) => hourly.run({ type: "send" }, { session: `s-${id}`, user: { id } }, () => "sent").then((r) => r.decision);
    expect([(await send("a")).decision, (await send("b")).decision]).toEqual(["allow", "allow"]);
    expect((await send("c")).errors[0]?.message).toMatch(/already keeps the history of 3 scope values/);
    // an hour later a and b are empty and dropped; the tenant is not
    now = T0 + H;
    expect([(await send("c")).decision, (await send("d")).decision]).toEqual(["allow", "allow"]);
    expect((await store.client.zrange("drop:scopes", 0, -1)).length).toBe(3);
    expect((await read("x")).errors[0]?.message).toMatch(/already keeps the history of 3 scope values/);
  });

  it("takes a released reservation's scope value back", async () => {
    const { store, enforcer } = await open("rel", () => T0, 4);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = await enforcer.decide({ type: "pay", amount: 1 }, { session: "s", user: { id: `r${i}` } }, { reserve: true });
      expect(d.decision).toBe("allow");
      ids.push(d.id);
    }
    expect((await enforcer.decide({ type: "pay", amount: 1 }, { session: "s", user: { id: "r4" } }, { reserve: true })).decision).toBe("deny");
    for (const id of ids) expect(await enforcer.release(id, { session: "s" })).toBe(true);
    expect(await store.client.zcard("rel:scopes")).toBe(0);
    for (let i = 4; i < 8; i++) expect((await enforcer.decide({ type: "pay", amount: 1 }, { session: "s", user: { id: `r${i}` } }, { reserve: true })).decision).toBe("allow");
  });

  it(`records actions without a decision past the bound by at most ${SCOPE_OVERSHOOT.toLocaleString("en-US")} scope values, as the in-memory store does`, async () => {
    const { store, enforcer } = await open("rec", () => T0, 2);
    const total = 2 + SCOPE_OVERSHOOT + 20;
    for (let i = 0; i < total; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, total - i) }, (_, j) => enforcer.record({ type: "pay", amount: 1 }, { session: "s", user: { id: `w${i + j}` } })));
    }
    expect(await store.client.zcard("rec:scopes")).toBe(2 + SCOPE_OVERSHOOT);
    expect((await scopeDigests(store, "rec")).size).toBe(2 + SCOPE_OVERSHOOT);
    // a value held keeps the entries its labels (`paid`) filed
    expect((await enforcer.run({ type: "refund" }, { session: "s", user: { id: "w1" } }, () => "ran")).decision.decision).toBe("allow");
  });

  // A reservation's key is `PREFIX:{S}:R:ID` for an id of letters, digits, - and _ (the runtime's), else `#` and a digest of it.
  const HOSTILE_IDS: [string, (real: string) => string][] = [
    ["the real id with hash-tag braces", (id) => `{${id}}`],
    ["the real id and a newline", (id) => `${id}\n`],
    ["the real id and a key separator", (id) => `${id}:R:x`],
    ["the real id in upper case", (id) => id.toUpperCase()],
    ["a # and 32 hex digits", () => `#${"0".repeat(32)}`],
    ["65 characters", () => "a".repeat(65)],
    ["a megabyte", () => "m".repeat(1 << 20)],
    ["a glob", () => "*"],
    ["the empty string", () => ""],
    ["__proto__", () => "__proto__"],
  ];

  it.each(HOSTILE_IDS)("settles nothing for a decision id that is %s, and the real reservation stays pending", async (_what, make) => {
    const { store, enforcer } = await open("ids");
    const session = `s-${_what}`;
    const real = await enforcer.decide({ type: "pay", amount: 1 }, { session, user: { id: `ids-${_what}` } }, { reserve: true });
    expect(real.decision).toBe("allow");
    const id = make(real.id);
    expect(await enforcer.release(id, { session })).toBe(false);
    expect(await store.confirm(id, session)).toBe(false);
    expect(await store.keep(id, session, real.actionHash, 60_000)).toBe(false);
    expect(await store.pending(id, session)).toBeNull();
    expect(await store.client.keys(`ids:*:R:#*`)).toEqual([]);
    // another session cannot reach it either
    expect(await enforcer.release(real.id, { session: `${session}-other` })).toBe(false);
    expect(await store.pending(real.id, session)).toEqual({ actionHash: real.actionHash, labels: ["paid"] });
    expect(await enforcer.release(real.id, { session })).toBe(true);
    expect(await store.pending(real.id, session)).toBeNull();
  });

  it.each([
    ["0 ms", 0],
    ["half a millisecond", 0.5],
  ])("keeps no reservation with a time to live of %s, and the action stays counted", async (_what, ttl) => {
    const store = redisStore({ url: redis.url, prefix: "ttl", timeoutMs: 10_000 });
    stores.push(store);
    const enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "scopes.armor" }, history: store, clock: () => T0, throwOnDeny: false, reservationTtlMs: ttl });
    const user = { id: `ttl-${ttl}` };
    const first = await enforcer.decide({ type: "pay", amount: 1 }, { session: "s", user }, { reserve: true });
    expect(first.decision).toBe("allow");
    expect(await enforcer.release(first.id, { session: "s" })).toBe(false);
    expect((await enforcer.decide({ type: "pay", amount: 1 }, { session: "s2", user }, { reserve: true })).rules.map((r) => r.id)).toContain("once");
  });
});
