/**
 * `sum`, `max`, `min`, `count` over a whole session and `seen(A since B)`: the runtime's trackers
 * (packages/runtime/src/history.ts, tracker-kinds.ts) keep O(1) state per decision, and the values
 * they pass to `decide` must give the decision that scanning the same history gives, in the
 * compiled module and in the reference interpreter; reservations taken back, reloads and poisoned
 * windows included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { memoryHistoryStore, SessionTrackers } from "../packages/runtime/src/history.js";

const source = `
policy kinds
default allow
rule budget when action.type == "wire" and sum(amount where type == "wire" within 1h) > 100 deny
rule total when action.type == "wire" and sum(amount where type == "wire") > 300 require approval
rule biggest when max(amount where type == "wire" within 30m) >= 90 deny
rule smallest when action.type == "refund" and min(amount where type == "wire") < 5 deny
rule live when action.type == "read" and not seen(type == "login" since type == "logout") deny
rule live_recent when action.type == "write" and seen(type == "login" since type == "logout" within 20m) allow
rule calls when count(true) >= 25 deny
rule writes when action.type == "write" and count(type == "write") >= 3 require approval
rule same_ticker when action.type == "sell" and not seen(type == "approve" and ticker == current.ticker within 1h) deny
rule same_doc_and_user when action.type == "write" and not seen(type == "read" and doc == current.doc and user_id == current.user_id) require approval
rule per_recipient when action.type == "email" and count(type == "email" and current.to == to within 30m) >= 2 deny
rule per_ticker_sum when action.type == "sell" and sum(amount where type == "sell" and ticker == current.ticker within 1h) > 100 deny
rule per_ticker_since when action.type == "sell" and seen(type == "approve" and ticker == current.ticker since type == "revoke") allow
rule reply_only when action.type == "email" and not seen(type == "inbox" and any(f in from: f == current.to) within 30m) require approval
rule shared when action.type == "write" and seen(type == "share" and doc == current.doc and any(u in readers: current.user_id == u.id)) deny
`;

const compilation = compileSource("kinds.armor", source, { readFile: () => undefined });
const T0 = Date.parse("2026-03-02T00:00:00Z");
const iso = (ms: number): string => new Date(ms).toISOString();

interface Step {
  action: Record<string, unknown>;
  /** Minutes after the previous step. */
  gap: number;
}

/** Key values: strings, numbers that `==` treats alike (`0`, `-0`), `"1"` beside `1`, objects with their members in either order, lists, `null`. */
const keyArb = fc.constantFrom<unknown>("A", "B", 1, "1", 0, -0, null, { a: 1, b: [2] }, { b: [2], a: 1 }, [1, "x"], "__proto__");
const withKeys = (type: fc.Arbitrary<string>, fields: string[]): fc.Arbitrary<Record<string, unknown>> =>
  fc.tuple(type, ...fields.map(() => fc.option(keyArb, { nil: undefined })), fc.integer({ min: -20, max: 120 })).map(([t, ...rest]) => {
    const out: Record<string, unknown> = { type: t, amount: rest[rest.length - 1] };
    // a field left out reads as null, like one given as null
    fields.forEach((f, i) => {
      if (rest[i] !== undefined) out[f] = rest[i];
    });
    return out;
  });
/** A list in an entry, for `any(x in LIST: x == current.F)`: elements with duplicates and equal-but-reordered values, empty, or missing. */
const keyListArb = <T>(element: fc.Arbitrary<T>): fc.Arbitrary<T[] | undefined> => fc.option(fc.array(element, { maxLength: 4 }), { nil: undefined });
const withList = (type: string, field: string, element: fc.Arbitrary<unknown>, extra: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> =>
  fc.tuple(keyListArb(element), fc.record(extra)).map(([list, rest]) => ({ type, ...rest, ...(list === undefined ? {} : { [field]: list }) }));
const actionArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant("wire"), amount: fc.integer({ min: -20, max: 120 }) }),
  withList("inbox", "from", keyArb, {}),
  withList("share", "readers", fc.oneof(fc.record({ id: keyArb }), fc.constant({}), keyArb), { doc: keyArb }),
  fc.record({ type: fc.constantFrom("login", "logout", "read", "write", "refund", "revoke") }),
  withKeys(fc.constantFrom("approve", "sell", "revoke"), ["ticker"]),
  withKeys(fc.constantFrom("read", "write"), ["doc", "user_id"]),
  withKeys(fc.constant("email"), ["to"]),
);
const stepArb: fc.Arbitrary<Step> = fc.record({ action: actionArb, gap: fc.nat(25) });

/** What a decision says, without the error texts (the runtime's texts name no history index). */
const outcome = (d: { decision: string; rules: { id: string }[]; errors: { rule: string | null }[] }) => ({
  decision: d.decision,
  rules: d.rules.map((r) => r.id),
  errors: d.errors.map((e) => e.rule),
});

