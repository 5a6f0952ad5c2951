/**
 * Grants (`require approval ... grant SCOPE D [up to N of action.F]`): what an approver granted
 * besides approving once, kept in the history store. A grant is keyed by its rule, its scope and
 * the scope's value (the session id, or the field's value), and ends at `expiresAt`; with `up to`,
 * it holds the amount left as exact partials (exact-sum.ts), so that uses add up without
 * rounding, and a use is taken back exactly when its action is denied or fails.
 *
 * Each grant keeps a digest of the offer it was made under (`offerDigest`: the rule's grant clause,
 * its `from` group and quorum): a grant is found only while the rule still offers the same, so a
 * policy reload that changes the rule's offer (another group, a quorum, a smaller cap, a shorter
 * duration) ends the grants made under the old one.
 *
 * The store is bounded: at most `MAX_GRANTS_PER_SCOPE` live grants per (rule, scope, value), the
 * oldest giving way to a new one, and `MAX_GRANTS` in all, the soonest to expire giving way.
 */
import { addPartial, partialsValue } from "./exact-sum.js";
import { sha256 } from "./sha256.js";
import type { GrantInput, GrantOffer } from "./types.js";

export const MAX_GRANTS_PER_SCOPE = 16;
export const MAX_GRANTS = 10_000;
/** The most approval-requiring decisions a store keeps on record for `Enforcer.grant` (the soonest to lapse giving way). */
export const MAX_ISSUED = 10_000;
/** The share of `MAX_ISSUED` one session's issued decisions may take. */
export const MAX_ISSUED_PER_SESSION = 1_000;

/**
 * A `require_approval` decision whose rule offers a grant, as the enforcer issued it (`decide`):
 * what `Enforcer.grant` makes the grant from, never the decision object a caller hands back.
 */
export interface IssuedApproval {
  readonly session: string;
  readonly offer: GrantOffer;
  /** `offerDigest` of the offer with the rule's group and quorum when it was decided. */
  readonly digest: string;
  /** The scope's value before redaction: the session id, or the field's value the decision read. */
  readonly value: string | number | boolean;
  /** A redaction rewrote the scope's field in the decided action: the value is never shown (records say `[REDACTED]`). */
  readonly redacted: boolean;
}

/** A grant as the store keeps it. */
export interface Grant {
  readonly id: string;
  readonly rule: string;
  readonly scope: string;
  readonly value: string | number | boolean;
  readonly expiresAt: number;
  readonly upTo: number | null;
  /** The digest of the offer it was made under (`offerDigest`); null when made without one. */
  readonly offer: string | null;
  /** With `up to`: the exact amount left, as partials; empty otherwise. */
  readonly left: number[];
  /** The amounts taken by the actions that use it, by decision id, until given back. */
  readonly uses: Map<string, number>;
  /**
   * The uses held for a reservation (`decide` with `reserve`), by decision id: until when. One
   * neither settled nor given back by then stays taken (its action may have run), as `find`
   * reports (`lapsed`): only an explicit release gives a held amount back.
   */
  readonly holds: Map<string, number>;
}

/** Who holds a use of a grant: the reserving decision's session and action hash (its records name them). */
export interface GrantHolder {
  readonly session: string;
  readonly actionHash: string;
}

/**
 * A reservation's use of a grant that was neither settled nor given back in time: it stays taken
 * (the action may have run), and is no longer held. `session` and `actionHash` name the
 * reservation that held it (absent when the store did not keep them).
 */
export interface LapsedUse {
  readonly grantId: string;
  readonly decisionId: string;
  readonly session?: string;
  readonly actionHash?: string;
}

/** What a use of a grant took, to give it back. */
export interface GrantUseResult {
  readonly grant: Grant;
  /** The amount taken (null without `up to`). */
  readonly amount: number | null;
  /** The amount left after it (rounded down; null without `up to`). */
  readonly remaining: number | null;
}

/** A result now, or (a store shared by processes: `@agent-armor/store-redis`) later. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Where grants are kept: this process (`memoryGrantStore`, synchronous) or a store shared by
 * processes, whose calls may be asynchronous and may fail (the enforcer then asks the approver,
 * as if there were no grant). A shared store takes an amount atomically: two processes using
 * the last of a grant at once cannot both get it.
 */
