/**
 * The tamper-evident audit log: a hash chain of records written as JSON Lines.
 *
 * Every record carries `seq` (0, 1, 2, … across process restarts), `kind`, `decisionId`, `time`,
 * the caller's other fields, `prev` (the `hash` of the previous record, or 64 zeros for the
 * first) and `hash` = sha256(canonicalJson(record without `hash`)). A line is the canonical JSON
 * of the whole record, so the stored text is deterministic. Editing, deleting, inserting or
 * reordering records breaks the chain, and `verifyAuditLog` (audit-verify.ts) says where.
 * (Truncating the newest records cannot be detected from the file alone: anchor the latest hash
 * elsewhere when that matters.)
 *
 * A sink that fails does not break the chain. A record that no sink stored is taken back (its
 * `seq` is used by the next record), so the chain continues from the last record that was
 * stored; a sink that missed records others stored (or may have stored: a write that timed out)
 * is behind. Before the next record, the log writes a `gap` record, chained normally, that says
 * how many records were lost and why, and which seq each sink that is behind misses
 * (`missing: [{ sink, from, to }]`); verification accepts exactly that range as missing there.
 * A record is only written to sinks that are not behind, so no sink ever holds a record that
 * does not follow the one before it or a declared gap. A writer on the path of every action (the enforcer) may hand over
 * records it serialized itself (SerializedRecord); they are stored as the same text.
 *
 * The core imports nothing Node-only: `fileSink` loads node:fs/promises on first use, so the log
 * with stream or callback sinks runs in Deno, Bun and edge runtimes (hash.ts uses node:crypto,
 * which they provide). One writer per chain: two processes appending to one file fork it.
 */
import type { FileHandle } from "node:fs/promises";
import { canonicalJson, canonicalJsonOrUndefined, quoteKey, sha256 } from "./hash.js";
import { withTimeout } from "./timers.js";
import type { AuditRecord } from "./types.js";

/** The `prev` of the first record. */
export const GENESIS_HASH = "0".repeat(64);

/** What the caller gives `append`: everything but `seq`, `prev` and `hash`, which the log adds. */
export interface AuditFields {
  /** `shipping`: records the decision shipper dropped from a full buffer (audit-ship.ts). */
  kind: "decision" | "outcome" | "result" | "output" | "approval" | "shipping";
  decisionId: string;
  /** ISO-8601 time. */
  time: string;
  [field: string]: unknown;
}

/** Where a chain continues: the next record's `seq` and `prev`. */
export interface ChainState {
  seq: number;
  prev: string;
  /** Lines after the last whole record that are not records (a write torn by a crash); resume() only. */
  torn?: number;
}

export interface AuditSink {
  /** Names the sink in errors ("file audit.jsonl"); optional. */
  readonly name?: string;
  /**
   * Stores one record. `line` is its canonical JSON without a newline (JSON Lines sinks add
   * one). Resolves once the record is stored as durably as the sink promises; rejects or throws
   * if it is not.
   */
  write(line: string): Promise<void> | void;
  close?(): Promise<void> | void;
  /** Chain state to continue from, if the sink already holds records. */
  resume?(): Promise<ChainState | null> | ChainState | null;
  /**
   * Synchronous writing, for a sink that can store records without waiting (a file sink without
   * fsync, once open); optional. A log whose every sink has one writes through them on its fast
   * path (AuditAppender). Read once, when the log is made, and only as the sink's own property:
   * a value that `Object.prototype` was given is never used. It writes past `write`, so a sink
   * that wraps another by replacing `write` must not carry the other's `syncWriter`; `fileSink`'s
   * is not enumerable, so a spread copy (`{ ...fileSink(p), write }`) does not take it along.
   */
  readonly syncWriter?: SyncSinkWriter;
}

/** A sink's synchronous writer (AuditSink.syncWriter). */
export interface SyncSinkWriter {
  /** Whether a write now would be synchronous and in order after everything written before. */
  ready(): boolean;
  /** Writes whole lines (each with its newline) at once; throws on failure. */
  write(text: string): void;
}

export interface SinkFailure {
  sink: string;
  error: unknown;
}

/**
 * Set on an error thrown by a sink's write when the record may have been stored nonetheless (a
 * write that timed out, a write whose durability is unknown): the chain then keeps the record.
 * Without it, a failed write means the record is not in the sink.
 */
const MAY_BE_STORED = "mayBeStored";

/** A sink write that did not settle in time; the sink may still store the record later. */
export class AuditSinkTimeout extends Error {
  override readonly name = "AuditSinkTimeout";
  readonly mayBeStored = true;
  constructor(
    readonly sink: string,
    readonly timeoutMs: number,
  ) {
    super(`${sink} did not store the record within ${timeoutMs} ms`);
  }
}

