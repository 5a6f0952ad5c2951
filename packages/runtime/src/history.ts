/**
 * Session history without scans. Every history predicate of a policy (`count(... within D)`,
 * `seen(...)`) becomes a tracker: when an executed action is recorded, each tracker whose
 * condition it matches notes the time; a decision reads each tracker's value after dropping the
 * times that left its window. Both are O(1) amortized per tracker, whatever the length of the
 * session, and a tracker holds only the times inside its own window.
 *
 * Trackers are keyed by their predicate (kind, window, condition), so a reloaded policy keeps the
 * counters of the predicates it shares with the old one. Predicates it adds start from the
 * recent actions the session still holds (as far back as the longest window of the policies in
 * force), so a reload cannot be used to reset a rate limit.
 */
import { memoryGrantStore } from "./grants.js";
import { addToKind, type Change, holds, isKindTracker, type KindState, kindValue, newKindState } from "./tracker-kinds.js";
import type { HistoryEntry, HistoryStore, PolicyTracker, SessionHistory, SessionLabels, TrackerState } from "./types.js";

/** A value as `decide(input, trackerValues)` takes it. */
export type TrackerValue = number | boolean | null | { error: string };

/** At most this many recent actions are kept per session to seed new trackers. */
export const RECENT_LIMIT = 10_000;

/**
 * At most this many distinct labels per session. Labels are the policy's own literals, so only
 * policies with more label rules than this (over all versions a session saw) reach it; a decision
 * that would add one more is denied rather than forgetting a label (labels mark what a session
 * touched, and forgetting one could allow what it was meant to stop).
 */
export const MAX_SESSION_LABELS = 1_000;

/**
 * At most this many entries per session wait in the log of entries whose labels may still change
 * (results in flight, reservations not yet recorded, and the entries recorded after them); past
 * it, the oldest is settled: the labels its result adds then go to the session only (reported).
 */
export const MAX_OPEN_ENTRIES = 1_000;

/**
 * At most this many scope values (`per user.id`, `per context.tenant`, the deployment) hold history
 * at once in one enforcer. When a decision needs one more, the scopes whose history is empty are
 * dropped first; when none is, a predicate over a new scope value has the evaluation error
 * `SCOPES_FULL`, so the rule that reads it denies, and the decision is denied even when no rule
 * reads it (an action that is never counted must not run): memory stays bounded and nothing is
 * silently left uncounted.
 */
export const MAX_SCOPES = 100_000;
/** How far past MAX_SCOPES recording an action may still create a scope value's history (actions allowed while others were in flight). */
export const SCOPE_OVERSHOOT = 1_000;

/** The user and context an action was decided with: what a scope (`per user.id`) reads. */
export interface Who {
  readonly user: unknown;
  readonly context: unknown;
  /**
   * The action as the decision read it, before the policy redacted it: what `per action.F` reads,
   * so that an action is filed under the scope value its decision read (language §7.1). Absent:
   * the action recorded.
   */
  readonly action?: unknown;
}

/** Why a decision whose scope has no history yet cannot be made when MAX_SCOPES (or a shared store's bound, `max`) are held by `holder`. */
export function scopesFull(scope: string, holder = "the enforcer", max = MAX_SCOPES): string {
  return `\`per ${scope}\`: ${holder} already keeps the history of ${max.toLocaleString("en-US")} scope values, at most, and none of them is empty`;
}

/** A tracker value that denies the whole decision: its scope's history cannot be kept. */
export class ScopeUnavailable {
  constructor(readonly error: string) {}
}

/** The history of one scope value: the same state a session keeps, for the trackers of that scope. */
interface ScopeHistory {
  readonly history: SessionHistory;
  /** The longest window of the trackers filed into it (Infinity for a whole history, or `since`): how long its recent actions matter. */
  keepFor: number;
}

/** Whether a tracker reads a scope's history (`per ...`) rather than the session's. */
const isScoped = (t: PolicyTracker): boolean => typeof t.scope === "string" && typeof t.scopeKey === "function";