export interface GrantStore {
  /**
   * Creates a grant; `id` is unique (the approving decision's id makes it so). Once only: null
   * when a grant of that id is kept already (granting the same decision again makes nothing, and
   * never gives the grant its whole amount again).
   */
  create(id: string, offer: GrantOffer, value: string | number | boolean, now: number, digest?: string): Awaitable<Grant | null>;
  /**
   * The live grants of a scope, as `decide` reads them, the ones found expired, and (given the
   * digest of the rule's current offer) the ones made under another offer (`stale`); the expired
   * and the stale are dropped.
   */
  find(rule: string, scope: string, value: string | number | boolean, now: number, digest?: string): Awaitable<GrantsFound>;
  /**
   * Takes `amount` (null without `up to`) for `decisionId`; null when the grant is gone, expired, or
   * has less left (exactly). With `holdUntil` (a reservation's use), the use is held until then
   * for `holder`: `settle` keeps it, `giveBack` returns it, and one still held then stays taken
   * (`find` reports it as `lapsed`, once). A shared store measures the hold by its own clock: it is
   * held for `holdUntil - now` from the store's time.
   */
  use(grantId: string, decisionId: string, amount: number | null, now: number, holdUntil?: number, holder?: GrantHolder): Awaitable<GrantUseResult | null>;
  /** The action that took it ran: what it took stays taken; false when `decisionId` holds nothing of it. */
  settle(grantId: string, decisionId: string): Awaitable<boolean | undefined>;
  /** Gives back what `decisionId` took; false when it took nothing. */
  giveBack(grantId: string, decisionId: string): Awaitable<boolean>;
  /** The grant a reservation's use (`use` with `holdUntil`) is held of, while it is; null otherwise. */
  usedBy?(decisionId: string): Awaitable<string | null>;
  /** Whether a grant of this id is kept (made, and not dropped). */
  has?(id: string): Awaitable<boolean>;
  /**
   * Keeps on record an approval-requiring decision the enforcer issued, under its id and action
   * hash, for `ttlMs` (at most `MAX_ISSUED`, each session at most `MAX_ISSUED_PER_SESSION`: a session
   * over its share, or at the bound, gives up its own soonest to lapse, never another's; with none
   * of its own the call fails). A store shared by
   * processes shares it, so that any of them can grant a decision another one issued.
   */
  issue?(decisionId: string, actionHash: string, issued: IssuedApproval, now: number, ttlMs: number): Awaitable<void>;
  /**
   * Takes the decision issued under this id and action hash, while kept, in one atomic step: it is
   * kept no longer, so that one issued decision makes at most one grant (at any process sharing the
   * store, and after that grant expired). Null when none is kept.
   */
  take?(decisionId: string, actionHash: string, now: number): Awaitable<IssuedApproval | null>;
}

/** What `find` answers: the live grants as `decide` reads them, and the ones it dropped. */
export interface GrantsFound {
  live: GrantInput[];
  expired: Grant[];
  stale: Grant[];
  /** Reservations' uses of these grants past their time, kept taken and no longer held (each reported once). */
  lapsed?: LapsedUse[];
}

/** The grant store of this process: every call answers at once. */
export interface MemoryGrantStore extends GrantStore {
  create(id: string, offer: GrantOffer, value: string | number | boolean, now: number, digest?: string): Grant | null;
  find(rule: string, scope: string, value: string | number | boolean, now: number, digest?: string): GrantsFound;
  use(grantId: string, decisionId: string, amount: number | null, now: number, holdUntil?: number, holder?: GrantHolder): GrantUseResult | null;
  settle(grantId: string, decisionId: string): boolean;
  giveBack(grantId: string, decisionId: string): boolean;
  usedBy(decisionId: string): string | null;
  has(id: string): boolean;
  issue(decisionId: string, actionHash: string, issued: IssuedApproval, now: number, ttlMs: number): void;
  take(decisionId: string, actionHash: string, now: number): IssuedApproval | null;
}

/**
 * The issued decisions of this process, by decision id and action hash, each until its time or until
 * taken (`memoryGrantStore` keeps them so). Each session has a share (`perSession`) of the bound
 * (`max`): a session past its share, or one that finds the bound reached, gives up its own soonest
 * to lapse; one with none of its own is refused. One session never pushes out another's.
 */
