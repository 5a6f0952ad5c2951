/**
 * The decision input, read defensively: `{ action, user?, context?, time?, history? }`. Shared by
 * the reference interpreter; emitted code carries the same checks in its prelude. Any problem
 * makes the decision `deny`.
 */
import { EvaluationError, readField } from "./semantics.js";
import { ZoneOffsets } from "./zone-offset.js";

export interface HistoryEntry {
  readonly action: Record<string, unknown>;
  /** Epoch milliseconds; `null` when the entry has no time (it then counts in every window). */
  readonly time: number | null;
}

/**
 * The parts of an input. `action` is checked when the input is read; `time` and `history` are
 * read when a rule first needs them, and a malformed one is an evaluation error of that rule.
 */
export interface ReadInput {
  readonly action: Record<string, unknown>;
  readonly user: unknown;
  readonly context: unknown;
  now(): number;
  history(): readonly HistoryEntry[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * ISO-8601 date-times with an explicit offset (`Z` or `+02:00`), so that a decision never depends
 * on the host's time zone. The groups are what `timeProblem` checks.
 */
export const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * Why a date-time of the right form names no instant (`2026-02-30`, `T24:00`, a leap second,
 * an offset of `+24:00`), or `null`. Leap seconds are refused because JavaScript time has none:
 * `23:59:60` would be read as the next minute's `00`.
 */
export function timeProblem(m: RegExpExecArray): string | null {
  const year = Number(m[1]), month = Number(m[2]), day = Number(m[3]);
  if (month < 1 || month > 12) return `there is no month ${m[2]}`;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (day < 1 || day > days) return `there is no day ${m[3]} in ${m[1]}-${m[2]}`;
  if (Number(m[4]) > 23) return `there is no hour ${m[4]} (hours are 00 to 23; the end of a day is the next day's T00:00)`;
  if (Number(m[5]) > 59) return `there is no minute ${m[5]}`;
  if (m[6] === "60") return "leap seconds (second 60) are not accepted; write second 59";
  if (Number(m[6] ?? 0) > 59) return `there is no second ${m[6]}`;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return `the offset ${m[7]}:${m[8]} is out of range (at most 23:59 either way)`;
  return null;
}

/**
 * A date-time as epoch milliseconds, or an error message naming `what` (e.g. `` `time` ``) and
 * what is wrong with it.
 */
export function parseTime(v: unknown, what: string): number | string {
  const m = typeof v === "string" ? ISO_DATE_TIME.exec(v) : null;
  if (m === null) return `${what} must be an ISO-8601 date-time with an offset, such as 2026-03-02T10:00:00Z`;
  const problem = timeProblem(m);
  if (problem !== null) return `${what} is not a real date-time: ${problem}`;
  return Date.parse(v as string);
}

function readTime(v: unknown, what: string): number {
  const t = parseTime(v, what);
  if (typeof t === "string") throw new EvaluationError(t);
  return t;
}

/** Returns the input's parts, or an error message naming what is wrong. */
export function readInput(input: unknown, clock: () => number): ReadInput | string {
  if (!isRecord(input)) return "the input must be an object with an `action`";
  const action = readField(input, "action");
  if (!isRecord(action)) return "`action` must be an object";
  if (typeof readField(action, "type") !== "string") return "`action.type` must be a string";
  let now: number | undefined;
  let history: HistoryEntry[] | undefined;
  return {
    action,
    user: readField(input, "user"),
    context: readField(input, "context"),
    now() {
      if (now === undefined) {
        const raw = readField(input, "time");
        if (raw === null) now = clock();
        else now = readTime(raw, "`time`");
      }
      return now;
    },
    history() {
      if (history === undefined) history = readHistory(readField(input, "history"));
      return history;
    },
  };
}

function readHistory(raw: unknown): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  if (raw === null) return out;
  if (!Array.isArray(raw)) throw new EvaluationError("`history` must be a list");
  for (let i = 0; i < raw.length; i++) {
    const entry: unknown = raw[i];
    const a = readField(entry, "action");
    if (!isRecord(a)) throw new EvaluationError(`\`history[${i}].action\` must be an object`);
    const et = readField(entry, "time");
    out.push({ action: a, time: et === null ? null : readTime(et, `\`history[${i}].time\``) });
  }
  return out;
}

const weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

export interface TimeParts {
  hour: number;
  minute: number;
  weekday: string;
  date: string;
}

const zones = new Map<string, ZoneOffsets>();

/** The wall-clock parts of an instant in a zone (`null`: UTC). */
export function timeParts(epochMs: number, zone: string | null): TimeParts {
  let local = epochMs;
  if (zone !== null) {
    let offsets = zones.get(zone);
    if (!offsets) zones.set(zone, (offsets = new ZoneOffsets(zone)));
    local += offsets.offsetAt(epochMs);
  }
  const d = new Date(local);
  return {
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: weekdays[d.getUTCDay()]!,
    date: d.toISOString().slice(0, 10),
  };
}
