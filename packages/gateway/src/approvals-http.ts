/**
 * The approval queue over loopback HTTP, for `armor mcp --approvals queue`:
 *
 *   GET  /approvals        { pending: PendingApproval[] }
 *   GET  /approvals/:id    one pending request, or 404
 *   POST /approvals/:id    { approved: boolean, approver?: string, note?: string, grant?: boolean, actionHash?: string, valueHash?: string }
 *                          → 200 { id, resolved: true, approved } | 202 { id, resolved: false, votes, quorum }
 *                            (an approval counted, the quorum not yet reached) | 404 (unknown or settled)
 *                            | 409 (hash differs, or this approver already approved)
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
 * - with `approvers` (approvers.ts), each request carries an approver's own bearer token; an
 *   approver sees and answers only the requests whose rule asks its groups (or no group), and
 *   the approver recorded is the one the token names (a body's `approver` is refused: 400);
 * - otherwise, anyone who can call it (with the shared bearer token, when one is configured).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApprovalQueue, PendingApproval } from "@agent-armor/runtime";
import type { Approver, Approvers } from "./approvers.js";
import { type AccessOptions, createAccess } from "./http-access.js";
import { answerClientError, dispatch, type Route } from "./http-dispatch.js";
import { HttpError, isObject, own, sendJson } from "./http-util.js";
import { logLine } from "./log-text.js";

export interface ApprovalEndpoint {
  server: Server;
  url: string;
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
}

const MAX_BODY = 64 * 1024;

/** 403 unless `approver` may answer requests from the pending request's group. */
function checkGroup(approvers: Approvers, approver: Approver, pending: PendingApproval): void {
  if (!approvers.mayAnswer(approver, pending.from)) {
    throw new HttpError(403, "forbidden", `approval ${pending.id} is asked from \`${pending.from}\`, and ${approver.name} is not in that group`);
  }
}

function answer(
  queue: ApprovalQueue,
  id: string,
  body: unknown,
  log: ((line: string) => void) | undefined,
  who: { approvers: Approvers; approver: Approver } | null,
): { status: 200; body: { id: string; resolved: true; approved: boolean } } | { status: 202; body: { id: string; resolved: false; votes: number; quorum: number } } {
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
  if (!queue.resolve(id, { approved, ...fields, ...groups, ...(grant === true ? { grant: true } : {}) })) throw new HttpError(404, "not_found", `approval ${id} was settled meanwhile`);
  const still = approved ? queue.get(id) : undefined;
  if (still !== undefined) {
    log?.(logLine`approval ${id}: vote ${String(still.approvers.length)} of ${String(quorum)}${fields.approver !== undefined ? ` by ${fields.approver}` : ""}`);
    return { status: 202, body: { id, resolved: false, votes: still.approvers.length, quorum } };
  }
  log?.(logLine`approval ${id} ${approved ? "approved" : "rejected"}${fields.approver !== undefined ? ` by ${fields.approver}` : ""}`);
  return { status: 200, body: { id, resolved: true, approved } };
}

export async function serveApprovals(queue: ApprovalQueue, options: ApprovalEndpointOptions = {}): Promise<ApprovalEndpoint> {
  const host = options.host ?? "127.0.0.1";
  const approvers = options.approvers;
  if (approvers !== undefined && options.access?.token !== undefined) {
    throw new Error("approvers authenticate with tokens of their own: the approval endpoint takes no shared token beside them");
  }
  // the approver a request names (401 otherwise), or null without approvers
  const who = (req: IncomingMessage) => (approvers === undefined ? null : { approvers, approver: approvers.identify(req) });
  const list: Route = {
    methods: {
      GET: async (req, res) => {
        const w = who(req);
        const pending = queue.pending();
        sendJson(res, 200, { pending: w === null ? pending : pending.filter((p) => w.approvers.mayAnswer(w.approver, p.from)) });
      },
    },
  };
  const one = (id: string): Route => ({
    methods: {
      GET: async (req, res) => {
        const w = who(req);
        const p = queue.get(id);
        if (!p) throw new HttpError(404, "not_found", `no pending approval ${id}`);
        if (w !== null) checkGroup(w.approvers, w.approver, p);
        sendJson(res, 200, p);
      },
      POST: async (req, res, body) => {
        const w = who(req);
        const a = answer(queue, id, await body(), options.log, w);
        sendJson(res, a.status, a.body);
      },
    },
  });
  const find = (path: string): Route | undefined => {
    const parts = path.split("/").filter(Boolean);
    if (parts[0] !== "approvals" || parts.length > 2) return undefined;
    if (parts.length === 1) return list;
    let id: string;
    try {
      id = decodeURIComponent(parts[1]!);
    } catch {
      throw new HttpError(400, "invalid_request", "the approval id in the path is not valid percent-encoding");
    }
    return one(id);
  };
  let access = createAccess(options.access ?? {}, { host, port: options.port ?? 0 });
  const server = createServer((req, res) => {
    void dispatch(req, res, { access, find, notFound: (path) => `no route ${path}; the routes are /approvals and /approvals/:id`, maxBody: MAX_BODY, log: options.log ?? (() => undefined) });
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
  return {
    server,
    port,
    url: `http://${host}:${port}/approvals`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
