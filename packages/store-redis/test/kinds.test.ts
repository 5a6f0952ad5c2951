/**
 * The predicates that are not plain counts (`sum`, `max`, `min`, `seen(A since B)`, `current.F`),
 * with or without a scope (`per user.id`, `per context.tenant`, `per action.F`, `per deployment`),
 * on the Redis store decide what they decide on the in-memory store: each case runs the same
 * steps (actions run, reserved, released, sessions ended, at given times, in given sessions for
 * given users and tenants) through an enforcer on each store and compares every decision (its
 * kind, the rules that fired, the errors). One real redis-server.
 */
import { createEnforcer, type Enforcer } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../../../test/support/redis-server.js";
import { redisStore } from "../src/index.js";

/** Who decides a step: its session (default `s`), user and context. */
type Who = { session?: string; user?: unknown; context?: unknown };

/** A step: run an action (`run`), reserve it (`reserve`, remembered by its index), release the reservation of step `release`, only decide, or end a session; as `who`. */
type Step = { at: number; action: Record<string, unknown>; op?: "run" | "reserve" | "decide"; who?: Who } | { at: number; release: number } | { at: number; end: string };

interface Case {
  name: string;
  rules: string;
  steps: Step[];
  /** The decisions the steps give, in order (what both stores must say). */
  expect: string[];
}

const H = 3_600_000;
const pay = (amount: unknown, extra: Record<string, unknown> = {}) => ({ type: "pay", amount, ...extra });
/** A session of a user (and tenant). */
const as = (session: string, user: string, tenant = "t1"): Who => ({ session, user: { id: user }, context: { tenant } });

