/**
 * `armor serve`: the decision service. node:http only; loopback by default.
 *
 *   POST /v1/decide   { action, session?, user?, context?, reserve? } → the runtime's decision;
 *                     with `reserve: true` an allowed action counts in the history at once;
 *                     { stage: "result", action, result, ... } → the decision on a tool's result
 *                     (the action ran: it is decided, counted and recorded as `run` does);
 *                     { stage: "output", output, ... } → the decision on a model's message
 *   POST /v1/record   { action, session?, user?, context?, decisionId?, outcome?, error? }
 *                     reports an executed action (a reservation's id: counted once, by the
 *                     session and with the action that reserved it, else 409; the outcome is
 *                     written under that id only when it settles it or reports its approval)
 *   POST /v1/release  { decisionId, session? } takes a reservation back (the action did not run)
 *   GET  /healthz     { status: "ok", policy }
 *   GET  /livez, /readyz  liveness (the process answers) and readiness (the policy loaded, the
 *                     store and the audit log answering; 503 with why otherwise): probes.ts
 *   GET  /metrics     Prometheus metrics (metrics.ts), behind the same access rules as /v1/*
 *   POST /v1/approvals { decisionId } opens the approval of a require_approval decision, and
 *   GET  /v1/approvals/{decisionId}?wait=S waits for its answer (serve-approvals.ts); approvers
 *                     answer at /approvals/{id} and in the console at /console (approvals-http.ts)
 *                     with their own tokens, given with `approvers` (--approvers FILE)
 *
 * Who may call (http-access.ts): requests naming the service in `Host`, without a browser
 * `Origin` unless allowed, with the bearer token when one is configured (not for /healthz);
 * POST bodies are `application/json` only. Errors are `{ error: { code, message, ... } }` with
 * 400 (bad JSON, with its line and column, or JSON read other than as sent: a repeated key, an
 * integer beyond 2^53, a number that underflows; nesting deeper than 64; a bad request shape), 401,
 * 403, 404, 405 (with `Allow`), 413 (body over `maxBody`), 415. SIGTERM and SIGINT stop
 * accepting connections, let requests in flight finish, then close the audit log. `openapi.yaml`
 * documents every route (a test keeps the two in step).
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ActionContext, type ApprovalQueue, actionHash, type Decision, type PolicyDiagnostic, type RecordResult, type ShipEvent } from "@agent-armor/runtime";
import { APPROVER_ROUTES, type ApprovalRoutes, approvalAsksOf, approvalRoutes, isLoopbackHost, unenforcedApprovalsWarning } from "./approvals-http.js";
import { type Approvers, loadApprovers } from "./approvers.js";
import { DEFAULT_QUEUE_TIMEOUT_MS, type Decider, startDecider } from "./decider.js";
import { type AccessOptions, createAccess } from "./http-access.js";
import { answerClientError, dispatch, type Route } from "./http-dispatch.js";
import { HttpError, isObject, nonFiniteAt, own, sendJson } from "./http-util.js";
import { logLine } from "./log-text.js";
import { approvalRecordMetrics, metricsRoute, type ServiceMetrics, serviceMetrics, shippingMetrics } from "./metrics.js";
import { PROBE_ROUTES, probeRoutes } from "./probes.js";
import type { ReloadAnswer } from "./reload-policy.js";
import type { RunCodeConfig } from "./run-code-tool.js";
import { createServiceApprovals, type ServiceApprovals, type ServiceApprovalsOptions } from "./serve-approvals.js";
import type { ShipConfig } from "./shipping.js";
import type { SignInLimitOptions } from "./sign-in-limit.js";
import { VERSION } from "./version.js";

// what the command line of the service needs beside it (`@agent-armor/gateway/serve` loads no MCP code)
export { DEFAULT_QUEUE_TIMEOUT_MS } from "./decider.js";
export { readTokenFile } from "./http-access.js";
export { createLogger, LOG_FORMATS, type LogFormat, type Logger } from "./log-format.js";
export { logText } from "./log-text.js";
export { type PolicyWatch, type ReloadEvent, watchPolicy } from "./policy-reload.js";
export type { ReloadAnswer } from "./reload-policy.js";
export type { ShipConfig } from "./shipping.js";
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
  /** Connections held at once (default 1,024); a new one past it is closed (`server.maxConnections`). */
  maxConnections?: number;
  log?: (line: string) => void;
  /** Milliseconds to wait for requests in flight on shutdown before cutting them (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Allowed hosts and origins, and the bearer token (see http-access.ts). */
  access?: AccessOptions;
  /** How long a request may wait for its turn to be decided before 503 (default 10 s); see decider.ts. */
  queueTimeoutMs?: number;
  /**
   * Who may approve (approvers.ts: a file or the approvers): with them, the service takes
   * approvals of its `require_approval` decisions and serves the approval console.
   */
  approvers?: string | Approvers;
  /** How long a console sign-in lasts (default 15 minutes). */
  consoleSessionTtlMs?: number;
  /** The bound on approvers' failed sign-ins (default 10 per client address and 100 in all per minute). */
  signInLimit?: SignInLimitOptions;
  /** Bounds of pending and waited-for approvals (serve-approvals.ts). */
  approvalLimits?: Pick<ServiceApprovalsOptions, "maxPending" | "maxPendingPerSession" | "maxWaiting" | "maxKept">;
  /** `POST /v1/run_code`: code run in the sandbox under the policy (run-code-tool.ts); the sandbox loads only with it. */
  runCode?: RunCodeConfig;
  /** Ships the audit file's records to a collector (shipping.ts); needs `audit`. */
  ship?: ShipConfig;
  /** Each event of the decision shipper (batches shipped and failed, overflow), e.g. for metrics. */
  onShipEvent?: (event: ShipEvent) => void;
}

