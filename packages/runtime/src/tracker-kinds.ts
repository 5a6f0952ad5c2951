/**
 * The state of the history predicates that are not plain counts: `sum`, `max` and `min` (exact
 * running sums (exact-sum.ts) and monotonic deques over the window), `seen(A since B)` (the last A after the last B), and
 * every predicate that reads `current.F` (the same state per key, in a map from the key to it).
 * Adding an action and reading a value are O(1) amortized (per key an action is filed under); the
 * state holds only what its window needs, and keys whose newest action left the window are
 * dropped. The semantics are the compiler's reference interpreter's (docs/language.md §7), given
 * that actions are added in time order: an action the condition, B or the keys cannot be
 * evaluated on poisons the tracker while it is in the window (one whose key, without `any`, cannot
 * be made only for a current action whose key cannot be made either). Adding an action returns what takes
 * it back exactly (a released reservation), in any order. Taking back a `max`/`min` contribution
 * that is in the deque costs its distance from the deque's back plus what it had beaten.
 */
import { addPartial, partialsValue } from "./exact-sum.js";
import { type Latest, mark, newLatest } from "./latest-mark.js";
import type { CurrentKey, KindFiling } from "./store.js";
import type { PolicyTracker } from "./types.js";

/** A number some action contributed, or the error its `value` threw (the poison of a window). */
interface Contribution {
  readonly time: number;
  value: number;
  /** Why the action has no number; such a contribution makes the tracker's value an error while it is in the window. */
  readonly error: string | null;
  /** Set when it left the window (and a sum subtracted it): taking it back then changes nothing. */
  gone?: boolean;
  /** `max`/`min`: whether it is in the deque now. */
  queued?: boolean;
  /**
   * `max`/`min`: what it beat when it was pushed (and what is found beaten by it later), oldest
   * first, while its reservation holds it (weakly: once nothing can take it back, they are dropped).
   */
  popped?: WeakRef<Contribution[]>;
  /** `max`/`min`: set when it is taken back: what it had beaten, which stands for it if the one that beat it is taken back too. */
  beaten?: readonly Contribution[];
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
  /** Removes `item`, searching from the back (what is taken back is mostly recent); nothing when it is not queued. */
  remove(item: T): void {
    this.replace(item, []);
  }
  /** The item after `item`, and replaces `item` by `replacement`; searches from the back (what is taken back is mostly recent). */
  replace(item: T, replacement: readonly T[]): T | undefined {
    for (let i = this.items.length - 1; i >= this.head; i--) {
      if (this.items[i] !== item) continue;
      const after = this.items[i + 1];
      this.items.splice(i, 1, ...replacement);
      return after;
    }
    return undefined;
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
  /** Contributions counted in the sum (`sum`), so that a key whose contributions were all taken back can be dropped. */
  count: number;
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
  readonly lastA: Latest;
}

type Inner = AggregateState | SinceState;

/** A tracker's whole state: one inner state per key (the key `""` without `current`). */
export interface KindState {
  readonly keys: Map<string, Inner>;
  /** Actions recorded, and the sequence number of the newest B of a `since` tracker (B reads no key). */
  seq: number;
  readonly lastB: Latest;
  /** With keys and a window: when each key was filed, to drop keys whose newest filing left the window. */
  readonly filings: Queue<{ readonly time: number; readonly key: string }>;
  readonly newest: Map<string, number>;
  /** Actions whose condition or keys could not be evaluated: every value is an error while they are in the window. */
  readonly poison: Queue;
  /** `since`: actions on which B could not be evaluated; B reads every entry, so they poison the whole session. */
  lasting?: Queue;
  /**
   * Actions whose keys could not be made (`entryKeys` gave `null`), with a window while they are in
   * it; without a window, how many the session has (`unkeyedCount`). They are `==` to no current
   * action whose key can be made, so only a decision whose own key cannot be made reads them.
   */
  readonly unkeyed: Queue;
  unkeyedCount: number;
}

/** What takes back exactly what adding an action changed (per key: its contribution, its mark; its poison). */
export type Change = () => void;

const keyed = (t: PolicyTracker): boolean => typeof t.entryKeys === "function";

export function isKindTracker(t: PolicyTracker): boolean {
  return t.kind === "sum" || t.kind === "max" || t.kind === "min" || typeof t.since === "function" || keyed(t);
}

export function newKindState(): KindState {
  return { keys: new Map(), seq: 0, lastB: newLatest(), filings: new Queue(), newest: new Map(), poison: new Queue(), unkeyed: new Queue(), unkeyedCount: 0 };
}

function newInner(t: PolicyTracker): Inner {
  if (typeof t.since === "function") return { kind: "since", lastA: newLatest() };
  const kind = t.kind === "max" || t.kind === "min" ? t.kind : "sum";
  return { kind, window: new Queue(), deque: new Queue(), poison: new Queue(), count: 0, partials: [], overflowed: false, diverged: false, magnitude: [], last: null };
}

/** A message for something that threw: the module's evaluation error, or a fixed text for anything else. */
export function errorText(t: PolicyTracker, e: unknown, what: string): string {
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
function contribution(t: PolicyTracker, time: number, action: unknown, labels: readonly string[] | undefined): Contribution {
  if (typeof t.value !== "function") return { time, value: 1, error: null };
  try {
    const v = t.value(action, labels);
    if (typeof v === "number" && Number.isFinite(v)) return { time, value: v, error: null };
    return { time, value: 0, error: `\`${t.kind}\` needs a number from every matching entry; an earlier action gives ${typeof v}` };
  } catch (e) {
    return { time, value: 0, error: errorText(t, e, "a number") };
  }
}

/** The keys an action is filed under, `null` when its values cannot be made a key (module.ts), or the error that makes them impossible. */
function entryKeys(t: PolicyTracker, action: unknown): readonly string[] | null | { error: string } {
  if (!keyed(t)) return [""];
  try {
    const keys = t.entryKeys!(action);
    if (keys === null) return null;
    return Array.isArray(keys) ? [...new Set(keys.filter((k): k is string => typeof k === "string"))] : [];
  } catch (e) {
    return { error: errorText(t, e, "a key") };
  }
}

/**
 * Adds an executed action at `time`, with the labels of its history entry. Returns what to take
 * back if the action never ran, or null when the action left the state as it was.
 */
export function addToKind(t: PolicyTracker, state: KindState, time: number, action: unknown, labels?: readonly string[]): Change | null {
  const seq = ++state.seq;
  expireKeys(t, state, time);
  if (typeof t.since === "function") {
    const b = holds(t, (a) => t.since!(a, labels), action);
    if (b !== true && b !== false) {
      // B is tested on every entry, in the window or not: its error lasts for the session
      if (state.lasting === undefined) state.lasting = new Queue();
      return addPoison(state.lasting, time, b.error);
    }
    // an entry matching both A and B is the last B, not an A after it
    if (b) return mark(state.lastB, seq, time);
  }
  // the rest of the condition first, then the keys (the order the scan tests them in)
  const matched = holds(t, (a) => t.matches(a, labels), action);
  if (matched !== true && matched !== false) return addPoison(state.poison, time, matched.error);
  if (!matched) return null;
  const keys = entryKeys(t, action);
  if (keys === null) return addUnkeyed(t, state, time);
  if (!Array.isArray(keys)) return addPoison(state.poison, time, (keys as { error: string }).error);
  const c = typeof t.since === "function" ? null : contribution(t, time, action, labels);
  const undo: Change[] = [];
  for (const key of keys as readonly string[]) {
    let inner = state.keys.get(key);
    const created = inner === undefined;
    if (inner === undefined) {
      inner = newInner(t);
      state.keys.set(key, inner);
    }
    const added = inner.kind === "since" ? mark(inner.lastA, seq, time) : addContribution(t, inner, keys.length === 1 ? c! : { ...c! });
    undo.push(created ? dropIfEmpty(state, key, inner, added) : added);
    if (keyed(t) && t.withinMs !== null) {
      // a key filed by an action taken back is dropped when this filing leaves the window (its state is empty by then)
      const filing = { time, key };
      state.filings.push(filing);
      state.newest.set(key, time);
      const taken = undo.pop()!;
      undo.push(() => {
        taken();
        state.filings.remove(filing);
      });
    }
  }
  return undo.length === 1
    ? undo[0]!
    : () => {
        for (const u of undo) u();
      };
}

/**
 * What `addToKind` would add for an action, as a shared store files it (store.ts `KindFiling`):
 * the same tests in the same order (B, the condition, the keys, the number), or null when the
 * action adds nothing.
 */
export function kindFiling(t: PolicyTracker, action: unknown, labels?: readonly string[]): KindFiling | null {
  if (typeof t.since === "function") {
    const b = holds(t, (a) => t.since!(a, labels), action);
    if (b !== true && b !== false) return { type: "lasting", error: b.error };
    if (b) return { type: "b" };
  }
  const matched = holds(t, (a) => t.matches(a, labels), action);
  if (matched !== true && matched !== false) return { type: "poison", error: matched.error };
  if (!matched) return null;
  const keys = entryKeys(t, action);
  if (keys === null) return { type: "unkeyed" };
  if (!Array.isArray(keys)) return { type: "poison", error: (keys as { error: string }).error };
  if (typeof t.since === "function") return { type: "a", keys };
  const c = contribution(t, 0, action, labels);
  return c.error !== null ? { type: "bad", keys, error: c.error } : { type: "entry", keys, value: c.value };
}

/** The key a decision on `action` looks up, as `kindValue` reads it: `""` without `current`. */
export function currentKeyOf(t: PolicyTracker, action: unknown): CurrentKey {
  if (!keyed(t)) return "";
  try {
    const k = t.currentKey!(action);
    return typeof k === "string" ? k : null;
  } catch (e) {
    return { error: errorText(t, e, "a key") };
  }
}

/** Takes back the action that created a key, and drops the key if nothing else was filed under it (a released reservation leaves no key behind). */
function dropIfEmpty(state: KindState, key: string, inner: Inner, added: Change): Change {
  return () => {
    added();
    const empty = inner.kind === "since" ? inner.lastA.value === null : inner.count === 0 && inner.deque.size === 0 && livePoison(inner.poison) === undefined;
    if (empty && state.keys.get(key) === inner) state.keys.delete(key);
  };
}

/**
 * An action whose keys cannot be made: the scan compares its values with the current action's
 * (after the rest of the condition held), and they are `==` only to values that cannot be made a
 * key either, nor can comparing them with any other values fail. So it counts for no decision
 * whose key can be made, and is an error only for one whose key cannot (kindValue).
 */
function addUnkeyed(t: PolicyTracker, state: KindState, time: number): Change {
  if (t.withinMs !== null) return addPoison(state.unkeyed, time, "unkeyed");
  state.unkeyedCount++;
  return () => {
    state.unkeyedCount--;
  };
}

/** Poison that is in force while it is in the queue; taking it back clears its error, and readers skip it. */
function addPoison(queue: Queue, time: number, error: string): Change {
  const p: Contribution = { time, value: 0, error };
  queue.push(p);
  return () => {
    (p as { error: string | null }).error = null;
    queue.remove(p);
  };
}

/** The first poison of `queue` not taken back. */
function livePoison(queue: Queue | undefined): Contribution | undefined {
  while (queue !== undefined && queue.front() !== undefined && queue.front()!.error === null) queue.shift();
  return queue?.front();
}

function addContribution(t: PolicyTracker, inner: AggregateState, c: Contribution): Change {
  // a key that is recorded but never looked up still lets go of what left its window
  expire(t, inner, c.time);
  // what is taken back leaves the queues (not a tombstone), so that an entry recorded again at its
  // older time (a relabelled one) is not queued behind the remains of a newer one, which would
  // keep it in the window past its time
  if (c.error !== null) {
    inner.poison.push(c);
    return () => {
      (c as { error: string | null }).error = null;
      inner.poison.remove(c);
    };
  }
  if (inner.kind === "sum") {
    inner.count++;
    if (t.withinMs !== null) inner.window.push(c);
    addToSum(t, inner, c);
    return () => {
      takeBackSum(inner, c);
      inner.window.remove(c);
    };
  }
  if (t.withinMs !== null) inner.window.push(c);
  const beaten = pushExtreme(inner, c);
  return () => {
    takeBackExtreme(inner, c, beaten);
    inner.window.remove(c);
  };
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

const beats = (kind: "sum" | "max" | "min", a: number, b: number): boolean => (kind === "max" ? a >= b : a <= b);

/**
 * Pushes onto the monotonic deque: the contributions it beats can never be the extreme again
 * while `c` is not taken back. Returns them, oldest first, for taking `c` back.
 */
function pushExtreme(state: AggregateState, c: Contribution): Contribution[] {
  const beaten: Contribution[] = [];
  for (let last = state.deque.back(); last !== undefined && beats(state.kind, c.value, last.value); last = state.deque.back()) {
    state.deque.pop();
    last.queued = false;
    beaten.push(last);
  }
  c.queued = true;
  state.deque.push(c);
  beaten.reverse();
  c.popped = new WeakRef(beaten);
  return beaten;
}

/** Takes back a sum's contribution: subtracted now, or never (it left the window, and was subtracted then). */
function takeBackSum(inner: AggregateState, c: Contribution): void {
  if (c.gone === true) return;
  if (inner.last !== null && inner.last.c === c) {
    // the newest action of a session's sum never ran: the sum is what it was before it, step for step
    inner.partials = inner.last.partials;
    inner.magnitude = inner.last.magnitude;
    inner.overflowed = !inner.partials.every((p) => p - p === 0);
    inner.last = null;
  } else subtractFromSum(inner, c.value);
  c.value = 0;
  inner.count--;
}

/**
 * Takes back a `max`/`min` contribution: in the deque, it is replaced by what it had beaten that
 * nothing after it beats; out of it (beaten, or gone), it keeps what it had beaten for the one
 * that beat it, should that one be taken back too.
 */
function takeBackExtreme(inner: AggregateState, c: Contribution, beaten: readonly Contribution[]): void {
  if (c.beaten !== undefined || c.gone === true) return;
  c.beaten = beaten;
  if (c.queued !== true) return;
  c.queued = false;
  const after = inner.deque.replace(c, []);
  const back: Contribution[] = [];
  survivors(inner.kind, beaten, after ?? null, back);
  back.reverse();
  for (const x of back) x.queued = true;
  if (back.length > 0) {
    // put them where `c` was: before `after`, or at the back
    if (after === undefined) for (const x of back) inner.deque.push(x);
    else inner.deque.replace(after, [...back, after]);
  }
}

/**
 * The contributions of `list` (oldest first) that no later one beats, given the extreme of what
 * comes after them (`extreme`), newest first into `out`; one taken back stands for what it had
 * beaten. One that is beaten goes to the list of the one that beats it, for when that one is
 * taken back. Returns the extreme including them.
 */
function survivors(kind: "sum" | "max" | "min", list: readonly Contribution[], extreme: Contribution | null, out: Contribution[]): Contribution | null {
  let e = extreme;
  for (let i = list.length - 1; i >= 0; i--) {
    const x = list[i]!;
    if (x.gone === true) break;
    if (x.beaten !== undefined) e = survivors(kind, x.beaten, e, out);
    else if (e === null || !beats(kind, e.value, x.value)) {
      out.push(x);
      e = x;
    } else e.popped?.deref()?.unshift(x);
  }
  return e;
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
  while (state.unkeyed.front() !== undefined && now - state.unkeyed.front()!.time >= w) state.unkeyed.shift();
}

type Value = number | boolean | null | { error: string };

/** The value of a tracker that nothing matched. */
export function emptyValue(t: PolicyTracker): Value {
  return t.kind === "seen" ? false : t.kind === "count" || t.kind === "sum" ? 0 : null;
}

/**
 * The tracker's value at `now` for a decision on `action`, as `decide(input, trackerValues)`
 * takes it; `{ error }` when it cannot be known (a poisoned window, a current key past the limits).
 */
export function kindValue(t: PolicyTracker, state: KindState | undefined, now: number, action: unknown): Value {
  if (state === undefined) return emptyValue(t);
  expireKeys(t, state, now);
  const poisoned = livePoison(state.lasting) ?? livePoison(state.poison);
  if (poisoned !== undefined) return { error: poisoned.error! };
  let key = "";
  if (keyed(t)) {
    let k: unknown;
    try {
      k = t.currentKey!(action);
    } catch (e) {
      // values without a key are `==` to no entry's values that have one, and comparing them with
      // those is no error (addUnkeyed): only an entry whose key could not be made either may match or err
      return state.unkeyedCount > 0 || livePoison(state.unkeyed) !== undefined ? { error: errorText(t, e, "a key") } : emptyValue(t);
    }
    if (typeof k !== "string") return emptyValue(t);
    key = k;
  }
  const inner = state.keys.get(key);
  if (inner === undefined) return emptyValue(t);
  if (inner.kind === "since") {
    const a = inner.lastA.value;
    return a !== null && a.seq > (state.lastB.value?.seq ?? 0) && (t.withinMs === null || now - a.time < t.withinMs);
  }
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
