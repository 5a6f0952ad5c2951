/**
 * Deciding against a shared history store (store.ts). The enforcer's steps are synchronous: they
 * read tracker values and record actions through `st.trackers` without awaiting. With the
 * in-memory store that is `SessionTrackers` itself, and nothing here runs. With a shared store,
 * the entry points first ask the store once (`read`: the values, and the action filed under the
 * decision's id), then run the same steps on a state whose `trackers` is a view of that answer
 * (`StoreView`): it gives the values read, turns `record` into keeping the filing, `cancel` into
 * `release`, `relabel` into filing the entry again where it stands, and `settle` into `confirm`.
 * Those writes go out in order on the store's connection and are awaited before the entry point
 * returns (`finish`), and a filing no step recorded (a deny) is released.
 *
 * A count or seen tracker's value is the number of entries in its window, whatever their order,
 * so filing an entry again at its own time with other labels is exact: nothing filed after it
 * has to be taken back and filed again, as the in-memory store does for its ordered kinds.
 * The other kinds (sum, max, min, since, `current.F` keys) are filed as tracker-kinds.ts
 * `kindFiling` describes the action, and the store answers their values, computed as the
 * in-memory store computes them (exact sums, windows, poison). Their values after the action was
 * filed are read in the same call, for the result's decision; an entry filed again with other
 * labels (a result's) keeps its time and its place among `since` marks.
 *
 * A predicate with a scope (`per user.id`), of any kind, is read and filed under the decision's
 * scope value, which the store shares between sessions; a decision whose value cannot key a scope
 * has that error.
 */
import { MAX_SESSION_LABELS, type Reservation, ScopeUnavailable, scopeKeyOf, scopesFull, type TrackerSource, type TrackerValue, type Who } from "../history.js";
import { type CurrentKey, isCountTracker, type SharedHistoryStore, type StoreFiling, type StoreReadResult, type StoreTracker, type StoreValue } from "../store.js";
import { currentKeyOf, holds, kindFiling } from "../tracker-kinds.js";
import type { PolicyModule, PolicyTracker } from "../types.js";
import type { EnforcerState } from "./state.js";
import { actionHashOf, type Subject } from "./subject.js";

/** The trackers of the policies in force, as the store keeps them, and by key. */
interface Kept {
  readonly all: readonly PolicyTracker[];
  readonly kept: readonly StoreTracker[];
  readonly byKey: ReadonlyMap<string, PolicyTracker>;
  /** Whether a tracker (scoped or not) reads `current.F` (its current key is then computed per decision). */
  readonly keyed: boolean;
  /** Whether a decision needs the session's labels: a policy in force reads them or adds to them (StoreRead `labels`). */
  readonly labels: boolean;
}

/**
 * Whether a policy's decisions need the session's labels from the store: a rule reads
 * `session.labels` (a module compiled before its metadata said so is taken to), or a rule adds
 * labels, which are added to the session only when new and within its bound (`addLabels`).
 */
const needsLabels = (m: PolicyModule): boolean => m.policy.readsSessionLabels !== false || m.policy.rules.some((r) => r.effect === "label");

/** A tracker as the store keeps it. */
const storeTracker = (t: PolicyTracker): StoreTracker => ({
  key: t.key,
  kind: t.kind,
  withinMs: t.withinMs,
  ...(typeof t.since === "function" ? { since: true } : {}),
  ...(typeof t.entryKeys === "function" ? { keyed: true } : {}),
});

/** Per policy in force, and its shadow candidate: computed once, not per decision. */
const keptFor = new WeakMap<object, { readonly shadow: object | null; readonly kept: Kept }>();