/** A record (or the chain state) could not be written to, read from, or closed on a sink. */
export class AuditWriteError extends Error {
  override readonly name = "AuditWriteError";
  /** The first sink that failed. */
  readonly sink: string;
  /** Every sink that failed, with its error; `cause` is the first error. */
  readonly failures: readonly SinkFailure[];
  /** The record that was not stored everywhere (null for resume and close failures). */
  readonly record: AuditRecord | null;

  constructor(message: string, failures: readonly SinkFailure[], record: AuditRecord | null) {
    super(message, { cause: failures[0]?.error });
    this.sink = failures[0]?.sink ?? "unknown sink";
    this.failures = failures;
    this.record = record;
  }
}

export interface AuditLogOptions {
  sinks: readonly AuditSink[];
  /**
   * How long a sink's write may take before it counts as failed (default 5 seconds): a sink that
   * never settles cannot stall the log. The record may still arrive there late; it stays in the
   * chain, and the sink is behind until the next gap record.
   */
  writeTimeoutMs?: number;
  /** Called with every AuditWriteError (in addition to the rejection), e.g. to raise an alarm. */
  onError?: (error: AuditWriteError) => void;
}

export interface AuditLog {
  /** Appends one record; resolves with it as stored, once every sink has stored it. */
  append(fields: AuditFields): Promise<AuditRecord>;
  /** Resolves when every append made so far has settled. */
  flush(): Promise<void>;
  /** Flushes, then closes every sink; later appends reject. */
  close(): Promise<void>;
}

/**
 * The fast path of an audit log, for a writer that appends on the path of every action (the
 * enforcer). createAuditLog's logs have it; `appenderFor` gives one for any AuditLog.
 */
export interface AuditAppender {
  /**
   * Appends like `append`, without building the stored record for the caller. When the chain
   * state is known, nothing is queued and every sink can write synchronously, the record is
   * written before this returns, and it returns null; with `defer` (records nothing waits on),
   * the record is chained at once and written with the next record, at the end of this
   * event-loop turn, by flush() or close(), or at process exit, whichever comes first, and if
   * that write fails the next append rejects. Otherwise it returns the promise of a queued
   * append. It never throws: a failure is a rejection.
   */
  appendNow(fields: AuditFields | SerializedRecord, defer: boolean): Promise<void> | null;
}

const HASH_RE = /^[0-9a-f]{64}$/;
const RESERVED = ["seq", "prev", "hash"] as const;
/** The kinds of record a caller may append (the log writes `gap` records itself). */
const RECORD_KINDS = new Set<unknown>(["decision", "outcome", "result", "output", "approval", "shipping"]);

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isChainState(v: unknown): v is ChainState {
  if (typeof v !== "object" || v === null) return false;
  const { seq, prev } = v as Record<string, unknown>;
  return Number.isSafeInteger(seq) && (seq as number) >= 0 && typeof prev === "string" && HASH_RE.test(prev);
}

function validateFields(fields: AuditFields): void {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) throw new TypeError("audit fields must be an object");
  if (!RECORD_KINDS.has(fields.kind)) throw new TypeError(`audit record kind must be "decision", "outcome", "result", "output", "approval" or "shipping", not ${JSON.stringify(fields.kind)}`);
  if (typeof fields.decisionId !== "string" || fields.decisionId === "") throw new TypeError("audit record decisionId must be a non-empty string");
  if (typeof fields.time !== "string") throw new TypeError("audit record time must be a string");
  for (const k of RESERVED) {
    if (Object.hasOwn(fields, k)) throw new TypeError(`audit fields must not set \`${k}\`: the log assigns it`);
  }
}

/** Validates the caller's fields and snapshots them as plain JSON, so later mutation cannot leak in. */
function snapshotFields(fields: AuditFields): Record<string, unknown> {
  validateFields(fields);
  return JSON.parse(canonicalJson(fields)) as Record<string, unknown>;
}

// ---- records serialized by their writer ------------------------------------------------

/**
 * A record that its writer serialized itself, for records written on the path of every action
 * (the enforcer's). Its canonical JSON without `hash` is `head + tail(seq, prev)`: `head` is `{`
 * and the members that sort before `hash` (`decisionId` is one), each with its comma; the tail
 * holds the rest (`kind`, `prev` and `seq` among them) and the closing brace. The log hashes
 * exactly that text and writes `head`, `"hash":"…",`, tail. Nothing is serialized twice.
 * `head + tail` must be exactly the canonical JSON of `fields()` with `seq` and `prev` added;
 * records.test.ts holds the enforcer's records to that. `tail` is called synchronously on the
 * fast path, or later when the append is queued, so a record must hold text, not live objects.
 */
export abstract class SerializedRecord {
  abstract readonly head: string;
  abstract tail(seq: number, prev: string): string;
  /** The record as fields, for an AuditLog that serializes its records itself. */
  abstract fields(): AuditFields;
}

