/**
 * The gateway's audit log with decision shipping (`--ship-to URL`): the local file is the chain,
 * and a shipper (the runtime's createDecisionShipper) sends what the file stored to a collector.
 * Used by `armor mcp` (in its process) and `armor serve` (in the decision worker).
 *
 * What the shipper reports becomes log lines, without flooding them: the first failure of a
 * streak and the recovery after it, a full buffer, dropped and unshipped records. Every event is
 * also handed to `onEvent`, for whoever counts them (metrics).
 *
 * Nothing stored is left unshipped by a crash: beside the file, `FILE.shipped` holds the cursor,
 * the chain and the seq of the last record the collector took (or skipped with a declaration),
 * written after each batch. A process that starts on a file with a cursor ships the records after
 * it first (read back from the end of the file, at most the buffer's worth; an older remainder is
 * declared dropped), then what it stores. Delivery stays at least once: a batch taken just before
 * a kill, whose cursor was not yet written, is sent again, and the collector keeps (chain, seq)
 * once.
 */

import { closeSync, fstatSync, openSync, readSync, renameSync, writeFileSync } from "node:fs";
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

/** Where shipping of a file stands: its chain (null before the file held record 0) and the last seq shipped (-1: none). */
export interface ShipCursor {
  chain: string | null;
  seq: number;
}

/** The cursor file of an audit file. */
export const cursorFileOf = (path: string): string => `${path}.shipped`;

/** The cursor stored beside `path`, or undefined when there is none or it is not one. */
export function readShipCursor(path: string): ShipCursor | undefined {
  let text: string;
  try {
    const fd = openSync(cursorFileOf(path), "r");
    try {
      const buf = Buffer.alloc(256);
      text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  try {
    const c = JSON.parse(text) as Record<string, unknown>;
    const chain = Object.hasOwn(c, "chain") ? c.chain : undefined;
    const seq = Object.hasOwn(c, "seq") ? c.seq : undefined;
    if ((chain !== null && (typeof chain !== "string" || !/^[0-9a-f]{64}$/.test(chain))) || !Number.isSafeInteger(seq) || (seq as number) < -1) return undefined;
    return { chain, seq: seq as number };
  } catch {
    return undefined;
  }
}

/** Stores the cursor (a new file renamed over the old, so a kill leaves the old or the new one whole). */
export function writeShipCursor(path: string, cursor: ShipCursor): void {
  const target = cursorFileOf(path);
  writeFileSync(`${target}.tmp`, `${JSON.stringify(cursor)}\n`);
  renameSync(`${target}.tmp`, target);
}

/** The seq of a stored line, as an own property; -1 when it has none (a torn write, not a record). */
function seqOfLine(line: string): number {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    return Object.hasOwn(r, "seq") && Number.isSafeInteger(r.seq) ? (r.seq as number) : -1;
  } catch {
    return -1;
  }
}

/**
 * The lines of `path` from the last to the first, read backwards a chunk at a time, so that a
 * reader that stops early pays for the tail it read, not the file.
 */
export function* linesBackwards(path: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return;
  }
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    let end = fstatSync(fd).size;
    // the start of a line whose end was read with the chunk after
    let carried = Buffer.alloc(0);
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const text = Buffer.concat([chunk.subarray(0, n), carried]);
      end = start;
      let stop = text.length;
      for (let nl = text.lastIndexOf(0x0a, stop - 1); nl >= 0; nl = text.lastIndexOf(0x0a, stop - 1)) {
        if (nl + 1 < stop) yield text.subarray(nl + 1, stop).toString("utf8");
        stop = nl;
      }
      carried = Buffer.from(text.subarray(0, stop));
    }
    if (carried.length > 0) yield carried.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** The seq of the last record of `path`, -1 when it holds none. */
export function lastSeqOf(path: string): number {
  for (const line of linesBackwards(path)) {
    const seq = seqOfLine(line);
    if (seq >= 0) return seq;
  }
  return -1;
}

/**
 * The records of `path` after seq `after`, in order: at most `most` (the newest); `skipped`, the
 * range of older ones after `after` that were not taken.
 */
export function unshippedTail(path: string, after: number, most: number): { lines: string[]; skipped: { count: number; from: number; to: number } | undefined } {
  const newest: string[] = [];
  let full = false;
  for (const line of linesBackwards(path)) {
    const seq = seqOfLine(line);
    if (seq < 0) continue;
    if (seq <= after) break;
    if (newest.length === most) {
      full = true;
      break;
    }
    newest.push(line);
  }
  newest.reverse();
  const first = newest.length > 0 ? seqOfLine(newest[0]!) : after + 1;
  const skipped = full && first > after + 1 ? { count: first - after - 1, from: after + 1, to: first - 1 } : undefined;
  return { lines: newest, skipped };
}

/** The default buffer of the runtime's shipper, in records (audit-ship.ts). */
const DEFAULT_BUFFER_RECORDS = 10_000;

/**
 * The audit log of `file` ({pid} and {host} expanded), teed to a shipper whose batches name the
 * file's chain; the records an earlier process stored after its cursor are shipped first.
 */
export function shippedAuditLog(file: string, ship: ShipConfig, log: (line: string) => void, onEvent?: (e: ShipEvent) => void): ShippedLog {
  const toLog = shipEventLogger(ship.url, log);
  const path = auditFileName(file);
  const chainId = chainIdOfFile(path);
  const cursor = readShipCursor(path);
  // no cursor: shipping starts with this process, after what the file already holds; a cursor of
  // another chain (the file was replaced): none of the file's records was shipped from here
  const after = cursor === undefined ? lastSeqOf(path) : cursor.chain === null || cursor.chain === (chainId ?? null) ? cursor.seq : -1;
  let shippedUpTo = Number.NEGATIVE_INFINITY;
  const saveCursor = (seq: number): void => {
    if (seq <= shippedUpTo) return;
    shippedUpTo = seq;
    try {
      writeShipCursor(path, { chain: chainId ?? chainIdOfFile(path) ?? null, seq });
    } catch (e) {
      log(`decision shipping: cannot store the cursor ${cursorFileOf(path)}: ${(e as Error).message}; after a crash, records may be shipped again`);
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
  saveCursor(after);
  const { lines, skipped } = unshippedTail(path, after, Math.max(1, Math.floor((ship.bufferRecords ?? DEFAULT_BUFFER_RECORDS) / 2)));
  if (lines.length > 0) {
    shipper.resume(lines, skipped);
    log(
      `decision shipping: ${lines.length} records stored but not shipped before this start are shipped first${skipped !== undefined ? ` (${skipped.count} older ones are declared dropped: more than the buffer holds)` : ""}`,
    );
  }
  const audit = createAuditLog({ sinks: [shipper.tee(fileSink(path))] });
  shipper.attach(audit);
  log(`shipping the audit log's records to ${collectorName(ship.url)}${ship.overflow === "deny" ? " (decisions are denied while its buffer is full)" : ""}`);
  return { log: audit, shipper };
}
