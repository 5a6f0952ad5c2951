/**
 * Prometheus metrics of `armor serve` (`GET /metrics`) and `armor mcp` (`--metrics-port P`),
 * with prom-client. The decisions' metrics come from the enforcer's `TelemetryObserver`, whose
 * label values the runtime bounds (action types the policy does not name are `other`); the
 * service adds its approvals (from their audit records, since the service's approvals are taken
 * on the HTTP thread), policy reloads and the process's default metrics.
 *
 * `armor serve` decides in a worker thread: the decision metrics are kept in a registry there
 * (`decisionMetrics`) and the scrape joins its text to the HTTP thread's (`serviceMetrics`); the
 * two never hold a metric of the same name.
 */

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DecisionEvent, FailCause, ShipEvent, TelemetryObserver } from "@agent-armor/runtime";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { createAccess } from "./http-access.js";
import { dispatch, type Route } from "./http-dispatch.js";
import { type ProbeSources, probeRoutes } from "./probes.js";

/** The content type of a scrape. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Latency buckets in seconds: decisions take microseconds to milliseconds, audit writes with fsync up to tens of ms. */
const FAST_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Approval waits: seconds to hours. */
const WAIT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/**
 * The metrics of the decisions, in `registry` (the decision worker's, or the gateway's own), as
 * the enforcer's observer; `approvals` where the enforcer asks for approvals itself (`armor mcp`).
 */
