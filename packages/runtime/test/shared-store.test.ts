/**
 * The shared-store path of the enforcer (enforcer/store-step.ts) against the in-memory store: a
 * SharedHistoryStore written over Maps (what the Redis scripts do, without a network) and the
 * default store decide every step of a table of scenarios alike. Also: a store that rejects
 * denies naming it, and `record`/`release` reject with HistoryStoreUnavailable.
 */
import { describe, expect, it } from "vitest";
import { createEnforcer, type Enforcer, HistoryStoreUnavailable, type SharedHistoryStore, type StoreFiling, type StoreRead } from "../src/index.js";

/** A shared store in this process: per scope and tracker, entries (id → time) and poison (id → [time, error]). */
function mapStore(): SharedHistoryStore & { calls: number } {
  const entries = new Map<string, Map<string, number>>();
  const poison = new Map<string, Map<string, [number, string]>>();
  const labels = new Map<string, string[]>();
  const reservations = new Map<string, { scope: string; time: number; filed: [string, boolean][]; hash: string; labels: string[] }>();
  const set = <V>(m: Map<string, Map<string, V>>, k: string) => m.get(k) ?? m.set(k, new Map()).get(k)!;
  const file = (scope: string, id: string, time: number, filings: readonly StoreFiling[]): [string, boolean][] =>
    filings.map((f) => {
      // a tracker with a scope of its own (`per user.id`) is kept under that scope value, for every session
      const key = f.tracker.scope === undefined ? `${scope}\u0000${f.tracker.key}` : `scope\u0000${f.tracker.scope}\u0000${f.tracker.key}`;
      if (f.error === null) set(entries, key).set(id, time);
      else set(poison, key).set(id, [time, f.error]);
      return [key, f.error === null];
    });
  const unfile = (id: string, filed: [string, boolean][]) => {
    for (const [key, entry] of filed) (entry ? entries : poison).get(key)?.delete(id);
  };
  const store = {
    shared: true as const,
    name: "map://test",
    calls: 0,
    async read(r: StoreRead) {
      store.calls++;
      const values = r.trackers.map((t) => {
        const key = t.scope === undefined ? `${r.scope}\u0000${t.key}` : `scope\u0000${t.scope}\u0000${t.key}`;
        const inWindow = (time: number) => t.withinMs === null || r.now - time < t.withinMs;
        const count = [...(entries.get(key)?.values() ?? [])].filter(inWindow).length;
        const oldest = [...(poison.get(key)?.values() ?? [])].filter(([time]) => inWindow(time)).sort((a, b) => a[0] - b[0])[0];
        return { count, error: oldest?.[1] ?? null };
      });
      if (r.reserve) reservations.set(r.reserve.id, { scope: r.scope, time: r.now, filed: file(r.scope, r.reserve.id, r.now, r.reserve.filings), hash: r.reserve.actionHash, labels: [] });
      return { values, labels: [...(labels.get(r.scope) ?? [])] };
    },
    async refile(id: string, scope: string, _now: number, filings: readonly StoreFiling[], next: readonly string[]) {
      const res = reservations.get(id);
      if (res === undefined || res.scope !== scope) return;
      unfile(id, res.filed);
      res.filed = file(scope, id, res.time, filings);
      res.labels = [...next];
    },
    async keep(id: string, scope: string, hash: string) {
      const res = reservations.get(id);
      if (res === undefined || res.scope !== scope) return false;
      res.hash = hash;
      return true;
    },
    async confirm(id: string, scope: string, hash?: string) {
      const res = reservations.get(id);
      if (res === undefined || res.scope !== scope || (hash !== undefined && hash !== res.hash)) return false;
      reservations.delete(id);
      return true;
    },
    async pending(id: string, scope: string) {
      const res = reservations.get(id);
      return res === undefined || res.scope !== scope ? null : { actionHash: res.hash, labels: res.labels };
    },
    async release(id: string, scope: string) {
      const res = reservations.get(id);
      if (res === undefined || res.scope !== scope) return false;
      unfile(id, res.filed);
      reservations.delete(id);
      return true;
    },
    async addLabels(scope: string, added: readonly string[]) {
      const held = labels.get(scope) ?? [];
      for (const l of added) if (!held.includes(l)) held.push(l);
      labels.set(scope, held);
      return null;
    },
    async forget(scope: string) {
      labels.delete(scope);
      for (const m of [entries, poison]) for (const k of [...m.keys()]) if (k.startsWith(`${scope}\u0000`)) m.delete(k);
    },
    async close() {},
  };
  return store;
}

