/**
 * The approval queue over HTTP: `approvalRoutes` for `armor mcp --approvals queue|web` (served on
 * loopback by `serveApprovals`) and `armor serve --approvers`:
 *
 *   GET  /approvals        { pending: PendingApproval[] }
 *   GET  /approvals/:id    one pending request, or 404
 *   POST /approvals/:id    { approved: boolean, approver?: string, note?: string, grant?: boolean, actionHash?: string, valueHash?: string }
 *                          → 200 { id, resolved: true, approved } | 202 { id, resolved: false, votes, quorum }
 *                            (an approval counted, the quorum not yet reached) | 404 (unknown or settled)
 *                            | 409 (hash differs, or this approver already approved)
 *                            | 503 `store_unavailable` (the shared store did not take the vote: send it again)
 *
 * Each POST is one vote: with `quorum N` the request waits for N distinct approvers (the same
 * approver twice counts once: 409 `already_voted`), and the first rejection rejects. `grant: true`
 * is "approve and grant": the grant the rule offers (a pending request shows it as `grant`, or
 * null), never a scope of the request's choosing; it is made when every approver asked for it.
 *
 * A pending tool result (`stage: "result"`) carries the result as it would be returned (`value`)
 * and its hash (`valueHash`), which an answer can name as it names `actionHash` for a call.
 *
 * It binds to 127.0.0.1 only. Requests are screened as the decision service's are
 * (http-access.ts): `Host` must name the endpoint, browser origins are refused unless allowed, and
 * POST bodies are `application/json` only. Who may answer:
 *
 * - with `approvers` (approvers.ts), each request carries an approver's own bearer token, or the
 *   approval console's session cookie (approval-console.ts; changes also need the console's own
 *   origin and its CSRF token); an approver sees and answers only the requests whose rule asks
 *   its groups (or no group), and the approver recorded is the one the token names (a body's
 *   `approver` is refused: 400); the service's own token (`serviceToken`) never approves;
 * - otherwise, anyone who can call it (with the shared bearer token, when one is configured).
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApprovalQueue, ApprovalResolution, PendingApproval } from "@agent-armor/runtime";
import { consoleRoutes } from "./approval-console.js";
import { createEventStreams, type EventStreamOptions } from "./approval-events.js";
import { createSignIn, type SignIn } from "./approval-sign-in.js";
import { type Approver, type Approvers, tokenDigest } from "./approvers.js";
import { type AccessOptions, createAccess } from "./http-access.js";
import { answerClientError, dispatch, type Route } from "./http-dispatch.js";
import { HttpError, isObject, own, sendJson } from "./http-util.js";
import { logLine } from "./log-text.js";
import { createSignInLimit, type SignInLimitOptions } from "./sign-in-limit.js";

export interface ApprovalEndpoint {
  server: Server;
  url: string;
  /** The approval console's address, when it is served. */
  consoleUrl?: string;
  port: number;
  close(): Promise<void>;
}

export interface ApprovalEndpointOptions {
  port?: number;
  host?: string;
  log?: (line: string) => void;
  /** Allowed hosts and origins, and the bearer token (see http-access.ts); no shared token with `approvers`. */
  access?: AccessOptions;
  /** Who may approve, each with a token of its own (approvers.ts). */
  approvers?: Approvers;
  /** Serve the approval console (`/console`); needs `approvers`, whose tokens sign in. */
  console?: boolean;
  /** Bounds of the console's event streams. */
  streams?: EventStreamOptions;
  /** How long a console sign-in lasts (default 15 minutes). */
  sessionTtlMs?: number;
  /** The bound on failed sign-ins (sign-in-limit.ts; 10 per address and 100 in all per minute). */
  signInLimit?: SignInLimitOptions;
}

const MAX_BODY = 64 * 1024;

/** 403 unless `approver` may answer requests from the pending request's group. */
function checkGroup(approvers: Approvers, approver: Approver, pending: PendingApproval): void {
  if (!approvers.mayAnswer(approver, pending.from)) {
    throw new HttpError(403, "forbidden", `approval ${pending.id} is asked from \`${pending.from}\`, and ${approver.name} is not in that group`);
  }
}

/**
 * Hands a vote to the queue and waits until it is kept: a queue in a shared store (`vote`,
 * `answer`) stores it before this resolves, and a store that fails makes it 503 (nothing was
 * counted; the approver sends it again), never an acknowledged vote that was lost. `taken` is
 * false when the request was settled meanwhile or the vote counted nothing; `votes` the approvals
 * the queue holds after a vote that did not settle it (another replica's included), or null.
 */