export function decisionMetrics(registry: Registry, approvals: ApprovalMetrics | null): TelemetryObserver {
  const decisions = new Counter({
    name: "armor_decisions_total",
    help: "Decisions on record, by decision, deciding rule (none: the default), action type (other: a type the policy does not name) and stage",
    labelNames: ["decision", "rule", "action_type", "stage"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "armor_decision_duration_seconds",
    help: "From the policy's evaluation to the decision on record",
    labelNames: ["decision", "stage"] as const,
    buckets: FAST_BUCKETS,
    registers: [registry],
  });
  const failClosed = new Counter({ name: "armor_fail_closed_total", help: "Decisions denied because something failed, by cause", labelNames: ["cause"] as const, registers: [registry] });
  const audit = new Histogram({
    name: "armor_audit_write_duration_seconds",
    help: "Audit writes, by whether they stored the record",
    labelNames: ["outcome"] as const,
    buckets: FAST_BUCKETS,
    registers: [registry],
  });
  return {
    decision(e: DecisionEvent) {
      decisions.inc({ decision: e.decision, rule: e.rule, action_type: e.actionType, stage: e.stage });
      latency.observe({ decision: e.decision, stage: e.stage }, e.seconds);
    },
    approvalAsked: () => approvals?.asked(),
    approvalAnswered: (outcome: string, seconds: number) => approvals?.answered(outcome, seconds),
    failClosed: (cause: FailCause) => failClosed.inc({ cause }),
    auditWrite: (seconds: number, ok: boolean) => audit.observe({ outcome: ok ? "ok" : "failed" }, seconds),
  };
}

export interface ApprovalMetrics {
  asked(): void;
  answered(outcome: string, seconds: number): void;
}

/** The outcomes an approval's wait is labelled with; anything else is `error`. */
const OUTCOMES = new Set(["approved", "rejected", "timeout", "error", "unavailable"]);

/** Approvals pending and their wait, in `registry`. */
export function approvalMetrics(registry: Registry): ApprovalMetrics {
  const pending = new Gauge({ name: "armor_approvals_pending", help: "Approvals asked and not yet answered", registers: [registry] });
  const wait = new Histogram({
    name: "armor_approval_wait_seconds",
    help: "How long approvals took to be answered, by outcome",
    labelNames: ["outcome"] as const,
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  return {
    asked: () => pending.inc(),
    answered(outcome, seconds) {
      pending.dec();
      wait.observe({ outcome: OUTCOMES.has(outcome) ? outcome : "error" }, seconds);
    },
  };
}

/** What the gateway itself counts: approvals, policy reloads by result, and the process's default metrics. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly approvals: ApprovalMetrics;
  reloaded(result: "ok" | "failed"): void;
  /** The scrape: this registry's text, then `more` (the decision worker's). */
  scrape(more?: string): Promise<string>;
}

export function serviceMetrics(registry: Registry = new Registry()): ServiceMetrics {
  collectDefaultMetrics({ register: registry });
  const approvals = approvalMetrics(registry);
  const reloads = new Counter({ name: "armor_policy_reloads_total", help: "Policy reloads, by result", labelNames: ["result"] as const, registers: [registry] });
  // both results exist from the start, so that a dashboard's rate() has a series before the first reload
  reloads.inc({ result: "ok" }, 0);
  reloads.inc({ result: "failed" }, 0);
  return {
    registry,
    approvals,
    reloaded: (result) => reloads.inc({ result }),
    scrape: async (more) => {
      const own = await registry.metrics();
      return more === undefined || more === "" ? own : `${own.endsWith("\n") ? own : `${own}\n`}${more}`;
    },
  };
}

/**
 * Decision shipping's metrics (`--ship-to`), from the shipper's events: records shipped, dropped
 * by a full buffer and refused by the collector, failed POSTs by status class, and the records
 * waiting in the buffer. In the HTTP thread's registry (the events of `armor serve`'s worker come
 * to it as messages). Every series exists from the start.
 */
export function shippingMetrics(registry: Registry): (event: ShipEvent) => void {
  const records = new Counter({ name: "armor_shipping_records_total", help: "Audit records sent to the collector, by result", labelNames: ["result"] as const, registers: [registry] });
  const failed = new Counter({ name: "armor_shipping_batches_failed_total", help: "Batches the collector did not take, by status class", labelNames: ["status"] as const, registers: [registry] });
  const buffered = new Gauge({ name: "armor_shipping_buffer_records", help: "Audit records waiting to be shipped, the batch in flight included", registers: [registry] });
  for (const result of ["shipped", "dropped", "refused"]) records.inc({ result }, 0);
  for (const status of ["none", "4xx", "5xx", "other"]) failed.inc({ status }, 0);
  return (e) => {
    switch (e.type) {
      case "shipped":
        records.inc({ result: "shipped" }, e.records);
        buffered.set(e.buffered);
        return;
      case "failed": {
        const s = e.status;
        failed.inc({ status: s === null ? "none" : s >= 400 && s < 500 ? "4xx" : s >= 500 && s < 600 ? "5xx" : "other" });
        buffered.set(e.buffered);
        return;
      }
      case "full":
        buffered.set(e.records);
        return;
      case "dropped":
        records.inc({ result: "dropped" }, e.count);
        return;
      case "refused":
        records.inc({ result: "refused" }, e.count);
        return;
      case "unshipped":
        buffered.set(e.count);
        return;
    }
  };
}

/**
 * The service's approvals, read from the approval records it writes (serve-approvals.ts):
 * `requested` starts a wait, `approved`, `rejected`, `timeout` and `error` end it. At most
 * `max` waits are followed at once (the service bounds its pending approvals far below that).
 */
export function approvalRecordMetrics(approvals: ApprovalMetrics, max = 100_000): (fields: Record<string, unknown>) => void {
  const started = new Map<string, number>();
  return (fields) => {
    const id = fields.decisionId;
    const event = fields.event;
    if (typeof id !== "string" || typeof event !== "string") return;
    if (event === "requested") {
      if (started.size >= max || started.has(id)) return;
      started.set(id, performance.now());
      approvals.asked();
    } else if (OUTCOMES.has(event)) {
      const at = started.get(id);
      if (at === undefined) return;
      started.delete(id);
      approvals.answered(event, (performance.now() - at) / 1000);
    }
  };
}

/** The route that answers a scrape. */
export function metricsRoute(scrape: () => Promise<string>): Route {
  return {
    methods: {
      GET: async (_req, res) => {
        const text = await scrape();
        res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" });
        res.end(text);
      },
    },
  };
}

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `armor mcp --metrics-port P`: `GET /metrics`, and with `probes` `GET /livez` and `GET /readyz`
 * (probes.ts), on 127.0.0.1 (MCP itself runs over stdio). Any local process may scrape it;
 * requests that name another host or carry a browser `Origin` are refused as by the service
 * (http-access.ts).
 */
export async function startMetricsServer(scrape: () => Promise<string>, port: number, log: (line: string) => void, probes?: ProbeSources): Promise<MetricsServer> {
  const host = "127.0.0.1";
  let access = createAccess({}, { host, port });
  const routes: Record<string, Route> = { "/metrics": metricsRoute(scrape), ...(probes !== undefined ? probeRoutes(probes) : {}) };
  const notFound = `the routes are ${Object.keys(routes)
    .map((r) => `GET ${r}`)
    .join(", ")}`;
  const server: Server = createServer((req, res) => {
    void dispatch(req, res, { access, find: (path) => (Object.hasOwn(routes, path) ? routes[path] : undefined), notFound: () => notFound, maxBody: 0, log });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  access = createAccess({}, { host, port: bound });
  return {
    url: `http://${host}:${bound}/metrics`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