const CASES: Case[] = [
  {
    name: "sum within a window",
    rules: 'rule big when action.type == "pay" and sum(amount where type == "pay" within 1h) >= 100 deny because "at most 100 an hour"',
    steps: [
      { at: 0, action: pay(30) },
      { at: 1, action: pay(40) },
      { at: 2, action: pay(30) },
      { at: 3, action: pay(1) },
      { at: H - 1, action: pay(1) },
      { at: H, action: pay(30) },
      { at: H, action: pay(1) },
      { at: H + 1, action: pay(1) },
    ],
    expect: ["allow", "allow", "allow", "deny", "deny", "allow", "deny", "allow"],
  },
  {
    name: "an exact sum (0.1 + 0.2 + 0.3 is 0.6, and 1e16 + 1 - 1e16 is 1)",
    rules:
      'rule six when action.type == "check" and sum(amount where type == "pay") == 0.6 deny because "exactly 0.6"\nrule one when action.type == "check2" and sum(n where type == "big") == 1 deny because "exactly 1"',
    steps: [
      { at: 0, action: pay(0.1) },
      { at: 1, action: pay(0.2) },
      { at: 2, action: pay(0.3) },
      { at: 3, action: { type: "check" } },
      { at: 4, action: { type: "big", n: 1e16 } },
      { at: 5, action: { type: "big", n: 1 } },
      { at: 6, action: { type: "big", n: -1e16 } },
      { at: 7, action: { type: "check2" } },
    ],
    expect: ["allow", "allow", "allow", "deny", "allow", "allow", "allow", "deny"],
  },
  {
    name: "a sum past the largest number is an error",
    rules: 'rule big when action.type == "check" and sum(n where type == "big") > 0 deny because "positive"',
    steps: [
      { at: 0, action: { type: "big", n: 1.7e308 } },
      { at: 1, action: { type: "big", n: 1.7e308 } },
      { at: 2, action: { type: "check" } },
    ],
    expect: ["allow", "allow", "deny"],
  },
  {
    name: "a number that cannot be read poisons the window",
    rules: 'rule big when action.type == "pay" and sum(amount where type == "pay" within 1h) > 100 deny because "too much"',
    steps: [
      { at: 0, action: pay("ten") },
      { at: 1, action: pay(1) },
      { at: H, action: pay(1) },
      { at: H + 1, action: pay(1) },
    ],
    expect: ["allow", "deny", "allow", "allow"],
  },
  {
    name: "a reserved number taken back",
    rules: 'rule big when action.type == "pay" and sum(amount where type == "pay" within 1h) + action.amount > 100 deny because "too much"',
    steps: [
      { at: 0, action: pay(60), op: "reserve" },
      { at: 1, action: pay(50), op: "reserve" },
      { at: 2, release: 0 },
      { at: 3, action: pay(50), op: "reserve" },
      { at: 4, action: pay(51) },
    ],
    expect: ["allow", "deny", "released", "allow", "deny"],
  },
  {
    name: "a result's decision reads the sum, max and since with its call counted",
    rules: [
      'rule big on result when action.type == "pay" and sum(amount where type == "pay") >= 100 deny because "the result of a payment past 100"',
      'rule top on result when action.type == "pay" and max(amount where type == "pay") >= 70 deny because "a payment of 70"',
      'rule fresh on result when action.type == "login" and not seen(type == "login" since type == "logout") deny because "unreachable"',
    ].join("\n"),
    steps: [
      { at: 0, action: pay(60) },
      { at: 1, action: pay(50) },
      { at: 2, action: pay(70) },
      { at: 3, action: { type: "login" } },
    ],
    expect: ["allow/allow", "allow/deny", "allow/deny", "allow/allow"],
  },
  {
    name: "a plain count whose condition cannot be evaluated on an entry, while it is in the window",
    rules: 'rule many when action.type == "pay" and count(type == "pay" and amount > 3 within 1h) >= 5 deny because "five large ones an hour"',
    steps: [
      { at: 0, action: pay("x") },
      { at: 1, action: pay(5) },
      { at: H - 1, action: pay(5) },
      { at: H, action: pay(5) },
      { at: H + 1, action: pay(5) },
    ],
    expect: ["allow", "deny", "deny", "allow", "allow"],
  },
  {
    name: "max over a sliding window",
    rules: 'rule big when action.type == "pay" and max(amount where type == "pay" within 10m) >= 50 deny because "a large one lately"',
    steps: [
      { at: 0, action: pay(10) },
      { at: 60_000, action: pay(70) },
      { at: 120_000, action: pay(20) },
      { at: 600_000, action: pay(5) },
      { at: 660_000, action: pay(5) },
      { at: 661_000, action: pay(5) },
    ],
    expect: ["allow", "allow", "deny", "deny", "allow", "allow"],
  },
  {
    name: "min, and null when nothing matched",
    rules:
      'rule low when action.type == "pay" and min(amount where type == "pay" within 1h) < 5 deny because "a small one lately"\nrule none when action.type == "check" and min(amount where type == "refund") == null deny because "no refund yet"',
    steps: [
      { at: 0, action: { type: "check" } },
      { at: 1, action: pay(10) },
      { at: 2, action: pay(3) },
      { at: 3, action: pay(10) },
      { at: H + 2, action: pay(10) },
    ],
    expect: ["deny", "allow", "allow", "deny", "allow"],
  },
  {
    name: "max with a reservation taken back",
    rules: 'rule big when action.type == "pay" and max(amount where type == "pay") >= 50 deny because "a large one"',
    steps: [
      { at: 0, action: pay(60), op: "reserve" },
      { at: 1, action: pay(1), op: "reserve" },
      { at: 2, release: 0 },
      { at: 3, action: pay(1) },
    ],
    expect: ["allow", "deny", "released", "allow"],
  },
  {
    name: "seen A since B",
    rules: 'rule fresh when action.type == "send" and not seen(type == "login" since type == "logout") deny because "log in first"',
    steps: [
      { at: 0, action: { type: "send" } },
      { at: 1, action: { type: "login" } },
      { at: 2, action: { type: "send" } },
      { at: 3, action: { type: "logout" } },
      { at: 4, action: { type: "send" } },
      { at: 5, action: { type: "login" }, op: "reserve" },
      { at: 6, action: { type: "send" } },
      { at: 7, release: 5 },
      { at: 8, action: { type: "send" } },
    ],
    expect: ["deny", "allow", "allow", "allow", "deny", "allow", "allow", "released", "deny"],
  },
  {
    name: "seen A since B within a window",
    rules: 'rule fresh when action.type == "send" and not seen(type == "login" since type == "logout" within 1h) deny because "log in first"',
    steps: [
      { at: 0, action: { type: "login" } },
      { at: 1, action: { type: "send" } },
      { at: H, action: { type: "send" } },
    ],
    expect: ["allow", "allow", "deny"],
  },
  {
    name: "B that cannot be evaluated lasts for the whole history",
    rules: 'rule fresh when action.type == "send" and not seen(type == "login" since type == "logout" and reason > 3) deny because "log in first"',
    steps: [
      { at: 0, action: { type: "login" } },
      { at: 1, action: { type: "logout", reason: "x" } },
      { at: 2, action: { type: "login" } },
      { at: 10 * H, action: { type: "send" } },
    ],
    expect: ["allow", "allow", "allow", "deny"],
  },
  {
    name: "count per current key",
    rules: 'rule spam when action.type == "mail" and count(type == "mail" and to == current.to within 1h) >= 2 deny because "two a person an hour"',
    steps: [
      { at: 0, action: { type: "mail", to: "a" } },
      { at: 1, action: { type: "mail", to: "b" } },
      { at: 2, action: { type: "mail", to: "a" } },
      { at: 3, action: { type: "mail", to: "a" } },
      { at: 4, action: { type: "mail", to: "b" } },
      { at: 5, action: { type: "mail", to: "b" } },
      { at: H + 1, action: { type: "mail", to: "a" } },
    ],
    expect: ["allow", "allow", "allow", "deny", "allow", "deny", "allow"],
  },
  {
    name: "sum per current key, and keys through any",
    rules: 'rule most when action.type == "pay" and sum(amount where type == "pay" and any(t in to: t == current.who)) >= 100 deny because "100 a person"',
    steps: [
      { at: 0, action: pay(60, { to: ["a", "b"], who: "a" }) },
      { at: 1, action: pay(50, { to: ["b"], who: "b" }) },
      { at: 2, action: pay(10, { to: ["b"], who: "b" }) },
      { at: 3, action: pay(10, { to: ["a"], who: "a" }) },
      { at: 4, action: pay(40, { to: ["c", "a"], who: "a" }) },
      { at: 5, action: pay(1, { to: ["a"], who: "a" }) },
      { at: 6, action: pay(1, { to: ["c"], who: "c" }) },
    ],
    expect: ["allow", "allow", "deny", "allow", "allow", "deny", "allow"],
  },
  {
    name: "seen A since B per current key",
    rules: 'rule owner when action.type == "edit" and not seen(type == "lock" and doc == current.doc since type == "unlock_all") deny because "lock it first"',
    steps: [
      { at: 0, action: { type: "lock", doc: "x" } },
      { at: 1, action: { type: "edit", doc: "x" } },
      { at: 2, action: { type: "edit", doc: "y" } },
      { at: 3, action: { type: "unlock_all" } },
      { at: 4, action: { type: "edit", doc: "x" } },
    ],
    expect: ["allow", "allow", "deny", "allow", "deny"],
  },
  {
    name: "a key that cannot be made",
    rules: 'rule spam when action.type == "mail" and count(type == "mail" and to == current.to within 1h) >= 1 deny because "one a person"',
    steps: [
      { at: 0, action: { type: "mail", to: "a" } },
      { at: 1, action: { type: "mail", to: "a" } },
      { at: 2, action: { type: "mail" } },
      { at: 3, action: { type: "mail" } },
    ],
    expect: ["allow", "deny", "allow", "deny"],
  },
  // with a scope (language §7.1): one state per (scope value, tracker), shared by the sessions
  {
    name: "sum per user, across sessions",
    rules: 'rule big when action.type == "pay" and sum(amount where type == "pay" within 1h per user.id) + action.amount > 100 deny because "100 a user an hour"',
    steps: [
      { at: 0, action: pay(60), who: as("s1", "ann") },
      { at: 1, action: pay(30), who: as("s2", "ann") },
      { at: 2, action: pay(30), who: as("s3", "ann") },
      { at: 3, action: pay(90), who: as("s1", "bob") },
      { at: 4, action: pay(10), who: as("s3", "ann") },
      { at: 5, action: pay(1), who: as("s3", "ann") },
      // a user's history is not a session's: ending her sessions keeps it
      { at: 6, end: "s1" },
      { at: 7, end: "s3" },
      { at: 8, action: pay(1), who: as("s5", "ann") },
      { at: H, action: pay(60), who: as("s2", "ann") },
      { at: H + 5, action: pay(40), who: as("s4", "ann") },
      { at: H + 6, action: pay(1), who: as("s4", "ann") },
    ],
    expect: ["allow", "allow", "deny", "allow", "allow", "deny", "ended", "ended", "deny", "allow", "allow", "deny"],
  },
  {
    name: "a scoped sum's reservation taken back, and a decision without the scope's value",
    rules: 'rule big when action.type == "pay" and sum(amount where type == "pay" per context.tenant) + action.amount > 100 deny because "100 a tenant"',
    steps: [
      { at: 0, action: pay(60), op: "reserve", who: as("s1", "ann", "acme") },
      { at: 1, action: pay(50), op: "reserve", who: as("s2", "bob", "acme") },
      { at: 2, release: 0 },
      { at: 3, action: pay(50), op: "reserve", who: as("s2", "bob", "acme") },
      { at: 4, action: pay(51), who: as("s3", "cy", "acme") },
      { at: 5, action: pay(51), who: as("s3", "cy", "other") },
      { at: 6, action: pay(1), who: { session: "s3", user: { id: "cy" } } },
      { at: 7, action: pay(1), who: { session: "s3", context: { tenant: { not: "a scope" } } } },
    ],
    expect: ["allow", "deny", "released", "allow", "deny", "allow", "deny", "deny"],
  },
  {
    name: "max per tenant and min per deployment over a window",
    rules: [
      'rule top when action.type == "pay" and max(amount where type == "pay" within 10m per context.tenant) >= 50 deny because "a large one in the tenant lately"',
      'rule low when action.type == "check" and min(amount where type == "pay" within 10m per deployment) < 5 deny because "a small one anywhere lately"',
    ].join("\n"),
    steps: [
      { at: 0, action: pay(70), who: as("s1", "ann", "acme") },
      { at: 1, action: pay(3), who: as("s2", "bob", "other") },
      { at: 2, action: pay(10), who: as("s3", "cy", "acme") },
      { at: 3, action: pay(10), who: as("s3", "cy", "other") },
      { at: 4, action: { type: "check" }, who: as("s9", "dan", "none") },
      { at: 600_001, action: { type: "check" }, who: as("s9", "dan", "none") },
      { at: 600_002, action: pay(10), who: as("s3", "cy", "acme") },
    ],
    expect: ["allow", "allow", "deny", "allow", "deny", "allow", "allow"],
  },
  {
    name: "seen A since B per user, across sessions",
    rules: 'rule fresh when action.type == "send" and not seen(type == "login" since type == "logout" per user.id) deny because "log in first"',
    steps: [
      { at: 0, action: { type: "login" }, who: as("s1", "ann") },
      { at: 1, action: { type: "send" }, who: as("s2", "ann") },
      { at: 2, action: { type: "send" }, who: as("s2", "bob") },
      { at: 3, action: { type: "logout" }, who: as("s3", "ann") },
      { at: 4, action: { type: "send" }, who: as("s1", "ann") },
      { at: 5, action: { type: "login" }, op: "reserve", who: as("s4", "ann") },
      { at: 6, action: { type: "send" }, who: as("s1", "ann") },
      { at: 7, release: 5 },
      { at: 8, action: { type: "send" }, who: as("s2", "ann") },
    ],
    expect: ["allow", "allow", "deny", "allow", "deny", "allow", "allow", "released", "deny"],
  },
  {
    name: "count per current key per user",
    rules: 'rule spam when action.type == "mail" and count(type == "mail" and to == current.to within 1h per user.id) >= 2 deny because "two a person a user an hour"',
    steps: [
      { at: 0, action: { type: "mail", to: "a" }, who: as("s1", "ann") },
      { at: 1, action: { type: "mail", to: "a" }, who: as("s2", "ann") },
      { at: 2, action: { type: "mail", to: "a" }, who: as("s3", "ann") },
      { at: 3, action: { type: "mail", to: "a" }, who: as("s3", "bob") },
      { at: 4, action: { type: "mail", to: "b" }, who: as("s3", "ann") },
      { at: 5, action: { type: "mail" }, who: as("s3", "ann") },
      { at: H + 1, action: { type: "mail", to: "a" }, who: as("s1", "ann") },
    ],
    expect: ["allow", "allow", "deny", "allow", "allow", "allow", "allow"],
  },
  {
    name: "sum per action field, and a current key per action field",
    rules: [
      'rule most when action.type == "pay" and sum(amount where type == "pay" per action.account) + action.amount > 100 deny because "100 an account"',
      'rule twice when action.type == "pay" and seen(type == "pay" and to == current.to within 1h per action.account) deny because "once a payee an account"',
    ].join("\n"),
    steps: [
      { at: 0, action: pay(60, { account: "x", to: "p" }), who: as("s1", "ann") },
      { at: 1, action: pay(30, { account: "y", to: "p" }), who: as("s2", "bob") },
      { at: 2, action: pay(30, { account: "x", to: "q" }), who: as("s2", "bob") },
      { at: 3, action: pay(20, { account: "x", to: "r" }), who: as("s3", "cy") },
      { at: 4, action: pay(1, { account: "y", to: "p" }), who: as("s1", "ann") },
      { at: 5, action: pay(1, { account: 7, to: "p" }), who: as("s1", "ann") },
    ],
    expect: ["allow", "allow", "allow", "deny", "deny", "allow"],
  },
  {
    // the scope value is the one the decision read, before the policy redacted it (language §7.1)
    name: "per action field on a field the policy redacts: keyed by the value before redaction",
    rules: [
      'rule hide when action.type == "pay" redact account because "account numbers never reach the tool"',
      'rule twice when action.type == "pay" and count(type == "pay" within 1h per action.account) >= 2 deny because "two an account an hour"',
      'rule most when action.type == "pay" and sum(amount where type == "pay" per action.account) + action.amount > 100 deny because "100 an account"',
    ].join("\n"),
    steps: [
      { at: 0, action: pay(60, { account: "x" }), who: as("s1", "ann") },
      { at: 1, action: pay(50, { account: "y" }), who: as("s2", "bob") },
      { at: 2, action: pay(50, { account: "x" }), who: as("s2", "bob") },
      { at: 3, action: pay(1, { account: "x" }), op: "reserve", who: as("s3", "cy") },
      { at: 4, action: pay(1, { account: "x" }), who: as("s3", "cy") },
      { at: 5, action: pay(1, { account: "[REDACTED]" }), who: as("s3", "cy") },
      { at: 6, action: pay(1, { account: "y" }), op: "reserve", who: as("s1", "ann") },
      { at: 7, action: pay(1, { account: "y" }), who: as("s1", "ann") },
    ],
    expect: ["allow", "allow", "deny", "allow", "deny", "allow", "allow", "deny"],
  },
  {
    // a clock with fractions of a millisecond: an entry leaves the window exactly when now - time >= the window
    name: "window edges with a fractional clock",
    rules: [
      'rule many when action.type == "send" and count(type == "send" within 1h) >= 1 deny because "one an hour"',
      'rule big when action.type == "pay" and sum(amount where type == "pay" within 1h) >= 10 deny because "10 an hour"',
      'rule mine when action.type == "mail" and count(type == "mail" within 1h per user.id) >= 1 deny because "one a user an hour"',
    ].join("\n"),
    steps: [
      { at: 0, action: { type: "send" } },
      { at: H - 0.5, action: { type: "send" } },
      { at: H - 0.25, action: { type: "send" } },
      { at: H, action: { type: "send" } },
      { at: H + 0.5, action: pay(10) },
      { at: 2 * H + 0.25, action: pay(1) },
      { at: 2 * H + 0.5, action: pay(1) },
      { at: 2.5, action: { type: "mail" }, who: as("s1", "ann") },
      { at: H + 2, action: { type: "mail" }, who: as("s2", "ann") },
      { at: H + 2.5, action: { type: "mail" }, who: as("s2", "ann") },
    ],
    expect: ["allow", "deny", "deny", "allow", "allow", "deny", "allow", "allow", "deny", "allow"],
  },
];

