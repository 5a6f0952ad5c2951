/**
 * `armor serve`: the decision service. node:http only; loopback by default.
 *
 *   POST /v1/decide   { action, session?, user?, context?, reserve? } → the runtime's decision;
 *                     with `reserve: true` an allowed action counts in the history at once;
 *                     { stage: "result", action, result, ... } → the decision on a tool's result
 *                     (the action ran: it is decided, counted and recorded as `run` does);
 *                     { stage: "output", output, ... } → the decision on a model's message
 *   POST /v1/record   { action, session?, user?, context?, decisionId?, outcome?, error? }
 *                     reports an executed action (a reservation's id: counted once)
 *   POST /v1/release  { decisionId } takes a reservation back (the action did not run)
 *   GET  /healthz     { status: "ok", policy }
 *
 * Who may call (http-access.ts): requests naming the service in `Host`, without a browser
 * `Origin` unless allowed, with the bearer token when one is configured (not for /healthz);
 * POST bodies are `application/json` only. Errors are `{ error: { code, message, ... } }` with
 * 400 (bad JSON, with its line and column; nesting deeper than 64; a bad request shape), 401,
 * 403, 404, 405 (with `Allow`), 413 (body over `maxBody`), 415. SIGTERM and SIGINT stop
 * accepting connections, let requests in flight finish, then close the audit log. `openapi.yaml`
 * documents every route (a test keeps the two in step).
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type ActionContext, actionHash, type Decision, type PolicyDiagnostic, type RecordResult } from "@agent-armor/runtime";
import { DEFAULT_QUEUE_TIMEOUT_MS, type Decider, startDecider } from "./decider.js";
import { type AccessOptions, createAccess } from "./http-access.js";
import { answerClientError, dispatch, type Route } from "./http-dispatch.js";
import { HttpError, isObject, nonFiniteAt, own, sendJson } from "./http-util.js";
import { logLine } from "./log-text.js";
import { VERSION } from "./version.js";

// what the command line of the service needs beside it (`@agent-armor/gateway/serve` loads no MCP code)
export { DEFAULT_QUEUE_TIMEOUT_MS } from "./decider.js";
export { readTokenFile } from "./http-access.js";
export { logText } from "./log-text.js";
export { VERSION } from "./version.js";

export interface ServeOptions {
  policy: string;
  port?: number;
  host?: string;
  /** The audit file; `{pid}` and `{host}` name the process (audit-file-name.ts): each replica keeps its own chain. */
  audit?: string;
  /**
   * A shared history store, `redis://HOST:PORT` (`@agent-armor/store-redis`): replicas on one
   * Redis share their sessions' counts and reservations, and a restart keeps them.
   */
  store?: string;
  /** Largest request body in bytes (default 1 MiB). */
  maxBody?: number;
  log?: (line: string) => void;
  /** Milliseconds to wait for requests in flight on shutdown before cutting them (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Allowed hosts and origins, and the bearer token (see http-access.ts). */
  access?: AccessOptions;
  /** How long a request may wait for its turn to be decided before 503 (default 10 s); see decider.ts. */
  queueTimeoutMs?: number;
}

export const DEFAULT_MAX_BODY = 1024 * 1024;

/** Every route of the service, by path and method (the OpenAPI test reads this). */
export const ROUTES: Readonly<Record<string, readonly string[]>> = {
  "/v1/decide": ["POST"],
  "/v1/record": ["POST"],
  "/v1/release": ["POST"],
  "/healthz": ["GET"],
};

export interface DecisionService {
  server: Server;
  url: string;
  port: number;
  /** The policy in force (the enforcer itself lives in the decision worker). */
  policy: { name: string; version: string | null; sourceHash: string };
  /** The policy's warnings from compiling it on load, as data (the command line prints them). */
  diagnostics: readonly PolicyDiagnostic[];
  /** Stops accepting, waits for requests in flight, closes the audit log. Idempotent. */
  close(): Promise<void>;
}

function context(body: Record<string, unknown>): ActionContext {
  const ctx: ActionContext = {};
  const session = idField(body, "session", false);
  if (session !== undefined) ctx.session = session;
  for (const k of ["user", "context"] as const) {
    const v = own(body, k);
    if (v === undefined || v === null) continue;
    if (!isObject(v)) throw new HttpError(400, "invalid_request", `\`${k}\` must be an object`, { location: `/${k}` });
    ctx[k] = v;
  }
  return ctx;
}

export type Stage = "call" | "result" | "output";
const STAGES: readonly Stage[] = ["call", "result", "output"];

/**
 * The stage a /v1/decide body asks for, with the parts that stage reads: `result` and `output`
 * only at their own stage, `action` at the call and result stages, `reserve` only for calls.
 */
