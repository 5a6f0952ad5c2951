/**
 * A solution (an assignment of the vocabulary's variables, from Z3's model or from the random
 * search) as a decision input: `{ action, user, context, time }`, and the values of each policy's
 * history predicates, which `decide(input, trackerValues)` and the interpreter's `trackerValues`
 * take in place of scanning a history.
 */
import { timeParts } from "@agent-armor/compiler";
import { OTHER, type PathVar, Tag, type TrackerVar, type Vocabulary, WEEKDAYS } from "./vocabulary.js";

/** A variable's value in a solution; `undefined` where the solution leaves it free. */
export type Assignment = (name: string) => boolean | number | string | undefined;

/** A history predicate's value as a runtime passes it: `{ error }` for a poisoned one. */
export type TrackerValue = number | boolean | null | { readonly error: string };

/** What a poisoned predicate's value says (a runtime's trackers give the entry's error instead). */
export const POISON: { readonly error: string } = Object.freeze({ error: "an entry in the window cannot be evaluated" });
/** What a predicate with a window says when the input's `time` is malformed. */
export const WINDOW_WITHOUT_TIME: { readonly error: string } = Object.freeze({ error: "`time` is not a date-time, so the window cannot be placed" });
/** What a malformed `history` or `time` holds in a counterexample. */
export const MALFORMED_HISTORY = "not a list of entries";
export const MALFORMED_TIME = "not a date-time";

export interface Counterexample {
  readonly input: { action: Record<string, unknown>; user?: unknown; context?: unknown; session?: unknown; time?: string; history?: string };
  /**
   * The history predicates the solution sets, as written, with their values; empty when the
   * input's `history` is malformed (then every predicate that reads it errs, with no values given).
   */
  readonly history: readonly { readonly predicate: string; readonly value: TrackerValue }[];
}

/** Builds the input a solution describes. */
export function buildInput(vocab: Vocabulary, value: Assignment): Counterexample {
  const roots: Record<string, unknown> = {};
  const byDepth = [...vocab.paths].sort((a, b) => a.fields.length - b.fields.length);
  for (const p of byDepth) {
    const v = pathValue(p, value);
    if (v === undefined) continue;
    place(roots, p, v);
  }
  const action = (roots.action ?? {}) as Record<string, unknown>;
  if (typeof action.type !== "string") action.type = "";
  const input: Counterexample["input"] = { action };
  if ("user" in roots) input.user = roots.user;
  if ("context" in roots) input.context = roots.context;
  if ("session" in roots) input.session = roots.session;
  if (vocab.timeBad !== null && value(vocab.timeBad) === true) input.time = MALFORMED_TIME;
  else if (vocab.time.size > 0) input.time = timeText(vocab, value);
  if (historyMalformed(vocab, value)) {
    input.history = MALFORMED_HISTORY;
    return { input, history: [] };
  }
  const history = vocab.trackers.map((t) => ({ predicate: t.text, value: trackerValue(vocab, t, value) }));
  return { input, history };
}

/** Whether the solution makes the input's `history` malformed. */
export function historyMalformed(vocab: Vocabulary, value: Assignment): boolean {
  return vocab.historyBad !== null && value(vocab.historyBad) === true;
}

/**
 * The values to pass as `trackerValues` for a policy whose trackers are `trackers`; undefined
 * when the history is malformed (the policy then scans it, and every predicate errs).
 */
export function trackerValues(vocab: Vocabulary, trackers: readonly TrackerVar[], value: Assignment): TrackerValue[] | undefined {
  if (historyMalformed(vocab, value)) return undefined;
  return trackers.map((t) => trackerValue(vocab, t, value));
}

function trackerValue(vocab: Vocabulary, t: TrackerVar, value: Assignment): TrackerValue {
  if (value(t.poison) === true) return POISON;
  // a predicate with a window reads `time` to scan: a malformed one makes it fail (encode.ts)
  if (t.windowed && vocab.timeBad !== null && value(vocab.timeBad) === true) return WINDOW_WITHOUT_TIME;
  const v = value(t.value);
  if (t.kind === "seen") return v === true;
  if ((t.kind === "max" || t.kind === "min") && value(t.none) === true) return null;
  return typeof v === "number" ? v : 0;
}

const EXTRA = "~extra";