async function store(queue: ApprovalQueue, id: string, resolution: ApprovalResolution): Promise<{ taken: boolean; votes: number | null }> {
  if (queue.answer === undefined && queue.vote === undefined) {
    const taken = queue.resolve(id, resolution);
    // in this process the vote is applied before resolve returns: the request as it is now
    return { taken, votes: taken ? (queue.get(id)?.approvers?.length ?? null) : null };
  }
  try {
    if (queue.vote !== undefined) return await queue.vote(id, resolution);
    return { taken: await queue.answer!(id, resolution), votes: null };
  } catch (e) {
    throw new HttpError(
      503,
      "store_unavailable",
      `the answer to approval ${id} was not stored (${e instanceof Error ? e.message : String(e)}): nothing was counted; send it again`,
      {},
      { "retry-after": "1" },
    );
  }
}

async function answer(
  queue: ApprovalQueue,
  id: string,
  body: unknown,
  log: ((line: string) => void) | undefined,
  who: { approvers: Approvers; approver: Approver } | null,
): Promise<{ status: 200; body: { id: string; resolved: true; approved: boolean } } | { status: 202; body: { id: string; resolved: false; votes: number; quorum: number } }> {
  if (!isObject(body) || typeof own(body, "approved") !== "boolean") throw new HttpError(400, "invalid_request", "the body must be an object with a boolean `approved`");
  if (who !== null && own(body, "approver") !== undefined) {
    throw new HttpError(400, "invalid_request", "the approver is the one the bearer token names: leave `approver` out", { location: "/approver" });
  }
  const fields: Record<string, string> = {};
  for (const k of ["approver", "note", "actionHash", "valueHash"] as const) {
    const v = own(body, k);
    if (v !== undefined && typeof v !== "string") throw new HttpError(400, "invalid_request", `\`${k}\` must be a string`, { location: `/${k}` });
    if (typeof v === "string") fields[k] = v;
  }
  const grant = own(body, "grant");
  if (grant !== undefined && typeof grant !== "boolean") throw new HttpError(400, "invalid_request", "`grant` must be true or false", { location: "/grant" });
  const approved = own(body, "approved") as boolean;
  const pending = queue.get(id);
  if (!pending) throw new HttpError(404, "not_found", `no pending approval ${id} (unknown, answered or timed out)`);
  if (who !== null) {
    checkGroup(who.approvers, who.approver, pending);
    fields.approver = who.approver.name;
  }
  if (fields.actionHash !== undefined && fields.actionHash !== pending.actionHash) throw new HttpError(409, "hash_mismatch", "the action changed: `actionHash` is not the pending request's");
  if (fields.valueHash !== undefined && fields.valueHash !== pending.valueHash) throw new HttpError(409, "hash_mismatch", "the result changed: `valueHash` is not the pending request's");
  if (grant === true && pending.grant === null) throw new HttpError(400, "invalid_request", "the rule of this request offers no grant: approve once (`grant: false`)", { location: "/grant" });
  const quorum = pending.quorum ?? 1;
  if (approved && fields.approver !== undefined && (pending.approvers ?? []).includes(fields.approver)) {
    throw new HttpError(409, "already_voted", `${fields.approver} already approved ${id}; it needs ${quorum} distinct approvers`);
  }
  if (approved && fields.approver === undefined && quorum > 1) {
    throw new HttpError(400, "invalid_request", `approval ${id} needs ${quorum} distinct approvers: name the \`approver\``, { location: "/approver" });
  }
  const groups = who === null ? {} : { groups: who.approver.groups };
  const stored = await store(queue, id, { approved, ...fields, ...groups, ...(grant === true ? { grant: true } : {}) });
  if (!stored.taken) throw new HttpError(404, "not_found", `approval ${id} was settled meanwhile`);
  // the count the queue holds after this vote (another replica may have voted since the request was read)
  const votes = stored.votes ?? (pending.approvers ?? []).length + 1;
  if (approved && votes < quorum) {
    log?.(logLine`approval ${id}: vote ${String(votes)} of ${String(quorum)}${fields.approver !== undefined ? ` by ${fields.approver}` : ""}`);
    return { status: 202, body: { id, resolved: false, votes, quorum } };
  }
  log?.(logLine`approval ${id} ${approved ? "approved" : "rejected"}${fields.approver !== undefined ? ` by ${fields.approver}` : ""}`);
  return { status: 200, body: { id, resolved: true, approved } };
}

/** The approver routes by path and method, as `approvalRoutes` serves them (the console's when it is on). */
export const APPROVER_ROUTES: Readonly<Record<string, readonly string[]>> = {
  "/approvals": ["GET"],
  "/approvals/{id}": ["GET", "POST"],
  "/console": ["GET"],
  "/console/session": ["POST", "DELETE"],
  "/console/events": ["GET"],
};

