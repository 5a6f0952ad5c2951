/**
 * Hostile scopes (`per user.id`, `per context.tenant`, `per action.F`, `per deployment`,
 * docs/language.md §7.1): scope values that are `__proto__` or `constructor` (as values, as own
 * keys, on a prototype), a megabyte, objects, lists, booleans, non-finite numbers or missing, in
 * the decision and in the entries; 100,000 distinct scope values and one more; a scope naming a
 * field the schema does not have. What must hold: a decision whose scope value cannot key a scope
 * denies saying why, the same in compiled code, the interpreter and the runtime; an entry whose
 * value cannot is in no scope; no prototype is read as a scope; the runtime holds at most
 * MAX_SCOPES scope values and denies rather than leave an action uncounted.
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import { loadModule } from "../../packages/compiler/src/load.js";
import { createEnforcer } from "../../packages/runtime/src/enforcer.js";
import { MAX_SCOPES, memoryHistoryStore, SCOPE_OVERSHOOT, ScopeUnavailable, SessionTrackers, scopesFull } from "../../packages/runtime/src/history.js";

const source = `
default allow
rule per_user when action.type == "wire" and count(type == "wire" per user.id) >= 1 deny because "one wire per user"
`;
const compilation = compileSource("scopes.armor", source, { readFile: () => undefined });
const T0 = Date.parse("2026-03-02T00:00:00Z");
const iso = (ms: number): string => new Date(ms).toISOString();
const big = "x".repeat(1024);

/** A user whose `id` is on its prototype, not its own. */
const inherited = Object.create({ id: "ann" }) as Record<string, unknown>;

describe("hostile scope values of the decision", () => {
  // [case, the decision's user, the error (null: the value keys a scope, and the earlier wire of that user counts)]
  const cases: [string, unknown, string | null][] = [
    ['"__proto__"', { id: "__proto__" }, null],
    ['"constructor"', { id: "constructor" }, null],
    ["an own `__proto__` key holding the id", JSON.parse('{"__proto__": {"id": "ann"}}'), "`per user.id`: the decision has no `user.id`"],
    ["an id on the prototype only", inherited, "`per user.id`: the decision has no `user.id`"],
    ["1,024 characters", { id: big }, null],
    ["1,025 characters", { id: `${big}x` }, "`per user.id`: `user.id` is longer than 1,024 characters"],
    ["a megabyte", { id: "y".repeat(1 << 20) }, "`per user.id`: `user.id` is longer than 1,024 characters"],
    ["an object", { id: { id: "ann" } }, "`per user.id`: `user.id` is an object, not a string or a finite number"],
    ["a list", { id: ["ann"] }, "`per user.id`: `user.id` is a list, not a string or a finite number"],
    ["a boolean", { id: true }, "`per user.id`: `user.id` is a boolean, not a string or a finite number"],
    ["Infinity", { id: Number.POSITIVE_INFINITY }, "`per user.id`: `user.id` is a non-finite number, not a string or a finite number"],
    ["NaN", { id: Number.NaN }, "`per user.id`: `user.id` is a non-finite number, not a string or a finite number"],
    ["null", { id: null }, "`per user.id`: the decision has no `user.id`"],
    ["no user", undefined, "`per user.id`: the decision has no `user.id`"],
    ["a user that is a string", "ann", "`per user.id`: the decision has no `user.id`"],
    ["-0 (the same scope as 0)", { id: -0 }, null],
  ];
  it.each(cases)("%s", async (_name, user, error) => {
    const module = await loadModule(emit(compilation).js);
    const action = { type: "wire" };
    // the earlier wire was made by a user with the same id (for -0: with 0), in another session
    const id = user !== null && typeof user === "object" && Object.hasOwn(user, "id") ? (user as { id: unknown }).id : "ann";
    const earlierUser = { id: Object.is(id, -0) ? 0 : id };
    const input = { action, user, time: iso(T0 + 1000), history: [{ action, user: earlierUser, otherSession: true, time: iso(T0) }] };
    const expected = error === null ? { decision: "deny", rules: ["per_user"], errors: [] } : { decision: "deny", rules: [], errors: [{ rule: "per_user", message: error }] };
    const shape = (d: { decision: string; rules: { id: string }[]; errors: unknown[] }) => ({ decision: d.decision, rules: d.rules.map((r) => r.id), errors: d.errors });
    expect(shape(module.decide(input))).toEqual(expected);
    expect(shape(evaluatePolicy(compilation.policy, input).result)).toEqual(expected);
    // the runtime: the earlier wire recorded in another session, then the values for this decision
    const trackers = new SessionTrackers(memoryHistoryStore());
    trackers.record("other", action, T0, [module.trackers], undefined, false, { user: earlierUser, context: null });
    const values = trackers.values("this", module.trackers, T0 + 1000, action, { user, context: null });
    expect(values).toEqual([error === null ? 1 : { error }]);
    expect(shape(module.decide({ action, user, time: iso(T0 + 1000) }, values))).toEqual(expected);
  });

  it("reads no `Object.prototype` field as a scope value", async () => {
    const module = await loadModule(emit(compilation).js);
    const proto = Object.prototype as Record<string, unknown>;
    proto.id = "ann";
    try {
      const input = { action: { type: "wire" }, user: {}, history: [{ action: { type: "wire" }, user: {} }] };
      for (const d of [module.decide(input), evaluatePolicy(compilation.policy, input).result])
        expect(d.errors).toEqual([{ rule: "per_user", message: "`per user.id`: the decision has no `user.id`" }]);
    } finally {
      delete proto.id;
    }
  });
});