describe("tracker kinds", () => {
  it("compiles to one tracker per predicate, with since and value where they belong", async () => {
    expect(compilation.ok).toBe(true);
    const module = await loadModule(emit(compilation).js);
    expect(module.trackers.map((t) => [t.kind, t.withinMs, typeof t.since, typeof t.value])).toEqual([
      ["sum", 3_600_000, "undefined", "function"],
      ["sum", null, "undefined", "function"],
      ["max", 1_800_000, "undefined", "function"],
      ["min", null, "undefined", "function"],
      ["seen", null, "function", "undefined"],
      ["seen", 1_200_000, "function", "undefined"],
      ["count", null, "undefined", "undefined"],
      ["count", null, "undefined", "undefined"],
      ["seen", 3_600_000, "undefined", "undefined"],
      ["seen", null, "undefined", "undefined"],
      ["count", 1_800_000, "undefined", "undefined"],
      ["sum", 3_600_000, "undefined", "function"],
      ["seen", null, "function", "undefined"],
      ["seen", 1_800_000, "undefined", "undefined"],
      ["seen", null, "undefined", "undefined"],
    ]);
    expect(new Set(module.trackers.map((t) => t.key)).size).toBe(15);
    // the trackers that read `current` file entries under keys, and test the rest of the condition
    expect(module.trackers.map((t) => typeof t.entryKeys === "function" && typeof t.currentKey === "function")).toEqual([...Array(8).fill(false), ...Array(7).fill(true)]);
    // through `any`, an entry is filed under every distinct element's key, in the form of a plain key's
    const replyOnly = module.trackers[13]!;
    expect(replyOnly.matches({ type: "inbox" })).toBe(true);
    expect(replyOnly.entryKeys!({ type: "inbox", from: ["a", { b: 1, a: -0 }, "a", { a: 0, b: 1 }] })).toEqual([replyOnly.currentKey!({ to: "a" }), replyOnly.currentKey!({ to: { a: 0, b: 1 } })]);
    const shared = module.trackers[14]!;
    expect(shared.entryKeys!({ type: "share", doc: "d", readers: [{ id: 1 }, { id: "1" }, {}, "x"] })).toEqual([1, "1", null].map((id) => shared.currentKey!({ doc: "d", user_id: id })));
    const sameDoc = module.trackers[9]!;
    expect(sameDoc.matches({ type: "read" })).toBe(true);
    expect(sameDoc.entryKeys!({ type: "read", doc: { b: 1, a: -0 }, user_id: 7 })).toEqual(sameDoc.entryKeys!({ type: "write", doc: { a: 0, b: 1 }, user_id: 7 }));
    expect(sameDoc.entryKeys!({ type: "read", doc: 1 })).not.toEqual(sameDoc.entryKeys!({ type: "read", doc: "1" }));
    expect(sameDoc.currentKey!({ type: "write", doc: 1 })).toBe(sameDoc.entryKeys!({ type: "read", doc: 1 })[0]);
  });

  it("runtime values decide as scanning the history does (compiled and interpreted)", async () => {
    const module = await loadModule(emit(compilation).js);
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), actionArb, fc.nat(30), (steps, current, lastGap) => {
        const trackers = new SessionTrackers(memoryHistoryStore());
        const history: { action: Record<string, unknown>; time: string }[] = [];
        let now = T0;
        for (const s of steps) {
          now += s.gap * 60_000;
          trackers.record("s", s.action, now, [module.trackers]);
          history.push({ action: s.action, time: iso(now) });
        }
        now += lastGap * 60_000;
        const values = trackers.values("s", module.trackers, now, current);
        const input = { action: current, time: iso(now) };
        const scanned = module.decide({ ...input, history });
        expect(outcome(module.decide(input, values))).toEqual(outcome(scanned));
        expect(outcome(evaluatePolicy(compilation.policy, input, { trackerValues: values }).result)).toEqual(outcome(scanned));
        expect(evaluatePolicy(compilation.policy, { ...input, history }).result).toEqual(scanned);
      }),
      { numRuns: 1500 },
    );
  });

  it("takes back reservations exactly, for every kind", async () => {
    const module = await loadModule(emit(compilation).js);
    fc.assert(
      fc.property(fc.array(fc.tuple(stepArb, fc.boolean()), { maxLength: 30 }), fc.nat(30), (steps, lastGap) => {
        const trackers = new SessionTrackers(memoryHistoryStore());
        const history: { action: Record<string, unknown>; time: string }[] = [];
        const cancels: (() => void)[] = [];
        let now = T0;
        for (const [s, cancelled] of steps) {
          now += s.gap * 60_000;
          const reservation = trackers.record("s", s.action, now, [module.trackers]);
          if (cancelled) cancels.push(() => reservation.cancel());
          else history.push({ action: s.action, time: iso(now) });
        }
        // taken back out of order (every second one first), after later actions were recorded
        for (const cancel of [...cancels.filter((_, i) => i % 2 === 1), ...cancels.filter((_, i) => i % 2 === 0)]) cancel();
        now += lastGap * 60_000;
        for (const action of [
          { type: "read" },
          { type: "sell", ticker: "A" },
          { type: "write", doc: "A", user_id: null },
          { type: "email", to: 1 },
          { type: "write", doc: "A", user_id: "B" },
          { type: "email", to: "A" },
        ]) {
          const values = trackers.values("s", module.trackers, now, action);
          const input = { action, time: iso(now) };
          expect(values).toEqual(module.trackers.map((_, i) => probe(i, { ...input, history })));
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ["login", ["login"], true],
    ["login, logout", ["login", "logout"], false],
    ["login, logout, login", ["login", "logout", "login"], true],
    ["nothing", [], false],
    ["logout only", ["logout"], false],
    ["login, read, logout, read", ["login", "read", "logout", "read"], false],
  ])("seen(login since logout) after %s is %s", async (_name, types, expected) => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    for (const [i, type] of types.entries()) trackers.record("s", { type }, T0 + i * 1000, [module.trackers]);
    const values = trackers.values("s", module.trackers, T0 + 60_000);
    expect(values[4]).toBe(expected);
    const input = { action: { type: "read" }, time: iso(T0 + 60_000), history: types.map((type, i) => ({ action: { type }, time: iso(T0 + i * 1000) })) };
    expect(module.decide(input).decision).toBe(expected ? "allow" : "deny");
  });

  it("an entry matching both A and B is the last B", async () => {
    const c = compileSource("both.armor", 'default allow\nrule r when seen(kind == "x" since kind == "x") deny', { readFile: () => undefined });
    const module = await loadModule(emit(c).js);
    const input = { action: { type: "t" }, history: [{ action: { type: "a", kind: "x" } }] };
    expect(module.decide(input).decision).toBe("allow");
    expect(evaluatePolicy(c.policy, input).result.decision).toBe("allow");
  });

  it("a new predicate starts from the session's recent actions, so a reload cannot reset a sum, max, min or since", async () => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    const steps = [{ type: "login" }, { type: "wire", amount: 60 }, { type: "wire", amount: 3 }, { type: "wire", amount: 95 }, { type: "write" }];
    // the policy in force had only a count over the session; the reloaded policy's other trackers are new and seeded
    for (const [i, a] of steps.entries()) trackers.record("s", a, T0 + i * 60_000, [[module.trackers[6]!]]);
    const now = T0 + 10 * 60_000;
    const values = trackers.values("s", module.trackers, now, { type: "read" });
    const history = steps.map((action, i) => ({ action, time: iso(T0 + i * 60_000) }));
    expect(values).toEqual(module.trackers.map((_, i) => probe(i, { action: { type: "read" }, time: iso(now), history })));
    expect(values.slice(0, 5)).toEqual([158, 158, 95, 3, true]);
  });

  it("a value that is not a number poisons the window, and the decision names the rule", async () => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    trackers.record("s", { type: "wire", amount: "12" }, T0, [module.trackers]);
    const inWindow = trackers.values("s", module.trackers, T0 + 10 * 60_000);
    expect(inWindow[0]).toEqual({ error: "`sum` needs a number from every matching entry; an earlier action gives string" });
    const d = module.decide({ action: { type: "wire", amount: 1 } }, inWindow);
    expect(d.decision).toBe("deny");
    expect(d.errors.map((e) => e.rule)).toEqual(["budget", "total", "biggest"]);
    expect(d.errors[0]!.message).toBe("`sum` needs a number from every matching entry; an earlier action gives string");
    // out of the hour's window, the windowed sum recovers; the session's sum stays poisoned
    const later = trackers.values("s", module.trackers, T0 + 2 * 3_600_000);
    expect(later[0]).toBe(0);
    expect(later[1]).toEqual({ error: "`sum` needs a number from every matching entry; an earlier action gives string" });
  });

  it("windowed sums expire to exactly 0", async () => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    for (let i = 0; i < 50; i++) trackers.record("s", { type: "wire", amount: 0.1 }, T0 + i, [module.trackers]);
    expect(trackers.values("s", module.trackers, T0 + 3_600_000 + 50)[0]).toBe(0);
  });
});

