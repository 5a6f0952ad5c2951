/**
 * Sign-in for the approval console: an approver's token (approvers.ts), given once on the page,
 * is exchanged for a session cookie, so that the token is not kept by the page and the event
 * stream (which cannot carry an `Authorization` header) is authenticated.
 *
 * - The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page
 *   sends it), `Path=/`, `Secure` unless the endpoint is on loopback, and lives `ttlMs` (15 min).
 * - Each session has a CSRF token, returned once in the sign-in answer and kept in the page's
 *   memory; every state-changing request with the cookie must echo it in `X-CSRF-Token` and come
 *   from the endpoint's own origin (`Origin`, and `Sec-Fetch-Site` when the browser sends it).
 * - Sessions are kept by the SHA-256 of the cookie's value, at most `maxSessions` (the oldest
 *   goes first); CSRF tokens are compared in constant time.
 * - A session that ends (signed out, pushed out, expired) is told to `onEnd`, which ends the
 *   event streams it opened: no stream outlives the sign-in that opened it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Approver } from "./approvers.js";
import { HttpError } from "./http-util.js";

export const SESSION_COOKIE = "armor_console";
export const CSRF_HEADER = "x-csrf-token";
const DEFAULT_TTL_MS = 15 * 60_000;
const DEFAULT_MAX_SESSIONS = 256;

export interface ConsoleSession {
  /** The session's key: the SHA-256 of its cookie's value (never the value itself). */
  readonly id: string;
  readonly approver: Approver;
  readonly csrf: string;
  /** Epoch milliseconds after which the cookie is refused. */
  readonly expiresAt: number;
}

export interface SignIn {
  /** A new session for `approver`: its cookie header and the session (with its CSRF token). */
  open(approver: Approver): { setCookie: string; session: ConsoleSession };
  /** The live session the request's cookie names, or null (no cookie, unknown, expired). */
  find(req: IncomingMessage): ConsoleSession | null;
  /** Ends the request's session; the header that clears the cookie. */
  close(req: IncomingMessage): string;
  /** 403 unless the request comes from the endpoint's own page and echoes the session's CSRF token. */
  checkStateChange(req: IncomingMessage, session: ConsoleSession): void;
}

export interface SignInOptions {
  /** Set the cookie's `Secure` attribute (any endpoint not bound to loopback). */
  secure: boolean;
  ttlMs?: number;
  maxSessions?: number;
  now?: () => number;
  /** Called when a session ends before its cookie would: signed out, or pushed out by `maxSessions` (what it opened ends with it). */
  onEnd?: (session: ConsoleSession) => void;
}

const digest = (text: string): string => createHash("sha256").update(text, "utf8").digest("base64url");

/** The value of one cookie in a `Cookie` header, or null. */
function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Whether the request's `Origin` is the endpoint's own (the scheme aside, the host the request names). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (origin === undefined || host === undefined) return false;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  return (o.protocol === "http:" || o.protocol === "https:") && o.host === new URL(`${o.protocol}//${host}`).host;
}

export function createSignIn(options: SignInOptions): SignIn {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const max = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const now = options.now ?? Date.now;
  // by the digest of the cookie's value, in creation order (the oldest first)
  const sessions = new Map<string, ConsoleSession>();
  const attributes = `Path=/; HttpOnly; SameSite=Strict${options.secure ? "; Secure" : ""}`;

  const end = (key: string): void => {
    const s = sessions.get(key);
    if (s === undefined) return;
    sessions.delete(key);
    options.onEnd?.(s);
  };
  const prune = (): void => {
    const t = now();
    for (const [k, s] of sessions) if (s.expiresAt <= t) end(k);
    while (sessions.size >= max) end(sessions.keys().next().value as string);
  };

  return {
    open(approver) {
      prune();
      const value = randomBytes(32).toString("base64url");
      const id = digest(value);
      const session: ConsoleSession = Object.freeze({ id, approver, csrf: randomBytes(32).toString("base64url"), expiresAt: now() + ttlMs });
      sessions.set(id, session);
      return { setCookie: `${SESSION_COOKIE}=${value}; Max-Age=${Math.floor(ttlMs / 1000)}; ${attributes}`, session };
    },
    find(req) {
      const value = cookieValue(req, SESSION_COOKIE);
      if (value === null) return null;
      const key = digest(value);
      const s = sessions.get(key);
      if (s === undefined) return null;
      if (s.expiresAt <= now()) {
        end(key);
        return null;
      }
      return s;
    },
    close(req) {
      const value = cookieValue(req, SESSION_COOKIE);
      if (value !== null) end(digest(value));
      return `${SESSION_COOKIE}=; Max-Age=0; ${attributes}`;
    },
    checkStateChange(req, session) {
      const site = req.headers["sec-fetch-site"];
      if (!sameOrigin(req) || (site !== undefined && site !== "same-origin")) {
        throw new HttpError(403, "cross_origin", "a signed-in approver's changes are taken only from the console's own page (same Origin); this request comes from another origin", {
          hint: "open the console at this address and act there, or send the approver's token in Authorization instead of the cookie",
        });
      }
      const given = req.headers[CSRF_HEADER];
      // digests of equal length: the comparison takes the same time whatever was sent
      const ok = typeof given === "string" && timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(session.csrf).digest());
      if (!ok) throw new HttpError(403, "csrf", `the request lacks the session's CSRF token in ${CSRF_HEADER}; sign in again on the console`);
    },
  };
}
