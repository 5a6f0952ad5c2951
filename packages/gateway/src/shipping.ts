/**
 * The gateway's audit log with decision shipping (`--ship-to URL`): the local file is the chain,
 * and a shipper (the runtime's createDecisionShipper) sends what the file stored to a collector.
 * Used by `armor mcp` (in its process) and `armor serve` (in the decision worker).
 *
 * What the shipper reports becomes log lines, without flooding them: the first failure of a
 * streak and the recovery after it, a full buffer, dropped and unshipped records. Every event is
 * also handed to `onEvent`, for whoever counts them (metrics).
 */

import { closeSync, openSync, readSync } from "node:fs";
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
        // the collector's own words only here, their control characters replaced (audit-ship-http.ts)
        if (failingSince === null) log(`decision shipping to ${where} failed: ${e.error}${e.detail !== "" ? `: ${e.detail}` : ""}; retrying with backoff`);
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
      case "refused":
        log(
          `decision shipping: ${where} refused record ${e.from} (status ${e.status}); it was skipped${e.recorded ? " and a shipping record in the audit log says so" : ""} (it is in the local audit log)`,
        );
        return;
      case "unshipped":
        log(`decision shipping stopped with ${e.count} records not shipped (seq ${e.from} to ${e.to}): ${e.error}; they are in the local audit log`);
        return;
    }
  };
}

/**
 * The id of the chain a file holds: the hash of its first record (seq 0), read from its first
 * line (at most 1 MiB); undefined when the file is missing, empty or does not start a chain (the
 * shipper then takes the id from record 0 when it is stored).
 */
export function chainIdOfFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(1024 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString("utf8");
    const nl = text.indexOf("\n");
    if (nl < 0) return undefined;
    const first = JSON.parse(text.slice(0, nl)) as Record<string, unknown>;
    return first.seq === 0 && typeof first.hash === "string" && /^[0-9a-f]{64}$/.test(first.hash) ? first.hash : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The audit log of `file` ({pid} and {host} expanded), teed to a shipper whose batches name the file's chain. */
export function shippedAuditLog(file: string, ship: ShipConfig, log: (line: string) => void, onEvent?: (e: ShipEvent) => void): ShippedLog {
  const toLog = shipEventLogger(ship.url, log);
  const path = auditFileName(file);
  const chainId = chainIdOfFile(path);
  const shipper = createDecisionShipper({
    ...ship,
    ...(chainId !== undefined ? { chainId } : {}),
    onEvent: (e) => {
      toLog(e);
      onEvent?.(e);
    },
  });
  const audit = createAuditLog({ sinks: [shipper.tee(fileSink(path))] });
  shipper.attach(audit);
  log(`shipping the audit log's records to ${collectorName(ship.url)}${ship.overflow === "deny" ? " (decisions are denied while its buffer is full)" : ""}`);
  return { log: audit, shipper };
}