type Outcome = { decision: string; rules: string[]; errors: string[] };

/** Runs a case's steps through an enforcer whose clock the steps set. */
async function runCase(c: Case, make: (clock: () => number) => Promise<Enforcer>): Promise<Outcome[]> {
  let now = 1_800_000_000_000;
  const start = now;
  const e = await make(() => now);
  const reserved = new Map<number, { id: string; session: string }>();
  const out: Outcome[] = [];
  for (const [i, step] of c.steps.entries()) {
    now = start + step.at;
    if ("release" in step) {
      const r = reserved.get(step.release)!;
      const ok = await e.release(r.id, { session: r.session });
      out.push({ decision: ok ? "released" : "not released", rules: [], errors: [] });
      continue;
    }
    if ("end" in step) {
      e.endSession(step.end);
      // the store forgets it in the background
      await new Promise((r) => setTimeout(r, 50));
      out.push({ decision: "ended", rules: [], errors: [] });
      continue;
    }
    const ctx = { session: "s", ...step.who };
    if (step.op === "reserve" || step.op === "decide") {
      const d = await e.decide(step.action, ctx, { reserve: step.op === "reserve" });
      if (step.op === "reserve" && d.decision === "allow") reserved.set(i, { id: d.id, session: ctx.session });
      out.push({ decision: d.decision, rules: d.rules.map((r) => r.id), errors: d.errors.map((x) => x.message) });
      continue;
    }
    const { decision: d, resultDecision: r } = await e.run(step.action, ctx, () => ({ text: "ran" }));
    // a result's decision reads the history with the call counted
    const both = r === undefined ? [d] : [d, r];
    out.push({ decision: both.map((x) => x.decision).join("/"), rules: both.flatMap((x) => x.rules.map((f) => f.id)), errors: both.flatMap((x) => x.errors.map((f) => f.message)) });
  }
  await e.close();
  return out;
}

const skip = skipWithoutRedis("store-redis kinds");

describe.skipIf(skip)("sum, max, min, since and current.F on Redis decide as in memory", () => {
  let redis: RedisServer;
  const stores: ReturnType<typeof redisStore>[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await redis?.dispose();
  });

  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_name, c, i) => {
    const source = `default allow\n${c.rules}\n`;
    const policy = { source, fileName: `kinds${i}.armor` };
    const memory = await runCase(c, (clock) => createEnforcer({ policy, clock, throwOnDeny: false }));
    const shared = await runCase(c, (clock) => {
      const s = redisStore({ url: redis.url, prefix: `k${i}`, timeoutMs: 5000 });
      stores.push(s);
      return createEnforcer({ policy, clock, history: s, throwOnDeny: false });
    });
    expect(memory.map((o) => o.decision)).toEqual(c.expect);
    expect(shared).toEqual(memory);
  });
});