export function requestStage(b: Record<string, unknown>): Stage {
  const stage = own(b, "stage") ?? "call";
  if (typeof stage !== "string" || !(STAGES as readonly string[]).includes(stage)) {
    throw new HttpError(400, "invalid_request", '`stage` must be "call", "result" or "output" (without it, the call is decided)', { location: "/stage" });
  }
  const s = stage as Stage;
  for (const part of ["result", "output"] as const) {
    if (Object.hasOwn(b, part) && s !== part) {
      throw new HttpError(400, "invalid_request", `\`${part}\` is read only at the ${part} stage: send "stage": "${part}" with it`, { location: `/${part}` });
    }
  }
  if (s !== "call" && Object.hasOwn(b, "reserve")) throw new HttpError(400, "invalid_request", "`reserve` is for calls: a result or a message is not counted", { location: "/reserve" });
  if (s !== "result" && Object.hasOwn(b, "decisionId")) {
    throw new HttpError(400, "invalid_request", '`decisionId` names the call whose result is decided: send it with "stage": "result"', { location: "/decisionId" });
  }
  if (s === "output") {
    if (Object.hasOwn(b, "action")) throw new HttpError(400, "invalid_request", "the output stage reads no `action`: a model's message is not a tool call", { location: "/action" });
    if (!Object.hasOwn(b, "output")) throw new HttpError(400, "invalid_request", 'the output stage needs `output`: the model\'s message, { "text": "..." }', { location: "/output" });
    return s;
  }
  if (!Object.hasOwn(b, "action")) throw new HttpError(400, "invalid_request", "the request body has no `action`", { location: "/action" });
  if (s === "result" && !Object.hasOwn(b, "result"))
    throw new HttpError(400, "invalid_request", "the result stage needs `result`: what the tool returned (null when nothing)", { location: "/result" });
  return s;
}

function requestObject(v: unknown): Record<string, unknown> {
  if (!isObject(v)) throw new HttpError(400, "invalid_request", "the request body must be a JSON object", { location: "" });
  if (!Object.hasOwn(v, "action")) throw new HttpError(400, "invalid_request", "the request body has no `action`", { location: "/action" });
  return v;
}

/**
 * The `decisionId` of a result-stage body: the decision the action ran under (reserved with
 * `reserve: true`), whose reservation the answer settles as `/v1/record` would (409 when it names
 * no pending reservation of the session and action). Its action must be one `/v1/record` takes.
 */
function reportedRun(b: Record<string, unknown>): string | undefined {
  const decisionId = idField(b, "decisionId", false);
  if (decisionId === undefined) return undefined;
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(decisionId)) {
    throw new HttpError(400, "invalid_request", "`decisionId` must be a decision id this service gave (letters, digits and . _ : -, at most 128)", { location: "/decisionId" });
  }
  const action = own(b, "action");
  if (!isObject(action) || typeof own(action, "type") !== "string") throw new HttpError(400, "invalid_request", "`action` must be an object with a string `type`", { location: "/action" });
  rejectNonFinite(b);
  try {
    actionHash(action);
  } catch (e) {
    throw new HttpError(400, "invalid_request", `the action cannot be hashed: ${(e as Error).message}`, { location: "/action" });
  }
  return decisionId;
}

/** A non-empty string field of the body, or a 400 naming it. */
function idField(body: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = own(body, key);
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string" || v === "") throw new HttpError(400, "invalid_request", `\`${key}\` must be a non-empty string`, { location: `/${key}` });
  return v;
}

/** Numbers such as 1e400 parse to Infinity, which has no JSON text: 400 where nothing decides. */
function rejectNonFinite(body: Record<string, unknown>): void {
  const at = nonFiniteAt(body);
  if (at !== null) throw new HttpError(400, "invalid_request", `the number at ${at} is not finite (JSON numbers beyond about ±1.8e308 have no value)`, { location: at });
}

