/**
 * The state of the history predicates that are not plain counts: `sum`, `max` and `min` (exact
 * running sums (exact-sum.ts) and monotonic deques over the window), `seen(A since B)` (the last A after the last B), and
 * every predicate that reads `current.F` (the same state per key, in a map from the key to it).
 * Adding an action and reading a value are O(1) amortized (per key an action is filed under); the
 * state holds only what its window needs, and keys whose newest action left the window are
 * dropped. The semantics are the compiler's reference interpreter's (docs/language.md §7), given
 * that actions are added in time order.
 */
import { addPartial, partialsValue } from "./exact-sum.js";
import type { PolicyTracker } from "./types.js";

/** A number some action contributed, or the error its `value` threw (the poison of a window). */
interface Contribution {
  readonly time: number;
  value: number;
  /** Why the action has no number; such a contribution makes the tracker's value an error while it is in the window. */
  readonly error: string | null;
  /** Set when it left the window (and a sum subtracted it): taking it back then changes nothing. */
  gone?: boolean;
}

/** A FIFO with O(1) amortized removal from the front. */
class Queue<T = Contribution> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }
  push(c: T): void {
    this.items.push(c);
  }
  front(): T | undefined {
    return this.items[this.head];
  }
  back(): T | undefined {
    return this.size > 0 ? this.items[this.items.length - 1] : undefined;
  }
  shift(): T | undefined {
    const c = this.items[this.head];
    if (c === undefined) return undefined;
    this.head++;
    // compact when half of the array is dead, so memory follows the window
    if (this.head > 32 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return c;
  }
  pop(): T | undefined {
    return this.size > 0 ? this.items.pop() : undefined;
  }
  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

/** `sum(...)`, `max(...)`, `min(...)`, and `count`/`seen` with keys (a sum of ones). */
interface AggregateState {
  readonly kind: "sum" | "max" | "min";
  /** With a window: every contribution inside it, oldest first (for `sum`, the numbers to subtract when they leave). */
  readonly window: Queue;
  /** `max`/`min`: the contributions that can still be the extreme, values strictly decreasing (`max`) or increasing (`min`). */
  readonly deque: Queue;
  /** Contributions whose `value` threw, still in the window (without a window: in the session). */
  readonly poison: Queue;
  /** `sum`: the exact running sum of the contributions in `window` (or of the session), as partials (exact-sum.ts). */
  partials: number[];
  /** `sum`: a partial became non-finite; the value is an error until the sum is added up again, and `partials` are spent. */
  overflowed: boolean;
  /**
   * `sum`: a number was taken back since the window was last added up in order, so `partials` are
   * the exact sum but not the scan's steps: whether a step went past the largest number may differ.
   */
  diverged: boolean;
  /** `sum`: the exact sum of the numbers' magnitudes, as partials; below `SAFE_MAGNITUDE` no step of any order can overflow. */
  magnitude: number[];
  /** Without a window: the newest contribution and the partials before it, while nothing was taken back since (taking it back restores them, the scan's steps without it). */
  last: { readonly c: Contribution; readonly partials: number[]; readonly magnitude: number[] } | null;
}

/**
 * Below this total of magnitudes, no step of adding up the numbers in any order goes past the
 * largest finite number (about 2^1024), so a sum whose numbers were taken back has the scan's value
 * and the scan's overflow (none). At or above it, a windowed sum that took numbers back adds up its
 * window again in order when read, as the scan does.
 */
const SAFE_MAGNITUDE = 2 ** 1020;

/** `seen(A since B)`, per key: the newest A (its time and sequence number). */
interface SinceState {
  readonly kind: "since";
  lastA: { readonly time: number; readonly seq: number } | null;
}

type Inner = AggregateState | SinceState;

/** A tracker's whole state: one inner state per key (the key `""` without `current`). */
export interface KindState {
  readonly keys: Map<string, Inner>;
  /** Actions recorded, and the sequence number of the newest B of a `since` tracker (B reads no key). */
  seq: number;
  lastB: number;
  /** With keys and a window: when each key was filed, to drop keys whose newest filing left the window. */
  readonly filings: Queue<{ readonly time: number; readonly key: string }>;
  readonly newest: Map<string, number>;
  /** Actions whose keys could not be made (past the key limits): every value is an error while they are in the window. */
  readonly poison: Queue;
}

/** What adding an action changed: a sum's contribution (taken back exactly), or `"rebuild"`. */
export type Change = Contribution | "rebuild";

const keyed = (t: PolicyTracker): boolean => typeof t.entryKeys === "function";

export function isKindTracker(t: PolicyTracker): boolean {
  return t.kind === "sum" || t.kind === "max" || t.kind === "min" || typeof t.since === "function" || keyed(t);
}

export function newKindState(): KindState {
  return { keys: new Map(), seq: 0, lastB: 0, filings: new Queue(), newest: new Map(), poison: new Queue() };
}

function newInner(t: PolicyTracker): Inner {
  if (typeof t.since === "function") return { kind: "since", lastA: null };
  const kind = t.kind === "max" || t.kind === "min" ? t.kind : "sum";
  return { kind, window: new Queue(), deque: new Queue(), poison: new Queue(), partials: [], overflowed: false, diverged: false, magnitude: [], last: null };
}

/** A message for something that threw: the module's evaluation error, or a fixed text for anything else. */
function errorText(t: PolicyTracker, e: unknown, what: string): string {
  try {
    if (e instanceof Error && typeof e.message === "string" && e.message.length > 0) return e.message.slice(0, 500);
  } catch {
    // a hostile throwable: fall through to the fixed text
  }
  return `\`${t.kind}\` could not read ${what} from an earlier action`;
}

/** Calls a tracker predicate; an action the predicate cannot evaluate counts (erring toward the limit is safe). */
function holds(test: (action: unknown) => boolean, action: unknown): boolean {
  try {
    return test(action) === true;
  } catch {
    return true;
  }
}

/** The number an action contributes: its `value` for `sum`/`max`/`min`, 1 for `count`/`seen`. */
function contribution(t: PolicyTracker, time: number, action: unknown): Contribution {
  if (typeof t.value !== "function") return { time, value: 1, error: null };
  try {
    const v = t.value(action);
    if (typeof v === "number" && Number.isFinite(v)) return { time, value: v, error: null };
    return { time, value: 0, error: `\`${t.kind}\` needs a number from every matching entry; an earlier action gives ${typeof v}` };
  } catch (e) {
    return { time, value: 0, error: errorText(t, e, "a number") };
  }
}

/** The keys an action is filed under, or the error that makes them impossible. */
function entryKeys(t: PolicyTracker, action: unknown): readonly string[] | { error: string } {
  if (!keyed(t)) return [""];
  try {
    const keys = t.entryKeys!(action);
    return Array.isArray(keys) ? [...new Set(keys.filter((k): k is string => typeof k === "string"))] : [];
  } catch (e) {
    return { error: errorText(t, e, "a key") };
  }
}

/**
 * Adds an executed action at `time`. Returns what to take back if the action never ran, or null
 * when the action left the state as it was.
 */
export function addToKind(t: PolicyTracker, state: KindState, time: number, action: unknown): Change | null {
  const seq = ++state.seq;
  expireKeys(t, state, time);
  if (typeof t.since === "function" && holds(t.since, action)) {
    // an entry matching both A and B is the last B, not an A after it
    state.lastB = seq;
    return "rebuild";
  }
  if (!holds((a) => t.matches(a), action)) return null;
  const keys = entryKeys(t, action);
  if (!Array.isArray(keys)) {
    state.poison.push({ time, value: 0, error: (keys as { error: string }).error });
    return "rebuild";
  }
  const c = typeof t.since === "function" ? null : contribution(t, time, action);
  for (const key of keys as readonly string[]) {
    let inner = state.keys.get(key);
    if (inner === undefined) {
      inner = newInner(t);
      state.keys.set(key, inner);
    }
    if (inner.kind === "since") inner.lastA = { time, seq };
    else addContribution(t, inner, keys.length === 1 ? c! : { ...c! });
    if (keyed(t) && t.withinMs !== null) {
      state.filings.push({ time, key });
      state.newest.set(key, time);
    }
  }
  return !keyed(t) && c !== null && t.kind === "sum" ? c : "rebuild";
}

function addContribution(t: PolicyTracker, inner: AggregateState, c: Contribution): void {
  // a key that is recorded but never looked up still lets go of what left its window
  expire(t, inner, c.time);
  if (c.error !== null) inner.poison.push(c);
  else if (inner.kind === "sum") {
    if (t.withinMs !== null) inner.window.push(c);
    addToSum(t, inner, c);
  } else {
    if (t.withinMs !== null) inner.window.push(c);
    pushExtreme(inner, c);
  }
}

/** Adds a contribution to a sum, in time order: the scan's next step. Past the largest finite number, the sum is an error. */
function addToSum(t: PolicyTracker, state: AggregateState, c: Contribution): void {
  state.last = t.withinMs === null ? { c, partials: state.partials.slice(), magnitude: state.magnitude.slice() } : null;
  addPartial(state.magnitude, Math.abs(c.value));
  if (!state.overflowed && !addPartial(state.partials, c.value)) state.overflowed = true;
}

/** Takes a number back from a sum (it left the window, or its action never ran): exact, but no longer the scan's steps. */
function subtractFromSum(state: AggregateState, value: number): void {
  state.diverged = true;
  state.last = null;
  addPartial(state.magnitude, -Math.abs(value));
  if (!state.overflowed && !addPartial(state.partials, -value)) state.overflowed = true;
}

/** Pushes onto the monotonic deque: the contributions it beats can never be the extreme again (while `c` is not taken back). */
function pushExtreme(state: AggregateState, c: Contribution): void {
  const beats = (a: number, b: number): boolean => (state.kind === "max" ? a >= b : a <= b);
  for (let last = state.deque.back(); last !== undefined && beats(c.value, last.value); last = state.deque.back()) state.deque.pop();
  state.deque.push(c);
}

/** Drops the contributions at or before `now - withinMs`. */
function expire(t: PolicyTracker, state: AggregateState, now: number): void {
  const w = t.withinMs;
  if (w === null) return;
  const old = (c: Contribution | undefined): c is Contribution => c !== undefined && now - c.time >= w;
  while (old(state.poison.front())) state.poison.shift();
  while (old(state.deque.front())) state.deque.shift();
  while (old(state.window.front())) {
    const c = state.window.shift()!;
    c.gone = true;
    if (state.kind === "sum") subtractFromSum(state, c.value);
  }
}

/** Drops the keys whose newest filing left the window, and key errors that left it. */
function expireKeys(t: PolicyTracker, state: KindState, now: number): void {
  const w = t.withinMs;
  if (w === null) return;
  for (let f = state.filings.front(); f !== undefined && now - f.time >= w; f = state.filings.front()) {
    state.filings.shift();
    if (state.newest.get(f.key) === f.time) {
      state.newest.delete(f.key);
      state.keys.delete(f.key);
    }
  }
  while (state.poison.front() !== undefined && now - state.poison.front()!.time >= w) state.poison.shift();
}

type Value = number | boolean | null | { error: string };

/** The value of a tracker that nothing matched. */
function emptyValue(t: PolicyTracker): Value {
  return t.kind === "seen" ? false : t.kind === "count" || t.kind === "sum" ? 0 : null;
}

/**
 * The tracker's value at `now` for a decision on `action`, as `decide(input, trackerValues)`
 * takes it; `{ error }` when it cannot be known (a poisoned window, a current key past the limits).
 */
export function kindValue(t: PolicyTracker, state: KindState | undefined, now: number, action: unknown): Value {
  if (state === undefined) return emptyValue(t);
  expireKeys(t, state, now);
  if (state.poison.front() !== undefined) return { error: state.poison.front()!.error! };
  let key = "";
  if (keyed(t)) {
    let k: unknown;
    try {
      k = t.currentKey!(action);
    } catch (e) {
      return { error: errorText(t, e, "a key") };
    }
    if (typeof k !== "string") return emptyValue(t);
    key = k;
  }
  const inner = state.keys.get(key);
  if (inner === undefined) return emptyValue(t);
  if (inner.kind === "since") return inner.lastA !== null && inner.lastA.seq > state.lastB && (t.withinMs === null || now - inner.lastA.time < t.withinMs);
  return aggregateValue(t, inner, now);
}

function aggregateValue(t: PolicyTracker, state: AggregateState, now: number): Value {
  expire(t, state, now);
  // contributions taken back lose their error; they leave the front here
  while (state.poison.front()?.error === null) state.poison.shift();
  const poisoned = state.poison.front();
  if (poisoned !== undefined) return { error: poisoned.error! };
  if (state.kind === "sum") {
    if (t.withinMs !== null && state.diverged && (state.overflowed || !(partialsValue(state.magnitude) < SAFE_MAGNITUDE))) addUpWindow(state);
    if (state.overflowed) return { error: "`sum` over the history is not a finite number" };
    const sum = partialsValue(state.partials);
    return t.kind === "seen" ? sum > 0 : sum;
  }
  return state.deque.front()?.value ?? null;
}

/**
 * Adds up the numbers in the window again, in time order, with the scan's steps: O(window), only
 * when numbers were taken back since it was last added up and the sum went past the largest
 * number or its numbers' magnitudes total `SAFE_MAGNITUDE` (about 1.1e307) or more.
 */
function addUpWindow(state: AggregateState): void {
  state.partials = [];
  state.overflowed = false;
  state.diverged = false;
  state.magnitude = [];
  for (const c of state.window) addPartial(state.magnitude, Math.abs(c.value));
  for (const c of state.window) {
    if (!addPartial(state.partials, c.value)) {
      state.overflowed = true;
      return;
    }
  }
}

/**
 * Takes back what an action that never ran added. A sum without keys subtracts it exactly; every
 * other kind is rebuilt by the caller from the session's recent actions (`"rebuild"`), since what
 * the action displaced is no longer held.
 */
export function takeBack(state: KindState, c: Change): void {
  if (c === "rebuild") return;
  const inner = state.keys.get("");
  if (inner === undefined || inner.kind !== "sum" || c.gone === true) return;
  if (c.error !== null) {
    c.value = 0;
    (c as { error: string | null }).error = null;
    return;
  }
  if (inner.last !== null && inner.last.c === c) {
    // the newest action of a session's sum never ran: the sum is what it was before it, step for step
    inner.partials = inner.last.partials;
    inner.magnitude = inner.last.magnitude;
    inner.overflowed = !inner.partials.every((p) => p - p === 0);
    inner.last = null;
  } else subtractFromSum(inner, c.value);
  c.value = 0;
}