/** The trackers of a list that keep the session's history, and those that keep a scope's; computed once per list. */
const splits = new WeakMap<readonly PolicyTracker[], { readonly session: readonly PolicyTracker[]; readonly scoped: readonly PolicyTracker[] }>();
function split(trackers: readonly PolicyTracker[]): { readonly session: readonly PolicyTracker[]; readonly scoped: readonly PolicyTracker[] } {
  let s = splits.get(trackers);
  if (s === undefined) {
    const scoped = trackers.filter(isScoped);
    s = { session: scoped.length === 0 ? trackers : trackers.filter((t) => !scoped.includes(t)), scoped };
    splits.set(trackers, s);
  }
  return s;
}

/** The scope key of an action decided with `who`, or the error that says why it has none. */
export function scopeKeyOf(t: PolicyTracker, action: unknown, who: Who | undefined): string | { error: string } {
  try {
    const k = t.scopeKey!(who !== undefined && Object.hasOwn(who, "action") ? who.action : action, who?.user ?? null, who?.context ?? null);
    return typeof k === "string" ? k : { error: `\`per ${t.scope}\`: the module gave no scope key` };
  } catch (e) {
    return { error: e instanceof Error && typeof e.message === "string" ? e.message.slice(0, 500) : `\`per ${t.scope}\`: the scope key cannot be read` };
  }
}

/** What a decision reads as `session` in a session without labels. */
const NO_LABELS: { readonly labels: readonly string[] } = Object.freeze({ labels: Object.freeze([]) as readonly string[] });

export function memoryHistoryStore(): HistoryStore {
  const sessions = new Map<string, SessionHistory>();
  return {
    get: (s) => sessions.get(s),
    set: (s, state) => void sessions.set(s, state),
    delete: (s) => void sessions.delete(s),
    grants: memoryGrantStore(),
  };
}

/** The values of a policy without history predicates, shared. */
const NO_VALUES: readonly TrackerValue[] = Object.freeze([]);

function newTracker(): TrackerState {
  return { times: [], head: 0, total: 0 };
}

/** Drops times at or before `now - window`; compacts the array when half of it is dead. */
function expire(state: TrackerState, windowMs: number, now: number): void {
  const times = state.times;
  let head = state.head;
  while (head < times.length && now - times[head]! >= windowMs) head++;
  if (head > 32 && head * 2 > times.length) {
    times.splice(0, head);
    head = 0;
  }
  state.head = head;
}

function addPoison(state: TrackerState, time: number, error: string): void {
  if (state.poison === undefined) state.poison = [];
  state.poison.push({ time, error });
}

/** The oldest action still in the window whose condition could not be evaluated, as the tracker's value, or null. */
function poisonValue(t: PolicyTracker, state: TrackerState, now: number): { error: string } | null {
  const poison = state.poison;
  if (poison === undefined) return null;
  if (t.withinMs !== null) {
    let drop = 0;
    while (drop < poison.length && now - poison[drop]!.time >= t.withinMs) drop++;
    if (drop > 0) poison.splice(0, drop);
  }
  return poison.length > 0 ? { error: poison[0]!.error } : null;
}

function trackerValue(t: PolicyTracker, state: TrackerState | undefined, now: number): TrackerValue {
  if (state === undefined) return t.kind === "count" ? 0 : false;
  const poisoned = poisonValue(t, state, now);
  if (poisoned !== null) return poisoned;
  let n: number;
  if (t.withinMs === null) n = state.total;
  else {
    expire(state, t.withinMs, now);
    n = state.times.length - state.head;
  }
  return t.kind === "count" ? n : n > 0;
}

/**
 * An action recorded into a session: it can be taken back (an allowed action that never ran), and,
 * while its result is being decided, given the labels its result added (`relabel`), which changes
 * its entry where it stands: same time, same place among the session's entries.
 */
export interface Reservation {
  cancel(): void;
  /** Adds these labels (its result's) to the entry's; it stays where it was recorded. */
  relabel(labels: readonly string[]): void;
  /** Nothing more will change the entry (its result was decided, or it will not be). */
  settle(): void;
}

