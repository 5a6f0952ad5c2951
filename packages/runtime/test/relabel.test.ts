/**
 * The session trackers against a scan of the session's entries in the order they were recorded,
 * while entries are recorded, relabelled in place (a result's labels), settled, taken back and
 * read at later times: count, sum, max, min and `since`, each reading the entries' labels, with
 * windows. Whatever the interleaving, every value is the scan's.
 */
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { memoryHistoryStore, type Reservation, SessionTrackers } from "../src/history.js";
import type { PolicyModule, PolicyTracker } from "../src/types.js";

const POLICY = `default allow
rule r1 when count(labels contains "web" within 10s) > 1000 deny
rule r2 when sum(amount where labels contains "pii" within 10s) > 1000000000 deny
rule r3 when max(amount where labels contains "web" within 10s) > 1000000000 deny
rule r4 when seen(labels contains "web" since action.type == "review") deny
rule r5 when min(amount where action.type == "a" and labels contains "pii" within 5s) < -5 deny
rule r6 when count(action.type == current.type and labels contains "pii" within 10s) > 1000 deny
`;

interface Entry {
  time: number;
  action: { type: string; amount: number };
  labels: string[];
  cancelled: boolean;
  settled: boolean;
  reservation: Reservation;
}

/** What a scan of the entries (in record order, without those taken back) gives at `now`. */
function scan(trackers: readonly PolicyTracker[], entries: readonly Entry[], now: number, current: { type: string }): unknown[] {
  const live = entries.filter((e) => !e.cancelled);
  return trackers.map((t) => {
    const inWindow = (e: Entry) => t.withinMs === null || now - e.time < t.withinMs;
    if (t.since !== undefined) {
      let lastB = -1;
      live.forEach((e, i) => {
        if (t.since!(e.action, e.labels)) lastB = i;
      });
      return live.some((e, i) => i > lastB && !t.since!(e.action, e.labels) && t.matches(e.action, e.labels) && inWindow(e));
    }
    const keyed = t.currentKey !== undefined;
    const m = live.filter((e) => inWindow(e) && t.matches(e.action, e.labels) && (!keyed || e.action.type === current.type));
    if (t.kind === "count") return m.length;
    if (t.kind === "seen") return m.length > 0;
    const values = m.map((e) => t.value!(e.action, e.labels));
    if (t.kind === "sum") return values.reduce((a, b) => a + b, 0);
    if (values.length === 0) return null;
    return t.kind === "max" ? Math.max(...values) : Math.min(...values);
  });
}

const LABELS = [[], ["web"], ["pii"], ["web", "pii"]];
const step = fc.oneof(
  fc.record({ k: fc.constant("record" as const), type: fc.constantFrom("a", "b", "review"), amount: fc.integer({ min: -10, max: 10 }), labels: fc.constantFrom(...LABELS), relabelled: fc.boolean() }),
  fc.record({ k: fc.constant("relabel" as const), i: fc.nat(40), add: fc.constantFrom(...LABELS.slice(1)) }),
  fc.record({ k: fc.constantFrom("settle" as const, "cancel" as const), i: fc.nat(40) }),
  fc.record({ k: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 4000 }) }),
  fc.record({ k: fc.constant("read" as const), type: fc.constantFrom("a", "b", "review") }),
);

describe("relabelling entries in place", () => {
  it("keeps every tracker equal to a scan of the entries in record order", async () => {
    const compiled = compileSource("relabel.armor", POLICY);
    expect(compiled.ok).toBe(true);
    const trackers = ((await loadModule(emit(compiled).js)) as PolicyModule).trackers;
    expect(trackers.map((t) => t.kind)).toEqual(["count", "sum", "max", "seen", "min", "count"]);
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const st = new SessionTrackers(memoryHistoryStore());
        const entries: Entry[] = [];
        let now = 1_000_000;
        for (const s of steps) {
          if (s.k === "record") {
            const action = { type: s.type, amount: s.amount };
            const reservation = st.record("s", action, now, [trackers], s.labels, s.relabelled);
            entries.push({ time: now, action, labels: [...s.labels], cancelled: false, settled: !s.relabelled, reservation });
          } else if (s.k === "tick") now += s.ms;
          else if (s.k === "read") expect(st.values("s", trackers, now, { type: s.type })).toEqual(scan(trackers, entries, now, { type: s.type }));
          else {
            const e = entries[s.i % Math.max(1, entries.length)];
            if (e === undefined) continue;
            if (s.k === "relabel") {
              e.reservation.relabel(s.add);
              if (!e.cancelled && !e.settled) for (const l of s.add) if (!e.labels.includes(l)) e.labels.push(l);
            } else if (s.k === "settle") {
              e.reservation.settle();
              e.settled = true;
            } else {
              e.reservation.cancel();
              e.cancelled = e.settled = true;
            }
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("an entry relabelled after a later one was recorded", () => {
  // [what, policy, entries (amount, labels, relabelled), the relabel, read at, the value a scan gives]
  const CASES: [string, string, [number, number, string[], boolean][], string[], number, unknown][] = [
    // A (0 s, 5) gets "pii" from its result after B (6 s, 7): at 10.5 s A left the window, B has not
    [
      "a sum does not count it past its window",
      `sum(amount where labels contains "pii" within 10s)`,
      [
        [0, 1, ["pii"], false],
        [0, 5, [], true],
        [6000, 7, ["pii"], true],
      ],
      ["pii"],
      10_500,
      7,
    ],
    [
      "a sum does not subtract it twice",
      `sum(amount where labels contains "pii" within 10s)`,
      [
        [0, -5, [], true],
        [6000, 20, ["pii"], true],
      ],
      ["pii"],
      10_500,
      20,
    ],
    [
      "a keyed count does not count it past its window",
      `count(action.type == current.type and labels contains "pii" within 10s)`,
      [
        [0, 5, [], true],
        [6000, 7, ["pii"], true],
      ],
      ["pii"],
      10_500,
      1,
    ],
    [
      "a max does not keep it past its window",
      `max(amount where labels contains "pii" within 10s)`,
      [
        [0, 9, [], true],
        [6000, 7, ["pii"], true],
      ],
      ["pii"],
      10_500,
      7,
    ],
  ];

  it.each(CASES)("%s", async (_what, predicate, recorded, labels, at, expected) => {
    const compiled = compileSource("p.armor", `default allow\nrule r when ${predicate} == 123456789 deny\n`);
    const trackers = ((await loadModule(emit(compiled).js)) as PolicyModule).trackers;
    const st = new SessionTrackers(memoryHistoryStore());
    const reservations = recorded.map(([time, amount, l, relabelled]) => st.record("s", { type: "a", amount }, time, [trackers], l, relabelled));
    // the first entry that waits for its result is the one relabelled
    reservations[recorded.findIndex((r) => r[3])]!.relabel(labels);
    expect(st.values("s", trackers, at, { type: "a" })).toEqual([expected]);
  });
});