/** The trackers of the policies in force (the enforced one and the shadow candidate), each once, as the store keeps them. */
function storeTrackers(st: EnforcerState): Kept {
  const cached = keptFor.get(st.active);
  if (cached !== undefined && cached.shadow === st.shadow) return cached.kept;
  const all: PolicyTracker[] = [];
  const kept: StoreTracker[] = [];
  const seen = new Set<string>();
  const lists = st.shadow === null ? [st.active.module.trackers] : [st.active.module.trackers, st.shadow.module.trackers];
  for (const list of lists) {
    for (const t of list) {
      if (seen.has(t.key)) continue;
      seen.add(t.key);
      all.push(t);
      if (t.scope !== undefined) continue; // kept per decision, under its scope value (decisionTrackers)
      kept.push(storeTracker(t));
    }
  }
  const labels = needsLabels(st.active.module) || (st.shadow !== null && needsLabels(st.shadow.module));
  const result: Kept = { all, kept, byKey: new Map(all.map((t) => [t.key, t])), keyed: all.some((t) => typeof t.entryKeys === "function"), labels };
  keptFor.set(st.active, { shadow: st.shadow, kept: result });
  return result;
}

const NO_ERRORS: ReadonlyMap<string, string> = new Map();

/**
 * The kept trackers of one decision: the session's, and each scoped one under its scope value's
 * key, from the decision's action, user and context (`who`); a decision whose value cannot key a
 * scope has that error as the tracker's value, and files nothing there.
 */
function decisionTrackers(all: readonly PolicyTracker[], kept: readonly StoreTracker[], action: unknown, who: Who | null): { kept: readonly StoreTracker[]; errors: ReadonlyMap<string, string> } {
  // no scoped predicates (the common case): nothing is allocated per decision
  if (all.length === kept.length) return { kept, errors: NO_ERRORS };
  const out = [...kept];
  const errors = new Map<string, string>();
  for (const t of all) {
    if (t.scope === undefined) continue;
    const key = who === null ? { error: `\`per ${t.scope}\`: this decision has no user and context to scope by` } : scopeKeyOf(t, action, who);
    if (typeof key === "string") out.push({ ...storeTracker(t), scope: `${t.scope}\u0000${key}` });
    else errors.set(t.key, key.error);
  }
  return { kept: out, errors };
}

/** The trackers an entry with `labels` is filed in: those whose condition it matches, or whose condition fails on it; the other kinds as `kindFiling` says. */
function filingsOf(trackers: readonly StoreTracker[], byKey: ReadonlyMap<string, PolicyTracker>, action: unknown, labels: readonly string[] | undefined): StoreFiling[] {
  const out: StoreFiling[] = [];
  for (const tracker of trackers) {
    const t = byKey.get(tracker.key)!;
    if (!isCountTracker(tracker)) {
      const kind = kindFiling(t, action, labels);
      if (kind !== null) out.push({ tracker, error: null, kind });
      continue;
    }
    const matches = holds(t, (a) => t.matches(a, labels), action);
    if (matches === true) out.push({ tracker, error: null });
    else if (matches !== false) out.push({ tracker, error: matches.error });
  }
  return out;
}

const sameFiling = (a: StoreFiling, b: StoreFiling): boolean => a.tracker.key === b.tracker.key && a.error === b.error && JSON.stringify(a.kind) === JSON.stringify(b.kind);
const sameFilings = (a: readonly StoreFiling[], b: readonly StoreFiling[]): boolean => a.length === b.length && a.every((f, i) => sameFiling(f, b[i]!));

export function unavailable(store: SharedHistoryStore, e: unknown): string {
  return `history store unavailable: ${store.name}: ${e instanceof Error ? e.message : String(e)}`;
}