export const DEFAULT_MAX_BODY = 1024 * 1024;

/** Every route of the service, by path and method (the OpenAPI test reads this). */
export const ROUTES: Readonly<Record<string, readonly string[]>> = {
  "/v1/decide": ["POST"],
  "/v1/record": ["POST"],
  "/v1/release": ["POST"],
  "/healthz": ["GET"],
  "/v1/run_code": ["POST"],
  ...PROBE_ROUTES,
  "/metrics": ["GET"],
  "/v1/approvals": ["POST"],
  "/v1/approvals/{decisionId}": ["GET"],
  ...APPROVER_ROUTES,
};

/** The longest a `GET /v1/approvals/{decisionId}` may wait, in seconds (also bounded by the approval's timeout). */
const MAX_WAIT_S = 600;

/** The `?wait=S` of a request: whole seconds, 0 to MAX_WAIT_S (400 otherwise). */
function waitSeconds(url: string | undefined): number {
  const text = new URL(url ?? "/", "http://localhost").searchParams.get("wait");
  if (text === null) return 0;
  if (!/^\d{1,4}$/.test(text) || Number(text) > MAX_WAIT_S)
    throw new HttpError(400, "invalid_request", `\`wait\` is a number of seconds from 0 to ${MAX_WAIT_S}, not ${JSON.stringify(text.slice(0, 20))}`, { location: "?wait" });
  return Number(text);
}