export interface ApprovalRoutesOptions {
  approvers?: Approvers;
  /** Serve the console; needs `approvers`. */
  console?: boolean;
  /** Mark the console's cookie `Secure` (an endpoint that is not on loopback). */
  secureCookies: boolean;
  /** The service's own bearer token (`armor serve --token-file`): refused wherever an approver's is taken. */
  serviceToken?: string;
  log?: (line: string) => void;
  streams?: EventStreamOptions;
  sessionTtlMs?: number;
  /** The bound on failed sign-ins, by the console and by bearer token (sign-in-limit.ts). */
  signInLimit?: SignInLimitOptions;
}

export interface ApprovalRoutes {
  /** The route at a path, or undefined. */
  find(path: string): Route | undefined;
  /** Ends the console's event streams. */
  close(): void;
}

const BEARER = /^bearer +(\S+) *$/i;
/** How long an event stream opened with a bearer token (no console session) lasts. */
const DEFAULT_STREAM_TTL_MS = 15 * 60_000;

/** The address a request comes from, which failed sign-ins are counted by. */
function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? "unknown";
}

/** Whether the loopback address `host` keeps a cookie off the network (no `Secure` needed). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The approval queue's routes, for `armor mcp --approvals queue|web` and `armor serve`. With
 * `approvers`, every route but the console page authenticates its caller itself (an approver's
 * bearer token, or the console's session cookie with a same-origin CSRF check for changes), so
 * the routes are `open` to the dispatcher's shared-token check.
 */
export function approvalRoutes(queue: ApprovalQueue, options: ApprovalRoutesOptions): ApprovalRoutes {
  const { approvers } = options;
  if (options.console && approvers === undefined) throw new Error("the approval console signs approvers in with their own tokens: give the approvers (--approvers FILE)");
  const service = options.serviceToken === undefined ? null : tokenDigest(options.serviceToken);
  if (service !== null && approvers?.has(service))
    throw new Error("an approver's token is the service's own token (--token-file): the agent's credentials can never approve; give that approver another token");
  const streams = options.console ? createEventStreams(queue, options.streams) : null;
  // a session that ends (signed out, pushed out, expired) ends the event streams it opened
  const signIn: SignIn | null =
    streams === null ? null : createSignIn({ secure: options.secureCookies, ...(options.sessionTtlMs !== undefined ? { ttlMs: options.sessionTtlMs } : {}), onEnd: (s) => streams.endSession(s.id) });
  const open = approvers !== undefined;
  const limit = createSignInLimit(options.signInLimit);

  const refuseServiceToken = (token: string): void => {
    if (service !== null && timingSafeEqual(tokenDigest(token), service)) {
      throw new HttpError(403, "service_token", "this is the service's own token (--token-file), the agent's credential: it can never approve; use an approver's own token");
    }
  };
  /** The approver calling, or null when there are no approvers (the shared token, if any, was checked). */
  const caller = (req: IncomingMessage, change: boolean): Approver | null => {
    if (approvers === undefined) return null;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = BEARER.exec(header);
      if (m !== null) refuseServiceToken(m[1]!);
      // a token that is no approver's is a failed sign-in: bounded per address and in all
      const client = clientAddress(req);
      limit.check(client);
      try {
        return approvers.identify(req);
      } catch (e) {
        if (e instanceof HttpError && e.status === 401) limit.fail(client);
        throw e;
      }
    }
    const session = signIn?.find(req) ?? null;
    if (session === null) {
      throw new HttpError(
        401,
        "unauthorized",
        signIn ? "sign in on the console (/console) or send `Authorization: Bearer TOKEN`, the approver's own token" : "approvals need `Authorization: Bearer TOKEN`, the approver's own token",
        {},
        { "www-authenticate": 'Bearer realm="agent-armor approvals"' },
      );
    }
    if (change) signIn!.checkStateChange(req, session);
    return session.approver;
  };
  const visibleTo = (a: Approver | null) => (p: PendingApproval) => a === null || approvers!.mayAnswer(a, p.from);

  const routes: Record<string, Route> = {
    "/approvals": {
      open,
      methods: {
        GET: async (req, res) => sendJson(res, 200, { pending: queue.pending().filter(visibleTo(caller(req, false))) }),
      },
    },
  };
  const one = (id: string): Route => ({
    open,
    methods: {
      GET: async (req, res) => {
        const a = caller(req, false);
        const p = queue.get(id);
        if (!p) throw new HttpError(404, "not_found", `no pending approval ${id}`);
        if (a !== null) checkGroup(approvers!, a, p);
        sendJson(res, 200, p);
      },
      POST: async (req, res, body) => {
        const a = caller(req, true);
        const r = await answer(queue, id, await body(), options.log, a === null ? null : { approvers: approvers!, approver: a });
        sendJson(res, r.status, r.body);
      },
    },
  });
  if (signIn !== null && streams !== null) {
    Object.assign(
      routes,
      consoleRoutes({
        approvers: approvers!,
        signIn,
        streams,
        caller: (req) => caller(req, false)!,
        refuseServiceToken,
        visibleTo,
        limit,
        clientAddress,
        streamTtlMs: options.sessionTtlMs ?? DEFAULT_STREAM_TTL_MS,
        ...(options.log !== undefined ? { log: options.log } : {}),
      }),
    );
  }
  return {
    find(path) {
      if (Object.hasOwn(routes, path)) return routes[path];
      const parts = path.split("/").filter(Boolean);
      if (parts[0] !== "approvals" || parts.length !== 2) return undefined;
      let id: string;
      try {
        id = decodeURIComponent(parts[1]!);
      } catch {
        throw new HttpError(400, "invalid_request", "the approval id in the path is not valid percent-encoding");
      }
      return one(id);
    },
    close: () => streams?.close(),
  };
}

