/**
 * History predicates with a scope (`per user.id`, `per context.tenant`, `per action.F`, `per
 * deployment`, docs/language.md §7.1): the runtime's trackers keep one state per scope value,
 * shared by every session, and the values they pass to `decide` must give the decision that
 * scanning the deployment's history gives (each entry with the user and context it was decided
 * with, `otherSession` for the entries of other sessions), in the compiled module and in the
 * reference interpreter.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { memoryHistoryStore, SessionTrackers } from "../packages/runtime/src/history.js";

const source = `
policy scopes
default allow
rule wires_per_user when action.type == "wire" and count(type == "wire" within 1h per user.id) >= 3 deny
rule wires_per_session when action.type == "wire" and count(type == "wire" within 1h) >= 2 require approval
rule tenant_sum when action.type == "wire" and sum(amount where type == "wire" within 1h per context.tenant) > 200 deny
rule tenant_max when max(amount where type == "wire" per context.tenant) >= 110 require approval
rule everyone when count(type == "delete" per deployment) >= 4 deny
rule login_per_user when action.type == "read" and not seen(type == "login" since type == "logout" per user.id) deny
rule per_account when action.type == "wire" and seen(type == "freeze" within 30m per action.account) deny
rule per_user_ticker when action.type == "sell" and count(type == "sell" and ticker == current.ticker within 1h per user.id) >= 2 deny
`;

const compilation = compileSource("scopes.armor", source, { readFile: () => undefined });
const T0 = Date.parse("2026-03-02T00:00:00Z");
const iso = (ms: number): string => new Date(ms).toISOString();

/** Scope values: ids that collide, `1` beside `"1"`, and values that key no scope (missing, lists, objects, booleans). */
const idArb = fc.constantFrom<unknown>("u1", "u2", 1, "1", 0, -0, undefined, ["u1"], { id: "u1" }, true, "__proto__");
const whoArb = fc.record({ user: fc.oneof(fc.record({ id: idArb }), fc.constant(undefined)), context: fc.oneof(fc.record({ tenant: idArb }), fc.constant(undefined)) });
const actionArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant("wire"), amount: fc.integer({ min: -20, max: 120 }), account: idArb }),
  fc.record({ type: fc.constantFrom("login", "logout", "read", "delete"), account: idArb }),
  fc.record({ type: fc.constant("freeze"), account: idArb }),
  fc.record({ type: fc.constant("sell"), ticker: fc.constantFrom("A", "B") }),
);
const stepArb = fc.record({ action: actionArb, who: whoArb, session: fc.constantFrom("s1", "s2", "s3"), gap: fc.nat(25) });

const plain = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const outcome = (d: { decision: string; rules: { id: string }[]; errors: { rule: string | null }[] }) => ({
  decision: d.decision,
  rules: d.rules.map((r) => r.id),
  errors: d.errors.map((e) => e.rule),
});

describe("history predicates with a scope", () => {
  it("compile to trackers that name their scope and key a decision by it", async () => {
    expect(compilation.diagnostics).toEqual([]);
    const module = await loadModule(emit(compilation).js);
    expect(module.trackers.map((t) => t.scope ?? null)).toEqual(["user.id", null, "context.tenant", "context.tenant", "deployment", "user.id", "action.account", "user.id"]);
    const perUser = module.trackers[0]!;
    expect(perUser.scopeKey!({ type: "wire" }, { id: "u1" }, null)).toBe(perUser.scopeKey!({ type: "x" }, { id: "u1", role: "a" }, { tenant: "t" }));
    expect(perUser.scopeKey!({}, { id: 1 }, null)).not.toBe(perUser.scopeKey!({}, { id: "1" }, null));
    expect(perUser.scopeKey!({}, { id: 0 }, null)).toBe(perUser.scopeKey!({}, { id: -0 }, null));
    expect(() => perUser.scopeKey!({}, {}, null)).toThrow("`per user.id`: the decision has no `user.id`");
    // the same predicate with and without a scope are two trackers, with two identities
    expect(module.trackers[0]!.key).not.toBe(module.trackers[1]!.key);
  });

  it("runtime values across sessions decide as scanning the deployment's history does (compiled and interpreted)", async () => {
    const module = await loadModule(emit(compilation).js);
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), actionArb, whoArb, fc.constantFrom("s1", "s2", "s4"), fc.nat(30), (steps, current, who, session, lastGap) => {
        const trackers = new SessionTrackers(memoryHistoryStore());
        const recorded: { action: Record<string, unknown>; time: string; session: string; user?: unknown; context?: unknown }[] = [];
        let now = T0;
        for (const s of steps) {
          now += s.gap * 60_000;
          trackers.record(s.session, s.action, now, [module.trackers], undefined, false, s.who);
          recorded.push({ action: s.action, time: iso(now), session: s.session, user: plain(s.who.user), context: plain(s.who.context) });
        }
        now += lastGap * 60_000;
        const history = recorded.map(({ session: from, ...e }) => (from === session ? e : { ...e, otherSession: true }));
        const values = trackers.values(session, module.trackers, now, current, who);
        const input = { action: current, time: iso(now), user: plain(who.user), context: plain(who.context) };
        const scanned = module.decide({ ...input, history });
        expect(outcome(module.decide(input, values))).toEqual(outcome(scanned));
        expect(outcome(evaluatePolicy(compilation.policy, input, { trackerValues: values }).result)).toEqual(outcome(scanned));
        expect(evaluatePolicy(compilation.policy, { ...input, history }).result).toEqual(scanned);
      }),
      { numRuns: 1500 },
    );
  });

  it("takes back a released action in its scope, and seeds a predicate a reload adds from the scope's recent actions", async () => {
    const module = await loadModule(emit(compilation).js);
    const perUser = compileSource(
      "v2.armor",
      'default allow\nrule r when count(type == "wire" within 1h per user.id) >= 2 deny\nrule s when seen(type == "wire" within 2h per user.id) require approval',
      {
        readFile: () => undefined,
      },
    );
    const v2 = await loadModule(emit(perUser).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    const ann = { user: { id: "ann" }, context: null };
    trackers.record("s1", { type: "wire" }, T0, [module.trackers], undefined, false, ann);
    const released = trackers.record("s2", { type: "wire" }, T0 + 1000, [module.trackers], undefined, false, ann);
    expect(trackers.values("s3", [module.trackers[0]!], T0 + 2000, { type: "wire" }, ann)).toEqual([2]);
    released.cancel();
    expect(trackers.values("s3", [module.trackers[0]!], T0 + 2000, { type: "wire" }, ann)).toEqual([1]);
    // v2's predicates: the first is v1's (same identity), the second is new and starts from ann's recent actions
    expect(v2.trackers[0]!.key).toBe(module.trackers[0]!.key);
    expect(trackers.values("s9", v2.trackers, T0 + 3000, { type: "wire" }, ann)).toEqual([1, true]);
    expect(trackers.values("s9", v2.trackers, T0 + 3000, { type: "wire" }, { user: { id: "bob" }, context: null })).toEqual([0, false]);
  });
});
