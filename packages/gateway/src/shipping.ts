/**
 * The gateway's audit log with decision shipping (`--ship-to URL`): the local file is the chain,
 * and a shipper (the runtime's createDecisionShipper) sends what the file stored to a collector.
 * Used by `armor mcp` (in its process) and `armor serve` (in the decision worker).
 *
 * What the shipper reports becomes log lines, without flooding them: the first failure of a
 * streak and the recovery after it, a full buffer, dropped and unshipped records. Every event is
 * also handed to `onEvent`, for whoever counts them (metrics).
 */
import { type AuditLog, createAuditLog, createDecisionShipper, type DecisionShipper, fileSink, type ShipEvent } from "@agent-armor/runtime";
import { auditFileName } from "./audit-file-name.js";

/** Decision shipping as the command line and the config file give it: plain data (it crosses to the decision worker). */
export interface ShipConfig {
  url: string;
  token?: string;
  /** "deny": decisions fail closed while the buffer is full; "drop" (default): dropped records are declared in the chain. */
  overflow?: "drop" | "deny";
  batchRecords?: number;
  flushIntervalMs?: number;
  bufferRecords?: number;
  requestTimeoutMs?: number;
}

export interface ShippedLog {
  log: AuditLog;
  shipper: DecisionShipper;
}

/** The collector as logs may show it: its origin and path, never a query string (it may hold a key). */
export function collectorName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "the collector";
  }
}

/** The log lines of a shipper's events: a streak of failures is one line, and its end another. */
export function shipEventLogger(url: string, log: (line: string) => void): (e: ShipEvent) => void {
  const where = collectorName(url);
  let failingSince: number | null = null;
  return (e) => {
    switch (e.type) {
      case "failed":
        if (failingSince === null) log(`decision shipping to ${where} failed: ${e.error}; retrying with backoff`);
        failingSince ??= Date.now();
        return;
      case "shipped":
        if (failingSince !== null) log(`decision shipping to ${where} recovered after ${Math.round((Date.now() - failingSince) / 1000)} s`);
        failingSince = null;
        return;
      case "full":
        log(
          e.overflow === "deny"
            ? `decision shipping buffer is full (${e.records} records): decisions are denied until ${where} takes records`
            : `decision shipping buffer is full (${e.records} records): records are dropped from shipping (they stay in the local audit log)`,
        );
        return;
      case "dropped":
        log(`decision shipping dropped ${e.count} records (seq ${e.from} to ${e.to})${e.recorded ? "; a shipping record in the audit log says so" : ""}`);
        return;
      case "unshipped":
        log(`decision shipping stopped with ${e.count} records not shipped (seq ${e.from} to ${e.to}): ${e.error}; they are in the local audit log`);
        return;
    }
  };
}

/** The audit log of `file` ({pid} and {host} expanded), teed to a shipper. */
export function shippedAuditLog(file: string, ship: ShipConfig, log: (line: string) => void, onEvent?: (e: ShipEvent) => void): ShippedLog {
  const toLog = shipEventLogger(ship.url, log);
  const shipper = createDecisionShipper({
    ...ship,
    onEvent: (e) => {
      toLog(e);
      onEvent?.(e);
    },
  });
  const audit = createAuditLog({ sinks: [shipper.tee(fileSink(auditFileName(file)))] });
  shipper.attach(audit);
  log(`shipping the audit log's records to ${collectorName(ship.url)}${ship.overflow === "deny" ? " (decisions are denied while its buffer is full)" : ""}`);
  return { log: audit, shipper };
}
