/**
 * The worker thread in which `armor serve` decides (see decider.ts): it owns the policy, the
 * enforcer with its session history and reservations, and the audit log, so that a slow
 * decision holds this thread and never the one that answers HTTP.
 *
 * Messages in: `{ id, op: "decide" | "result" | "output" | "record" | "refused" | "release" | "approval" | "grant" | "close", args, flag }`, where
 * `flag` is an Int32Array over shared memory: 0 queued, 1 started (set here), 2 given up by the
 * HTTP thread. A request given up before it started is skipped: it is never decided, so it
 * needs no audit record, and its client was told to retry. Messages out: `ready` (the policy's
 * name, version, source hash and diagnostics) or `failed` once, then `{ id, ok, value | error }`
 * per request and `log` lines.
 */
import { randomUUID } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import * as compiler from "@agent-armor/compiler";
import {
  type ActionContext,
  type AuditFields,
  type AuditLog,
  actionHash,
  createAuditLog,
  createEnforcer,
  type Decision,
  type DecisionShipper,
  type Enforcer,
  fileSink,
  loadPolicy,
  type OutputMessage,
  type PolicyDiagnostic,
  type RecordInfo,
  type RunResult,
  type SharedHistoryStore,
  type ShipEvent,
} from "@agent-armor/runtime";
import { Registry } from "prom-client";
import { auditFileName } from "./audit-file-name.js";
import { decisionMetrics } from "./metrics.js";
import { readinessProblems } from "./readiness.js";
import { reloadPolicy } from "./reload-policy.js";
import { type RunCodeConfig, type RunCodeTool, startRunCodeTool } from "./run-code-tool.js";
import { type ShipConfig, shippedAuditLog } from "./shipping.js";

export interface WorkerData {
  policy: string;
  audit?: string;
  /** A shared history store, `redis://HOST:PORT`: replicas of the service count in one place. */
  store?: string;
  /** The sandbox's languages and limits for `POST /v1/run_code` (run-code-tool.ts); the sandbox loads only with it. */
  runCode?: RunCodeConfig;
  /** Decision shipping (shipping.ts): the audit file's records sent to a collector. */
  ship?: ShipConfig;
}

export type Op = "decide" | "result" | "output" | "record" | "refused" | "release" | "approval" | "grant" | "run_code" | "reload" | "health" | "metrics" | "close";

export interface Request {
  id: number;
  op: Op;
  args: unknown[];
  flag: Int32Array;
}

/** A failure carries the error's name, so that the HTTP thread can tell bad input from a failing audit log. */
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string; name: string };

export type Event =
  | { type: "ready"; policy: { name: string; version: string | null; sourceHash: string }; diagnostics: PolicyDiagnostic[] }
  /** `diagnostics`: a policy that does not compile, as the runtime's `PolicyLoadError` holds them. */
  | { type: "failed"; error: string; diagnostics: PolicyDiagnostic[] }
  | { type: "log"; line: string }
  /** What the decision shipper reported (for counting; the worker logs it too). */
  | { type: "ship"; event: ShipEvent };

