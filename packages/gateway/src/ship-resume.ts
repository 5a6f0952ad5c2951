/**
 * Where decision shipping of an audit file stands across restarts. Beside the file, `FILE.shipped`
 * (the cursor) holds the file's chain and the seq of the last record the collector took, or
 * skipped with a declaration; it is written after each batch. A process that starts on the file
 * reads the cursor and ships the records after it first, read back from the end of the file.
 *
 * What the cursor cannot vouch for is never skipped silently: a cursor that is unreadable, of
 * another chain, or past the file's end means none of the file's records is known to be shipped,
 * so its newest records are shipped and the older ones declared. Only a missing cursor (the first
 * start with shipping on this file) starts after the records already there, declaring them as
 * stored before shipping began, so that the collector's copy still verifies.
 */

import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";

/** A line longer than this is not read back (it is skipped as a record too large to hold). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

/** Where shipping of a file stands: its chain (null before the file held record 0) and the last seq shipped (-1: none). */
export interface ShipCursor {
  chain: string | null;
  seq: number;
}

/** The cursor file of an audit file. */
export const cursorFileOf = (path: string): string => `${path}.shipped`;

/** The cursor stored beside `path`: "none" when there is no cursor file, "invalid" (with why) when it cannot be read or is not a cursor. */
export function readShipCursor(path: string): ShipCursor | "none" | { invalid: string } {
  let text: string;
  try {
    const fd = openSync(cursorFileOf(path), "r");
    try {
      const buf = Buffer.alloc(256);
      text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "none" : { invalid: `it cannot be read (${code ?? "error"})` };
  }
  try {
    const c = JSON.parse(text) as Record<string, unknown>;
    const chain = Object.hasOwn(c, "chain") ? c.chain : undefined;
    const seq = Object.hasOwn(c, "seq") ? c.seq : undefined;
    if ((chain !== null && (typeof chain !== "string" || !/^[0-9a-f]{64}$/.test(chain))) || !Number.isSafeInteger(seq) || (seq as number) < -1) return { invalid: "it is not a cursor" };
    return { chain, seq: seq as number };
  } catch {
    return { invalid: "it is not JSON" };
  }
}

/**
 * Stores the cursor: written to a new file of a random name (created exclusively, so never
 * through a link planted there) and renamed over the old one, so a kill leaves the old or the
 * new one whole.
 */
export function writeShipCursor(path: string, cursor: ShipCursor): void {
  const target = cursorFileOf(path);
  const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(cursor)}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, target);
  } catch (e) {
    unlinkSync(temp);
    throw e;
  }
}

/** The seq of a stored line, as an own property; -1 when it has none (a torn write, not a record). */
export function seqOfLine(line: string): number {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    return Object.hasOwn(r, "seq") && Number.isSafeInteger(r.seq) ? (r.seq as number) : -1;
  } catch {
    return -1;
  }
}

/**
 * The id of the chain a file holds: the hash of its first record (seq 0), read from its first
 * line (however long, up to MAX_LINE_BYTES); undefined when the file is missing, empty or does
 * not start a chain (the shipper then takes the id from record 0 when it is stored).
 */
