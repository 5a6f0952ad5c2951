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
  /** The entry's `labels` as given (`null` when absent), read inside history conditions as `labels`. */
  readonly labels: unknown;
  /** `otherSession: true`: recorded in another session, so only predicates with a `per` scope read it. */
  readonly other: boolean;
  /** The entry as given: a scope reads its `user` or `context` (what the decision that recorded it had). */
  readonly entry: unknown;
}

/**
 * The parts of an input. `action` is checked when the input is read; `time` and `history` are
 * read when a rule first needs them, and a malformed one is an evaluation error of that rule.
 */
export interface ReadInput {
  readonly action: Record<string, unknown>;
  /** Read when a rule reads them (a getter that throws is that rule's error), on every read. */
  user(): unknown;
  context(): unknown;
  /** `input.session` (`session.labels` reads its `labels`). */
  session(): unknown;
  now(): number;
  history(): readonly HistoryEntry[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Two ASCII digits at `i` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48,
    b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/**
 * An ISO-8601 date-time with an explicit offset, so that a decision never depends on the host's
 * time zone (`YYYY-MM-DDTHH:MM`, optionally `:SS` and then `.` and 1 to 9 digits, then `Z` or
 * `±HH:MM`; ASCII digits), as epoch milliseconds; `""` when the text is not of that form; otherwise why it names no instant (`2026-02-30`, `T24:00`, a leap second, an offset
 * of `+24:00`). Leap seconds are refused because JavaScript time has none: `23:59:60` would be the
 * next minute's `00`. Fractions of a second beyond milliseconds are truncated, as `Date.parse`
 * does. A scanner rather than a regex and `Date.parse`: those cost about 10× as much, and this
 * runs in every decision that reads the time. The emitted twin is `$scanTime`.
 */
export function scanTime(s: string): number | string {
  const n = s.length;
  if (n < 17 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58) return "";
  const century = twoDigits(s, 0),
    yy = twoDigits(s, 2),
    month = twoDigits(s, 5),
    day = twoDigits(s, 8),
    hour = twoDigits(s, 11),
    minute = twoDigits(s, 14);
  if (century < 0 || yy < 0 || month < 0 || day < 0 || hour < 0 || minute < 0) return "";
  let i = 16,
    second = 0,
    ms = 0;
  if (s.charCodeAt(i) === 58) {
    second = twoDigits(s, i + 1);
    if (second < 0) return "";
    i += 3;
    if (s.charCodeAt(i) === 46) {
      let k = 0;
      for (i++; k < 10 && i < n; k++, i++) {
        const v = s.charCodeAt(i) - 48;
        if (v < 0 || v > 9) break;
        if (k < 3) ms = ms * 10 + v;
      }
      if (k === 0 || k > 9) return "";
      for (; k < 3; k++) ms *= 10;
    }
  }
  let offset = 0;
  const sign = s.charCodeAt(i);
  if (sign === 90 && i + 1 === n) offset = 0;
  else if ((sign === 43 || sign === 45) && i + 6 === n && s.charCodeAt(i + 3) === 58) {
    const oh = twoDigits(s, i + 1),
      om = twoDigits(s, i + 4);
    if (oh < 0 || om < 0) return "";
    if (oh > 23 || om > 59) offset = Number.NaN;
    else offset = (sign === 43 ? 1 : -1) * (oh * 60 + om);
  } else return "";
  const year = century * 100 + yy;
  if (month < 1 || month > 12) return `there is no month ${s.slice(5, 7)}`;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (day < 1 || day > days) return `there is no day ${s.slice(8, 10)} in ${s.slice(0, 7)}`;
  if (hour > 23) return `there is no hour ${s.slice(11, 13)} (hours are 00 to 23; the end of a day is the next day's T00:00)`;
  if (minute > 59) return `there is no minute ${s.slice(14, 16)}`;
  if (second === 60) return "leap seconds (second 60) are not accepted; write second 59";
  if (second > 59) return `there is no second ${s.slice(17, 19)}`;
  if (Number.isNaN(offset)) return `the offset ${s.slice(n - 5)} is out of range (at most 23:59 either way)`;
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + (minute - offset) * 60_000 + second * 1000 + ms;
}

/**
 * A date-time as epoch milliseconds, or an error message naming `what` (e.g. `` `time` ``) and
 * what is wrong with it.
 */
export function parseTime(v: unknown, what: string): number | string {
  const t = typeof v === "string" ? scanTime(v) : "";
  if (t === "") return `${what} must be an ISO-8601 date-time with an offset, such as 2026-03-02T10:00:00Z`;
  return typeof t === "string" ? `${what} is not a real date-time: ${t}` : t;
}

function readTime(v: unknown, what: string): number {
  const t = parseTime(v, what);
  if (typeof t === "string") throw new EvaluationError(t);
  return t;
}

/** Returns the input's parts, or an error message naming what is wrong. */
export function readInput(input: unknown, clock: () => number, needsAction = true): ReadInput | string {
  if (!needsAction) {
    // the output stage reads no action (its rules cannot name one)
    if (!isRecord(input)) return "the input must be an object with an `output`";
    return readParts(input, {}, clock);
  }
  if (!isRecord(input)) return "the input must be an object with an `action`";
  const action = readField(input, "action");
  if (!isRecord(action)) return "`action` must be an object";
  if (typeof readField(action, "type") !== "string") return "`action.type` must be a string";
  return readParts(input, action, clock);
}

function readParts(input: Record<string, unknown>, action: Record<string, unknown>, clock: () => number): ReadInput {
  let now: number | undefined;
  let history: HistoryEntry[] | undefined;
  return {
    action,
    user: () => readField(input, "user"),
    context: () => readField(input, "context"),
    session: () => readField(input, "session"),
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

/**
 * What a decision says when reading the input threw something other than an evaluation error (a
 * getter, a Proxy trap, a revoked Proxy, the stack on a deep value): a fixed text, because the
 * engine's own message depends on which operation met the trap first, and the compiled code
 * (`$err`, `$failed` in codegen/prelude.ts) and the interpreter must give the same decision.
 */
export const FOREIGN_ERROR = "reading the input threw an exception";
export const INPUT_UNREADABLE = "the input cannot be read: reading it threw an exception";

/** Whether `e` is an evaluation error; `instanceof` on a thrown Proxy can itself throw. */
export function isEvaluationError(e: unknown): e is EvaluationError {
  try {
    return e instanceof EvaluationError;
  } catch {
    return false;
  }
}

/** A tracker value `{ error: "message" }`: the runtime could not compute it; a rule reading it errs with the message. */
export class TrackerError {
  constructor(readonly message: string) {}
}

export type TrackerValue = number | boolean | null | TrackerError;

/** `{ error: "message" }` read through own data properties, or null when `v` is not such an object. */
function trackerError(v: unknown, i: number): TrackerError | null {
  if (v === null || typeof v !== "object") return null;
  let message: unknown;
  try {
    message = !Array.isArray(v) && Object.hasOwn(v, "error") ? (v as { error: unknown }).error : undefined;
  } catch {
    throw new EvaluationError(`\`trackerValues[${i}]\` cannot be read`);
  }
  if (typeof message !== "string") return null;
  return new TrackerError(message);
}

/**
 * The tracker values a runtime passed to `decide`, one per tracker: `undefined` (scan the
 * history), a finite number or a boolean for `count`, a boolean (or a number, which is false) for
 * `seen`, a finite number for `sum`, a finite number or `null` for `max` and `min`, or
 * `{ error: "message" }` for any kind. Anything else, or a value that cannot be read, is an
 * error of the whole input; the same checks as `$tv` in codegen/prelude.ts.
 */
export function readTrackerValues(values: unknown, kinds: readonly ("count" | "seen" | "sum" | "max" | "min")[]): (TrackerValue | undefined)[] {
  const out: (TrackerValue | undefined)[] = [];
  for (let i = 0; i < kinds.length; i++) {
    let v: unknown;
    try {
      v = values == null ? undefined : (values as Record<number, unknown>)[i];
    } catch {
      throw new EvaluationError(`\`trackerValues[${i}]\` cannot be read`);
    }
    const kind = kinds[i];
    const error = trackerError(v, i);
    if (error !== null) out.push(error);
    else if (v === undefined) out.push(undefined);
    else if (kind === "sum" || kind === "max" || kind === "min") {
      if (typeof v === "number" && Number.isFinite(v)) out.push(v);
      else if (v === null && kind !== "sum") out.push(null);
      else throw new EvaluationError(`\`trackerValues[${i}]\` must be a finite number${kind === "sum" ? "" : " or null"}`);
    } else if (kind === "count") {
      if (typeof v === "boolean") out.push(v ? 1 : 0);
      else if (typeof v === "number" && Number.isFinite(v)) out.push(v);
      else throw new EvaluationError(`\`trackerValues[${i}]\` must be a finite number`);
    } else if (typeof v === "boolean") out.push(v);
    else if (typeof v === "number") out.push(false);
    else throw new EvaluationError(`\`trackerValues[${i}]\` must be true or false`);
  }
  return out;
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
    const time = et === null ? null : readTime(et, `\`history[${i}].time\``);
    const other = readField(entry, "otherSession");
    if (other !== null && typeof other !== "boolean") throw new EvaluationError(`\`history[${i}].otherSession\` must be true or false`);
    out.push({ action: a, time, labels: readField(entry, "labels"), other: other === true, entry });
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

/** `YYYY-MM-DD` of a day counted from 1970-01-01 (H. Hinnant's civil_from_days). */
export function dateText(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const y = year < 0 ? `-${String(-year).padStart(4, "0")}` : String(year).padStart(4, "0");
  return `${y}-${month < 10 ? "0" : ""}${month}-${day < 10 ? "0" : ""}${day}`;
}

/** The wall-clock parts of an instant in a zone (`null`: UTC), by arithmetic on the shifted instant. */
export function timeParts(epochMs: number, zone: string | null): TimeParts {
  let local = epochMs;
  if (zone !== null) {
    let offsets = zones.get(zone);
    if (!offsets) {
      offsets = new ZoneOffsets(zone);
      zones.set(zone, offsets);
    }
    local += offsets.offsetAt(epochMs);
  }
  const days = Math.floor(local / 86_400_000);
  const inDay = local - days * 86_400_000;
  return {
    hour: Math.floor(inDay / 3_600_000),
    minute: Math.floor(inDay / 60_000) % 60,
    // 1970-01-01 was a Thursday
    weekday: weekdays[(((days + 4) % 7) + 7) % 7]!,
    date: dateText(days),
  };
}