/** A line and its hash: the record at a chain position. */
interface ChainedLine {
  line: string;
  hash: string;
}

function serializedLine(record: SerializedRecord, seq: number, prev: string): ChainedLine {
  const head = record.head;
  const body = head + record.tail(seq, prev);
  // Hashing flattens the body (its many small pieces copied into one string, in place); the line
  // is then cut from that flat text, which is several times cheaper than assembling it again
  // from the pieces of head and tail, and than encoding such a string for writing.
  const hash = sha256(body);
  return { line: `${body.slice(0, head.length)}"hash":"${hash}",${body.slice(head.length)}`, hash };
}

// ---- the synchronous fast path ----------------------------------------------------------
//
// The enforcer appends through a log's `appendNow` (AuditAppender), as `appendQuietly` does:
// when the chain state is known, nothing is queued and every sink can write synchronously (a
// file sink without fsync, once open: AuditSink.syncWriter), the record is built and handed to
// the kernel (one write(2) per sink) before `appendNow` returns, so the record is in the file
// before the caller's next step (the tool runs only after that), exactly as durable as an
// awaited write without fsync, and in the same order. Otherwise it falls back to the queued path
// that `append` takes. The record text is the same either way.

/** The line of the record for `fields` at a chain position (the text buildAuditRecord writes), and its hash. */
function recordLine(fields: Record<string, unknown>, seq: number, prev: string): ChainedLine {
  const keys = Object.keys(fields);
  keys.push("seq", "prev");
  keys.sort();
  const parts: string[] = [];
  const names: string[] = [];
  for (const k of keys) {
    const x = canonicalJsonOrUndefined(k === "seq" ? seq : k === "prev" ? prev : fields[k]);
    if (x === undefined) continue;
    parts.push(`${quoteKey(k)}:${x}`);
    names.push(k);
  }
  const hash = sha256(`{${parts.join(",")}}`);
  let at = 0;
  while (at < names.length && names[at]! < "hash") at++;
  parts.splice(at, 0, `"hash":"${hash}"`);
  return { line: `{${parts.join(",")}}`, hash };
}

/** A sink's synchronous writer, if it has one of its own (see AuditSink.syncWriter). */
function syncWriterOf(sink: AuditSink): SyncSinkWriter | null {
  return Object.hasOwn(sink, "syncWriter") && sink.syncWriter !== undefined ? sink.syncWriter : null;
}

/** Logs that may hold deferred records (until their end-of-turn flush): written at process exit at the latest. */
const deferredLogs = new Set<() => void>();
let exitHook = false;
function onExitFlush(flush: () => void): void {
  deferredLogs.add(flush);
  if (exitHook) return;
  exitHook = true;
  const p = (globalThis as { process?: { on?(e: string, f: () => void): unknown } }).process;
  p?.on?.("exit", () => {
    for (const f of [...deferredLogs]) f();
  });
}

/**
 * Appends like `log.append`, without building the stored record for the caller: the log's
 * `appendNow` (AuditAppender) when it has one, so on a log from createAuditLog whose sinks can
 * write synchronously, the record is written (or, with `defer`, chained) before this returns.
 */
export function appendQuietly(log: AuditLog, fields: AuditFields | SerializedRecord, defer = false): Promise<void> {
  return appendNow(log, fields, defer) ?? Promise.resolve();
}

/** appendQuietly, returning null instead of a resolved promise when the record was written (or deferred) synchronously. */
export function appendNow(log: AuditLog, fields: AuditFields | SerializedRecord, defer = false): Promise<void> | null {
  return appenderFor(log)(fields, defer);
}

/**
 * appendNow bound to one log, for a caller that appends to it on every action: the log's own
 * `appendNow` (an own property, as createAuditLog's logs have it; one that `Object.prototype`
 * was given is never used), else `append` with the record as fields.
 */
export function appenderFor(log: AuditLog): AuditAppender["appendNow"] {
  if (Object.hasOwn(log, "appendNow")) {
    const fast = (log as AuditLog & Partial<AuditAppender>).appendNow;
    if (typeof fast === "function") return (fields, defer) => fast.call(log, fields, defer);
  }
  return (fields) => log.append(fields instanceof SerializedRecord ? fields.fields() : fields).then(() => undefined);
}

/** The record for `fields` at a chain position, and its line. */
export function buildAuditRecord(fields: Record<string, unknown>, seq: number, prev: string): { record: AuditRecord; line: string } {
  const body: Record<string, unknown> = { ...fields, seq, prev };
  delete body.hash;
  const hash = sha256(canonicalJson(body));
  const line = canonicalJson({ ...body, hash });
  return { record: JSON.parse(line) as AuditRecord, line };
}

/** The default of AuditLogOptions.writeTimeoutMs. */
export const DEFAULT_WRITE_TIMEOUT_MS = 5_000;