/** What recording an action into the trackers did, to take back exactly. */
type Undo = () => void;

/**
 * An entry recorded while an earlier entry of its session could still be relabelled: to change
 * that earlier entry in place, the entries after it are taken back, it is recorded again with its
 * new labels, and they are recorded again after it, each at its own time (every tracker takes an
 * entry back exactly, in any order, and holds entries in time order).
 */
interface Filed {
  readonly action: unknown;
  readonly now: number;
  readonly policies: readonly (readonly PolicyTracker[])[];
  labels: readonly string[] | undefined;
  readonly who: Who | undefined;
  undo: Undo;
  /** Its place in its session's log: consecutive for the entries of one log. */
  readonly seq: number;
  /** Taken back for good. */
  cancelled: boolean;
  /** Its labels can no longer change. */
  settled: boolean;
}

/**
 * What the enforcer's steps read tracker values from and record actions into, synchronously:
 * `SessionTrackers` over the in-memory store, or a view of what a shared store answered for one
 * decision (enforcer/store-step.ts).
 */
export interface TrackerSource {
  /** Why no decision can be made with this history (a store that did not answer), or null. */
  problem(session: string): string | null;
  /** `who`: the user and context of the decision, which scoped predicates (`per user.id`) read. */
  values(session: string, trackers: readonly PolicyTracker[], now: number, action?: unknown, who?: Who): readonly TrackerValue[];
  record(session: string, action: unknown, now: number, policies: readonly (readonly PolicyTracker[])[], labels?: readonly string[], relabelled?: boolean, who?: Who): Reservation;
  sessionInput(session: string): { readonly labels: readonly string[] };
  addLabels(session: string, labels: readonly string[] | undefined): string | null;
  forget(session: string): void;
}