export async function serveApprovals(queue: ApprovalQueue, options: ApprovalEndpointOptions = {}): Promise<ApprovalEndpoint> {
  const host = options.host ?? "127.0.0.1";
  const approvers = options.approvers;
  if (approvers !== undefined && options.access?.token !== undefined) {
    throw new Error("approvers authenticate with tokens of their own: the approval endpoint takes no shared token beside them");
  }
  const routes = approvalRoutes(queue, {
    ...(approvers !== undefined ? { approvers } : {}),
    console: options.console === true,
    secureCookies: !isLoopbackHost(host),
    ...(options.log !== undefined ? { log: options.log } : {}),
    ...(options.streams !== undefined ? { streams: options.streams } : {}),
    ...(options.sessionTtlMs !== undefined ? { sessionTtlMs: options.sessionTtlMs } : {}),
    ...(options.signInLimit !== undefined ? { signInLimit: options.signInLimit } : {}),
  });
  const paths = options.console ? "/approvals, /approvals/:id, /console" : "/approvals and /approvals/:id";
  let access = createAccess(options.access ?? {}, { host, port: options.port ?? 0 });
  const server = createServer((req, res) => {
    void dispatch(req, res, { access, find: routes.find, notFound: (path) => `no route ${path}; the routes are ${paths}`, maxBody: MAX_BODY, log: options.log ?? (() => undefined) });
  });
  server.on("clientError", answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  access = createAccess(options.access ?? {}, { host, port });
  const base = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    server,
    port,
    url: `${base}/approvals`,
    ...(options.console ? { consoleUrl: `${base}/console` } : {}),
    close: () =>
      new Promise<void>((resolve) => {
        routes.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What a policy's approval asks need of approvers: the groups (`from`) and the largest quorum. */
export interface ApprovalAsks {
  readonly groups: readonly string[];
  readonly quorum: number;
}

/**
 * The groups and quorums a policy's `require approval` rules (and its default) ask for, read from
 * its `.armor` source; null for a compiled module or a file that cannot be read or compiled (the
 * policy's own loading reports that).
 */
export async function approvalAsksOf(policy: string): Promise<ApprovalAsks | null> {
  if (!policy.endsWith(".armor")) return null;
  try {
    const [{ readFile }, { compileSource }] = await Promise.all([import("node:fs/promises"), import("@agent-armor/compiler")]);
    const ir = compileSource(policy, await readFile(policy, "utf8")).policy;
    const asks: { from: string | null; quorum?: number }[] = ir.defaultApproval !== null ? [ir.defaultApproval] : [];
    for (const r of ir.rules) if (r.effect.kind === "require_approval") asks.push(r.effect);
    return { groups: [...new Set(asks.map((a) => a.from).filter((f): f is string => f !== null))], quorum: Math.max(1, ...asks.map((a) => a.quorum ?? 1)) };
  } catch {
    return null;
  }
}

/**
 * The warning for a gateway that takes approvals without approvers (`--approvers FILE`) while
 * its policy asks a group or a quorum above 1: nobody's group is known then, and one caller can
 * give any approver's name, so neither can be enforced. Null when there is nothing to warn of.
 */
export function unenforcedApprovalsWarning(asks: ApprovalAsks | null): string | null {
  if (asks === null || (asks.groups.length === 0 && asks.quorum <= 1)) return null;
  const what = [...(asks.groups.length > 0 ? [`approval from ${asks.groups.map((g) => `"${g}"`).join(", ")}`] : []), ...(asks.quorum > 1 ? [`a quorum of ${asks.quorum}`] : [])].join(" and ");
  return `warning: the policy asks for ${what}, but no approvers are configured (--approvers FILE): approvers' groups and distinct names cannot be checked, so neither can be enforced`;
}