/** Tracker `i`'s value by scanning, read from the interpreter through a rule that compares it. */
const probes = new Map<number, { policy: ReturnType<typeof compileSource>["policy"]; expr: string }>();
function probe(i: number, input: unknown): unknown {
  const t = compilation.policy.trackers[i]!;
  const text = source.slice(t.span.start, t.span.end);
  let p = probes.get(i);
  if (p === undefined) {
    const c = compileSource("probe.armor", `default allow\nrule r when ${text} == null deny`, { readFile: () => undefined });
    p = { policy: c.policy, expr: text };
    probes.set(i, p);
  }
  // the interpreter's explanation records the tracker's value
  const e = evaluatePolicy(p.policy, input, { explain: true });
  const trace = e.explanations[0]!.trace;
  const node = trace.find((x) => x.expr.kind === "count" || x.expr.kind === "seen" || x.expr.kind === "aggregate");
  return node?.value;
}

describe("history that relates to the current action", () => {
  const policy = `
default allow
rule sell_only_what_was_approved
  when action.type == "sell_stock" and not seen(type == "approve_sale" and ticker == current.ticker within 1d)
  deny because "no approval for this ticker today"
rule write_only_what_the_user_read
  when action.type == "write_doc" and not seen(type == "read_doc" and doc == current.doc and user_id == current.user_id)
  deny because "read it first"
rule three_emails_an_hour_per_recipient
  when action.type == "send_email" and count(type == "send_email" and to == current.to within 1h) >= 3
  deny because "at most 3 emails an hour to one recipient"
rule reply_only_to_senders
  when action.type == "reply" and not seen(type == "receive_email" and any(f in from: f == current.to) within 7d)
  require approval because "the recipient never wrote to us"
rule edit_only_as_a_reader
  when action.type == "edit_doc" and not seen(type == "share_doc" and doc == current.doc and any(r in acl.readers: r.user == current.user))
  deny because "not shared with this user"
`;
  const c = compileSource("current.armor", policy, { readFile: () => undefined });
  const H = 3_600_000;
  // [name, history as (action, hours before the decision), current action, decision]
  const cases: [string, [Record<string, unknown>, number][], Record<string, unknown>, string][] = [
    ["a ticker approved today", [[{ type: "approve_sale", ticker: "ACME" }, 2]], { type: "sell_stock", ticker: "ACME" }, "allow"],
    ["another ticker approved", [[{ type: "approve_sale", ticker: "INIT" }, 2]], { type: "sell_stock", ticker: "ACME" }, "deny"],
    ["approved yesterday", [[{ type: "approve_sale", ticker: "ACME" }, 25]], { type: "sell_stock", ticker: "ACME" }, "deny"],
    ["no ticker on either side (null == null)", [[{ type: "approve_sale" }, 1]], { type: "sell_stock" }, "allow"],
    ["the same user read the document", [[{ type: "read_doc", doc: "d1", user_id: "u1" }, 1]], { type: "write_doc", doc: "d1", user_id: "u1" }, "allow"],
    ["another user read it", [[{ type: "read_doc", doc: "d1", user_id: "u2" }, 1]], { type: "write_doc", doc: "d1", user_id: "u1" }, "deny"],
    ["the user read another document", [[{ type: "read_doc", doc: "d2", user_id: "u1" }, 1]], { type: "write_doc", doc: "d1", user_id: "u1" }, "deny"],
    [
      "3 emails to the same recipient this hour",
      [
        [{ type: "send_email", to: "a@x.com" }, 0.5],
        [{ type: "send_email", to: "a@x.com" }, 0.4],
        [{ type: "send_email", to: "a@x.com" }, 0.3],
      ],
      { type: "send_email", to: "a@x.com" },
      "deny",
    ],
    [
      "3 emails to other recipients",
      [
        [{ type: "send_email", to: "b@x.com" }, 0.5],
        [{ type: "send_email", to: "b@x.com" }, 0.4],
        [{ type: "send_email", to: "b@x.com" }, 0.3],
      ],
      { type: "send_email", to: "a@x.com" },
      "allow",
    ],
    [
      "one of 3 to the recipient is older than the hour",
      [
        [{ type: "send_email", to: "a@x.com" }, 1.5],
        [{ type: "send_email", to: "a@x.com" }, 0.4],
        [{ type: "send_email", to: "a@x.com" }, 0.3],
      ],
      { type: "send_email", to: "a@x.com" },
      "allow",
    ],
    ["the recipient is one of the senders", [[{ type: "receive_email", from: ["b@x.com", "a@x.com"] }, 30]], { type: "reply", to: "a@x.com" }, "allow"],
    ["the recipient is no sender", [[{ type: "receive_email", from: ["b@x.com", "c@x.com"] }, 30]], { type: "reply", to: "a@x.com" }, "require_approval"],
    ["the recipient wrote 8 days ago", [[{ type: "receive_email", from: ["a@x.com"] }, 8 * 24]], { type: "reply", to: "a@x.com" }, "require_approval"],
    ["the sender is listed twice", [[{ type: "receive_email", from: ["a@x.com", "a@x.com"] }, 1]], { type: "reply", to: "a@x.com" }, "allow"],
    ["an empty list of senders", [[{ type: "receive_email", from: [] }, 1]], { type: "reply", to: "a@x.com" }, "require_approval"],
    ["no list of senders (no recipient either)", [[{ type: "receive_email" }, 1]], { type: "reply" }, "require_approval"],
    ["a null sender and no recipient (null == null)", [[{ type: "receive_email", from: [null] }, 1]], { type: "reply" }, "allow"],
    [
      "shared with the user: the document and a reader both match",
      [[{ type: "share_doc", doc: "d1", acl: { readers: [{ user: "u2" }, { user: "u1" }] } }, 1]],
      { type: "edit_doc", doc: "d1", user: "u1" },
      "allow",
    ],
    ["shared with another user", [[{ type: "share_doc", doc: "d1", acl: { readers: [{ user: "u2" }] } }, 1]], { type: "edit_doc", doc: "d1", user: "u1" }, "deny"],
    ["another document shared with the user", [[{ type: "share_doc", doc: "d2", acl: { readers: [{ user: "u1" }] } }, 1]], { type: "edit_doc", doc: "d1", user: "u1" }, "deny"],
    [
      "two shares: each matches one key only",
      [
        [{ type: "share_doc", doc: "d1", acl: { readers: [{ user: "u2" }] } }, 2],
        [{ type: "share_doc", doc: "d2", acl: { readers: [{ user: "u1" }] } }, 1],
      ],
      { type: "edit_doc", doc: "d1", user: "u1" },
      "deny",
    ],
    ["readers that are not objects read `user` as null", [[{ type: "share_doc", doc: "d1", acl: { readers: ["u1", 7] } }, 1]], { type: "edit_doc", doc: "d1" }, "allow"],
  ];
  it.each(cases)("%s: the runtime's keyed trackers and the history scan both decide", async (_name, steps, action, expected) => {
    expect(c.ok).toBe(true);
    const module = await loadModule(emit(c).js);
    const now = T0 + 48 * H;
    const trackers = new SessionTrackers(memoryHistoryStore());
    for (const [a, hours] of steps) trackers.record("s", a, now - hours * H, [module.trackers]);
    const history = steps.map(([a, hours]) => ({ action: a, time: iso(now - hours * H) }));
    expect(module.decide({ action, time: iso(now), history }).decision).toBe(expected);
    expect(evaluatePolicy(c.policy, { action, time: iso(now), history }).result.decision).toBe(expected);
    expect(module.decide({ action, time: iso(now) }, trackers.values("s", module.trackers, now, action)).decision).toBe(expected);
  });

  it("a list of the entry that is not a list is an evaluation error of the rule, in the scan and in the runtime", async () => {
    const module = await loadModule(emit(c).js);
    const now = T0 + 48 * H;
    const entry = { type: "receive_email", from: "a@x.com" };
    const action = { type: "reply", to: "a@x.com" };
    const trackers = new SessionTrackers(memoryHistoryStore());
    trackers.record("s", entry, now - H, [module.trackers]);
    const message = "`any` needs a list after `in`, got string";
    const history = [{ action: entry, time: iso(now - H) }];
    for (const d of [
      module.decide({ action, time: iso(now), history }),
      evaluatePolicy(c.policy, { action, time: iso(now), history }).result,
      module.decide({ action, time: iso(now) }, trackers.values("s", module.trackers, now, action)),
    ]) {
      expect(d.decision).toBe("deny");
      expect(d.errors.map((e) => e.rule)).toEqual(["reply_only_to_senders"]);
      expect(d.errors[0]!.message).toContain(message);
    }
  });

  // [name, the lists of the entry, the entry's keys or the error of filing it]
  const bound: [string, { xs?: unknown; ys?: unknown }, number | string][] = [
    ["1,000 distinct elements", { xs: Array.from({ length: 1000 }, (_, i) => i), ys: [1] }, 1000],
    ["1,001 distinct elements", { xs: Array.from({ length: 1001 }, (_, i) => i), ys: [1] }, "more than 1,000 correlation keys"],
    ["10,000 elements, 3 distinct", { xs: Array.from({ length: 10_000 }, (_, i) => i % 3), ys: [1] }, 3],
    ["a product of 25 × 40", { xs: Array.from({ length: 25 }, (_, i) => i), ys: Array.from({ length: 40 }, (_, i) => `${i}`) }, 1000],
    ["a product of 30 × 40", { xs: Array.from({ length: 30 }, (_, i) => i), ys: Array.from({ length: 40 }, (_, i) => `${i}`) }, "more than 1,000 correlation keys"],
    ["2,000 distinct elements times an empty list", { xs: Array.from({ length: 2000 }, (_, i) => i), ys: [] }, 0],
    ["a missing list", { ys: [1, 2] }, 0],
    ["NaN equals nothing", { xs: [Number.NaN, 1], ys: [1] }, 1],
  ];
  it.each(bound)("an entry's keys through two lists, %s", async (_name, lists, expected) => {
    const two = compileSource(
      "two.armor",
      'default allow\nrule r when action.type == "t" and seen(any(x in xs: x == current.x) and type == "e" and any(y in ys: current.y == y)) deny because "seen"',
      { readFile: () => undefined },
    );
    const module = await loadModule(emit(two).js);
    const entry = { type: "e", ...lists };
    const tracker = module.trackers[0]!;
    if (typeof expected === "number") expect(new Set(tracker.entryKeys!(entry)).size).toBe(expected);
    else expect(() => tracker.entryKeys!(entry)).toThrow(expected);
    // the runtime: the entry is filed (and found), or the tracker's value is the error, and the rule denies saying why
    const trackers = new SessionTrackers(memoryHistoryStore());
    trackers.record("s", entry, T0, [module.trackers]);
    const action = { type: "t", x: Array.isArray(lists.xs) ? lists.xs[lists.xs.length - 1] : 0, y: Array.isArray(lists.ys) && lists.ys.length > 0 ? lists.ys[0] : 1 };
    const d = module.decide({ action, time: iso(T0 + 1000) }, trackers.values("s", module.trackers, T0 + 1000, action));
    if (typeof expected === "number") expect(d.decision).toBe(expected > 0 ? "deny" : "allow");
    else {
      expect(d.decision).toBe("deny");
      expect(d.errors[0]!.message).toContain(expected);
    }
  });

  it("a key through `any` is part of the tracker's identity", async () => {
    const keyOf = async (condition: string): Promise<string> => {
      const k = compileSource("k.armor", `default allow\nrule r when action.type == "t" and seen(${condition}) deny`, { readFile: () => undefined });
      return (await loadModule(emit(k).js)).trackers[0]!.key;
    };
    const through = await keyOf('type == "e" and any(f in from: f == current.to)');
    expect(await keyOf('type == "e" and any(f in from: f == current.to)')).toBe(through);
    for (const other of [
      'type == "e" and from == current.to',
      'type == "e" and any(f in from: f.to == current.to)',
      'type == "e" and any(f in cc: f == current.to)',
      'type == "e" and any(f in from: f == current.cc)',
    ]) {
      expect(await keyOf(other), other).not.toBe(through);
    }
  });

  it("drops keys whose newest action left the window", async () => {
    const module = await loadModule(emit(c).js);
    const store = memoryHistoryStore();
    const trackers = new SessionTrackers(store);
    for (let i = 0; i < 1000; i++) trackers.record("s", { type: "send_email", to: `r${i}@x.com` }, T0 + i, [module.trackers]);
    const state = () => store.get("s")!.trackers.get(module.trackers[2]!.key) as { keys: Map<string, unknown> };
    expect(state().keys.size).toBe(1000);
    trackers.values("s", module.trackers, T0 + H + 500, { type: "send_email", to: "r999@x.com" });
    expect(state().keys.size).toBe(499);
    trackers.values("s", module.trackers, T0 + 2 * H, { type: "send_email", to: "r999@x.com" });
    expect(state().keys.size).toBe(0);
  });
});