const POLICY = `default allow
rule hourly when action.type == "send" and count(type == "send" within 1h) >= 3 deny because "at most 3 an hour"
rule once when action.type == "wire" and seen(type == "wire") deny because "one wire"
rule broken when action.type == "probe" and seen(amount > 1 within 1h) deny because "probe after a big one"
rule tainted on result when action.type == "fetch" and result.text contains "evil" label "untrusted"
rule after when action.type == "mail" and seen(labels contains "untrusted" within 1h) deny because "not after untrusted"
rule redacts when action.type == "note" redact action.text matching /secret/ with "[x]"
rule notes when action.type == "note" and count(text == "[x]" within 1h) >= 1 deny because "one redacted note"
`;

type Step = (e: Enforcer) => Promise<unknown>;
const run =
  (action: Record<string, unknown>, result: unknown = "ok"): Step =>
  async (e) => {
    const r = await e.run(action, { session: "s" }, () => result);
    return [r.decision.decision, r.resultDecision?.labels ?? null];
  };
const decideReserve =
  (action: Record<string, unknown>): Step =>
  async (e) =>
    (await e.decide(action, { session: "s" }, { reserve: true })).decision;
/** Decides with reserve, then releases it: the action no longer counts. */
const reserveThenRelease =
  (action: Record<string, unknown>): Step =>
  async (e) => {
    const d = await e.decide(action, { session: "s" }, { reserve: true });
    return [d.decision, await e.release(d.id, { session: "s" })];
  };
const reserveThenRecord =
  (action: Record<string, unknown>): Step =>
  async (e) => {
    const d = await e.decide(action, { session: "s" }, { reserve: true });
    return [d.decision, (await e.record(d.action, { session: "s" }, { decisionId: d.id })).settled];
  };
const record =
  (action: Record<string, unknown>): Step =>
  async (e) =>
    (await e.record(action, { session: "s" })).settled;

const SCENARIOS: [string, Step[]][] = [
  ["a limit reached by runs", [run({ type: "send" }), run({ type: "send" }), run({ type: "send" }), run({ type: "send" })]],
  [
    "a limit reached by reservations, one released",
    [decideReserve({ type: "send" }), decideReserve({ type: "send" }), reserveThenRelease({ type: "send" }), decideReserve({ type: "send" }), decideReserve({ type: "send" })],
  ],
  ["records settle reservations and count the rest", [reserveThenRecord({ type: "send" }), record({ type: "send" }), run({ type: "send" }), run({ type: "send" })]],
  ["seen without a window", [run({ type: "wire" }), decideReserve({ type: "wire" }), run({ type: "wire" })]],
  ["a condition that cannot be evaluated poisons", [run({ type: "probe" }), run({ type: "x", amount: "many" }), run({ type: "probe" })]],
  ["a result's labels on its call's entry", [run({ type: "mail" }), run({ type: "fetch" }, { text: "fine" }), run({ type: "mail" }), run({ type: "fetch" }, { text: "evil" }), run({ type: "mail" })]],
  ["a redacted action is counted as it ran", [run({ type: "note", text: "secret" }), run({ type: "note", text: "plain" })]],
  ["a redacted action reserved, recorded as decided", [reserveThenRecord({ type: "note", text: "secret" }), run({ type: "note", text: "plain" })]],
];

describe("a shared store decides as the in-memory store", () => {
  it.each(SCENARIOS)("%s", async (_name, steps) => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const clock = () => (now += 1000);
    const memory = await createEnforcer({ policy: { source: POLICY, fileName: "p.armor" }, throwOnDeny: false, clock });
    const store = mapStore();
    const shared = await createEnforcer({ policy: { source: POLICY, fileName: "p.armor" }, throwOnDeny: false, clock, history: store });
    const got: unknown[][] = [[], []];
    for (const step of steps) {
      got[0]!.push(await step(memory));
      got[1]!.push(await step(shared));
    }
    expect(got[1]).toEqual(got[0]);
    // every scenario ends on a deny its history caused: the table tests the history, not only allows
    expect(JSON.stringify(got[0]!.at(-1))).toContain("deny");
    expect(store.calls).toBeGreaterThanOrEqual(steps.length);
  });

  it("settles a reservation of a policy without history in another enforcer, as one enforcer does", async () => {
    const store = mapStore();
    const [a, b] = await Promise.all([0, 1].map(() => createEnforcer({ policy: { source: "default allow", fileName: "p.armor" }, throwOnDeny: false, history: store })));
    const d = await a!.decide({ type: "x" }, { session: "s" }, { reserve: true });
    expect(d.reserved).toBe(true);
    expect((await b!.record({ type: "x" }, { session: "s" }, { decisionId: d.id })).settled).toBe(true);
  });
});