/** A sink's failure to store records, with its index and whether the records may be there anyway. */
interface Missed extends SinkFailure {
  index: number;
  maybe: boolean;
}

function mayBeStored(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as Record<string, unknown>)[MAY_BE_STORED] === true;
}

function describeFailures(failures: readonly SinkFailure[]): string {
  return failures.map((f) => `${f.sink} (${messageOf(f.error)})`).join(", ");
}

export function createAuditLog(options: AuditLogOptions): AuditLog & AuditAppender {
  const sinks = [...options.sinks];
  if (sinks.length === 0) throw new TypeError("an audit log needs at least one sink");
  const names = sinks.map((s, i) => s.name ?? `sink ${i}`);
  const all = sinks.map((_, i) => i);
  const timeoutMs = options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  let state: ChainState | null = null;
  // Per sink, the seq of the first record of the chain it missed, or -1 when it holds every one;
  // `behindCount` sinks are behind. A gap record brings a sink back.
  const behind: number[] = sinks.map(() => -1);
  let behindCount = 0;
  // records that no sink stored since the last gap record (taken back from the chain), and why
  let lost = 0;
  const lostWhy: string[] = [];
  // of those, the writes a crash left torn in a sink's file: the gap record says how many, and
  // verification accepts no more fragments than that before it
  let torn = 0;
  // Appends run one after another on this chain; it never rejects.
  let tail: Promise<unknown> = Promise.resolve();
  // appends queued on `tail` and not settled yet
  let queued = 0;
  let closing: Promise<void> | null = null;

  const report = (e: unknown): void => {
    if (e instanceof AuditWriteError && options.onError) {
      try {
        options.onError(e);
      } catch {
        // an alarm that throws must not change what append reports
      }
    }
  };

  const gapDue = (): boolean => lost > 0 || behindCount > 0;

  function noteLoss(count: number, why: readonly string[]): void {
    lost += count;
    for (const w of why) if (lostWhy.length < 3 && !lostWhy.includes(w)) lostWhy.push(w);
  }

  /**
   * Applies what writing the records from `at` up to `next` to `targets` did. When no target
   * stored them (or may have), they are taken back: the chain continues from `at`, and the next
   * record is a gap record that counts them. Otherwise the chain keeps them, and every target
   * that missed them is behind from `at.seq`.
   */
  function settle(at: ChainState, next: ChainState, targets: readonly number[], missed: readonly Missed[]): void {
    if (missed.length === targets.length && !missed.some((m) => m.maybe)) {
      state = at;
      noteLoss(
        next.seq - at.seq,
        missed.map((m) => `${m.sink}: ${messageOf(m.error)}`),
      );
      return;
    }
    state = next;
    for (const m of missed) {
      if (behind[m.index]! >= 0) continue;
      behind[m.index] = at.seq;
      behindCount++;
    }
  }

  async function init(): Promise<ChainState> {
    if (state) return state;
    const i = sinks.findIndex((s) => typeof s.resume === "function");
    const sink = sinks[i];
    if (i < 0 || !sink?.resume) {
      state = { seq: 0, prev: GENESIS_HASH };
      return state;
    }
    const name = names[i] ?? `sink ${i}`;
    let resumed: unknown;
    try {
      resumed = await sink.resume();
    } catch (error) {
      // state stays unset: the next append tries again
      throw new AuditWriteError(`cannot resume the audit log from ${name}: ${messageOf(error)}`, [{ sink: name, error }], null);
    }
    if (resumed !== null && resumed !== undefined && !isChainState(resumed)) {
      const error = new TypeError(`resume() returned ${JSON.stringify(resumed)}, not { seq, prev } or null`);
      throw new AuditWriteError(`cannot resume the audit log from ${name}: ${error.message}`, [{ sink: name, error }], null);
    }
    const at = (resumed as ChainState | null | undefined) ?? { seq: 0, prev: GENESIS_HASH };
    const tornHere = typeof at.torn === "number" && at.torn > 0 ? at.torn : 0;
    // a torn record left by a crashed writer is lost: the first record of this one says so
    if (tornHere > 0) {
      noteLoss(tornHere, [`${name}: the log ended in ${tornHere === 1 ? "a write" : `${tornHere} writes`} torn by a crash`]);
      torn += tornHere;
    }
    state = { seq: at.seq, prev: at.prev };
    return state;
  }

  // each sink's latest write as the sink handles it: a write that timed out may still complete,
  // so the sink's next write waits for it, and a sink never stores records out of chain order
  const sinkWrites: Promise<unknown>[] = sinks.map(() => Promise.resolve());

  /** One sink's write, after its previous one settled; failing after `timeoutMs` if it has not settled. */
  function writeTo(i: number, line: string): Promise<void> {
    const write = (): void | Promise<void> => sinks[i]!.write(line);
    const writing = sinkWrites[i]!.then(write, write);
    sinkWrites[i] = writing.catch(() => undefined);
    if (!(timeoutMs > 0) || timeoutMs === Infinity) return writing;
    return withTimeout(writing, timeoutMs, () => new AuditSinkTimeout(names[i] ?? `sink ${i}`, timeoutMs));
  }

  /** Writes a line to the `targets` sinks; the ones that did not store it. */
  async function store(line: string, targets: readonly number[]): Promise<Missed[]> {
    const results = await Promise.allSettled(targets.map((i) => writeTo(i, line)));
    const missed: Missed[] = [];
    results.forEach((r, k) => {
      const i = targets[k]!;
      if (r.status === "rejected") missed.push({ index: i, sink: names[i] ?? `sink ${i}`, error: r.reason, maybe: mayBeStored(r.reason) });
    });
    return missed;
  }

  /** The gap record due at `at`: the records lost, and the range each sink that is behind misses. */
  function gapLine(at: ChainState): ChainedLine {
    const missing = all.filter((i) => behind[i]! >= 0).map((i) => ({ sink: names[i] ?? `sink ${i}`, from: behind[i]!, to: at.seq - 1 }));
    const fields: Record<string, unknown> = { kind: "gap", time: new Date().toISOString(), lost, reason: lostWhy.join("; ") };
    if (missing.length > 0) fields.missing = missing;
    if (torn > 0) fields.torn = torn;
    return recordLine(fields, at.seq, at.prev);
  }

  /** Writes the gap record to every sink; the failures when no sink kept it. */
  async function writeGap(): Promise<Missed[] | null> {
    const at = state!;
    const { line, hash } = gapLine(at);
    const missed = await store(line, all);
    if (missed.length === all.length && !missed.some((m) => m.maybe)) return missed;
    state = { seq: at.seq + 1, prev: hash };
    lost = 0;
    lostWhy.length = 0;
    torn = 0;
    for (const i of all) {
      const failed = missed.some((m) => m.index === i);
      if (!failed && behind[i]! >= 0) {
        behind[i] = -1;
        behindCount--;
      } else if (failed && behind[i]! < 0) {
        behind[i] = at.seq;
        behindCount++;
      }
    }
    return null;
  }

  /** Appends one record on the queue; resolves with its line. */
  async function write(entry: Record<string, unknown> | SerializedRecord): Promise<string> {
    await init();
    if (gapDue()) {
      const missed = await writeGap();
      if (missed !== null) {
        noteLoss(
          1,
          missed.map((m) => `${m.sink}: ${messageOf(m.error)}`),
        );
        throw new AuditWriteError(`audit record ${state!.seq} was not stored: the gap record before it was not stored by ${describeFailures(missed)}`, missed, null);
      }
    }
    const at = state!;
    const { line, hash } = entry instanceof SerializedRecord ? serializedLine(entry, at.seq, at.prev) : recordLine(entry, at.seq, at.prev);
    // a sink that is behind gets no record until a gap record explains what it missed
    const targets = all.filter((i) => behind[i]! < 0);
    const skipped: SinkFailure[] = all
      .filter((i) => behind[i]! >= 0)
      .map((i) => ({ sink: names[i] ?? `sink ${i}`, error: new Error(`it missed records from ${behind[i]} on, and the gap record was not stored there`) }));
    const missed = await store(line, targets);
    settle(at, { seq: at.seq + 1, prev: hash }, targets, missed);
    const failures: SinkFailure[] = [...missed.map(({ sink, error }) => ({ sink, error })), ...skipped];
    if (failures.length > 0) throw new AuditWriteError(`audit record ${at.seq} was not stored by ${describeFailures(failures)}`, failures, JSON.parse(line) as AuditRecord);
    return line;
  }

  function enqueue(entry: Record<string, unknown> | SerializedRecord): Promise<string> {
    flushDeferred();
    if (deferredFailure !== null) {
      // a deferred record was lost: this append fails once, so the caller fails closed
      const e = deferredFailure;
      deferredFailure = null;
      return Promise.reject(e);
    }
    queued++;
    const result = tail.then(() => write(entry));
    tail = result.then(
      () => void queued--,
      () => void queued--,
    );
    return result.catch((e: unknown) => {
      report(e);
      throw e;
    });
  }

  // The sinks' synchronous writers, when every sink has one; null when some sink can only write
  // asynchronously.
  const own = sinks.map(syncWriterOf);
  const writers: SyncSinkWriter[] | null = own.every((w) => w !== null) ? (own as SyncSinkWriter[]) : null;
  // records chained on the synchronous path but not written yet (see appendQuietly's `defer`):
  // their lines, each with its newline, and the chain state before the first
  let deferred = "";
  let deferredCount = 0;
  let deferredStart: ChainState = { seq: 0, prev: GENESIS_HASH };
  let deferredFailure: AuditWriteError | null = null;
  // A flush is scheduled for the end of the event-loop turn from the first deferred record on,
  // and until it runs the log stays registered for the exit flush (rather than registering and
  // unregistering it around every record, which the enforcer defers one of per action).
  let flushScheduled = false;

  /**
   * Writes text (whole lines: the records from `at` to the current state) to every writer, and
   * settles the chain; the error names the records.
   */
  function writeAll(writers: readonly SyncSinkWriter[], text: string, at: ChainState, record: () => AuditRecord | null): AuditWriteError | null {
    let missed: Missed[] | null = null;
    for (let i = 0; i < writers.length; i++) {
      try {
        writers[i]!.write(text);
      } catch (error) {
        missed ??= [];
        missed.push({ index: i, sink: names[i] ?? `sink ${i}`, error, maybe: mayBeStored(error) });
      }
    }
    if (missed === null) return null;
    const next = state!;
    settle(at, next, all, missed);
    const first = at.seq,
      last = next.seq - 1;
    const what = first === last ? `audit record ${last}` : `audit records ${first} to ${last}`;
    return new AuditWriteError(
      `${what} ${first === last ? "was" : "were"} not stored by ${describeFailures(missed)}`,
      missed.map(({ sink, error }) => ({ sink, error })),
      record(),
    );
  }

  /** Takes the deferred lines out, for writing. */
  function takeDeferred(): string {
    const text = deferred;
    deferred = "";
    deferredCount = 0;
    return text;
  }

  function flushDeferred(): void {
    if (!flushScheduled) deferredLogs.delete(flushDeferred);
    if (deferredCount === 0 || writers === null) return;
    const e = writeAll(writers, takeDeferred(), deferredStart, () => null);
    if (e !== null) {
      deferredFailure ??= e;
      report(e);
    }
  }

  /** The synchronous path of appendNow: "done", a rejection, or null when it does not apply now. */
  function writeNow(entry: AuditFields | SerializedRecord, defer: boolean): "done" | Promise<void> | null {
    if (state === null || queued > 0 || writers === null) return null;
    for (let i = 0; i < writers.length; i++) if (!writers[i]!.ready()) return null;
    const serialized = entry instanceof SerializedRecord;
    if (!serialized) {
      if (typeof (entry as { toJSON?: unknown }).toJSON === "function") return null;
      validateFields(entry);
    }
    if (deferredFailure !== null) {
      // a deferred record was lost: this append fails once, so the caller fails closed
      const e = deferredFailure;
      deferredFailure = null;
      return Promise.reject(e);
    }
    // after a failure, the gap record goes first, on the queued path
    if (gapDue()) return null;
    const at = state;
    const { line, hash } = serialized ? serializedLine(entry, at.seq, at.prev) : recordLine(entry, at.seq, at.prev);
    state = { seq: at.seq + 1, prev: hash };
    if (defer) {
      if (deferredCount === 0) deferredStart = at;
      deferred += `${line}\n`;
      deferredCount++;
      if (!flushScheduled) {
        flushScheduled = true;
        onExitFlush(flushDeferred);
        setImmediate(() => {
          flushScheduled = false;
          flushDeferred();
        });
      }
      return "done";
    }
    // the deferred records go out in the same write, before this one
    const from = deferredCount > 0 ? deferredStart : at;
    const text = deferredCount > 0 ? `${takeDeferred()}${line}\n` : `${line}\n`;
    const e = writeAll(writers, text, from, () => JSON.parse(line) as AuditRecord);
    if (e !== null) {
      report(e);
      return Promise.reject(e);
    }
    return "done";
  }

  const log: AuditLog & AuditAppender = {
    append(fields) {
      if (closing) return Promise.reject(new Error("the audit log is closed"));
      let snapshot: Record<string, unknown>;
      try {
        snapshot = snapshotFields(fields);
      } catch (e) {
        return Promise.reject(e);
      }
      return enqueue(snapshot).then((line) => JSON.parse(line) as AuditRecord);
    },
    flush() {
      flushDeferred();
      return tail.then(() => undefined);
    },
    close() {
      flushDeferred();
      closing ??= (async () => {
        await tail;
        const results = await Promise.allSettled(sinks.map((s) => Promise.resolve().then(() => s.close?.())));
        const failures: SinkFailure[] = [];
        results.forEach((r, i) => {
          if (r.status === "rejected") failures.push({ sink: names[i] ?? `sink ${i}`, error: r.reason });
        });
        if (failures.length > 0) {
          const e = new AuditWriteError(`cannot close ${failures.map((f) => `${f.sink} (${messageOf(f.error)})`).join(", ")}`, failures, null);
          report(e);
          throw e;
        }
      })();
      return closing;
    },
    appendNow(fields, defer) {
      if (closing) return Promise.reject(new Error("the audit log is closed"));
      try {
        const now = writeNow(fields, defer);
        if (now === "done") return null;
        if (now !== null) return now;
        return enqueue(fields instanceof SerializedRecord ? fields : snapshotFields(fields)).then(() => undefined);
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };
  return log;
}

// ---- sinks -------------------------------------------------------------------------------

export interface FileSinkOptions {
  /** Sync every record to disk (`handle.sync()`) before its write resolves. */
  fsync?: boolean;
}

type Fs = typeof import("node:fs/promises");

let fsModule: Promise<Fs> | null = null;
function loadFs(): Promise<Fs> {
  fsModule ??= import("node:fs/promises");
  return fsModule;
}

type SyncFs = typeof import("node:fs");
/** The size of a file sink's reusable write buffer. */
const SCRATCH_BYTES = 64 * 1024;
let syncFsModule: Promise<SyncFs | null> | null = null;
function loadSyncFs(): Promise<SyncFs | null> {
  syncFsModule ??= import("node:fs").catch(() => null);
  return syncFsModule;
}

function isEnoent(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === "ENOENT";
}

/** True when the file is missing, empty, or ends with a newline. */
async function endsAtLineStart(fs: Fs, path: string): Promise<boolean> {
  let fh: FileHandle;
  try {
    fh = await fs.open(path, "r");
  } catch (e) {
    if (isEnoent(e)) return true;
    throw e;
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    await fh.close();
  }
}

/** The chain state after the last whole record of a file, reading backwards from its end. */
async function resumeFromFile(fs: Fs, path: string): Promise<ChainState | null> {
  let fh: FileHandle;
  try {
    fh = await fs.open(path, "r");
  } catch (e) {
    if (isEnoent(e)) return null;
    throw e;
  }
  try {
    const { size } = await fh.stat();
    let data = Buffer.alloc(0); // the bytes [pos, size)
    let pos = size;
    let chunk = 64 * 1024;
    // `end` is the (absolute) end of the next line to examine, without its newline. A final line
    // without a newline is examined too: it is whole if it parses, a torn write if it does not.
    let end = size;
    // lines after the last whole record that are not records
    let torn = 0;
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] === 0x0a) end = size - 1;
    }
    while (end > 0) {
      const rel = end - pos; // the line ends at data[rel] (exclusive)
      const nl = rel > 0 ? data.lastIndexOf(0x0a, rel - 1) : -1;
      if (nl < 0 && pos > 0) {
        const len = Math.min(chunk, pos);
        const more = Buffer.alloc(len);
        await fh.read(more, 0, len, pos - len);
        pos -= len;
        data = Buffer.concat([more, data]);
        chunk = Math.min(chunk * 2, 16 * 1024 * 1024);
        continue;
      }
      const start = nl < 0 ? 0 : nl + 1; // relative to pos
      const text = data.subarray(start, rel).toString("utf8");
      const record = parseRecordLine(text);
      if (record) return torn > 0 ? { seq: record.seq + 1, prev: record.hash, torn } : { seq: record.seq + 1, prev: record.hash };
      torn++;
      end = nl < 0 ? 0 : pos + nl;
    }
    return torn > 0 ? { seq: 0, prev: GENESIS_HASH, torn } : null;
  } finally {
    await fh.close();
  }
}

