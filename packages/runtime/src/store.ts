import type { GrantStore } from "./grants.js";

/**
 * What a history store is. The enforcer's history lives either in this process (the in-memory
 * store, history.ts: synchronous, O(1) per tracker, the default) or in a shared store that many
 * processes use at once (`@agent-armor/store-redis`). A shared store is asynchronous, so the
 * enforcer asks it once per decision, before deciding (enforcer/store-step.ts), and then runs
 * its usual synchronous steps on what the store answered; with the in-memory store nothing is
 * awaited and no step changes.
 *
 * A shared store keeps trackers by scope key (the session's name, or for a predicate with a scope
 * of its own, `per user.id`, that scope value: `StoreTracker.scope`) and tracker key (the predicate's identity, PolicyTracker.key). The runtime evaluates the
 * predicates' conditions (they are the compiled module's functions); the store keeps, per
 * tracker, the entries that matched (by time) and the entries the condition could not be
 * evaluated on (poison, by time), and answers with how many are in the window. For the other
 * kinds (sum, max, min, since, `current.F`) the runtime says what an entry adds (`KindFiling`,
 * the twin of tracker-kinds.ts `addToKind`) and which key the decision looks up, and the store
 * answers the value, as the in-memory store computes it.
 *
 * Deciding is one call, `read`: it reads every tracker the policies need and, when asked,
 * files the action in the trackers it matches under the decision's id, atomically (in Redis one
 * script, so deciders in other processes cannot race past a limit). The action is filed before
 * the policy decides; a decision that is not an allow takes it back (`release`). So an action
 * that ends up denied counts, for concurrent decisions, during the one round trip between the
 * two calls: a store can make a concurrent decision deny where the in-memory store would allow,
 * never the other way.
 */

/**
 * A tracker as the store keeps it. `count` and `seen` without `current` are counted entries
 * (`filing`'s `error`); the others (`sum`, `max`, `min`, `seen(A since B)`, and any predicate that
 * reads `current.F`, kept per key) are filed as a `KindFiling` and answered as their value.
 */
export interface StoreTracker {
  /** PolicyTracker.key: the predicate's identity across policy versions. */
  readonly key: string;
  readonly kind: "count" | "seen" | "sum" | "max" | "min";
  /** The window in ms, or null for the whole scope's history. */
  readonly withinMs: number | null;
  /** `seen(A since B)`. */
  readonly since?: boolean;
  /** Reads `current.F`: its state is kept per key (the keys an entry is filed under, `entryKeys`). */
  readonly keyed?: boolean;
  /**
   * A predicate with a scope (`per user.id`, `per deployment`): the scope value's key
   * (`user.id`, a NUL, and the module's scope key), under which the store keeps this tracker
   * instead of the read's `scope` (the session), shared by every session with that value.
   */
  readonly scope?: string;
}

/** Whether the store keeps the tracker as a plain count (`count`/`seen` without `since` or `current`). */
export const isCountTracker = (t: StoreTracker): boolean => (t.kind === "count" || t.kind === "seen") && t.since !== true && t.keyed !== true;

/**
 * What an entry adds to a tracker that is not a plain count, as tracker-kinds.ts `addToKind` would
 * add it in memory: poison for the tracker while it is in the window (its condition or keys could
 * not be evaluated), poison for the whole history (`since`'s B could not be), an entry whose keys
 * cannot be made (`unkeyed`), `since`'s last B, the last A under `keys`, a number (1 for
 * count/seen) under `keys`, or a number that could not be read (`bad`: poison for those keys).
 */
export type KindFiling =
  | { readonly type: "poison" | "lasting"; readonly error: string }
  | { readonly type: "unkeyed" | "b" }
  | { readonly type: "a"; readonly keys: readonly string[] }
  | { readonly type: "entry"; readonly keys: readonly string[]; readonly value: number }
  | { readonly type: "bad"; readonly keys: readonly string[]; readonly error: string };

/** An entry filed in a tracker: it matched the condition, or the condition failed on it (`error`); `kind` for the trackers that are not plain counts. */
export interface StoreFiling {
  readonly tracker: StoreTracker;
  /** Why the condition could not be evaluated on the entry (poison while it is in the window), or null when it matched. */
  readonly error: string | null;
  readonly kind?: KindFiling;
}

/** The key a decision looks up in a tracker that reads `current.F` (`currentKey`): a key, none (its values equal nothing), or why it cannot be made. */
export type CurrentKey = string | null | { readonly error: string };