describe("a shared store keeps scoped predicates per scope value, across sessions", () => {
  const SCOPED = `default allow
rule per_user when action.type == "pay" and count(type == "pay" within 1h per user.id) >= 3 deny because "at most 3 an hour per user"
rule per_tenant when action.type == "pay" and seen(type == "freeze" per context.tenant) deny because "frozen tenant"
`;
  // [session, user id, tenant, action type, how]: the same steps against the in-memory store and a shared one
  const steps: [string, string | null, string, string, "run" | "reserve" | "release"][] = [
    ["s1", "ann", "t1", "pay", "run"],
    ["s2", "ann", "t1", "pay", "reserve"],
    ["s3", "ann", "t2", "pay", "release"],
    ["s3", "ann", "t2", "pay", "run"],
    ["s4", "ann", "t2", "pay", "run"],
    ["s4", "bob", "t2", "pay", "run"],
    ["s5", "bob", "t1", "freeze", "run"],
    ["s6", "cid", "t1", "pay", "run"],
    ["s6", "cid", "t2", "pay", "run"],
    ["s7", null, "t2", "pay", "run"],
  ];
  it("decides every step as the in-memory store does", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const clock = () => (now += 1000);
    const memory = await createEnforcer({ policy: { source: SCOPED, fileName: "p.armor" }, throwOnDeny: false, clock });
    const shared = await createEnforcer({ policy: { source: SCOPED, fileName: "p.armor" }, throwOnDeny: false, clock, history: mapStore() });
    const got: unknown[][] = [[], []];
    for (const [session, id, tenant, type, how] of steps) {
      for (const [i, e] of [memory, shared].entries()) {
        const ctx = { session, ...(id === null ? {} : { user: { id } }), context: { tenant } };
        if (how === "run") got[i]!.push((await e.run({ type }, ctx, () => "ok")).decision.decision);
        else {
          const d = await e.decide({ type }, ctx, { reserve: true });
          got[i]!.push([d.decision, d.errors.map((x) => x.message), how === "release" ? await e.release(d.id, ctx) : null]);
        }
      }
    }
    expect(got[1]).toEqual(got[0]);
    expect(JSON.stringify(got[0])).toContain("deny");
    // ann's third and fourth pays (other sessions, another tenant) reach her limit; cid's pay in the frozen
    // tenant is denied, in the other tenant allowed; a pay without a user has no `user.id` and is denied
    expect(got[0]).toEqual(["allow", ["allow", [], null], ["allow", [], true], "allow", "deny", "allow", "allow", "deny", "allow", "deny"]);
  });
});

describe("a shared store that does not answer", () => {
  const failing = (): SharedHistoryStore => {
    const fail = async () => {
      throw new Error("connection refused");
    };
    return { shared: true, name: "map://down", read: fail, refile: fail, keep: fail, confirm: fail, pending: fail, release: fail, addLabels: fail, forget: fail, close: async () => {} };
  };
  it.each([
    ["run", (e: Enforcer) => e.run({ type: "x" }, { session: "s" }, () => "ran").then((r) => r.decision)],
    ["decide with reserve", (e: Enforcer) => e.decide({ type: "x" }, { session: "s" }, { reserve: true })],
    ["decide", (e: Enforcer) => e.decide({ type: "x" }, { session: "s" })],
    ["checkOutput", (e: Enforcer) => e.checkOutput("hello", { session: "s" })],
  ])("%s denies naming the store, even under a policy without history", async (_name, call) => {
    const e = await createEnforcer({ policy: { source: "default allow", fileName: "p.armor" }, throwOnDeny: false, history: failing() });
    const d = await call(e);
    expect(d.decision).toBe("deny");
    expect(d.errors[0]?.message).toBe("history store unavailable: map://down: connection refused");
  });
  it("record and release reject with HistoryStoreUnavailable", async () => {
    const e = await createEnforcer({ policy: { source: "default allow", fileName: "p.armor" }, throwOnDeny: false, history: failing() });
    await expect(e.record({ type: "x" }, { session: "s" })).rejects.toBeInstanceOf(HistoryStoreUnavailable);
    await expect(e.release("some-id", { session: "s" })).rejects.toThrow(/^history store unavailable: map:\/\/down: connection refused$/);
  });
});