const QUEUED = 0;
const STARTED = 1;

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as WorkerData;
  const post = (m: Event | Reply): void => port.postMessage(m);
  let enforcer: Awaited<ReturnType<typeof createEnforcer>>;
  let history: SharedHistoryStore | null = null;
  let audit: AuditLog | null = null;
  let runCode: RunCodeTool | null = null;
  let shipper: DecisionShipper | null = null;
  // the decisions' metrics (metrics.ts): kept here, where the enforcer decides; `metrics` answers their text
  const registry = new Registry();
  try {
    const loaded = await loadPolicy(data.policy, { compiler });
    // loaded only by a service that uses it (the Redis client is most of a bundle's chunk)
    if (data.store !== undefined) history = (await import("@agent-armor/store-redis")).redisStore({ url: data.store });
    // the service holds the audit log so that /v1/record writes into the same chain as decisions;
    // each process its own chain, so the file may be named by the process ({pid}, {host})
    const log = (line: string): void => post({ type: "log", line });
    if (data.audit !== undefined && data.ship !== undefined) ({ log: audit, shipper } = shippedAuditLog(data.audit, data.ship, log, (event) => post({ type: "ship", event })));
    else audit = data.audit ? createAuditLog({ sinks: [fileSink(auditFileName(data.audit))] }) : null;
    // throwOnDeny: false, so that a result's run answers with its decisions rather than an exception
    enforcer = await createEnforcer({
      policy: loaded.module,
      ...(audit ? { audit } : {}),
      ...(history !== null ? { history } : {}),
      throwOnDeny: false,
      telemetry: { observer: decisionMetrics(registry, null) },
      onError: (e) => post({ type: "log", line: `error: ${e.message}` }),
    });
    if (data.runCode !== undefined) runCode = await startRunCodeTool(enforcer, data.runCode);
    const { name, version, sourceHash } = loaded.module.policy;
    post({ type: "ready", policy: { name, version, sourceHash }, diagnostics: loaded.diagnostics });
  } catch (e) {
    await history?.close();
    const diagnostics = (e as { diagnostics?: unknown }).diagnostics;
    post({ type: "failed", error: (e as Error).message, diagnostics: Array.isArray(diagnostics) ? (diagnostics as PolicyDiagnostic[]) : [] });
    return;
  }
  const ops: Record<Op, (args: unknown[]) => Promise<unknown>> = {
    decide: ([action, ctx, reserve]) => enforcer.decide(action, ctx as ActionContext, { reserve: reserve === true }),
    // the action ran outside the service: under its reserved decision (the result decided, then the
    // reservation settled), or else decided, counted and recorded as run() does, and its result decided
    result: ([action, ctx, result, decisionId]) =>
      typeof decisionId === "string" ? resultOfReserved(enforcer, action, ctx as ActionContext, result, decisionId) : enforcer.run(action, ctx as ActionContext, () => result).then(resultAnswer),
    output: ([output, ctx]) => enforcer.checkOutput(output as OutputMessage, ctx as ActionContext),
    record: ([action, ctx, info]) => enforcer.record(action, ctx as ActionContext, info as RecordInfo),
    // a /v1/record the service refused before the enforcer saw it (an approval's checks): on record all the same
    refused: async ([action, ctx, reason]) => void (await audit?.append(refusedRecord(action, ctx as ActionContext, String(reason)))),
    release: ([id, ctx]) => enforcer.release(id as string, ctx as ActionContext),
    // an approval record of the service's approvals (serve-approvals.ts), in the same chain
    approval: async ([fields]) => void (await audit?.append(fields as AuditFields)),
    // "approve and grant" of the service's approvals: the grant the decision's rule offers, in the history store's grants
    grant: ([decision, approvers]) => enforcer.grant(decision as Decision, approvers as string[]),
    // the run is decided here and runs in the sandbox's own workers and processes, so this thread
    // goes on deciding other requests while it runs
    run_code: ([args, ctx]) => (runCode !== null ? runCode.call(args, ctx as ActionContext) : Promise.reject(new Error("this service runs no code: start it with --run-code"))),
    // the policy file read and compiled again; the policy in force stays when it does not load
    reload: () => reloadPolicy(enforcer, data.policy),
    health: () => readinessProblems({ history, audit, shipper, shipFailsClosed: data.ship?.overflow === "deny" }),
    metrics: () => registry.metrics(),
    close: () =>
      Promise.resolve(runCode?.close())
        .then(() => enforcer.close())
        .finally(() => history?.close()),
  };
  port.on("message", (m: Request) => {
    if (Atomics.compareExchange(m.flag, 0, QUEUED, STARTED) !== QUEUED) return;
    ops[m.op](m.args).then(
      (value) => post({ id: m.id, ok: true, value }),
      (e: unknown) => post({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e), name: e instanceof Error ? e.name : "Error" }),
    );
  });
}

/**
 * The `record_refused` outcome record of a `/v1/record` the service refused itself, in the shape
 * the runtime writes its own (record-release.ts), under an id of its own. It names the action by
 * its hash only: the action was refused as it was sent, so a field a rule redacts may be in it.
 */
function refusedRecord(action: unknown, ctx: ActionContext, reason: string): AuditFields {
  let hash: string | null;
  try {
    // no action (a body that was no record): no hash either
    hash = action === undefined ? null : actionHash(action);
  } catch {
    hash = null;
  }
  const session = typeof ctx?.session === "string" ? ctx.session : "default";
  const fields = { kind: "outcome", decisionId: `refused-${randomUUID()}`, time: new Date().toISOString(), mode: "record", session, outcome: "record_refused", error: reason };
  return (hash === null ? fields : { ...fields, actionHash: hash }) as unknown as AuditFields;
}

/**
 * The answer to a result check: the result stage's decision; the call's (`stage: "call"`, no
 * result) when the call itself is not allowed now; or, when the policy has no rules on results,
 * the call's decision with the result as given (`stage: "result"`).
 */
function resultAnswer(r: RunResult<unknown>): unknown {
  if (r.resultDecision !== undefined) return r.resultDecision;
  if (r.decision.decision !== "allow") return { ...r.decision, stage: "call", result: null };
  return { ...r.decision, stage: "result", result: r.result ?? null };
}

/**
 * The result of an action that ran under a reserved decision of this service: decided first, so
 * that the labels it adds reach the reserved history entry, then recorded (settling the
 * reservation). An id that names no pending reservation of the session and action decides
 * nothing (`NoReservation`: the service answers 409).
 */
async function resultOfReserved(enforcer: Enforcer, action: unknown, ctx: ActionContext, result: unknown, decisionId: string): Promise<unknown> {
  const decided = await enforcer.checkResult(action, result, ctx, { decisionId, requireReservation: true });
  const recorded = await enforcer.record(action, ctx, { decisionId });
  return { ...decided, settled: recorded.settled };
}

void main();