export function memoryIssued(max = MAX_ISSUED, perSession = Math.min(max, MAX_ISSUED_PER_SESSION)): Pick<MemoryGrantStore, "issue" | "take"> {
  const kept = new Map<string, { issued: IssuedApproval; until: number }>();
  const bySession = new Map<string, Set<string>>();
  const keyOf = (decisionId: string, actionHash: string): string => JSON.stringify([decisionId, actionHash]);
  const drop = (key: string): void => {
    const x = kept.get(key);
    if (x === undefined) return;
    kept.delete(key);
    const mine = bySession.get(x.issued.session);
    mine?.delete(key);
    if (mine?.size === 0) bySession.delete(x.issued.session);
  };
  return {
    issue(decisionId, actionHash, issued, now, ttlMs) {
      const key = keyOf(decisionId, actionHash);
      drop(key);
      if (kept.size >= max || (bySession.get(issued.session)?.size ?? 0) >= perSession) for (const [k, x] of kept) if (x.until <= now) drop(k);
      const mine = bySession.get(issued.session) ?? new Set<string>();
      // past its share, or the bound reached: the session's own soonest to lapse gives way
      while (mine.size >= perSession || kept.size >= max) {
        let first: [string, number] | null = null;
        for (const k of mine) {
          const until = kept.get(k)!.until;
          if (first === null || until < first[1]) first = [k, until];
        }
        if (first === null) throw new Error(`${max} issued decisions are kept, the most this store keeps, and none of them is session ${issued.session}'s: this decision's approval grants nothing`);
        drop(first[0]);
      }
      kept.set(key, { issued, until: now + ttlMs });
      bySession.set(issued.session, mine.add(key));
    },
    take(decisionId, actionHash, now) {
      if (typeof decisionId !== "string" || typeof actionHash !== "string") return null;
      const key = keyOf(decisionId, actionHash);
      const x = kept.get(key);
      // taken once: a grant is made of it at most once, whatever happens to that grant later
      drop(key);
      return x === undefined || x.until <= now ? null : x.issued;
    },
  };
}

/** A value a grant may be scoped to: the session id, or a field's string, finite number or boolean. */
export function grantValue(v: unknown): string | number | boolean | null {
  return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)) ? v : null;
}

/** The digest of what a rule offers: its grant clause, its `from` group and its quorum. */
export function offerDigest(offer: GrantOffer, from: string | null, quorum: number): string {
  const clause = [offer.rule, offer.scope, offer.durationMs, offer.upTo, offer.of, from, quorum];
  return sha256(JSON.stringify(clause));
}

/** The key grants of one rule, scope and value are kept under (a string, a number and a boolean of the same text differ). */
export const grantKey = (rule: string, scope: string, value: string | number | boolean): string => JSON.stringify([rule, scope, typeof value, value]);
const keyOf = grantKey;

/** The largest double at most the exact value of `partials` (so that `amount <= it` says exactly whether `amount` fits). */
export function roundedDown(partials: readonly number[]): number {
  const r = partialsValue(partials);
  const check = [...partials];
  addPartial(check, -r);
  return partialsValue(check) < 0 ? nextDown(r) : r;
}

function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits - 1n : bits + 1n);
  return view.getFloat64(0);
}

/** The in-memory grant store (what `memoryHistoryStore()` keeps). */
/** A grant made now under `offer`, with all of its amount left and no use yet; every store makes them so. */
export function newGrant(id: string, offer: GrantOffer, value: string | number | boolean, now: number, digest?: string): Grant {
  return {
    id,
    rule: offer.rule,
    scope: offer.scope,
    value,
    expiresAt: now + offer.durationMs,
    upTo: offer.upTo,
    offer: digest ?? null,
    left: offer.upTo === null ? [] : [offer.upTo],
    uses: new Map(),
    holds: new Map(),
  };
}

