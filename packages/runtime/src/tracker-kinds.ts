/**
 * The state of the history predicates that are not plain counts: `sum`, `max` and `min` (running
 * sums and monotonic deques over the window), `seen(A since B)` (the last A after the last B), and
 * every predicate that reads `current.F` (the same state per key, in a map from the key to it).
 * Adding an action and reading a value are O(1) amortized (per key an action is filed under); the
 * state holds only what its window needs, and keys whose newest action left the window are
 * dropped. The semantics are the compiler's reference interpreter's (docs/language.md §7), given
 * that actions are added in time order.
 */
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
  /** `sum`: the running sum of the contributions in `window` (or of the session). */
  sum: number;
  /** Contributions counted in `sum`, so the sum returns to exactly 0 when they are all taken back. */
  count: number;
}

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
  /** Actions whose condition or keys could not be evaluated: every value is an error while they are in the window. */
  readonly poison: Queue;
  /** `since`: actions on which B could not be evaluated; B reads every entry, so they poison the whole session. */
  lasting?: Queue;
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
  return { kind, window: new Queue(), deque: new Queue(), poison: new Queue(), sum: 0, count: 0 };
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

/**
 * Calls a tracker predicate: whether the action matches, or the error that makes it impossible to
 * know. Such an action poisons the tracker while it is in the window, as the history scan makes
 * it an evaluation error of the rule (docs/language.md §7); counting it instead would turn the
 * scan's deny into an allow for `not seen(...)` and for `since`'s B.
 */
export function holds(t: PolicyTracker, test: (action: unknown) => boolean, action: unknown): boolean | { error: string } {
  try {
    return test(action) === true;
  } catch (e) {
    return { error: errorText(t, e, "a condition") };
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
  if (typeof t.since === "function") {
    const b = holds(t, t.since, action);
    if (b !== true && b !== false) {
      // B is tested on every entry, in the window or not: its error lasts for the session
      if (state.lasting === undefined) state.lasting = new Queue();
      state.lasting.push({ time, value: 0, error: b.error });
      return "rebuild";
    }
    if (b) {
      // an entry matching both A and B is the last B, not an A after it
      state.lastB = seq;
      return "rebuild";
    }
  }
  // the rest of the condition first, then the keys (the order the scan tests them in)
  const matched = holds(t, (a) => t.matches(a), action);
  if (matched !== true && matched !== false) {
    state.poison.push({ time, value: 0, error: matched.error });
    return "rebuild";
  }
  if (!matched) return null;
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
    inner.sum += c.value;
    inner.count++;
    if (t.withinMs !== null) inner.window.push(c);
  } else {
    if (t.withinMs !== null) inner.window.push(c);
    pushExtreme(inner, c);
  }
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
    if (state.kind === "sum") state.sum -= c.value;
  }
  // rounding must not drift forever: an empty window sums to exactly 0
  if (state.window.size === 0) state.sum = 0;
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
  const poisoned = state.lasting?.front() ?? state.poison.front();
  if (poisoned !== undefined) return { error: poisoned.error! };
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
    if (!Number.isFinite(state.sum)) {
      // past the largest number and back: add up what is in the window again (rare, O(window))
      state.sum = 0;
      if (t.withinMs !== null) for (const c of state.window) state.sum += c.value;
    }
    if (!Number.isFinite(state.sum)) return { error: "`sum` over the history is not a finite number" };
    return t.kind === "seen" ? state.sum > 0 : state.sum;
  }
  return state.deque.front()?.value ?? null;
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
  inner.sum -= c.value;
  c.value = 0;
  inner.count--;
  if (inner.count === 0) inner.sum = 0;
}