describe("hostile scope values of the entries", () => {
  // entries whose user id cannot key a scope are in no scope: no error, and they count for no one
  const entries: [string, unknown][] = [
    ["an own `__proto__` key", JSON.parse('{"__proto__": {"id": "ann"}}')],
    ["a megabyte", { id: "z".repeat(1 << 20) }],
    ["an object", { id: { toString: "ann" } }],
    ["a list", { id: ["ann"] }],
    ["missing", {}],
    ["a user that is a list", [{ id: "ann" }]],
  ];
  it.each(entries)("%s", async (_name, user) => {
    const module = await loadModule(emit(compilation).js);
    const action = { type: "wire" };
    const input = { action, user: { id: "ann" }, history: [{ action, user, otherSession: true }] };
    for (const d of [module.decide(input), evaluatePolicy(compilation.policy, input).result]) expect([d.decision, d.errors]).toEqual(["allow", []]);
    const trackers = new SessionTrackers(memoryHistoryStore());
    trackers.record("other", action, T0, [module.trackers], undefined, false, { user, context: null });
    expect(trackers.values("this", module.trackers, T0, action, { user: { id: "ann" }, context: null })).toEqual([0]);
  });

  it("an `otherSession` that is not a boolean is an error of the rules that read history", async () => {
    const module = await loadModule(emit(compilation).js);
    const input = { action: { type: "wire" }, user: { id: "ann" }, history: [{ action: { type: "wire" }, otherSession: "yes" }] };
    for (const d of [module.decide(input), evaluatePolicy(compilation.policy, input).result]) {
      expect(d.errors).toEqual([{ rule: "per_user", message: "`history[0].otherSession` must be true or false" }]);
    }
  });
});

describe("many scope values", () => {
  it(`keeps at most ${MAX_SCOPES.toLocaleString("en-US")}, drops the empty ones, and denies past the bound`, async () => {
    const windowed = compileSource("w.armor", 'default allow\nrule r when count(type == "wire" within 1m per user.id) >= 5 deny', { readFile: () => undefined });
    const module = await loadModule(emit(windowed).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    const action = { type: "wire" };
    for (let i = 0; i < MAX_SCOPES; i++) trackers.record(`s${i % 100}`, action, T0, [module.trackers], undefined, false, { user: { id: i }, context: null });
    const who = (id: unknown) => ({ user: { id }, context: null });
    // a value held reads its history; a new one cannot be held while every one is in its window
    expect(trackers.values("s", module.trackers, T0 + 1000, action, who(7))).toEqual([1]);
    const full = trackers.values("s", module.trackers, T0 + 1000, action, who("new"))[0];
    expect(full).toBeInstanceOf(ScopeUnavailable);
    expect(full).toEqual({ error: scopesFull("user.id") });
    // recording past the bound (no decision checked it) keeps at most SCOPE_OVERSHOOT more values
    for (let i = 0; i < SCOPE_OVERSHOOT + 10; i++) trackers.record("s", action, T0 + 2000, [module.trackers], undefined, false, { user: { id: `late-${i}` }, context: null });
    expect(trackers.values("s", module.trackers, T0 + 3000, action, who("late-5"))).toEqual([1]);
    expect(trackers.values("s", module.trackers, T0 + 3000, action, who(`late-${SCOPE_OVERSHOOT + 5}`))[0]).toBeInstanceOf(ScopeUnavailable);
    // a minute later every scope's history is empty: they are dropped, and the new value is held
    expect(trackers.values("s", module.trackers, T0 + 61_000, action, who("new"))).toEqual([0]);
  }, 120_000);

  it("the enforcer denies a decision whose scope value cannot be held, even when no rule reads it", async () => {
    const enforcer = await createEnforcer({
      policy: { source: 'default allow\nrule r when action.type == "wire" and count(type == "wire" per user.id) >= 1000 deny', fileName: "p.armor" },
      throwOnDeny: false,
    });
    for (let i = 0; i < MAX_SCOPES; i++) await enforcer.record({ type: "wire" }, { session: "s", user: { id: i } });
    // a read for an id held still decides; an action of another type, which no rule reads the count for, is denied for a new id
    expect((await enforcer.decide({ type: "wire" }, { session: "s", user: { id: 5 } })).decision).toBe("allow");
    const d = await enforcer.decide({ type: "read" }, { session: "s", user: { id: "new" } });
    expect([d.decision, d.errors]).toEqual(["deny", [{ rule: null, message: scopesFull("user.id") }]]);
  }, 300_000);
});

describe("a scope naming a field the schema does not have", () => {
  it("is A302 at compile time and an evaluation error (deny) at decision time", async () => {
    const schema = JSON.stringify({ oneOf: [{ type: "object", properties: { type: { const: "wire" }, account: { type: "string" } }, required: ["type"] }] });
    const c = compileSource("p.armor", 'schema "s.json"\ndefault allow\nrule r when action.type == "wire" and count(true within 1h per action.acount) >= 3 deny', { readFile: () => schema });
    expect(c.diagnostics.map((d) => d.code)).toEqual(["A302"]);
    const module = await loadModule(emit(c).js);
    const input = { action: { type: "wire", account: "a" }, history: [] };
    for (const d of [module.decide(input), evaluatePolicy(c.policy, input).result]) {
      expect([d.decision, d.errors]).toEqual(["deny", [{ rule: "r", message: "`per action.acount`: the decision has no `action.acount`" }]]);
    }
  });
});
