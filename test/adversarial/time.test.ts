/**
 * Hostile and tricky times. Every place a time enters (the decision input's `time`, a history
 * entry's `time`, a test file's `time` and `at`) refuses dates and times that do not exist, and the
 * decision denies saying why; compiled `decide` and the interpreter agree word for word.
 *
 * Local time fields (`timezone`) are read through a per-hour cache of the zone's offset: across
 * DST transitions, half-hour and 45-minute zones, historic offset changes and local mean time,
 * the fields equal `Intl.DateTimeFormat`'s reading of the same instant.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource, compileTests, emit } from "../../packages/compiler/src/compile.js";
import { parseTime, timeParts } from "../../packages/compiler/src/decision-input.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import { loadModule } from "../../packages/compiler/src/load.js";
import type { PolicyModule } from "../../packages/contract/src/index.js";

const noFiles = { readFile: (): undefined => undefined };

async function compile(source: string): Promise<{ policy: ReturnType<typeof compileSource>["policy"]; module: PolicyModule }> {
  const c = compileSource("p.armor", source, noFiles);
  expect(c.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return { policy: c.policy, module: await loadModule(emit(c).js) };
}

// ---- impossible dates and times -------------------------------------------------------------

/**
 * [text, null when accepted or the reason it is refused]. Policy on the edges: leap seconds are
 * refused (JavaScript time has none, so `23:59:60` would silently become the next minute);
 * `T24:00` is refused (write the next day's `T00:00`); offsets run from -23:59 to +23:59, and
 * `-00:00` is UTC; years 0000 to 9999 are read in the proleptic Gregorian calendar.
 */
const times: [string, string | null][] = [
  ["2026-02-28T10:00:00Z", null],
  ["2024-02-29T10:00:00Z", null],
  ["2000-02-29T00:00Z", null],
  ["2026-02-29T10:00:00Z", "there is no day 29 in 2026-02"],
  ["2100-02-29T00:00Z", "there is no day 29 in 2100-02"],
  ["1900-02-29T00:00Z", "there is no day 29 in 1900-02"],
  ["2026-02-30T10:00:00Z", "there is no day 30 in 2026-02"],
  ["2026-04-31T00:00Z", "there is no day 31 in 2026-04"],
  ["2026-01-00T00:00Z", "there is no day 00 in 2026-01"],
  ["2026-13-01T00:00Z", "there is no month 13"],
  ["2026-00-10T00:00Z", "there is no month 00"],
  ["2026-12-31T23:59:59.999999999Z", null],
  ["2026-03-02T24:00:00Z", "there is no hour 24 (hours are 00 to 23; the end of a day is the next day's T00:00)"],
  ["2026-03-02T24:00Z", "there is no hour 24 (hours are 00 to 23; the end of a day is the next day's T00:00)"],
  ["2026-03-02T23:60Z", "there is no minute 60"],
  ["2016-12-31T23:59:60Z", "leap seconds (second 60) are not accepted; write second 59"],
  ["2026-03-02T10:00:61Z", "there is no second 61"],
  ["2026-03-02T10:00:00+23:59", null],
  ["2026-03-02T10:00:00-00:00", null],
  ["2026-03-02T10:00:00+14:00", null],
  ["2026-03-02T10:00:00+24:00", "the offset 24:00 is out of range (at most 23:59 either way)"],
  ["2026-03-02T10:00:00-99:00", "the offset 99:00 is out of range (at most 23:59 either way)"],
  ["2026-03-02T10:00:00+05:60", "the offset 05:60 is out of range (at most 23:59 either way)"],
  ["0000-01-01T00:00Z", null],
  ["9999-12-31T23:59:59Z", null],
];

describe("impossible dates and times are refused wherever a time enters", () => {
  const timePolicy = "default allow\nrule r when time.hour >= 0 deny";
  const historyPolicy = 'default allow\nrule r when count(type == "b" within 1h) >= 1 deny';

  it.each(times)("decision input time %s", async (text, problem) => {
    const { policy, module } = await compile(timePolicy);
    const input = { action: { type: "a" }, time: text };
    const compiled = module.decide(input);
    expect(compiled).toEqual(evaluatePolicy(policy, input).result);
    if (problem === null) expect(compiled).toMatchObject({ decision: "deny", errors: [], rules: [{ id: "r" }] });
    else expect(compiled).toMatchObject({ decision: "deny", rules: [], errors: [{ rule: "r", message: `\`time\` is not a real date-time: ${problem}` }] });
  });

  it.each(times)("history entry time %s", async (text, problem) => {
    const { policy, module } = await compile(historyPolicy);
    const input = {
      action: { type: "a" },
      time: "2026-03-02T10:00:00Z",
      history: [
        { action: { type: "b" }, time: "2026-03-02T09:30:00Z" },
        { action: { type: "b" }, time: text },
      ],
    };
    const compiled = module.decide(input);
    expect(compiled).toEqual(evaluatePolicy(policy, input).result);
    if (problem === null) expect(compiled.errors).toEqual([]);
    else expect(compiled).toMatchObject({ decision: "deny", errors: [{ rule: "r", message: `\`history[1].time\` is not a real date-time: ${problem}` }] });
  });

  it.each(times)("test file time and at %s", (text, problem) => {
    const c = compileSource("p.armor", "default allow\nrule r when seen(true) deny", noFiles);
    const tests = compileTests("p.test.armor", `test "t" {\n  time "${text}"\n  history { type: "b" } at "${text}"\n  action { type: "a" }\n  expect deny by r\n}\n`, c);
    const found = tests.diagnostics.map((d) => `${d.code} ${d.message}`);
    if (problem === null) expect(found).toEqual([]);
    else expect(found).toEqual([`A603 \`time\` is not a real date-time: ${problem}`, `A603 \`at\` is not a real date-time: ${problem}`]);
  });
});