export function memoryGrantStore(): MemoryGrantStore {
  const issued = memoryIssued();
  const byId = new Map<string, Grant>();
  const byKey = new Map<string, Grant[]>();
  // the grant each held use is of, by decision id (`usedBy`), and who holds it
  const heldBy = new Map<string, string>();
  const holders = new Map<string, GrantHolder>();
  const drop = (g: Grant): void => {
    byId.delete(g.id);
    for (const d of g.holds.keys()) {
      heldBy.delete(d);
      holders.delete(d);
    }
    const key = keyOf(g.rule, g.scope, g.value);
    const list = byKey.get(key)?.filter((x) => x !== g) ?? [];
    if (list.length === 0) byKey.delete(key);
    else byKey.set(key, list);
  };
  const live = (g: Grant, now: number): boolean => now < g.expiresAt;
  /** Gives back what `decisionId` took of `g`; false when it took nothing. */
  const giveBack = (g: Grant, decisionId: string): boolean => {
    const amount = g.uses.get(decisionId);
    if (amount === undefined) return false;
    g.uses.delete(decisionId);
    unhold(g, decisionId);
    if (g.upTo !== null) addPartial(g.left, amount);
    return true;
  };
  const unhold = (g: Grant, decisionId: string): void => {
    g.holds.delete(decisionId);
    heldBy.delete(decisionId);
    holders.delete(decisionId);
  };
  /** Settles the held uses of `g` past their time: what they took stays taken (their actions may have run). */
  const lapse = (g: Grant, now: number, out: LapsedUse[]): void => {
    for (const [decisionId, until] of g.holds) {
      if (until > now) continue;
      const holder = holders.get(decisionId);
      unhold(g, decisionId);
      g.uses.delete(decisionId);
      out.push({ grantId: g.id, decisionId, ...(holder !== undefined ? { session: holder.session, actionHash: holder.actionHash } : {}) });
    }
  };
  return {
    create(id, offer, value, now, digest) {
      if (byId.has(id)) return null;
      const key = keyOf(offer.rule, offer.scope, value);
      for (const x of byKey.get(key) ?? []) if (!live(x, now)) drop(x);
      while ((byKey.get(key)?.length ?? 0) >= MAX_GRANTS_PER_SCOPE) drop(byKey.get(key)![0]!);
      if (byId.size >= MAX_GRANTS) {
        let first: Grant | undefined;
        for (const x of byId.values()) if (first === undefined || x.expiresAt < first.expiresAt) first = x;
        drop(first!);
      }
      const g = newGrant(id, offer, value, now, digest);
      byKey.set(key, [...(byKey.get(key) ?? []), g]);
      byId.set(id, g);
      return g;
    },
    find(rule, scope, value, now, digest) {
      const out: GrantInput[] = [];
      const expired: Grant[] = [];
      const stale: Grant[] = [];
      const lapsed: LapsedUse[] = [];
      for (const g of byKey.get(keyOf(rule, scope, value)) ?? []) {
        lapse(g, now, lapsed);
        if (!live(g, now)) {
          expired.push(g);
          continue;
        }
        if (digest !== undefined && g.offer !== digest) {
          stale.push(g);
          continue;
        }
        out.push({ id: g.id, rule: g.rule, scope: g.scope, value: g.value, expiresAt: new Date(g.expiresAt).toISOString(), remaining: g.upTo === null ? null : roundedDown(g.left) });
      }
      for (const g of [...expired, ...stale]) drop(g);
      return { live: out, expired, stale, lapsed };
    },
    use(grantId, decisionId, amount, now, holdUntil, holder) {
      const g = byId.get(grantId);
      if (g === undefined || !live(g, now) || g.uses.has(decisionId)) return null;
      const hold = (): void => {
        if (holdUntil === undefined) return;
        g.holds.set(decisionId, holdUntil);
        heldBy.set(decisionId, g.id);
        if (holder !== undefined) holders.set(decisionId, { session: holder.session, actionHash: holder.actionHash });
      };
      if (g.upTo === null) {
        g.uses.set(decisionId, 0);
        hold();
        return { grant: g, amount: null, remaining: null };
      }
      if (amount === null || !Number.isFinite(amount) || amount < 0) return null;
      const after = [...g.left];
      addPartial(after, -amount);
      if (partialsValue(after) < 0) return null;
      g.left.length = 0;
      g.left.push(...after);
      g.uses.set(decisionId, amount);
      hold();
      return { grant: g, amount, remaining: roundedDown(g.left) };
    },
    settle(grantId, decisionId) {
      const g = byId.get(grantId);
      heldBy.delete(decisionId);
      holders.delete(decisionId);
      g?.holds.delete(decisionId);
      return g?.uses.delete(decisionId) ?? false;
    },
    giveBack(grantId, decisionId) {
      const g = byId.get(grantId);
      return g !== undefined && giveBack(g, decisionId);
    },
    usedBy(decisionId) {
      return heldBy.get(decisionId) ?? null;
    },
    has(id) {
      return byId.has(id);
    },
    issue: issued.issue,
    take: issued.take,
  };
}
