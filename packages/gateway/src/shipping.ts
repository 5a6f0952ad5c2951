/**
 * The gateway's audit log with decision shipping (`--ship-to URL`): the local file is the chain,
 * and a shipper (the runtime's createDecisionShipper) sends what the file stored to a collector.
 * Used by `armor mcp` (in its process) and `armor serve` (in the decision worker).
 *
 * What the shipper reports becomes log lines, without flooding them: the first failure of a
 * streak and the recovery after it, a full buffer, dropped and unshipped records. Every event is
 * also handed to `onEvent`, for whoever counts them (metrics).
 *
 * Nothing stored is left unshipped by a crash: a cursor beside the file says how far shipping
 * went, and a process that starts on the file ships what is after it first (ship-resume.ts).
 */

import { type AuditLog, createAuditLog, createDecisionShipper, type DecisionShipper, fileSink, type ShipEvent } from "@agent-armor/runtime";
import { auditFileName } from "./audit-file-name.js";
import { chainIdOfFile, cursorFileOf, resumePlan, writeShipCursor } from "./ship-resume.js";

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

/** The default buffer of the runtime's shipper, in records (audit-ship.ts). */
const DEFAULT_BUFFER_RECORDS = 10_000;

/**
 * The audit log of `file` ({pid} and {host} expanded), teed to a shipper whose batches name the
 * file's chain; what an earlier process stored and did not ship goes first (ship-resume.ts).
 */
export function shippedAuditLog(file: string, ship: ShipConfig, log: (line: string) => void, onEvent?: (e: ShipEvent) => void): ShippedLog {
  const toLog = shipEventLogger(ship.url, log);
  const path = auditFileName(file);
  const chainId = chainIdOfFile(path);
  // half the buffer at most, so that new records still have room
  const plan = resumePlan(path, chainId, Math.max(1, Math.floor((ship.bufferRecords ?? DEFAULT_BUFFER_RECORDS) / 2)), collectorName(ship.url));
  let shippedUpTo = Number.NEGATIVE_INFINITY;
  // a new file's chain id, read from its record 0 once it holds one (not again per batch)
  let chain = chainId ?? null;
  const saveCursor = (seq: number): void => {
    if (seq <= shippedUpTo) return;
    shippedUpTo = seq;
    if (chain === null && seq >= 0) chain = chainIdOfFile(path) ?? null;
    try {
      writeShipCursor(path, { chain, seq });
    } catch (e) {
      log(`decision shipping: cannot store the cursor ${cursorFileOf(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; after a crash, records may be shipped again`);
    }
  };
  const shipper = createDecisionShipper({
    ...ship,
    ...(chainId !== undefined ? { chainId } : {}),
    onEvent: (e) => {
      if (e.type === "shipped" || e.type === "refused") saveCursor(e.to);
      toLog(e);
      onEvent?.(e);
    },
  });
  saveCursor(plan.after);
  if (plan.lines.length > 0 || plan.skipped !== undefined) shipper.resume(plan.lines, plan.skipped);
  if (plan.note !== null) log(plan.note);
  const audit = createAuditLog({ sinks: [shipper.tee(fileSink(path))] });
  shipper.attach(audit);
  log(`shipping the audit log's records to ${collectorName(ship.url)}${ship.overflow === "deny" ? " (decisions are denied while its buffer is full)" : ""}`);
  return { log: audit, shipper };
}