export class SessionTrackers implements TrackerSource {
  /**
   * Per session, the entries recorded since the oldest one whose labels can still change, oldest
   * first (absent when there is none): as long as the actions in flight in the session whose
   * results are being decided.
   */
  private readonly open = new Map<string, Filed[]>();
  /** The history of each scope value (`per user.id`, the deployment), by scope and key: at most MAX_SCOPES. */
  private readonly scopes = new Map<string, ScopeHistory>();
  /** No sweep for empty scopes before this time, after one that freed little. */
  private nextSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: HistoryStore,
    /** Told when an entry had to be settled before its result (MAX_OPEN_ENTRIES). */
    private readonly report: (e: Error) => void = () => {},
  ) {}

  problem(_session: string): string | null {
    return null;
  }

  private session(id: string): SessionHistory {
    let s = this.store.get(id);
    if (s === undefined) {
      s = { trackers: new Map(), recent: [] };
      this.store.set(id, s);
    }
    return s;
  }

  /** The value of each tracker for a decision in `session` at `now`, in the policy's order. */
  /** `action` is the action being decided: trackers that read `current.F` look up its key. */
  values(session: string, trackers: readonly PolicyTracker[], now: number, action?: unknown, who?: Who): readonly TrackerValue[] {
    if (trackers.length === 0) return NO_VALUES;
    const s = this.store.get(session);
    this.ensure(s, split(trackers).session, now);
    return trackers.map((t) => {
      if (isScoped(t)) return this.scopedValue(t, now, action, who);
      const state = s?.trackers.get(t.key);
      return isKindTracker(t) ? kindValue(t, state as KindState | undefined, now, action) : trackerValue(t, state as TrackerState | undefined, now);
    });
  }

  /**
   * Records an action that is about to run (or ran) at `now` into every tracker of `policies`.
   * Recording happens synchronously right after an allow, so concurrent decisions in a session
   * see actions still in flight and cannot race past a limit together. `relabelled`: the
   * action's result will be decided, and its labels may be added to the entry (`relabel`) until
   * it is settled.
   */
  record(session: string, action: unknown, now: number, policies: readonly (readonly PolicyTracker[])[], labels?: readonly string[], relabelled = false, who?: Who): Reservation {
    const s = this.session(session);
    const log = this.open.get(session);
    const seq = log === undefined || log.length === 0 ? 0 : log[log.length - 1]!.seq + 1;
    const f: Filed = { action, now, policies, labels, who, undo: this.file(s, action, now, policies, labels, who), cancelled: false, settled: !relabelled, seq };
    if (relabelled || log !== undefined) {
      if (log === undefined) this.open.set(session, [f]);
      else {
        log.push(f);
        if (log.length > MAX_OPEN_ENTRIES) {
          this.report(new Error(`session ${JSON.stringify(session.slice(0, 64))} has more than ${MAX_OPEN_ENTRIES} entries in flight: the labels of the oldest one's result go to the session only`));
          this.settle(session, log[0]!);
        }
      }
    }
    this.store.set(session, s);
    return {
      cancel: () => {
        if (f.cancelled) return;
        f.cancelled = true;
        f.undo();
        this.settle(session, f);
      },
      relabel: (next) => this.relabel(session, f, next),
      settle: () => this.settle(session, f),
    };
  }

  /** Adds labels to a recorded entry, in place: the entries after it are taken back and recorded again after it. */
  private relabel(session: string, f: Filed, labels: readonly string[]): void {
    const log = this.open.get(session);
    const at = log === undefined || log.length === 0 ? -1 : f.seq - log[0]!.seq;
    if (f.cancelled || f.settled || log?.[at] !== f) return;
    const had = f.labels ?? [];
    const added = labels.filter((l, i) => !had.includes(l) && labels.indexOf(l) === i);
    if (added.length === 0) return;
    const s = this.session(session);
    const later = log!.slice(at).filter((e) => !e.cancelled);
    for (let i = later.length - 1; i >= 0; i--) later[i]!.undo();
    f.labels = [...had, ...added];
    // trackers a policy added after the entry was filed were seeded without its labels: they are
    // seeded again, from the recent actions (which hold it with them), when next read
    const filedWith = new Set(f.policies.flatMap((ts) => ts.map((t) => t.key)));
    for (const key of [...s.trackers.keys()]) if (!filedWith.has(key)) s.trackers.delete(key);
    for (const e of later) e.undo = this.file(s, e.action, e.now, e.policies, e.labels, e.who);
    this.store.set(session, s);
  }

  /** Marks an entry settled, and forgets the settled entries at the front of its session's log. */
  private settle(session: string, f: Filed): void {
    f.settled = true;
    const log = this.open.get(session);
    if (log === undefined) return;
    let drop = 0;
    while (drop < log.length && (log[drop]!.settled || log[drop]!.cancelled)) drop++;
    if (drop === log.length) this.open.delete(session);
    else if (drop > 0) log.splice(0, drop);
  }

  /**
   * Files an entry into every tracker of `policies`: the session's trackers and recent actions,
   * and each scoped tracker's scope value (an action whose value cannot key a scope is in none);
   * returns what takes it back.
   */
  private file(s: SessionHistory, action: unknown, now: number, policies: readonly (readonly PolicyTracker[])[], labels: readonly string[] | undefined, who: Who | undefined): Undo {
    // the common case, no scoped trackers: nothing more is allocated per action
    if (policies.every((ts) => split(ts).scoped.length === 0)) return this.fileInto(s, action, now, policies, labels);
    const undoSession = this.fileInto(
      s,
      action,
      now,
      policies.map((ts) => split(ts).session),
      labels,
    );
    const groups = new Map<string, PolicyTracker[]>();
    const seen = new Set<string>();
    for (const ts of policies) {
      for (const t of split(ts).scoped) {
        if (seen.has(t.key)) continue;
        seen.add(t.key);
        const key = scopeKeyOf(t, action, who);
        if (typeof key !== "string") continue;
        const id = `${t.scope}\u0000${key}`;
        const group = groups.get(id);
        if (group === undefined) groups.set(id, [t]);
        else group.push(t);
      }
    }
    if (groups.size === 0) return undoSession;
    const undos: Undo[] = [undoSession];
    for (const [id, trackers] of groups) {
      // created past the bound by up to SCOPE_OVERSHOOT: the decision checked it, and an allowed
      // action in flight is counted; past that (actions recorded without a decision), its scope
      // is not kept, and decisions that need a new scope value deny until some empty
      const scope = this.scopeHistory(id, now, true);
      if (scope === null || scope === undefined) continue;
      for (const t of trackers) scope.keepFor = Math.max(scope.keepFor, t.withinMs === null || t.since !== undefined ? Infinity : t.withinMs);
      undos.push(this.fileInto(scope.history, action, now, [trackers], labels));
    }
    return () => {
      for (const undo of undos) undo();
    };
  }

  /**
   * A scoped tracker's value for a decision: its scope value's history (empty when that value
   * has none yet), the error of a decision whose value cannot key a scope, or, when MAX_SCOPES are
   * held and none is empty, `ScopeUnavailable`.
   */
  private scopedValue(t: PolicyTracker, now: number, action: unknown, who: Who | undefined): TrackerValue {
    const key = scopeKeyOf(t, action, who);
    if (typeof key !== "string") return key;
    const scope = this.scopeHistory(`${t.scope}\u0000${key}`, now, false);
    if (scope === null) return new ScopeUnavailable(scopesFull(t.scope!));
    if (scope === undefined) return isKindTracker(t) ? kindValue(t, undefined, now, action) : trackerValue(t, undefined, now);
    this.ensure(scope.history, [t], now);
    const state = scope.history.trackers.get(t.key);
    return isKindTracker(t) ? kindValue(t, state as KindState | undefined, now, action) : trackerValue(t, state as TrackerState | undefined, now);
  }

  /**
   * The history of a scope value: created when `create` (recording), otherwise undefined when it
   * has none; null when it has none and no more can be held (MAX_SCOPES, after dropping the empty
   * ones).
   */
  private scopeHistory(id: string, now: number, create: boolean): ScopeHistory | undefined | null {
    const held = this.scopes.get(id);
    if (held !== undefined) return held;
    if (this.scopes.size >= MAX_SCOPES && !this.sweep(now) && (!create || this.scopes.size >= MAX_SCOPES + SCOPE_OVERSHOOT)) return null;
    if (!create) return undefined;
    const fresh: ScopeHistory = { history: { trackers: new Map(), recent: [] }, keepFor: 0 };
    this.scopes.set(id, fresh);
    return fresh;
  }

  /**
   * Drops the scopes whose history is empty (every recent action older than their longest
   * window); whether one more can be held. A sweep that frees less than a tenth of the bound
   * waits a second before the next, so a full table costs O(1) amortized per decision.
   */
  private sweep(now: number): boolean {
    if (now < this.nextSweep) return false;
    for (const [id, scope] of this.scopes) {
      const recent = scope.history.recent;
      const last = recent[recent.length - 1];
      if (last === undefined || now - last.time >= scope.keepFor) this.scopes.delete(id);
    }
    if (this.scopes.size > MAX_SCOPES * 0.9) this.nextSweep = now + 1000;
    return this.scopes.size < MAX_SCOPES;
  }

  /** Files an entry into every tracker of `policies` and the recent actions of `s` (a session's or a scope's); returns what takes it back. */
  private fileInto(s: SessionHistory, action: unknown, now: number, policies: readonly (readonly PolicyTracker[])[], labels: readonly string[] | undefined): Undo {
    const touched: TrackerState[] = [];
    const poisoned: TrackerState[] = [];
    const changed: Change[] = [];
    const seenKeys = new Set<string>();
    let longest = 0;
    for (const trackers of policies) {
      this.ensure(s, trackers, now);
      for (const t of trackers) {
        // a `since` tracker's B has no window: keep recent actions as for a whole session
        if (t.withinMs === null || t.since !== undefined) longest = Infinity;
        else longest = Math.max(longest, t.withinMs);
        if (seenKeys.has(t.key)) continue;
        seenKeys.add(t.key);
        if (isKindTracker(t)) {
          const state = s.trackers.get(t.key) as KindState;
          const change = addToKind(t, state, now, action, labels);
          if (change !== null) changed.push(change);
          continue;
        }
        const state = s.trackers.get(t.key) as TrackerState;
        const matches = holds(t, (a) => t.matches(a, labels), action);
        if (matches !== true && matches !== false) {
          // the scan makes it an evaluation error of the rule: poison while it is in the window
          addPoison(state, now, matches.error);
          poisoned.push(state);
          continue;
        }
        if (!matches) continue;
        state.total++;
        if (t.withinMs !== null) state.times.push(now);
        touched.push(state);
      }
    }
    const entry: HistoryEntry = labels === undefined || labels.length === 0 ? { time: now, action } : { time: now, action, labels };
    if (longest > 0) {
      s.recent.push(entry);
      const keepFor = Number.isFinite(longest) ? longest : Infinity;
      let drop = 0;
      while (drop < s.recent.length && (now - s.recent[drop]!.time >= keepFor || s.recent.length - drop > RECENT_LIMIT)) drop++;
      if (drop > 0) s.recent.splice(0, drop);
    }
    return () => {
      for (const state of touched) {
        state.total--;
        const i = state.times.lastIndexOf(now);
        if (i >= state.head) state.times.splice(i, 1);
      }
      for (const state of poisoned) {
        const poison = state.poison!;
        let i = poison.length - 1;
        while (i >= 0 && poison[i]!.time !== now) i--;
        if (i >= 0) poison.splice(i, 1);
      }
      const i = s.recent.lastIndexOf(entry);
      if (i >= 0) s.recent.splice(i, 1);
      // each tracker takes back exactly what the action added (nothing is rebuilt from the recent actions)
      for (const undo of changed) undo();
    };
  }

  /** Creates the state of trackers the session has not seen yet, from its recent actions. */
  private ensure(s: SessionHistory | undefined, trackers: readonly PolicyTracker[], now: number): void {
    if (s === undefined) return;
    for (const t of trackers) {
      if (s.trackers.has(t.key)) continue;
      if (isKindTracker(t)) {
        const state = newKindState();
        // in time order; a `since` tracker reads every entry (B has no window), the others expire on reading
        for (const r of s.recent) addToKind(t, state, r.time, r.action, r.labels);
        s.trackers.set(t.key, state);
        continue;
      }
      const state = newTracker();
      for (const r of s.recent) {
        if (t.withinMs !== null && now - r.time >= t.withinMs) continue;
        const matches = holds(t, (a) => t.matches(a, r.labels), r.action);
        if (matches !== true && matches !== false) {
          addPoison(state, r.time, matches.error);
          continue;
        }
        if (!matches) continue;
        state.total++;
        if (t.withinMs !== null) state.times.push(r.time);
      }
      s.trackers.set(t.key, state);
    }
  }

  /** What a decision in `session` reads as `session` (`{ labels }`); read, not copied: O(1). */
  sessionInput(session: string): { readonly labels: readonly string[] } {
    return this.store.get(session)?.labels?.input ?? NO_LABELS;
  }

  /**
   * Adds a decision's labels to its session (each once). Returns null, or, when they would take
   * the session past MAX_SESSION_LABELS, why none was added. O(1) per label.
   */
  addLabels(session: string, labels: readonly string[] | undefined): string | null {
    if (labels === undefined || labels.length === 0) return null;
    const s = this.session(session);
    const held: SessionLabels = s.labels ?? { set: new Set(), input: { labels: [] } };
    let fresh = 0;
    for (const l of labels) if (!held.set.has(l)) fresh++;
    if (fresh === 0) return null;
    if (held.set.size + fresh > MAX_SESSION_LABELS) return `the session already holds ${held.set.size} labels, and may hold at most ${MAX_SESSION_LABELS}`;
    for (const l of labels) {
      if (held.set.has(l)) continue;
      held.set.add(l);
      held.input.labels.push(l);
    }
    s.labels = held;
    this.store.set(session, s);
    return null;
  }

  forget(session: string): void {
    this.open.delete(session);
    this.store.delete(session);
  }
}
