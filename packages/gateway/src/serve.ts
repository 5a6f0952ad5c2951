/**
 * `armor serve`: the decision service. node:http only; loopback by default.
 *
 *   POST /v1/decide   { action, session?, user?, context? } → the runtime's decision
 *   POST /v1/record   { action, session?, user?, context?, decisionId?, outcome?, error? }
 *                     reports an executed action for the session's history
 *   GET  /healthz     { status: "ok", policy }
 *
 * Errors are `{ error: { code, message, ... } }` with 400 (bad JSON, with its line and column,
 * or a bad request shape), 404 (unknown route), 405 (wrong method, with `Allow`), 413 (body over
 * `maxBody`). SIGTERM and SIGINT stop accepting connections, let requests in flight finish, then
 * close the audit log. `openapi.yaml` documents every route (a test keeps the two in step).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ActionContext, actionHash, type AuditLog, createAuditLog, createEnforcer, type Enforcer, fileSink, loadPolicy, type PolicyModule } from "@agent-armor/runtime";
import { HttpError, isObject, parseJsonBody, readBody, sendError, sendJson } from "./http-util.js";
import { VERSION } from "./version.js";

export interface ServeOptions {
  policy: string;
  port?: number;
  host?: string;
  audit?: string;
  /** Largest request body in bytes (default 1 MiB). */
  maxBody?: number;
  log?: (line: string) => void;
  /** Milliseconds to wait for requests in flight on shutdown before cutting them (default 10 s). */
  shutdownTimeoutMs?: number;
}

export const DEFAULT_MAX_BODY = 1024 * 1024;

type Handler = (req: IncomingMessage, res: ServerResponse, body: () => Promise<unknown>) => Promise<void>;

/** Every route of the service, by path and method (the OpenAPI test reads this). */
export const ROUTES: Readonly<Record<string, readonly string[]>> = {
  "/v1/decide": ["POST"],
  "/v1/record": ["POST"],
  "/healthz": ["GET"],
};

export interface DecisionService {
  server: Server;
  url: string;
  port: number;
  enforcer: Enforcer;
  /** Stops accepting, waits for requests in flight, closes the audit log. Idempotent. */
  close(): Promise<void>;
}

function context(body: Record<string, unknown>): ActionContext {
  const ctx: ActionContext = {};
  if (body["session"] !== undefined) {
    if (typeof body["session"] !== "string" || body["session"] === "") throw new HttpError(400, "invalid_request", "`session` must be a non-empty string", { location: "/session" });
    ctx.session = body["session"];
  }
  for (const k of ["user", "context"] as const) {
    if (body[k] === undefined || body[k] === null) continue;
    if (!isObject(body[k])) throw new HttpError(400, "invalid_request", `\`${k}\` must be an object`, { location: `/${k}` });
    ctx[k] = body[k] as Record<string, unknown>;
  }
  return ctx;
}

function requestObject(v: unknown): Record<string, unknown> {
  if (!isObject(v)) throw new HttpError(400, "invalid_request", "the request body must be a JSON object", { location: "" });
  if (!Object.prototype.hasOwnProperty.call(v, "action")) throw new HttpError(400, "invalid_request", "the request body has no `action`", { location: "/action" });
  return v;
}