// ---- the scanner against a reference ------------------------------------------------------

/** The form, by a regex; validity, by a round trip through Date's setters; the instant, by Date.parse. */
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
function reference(s: string): "form" | "impossible" | number {
  const m = ISO.exec(s);
  if (m === null) return "form";
  const [y, mo, d, h, mi, sec, oh, om] = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, sec);
  const real = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === sec;
  if (!real || oh > 23 || om > 59) return "impossible";
  return Date.parse(s);
}

const digits = (n: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, "0")),
    fc.constantFrom(...["00", "01", "12", "13", "23", "24", "28", "29", "30", "31", "32", "59", "60", "61", "99"].map((x) => x.padStart(n, n === 4 ? "2" : "0").slice(0, n))),
  );
const timeText = fc
  .tuple(
    digits(4),
    digits(2),
    digits(2),
    digits(2),
    digits(2),
    fc.option(fc.tuple(digits(2), fc.option(fc.stringMatching(/^[0-9]{0,11}$/)))),
    fc.oneof(
      fc.constant("Z"),
      fc.tuple(fc.constantFrom("+", "-"), digits(2), digits(2)).map(([sg, h, m]) => `${sg}${h}:${m}`),
      fc.constantFrom("", "z", "+0100", "+01", " Z", "Z "),
    ),
  )
  .map(([y, mo, d, h, mi, sec, off]) => `${y}-${mo}-${d}T${h}:${mi}${sec === null ? "" : `:${sec[0]}${sec[1] === null ? "" : `.${sec[1]}`}`}${off}`);
/** Valid-looking times with one character replaced, inserted or dropped. */
const mutated = fc.tuple(timeText, fc.nat(), fc.constantFrom("", "0", "9", "-", ":", "T", ".", "Z", "+", "\u0660", " ")).map(([t, at, c]) => {
  const i = at % (t.length + 1);
  return at % 3 === 0 ? t.slice(0, i) + c + t.slice(i + 1) : at % 3 === 1 ? t.slice(0, i) + c + t.slice(i) : t.slice(0, i) + t.slice(i + 1);
});

describe("the time scanner reads exactly ISO-8601 with an offset", () => {
  it("agrees with a regex, Date's calendar and Date.parse on generated and mutated times", () => {
    fc.assert(
      fc.property(fc.oneof(timeText, mutated), (text) => {
        const want = reference(text);
        const got = parseTime(text, "`time`");
        if (want === "form") expect(got).toMatch(/^`time` must be an ISO-8601 date-time with an offset/);
        else if (want === "impossible") expect(got).toMatch(/^`time` is not a real date-time: /);
        else expect(got).toBe(want);
      }),
      { numRuns: 20_000 },
    );
  });

  it("compiled decide reads them as the interpreter does", async () => {
    const { policy, module } = await compile('default allow\nrule r when time.hour == 9 or time.date == "2026-03-02" deny');
    fc.assert(
      fc.property(fc.oneof(timeText, mutated), (text) => {
        const input = { action: { type: "a" }, time: text, history: [] };
        expect(module.decide(input)).toEqual(evaluatePolicy(policy, input).result);
      }),
      { numRuns: 5000 },
    );
  });
});

// ---- local time fields ----------------------------------------------------------------------

const weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** The wall-clock fields straight from Intl.DateTimeFormat: what the cache must reproduce. */
function intlParts(epochMs: number, zone: string): { hour: number; minute: number; weekday: string; date: string } {
  const f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", weekday: "short" });
  const p = new Map(f.formatToParts(epochMs).map((x) => [x.type, x.value]));
  return {
    hour: Number(p.get("hour")),
    minute: Number(p.get("minute")),
    weekday: p.get("weekday")!.toLowerCase(),
    date: `${p.get("year")!.padStart(4, "0")}-${p.get("month")}-${p.get("day")}`,
  };
}

