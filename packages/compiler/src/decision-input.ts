/**
 * The decision input, read defensively: `{ action, user?, context?, time?, history? }`. Shared by
 * the reference interpreter; emitted code carries the same checks in its prelude. Any problem
 * makes the decision `deny`.
 */
import { EvaluationError, readField } from "./semantics.js";

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
  /** Read when a rule reads them (a getter that throws is that rule's error), on every read. */
  user(): unknown;
  context(): unknown;
  now(): number;
  history(): readonly HistoryEntry[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * ISO-8601 date-times with an explicit offset (`Z` or `+02:00`), so that a decision never depends
 * on the host's time zone.
 */
export const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

export function parseTime(v: unknown): number | null {
  if (typeof v !== "string" || !ISO_DATE_TIME.test(v)) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
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
    user: () => readField(input, "user"),
    context: () => readField(input, "context"),
    now() {
      if (now === undefined) {
        const raw = readField(input, "time");
        if (raw === null) now = clock();
        else {
          const parsed = parseTime(raw);
          if (parsed === null) throw new EvaluationError("`time` must be an ISO-8601 date-time with an offset, such as 2026-03-02T10:00:00Z");
          now = parsed;
        }
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

/**
 * The tracker values a runtime passed to `decide`, one per tracker: `undefined` (scan the
 * history), a finite number or a boolean for `count`, a boolean (or a number, which is false) for
 * `seen`. Anything else, or a value that cannot be read, is an error of the whole input; the
 * same checks as `$tv` in codegen/prelude.ts.
 */
export function readTrackerValues(values: unknown, kinds: readonly ("count" | "seen")[]): (number | boolean | undefined)[] {
  const out: (number | boolean | undefined)[] = [];
  for (let i = 0; i < kinds.length; i++) {
    let v: unknown;
    try {
      v = values == null ? undefined : (values as Record<number, unknown>)[i];
    } catch {
      throw new EvaluationError(`\`trackerValues[${i}]\` cannot be read`);
    }
    if (v === undefined) out.push(undefined);
    else if (kinds[i] === "count") {
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
    const parsed = et === null ? null : parseTime(et);
    if (et !== null && parsed === null) throw new EvaluationError(`\`history[${i}].time\` must be an ISO-8601 date-time with an offset`);
    out.push({ action: a, time: parsed });
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

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock parts of an instant in a zone (`null`: UTC). */
export function timeParts(epochMs: number, zone: string | null): TimeParts {
  if (zone === null) {
    const d = new Date(epochMs);
    return {
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      weekday: weekdays[d.getUTCDay()]!,
      date: d.toISOString().slice(0, 10),
    };
  }
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", weekday: "short" });
    formatters.set(zone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(epochMs)) p[part.type] = part.value;
  return {
    hour: Number(p["hour"]) % 24,
    minute: Number(p["minute"]),
    weekday: (p["weekday"] ?? "").slice(0, 3).toLowerCase(),
    date: `${p["year"]}-${p["month"]}-${p["day"]}`,
  };
}