/** A path's own value (a list or an object without the fields other paths place), or undefined for null. */
function pathValue(p: PathVar, value: Assignment): unknown {
  const tag = value(p.tag);
  const hidden = Number(value(p.h) ?? 0);
  switch (tag) {
    case Tag.bool:
      return value(p.b) === true;
    case Tag.number:
      return Number(value(p.n) ?? 0);
    case Tag.string:
      return String(value(p.s) ?? "");
    case Tag.list: {
      // in one order for every path (by the literal's JSON), so that two lists the solution
      // makes equal (the same literals and hidden part) are equal element by element
      const members = [...p.members.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .filter(([, m]) => value(m.name) === true)
        .map(([, m]) => m.value);
      // the elements the policies do not look for: strings no literal of theirs equals
      const others: unknown[] = [];
      for (let i = 0; i < hidden; i++)
        others.push(
          unused(
            [...p.members.values()].map((m) => m.value),
            i,
          ),
        );
      const q = p.quantified;
      if (q === undefined) return [...members, ...others];
      // read by `any`/`all`: the elements that decide the first quantifier first, or last (vocabulary.ts `QuantifiedList`)
      const decides = q.decides[0]!;
      const last = value(q.order) === true;
      const early = members.filter((v) => decides(v) !== last);
      const late = members.filter((v) => decides(v) === last);
      return decides(OTHER) !== last ? [...early, ...others, ...late] : [...early, ...late, ...others];
    }
    case Tag.object: {
      const o: Record<string, unknown> = {};
      if (hidden > 0) o[EXTRA] = hidden;
      return o;
    }
    default:
      return undefined;
  }
}

function unused(taken: readonly unknown[], i: number): string {
  let s = `${EXTRA}-${i}`;
  while (taken.includes(s)) s = `~${s}`;
  return s;
}

/** Sets the path's value inside `roots`, making the objects along the way. */
function place(roots: Record<string, unknown>, p: PathVar, v: unknown): void {
  if (p.fields.length === 0) {
    roots[p.root] = v;
    return;
  }
  let o = roots as Record<string, unknown>;
  const keys = [p.root, ...p.fields];
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]!;
    const next = Object.hasOwn(o, k) ? o[k] : undefined;
    if (next === null || typeof next !== "object" || Array.isArray(next)) {
      // a parent the policies read as something else: the child stays null (the constraints say so)
      if (next !== undefined) return;
      own(o, k, {});
    }
    o = o[k] as Record<string, unknown>;
  }
  own(o, keys[keys.length - 1]!, v);
}

/** Sets an own field, also one named `__proto__` (which assignment would take as the prototype). */
function own(o: Record<string, unknown>, key: string, v: unknown): void {
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** The time a solution's `time` fields describe, as an instant in UTC. */
function timeText(vocab: Vocabulary, value: Assignment): string {
  const zone = vocab.timezone;
  const hour = Number(vocab.time.has("hour") ? (value(vocab.time.get("hour")!) ?? 0) : 12);
  const minute = Number(vocab.time.has("minute") ? (value(vocab.time.get("minute")!) ?? 0) : 0);
  const weekday = vocab.time.has("weekday") ? String(value(vocab.time.get("weekday")!) ?? "mon") : null;
  let date = vocab.time.has("date") ? String(value(vocab.time.get("date")!) ?? "2026-03-02") : null;
  if (date === null) {
    // 2026-03-02 is a Monday
    const shift = weekday === null ? 0 : Math.max(0, WEEKDAYS.indexOf(weekday as (typeof WEEKDAYS)[number]));
    date = new Date(Date.UTC(2026, 2, 2 + shift)).toISOString().slice(0, 10);
  }
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const day = new Date(0);
  day.setUTCFullYear(y, m - 1, d);
  const local = day.getTime() + (hour * 60 + minute) * 60_000;
  // the instant whose local time in the zone is the one wanted (zones are within ±14 h of UTC)
  for (let offset = 0; offset <= 14 * 60; offset += 15) {
    for (const sign of offset === 0 ? [1] : [1, -1]) {
      const instant = local - sign * offset * 60_000;
      const parts = timeParts(instant, zone);
      if (parts.hour === hour && parts.minute === minute && parts.date === date) return iso(instant);
    }
  }
  return iso(local);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