/** Zones, each with instants where its offset changes (UTC). */
const zones: [string, string[]][] = [
  // spring forward 02:00 EST → 03:00 EDT; fall back 02:00 EDT → 01:00 EST; local mean time until 1883
  ["America/New_York", ["2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z", "1883-11-18T17:00:00Z"]],
  // DST is 30 minutes: +11:00 → +10:30 at 02:00 local in April, back in October
  ["Australia/Lord_Howe", ["2026-04-04T15:00:00Z", "2026-10-03T15:30:00Z"]],
  // +05:30 → +05:45 on 1986-01-01
  ["Asia/Kathmandu", ["1985-12-31T18:30:00Z"]],
  // skipped 2011-12-30 entirely: -10:00 → +14:00
  ["Pacific/Apia", ["2011-12-30T10:00:00Z"]],
  // permanent +04:00 → +03:00 in 2014
  ["Europe/Moscow", ["2014-10-25T22:00:00Z", "2011-03-26T23:00:00Z"]],
  // +12:45 / +13:45
  ["Pacific/Chatham", ["2026-04-04T14:00:00Z", "2026-09-26T14:00:00Z"]],
  // -03:30 / -02:30
  ["America/St_Johns", ["2026-03-08T05:30:00Z", "2026-11-01T04:30:00Z"]],
];

/** Instants: anywhere in 1700–2200, or within two hours of a transition, to the millisecond. */
function instants(transitions: string[]): fc.Arbitrary<number> {
  const near = transitions.map((t) => fc.integer({ min: -2 * 3_600_000, max: 2 * 3_600_000 }).map((d) => Date.parse(t) + d));
  return fc.oneof(fc.integer({ min: Date.UTC(1700, 0, 1), max: Date.UTC(2200, 0, 1) }), ...near);
}

/**
 * A policy whose fired rules spell out the time fields: one rule per hour, minute, weekday, day
 * of the month, month and year (1990–2040), so compiled `decide` can be read back.
 */
function spellingPolicy(zone: string): string {
  const lines = ["default allow", `timezone "${zone}"`];
  for (let h = 0; h < 24; h++) lines.push(`rule hour_${h} when time.hour == ${h} deny`);
  for (let m = 0; m < 60; m++) lines.push(`rule minute_${m} when time.minute == ${m} deny`);
  for (const w of weekdays) lines.push(`rule weekday_${w} when time.weekday == "${w}" deny`);
  for (let d = 1; d <= 31; d++) lines.push(`rule day_${String(d).padStart(2, "0")} when time.date ends_with "-${String(d).padStart(2, "0")}" deny`);
  for (let m = 1; m <= 12; m++) lines.push(`rule month_${String(m).padStart(2, "0")} when time.date matches /^\\d{4}-${String(m).padStart(2, "0")}-/ deny`);
  for (let y = 1990; y <= 2040; y++) lines.push(`rule year_${y} when time.date starts_with "${y}-" deny`);
  return `${lines.join("\n")}\n`;
}

function spelled(rules: readonly { id: string }[]): { hour: number; minute: number; weekday: string; date: string } {
  const get = (prefix: string): string => {
    const hits = rules.filter((r) => r.id.startsWith(prefix)).map((r) => r.id.slice(prefix.length));
    expect(hits).toHaveLength(1);
    return hits[0]!;
  };
  return { hour: Number(get("hour_")), minute: Number(get("minute_")), weekday: get("weekday_"), date: `${get("year_")}-${get("month_")}-${get("day_")}` };
}

describe.each(zones)("local time fields in %s", (zone, transitions) => {
  it("the interpreter's fields equal Intl.DateTimeFormat's, around transitions and anywhere", () => {
    fc.assert(
      fc.property(instants(transitions), (t) => {
        expect(timeParts(t, zone)).toEqual(intlParts(t, zone));
      }),
      { numRuns: 1500 },
    );
  });

  it("every half minute of the hours around each transition", () => {
    for (const at of transitions) {
      const t0 = Date.parse(at);
      for (let t = t0 - 3_600_000; t < t0 + 3_600_000; t += 30_000) expect(timeParts(t, zone)).toEqual(intlParts(t, zone));
    }
  });

  it("compiled decide reads the same fields as Intl.DateTimeFormat and the interpreter", async () => {
    const { policy, module } = await compile(spellingPolicy(zone));
    const inWindow = instants(transitions).filter((t) => t >= Date.UTC(1990, 0, 2) && t < Date.UTC(2040, 11, 31));
    fc.assert(
      fc.property(fc.oneof(inWindow, fc.integer({ min: Date.UTC(1990, 0, 2), max: Date.UTC(2040, 11, 30) })), (t) => {
        const input = { action: { type: "a" }, time: new Date(t).toISOString() };
        const compiled = module.decide(input);
        expect(compiled).toEqual(evaluatePolicy(policy, input).result);
        expect(spelled(compiled.rules)).toEqual(intlParts(t, zone));
      }),
      { numRuns: 300 },
    );
  });
});