function parseRecordLine(text: string): { seq: number; hash: string } | null {
  if (!text.startsWith("{")) return null;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const { seq, hash } = v;
    if (Number.isSafeInteger(seq) && (seq as number) >= 0 && typeof hash === "string" && HASH_RE.test(hash)) return { seq: seq as number, hash };
  } catch {
    // not a whole record
  }
  return null;
}

/**
 * Appends records to a JSON Lines file (Node only): one write per record through a handle
 * opened with "a", and with `fsync`, `handle.sync()` before the write resolves. A write that
 * fails (a full disk) is cut back to the end of the last whole record, so it leaves no fragment;
 * if even that fails, the next record starts on a fresh line after a gap record. `resume()`
 * continues the chain from the last whole record in the file and reports the torn lines after
 * it: a torn final line (a write cut by a crash) is left as evidence, and the log's next record,
 * on a fresh line after it, is a gap record that says so.
 */
export function fileSink(path: string, options: FileSinkOptions = {}): AuditSink {
  let opening: Promise<FileHandle> | null = null;
  // Before the next write, check whether the file ends mid-line (a torn write by a crashed
  // process, or a failed write of ours) and if so start the record on a fresh line.
  let checkLineStart = true;
  // for synchronous writes (without fsync): the open handle's descriptor and node:fs
  let fd: number | null = null;
  let writeSync: SyncFs["writeSync"] | null = null;
  let asyncWrites = 0;

  // The file's size after the last whole record written through this handle: a write that
  // fails is cut back to it, so a full disk leaves no fragment of the record behind.
  let size = 0;
  let truncateSync: SyncFs["ftruncateSync"] | null = null;

  const open = (): Promise<FileHandle> => {
    opening ??= loadFs()
      .then((fs) => fs.open(path, "a"))
      .then(async (fh) => {
        size = (await fh.stat()).size;
        if (!options.fsync) {
          const syncFs = await loadSyncFs();
          writeSync = syncFs?.writeSync ?? null;
          truncateSync = syncFs?.ftruncateSync ?? null;
          fd = fh.fd;
        }
        return fh;
      })
      .catch((e: unknown) => {
        opening = null;
        fd = null;
        throw e;
      });
    return opening;
  };

  // Synchronous writes encode into one reused buffer (UTF-8 takes at most 3 bytes per UTF-16 code
  // unit, so text up to a third of its size always fits): no allocation per record, and the
  // exact byte count, so that a short write (a full disk) is completed or reported, never left
  // as a torn line that the next record would be glued onto.
  let scratch: Buffer | null = null;
  const syncWriter: SyncSinkWriter = {
    ready: () => fd !== null && writeSync !== null && !checkLineStart && asyncWrites === 0 && !options.fsync,
    write(text) {
      let data: Buffer, length: number;
      if (text.length * 3 <= SCRATCH_BYTES) {
        data = scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
        length = data.write(text, 0, "utf8");
      } else {
        data = Buffer.from(text, "utf8");
        length = data.length;
      }
      try {
        let off = 0;
        while (off < length) off += writeSync!(fd!, data, off, length - off);
      } catch (e) {
        checkLineStart = true;
        try {
          truncateSync?.(fd!, size);
        } catch {
          // the fragment stays; the next record starts on a fresh line, after a gap record
        }
        throw e;
      }
      size += length;
    },
  };

  const sink: AuditSink = {
    name: `file ${path}`,
    async write(line) {
      asyncWrites++;
      try {
        await writeAsync(line);
      } finally {
        asyncWrites--;
      }
    },
    async resume() {
      return resumeFromFile(await loadFs(), path);
    },
    async close() {
      const pending = opening;
      opening = null;
      fd = null;
      checkLineStart = true;
      if (pending) await (await pending).close();
    },
  };
  // Not enumerable: a wrapper made by spreading this sink (`{ ...fileSink(p), write }`) does not
  // copy it, so the log keeps calling the wrapper's own write rather than writing past it.
  Object.defineProperty(sink, "syncWriter", { value: syncWriter, enumerable: false });
  return sink;

  async function writeAsync(line: string): Promise<void> {
    const fh = await open();
    let prefix = "";
    if (checkLineStart) {
      if (!(await endsAtLineStart(await loadFs(), path))) prefix = "\n";
      checkLineStart = false;
    }
    const data = Buffer.from(`${prefix}${line}\n`, "utf8");
    let whole = false;
    try {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await fh.write(data, off, data.length - off);
        off += bytesWritten;
      }
      whole = true;
      if (options.fsync) await fh.sync();
    } catch (e) {
      checkLineStart = true;
      try {
        await fh.truncate(size);
      } catch {
        // a record written whole but not synced may be in the file after all
        if (whole && typeof e === "object" && e !== null) (e as Record<string, unknown>)[MAY_BE_STORED] = true;
      }
      throw e;
    }
    size += data.length;
  }
}