describe("through the enforcer", () => {
  it("decides with the current action's key: what ran is what a later decision looks up", async () => {
    const { createEnforcer } = await import("../packages/runtime/src/index.js");
    const c = compileSource(
      "sell.armor",
      'default allow\nrule sell_only_what_was_approved when action.type == "sell_stock" and not seen(type == "approve_sale" and ticker == current.ticker within 1d) deny',
      { readFile: () => undefined },
    );
    const module = await loadModule(emit(c).js);
    let now = T0;
    const enforcer = await createEnforcer({ policy: module, clock: () => now, throwOnDeny: false, audit: false });
    await enforcer.run({ type: "approve_sale", ticker: "ACME" }, { session: "s" }, () => null);
    now += 3_600_000;
    expect((await enforcer.decide({ type: "sell_stock", ticker: "ACME" }, { session: "s" })).decision).toBe("allow");
    expect((await enforcer.decide({ type: "sell_stock", ticker: "INIT" }, { session: "s" })).decision).toBe("deny");
    expect((await enforcer.decide({ type: "sell_stock", ticker: "ACME" }, { session: "other" })).decision).toBe("deny");
    now += 86_400_000;
    expect((await enforcer.decide({ type: "sell_stock", ticker: "ACME" }, { session: "s" })).decision).toBe("deny");
    await enforcer.close();
  });
});

