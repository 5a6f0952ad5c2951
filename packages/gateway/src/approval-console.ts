/**
 * The approval console's routes, mounted by `approvalRoutes` (approvals-http.ts) beside the
 * approval queue's:
 *
 *   GET    /console          the page (approval-console-page.ts) under a nonce CSP; no token
 *   POST   /console/session  { token } → a session cookie and its CSRF token (approval-sign-in.ts)
 *   DELETE /console/session  ends it (from the console's own origin, with the CSRF token)
 *   GET    /console/events   the queue as server-sent events (approval-events.ts)
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PendingApproval } from "@agent-armor/runtime";
import { consolePage, consolePolicy } from "./approval-console-page.js";
import type { EventStreams } from "./approval-events.js";
import type { SignIn } from "./approval-sign-in.js";
import type { Approver, Approvers } from "./approvers.js";
import type { Route } from "./http-dispatch.js";
import { HttpError, isObject, own, sendJson } from "./http-util.js";
import { logLine } from "./log-text.js";
import type { SignInLimit } from "./sign-in-limit.js";

const MAX_TOKEN = 4096;

export interface ConsoleDeps {
  approvers: Approvers;
  signIn: SignIn;
  streams: EventStreams;
  /** The approver a request names (bearer token or session cookie); 401 otherwise. */
  caller(req: IncomingMessage): Approver;
  /** 403 when `token` is the service's own. */
  refuseServiceToken(token: string): void;
  /** Which pending requests an approver may see. */
  visibleTo(approver: Approver): (p: PendingApproval) => boolean;
  /** How long a stream opened with a bearer token (no session) lasts. */
  streamTtlMs: number;
  /** The bound on failed sign-ins. */
  limit: SignInLimit;
  /** The address failed sign-ins are counted by. */
  clientAddress(req: IncomingMessage): string;
  log?: (line: string) => void;
}

/** The page, with a new nonce for its script and style, and headers that keep it to itself. */
function sendPage(res: ServerResponse): void {
  const nonce = randomBytes(18).toString("base64");
  const page = consolePage(nonce);
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(page),
    "content-security-policy": consolePolicy(nonce),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  });
  res.end(page);
}

/** The console's routes; each authenticates its caller itself (`open` to a shared-token check). */
export function consoleRoutes(d: ConsoleDeps): Record<string, Route> {
  const signIn: Route = {
    open: true,
    methods: {
      POST: async (req, res, body) => {
        const client = d.clientAddress(req);
        d.limit.check(client);
        const b = await body();
        const token = isObject(b) ? own(b, "token") : undefined;
        if (typeof token !== "string" || token === "" || token.length > MAX_TOKEN) {
          throw new HttpError(400, "invalid_request", 'the body must be { "token": "..." }, the approver\'s own token', { location: "/token" });
        }
        d.refuseServiceToken(token);
        const approver = d.approvers.byToken(token);
        if (approver === null) {
          d.limit.fail(client);
          throw new HttpError(401, "unauthorized", "the token is no approver's");
        }
        const { setCookie, session } = d.signIn.open(approver);
        d.log?.(logLine`console: ${approver.name} signed in`);
        sendJson(res, 200, { approver: { name: approver.name, groups: approver.groups }, csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() }, { "set-cookie": setCookie });
      },
      DELETE: async (req, res) => {
        const session = d.signIn.find(req);
        if (session !== null) d.signIn.checkStateChange(req, session);
        sendJson(res, 200, { signedOut: true }, { "set-cookie": d.signIn.close(req) });
      },
    },
  };
  const events: Route = {
    open: true,
    methods: {
      GET: async (req, res) => {
        const approver = d.caller(req);
        // a stream ends with the session that opened it
        const session = req.headers.authorization === undefined ? d.signIn.find(req) : null;
        if (session === null) d.streams.open(res, approver.name, d.visibleTo(approver), Date.now() + d.streamTtlMs);
        else d.streams.open(res, approver.name, d.visibleTo(approver), session.expiresAt, session.id);
      },
    },
  };
  return {
    "/console": { open: true, methods: { GET: async (_req, res) => sendPage(res) } },
    "/console/session": signIn,
    "/console/events": events,
  };
}