export function chainIdOfFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.alloc(CHUNK_BYTES);
      const n = readSync(fd, chunk, 0, chunk.length, size);
      if (n === 0) return undefined;
      const nl = chunk.subarray(0, n).indexOf(0x0a);
      parts.push(chunk.subarray(0, nl < 0 ? n : nl));
      size += n;
      if (nl >= 0) break;
      if (size > MAX_LINE_BYTES) return undefined;
    }
    const first = JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>;
    const hash = Object.hasOwn(first, "hash") ? first.hash : undefined;
    return first.seq === 0 && typeof hash === "string" && /^[0-9a-f]{64}$/.test(hash) ? hash : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The lines of `path` from the last to the first, read backwards a chunk at a time, so that a
 * reader that stops early pays for the tail it read, not the file. The chunks of a line are kept
 * apart until it is whole (no re-copying: linear in the line's length); a line longer than
 * MAX_LINE_BYTES is given as "" (not a record).
 */
export function* linesBackwards(path: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return;
  }
  try {
    let end = fstatSync(fd).size;
    // the pieces of the line being read, last piece first, and their bytes
    let pieces: Buffer[] = [];
    let pieceBytes = 0;
    const whole = (): string => {
      const line = pieceBytes > MAX_LINE_BYTES ? "" : Buffer.concat(pieces.reverse()).toString("utf8");
      pieces = [];
      pieceBytes = 0;
      return line;
    };
    const keep = (b: Buffer): void => {
      pieceBytes += b.length;
      // past the cap the line is dropped: only its length is still counted
      if (pieceBytes <= MAX_LINE_BYTES) pieces.push(Buffer.from(b));
    };
    while (end > 0) {
      const start = Math.max(0, end - CHUNK_BYTES);
      const chunk = Buffer.alloc(end - start);
      readSync(fd, chunk, 0, chunk.length, start);
      end = start;
      let stop = chunk.length;
      for (let nl = chunk.lastIndexOf(0x0a, stop - 1); nl >= 0; nl = stop > 0 ? chunk.lastIndexOf(0x0a, stop - 1) : -1) {
        keep(chunk.subarray(nl + 1, stop));
        if (pieceBytes > 0) yield whole();
        else whole();
        stop = nl;
      }
      if (stop > 0) keep(chunk.subarray(0, stop));
    }
    if (pieceBytes > 0) yield whole();
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

export interface UnshippedTail {
  lines: string[];
  /** Records after `after` older than the first of `lines`, not taken (more than `most`). */
  skipped: { count: number; from: number; to: number } | undefined;
}

/** The records of `path` after seq `after`, in order: at most `most` (the newest). */
export function unshippedTail(path: string, after: number, most: number): UnshippedTail {
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

/** What a start ships before new records: lines from the file, and a range to declare, with why. */
export interface ResumePlan {
  /** The cursor the start stands on (written at once). */
  after: number;
  lines: string[];
  skipped: { count: number; from: number; to: number; reason: string } | undefined;
  /** A line for the log when the cursor could not be trusted, or records are shipped or declared. */
  note: string | null;
}

/**
 * Where shipping of `path` resumes: after the cursor when it is this chain's and within the file;
 * after the file's last record when there is no cursor (the earlier records declared as stored
 * before shipping began); otherwise from the start of the file (nothing is known to be shipped).
 * At most `most` records are read back; older ones are declared.
 */
export function resumePlan(path: string, chainId: string | undefined, most: number, collector: string): ResumePlan {
  const cursor = readShipCursor(path);
  const last = lastSeqOf(path);
  if (cursor === "none") {
    if (last < 0) return { after: -1, lines: [], skipped: undefined, note: null };
    const skipped = { count: last + 1, from: 0, to: last, reason: `stored before shipping to ${collector} began (they are in the local audit log)` };
    return { after: last, lines: [], skipped, note: `decision shipping starts after the ${last + 1} records already in the audit file; a shipping record declares them` };
  }
  let after = -1;
  let distrust: string | null = null;
  if ("invalid" in cursor) distrust = `the cursor ${cursorFileOf(path)} is unusable (${cursor.invalid})`;
  else if (cursor.chain !== null && cursor.chain !== (chainId ?? null)) distrust = `the cursor ${cursorFileOf(path)} is of another chain (the audit file was replaced)`;
  else if (cursor.chain === null && cursor.seq >= 0) distrust = `the cursor ${cursorFileOf(path)} names no chain`;
  else if (cursor.seq > last) distrust = `the cursor ${cursorFileOf(path)} is past the audit file's last record (${cursor.seq} > ${last})`;
  else after = cursor.seq;
  const tail = unshippedTail(path, after, most);
  const skipped =
    tail.skipped === undefined
      ? undefined
      : { ...tail.skipped, reason: `not shipped before a restart, and more than the shipping buffer takes at start (${most} records); they are in the local audit log` };
  const shipped = tail.lines.length > 0 ? `${tail.lines.length} records stored but not shipped before this start are shipped first` : null;
  const declared = skipped !== undefined ? `${skipped.count} older ones are declared by a shipping record` : null;
  const parts = [distrust !== null ? `${distrust}: shipping the file's newest records` : null, shipped, declared].filter((p): p is string => p !== null);
  return { after, lines: tail.lines, skipped, note: parts.length > 0 ? `decision shipping: ${parts.join("; ")}` : null };
}