/** Anything with a Node-style `write(chunk, callback)`: a Writable, a socket, a custom object. */
export interface WritableLike {
  write(chunk: string, callback: (error?: Error | null) => void): unknown;
  on?(event: "error", listener: (error: Error) => void): unknown;
}

/**
 * Writes each record as a line (with "\n") to a stream; resolves when the stream reports the
 * chunk flushed, rejects on error. If the stream has `on`, an "error" listener is added so that a
 * failing stream rejects appends instead of crashing the process. Closing the log does not end
 * the stream: its owner does.
 */
export function streamSink(writable: WritableLike, name = "stream"): AuditSink {
  let failed: Error | null = null;
  if (typeof writable.on === "function") {
    writable.on("error", (e) => {
      failed ??= e;
    });
  }
  return {
    name,
    write(line) {
      if (failed) return Promise.reject(failed);
      return new Promise<void>((resolve, reject) => {
        try {
          writable.write(`${line}\n`, (e) => (e ? reject(e) : resolve()));
        } catch (e) {
          reject(e);
        }
      });
    },
  };
}

/** Hands each record (a fresh copy) and its line (without newline) to a function. */
export function callbackSink(fn: (record: AuditRecord, line: string) => void | Promise<void>, name = "callback"): AuditSink {
  return {
    name,
    async write(line) {
      await fn(JSON.parse(line) as AuditRecord, line);
    },
  };
}