export async function startDecisionService(options: ServeOptions): Promise<DecisionService> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`armor serve: ${line}\n`));
  const maxBody = options.maxBody ?? DEFAULT_MAX_BODY;
  const host = options.host ?? "127.0.0.1";
  const loaded = await loadPolicy(options.policy);
  for (const d of loaded.diagnostics) log(`${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`);
  const module: PolicyModule = loaded.module;
  // the service holds the audit log so that /v1/record writes into the same chain as decisions
  const audit: AuditLog | null = options.audit ? createAuditLog({ sinks: [fileSink(options.audit)] }) : null;
  const enforcer = await createEnforcer({
    policy: module,
    ...(audit ? { audit } : {}),
    onError: (e) => log(`error: ${e.message}`),
  });

  const routes: Record<string, Partial<Record<string, Handler>>> = {
    "/v1/decide": {
      POST: async (_req, res, body) => {
        const b = requestObject(await body());
        const decision = await enforcer.decide(b["action"], context(b));
        sendJson(res, 200, decision);
      },
    },
    "/v1/record": {
      POST: async (_req, res, body) => {
        const b = requestObject(await body());
        const action = b["action"];
        if (!isObject(action) || typeof action["type"] !== "string") throw new HttpError(400, "invalid_request", "`action` must be an object with a string `type`", { location: "/action" });
        const ctx = context(b);
        const decisionId = b["decisionId"] ?? `record-${randomUUID()}`;
        if (typeof decisionId !== "string" || decisionId === "") throw new HttpError(400, "invalid_request", "`decisionId` must be a non-empty string", { location: "/decisionId" });
        const outcome = b["outcome"] ?? "ok";
        if (outcome !== "ok" && outcome !== "error") throw new HttpError(400, "invalid_request", '`outcome` must be "ok" or "error"', { location: "/outcome" });
        if (b["error"] !== undefined && typeof b["error"] !== "string") throw new HttpError(400, "invalid_request", "`error` must be a string", { location: "/error" });
        try {
          actionHash(action);
        } catch (e) {
          throw new HttpError(400, "invalid_request", `the action cannot be hashed: ${(e as Error).message}`, { location: "/action" });
        }
        // it ran: it counts, whatever a decision now would say
        let recorded;
        try {
          recorded = await enforcer.record(action, ctx, { decisionId, outcome, ...(typeof b["error"] === "string" ? { error: b["error"] } : {}) });
        } catch (e) {
          throw new HttpError(500, "audit_failed", `the action was recorded in the session history, but the audit log failed: ${(e as Error).message}`);
        }
        const { session, actionHash: hash } = recorded;
        const audited = audit !== null;
        sendJson(res, 200, { recorded: true, session, decisionId, actionHash: hash, audited });
      },
    },
    "/healthz": {
      GET: async (_req, res) => {
        sendJson(res, shuttingDown ? 503 : 200, {
          status: shuttingDown ? "shutting_down" : "ok",
          version: VERSION,
          policy: { name: module.policy.name, version: module.policy.version, sourceHash: module.policy.sourceHash },
        });
      },
    },
  };

  let shuttingDown = false;
  let inFlight = 0;
  let drained: (() => void) | null = null;

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    inFlight++;
    res.on("close", () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    if (shuttingDown) res.setHeader("connection", "close");
    void (async () => {
      try {
        const path = new URL(req.url ?? "/", "http://localhost").pathname;
        const route = Object.prototype.hasOwnProperty.call(routes, path) ? routes[path] : undefined;
        if (!route) throw new HttpError(404, "not_found", `no route ${path}; the routes are ${Object.keys(ROUTES).join(", ")}`);
        const method = req.method ?? "GET";
        const handler = Object.prototype.hasOwnProperty.call(route, method) ? route[method] : undefined;
        if (!handler) {
          const allow = Object.keys(route).join(", ");
          res.setHeader("allow", allow);
          throw new HttpError(405, "method_not_allowed", `${method} is not allowed on ${path}; use ${allow}`);
        }
        await handler(req, res, async () => parseJsonBody(await readBody(req, maxBody)));
      } catch (e) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (e instanceof HttpError) {
          // a body we stopped reading: the connection cannot be reused
          sendError(res, e, e.status === 413 ? { connection: "close" } : {});
        } else {
          log(`internal error: ${(e as Error).stack ?? String(e)}`);
          sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
        }
      }
    })();
  });
  server.on("clientError", (err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    else socket.destroy(err);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8470, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        const timeout = options.shutdownTimeoutMs ?? 10_000;
        await Promise.race([new Promise<void>((r) => (drained = r)), new Promise<void>((r) => setTimeout(r, timeout).unref())]);
      }
      server.closeAllConnections();
      await stopped;
      await enforcer.close();
    })();
    return closing;
  };

  return { server, url, port, enforcer, close };
}
