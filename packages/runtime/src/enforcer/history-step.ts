/**
 * Recording allowed actions into the session history: counting one at once (synchronously,
 * before anything awaits, so concurrent decisions in the session see it), and the reservations
 * `decide(..., { reserve: true })` keeps until `record` settles them, `release` takes them back,
 * or they expire (an expired or retired reservation stays counted: fail closed).
 */
import type { Reservation, Who } from "../history.js";
import type { EnforcerState } from "./state.js";

/**
 * Counts an allowed action in its session's history (with the shadow policy's trackers too), with
 * the labels of its entry and the user and context it was decided with (`who`, what scoped
 * predicates file it by); `relabelled`: its result will be decided, and may add labels to the
 * entry until the reservation is settled.
 */
export function count(st: EnforcerState, session: string, action: unknown, now: number, who: Who, labels?: readonly string[], relabelled = false): Reservation | null {
  const active = st.active;
  const shadow = st.shadow;
  if (active.module.trackers.length === 0 && (shadow === null || shadow.module.trackers.length === 0)) return null;
  return st.trackers.record(session, action, now, shadow ? [active.module.trackers, shadow.module.trackers] : [active.module.trackers], labels, relabelled, who);
}

/**
 * Adds the labels of a final decision to its session; a decision that would take the session
 * past its limit of labels becomes a deny that says so (a label is never dropped).
 */
export function addLabels<D extends { decision: string; labels?: string[]; errors: { rule: string | null; message: string }[]; session: string }>(st: EnforcerState, d: D): D {
  const problem = st.trackers.addLabels(d.session, d.labels);
  if (problem === null) return d;
  return { ...d, decision: "deny", errors: [...d.errors, { rule: null, message: `the decision's labels cannot be recorded: ${problem}` }] };
}

/** A reservation made by `decide(..., { reserve: true })`, kept until settled, released or expired. */
export interface Pending {
  session: string;
  actionHash: string;
  reservation: Reservation | null;
  expires: number;
}

/** Pending reservations by decision id, oldest first (they all live equally long), capped. */
export class Reservations {
  private readonly pending = new Map<string, Pending>();

  constructor(
    readonly ttlMs: number,
    private readonly max: number,
  ) {}

  get(id: string): Pending | undefined {
    return this.pending.get(id);
  }

  delete(id: string): void {
    this.pending.delete(id);
  }

  /** Puts a reservation back as it was (a release that could not be audited). */
  restore(id: string, pending: Pending): void {
    this.pending.set(id, pending);
  }

  /** Forgets reservations past their time; they stay counted (fail closed), with the labels they have. */
  expire(now: number): void {
    for (const [id, p] of this.pending) {
      if (p.expires > now) break;
      this.pending.delete(id);
      p.reservation?.settle();
    }
  }

  /** Keeps a reservation; at the cap, the oldest one is retired as if it had expired. */
  keep(id: string, pending: Pending): void {
    this.expire(pending.expires - this.ttlMs);
    while (this.pending.size >= this.max) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.get(oldest)!.reservation?.settle();
      this.pending.delete(oldest);
    }
    this.pending.set(id, pending);
  }
}
