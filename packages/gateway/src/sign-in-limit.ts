/**
 * A bound on failed sign-ins: an approver's token that is no approver's, given to the console's
 * sign-in (`POST /console/session`) or as a bearer token to the approval routes. Past
 * `perClient` failures from one client address, or `overall` failures from all of them, within
 * `windowMs`, every sign-in of that address (or of everyone) is refused with 429 and a
 * `Retry-After` until the window ends, a right token too: otherwise guessing would go on, and a
 * right guess still get in.
 *
 * Fixed windows, counted per address in a map that holds only the addresses that failed in the
 * current window (at most `overall` of them, since each counts toward it) plus the stale ones,
 * swept when it outgrows that. Written here rather than taken from a library: the rate limiters
 * on npm are middleware for a framework this server does not use, or stores for limits of many
 * kinds; this is two counters.
 */
import { HttpError } from "./http-util.js";

export interface SignInLimitOptions {
  /** Failed sign-ins one client address may make in a window (default 10). */
  perClient?: number;
  /** Failed sign-ins all clients together may make in a window (default 100). */
  overall?: number;
  /** The window in milliseconds (default one minute). */
  windowMs?: number;
  now?: () => number;
}

export interface SignInLimit {
  /** 429 with `Retry-After` when `client`, or everyone, failed too often in the current window. */
  check(client: string): void;
  /** Counts a failed sign-in of `client`. */
  fail(client: string): void;
}

export const DEFAULT_SIGN_IN_LIMIT = { perClient: 10, overall: 100, windowMs: 60_000 } as const;

interface Window {
  start: number;
  failures: number;
}

export function createSignInLimit(options: SignInLimitOptions = {}): SignInLimit {
  const perClient = options.perClient ?? DEFAULT_SIGN_IN_LIMIT.perClient;
  const overall = options.overall ?? DEFAULT_SIGN_IN_LIMIT.overall;
  const windowMs = options.windowMs ?? DEFAULT_SIGN_IN_LIMIT.windowMs;
  const now = options.now ?? Date.now;
  const clients = new Map<string, Window>();
  const all: Window = { start: 0, failures: 0 };

  /** The window of `w` at `t`: started afresh once the last one ended. */
  const current = (w: Window, t: number): Window => {
    if (t - w.start >= windowMs) {
      w.start = t;
      w.failures = 0;
    }
    return w;
  };
  const refuse = (w: Window, t: number, who: string): never => {
    const seconds = Math.max(1, Math.ceil((w.start + windowMs - t) / 1000));
    throw new HttpError(
      429,
      "too_many_sign_ins",
      `too many failed sign-ins ${who}: sign-ins are refused for ${seconds} s`,
      { hint: "check the approver's token; every failed sign-in counts" },
      { "retry-after": String(seconds) },
    );
  };
  const sweep = (t: number): void => {
    if (clients.size <= overall) return;
    for (const [k, w] of clients) if (t - w.start >= windowMs) clients.delete(k);
  };

  return {
    check(client) {
      const t = now();
      if (current(all, t).failures >= overall) refuse(all, t, "from all clients");
      const w = clients.get(client);
      if (w !== undefined && current(w, t).failures >= perClient) refuse(w, t, "from this address");
    },
    fail(client) {
      const t = now();
      current(all, t).failures++;
      const w = clients.get(client) ?? { start: t, failures: 0 };
      current(w, t).failures++;
      clients.set(client, w);
      sweep(t);
    },
  };
}