export async function startDecisionService(options: ServeOptions): Promise<DecisionService> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`armor serve: ${line}\n`));
  const maxBody = options.maxBody ?? DEFAULT_MAX_BODY;
  const host = options.host ?? "127.0.0.1";
  // checked first (a bad --allowed-origin fails before anything starts), bound to the real port below
  let access = createAccess(options.access ?? {}, { host, port: options.port ?? 8470 });
  // the policy, the enforcer and the audit log live in a worker thread (decider.ts)
  const decider: Decider = await startDecider({
    policy: options.policy,
    ...(options.audit !== undefined ? { audit: options.audit } : {}),
    ...(options.store !== undefined ? { store: options.store } : {}),
    queueTimeoutMs: options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS,
    log: (line) => log(logLine`${line}`),
  });
  const audited = options.audit !== undefined;

  const routes: Record<string, Route> = {
    "/v1/decide": {
      methods: {
        POST: async (_req, res, body) => {
          const b = await body();
          if (!isObject(b)) throw new HttpError(400, "invalid_request", "the request body must be a JSON object", { location: "" });
          const stage = requestStage(b);
          if (stage === "result") {
            const decisionId = reportedRun(b);
            try {
              return sendJson(res, 200, await decider.call("result", [own(b, "action"), context(b), own(b, "result"), decisionId]));
            } catch (e) {
              if ((e as Error).name !== "NoReservation") throw e;
              throw new HttpError(409, "no_reservation", `${(e as Error).message}; send the result without \`decisionId\` to have the call decided again`, { location: "/decisionId" });
            }
          }
          if (stage === "output") return sendJson(res, 200, await decider.call("output", [own(b, "output"), context(b)]));
          const reserve = own(b, "reserve") ?? false;
          if (typeof reserve !== "boolean") throw new HttpError(400, "invalid_request", "`reserve` must be true or false", { location: "/reserve" });
          const decision = (await decider.call("decide", [own(b, "action"), context(b), reserve])) as Decision;
          if (!reserve) return sendJson(res, 200, decision);
          sendJson(res, 200, { ...decision, reserved: decision.reserved === true });
        },
      },
    },
    "/v1/record": {
      methods: {
        POST: async (_req, res, body) => {
          const b = requestObject(await body());
          const action = own(b, "action");
          if (!isObject(action) || typeof own(action, "type") !== "string") throw new HttpError(400, "invalid_request", "`action` must be an object with a string `type`", { location: "/action" });
          rejectNonFinite(b);
          const ctx = context(b);
          const decisionId = idField(b, "decisionId", false) ?? `record-${randomUUID()}`;
          const outcome = own(b, "outcome") ?? "ok";
          if (outcome !== "ok" && outcome !== "error") throw new HttpError(400, "invalid_request", '`outcome` must be "ok" or "error"', { location: "/outcome" });
          const error = own(b, "error");
          if (error !== undefined && typeof error !== "string") throw new HttpError(400, "invalid_request", "`error` must be a string", { location: "/error" });
          try {
            actionHash(action);
          } catch (e) {
            throw new HttpError(400, "invalid_request", `the action cannot be hashed: ${(e as Error).message}`, { location: "/action" });
          }
          // it ran: it counts, whatever a decision now would say (once, if it was reserved)
          let recorded: RecordResult;
          try {
            recorded = (await decider.call("record", [action, ctx, { decisionId, outcome, ...(typeof error === "string" ? { error } : {}) }])) as RecordResult;
          } catch (e) {
            if (e instanceof HttpError) throw e;
            if ((e as Error).name === "InvalidInputError") throw new HttpError(400, "invalid_request", (e as Error).message);
            if ((e as Error).name === "HistoryStoreUnavailable") throw new HttpError(503, "store_unavailable", `the action was not recorded: ${(e as Error).message}`);
            throw new HttpError(500, "audit_failed", `the action was recorded in the session history, but the audit log failed: ${(e as Error).message}`);
          }
          const { session, actionHash: hash, settled } = recorded;
          // `settled`: it ran under its reservation and was not counted again
          sendJson(res, 200, { recorded: true, session, decisionId: recorded.decisionId, actionHash: hash, audited, settled: settled === true });
        },
      },
    },
    "/v1/release": {
      methods: {
        POST: async (_req, res, body) => {
          const b = await body();
          if (!isObject(b)) throw new HttpError(400, "invalid_request", "the request body must be a JSON object", { location: "" });
          const decisionId = idField(b, "decisionId", true)!;
          // only the session that reserved may take it back (the same `session` as in its /v1/decide)
          const session = idField(b, "session", false);
          let released: boolean;
          try {
            released = (await decider.call("release", [decisionId, session === undefined ? {} : { session }])) as boolean;
          } catch (e) {
            if ((e as Error).name === "HistoryStoreUnavailable") throw new HttpError(503, "store_unavailable", `the reservation was not released: ${(e as Error).message}`);
            throw e;
          }
          sendJson(res, 200, { decisionId, released });
        },
      },
    },
    "/healthz": {
      open: true,
      methods: {
        GET: async (_req, res) => {
          sendJson(res, shuttingDown ? 503 : 200, {
            status: shuttingDown ? "shutting_down" : "ok",
            version: VERSION,
            policy: decider.policy,
          });
        },
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
    void dispatch(req, res, {
      access,
      find: (path) => (Object.hasOwn(routes, path) ? routes[path] : undefined),
      notFound: (path) => `no route ${path}; the routes are ${Object.keys(ROUTES).join(", ")}`,
      maxBody,
      log,
    });
  });
  server.on("clientError", answerClientError);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 8470, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    await decider.close(1_000);
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  access = createAccess(options.access ?? {}, { host, port });
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
      await decider.close(options.shutdownTimeoutMs ?? 10_000);
    })();
    return closing;
  };

  return { server, url, port, policy: decider.policy, diagnostics: decider.diagnostics, close };
}