describe("an earlier action a history condition cannot be evaluated on", () => {
  // every kind, with conditions that err on some entries (`level > 1` on a string level, `any` over a non-list)
  const policy = `
default allow
rule since_b when action.type == "export" and seen(type == "read_secret" since type == "clear" and level > 1) deny
rule since_a when action.type == "read_record" and not seen(type == "login" and level > 1 since type == "logout") deny
rule keyed_rest_count when action.type == "x" and count(ticker == current.ticker and n > 1 within 1h) >= 1 deny
rule keyed_rest_seen when action.type == "x" and not seen(ticker == current.ticker and n > 1) deny
rule keyed_list when action.type == "x" and not seen(any(x in tickers: x == current.ticker) and type == "a") deny
rule plain_seen when action.type == "y" and not seen(n > 1 within 1h) deny
rule plain_count when action.type == "y" and count(n > 1) >= 5 deny
rule plain_max when action.type == "y" and max(n where level > 1 within 1h) > 100 deny
`;
  const c = compileSource("errors.armor", policy, { readFile: () => undefined });
  const M = 60_000;
  // [name, history as (action, minutes before the decision), current action, the rules that err]
  const cases: [string, [Record<string, unknown>, number][], Record<string, unknown>, string[]][] = [
    [
      "B of since cannot be evaluated (review f3)",
      [
        [{ type: "read_secret" }, 3],
        [{ type: "clear", level: "high" }, 2],
      ],
      { type: "export" },
      ["since_b"],
    ],
    [
      "B of since cannot be evaluated, long ago",
      [
        [{ type: "clear", level: "high" }, 600],
        [{ type: "clear", level: 2 }, 2],
      ],
      { type: "export" },
      ["since_b"],
    ],
    ["A of not seen(A since B) cannot be evaluated (review f3)", [[{ type: "login", level: "admin" }, 1]], { type: "read_record" }, ["since_a"]],
    [
      "A cannot be evaluated after a match",
      [
        [{ type: "login", level: 2 }, 2],
        [{ type: "login", level: "admin" }, 1],
      ],
      { type: "read_record" },
      ["since_a"],
    ],
    [
      "the rest of a keyed condition, under another key (review f11)",
      [
        [{ type: "a", ticker: "A", n: 2 }, 5],
        [{ type: "a", n: "x" }, 3],
      ],
      { type: "x", ticker: "A" },
      ["keyed_rest_count", "keyed_rest_seen"],
    ],
    ["the keys are not tested when the rest is false", [[{ type: "b", tickers: "str" }, 3]], { type: "x", ticker: "A" }, []],
    ["a list that is not a list when the rest is true (review f11)", [[{ type: "a", tickers: "str" }, 3]], { type: "x", ticker: "A" }, ["keyed_list"]],
    [
      "seen errs on an entry after its match",
      [
        [{ type: "t", n: 2 }, 5],
        [{ type: "t", n: "x" }, 3],
      ],
      { type: "y" },
      ["plain_seen", "plain_count"],
    ],
    [
      "the erring entry left seen's window, not count's session",
      [
        [{ type: "t", n: 2 }, 120],
        [{ type: "t", n: "x" }, 90],
      ],
      { type: "y" },
      ["plain_count"],
    ],
    ["the where of max cannot be evaluated", [[{ type: "t", n: 200, level: "x" }, 5]], { type: "y" }, ["plain_max"]],
  ];
  it.each(cases)("%s: the runtime's value errs as the scan does", async (_name, steps, action, erring) => {
    expect(c.ok).toBe(true);
    const module = await loadModule(emit(c).js);
    const now = T0 + 24 * 60 * M;
    const trackers = new SessionTrackers(memoryHistoryStore());
    for (const [a, minutes] of steps) trackers.record("s", a, now - minutes * M, [module.trackers]);
    const history = steps.map(([a, minutes]) => ({ action: a, time: iso(now - minutes * M) }));
    const scanned = module.decide({ action, time: iso(now), history });
    const runtime = module.decide({ action, time: iso(now) }, trackers.values("s", module.trackers, now, action));
    expect(scanned.errors.map((e) => e.rule)).toEqual(erring);
    expect(outcome(runtime)).toEqual(outcome(scanned));
    expect(evaluatePolicy(c.policy, { action, time: iso(now), history }).result).toEqual(scanned);
  });

  it("on random histories with erring entries, runtime values decide as the scan does", async () => {
    const module = await loadModule(emit(c).js);
    const small = fc.constantFrom<unknown>(null, 0, 2, "x", "A", [1], "str");
    const errArb = fc.record(
      {
        type: fc.constantFrom("a", "b", "t", "login", "logout", "clear", "read_secret"),
        ticker: fc.constantFrom<unknown>("A", "B", null, 1),
        n: small,
        level: small,
        tickers: fc.oneof(small, fc.array(fc.constantFrom<unknown>("A", "B", 1, null), { maxLength: 3 })),
      },
      { requiredKeys: ["type"] },
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ action: errArb, gap: fc.nat(40) }), { maxLength: 12 }),
        fc.constantFrom("x", "y", "export", "read_record"),
        fc.constantFrom<unknown>("A", "B", null),
        (steps, type, ticker) => {
          const trackers = new SessionTrackers(memoryHistoryStore());
          const history: { action: Record<string, unknown>; time: string }[] = [];
          let now = T0;
          for (const s of steps) {
            now += s.gap * M;
            trackers.record("s", s.action, now, [module.trackers]);
            history.push({ action: s.action, time: iso(now) });
          }
          now += M;
          const action = { type, ticker };
          const scanned = module.decide({ action, time: iso(now), history });
          expect(outcome(module.decide({ action, time: iso(now) }, trackers.values("s", module.trackers, now, action)))).toEqual(outcome(scanned));
          expect(evaluatePolicy(c.policy, { action, time: iso(now), history }).result).toEqual(scanned);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/** Every tracker's value by scanning `input.history` in the interpreter (read from its explanation), for a policy's source. */
const scanProbes = new Map<string, ReturnType<typeof compileSource>>();
function scanValues(text: string, c: ReturnType<typeof compileSource>, input: unknown): unknown[] {
  return c.policy.trackers.map((t) => {
    const expr = text.slice(t.span.start, t.span.end);
    let p = scanProbes.get(expr);
    if (p === undefined) {
      p = compileSource("probe.armor", `default allow\nrule r when ${expr} == null deny`, { readFile: () => undefined });
      scanProbes.set(expr, p);
    }
    const e = evaluatePolicy(p.policy, input, { explain: true });
    if (e.result.errors.length > 0) return { error: true };
    return e.explanations[0]!.trace.find((x) => x.expr.kind === "count" || x.expr.kind === "seen" || x.expr.kind === "aggregate")?.value;
  });
}

describe("reservations taken back in any order", () => {
  const policy = `
default allow
rule a when max(n where type == "w" within 30m) > 1 deny
rule b when min(n where type == "w") < 1 deny
rule c when max(n where type == "w" and to == current.to) > 1 deny
rule d when min(n where level > 1 and to == current.to within 20m) < 1 deny
rule e when seen(type == "login" and to == current.to since type == "logout" and level > 1) deny
rule f when seen(type == "login" since type == "logout" within 30m) deny
rule g when count(type == "w" and to == current.to within 30m) > 1 deny
rule h when sum(n where type == "w" and any(x in tos: x == current.to)) > 1 deny
rule i when count(level > 1 within 30m) > 1 deny
`;
  const c = compileSource("release.armor", policy, { readFile: () => undefined });
  const num = fc.constantFrom(0, 1, 1, 2, 2, 3);
  const actionArb = fc.record(
    {
      type: fc.constantFrom("w", "w", "login", "logout"),
      n: num,
      to: fc.constantFrom("A", "B"),
      level: fc.constantFrom<unknown>(0, 2, 2, "x"),
      tos: fc.array(fc.constantFrom("A", "B"), { maxLength: 2 }),
    },
    { requiredKeys: ["type", "n"] },
  );
  // each step records an action (kept or to be released), or releases a pending one chosen by index
  const stepArb = fc.oneof(fc.record({ action: actionArb, gap: fc.constantFrom(0, 0, 1, 5, 15), release: fc.boolean() }), fc.record({ releaseAt: fc.nat(20) }));

  // review repros: a release once rebuilt keyed, max/min and since trackers from the last 10,000 actions only
  // [name, rule, actions before the 10,000 others, the action reserved and released, the action decided after, its decision]
  const long: [string, string, Record<string, unknown>[], Record<string, unknown>, Record<string, unknown>, string][] = [
    [
      "a keyed count (review f10, f19)",
      'action.type == "email" and count(type == "email" and to == current.to) >= 3',
      [
        { type: "email", to: "boss" },
        { type: "email", to: "boss" },
        { type: "email", to: "boss" },
      ],
      { type: "email", to: "other" },
      { type: "email", to: "boss" },
      "deny",
    ],
    ["a max (review f10)", 'action.type == "wire" and max(amount where type == "wire") >= 1000', [{ type: "wire", amount: 5000 }], { type: "wire", amount: 1 }, { type: "wire", amount: 1 }, "deny"],
    ["a since", 'action.type == "read" and seen(type == "login" since type == "logout")', [{ type: "login" }], { type: "logout" }, { type: "read" }, "deny"],
    ["a since's last B", 'action.type == "read" and not seen(type == "login" since type == "logout")', [{ type: "logout" }], { type: "login" }, { type: "read" }, "deny"],
  ];
  it.each(long)("%s keeps what is older than the last 10,000 actions", async (_name, condition, before, reserved, after, expected) => {
    const m = await loadModule(emit(compileSource("long.armor", `default allow\nrule r when ${condition} deny`, { readFile: () => undefined })).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    const actions = [...before, ...Array.from({ length: 10_000 }, () => ({ type: "noop" }))];
    for (const [i, a] of actions.entries()) trackers.record("s", a, T0 + i * 1000, [m.trackers]);
    const now = T0 + actions.length * 1000;
    expect(m.decide({ action: after }, trackers.values("s", m.trackers, now, after)).decision).toBe(expected);
    trackers.record("s", reserved, now, [m.trackers]).cancel();
    expect(m.decide({ action: after }, trackers.values("s", m.trackers, now, after)).decision).toBe(expected);
  });

  // [name, the values recorded in order (true: reserved, then released), the order the reservations are released in]
  const extremes: [string, [number, boolean][], number[]][] = [
    [
      "what a released one had beaten comes back",
      [
        [5, false],
        [3, true],
        [4, true],
      ],
      [1, 0],
    ],
    [
      "through one released while beaten",
      [
        [0, false],
        [1, true],
        [2, true],
      ],
      [0, 1],
    ],
    [
      "an equal value found beaten on release is kept for its beater",
      [
        [1, false],
        [0, true],
        [1, true],
      ],
      [0, 1],
    ],
    [
      "released newest first",
      [
        [1, false],
        [2, true],
        [3, true],
        [2, true],
      ],
      [2, 1, 0],
    ],
    [
      "released oldest first",
      [
        [2, false],
        [1, true],
        [3, true],
        [1, true],
      ],
      [0, 1, 2],
    ],
  ];
  it.each(extremes)("max and min: %s", async (_name, values, order) => {
    const text =
      'default allow\nrule a when max(n where type == "w") > 100 deny\nrule b when min(n where type == "w") < -100 deny\nrule c when max(n where type == "w" and to == current.to within 1h) > 100 deny\n';
    const cc = compileSource("extremes.armor", text, { readFile: () => undefined });
    const m = await loadModule(emit(cc).js);
    for (const negate of [false, true]) {
      const trackers = new SessionTrackers(memoryHistoryStore());
      const reserved: { cancel: () => void }[] = [];
      const kept: { action: Record<string, unknown>; time: string }[] = [];
      values.forEach(([n, release], i) => {
        const action = { type: "w", n: negate ? -n : n, to: "A" };
        const r = trackers.record("s", action, T0 + i * 1000, [m.trackers]);
        if (release) reserved.push(r);
        else kept.push({ action, time: iso(T0 + i * 1000) });
      });
      for (const i of order) reserved[i]!.cancel();
      const now = T0 + 60_000;
      const action = { type: "q", to: "A" };
      expect(trackers.values("s", m.trackers, now, action)).toEqual(scanValues(text, cc, { action, time: iso(now), history: kept }));
    }
  });

  it("a released reservation leaves no key behind", async () => {
    const m = await loadModule(emit(c).js);
    const store = memoryHistoryStore();
    const trackers = new SessionTrackers(store);
    trackers.record("s", { type: "w", n: 1, to: "A", level: 2, tos: ["A"] }, T0, [m.trackers]);
    const sizes = () => m.trackers.map((t) => (store.get("s")!.trackers.get(t.key) as { keys?: Map<string, unknown> }).keys?.size ?? null);
    const before = sizes();
    for (let i = 0; i < 100; i++) {
      trackers.record("s", { type: "w", n: i, to: `x${i}`, level: 2, tos: [`x${i}`] }, T0 + i + 1, [m.trackers]).cancel();
      trackers.record("s", { type: "login", n: i, to: `y${i}` }, T0 + i + 1, [m.trackers]).cancel();
    }
    expect(sizes()).toEqual(before);
  });

  it("leaves every tracker's value equal to a scan of the actions kept", async () => {
    expect(c.ok).toBe(true);
    const module = await loadModule(emit(c).js);
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), fc.nat(40), (steps, lastGap) => {
        const trackers = new SessionTrackers(memoryHistoryStore());
        const recorded: { action: Record<string, unknown>; time: number; kept: boolean }[] = [];
        const pending: { cancel: () => void; entry: { kept: boolean } }[] = [];
        let now = T0;
        for (const s of steps) {
          if ("releaseAt" in s) {
            if (pending.length === 0) continue;
            const [p] = pending.splice(s.releaseAt % pending.length, 1);
            p!.cancel();
            p!.entry.kept = false;
            continue;
          }
          now += s.gap * 60_000;
          const reservation = trackers.record("s", s.action, now, [module.trackers]);
          const entry = { action: s.action, time: now, kept: true };
          recorded.push(entry);
          if (s.release) pending.push({ cancel: () => reservation.cancel(), entry });
        }
        now += lastGap * 60_000;
        const history = recorded.filter((r) => r.kept).map((r) => ({ action: r.action, time: iso(r.time) }));
        for (const to of ["A", "B"]) {
          const action = { type: "q", to };
          const input = { action, time: iso(now), history };
          const values = trackers.values("s", module.trackers, now, action).map((v) => (typeof v === "object" && v !== null ? { error: true } : v));
          expect(values).toEqual(scanValues(policy, c, input));
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe("an earlier action whose correlation key cannot be made", () => {
  // one tracker per kind with a key, and the rest of each condition (`type == "a"`) tested first
  const policy = `
default allow
rule c when action.type == "q" and count(type == "a" and k == current.k within 1h) >= 1 deny
rule s when action.type == "q" and seen(type == "a" and k == current.k) deny
rule su when action.type == "q" and sum(n where type == "a" and k == current.k) >= 1 deny
rule mx when action.type == "q" and max(n where type == "a" and k == current.k within 1h) >= 1 deny
rule mn when action.type == "q" and min(n where type == "a" and k == current.k) <= 1 deny
rule si when action.type == "q" and seen(type == "a" and k == current.k since type == "z") deny
rule two when action.type == "q" and seen(type == "a" and k == current.k and j == current.j) deny
`;
  const c = compileSource("unkeyed.armor", policy, { readFile: () => undefined });
  const plain = ["c", "s", "su", "mx", "mn", "si", "two"];
  /** `{ k: { k: ... "leaf" } }`, `depth` objects deep. */
  const nested = (depth: number): unknown => {
    let v: unknown = "leaf";
    for (let i = 0; i < depth; i++) v = { k: v };
    return v;
  };
  const wide = Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [`m${i}`, i]));
  const M = 60_000;
  // [name, earlier actions (a minute apart), the current action's k and j, the rules the scan errs on,
  //  the rules on which the runtime errs where the scan does not (docs/language.md §7), or none]
  const cases: [string, Record<string, unknown>[], { k?: unknown; j?: unknown }, string[], string[]][] = [
    ["(a) the rest is false: the key is never made", [{ type: "b", k: nested(2000), n: 1 }], { k: "x" }, [], []],
    ["(a) the rest is false, the current key cannot be made either", [{ type: "b", k: nested(2000), n: 1 }], { k: nested(2000) }, [], []],
    ["(a) nothing earlier, the current key cannot be made", [], { k: nested(2000) }, [], []],
    ["(b) nested 2,000 deep, a current string: equal to nothing, no error", [{ type: "a", k: nested(2000), n: 1 }], { k: "x" }, [], []],
    ["(b) 150,000 members, a current string", [{ type: "a", k: wide, n: 1 }], { k: "x" }, [], []],
    [
      "(b) nested 2,000 deep, then an entry with the current key",
      [
        { type: "a", k: nested(2000), n: 5 },
        { type: "a", k: "x", n: 2 },
      ],
      { k: "x" },
      [],
      [],
    ],
    ["(b) the first key differs: the second, 2,000 deep, is never compared", [{ type: "a", k: "y", j: nested(2000), n: 1 }], { k: "x", j: "y" }, [], []],
    ["(b) the first key is equal, the second cannot be made but is compared with a string", [{ type: "a", k: "x", j: nested(2000), n: 1 }], { k: "x", j: "y" }, [], []],
    ["(b) the same value 2,000 deep on both sides: the scan errs", [{ type: "a", k: nested(2000), n: 1 }], { k: nested(2000) }, plain, []],
    ["(b) 2,000 and 1,999 deep: the comparison reaches 1,000 levels", [{ type: "a", k: nested(1999), n: 1 }], { k: nested(2000) }, plain, []],
    // the runtime is stricter: neither key can be made, but comparing them stops before 1,000 levels
    ["1,000 and 1,001 deep", [{ type: "a", k: nested(1000), n: 1 }], { k: nested(1001) }, [], plain],
    ["a 150,000-member entry and a 2,000-deep current", [{ type: "a", k: wide, n: 1 }], { k: nested(2000) }, [], plain],
  ];
  it.each(cases)("%s: the runtime's values are the scan's", async (_name, earlier, current, scanErrs, stricter) => {
    expect(c.ok).toBe(true);
    const module = await loadModule(emit(c).js);
    const now = T0 + 60 * M;
    const trackers = new SessionTrackers(memoryHistoryStore());
    for (const [i, a] of earlier.entries()) trackers.record("s", a, now - (earlier.length - i) * M, [module.trackers]);
    const history = earlier.map((a, i) => ({ action: a, time: iso(now - (earlier.length - i) * M) }));
    const action = { type: "q", ...current };
    const input = { action, time: iso(now), history };
    // the facts: where the scan errs (compiled and interpreted alike)
    const scanned = module.decide(input);
    expect(scanned.errors.map((e) => e.rule)).toEqual(scanErrs);
    expect(evaluatePolicy(c.policy, input).result).toEqual(scanned);
    const values = trackers.values("s", module.trackers, now, action).map((v) => (typeof v === "object" && v !== null ? { error: true } : v));
    const scan = scanValues(policy, c, input);
    const strict = new Set(stricter.map((r) => plain.indexOf(r)));
    expect(values).toEqual(scan.map((v, i) => (strict.has(i) ? { error: true } : v)));
    if (stricter.length === 0) expect(outcome(module.decide({ action, time: iso(now) }, trackers.values("s", module.trackers, now, action)))).toEqual(outcome(scanned));
  });

  it("an action whose key cannot be made stops counting when it is released or leaves the window", async () => {
    const module = await loadModule(emit(c).js);
    const action = { type: "q", k: nested(2000) };
    const values = (trackers: SessionTrackers, now: number) => trackers.values("s", module.trackers, now, action).map((v) => (typeof v === "object" && v !== null ? { error: true } : v));
    const empty = [0, false, 0, null, null, false, false];
    const error = { error: true };
    const released = new SessionTrackers(memoryHistoryStore());
    const reservation = released.record("s", { type: "a", k: nested(2000), n: 1 }, T0, [module.trackers]);
    expect(values(released, T0 + M)).toEqual(empty.map(() => error));
    reservation.cancel();
    expect(values(released, T0 + M)).toEqual(empty);
    // two hours later: out of the windows of `count` and `max` (1h), still in the session of the others
    const kept = new SessionTrackers(memoryHistoryStore());
    kept.record("s", { type: "a", k: nested(2000), n: 1 }, T0, [module.trackers]);
    expect(values(kept, T0 + 120 * M)).toEqual([0, error, error, null, error, error, error]);
  });
});
