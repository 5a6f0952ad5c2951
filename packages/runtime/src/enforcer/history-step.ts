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

/**
 * Pending reservations by decision id, oldest first (they all live equally long), capped in all
 * (`max`) and per session (`perSession`). Room is claimed before a reservation is counted: a
 * session past its share, or one that finds the cap reached, retires its own oldest reservation
 * (as its expiry would: it stays counted); with none of its own to retire it is refused. One
 * session never pushes out another's.
 */
export class Reservations {
  private readonly pending = new Map<string, Pending>();
  /** Each session's pending reservations, oldest first. */
  private readonly bySession = new Map<string, Set<string>>();
  /** Room claimed by decisions being made, per session, and in all. */
  private readonly claims = new Map<string, number>();
  private claimed = 0;

  constructor(
    readonly ttlMs: number,
    private readonly max: number,
    private readonly perSession: number = max,
  ) {}

  get(id: string): Pending | undefined {
    return this.pending.get(id);
  }

  delete(id: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    const mine = this.bySession.get(p.session);
    mine?.delete(id);
    if (mine?.size === 0) this.bySession.delete(p.session);
  }

  /** Puts a reservation back as it was (a release that could not be audited). */
  restore(id: string, pending: Pending): void {
    this.add(id, pending);
  }

  /** Forgets reservations past their time; they stay counted (fail closed), with the labels they have. */
  expire(now: number): void {
    for (const [id, p] of this.pending) {
      if (p.expires > now) break;
      this.retire(id);
    }
  }

  /**
   * Room for one more reservation of `session`, claimed now (before anything awaits, so that
   * concurrent decisions cannot all pass): null, or why there is none. Past the session's share, or
   * at the cap, the session's own oldest reservation is retired as if it had expired; a session
   * with none of its own to retire is refused.
   */
  claim(session: string, now: number): string | null {
    this.expire(now);
    const mine = this.bySession.get(session);
    const own = (mine?.size ?? 0) + (this.claims.get(session) ?? 0);
    if (own >= this.perSession || this.pending.size + this.claimed >= this.max) {
      const oldest = mine?.values().next().value;
      if (oldest === undefined) {
        return own >= this.perSession
          ? `session ${session} is making ${own} reservations at once, the most one session may (maxReservationsPerSession)`
          : `${this.max} reservations are pending, the most this enforcer keeps (maxReservations), and none of them is session ${session}'s: record or release some, or wait for them to expire`;
      }
      this.retire(oldest);
    }
    this.claims.set(session, (this.claims.get(session) ?? 0) + 1);
    this.claimed++;
    return null;
  }

  /** Gives back room claimed for a reservation that was not made. */
  unclaim(session: string): void {
    const n = this.claims.get(session) ?? 0;
    if (n === 0) return;
    if (n === 1) this.claims.delete(session);
    else this.claims.set(session, n - 1);
    this.claimed--;
  }

  /** Keeps a reservation in the room its session claimed. */
  keep(id: string, pending: Pending): void {
    this.unclaim(pending.session);
    this.add(id, pending);
  }

  private add(id: string, pending: Pending): void {
    this.pending.set(id, pending);
    const mine = this.bySession.get(pending.session) ?? new Set<string>();
    this.bySession.set(pending.session, mine);
    mine.add(id);
  }

  /** Retires a reservation as its expiry would: it stays counted and can no longer be released. */
  private retire(id: string): void {
    const p = this.pending.get(id);
    this.delete(id);
    p?.reservation?.settle();
  }
}