/** What a decision reads and records through a shared store, for one subject. */
export class StoreView implements TrackerSource {
  /** The enforcer's state with this view as its trackers (and the id the action was filed under as its next decision id). */
  readonly state: EnforcerState;
  private readonly values_ = new Map<string, StoreValue>();
  private readonly labels: string[];
  private readonly byKey: ReadonlyMap<string, PolicyTracker>;
  private readonly kept: readonly StoreTracker[];
  /** Scoped trackers whose scope this decision cannot key, with why. */
  private readonly scopeErrors: ReadonlyMap<string, string>;
  /** The entry as filed by `read`: with no labels (the decision's labels are known only after it). */
  private filings: StoreFiling[];
  /** The filings the read made, whose values after filing it answered. */
  private readonly filedAsRead: readonly StoreFiling[];
  private recorded = false;
  private cancelled = false;
  private settled = false;
  private readonly writes: Promise<unknown>[] = [];

  private constructor(
    st: EnforcerState,
    private readonly store: SharedHistoryStore,
    private readonly scope: string,
    private readonly now: number,
    private readonly id: string | null,
    private action: unknown,
    private readonly problem_: string | null,
    answer: StoreReadResult | null,
    kept: readonly StoreTracker[],
    byKey: ReadonlyMap<string, PolicyTracker>,
    filings: StoreFiling[],
    /** The action hash the filing was kept with. */
    private readonly filedHash: string | null,
    scopeErrors: ReadonlyMap<string, string> = new Map(),
  ) {
    this.kept = kept;
    this.scopeErrors = scopeErrors;
    this.filings = filings;
    this.filedAsRead = filings;
    this.byKey = byKey;
    if (answer !== null) for (let i = 0; i < kept.length; i++) this.values_.set(kept[i]!.key, answer.values[i]!);
    this.labels = answer === null ? [] : [...answer.labels];
    let handed = id === null;
    // the first decision id the steps ask for is the one the action was filed under
    const decisionId = (t: number): string => {
      if (handed) return st.decisionId(t);
      handed = true;
      return id!;
    };
    // the steps run on this state; `active`, `shadow` and the rest are read through to the enforcer's
    // a literal with a prototype rather than Object.create with descriptors: made (once per decision) and read in a fraction of the time
    this.state = { __proto__: st, trackers: this, decisionId } as unknown as EnforcerState;
  }

  /**
   * Asks the store for the values a decision on `action` in `scope` reads, and, with `reserve`,
   * files the action under a new decision id in the same call. Never rejects: a store that
   * does not answer makes every decision of the view a deny that names it.
   */
  static async open(st: EnforcerState, store: SharedHistoryStore, scope: string, now: number, action: unknown, reserveFor: string | null, who: Who | null = null): Promise<StoreView> {
    const { all, kept: session, byKey, keyed, labels } = storeTrackers(st);
    const { kept, errors } = decisionTrackers(all, session, action, who);
    const id = reserveFor !== null ? st.decisionId(now) : null;
    const filings = reserveFor !== null ? filingsOf(kept, byKey, action, undefined) : [];
    try {
      const reserve = id !== null ? { reserve: { id, ttlMs: st.reservations.ttlMs, filings, actionHash: reserveFor! } } : {};
      const current: CurrentKey[] | null = keyed ? kept.map((k) => (k.keyed === true ? currentKeyOf(byKey.get(k.key)!, action) : "")) : null;
      const answer = await store.read({ scope, now, trackers: kept, ...(current !== null ? { current } : {}), ...(labels ? {} : { labels: false }), ...reserve });
      return new StoreView(st, store, scope, now, id, action, null, answer, kept, byKey, filings, reserveFor, errors);
    } catch (e) {
      return new StoreView(st, store, scope, now, null, action, unavailable(store, e), null, kept, byKey, [], null, errors);
    }
  }

  problem(): string | null {
    return this.problem_;
  }

  values(session: string, trackers: readonly PolicyTracker[], _now: number, _action?: unknown): readonly TrackerValue[] {
    return trackers.map((t) => this.value(session, t));
  }

