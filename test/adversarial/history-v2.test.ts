/**
 * Hostile history for the second step of the language: keys of `current.F` correlations (also
 * through `any` over lists of 100,000 and more elements) that are
 * huge, deep or named like prototype members, 100,000 distinct keys, sums past the largest number,
 * and tracker values a runtime (or an attacker calling `decide`) passes that are not numbers or are
 * forged errors; earlier actions a history condition cannot be evaluated on; reservations released
 * many times and long after older actions. What must hold: every decision is made, denies with a message when it cannot be
 * evaluated, compiled `decide` and the interpreter agree, and the runtime's state stays bounded.
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import { loadModule } from "../../packages/compiler/src/load.js";
import { correlationKey, ENTRY_KEYS_MESSAGE, equals, QUANTIFIER_LIMIT_MESSAGE } from "../../packages/compiler/src/semantics.js";
import { memoryHistoryStore, SessionTrackers } from "../../packages/runtime/src/history.js";

const source = `
default allow
rule same_ticker when action.type == "sell" and not seen(type == "approve" and ticker == current.ticker within 1h) deny because "not approved"
rule per_recipient when action.type == "email" and count(type == "email" and to == current.to within 1h) >= 2 deny
rule budget when action.type == "wire" and sum(amount where type == "wire" within 1h) > 100 deny
rule biggest when action.type == "wire" and max(amount where type == "wire") > 1e300 deny
rule proto when action.type == "sell" and seen(type == "approve" and __proto__ == current.__proto__ and constructor == current.constructor) allow
`;
const compilation = compileSource("hostile.armor", source, { readFile: () => undefined });
const T0 = Date.parse("2026-03-02T00:00:00Z");
const iso = (ms: number): string => new Date(ms).toISOString();

function nested(depth: number): unknown {
  let v: unknown = "leaf";
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
}
const wide = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

describe("hostile correlation keys", () => {
  // [case, the earlier action's ticker, the current action's ticker, what the runtime's tracker value is]
  const cases: [string, unknown, unknown, unknown][] = [
    // a key that cannot be made is == to no value that has one, as in the scan (docs/language.md §7)
    ["a key of 150,000 members, a current string", wide(150_000), "x", false],
    ["a key nested 2,000 deep, a current string", nested(2000), "x", false],
    ["a current key nested 2,000 deep, an earlier string", "x", nested(2000), false],
    // both keys cannot be made: the runtime cannot tell whether they are ==, and errs
    ["a key nested 2,000 deep on both sides", nested(2000), nested(2000), { error: "values nested more than 1000 deep cannot be compared" }],
    ["a key of 150,000 members on both sides", wide(150_000), wide(150_000), { error: "a correlation key holds more than 100000 values" }],
    ["`__proto__` as a key value", "__proto__", "__proto__", true],
    ["`constructor` as a key value", "constructor", "constructor", true],
    ["an object whose members come in another order", { b: 1, a: [1, { c: -0 }] }, { a: [1, { c: 0 }], b: 1 }, true],
    ['1 and "1"', 1, "1", false],
  ];
  it.each(cases)("%s", async (_name, earlier, current, value) => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    const approve = { type: "approve", ticker: earlier };
    trackers.record("s", approve, T0, [module.trackers]);
    const action = { type: "sell", ticker: current };
    const values = trackers.values("s", module.trackers, T0 + 1000, action);
    expect(values[0]).toEqual(value);
    const decision = module.decide({ action, time: iso(T0 + 1000) }, values);
    if (typeof value === "boolean") expect(decision.decision).toBe(value ? "allow" : "deny");
    else {
      // the key could not be made: the rule errs and the decision denies, saying why
      expect(decision.decision).toBe("deny");
      expect(decision.errors).toEqual([{ rule: "same_ticker", message: (value as { error: string }).error }]);
    }
    expect(evaluatePolicy(compilation.policy, { action, time: iso(T0 + 1000) }, { trackerValues: values }).result).toEqual(decision);
  });

  it("`__proto__` and `constructor` as field names read only own fields", async () => {
    const module = await loadModule(emit(compilation).js);
    const earlier = JSON.parse('{"type": "approve", "__proto__": "p", "constructor": "c"}');
    const current = JSON.parse('{"type": "sell", "ticker": 1, "__proto__": "p", "constructor": "c"}');
    const history = [{ action: earlier, time: iso(T0) }];
    const trackers = new SessionTrackers(memoryHistoryStore());
    trackers.record("s", earlier, T0, [module.trackers]);
    const values = trackers.values("s", module.trackers, T0 + 1000, current);
    expect(values[4]).toBe(true);
    // without the own fields, the inherited `constructor` is not read: both sides are null
    const plain = { type: "sell", ticker: 1 };
    expect(trackers.values("s", module.trackers, T0 + 1000, plain)[4]).toBe(false);
    for (const action of [current, plain]) {
      const input = { action, time: iso(T0 + 1000) };
      const scanned = module.decide({ ...input, history });
      expect(module.decide(input, trackers.values("s", module.trackers, T0 + 1000, action)).rules).toEqual(scanned.rules);
      expect(evaluatePolicy(compilation.policy, { ...input, history }).result).toEqual(scanned);
    }
  });

  it("keys are equal exactly when the values are ==, in the interpreter's semantics and in the emitted module", async () => {
    const module = await loadModule(emit(compilation).js);
    const values: unknown[] = [
      null,
      0,
      -0,
      1,
      "1",
      "",
      "a",
      true,
      false,
      [],
      {},
      [1, 2],
      [2, 1],
      { a: 1 },
      { a: 1, b: null },
      { b: null, a: 1 },
      Number.NaN,
      [Number.NaN],
      1e308,
      "__proto__",
      { __proto__: null, x: 1 },
    ];
    for (const a of values) {
      for (const b of values) {
        const ka = correlationKey([a]);
        const kb = correlationKey([b]);
        // a copy: the two sides of a comparison are never the same object (NaN is == to nothing)
        expect(ka !== null && ka === kb, `${String(ka)} vs ${String(kb)}`).toBe(equals(a, structuredClone(b)));
      }
      expect(module.trackers[0]!.entryKeys!({ type: "approve", ticker: a })).toEqual(correlationKey([a]) === null ? [] : [correlationKey([a])]);
    }
  });

  it("100,000 distinct keys: a decision reads one, and keys leave with their window", async () => {
    const module = await loadModule(emit(compilation).js);
    const store = memoryHistoryStore();
    const trackers = new SessionTrackers(store);
    for (let i = 0; i < 100_000; i++) trackers.record("s", { type: "email", to: `r${i}@x.com` }, T0 + i, [module.trackers]);
    trackers.record("s", { type: "email", to: "r5@x.com" }, T0 + 100_000, [module.trackers]);
    expect(trackers.values("s", module.trackers, T0 + 100_001, { type: "email", to: "r5@x.com" })[1]).toBe(2);
    expect(trackers.values("s", module.trackers, T0 + 100_001, { type: "email", to: "r6@x.com" })[1]).toBe(1);
    expect(trackers.values("s", module.trackers, T0 + 100_001, { type: "email", to: "nobody" })[1]).toBe(0);
    const keys = (): number => (store.get("s")!.trackers.get(module.trackers[1]!.key) as { keys: Map<string, unknown> }).keys.size;
    expect(keys()).toBe(100_000);
    trackers.values("s", module.trackers, T0 + 3_600_000 + 100_001, { type: "email", to: "r5@x.com" });
    expect(keys()).toBe(0);
  });
});

describe("hostile sums", () => {
  it("a sum past the largest number is an error while it lasts, then the window recovers", async () => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    const wires = [
      { action: { type: "wire", amount: 1e308 }, time: T0 },
      { action: { type: "wire", amount: 1e308 }, time: T0 + 1_800_000 },
    ];
    for (const w of wires) trackers.record("s", w.action, w.time, [module.trackers]);
    const action = { type: "wire", amount: 1 };
    const both = trackers.values("s", module.trackers, T0 + 1_800_001, action);
    expect(both[2]).toEqual({ error: "`sum` over the history is not a finite number" });
    expect(both[3]).toBe(1e308);
    const history = wires.map((w) => ({ action: w.action, time: iso(w.time) }));
    const scanned = module.decide({ action, time: iso(T0 + 1_800_001), history });
    expect(scanned.errors).toEqual([{ rule: "budget", message: "`sum` over the history is not a finite number" }]);
    expect(module.decide({ action, time: iso(T0 + 1_800_001) }, both)).toEqual(scanned);
    // the first wire leaves the hour: the sum is the second one again, not Infinity - 1e308
    expect(trackers.values("s", module.trackers, T0 + 3_600_001, action)[2]).toBe(1e308);
  });

  // [case, wires as [amount, ms after T0], when the decision is made, the runtime's `sum(... within 1h)`]
  const drifts: [string, [number, number][], number, unknown][] = [
    // a running float total lost the 9,000 and the 900 with the -1e300 that left: a limit bypassed
    [
      "-1e300 leaves the window and takes nothing with it",
      [
        [-1e300, 0],
        [9000, 1_800_000],
        [900, 2_700_000],
      ],
      4_500_000,
      9900,
    ],
    [
      "1e300 and -1e300 leave, 50 stays",
      [
        [1e300, 0],
        [-1e300, 1],
        [50, 1_800_000],
      ],
      3_600_001,
      50,
    ],
    [
      "the largest number, its negation and 0.1",
      [
        [Number.MAX_VALUE, 0],
        [-Number.MAX_VALUE, 1],
        [0.1, 2],
      ],
      3,
      0.1,
    ],
  ];
  it.each(drifts)("%s: the runtime's sum is the scan's", async (_, wires, at, expected) => {
    const module = await loadModule(emit(compilation).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    for (const [amount, t] of wires) trackers.record("s", { type: "wire", amount }, T0 + t, [module.trackers]);
    const action = { type: "wire", amount: 1 };
    const values = trackers.values("s", module.trackers, T0 + at, action);
    expect(values[2]).toBe(expected);
    const history = wires.map(([amount, t]) => ({ action: { type: "wire", amount }, time: iso(T0 + t) }));
    const scanned = module.decide({ action, time: iso(T0 + at), history });
    expect(module.decide({ action, time: iso(T0 + at) }, values)).toEqual(scanned);
    expect(evaluatePolicy(compilation.policy, { action, time: iso(T0 + at), history }).result).toEqual(scanned);
  });
});

describe("hostile tracker values", () => {
  const hostile = (v: unknown): unknown[] => [false, 0, v, null, false];
  // [case, the value passed for `sum(... within 1h)`, the error of the whole input or of the rule]
  const cases: [string, () => unknown[], { rule: string | null; message: string }][] = [
    ["NaN for a sum", () => hostile(Number.NaN), { rule: null, message: "`trackerValues[2]` must be a finite number" }],
    ["Infinity for a sum", () => hostile(Number.POSITIVE_INFINITY), { rule: null, message: "`trackerValues[2]` must be a finite number" }],
    ["null for a sum", () => hostile(null), { rule: null, message: "`trackerValues[2]` must be a finite number" }],
    ["-Infinity for a max", () => [false, 0, 0, Number.NEGATIVE_INFINITY, false], { rule: null, message: "`trackerValues[3]` must be a finite number or null" }],
    ["a string for a sum", () => hostile("1"), { rule: null, message: "`trackerValues[2]` must be a finite number" }],
    [
      "{ error } with a getter that throws",
      () =>
        hostile(
          Object.defineProperty({}, "error", {
            get: () => {
              throw new Error("boom");
            },
            enumerable: true,
          }),
        ),
      { rule: null, message: "`trackerValues[2]` cannot be read" },
    ],
    [
      "{ error } in a Proxy that throws",
      () =>
        hostile(
          new Proxy(
            { error: "x" },
            {
              getOwnPropertyDescriptor: () => {
                throw new Error("boom");
              },
            },
          ),
        ),
      { rule: null, message: "`trackerValues[2]` cannot be read" },
    ],
    ["{ error } inherited, not own", () => hostile(Object.create({ error: "planted" })), { rule: null, message: "`trackerValues[2]` must be a finite number" }],
    ["{ error } that is not a string", () => hostile({ error: 7 }), { rule: null, message: "`trackerValues[2]` must be a finite number" }],
    ["{ error } as a list", () => hostile(Object.assign([1], { error: "x" })), { rule: null, message: "`trackerValues[2]` must be a finite number" }],
    ["{ error: text }: the rule errs with the text", () => hostile({ error: "the runtime saw a string" }), { rule: "budget", message: "the runtime saw a string" }],
  ];
  it.each(cases)("%s", async (_name, values, error) => {
    const module = await loadModule(emit(compilation).js);
    const input = { action: { type: "wire", amount: 1 } };
    const compiled = module.decide(input, values() as never);
    expect(compiled.decision).toBe("deny");
    expect(compiled.errors).toEqual([error]);
    expect(evaluatePolicy(compilation.policy, input, { trackerValues: values() }).result).toEqual(compiled);
  });
});

describe("state that is recorded but never read", () => {
  it("a hot key never looked up keeps only its window", async () => {
    const module = await loadModule(emit(compilation).js);
    const store = memoryHistoryStore();
    const trackers = new SessionTrackers(store);
    // one recipient, 20,000 emails a minute apart (two weeks), and no decision reads the tracker
    for (let i = 0; i < 20_000; i++) trackers.record("s", { type: "email", to: "hot@x.com" }, T0 + i * 60_000, [module.trackers]);
    const state = store.get("s")!.trackers.get(module.trackers[1]!.key) as { keys: Map<string, { window: { size: number } }>; filings: { size: number } };
    // the hour's window holds 60 of them; the filing queue is compacted as it goes
    expect(state.keys.get([...state.keys.keys()][0]!)!.window.size).toBeLessThanOrEqual(61);
    expect(state.filings.size).toBeLessThanOrEqual(61);
  });
});

describe("hostile lists behind keys through `any`", () => {
  const listSource = 'default allow\nrule reply when action.type == "reply" and not seen(type == "inbox" and any(f in from: f == current.to) within 1h) deny because "no mail from them"';
  const listCompilation = compileSource("lists.armor", listSource, { readFile: () => undefined });
  const range = (n: number, f: (i: number) => unknown): unknown[] => Array.from({ length: n }, (_, i) => f(i));
  /** The list behind a proxy that counts the elements read: the work of filing an entry, without a clock. */
  const counted = (list: unknown[]): { list: unknown[]; reads: () => number } => {
    let reads = 0;
    const proxy = new Proxy(list, {
      get(target, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    return { list: proxy, reads: () => reads };
  };
  // [case, the earlier action's `from`, the current `to`, the tracker's value, at most this many elements read, keys kept]
  const cases: [string, () => unknown[], string, unknown, number, number][] = [
    ["100,000 distinct senders", () => range(100_000, (i) => `s${i}@x.com`), "s5@x.com", { error: ENTRY_KEYS_MESSAGE }, 100_000, 0],
    ["100,000 copies of one sender", () => range(100_000, () => "a@x.com"), "a@x.com", true, 100_000, 1],
    ["100,000 copies of one sender, another recipient", () => range(100_000, () => "a@x.com"), "b@x.com", false, 100_000, 1],
    ["100,001 senders", () => range(100_001, () => "a@x.com"), "b@x.com", { error: QUANTIFIER_LIMIT_MESSAGE }, 0, 0],
    ["10,000,000 senders", () => new Array<unknown>(10_000_000).fill("a@x.com"), "b@x.com", { error: QUANTIFIER_LIMIT_MESSAGE }, 0, 0],
    ["100,000 objects of 2 members", () => range(100_000, (i) => ({ id: i % 2, pad: "x" })), "a", { error: "a correlation key holds more than 100000 values" }, 100_000, 0],
  ];
  it.each(cases)("%s: bounded work, and the decision is made", async (_name, make, to, value, maxReads, keysKept) => {
    expect(listCompilation.ok).toBe(true);
    const module = await loadModule(emit(listCompilation).js);
    const { list, reads } = counted(make());
    const store = memoryHistoryStore();
    const trackers = new SessionTrackers(store);
    trackers.record("s", { type: "inbox", from: list }, T0, [module.trackers]);
    expect(reads()).toBeLessThanOrEqual(maxReads);
    const action = { type: "reply", to };
    const values = trackers.values("s", module.trackers, T0 + 1000, action);
    expect(values[0]).toEqual(value);
    const keys = (store.get("s")!.trackers.get(module.trackers[0]!.key) as { keys: Map<string, unknown> }).keys.size;
    expect(keys).toBe(keysKept);
    const decision = module.decide({ action, time: iso(T0 + 1000) }, values);
    expect(decision.decision).toBe(value === true ? "allow" : "deny");
    if (typeof value !== "boolean") expect(decision.errors).toEqual([{ rule: "reply", message: (value as { error: string }).error }]);
    expect(evaluatePolicy(listCompilation.policy, { action, time: iso(T0 + 1000) }, { trackerValues: values }).result).toEqual(decision);
  });
});

describe("earlier actions a history condition cannot be evaluated on, and reservations released", () => {
  const text = `
default allow
rule live when action.type == "read" and not seen(type == "login" and level > 1 since type == "logout" and level > 1) deny
rule once when action.type == "pay" and not seen(type == "approve" and ref == current.ref and amount > 0 within 1h) deny
rule biggest when action.type == "wire" and max(amount where type == "wire") >= 1000 deny
rule per_to when action.type == "email" and count(type == "email" and to == current.to) >= 3 deny
`;
  const hostile = compileSource("hostile-errors.armor", text, { readFile: () => undefined });
  type Row = [string, (record: (a: Record<string, unknown>) => () => void) => void, Record<string, unknown>, "allow" | "deny", boolean];
  // [case, what the session did (each action recorded returns its release), the action decided, its decision, whether a rule errs]
  const rows: Row[] = [
    [
      "a logout whose level is an object, then 10,000 logins: B's error lasts the session",
      (r) => {
        r({ type: "logout", level: { valueOf: 2 } });
        for (let i = 0; i < 10_000; i++) r({ type: "login", level: 2 });
      },
      { type: "read" },
      "deny",
      true,
    ],
    ["a login whose level is a list: not seen denies with the error, never allows", (r) => void r({ type: "login", level: [5] }), { type: "read" }, "deny", true],
    [
      "an approval under another key whose amount is a string poisons every key",
      (r) => {
        r({ type: "approve", ref: "x", amount: 5 });
        r({ type: "approve", ref: "y", amount: "5" });
      },
      { type: "pay", ref: "x" },
      "deny",
      true,
    ],
    [
      "the poisoning approval released: the key's approval counts again",
      (r) => {
        r({ type: "approve", ref: "x", amount: 5 });
        r({ type: "approve", ref: "y", amount: "5" })();
      },
      { type: "pay", ref: "x" },
      "allow",
      false,
    ],
    [
      "1,000 reservations of a bigger wire, each released: the old maximum stands",
      (r) => {
        r({ type: "wire", amount: 5000 });
        for (let i = 0; i < 10_000; i++) r({ type: "noop" });
        for (let i = 0; i < 1000; i++) r({ type: "wire", amount: 10_000 + i })();
      },
      { type: "wire", amount: 1 },
      "deny",
      false,
    ],
    [
      "a descending run of 10,000 wires beaten by one reservation, released twice",
      (r) => {
        for (let i = 0; i < 10_000; i++) r({ type: "wire", amount: 10_000 - i });
        const release = r({ type: "wire", amount: 1e9 });
        release();
        release();
      },
      { type: "wire", amount: 1 },
      "deny",
      false,
    ],
    [
      "3 emails to one recipient, then 10,000 actions and 100 released emails to others",
      (r) => {
        for (let i = 0; i < 3; i++) r({ type: "email", to: "boss" });
        for (let i = 0; i < 10_000; i++) r({ type: "noop" });
        for (let i = 0; i < 100; i++) r({ type: "email", to: `x${i}` })();
      },
      { type: "email", to: "boss" },
      "deny",
      false,
    ],
  ];
  it.each(rows)("%s", async (_name, session, action, decision, errs) => {
    expect(hostile.ok).toBe(true);
    const module = await loadModule(emit(hostile).js);
    const trackers = new SessionTrackers(memoryHistoryStore());
    let recorded = 0;
    session((a) => {
      recorded++;
      const r = trackers.record("s", a, T0 + recorded, [module.trackers]);
      return () => r.cancel();
    });
    const now = T0 + recorded + 1000;
    const d = module.decide({ action, time: iso(now) }, trackers.values("s", module.trackers, now, action));
    expect(d.decision).toBe(decision);
    expect(d.errors.length > 0).toBe(errs);
  });
});