export interface StoreRead {
  /** The scope key the trackers are kept under: the session's name (a tracker with a `scope` of its own is kept under that). */
  readonly scope: string;
  /** Milliseconds since the epoch: the decision's time. */
  readonly now: number;
  /** The trackers whose values the decision reads, in the policy's order. */
  readonly trackers: readonly StoreTracker[];
  /** Per tracker (in `trackers`' order), the key the decision looks up in a `keyed` one; `""` for the others. */
  readonly current?: readonly CurrentKey[];
  /**
   * False when no policy in force reads or adds the scope's labels (no rule reads `session.labels`
   * or has a `label` effect): the store may then answer no labels, and skip reading them.
   */
  readonly labels?: boolean;
  /** File the action (count it in flight) under `id`; kept for `ttlMs` unless confirmed or released. */
  readonly reserve?: {
    readonly id: string;
    readonly ttlMs: number;
    readonly filings: readonly StoreFiling[];
    /** The hash of the action as given: `record` settles the reservation for this action (`keep` changes it when the policy rewrote the action). */
    readonly actionHash: string;
  };
}

/**
 * A tracker's state at a decision. A plain count: entries in its window, and the error of the
 * oldest poisoned entry still in it. Another kind: its value as `decide` takes it (`value`, or
 * `error`), and, when the read filed the action in it, its value with the action counted
 * (`filed`), for the decisions that follow in the same call (a result's).
 */
export interface StoreValue {
  readonly count: number;
  readonly error: string | null;
  readonly value?: number | boolean | null;
  readonly filed?: { readonly value: number | boolean | null; readonly error: string | null };
  /**
   * A scoped tracker whose scope value the store cannot hold (it holds the most scope values it
   * may, none of them empty): `error` says so, and the whole decision is denied, as with the
   * in-memory store's MAX_SCOPES (history.ts `ScopeUnavailable`).
   */
  readonly scopesFull?: true;
}

export interface StoreReadResult {
  /** One per tracker of the request, in its order, read before the action was filed. */
  readonly values: readonly StoreValue[];
  /** The scope's labels (`session.labels`), in the order they were first added. */
  readonly labels: readonly string[];
}

/** A store other processes share: every call may fail (the store is unreachable), and the enforcer then denies naming it. */
export interface SharedHistoryStore {
  readonly shared: true;
  /** What errors name: `redis://127.0.0.1:6379` (never a password). */
  readonly name: string;
  /** Reads the trackers and, with `reserve`, files the action, atomically, in one round trip. */
  read(request: StoreRead): Promise<StoreReadResult>;
  /** The entry's labels changed (its result's): it is filed again, at its own time, in `filings`, and keeps `labels` as its labels. */
  refile(id: string, scope: string, now: number, filings: readonly StoreFiling[], labels: readonly string[]): Promise<void>;
  /** The reservation stays pending for `record`/`release`, for its action's hash; false when it is gone (expired). */
  keep(id: string, scope: string, actionHash: string, ttlMs: number): Promise<boolean>;
  /** The action ran: its reservation is settled and it stays counted. False when no reservation of that scope (and hash, when kept with one) is pending. */
  confirm(id: string, scope: string, actionHash?: string): Promise<boolean>;
  /** A pending reservation of the scope: the action hash it was kept with (`""` when not kept yet) and its entry's labels; null when none is pending. */
  pending(id: string, scope: string): Promise<{ readonly actionHash: string; readonly labels: readonly string[] } | null>;
  /** Takes a pending reservation back: the action no longer counts. False when none of that scope is pending. */
  release(id: string, scope: string): Promise<boolean>;
  /** Adds labels to the scope, each once; null, or why none was added (more than `max`). */
  addLabels(scope: string, labels: readonly string[], max: number): Promise<string | null>;
  /** Forgets everything kept under the scope. */
  forget(scope: string): Promise<void>;
  close(): Promise<void>;
  /**
   * The grants approvers gave, shared as the history is (grants.ts: the same meaning as in
   * memory, an amount taken atomically); a store without them cannot enforce a policy that
   * offers grants, and the enforcer refuses such a policy.
   */
  readonly grants?: GrantStore;
}

export function isSharedStore(store: unknown): store is SharedHistoryStore {
  return typeof store === "object" && store !== null && Object.hasOwn(store, "shared") && (store as { shared: unknown }).shared === true;
}