  private value(session: string, t: PolicyTracker): TrackerValue {
    if (this.problem_ !== null) return { error: this.problem_ };
    if (session !== this.scope) return { error: `the history store read session ${JSON.stringify(this.scope)}, not this one` };
    const scopeError = this.scopeErrors.get(t.key);
    if (scopeError !== undefined) return { error: scopeError };
    const read = this.values_.get(t.key);
    if (read === undefined) return { error: `the history store did not read tracker ${t.key}` };
    // its scope value cannot be held: the action could not be counted, so the decision denies
    if (read.scopesFull === true) return new ScopeUnavailable(read.error ?? scopesFull(t.scope ?? "", `the history store ${this.store.name}`));
    const own = this.recorded && !this.cancelled ? this.filings.find((f) => f.tracker.key === t.key) : undefined;
    if (read.value !== undefined) return this.kindValue(t, read, own);
    let count = read.count;
    let error = read.error;
    // once recorded, the entry counts for the decisions that follow in this call (its result's)
    if (own !== undefined && own.error === null) count++;
    else if (own !== undefined && error === null) error = own.error;
    if (error !== null) return { error };
    return t.kind === "count" ? count : count > 0;
  }

  /** A tracker of another kind: its value as read, or, once the action is recorded in it, as read after filing it. */
  private kindValue(t: PolicyTracker, read: StoreValue, own: StoreFiling | undefined): TrackerValue {
    let value: { readonly value?: number | boolean | null; readonly error: string | null } = read;
    if (own !== undefined) {
      // filed again with other labels (a result's) after the read: its value with the entry is not known here
      if (read.filed === undefined || !this.filedAsRead.some((f) => sameFiling(f, own)))
        return { error: `the history store ${this.store.name} read ${t.key} before the action's labels changed which entries it holds; decide again` };
      value = read.filed;
    }
    return value.error !== null ? { error: value.error } : (value.value ?? null);
  }

  sessionInput(_session: string): { readonly labels: readonly string[] } {
    return { labels: this.labels };
  }

  addLabels(_session: string, labels: readonly string[] | undefined): string | null {
    if (labels === undefined || labels.length === 0) return null;
    const fresh = labels.filter((l, i) => !this.labels.includes(l) && labels.indexOf(l) === i);
    if (fresh.length === 0) return null;
    if (this.labels.length + fresh.length > MAX_SESSION_LABELS) return `the session already holds ${this.labels.length} labels, and may hold at most ${MAX_SESSION_LABELS}`;
    this.labels.push(...fresh);
    this.write(this.store.addLabels(this.scope, fresh, MAX_SESSION_LABELS));
    return null;
  }

  /** The action filed by `read` is the one recorded: it stays filed, with these labels. */
  record(_session: string, action: unknown, _now: number, _policies: readonly (readonly PolicyTracker[])[], labels?: readonly string[], _relabelled = false): Reservation {
    if (this.id === null) throw new Error("the history store filed no action for this decision");
    this.recorded = true;
    if (action !== this.action) {
      // the policy rewrote the action (redacted it): the entry is the action as it runs
      this.action = action;
      this.refile([], true);
    }
    if (labels !== undefined && labels.length > 0) this.refile(labels);
    return {
      cancel: () => {
        if (this.cancelled) return;
        this.cancelled = true;
        this.write(this.store.release(this.id!, this.scope), false);
      },
      relabel: (next) => {
        if (!this.cancelled && !this.settled) this.refile(next);
      },
      settle: () => {
        if (this.cancelled || this.settled) return;
        this.settled = true;
        this.write(this.store.confirm(this.id!, this.scope), false);
      },
    };
  }

  private entryLabels: readonly string[] = [];

  /** Files the entry again where it stands (its own time) with more labels, when that changes which trackers it is in. */
  private refile(labels: readonly string[], force = false): void {
    const next = [...this.entryLabels, ...labels.filter((l, i) => !this.entryLabels.includes(l) && labels.indexOf(l) === i)];
    if (next.length === this.entryLabels.length && !force) return;
    this.entryLabels = next;
    const filings = filingsOf(this.kept, this.byKey, this.action, next);
    if (sameFilings(filings, this.filings)) return;
    this.filings = filings;
    this.write(this.store.refile(this.id!, this.scope, this.now, filings, next));
  }

