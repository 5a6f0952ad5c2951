/**
 * The state of the history predicates that are not plain counts: `sum`, `max` and `min` (running
 * sums and monotonic deques over the window) and `seen(A since B)` (the last A after the last B).
 * Adding an action and reading a value are O(1) amortized; the state holds only what its window
 * needs. The semantics are the compiler's reference interpreter's (docs/language.md §7), given
 * that actions are added in time order.
 */
import type { PolicyTracker } from "./types.js";

/** A number some action contributed, or the error its `value` threw (the poison of a window). */
interface Contribution {
  readonly time: number;
  value: number;
  /** Why the action has no number; such a contribution makes the tracker's value an error while it is in the window. */
  readonly error: string | null;
}

/** A FIFO of contributions with O(1) amortized removal from the front. */
class Queue {
  private items: Contribution[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }
  push(c: Contribution): void {
    this.items.push(c);
  }
  front(): Contribution | undefined {
    return this.items[this.head];
  }
  back(): Contribution | undefined {
    return this.size > 0 ? this.items[this.items.length - 1] : undefined;
  }
  shift(): Contribution | undefined {
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
  pop(): Contribution | undefined {
    return this.size > 0 ? this.items.pop() : undefined;
  }
  *[Symbol.iterator](): Iterator<Contribution> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

/** `sum(...)`, `max(...)`, `min(...)`. */
export interface AggregateState {
  readonly kind: "sum" | "max" | "min";
  /** With a window: every contribution inside it, oldest first (for `sum`, the numbers to subtract when they leave). */
  readonly window: Queue;
  /** `max`/`min`: the contributions that can still be the extreme, values strictly decreasing (`max`) or increasing (`min`). */
  readonly deque: Queue;
  /** Contributions whose `value` threw, still in the window (without a window: in the session). */
  readonly poison: Queue;
  /** `sum`: the running sum of the contributions in `window` (or of the session). */
  sum: number;
  /** Contributions counted in `sum` (without a window), so the sum returns to exactly 0 when they are all taken back. */
  count: number;
}

/** `seen(A since B)`: the newest A recorded after the newest B. */
export interface SinceState {
  readonly kind: "since";
  lastA: { readonly time: number } | null;
}

export type KindState = AggregateState | SinceState;

/** What adding an action changed: its contribution, or `"since"` (the state of a `since` tracker moved). */
export type Change = Contribution | "since";

export function isKindTracker(t: PolicyTracker): boolean {
  return t.kind === "sum" || t.kind === "max" || t.kind === "min" || (t.kind === "seen" && typeof t.since === "function");
}

export function newKindState(t: PolicyTracker): KindState {
  if (t.kind === "sum" || t.kind === "max" || t.kind === "min") {
    return { kind: t.kind, window: new Queue(), deque: new Queue(), poison: new Queue(), sum: 0, count: 0 };
  }
  return { kind: "since", lastA: null };
}

/** A message for a value that threw: the module's evaluation error, or a fixed text for anything else. */
function errorText(t: PolicyTracker, e: unknown): string {
  try {
    if (e instanceof Error && typeof e.message === "string" && e.message.length > 0) return e.message.slice(0, 500);
  } catch {
    // a hostile throwable: fall through to the fixed text
  }
  return `\`${t.kind}\` could not read a number from an earlier action`;
}

/** Calls a tracker predicate; an action the predicate cannot evaluate counts (erring toward the limit is safe). */
function holds(test: (action: unknown) => boolean, action: unknown): boolean {
  try {
    return test(action) === true;
  } catch {
    return true;
  }
}

/**
 * Adds an executed action at `time`. Returns what to take back if the action never ran, or null
 * when the action left the state as it was.
 */
export function addToKind(t: PolicyTracker, state: KindState, time: number, action: unknown): Change | null {
  if (state.kind === "since") {
    if (holds(t.since!, action)) {
      // an entry matching both A and B is the last B, not an A after it
      state.lastA = null;
      return "since";
    }
    if (!holds((a) => t.matches(a), action)) return null;
    state.lastA = { time };
    return "since";
  }
  if (!holds((a) => t.matches(a), action)) return null;
  let c: Contribution;
  try {
    const v = t.value!(action);
    c =
      typeof v === "number" && Number.isFinite(v)
        ? { time, value: v, error: null }
        : { time, value: 0, error: `\`${t.kind}\` needs a number from every matching entry; an earlier action gives ${typeof v}` };
  } catch (e) {
    c = { time, value: 0, error: errorText(t, e) };
  }
  if (c.error !== null) state.poison.push(c);
  else if (state.kind === "sum") {
    state.sum += c.value;
    state.count++;
    if (t.withinMs !== null) state.window.push(c);
  } else {
    if (t.withinMs !== null) state.window.push(c);
    pushExtreme(state, c);
  }
  return c;
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
    if (state.kind === "sum") state.sum -= c.value;
  }
  // rounding must not drift forever: an empty window sums to exactly 0
  if (state.window.size === 0) state.sum = 0;
}

/** The tracker's value at `now`, as `decide(input, trackerValues)` takes it. */
export function kindValue(t: PolicyTracker, state: KindState | undefined, now: number): number | boolean | null | { error: string } {
  if (state === undefined) return t.kind === "seen" ? false : t.kind === "sum" ? 0 : null;
  if (state.kind === "since") return state.lastA !== null && (t.withinMs === null || now - state.lastA.time < t.withinMs);
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
    return Number.isFinite(state.sum) ? state.sum : { error: "`sum` over the history is not a finite number" };
  }
  return state.deque.front()?.value ?? null;
}

/**
 * Takes back a contribution of an action that never ran. Sums subtract it exactly; for `max`,
 * `min` and `since` the caller rebuilds the state from the session's recent actions
 * (`needsRebuild`), since what the contribution displaced is no longer held.
 */
export function takeBack(state: KindState, c: Change): void {
  if (c === "since" || state.kind === "since") return;
  if (c.error !== null) {
    c.value = 0;
    (c as { error: string | null }).error = null;
    return;
  }
  if (state.kind === "sum") {
    state.sum -= c.value;
    c.value = 0;
    state.count--;
    if (state.count === 0) state.sum = 0;
  }
}

/** Whether taking back a contribution of this kind needs the state rebuilt from the recent actions. */
export function needsRebuild(state: KindState, c: Change): boolean {
  return c === "since" || state.kind !== "sum";
}