export interface DecisionService {
  server: Server;
  url: string;
  port: number;
  /** The policy in force (the enforcer itself lives in the decision worker); a reload changes it. */
  readonly policy: { name: string; version: string | null; sourceHash: string };
  /** Reads and compiles the policy file again; the policy in force stays when the new one does not load. */
  reload(): Promise<ReloadAnswer>;
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

/** How many `/v1/record` calls refused for their input (400) are written to the audit log a minute. */
const BAD_RECORDS_PER_MINUTE = 60;

/** The errors of `record` after which the action counted nowhere (every other one came after it was counted). */
const UNCOUNTED = new Set(["GrantNeedsReservation", "ReservationMismatch", "InvalidInputError", "HistoryStoreUnavailable", "NoReservation"]);

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

/**
 * Idle keep-alive connections are advertised as kept KEEP_ALIVE_ADVERTISED_S seconds and held
 * ten seconds longer (KEEP_ALIVE_HELD_MS: long enough for a stalled client, short enough that idle
 * sockets do not pile up), and the service holds at most `maxConnections` at once. A client reuses an idle connection until the advertised time, less a margin of
 * its own; one whose event loop stalls (a loaded machine) writes later than it planned, and a
 * connection the server closed meanwhile fails that request ("other side closed"), which a client
 * does not retry for a POST. Node 20 advertises the timeout it enforces (and holds 1 s more), so
 * the headers are set here; a response that must close (shutting down, a body not read) still
 * says `connection: close`.
 */
const KEEP_ALIVE_ADVERTISED_S = 5;
export const KEEP_ALIVE_HELD_MS = 15_000;
/** The connections `armor serve` holds at once by default; past it, a new one is closed at once. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

function advertiseKeepAlive(res: ServerResponse): void {
  res.setHeader("connection", "keep-alive");
  res.setHeader("keep-alive", `timeout=${KEEP_ALIVE_ADVERTISED_S}`);
}

export async function startDecisionService(options: ServeOptions): Promise<DecisionService> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`armor serve: ${line}\n`));
  /**
   * The `record_refused` record of a `/v1/record` refused for its input (400): the action by its
   * hash only (when it has one), at most BAD_RECORDS_PER_MINUTE a minute, so that bad requests
   * cannot fill the log; the ones past that are counted in the next one written.
   */
  const badRecords = { since: 0, written: 0, skipped: 0 };
  const refuseInput = async (raw: unknown, e: HttpError): Promise<void> => {
    const t = Date.now();
    if (t - badRecords.since >= 60_000) Object.assign(badRecords, { since: t, written: 0 });
    if (badRecords.written >= BAD_RECORDS_PER_MINUTE) {
      badRecords.skipped++;
      return;
    }
    badRecords.written++;
    const skipped = badRecords.skipped;
    badRecords.skipped = 0;
    const body = isObject(raw) ? raw : {};
    const action = own(body, "action");
    const session = own(body, "session");
    const ctx = typeof session === "string" && session.length <= 256 ? { session } : {};
    const more = skipped > 0 ? ` (and ${skipped} more refused for their input before it, not written)` : "";
    await decider
      .call("refused", [isObject(action) ? action : undefined, ctx, `${e.code}: ${e.message}${more}`])
      .catch((f: unknown) => log(logLine`error: a refused record could not be recorded: ${(f as Error).message}`));
  };
  const maxBody = options.maxBody ?? DEFAULT_MAX_BODY;
  const host = options.host ?? "127.0.0.1";
  // checked first (a bad --allowed-origin fails before anything starts), bound to the real port below
  let access = createAccess(options.access ?? {}, { host, port: options.port ?? 8470 });
  // approvals (with approvers): checked before anything starts, e.g. an approver holding the service's token
  const approvers = typeof options.approvers === "string" ? loadApprovers(options.approvers) : options.approvers;
  // without approvers, require_approval goes back to the agent: the policy's groups and quorums are not enforced here
  if (approvers === undefined) {
    const warning = unenforcedApprovalsWarning(await approvalAsksOf(options.policy));
    if (warning !== null) log(warning);
  }
  let decider!: Decider;
  const metrics = serviceMetrics();
  const approvalRecorded = approvalRecordMetrics(metrics.approvals);
  // with a store, pending approvals are in it too: listed and answered at every replica, kept across restarts
  const sharedQueue = approvers !== undefined && options.store !== undefined ? await openSharedQueue(options.store) : null;
  const approvals: ServiceApprovals | null =
    approvers === undefined
      ? null
      : createServiceApprovals({
          audit: async (fields) => {
            await decider.call("approval", [fields]);
            approvalRecorded(fields);
          },
          // "approve and grant": made by the enforcer in the worker, on record in the same chain, in the store the decisions read
          grant: async (decision, names) => (await decider.call("grant", [decision, names])) as string | null,
          ...options.approvalLimits,
          ...(sharedQueue !== null ? { queue: sharedQueue } : {}),
        });
  const approverRoutes: ApprovalRoutes | null =
    approvals === null
      ? null
      : approvalRoutes(approvals.queue, {
          approvers: approvers!,
          console: true,
          secureCookies: !isLoopbackHost(host),
          ...(options.access?.token !== undefined ? { serviceToken: options.access.token } : {}),
          log: (line) => log(line),
          ...(options.consoleSessionTtlMs !== undefined ? { sessionTtlMs: options.consoleSessionTtlMs } : {}),
          ...(options.signInLimit !== undefined ? { signInLimit: options.signInLimit } : {}),
        });
  const noApprovers = () => new HttpError(404, "no_approvers", "this service takes no approvals: start it with --approvers FILE (who may approve, each with a token of their own)");
  // the policy, the enforcer and the audit log live in a worker thread (decider.ts)
  decider = await startDecider({
    policy: options.policy,
    ...(options.audit !== undefined ? { audit: options.audit } : {}),
    ...(options.store !== undefined ? { store: options.store } : {}),
    ...(options.runCode !== undefined ? { runCode: options.runCode } : {}),
    ...shipping(options, metrics.registry),
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
          const ctx = context(b);
          const decision = (await decider.call("decide", [own(b, "action"), ctx, reserve])) as Decision;
          // kept, so that the agent can ask for its approval by id (POST /v1/approvals)
          approvals?.keep(decision, ctx.user);
          if (!reserve) return sendJson(res, 200, decision);
          sendJson(res, 200, { ...decision, reserved: decision.reserved === true });
        },
      },
    },
    "/v1/record": {
      methods: {
        POST: async (_req, res, body) => {
          let raw: unknown;
          let b: Record<string, unknown>;
          let action: unknown;
          let ctx: ActionContext;
          let given: string | undefined;
          let outcome: unknown;
          let error: unknown;
          try {
            raw = await body();
            b = requestObject(raw);
            action = own(b, "action");
            if (!isObject(action) || typeof own(action, "type") !== "string") throw new HttpError(400, "invalid_request", "`action` must be an object with a string `type`", { location: "/action" });
            rejectNonFinite(b);
            ctx = context(b);
            given = idField(b, "decisionId", false);
            outcome = own(b, "outcome") ?? "ok";
            if (outcome !== "ok" && outcome !== "error") throw new HttpError(400, "invalid_request", '`outcome` must be "ok" or "error"', { location: "/outcome" });
            error = own(b, "error");
            if (error !== undefined && typeof error !== "string") throw new HttpError(400, "invalid_request", "`error` must be a string", { location: "/error" });
            try {
              actionHash(action);
            } catch (e) {
              throw new HttpError(400, "invalid_request", `the action cannot be hashed: ${(e as Error).message}`, { location: "/action" });
            }
          } catch (e) {
            // a record refused for its input is on record too: by the action's hash only, and rate limited
            if (e instanceof HttpError && e.status === 400) await refuseInput(raw, e);
            throw e;
          }
          // a decision that required approval is reported only once approved, with the approved action
          let approved: boolean;
          try {
            approved = given !== undefined && approvals?.checkRecord(given, action, typeof ctx.session === "string" ? ctx.session : "default") === true;
          } catch (e) {
            // refused here, before the enforcer: on record all the same (every record leaves one)
            if (e instanceof HttpError)
              await decider.call("refused", [action, ctx, `${e.code}: ${e.message}`]).catch((f: unknown) => log(logLine`error: a refused record could not be recorded: ${(f as Error).message}`));
            throw e;
          }
          // it ran: it counts, whatever a decision now would say (once, if it was reserved)
          let recorded: RecordResult;
          try {
            const info = { ...(given !== undefined ? { decisionId: given } : {}), outcome, ...(typeof error === "string" ? { error } : {}), ...(approved ? { approved } : {}) };
            recorded = (await decider.call("record", [action, ctx, info])) as RecordResult;
          } catch (e) {
            // an approval whose record counted nothing may be reported again; one the history counted holds no more
            if (approved) approvals?.recordDone(given!, !(e instanceof HttpError) && !UNCOUNTED.has((e as Error).name));
            if (e instanceof HttpError) throw e;
            if ((e as Error).name === "GrantNeedsReservation") {
              throw new HttpError(409, "reservation_required", `the action was not recorded: ${(e as Error).message}`, {
                location: "/decisionId",
                hint: 'decide the action with "reserve": true (which takes its amount of the grant) and send that decision\'s `id` as `decisionId`',
              });
            }
            if ((e as Error).name === "ReservationMismatch") {
              throw new HttpError(409, "reservation_mismatch", `the action was not recorded: ${(e as Error).message}`, {
                location: "/decisionId",
                hint: "record a reservation with the `session` and the exact `action` of the /v1/decide that made it",
              });
            }
            if ((e as Error).name === "InvalidInputError") throw new HttpError(400, "invalid_request", (e as Error).message);
            if ((e as Error).name === "HistoryStoreUnavailable") throw new HttpError(503, "store_unavailable", `the action was not recorded: ${(e as Error).message}`);
            throw new HttpError(500, "audit_failed", `the action was recorded in the session history, but the audit log failed: ${(e as Error).message}`);
          }
          if (approved) approvals?.recordDone(given!, true);
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
    "/v1/run_code": {
      methods: {
        POST: async (_req, res, body) => {
          const b = await body();
          if (!isObject(b)) throw new HttpError(400, "invalid_request", "the request body must be a JSON object: { language, code, session?, user?, context? }", { location: "" });
          if (options.runCode === undefined) throw new HttpError(404, "no_run_code", "this service runs no code: start it with --run-code js,python");
          const ctx = context(b);
          // the rest is the tool's arguments: read, decided and audited in the worker, also when they cannot run
          const args = Object.fromEntries(Object.entries(b).filter(([k]) => k !== "session" && k !== "user" && k !== "context"));
          sendJson(res, 200, await decider.call("run_code", [args, ctx]));
        },
      },
    },
    "/v1/approvals": {
      methods: {
        POST: async (_req, res, body) => {
          const b = await body();
          if (!isObject(b)) throw new HttpError(400, "invalid_request", "the request body must be a JSON object", { location: "" });
          if (approvals === null) throw noApprovers();
          const id = idField(b, "decisionId", true)!;
          const state = await approvals.open(id, idField(b, "session", false));
          if (state.status === "pending") log(logLine`approval ${id} pending${state.from !== null ? ` (from ${state.from})` : ""}: ${url}/console`);
          sendJson(res, state.status === "pending" ? 202 : 200, state);
        },
      },
    },
    "/metrics": metricsRoute(async () => metrics.scrape((await decider.call("metrics", [])) as string)),
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
    ...probeRoutes({ shuttingDown: () => shuttingDown, policy: () => decider.policy, health: () => decider.call("health", []) as Promise<string[]> }),
  };

  /** `GET /v1/approvals/{decisionId}`: the approval's state, after a long poll of `?wait=S` seconds. */
  const approvalState = (id: string): Route => ({
    methods: {
      GET: async (req, res) => {
        const wait = waitSeconds(req.url);
        if (approvals === null) throw noApprovers();
        sendJson(res, 200, await approvals.wait(id, wait * 1000));
      },
    },
  });
  const approverStub: Route = { methods: Object.fromEntries(["GET", "POST", "DELETE"].map((m) => [m, async () => Promise.reject(noApprovers())])) };
  const find = (path: string): Route | undefined => {
    if (Object.hasOwn(routes, path)) return routes[path];
    if (path.startsWith("/v1/approvals/") && path.length > "/v1/approvals/".length) {
      let id: string;
      try {
        id = decodeURIComponent(path.slice("/v1/approvals/".length));
      } catch {
        throw new HttpError(400, "invalid_request", "the decision id in the path is not valid percent-encoding");
      }
      return approvalState(id);
    }
    if (approverRoutes !== null) return approverRoutes.find(path);
    return /^\/(approvals|console)(\/|$)/.test(path) ? approverStub : undefined;
  };

  let shuttingDown = false;
  let inFlight = 0;
  let drained: (() => void) | null = null;

  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_HELD_MS }, (req, res) => {
    inFlight++;
    res.on("close", () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    if (shuttingDown) res.setHeader("connection", "close");
    else if (res.shouldKeepAlive) advertiseKeepAlive(res);
    void dispatch(req, res, {
      access,
      find,
      notFound: (path) => `no route ${path}; the routes are ${Object.keys(ROUTES).join(", ")}`,
      maxBody,
      log,
    });
  });
  server.on("clientError", answerClientError);
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.maxConnections = Number.isSafeInteger(maxConnections) && maxConnections > 0 ? maxConnections : DEFAULT_MAX_CONNECTIONS;

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
      // event streams and long polls end now (a long poll answers the state it has)
      approverRoutes?.close();
      approvals?.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        const timeout = options.shutdownTimeoutMs ?? 10_000;
        await Promise.race([new Promise<void>((r) => (drained = r)), new Promise<void>((r) => setTimeout(r, timeout).unref())]);
      }
      server.closeAllConnections();
      await stopped;
      await decider.close(options.shutdownTimeoutMs ?? 10_000);
      await sharedQueue?.close();
    })();
    return closing;
  };

  return {
    server,
    url,
    port,
    get policy() {
      return decider.policy;
    },
    reload: async () => {
      const answer = await decider.reload();
      metrics.reloaded(answer.ok ? "ok" : "failed");
      return answer;
    },
    diagnostics: decider.diagnostics,
    close,
  };
}

/** The decider's shipping options: shipping needs the local audit file, the chain it ships from. */
function shipping(options: ServeOptions, registry: ServiceMetrics["registry"]): { ship?: ShipConfig; onShipEvent?: (event: ShipEvent) => void } {
  if (options.ship === undefined) return {};
  if (options.audit === undefined) throw new Error("decision shipping sends the audit log's records: give an audit file (--audit FILE) with --ship-to");
  const counted = shippingMetrics(registry);
  return {
    ship: options.ship,
    onShipEvent: (event) => {
      counted(event);
      options.onShipEvent?.(event);
    },
  };
}

/** The pending approvals in the Redis store (its client is loaded only by a service that uses it). */
async function openSharedQueue(store: string): Promise<ApprovalQueue & { close(): Promise<void> }> {
  const redis = await import("@agent-armor/store-redis");
  const queue = redis.redisApprovalQueue({ url: store });
  try {
    await queue.ready;
  } catch (e) {
    await queue.close();
    throw new Error(`cannot read the pending approvals from ${redis.storeName(store)}: ${(e as Error).message}`);
  }
  return queue;
}