  /** `decide` with `reserve` allowed the action: its reservation stays pending for `record` or `release` in any process, for the decision's action hash. */
  keep(actionHash: string, ttlMs: number): void {
    if (this.id === null || this.problem_ !== null) return;
    // kept even when no tracker counted it (a policy without history): `record` settles it in any process
    this.recorded = true;
    // the read filed it for the action as given; only a rewritten (redacted) action needs another call
    if (actionHash !== this.filedHash) this.write(this.store.keep(this.id, this.scope, actionHash, ttlMs));
  }

  forget(_session: string): void {
    this.write(this.store.forget(this.scope));
  }

  /**
   * A write the steps made. `awaited` ones (labels, refiling, keeping) are awaited before the
   * entry point returns, so a decision in any process that starts after it sees them. A release
   * of a denied action and a confirm are not: they go out in order on the store's connection,
   * so this process's next calls come after them, and one that fails leaves the action counted
   * (fail closed).
   */
  private write(p: Promise<unknown>, awaited = true): void {
    const reported = p.catch((e) => this.state.report(new Error(unavailable(this.store, e))));
    if (awaited) this.writes.push(reported);
  }

  /**
   * After the steps: an action filed but never recorded (not allowed) is released; in `run`, a
   * recorded one nothing settled is confirmed. Gives what to await for every write the steps made.
   */
  finish(confirm: boolean): Promise<unknown> | undefined {
    if (this.id !== null && this.problem_ === null) {
      if (!this.recorded) {
        this.cancelled = true;
        this.write(this.store.release(this.id, this.scope), false);
      } else if (confirm && !this.cancelled && !this.settled) {
        this.settled = true;
        this.write(this.store.confirm(this.id, this.scope), false);
      }
    }
    // nothing to wait for (an allowed decision's usual case): no promise either
    return this.writes.length === 0 ? undefined : Promise.all(this.writes);
  }
}

/** Runs `steps` on the history of `scope` as it is now: in this process, or read from the shared store first (without filing anything). */
export async function withHistory<T>(st: EnforcerState, scope: string, now: number, steps: (st: EnforcerState) => Promise<T>, action: unknown = null, who: Who | null = null): Promise<T> {
  if (st.store === null) return steps(st);
  const view = await StoreView.open(st, st.store, scope, now, action, null, who);
  try {
    return await steps(view.state);
  } finally {
    await view.finish(false);
  }
}

/**
 * A result's labels for the entry of a call reserved in another process (`checkResult` with its
 * decision id): the entry is filed again with its labels and these, where it stands. Nothing
 * happens when no reservation of the scope and action is pending.
 */
export async function relabelShared(
  st: EnforcerState,
  store: SharedHistoryStore,
  id: string,
  scope: string,
  actionHash: string,
  action: unknown,
  labels: readonly string[],
  who: Who | null = null,
): Promise<void> {
  const pending = await store.pending(id, scope);
  if (pending === null || pending.actionHash !== actionHash) return;
  const next = [...pending.labels, ...labels.filter((l, i) => !pending.labels.includes(l) && labels.indexOf(l) === i)];
  if (next.length === pending.labels.length) return;
  // filed again in every tracker, the scoped ones under the call's own scope values
  const { all, kept: session, byKey } = storeTrackers(st);
  const { kept } = decisionTrackers(all, session, action, who);
  const filings = filingsOf(kept, byKey, action, next);
  await store.refile(id, scope, st.clock(), filings, next);
}

/** The hash a reservation of the subject is filed for (the action as given), or null when it cannot be reserved. */
export function filedHash(subject: Subject, reserve: boolean): string | null {
  return reserve && subject.problem === null ? actionHashOf(subject) : null;
}
