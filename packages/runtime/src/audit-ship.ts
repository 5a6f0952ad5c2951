/**
 * Decision shipping: the audit log's records sent in batches to an HTTP collector, modelled on
 * OPA's decision-log API (a JSON array of records per POST, gzipped, batched by count, bytes and
 * time, retried with exponential backoff and jitter, `Retry-After` honoured).
 *
 * The local chain stays the source of truth. The shipper sees a record only after a local sink
 * stored it (`tee` wraps that sink: the record is buffered once the sink's write succeeded), and
 * ships the stored line as it is: each record carries its `seq`, `prev` and `hash`, and each
 * batch names its chain (`X-Armor-Chain-Id`: the hash of the chain's first record, seq 0, which
 * the collector checks when it gets that record), the chain position before it
 * (`X-Armor-Chain-Prev`) and its seq range (`X-Armor-Chain-Seq: FIRST-LAST`), so a collector can
 * tell chains apart (replicas, or a new file after a restart, each start at seq 0), check
 * continuity, verify each chain (verifyAuditLog over its records in seq order, `shipped: true`)
 * and drop the duplicates a retry delivers (a batch whose answer was lost is sent again: delivery
 * is at least once, and (chain, seq) makes it exactly once for a collector that keys by it).
 *
 * A batch the collector refuses for good (a 4xx but 408 and 429) is sent again record by record;
 * a record still refused on its own is skipped, and a `shipping` record appended to the chain
 * declares it (`refused`, `from`, `to`, `status`), as a full buffer's drop is declared.
 *
 * The buffer is bounded (records and bytes, the batch in flight included). When it is full:
 * - `overflow: "drop"` (default): the records stay in the local chain but are not shipped; once
 *   there is room again, a `shipping` record is appended to the chain (and so shipped) saying
 *   how many were dropped, which seq range, and why;
 * - `overflow: "deny"`: the tee refuses the write before the local sink sees it, so the record is
 *   not stored, the log declares it with a gap record, and the enforcer denies the decision
 *   naming the full buffer (fail closed) until the collector takes records again.
 *
 * Nothing here reads a record's fields but its top-level `seq` and `prev`, as own properties of
 * the parsed line; the line itself is shipped byte for byte.
 */
import type { AuditLog, AuditSink, SyncSinkWriter } from "./audit.js";
import { backoffMs, gzip, isPermanentStatus, postBatch } from "./audit-ship-http.js";

export interface ShipperOptions {
  /** The collector: an http(s) URL that takes a POST of a JSON array of records. */
  url: string;
  /** Sent as `Authorization: Bearer TOKEN`. */
  token?: string;
  /** Gzip each batch (`Content-Encoding: gzip`; default true). */
  gzip?: boolean;
  /** A batch holds at most this many records (default 500) ... */
  batchRecords?: number;
  /** ... and this many bytes (UTF-8) of JSON before compression (default 1 MiB; a larger record goes alone). */
  batchBytes?: number;
  /** A partial batch waits at most this long for more records (default 1 s). */
  flushIntervalMs?: number;
  /** The buffer holds at most this many records (default 10,000) ... */
  bufferRecords?: number;
  /** ... and this many bytes (UTF-8, default 64 MiB), the batch in flight included. */
  bufferBytes?: number;
  /** What a full buffer does (see above; default "drop"). */
  overflow?: "drop" | "deny";
  /** How long one POST may take, answer included (default 10 s). */
  requestTimeoutMs?: number;
  /** The first retry's wait (default 500 ms), doubled per failure up to `maxBackoffMs` (default 60 s), with jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long close() keeps trying to ship what is buffered (default 5 s). */
  closeTimeoutMs?: number;
  /**
   * The chain's id, sent as `X-Armor-Chain-Id`: the `hash` of its first record (seq 0). Without
   * it, the shipper takes the hash of the record with seq 0 when it stores it; give it when the
   * log resumes a chain whose first record is already stored (the gateway reads it from the file).
   */
  chainId?: string;
  /** Told about every batch shipped or failed, every overflow and what close() left behind (e.g. for metrics and logs). */
  onEvent?: (event: ShipEvent) => void;
  /** For tests: the jitter's random numbers in [0, 1). */
  random?: () => number;
}

export type ShipEvent =
  /** `buffered`: the records still waiting after this event (for a gauge of the buffer's fill). */
  | { type: "shipped"; records: number; bytes: number; from: number; to: number; buffered: number }
  /** `error` is the status and a fixed description; `detail`, what the collector's answer said (for a log line only). */
  | { type: "failed"; records: number; attempt: number; status: number | null; error: string; detail: string; retryInMs: number; buffered: number }
  /** A record the collector refused on its own (a 4xx but 408 and 429), skipped; declared by a `shipping` record in the chain unless `recorded` is false. */
  | { type: "refused"; count: number; from: number; to: number; status: number; recorded: boolean }
  /** The buffer became full: from now records are dropped (or refused, with overflow "deny"). */
  | { type: "full"; records: number; bytes: number; overflow: "drop" | "deny" }
  /** Records dropped by a full buffer, now declared by a `shipping` record in the chain (or, with `recorded: false`, only here). */
  | { type: "dropped"; count: number; from: number; to: number; recorded: boolean }
  /** close() gave up with these records still buffered. */
  | { type: "unshipped"; count: number; from: number; to: number; error: string };

export interface ShipperStats {
  /** Records waiting (the batch in flight included) and their bytes. */
  buffered: number;
  bufferedBytes: number;
  shipped: number;
  dropped: number;
  /** Records the collector refused on their own, skipped (declared in the chain). */
  refused: number;
  /** Failed POSTs since the last one that succeeded (0 when the collector is taking records). */
  failing: number;
  /** The last failure (its status and a fixed description), or null once a batch has been shipped after it. */
  lastError: string | null;
}

export interface DecisionShipper {
  /**
   * A sink that writes to `sink` and ships what it stored. Its name is the sink's own, so gap
   * records and `armorc audit verify --sink` name the same sink as without shipping.
   */
  tee(sink: AuditSink): AuditSink;
  /** The log whose chain gets the `shipping` records that declare dropped records. */
  attach(log: AuditLog): void;
  /**
   * Takes the records an earlier process stored but did not ship (read back from the local file),
   * ahead of any record stored since: lines that are not records (a write torn by a crash) are
   * left out. `skipped`, records between the last one shipped and the first of `lines` that are
   * not given (more than the buffer holds), is declared in the chain as a full buffer's drop is.
   * Call it before the log stores anything.
   */
  resume(lines: readonly string[], skipped?: { count: number; from: number; to: number; reason: string }): void;
  /** Resolves once everything buffered now has been shipped, or `timeoutMs` passed (false then). */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Ships what it can within `closeTimeoutMs`, reports the rest (`unshipped`), and stops. */
  close(): Promise<void>;
  stats(): ShipperStats;
}

/** The shipper refused a record because its buffer is full (overflow "deny"): the decision fails closed. */
export class ShippingBufferFull extends Error {
  override readonly name = "ShippingBufferFull";
}

const DEFAULTS = {
  batchRecords: 500,
  batchBytes: 1024 * 1024,
  flushIntervalMs: 1_000,
  bufferRecords: 10_000,
  bufferBytes: 64 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  initialBackoffMs: 500,
  maxBackoffMs: 60_000,
  closeTimeoutMs: 5_000,
};

/** The longest `Retry-After` honoured (a collector cannot stop shipping for longer than this at a time). */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new TypeError(`decision shipping: ${name} must be a positive number, not ${String(v)}`);
  return v;
}

/** `seq`, `prev`, `hash` and `kind` of a stored line, read as own properties. */
function position(line: string): { seq: number; prev: string; hash: string; kind: unknown; declaresRefused: boolean } {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    const own = (k: string): unknown => (Object.hasOwn(r, k) ? r[k] : undefined);
    const seq = own("seq");
    const prev = own("prev");
    const hash = own("hash");
    const kind = own("kind");
    return {
      seq: typeof seq === "number" ? seq : -1,
      prev: typeof prev === "string" ? prev : "",
      hash: typeof hash === "string" ? hash : "",
      kind,
      declaresRefused: kind === "shipping" && own("refused") !== undefined,
    };
  } catch {
    return { seq: -1, prev: "", hash: "", kind: undefined, declaresRefused: false };
  }
}

const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * The UTF-8 size of a string: what a line takes in the file and in a batch. An ASCII line (most
 * are: canonical JSON of ids, times and hashes) is its length, found by one regex scan (about
 * 1 µs for a 370-character record, against 5 µs for the loop below); otherwise one pass over its
 * code units (a lone surrogate counts 3, as TextEncoder writes U+FFFD).
 */
export function utf8Length(s: string): number {
  if (!NON_ASCII.test(s)) return s.length;
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // a pair: 4 bytes for 2 units
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

export function createDecisionShipper(options: ShipperOptions): DecisionShipper {
  let target: URL;
  try {
    target = new URL(options.url);
  } catch {
    throw new TypeError(`decision shipping: the collector's URL is not a URL: ${JSON.stringify(String(options.url).slice(0, 200))}`);
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new TypeError(`decision shipping: the collector's URL must be http(s), not ${target.protocol}`);
  if (target.username !== "" || target.password !== "") throw new TypeError("decision shipping: put the collector's credentials in a token, not in its URL");
  const url = target.href;
  // the collector as records and errors name it: origin and path, never a query string (it may hold a key)
  const where = `${target.origin}${target.pathname}`;
  if (options.chainId !== undefined && !/^[0-9a-f]{64}$/.test(options.chainId)) throw new TypeError("decision shipping: chainId is the hash of the chain's first record (64 hex digits)");
  const o = {
    batchRecords: Math.floor(positive("batchRecords", options.batchRecords, DEFAULTS.batchRecords)),
    batchBytes: positive("batchBytes", options.batchBytes, DEFAULTS.batchBytes),
    flushIntervalMs: positive("flushIntervalMs", options.flushIntervalMs, DEFAULTS.flushIntervalMs),
    bufferRecords: Math.floor(positive("bufferRecords", options.bufferRecords, DEFAULTS.bufferRecords)),
    bufferBytes: positive("bufferBytes", options.bufferBytes, DEFAULTS.bufferBytes),
    requestTimeoutMs: positive("requestTimeoutMs", options.requestTimeoutMs, DEFAULTS.requestTimeoutMs),
    initialBackoffMs: positive("initialBackoffMs", options.initialBackoffMs, DEFAULTS.initialBackoffMs),
    maxBackoffMs: positive("maxBackoffMs", options.maxBackoffMs, DEFAULTS.maxBackoffMs),
    closeTimeoutMs: positive("closeTimeoutMs", options.closeTimeoutMs, DEFAULTS.closeTimeoutMs),
  };
  const overflow = options.overflow ?? "drop";
  if (overflow !== "drop" && overflow !== "deny") throw new TypeError(`decision shipping: overflow is "drop" or "deny", not ${JSON.stringify(overflow)}`);
  const compress = options.gzip ?? true;
  const random = options.random ?? Math.random;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (compress) headers["content-encoding"] = "gzip";
  if (options.token !== undefined) {
    if (/[\r\n]/.test(options.token) || options.token === "") throw new TypeError("decision shipping: the token must be one non-empty line");
    headers.authorization = `Bearer ${options.token}`;
  }

  const emit = (e: ShipEvent): void => {
    try {
      options.onEvent?.(e);
    } catch {
      // a listener that throws changes nothing here
    }
  };

  // the buffer: lines[head..] are waiting, sizes[head..] their UTF-8 bytes with the newline
  let lines: string[] = [];
  let sizes: number[] = [];
  let chainId: string | null = options.chainId ?? null;
  // the first stored line was read for the chain's id (only a chain's seq 0 gives it)
  let chainChecked = chainId !== null;
  // after a batch the collector refused for good, this many records go one by one
  let singles = 0;
  let refusedTotal = 0;
  let head = 0;
  let bytes = 0;
  // room taken by writes that the local sink has not finished (overflow "deny")
  let reservedRecords = 0;
  let reservedBytes = 0;
  let shipped = 0;
  let droppedTotal = 0;
  let failing = 0;
  let lastError: string | null = null;
  let full = false;
  // dropped records not yet declared in the chain
  let drop: { count: number; from: number; to: number; reason?: string } | null = null;
  let log: AuditLog | null = null;
  let closed = false;
  let closing: Promise<void> | null = null;
  let closeBy = Number.POSITIVE_INFINITY;

  // the pump's one wait at a time, which wake() ends early
  let waking: (() => void) | null = null;
  /** Waits `ms` (forever for Infinity) or until wake(); its timer does not keep the process alive where the platform can say so. */
  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (waking === done) waking = null;
        resolve();
      };
      if (ms !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(done, ms);
        (timer as unknown as { unref?(): void }).unref?.();
      }
      waking = done;
    });
  const wake = (): void => waking?.();
  // the pump waits for the first record
  let idle = false;
  let flushWanted = false;
  const flushWaiters: Array<(flushed: boolean) => void> = [];

  const count = (): number => lines.length - head;
  const hasRoom = (n: number, size: number): boolean => count() + reservedRecords + n <= o.bufferRecords && bytes + reservedBytes + size <= o.bufferBytes;

  function noteFull(): void {
    if (full) return;
    full = true;
    emit({ type: "full", records: count(), bytes, overflow });
  }

  function fullError(): ShippingBufferFull {
    return new ShippingBufferFull(
      `the decision shipping buffer is full (${count()} records and ${bytes} bytes held; at most ${o.bufferRecords} records and ${o.bufferBytes} bytes) because ${where} is not taking records${lastError !== null ? ` (${lastError})` : ""}; decisions are denied until it does`,
    );
  }

  /** Takes stored lines into the buffer; with no room, drops them (overflow "drop"). */
  function accept(stored: readonly string[]): void {
    for (const line of stored) {
      if (!chainChecked) {
        chainChecked = true;
        const first = position(line);
        if (first.seq === 0 && /^[0-9a-f]{64}$/.test(first.hash)) chainId = first.hash;
      }
      const size = utf8Length(line) + 1;
      if (hasRoom(1, size)) {
        lines.push(line);
        sizes.push(size);
        bytes += size;
        continue;
      }
      noteFull();
      const { seq } = position(line);
      droppedTotal++;
      if (drop === null) drop = { count: 1, from: seq, to: seq };
      else {
        drop.count++;
        drop.to = seq;
      }
    }
    if (idle || count() >= o.batchRecords || bytes >= o.batchBytes) wake();
  }

  /** Splits the text a synchronous writer got into its lines. */
  function splitLines(text: string): string[] {
    const out = text.split("\n");
    if (out[out.length - 1] === "") out.pop();
    return out;
  }

  function tee(sink: AuditSink): AuditSink {
    const inner = Object.hasOwn(sink, "syncWriter") ? sink.syncWriter : undefined;
    const wrapped: AuditSink = {
      ...(sink.name !== undefined ? { name: sink.name } : {}),
      async write(line) {
        const size = utf8Length(line) + 1;
        if (overflow === "deny") {
          if (!hasRoom(1, size)) {
            noteFull();
            throw fullError();
          }
          reservedRecords++;
          reservedBytes += size;
        }
        let stored = false;
        try {
          await sink.write(line);
          stored = true;
        } catch (e) {
          // a write that may have been stored stays in the chain: it is shipped too
          stored = typeof e === "object" && e !== null && (e as { mayBeStored?: unknown }).mayBeStored === true;
          throw e;
        } finally {
          if (overflow === "deny") {
            reservedRecords--;
            reservedBytes -= size;
          }
          if (stored && !closed) accept([line]);
        }
      },
      ...(typeof sink.resume === "function" ? { resume: () => sink.resume!() } : {}),
      async close() {
        await shipper.close();
        await sink.close?.();
      },
    };
    if (inner !== undefined) {
      const writer: SyncSinkWriter = {
        ready: () => inner.ready(),
        write(text) {
          const stored = splitLines(text);
          if (overflow === "deny" && !hasRoom(stored.length, utf8Length(text))) {
            noteFull();
            throw fullError();
          }
          inner.write(text);
          if (!closed) accept(stored);
        },
      };
      // not enumerable, as fileSink's own (see AuditSink.syncWriter)
      Object.defineProperty(wrapped, "syncWriter", { value: writer, enumerable: false });
    }
    return wrapped;
  }

  /** The next batch: up to batchRecords records and batchBytes bytes (at least one; one while `singles`), and its bytes. */
  function nextBatch(): { batch: string[]; size: number } {
    const batch: string[] = [];
    let size = 0;
    const most = singles > 0 ? 1 : o.batchRecords;
    for (let i = head; i < lines.length && batch.length < most; i++) {
      if (batch.length > 0 && size + sizes[i]! > o.batchBytes) break;
      batch.push(lines[i]!);
      size += sizes[i]!;
    }
    return { batch, size };
  }

  function remove(n: number, size: number): void {
    head += n;
    bytes -= size;
    if (head > 1024 && head * 2 > lines.length) {
      lines = lines.slice(head);
      sizes = sizes.slice(head);
      head = 0;
    }
  }

  /** Declares a record the collector refused on its own, in the chain (unless it is itself such a declaration). */
  function declareRefused(line: string, status: number): void {
    const { seq, declaresRefused } = position(line);
    refusedTotal++;
    const d = { count: 1, from: seq, to: seq, status };
    if (log === null || closed || declaresRefused) {
      emit({ type: "refused", ...d, recorded: false });
      return;
    }
    log
      .append({
        kind: "shipping",
        decisionId: `shipping-refused-${seq}`,
        time: new Date().toISOString(),
        refused: 1,
        from: seq,
        to: seq,
        status,
        reason: `the collector refused the record (status ${status}); it is in the local audit log`,
      })
      .then(
        () => emit({ type: "refused", ...d, recorded: true }),
        () => emit({ type: "refused", ...d, recorded: false }),
      );
  }

  /** Declares the records a full buffer dropped, in the chain (the record is shipped in turn). */
  function declareDrop(): void {
    if (drop === null || !hasRoom(1, 1024)) return;
    const d = drop;
    drop = null;
    full = false;
    const fields = {
      kind: "shipping" as const,
      decisionId: `shipping-dropped-${d.from}-${d.to}`,
      time: new Date().toISOString(),
      dropped: d.count,
      from: d.from,
      to: d.to,
      reason:
        d.reason ?? `the decision shipping buffer was full (${o.bufferRecords} records or ${o.bufferBytes} bytes) while ${where} was not taking records${lastError !== null ? `: ${lastError}` : ""}`,
    };
    if (log === null || closed) {
      emit({ type: "dropped", ...d, recorded: false });
      return;
    }
    log.append(fields).then(
      () => emit({ type: "dropped", ...d, recorded: true }),
      () => emit({ type: "dropped", ...d, recorded: false }),
    );
  }

  /** Sends a batch until it is taken ("shipped"), refused for good with that status, or close() runs out of time ("stopped"). */
  async function send(batch: string[], size: number): Promise<"shipped" | "stopped" | number> {
    const first = position(batch[0]!);
    const last = batch.length > 1 ? position(batch[batch.length - 1]!) : first;
    const text = `[${batch.join(",")}]`;
    const body = compress ? await gzip(text) : text;
    for (let attempt = 1; ; attempt++) {
      const outcome = await postBatch({
        url,
        body,
        headers: { ...headers, ...(chainId !== null ? { "x-armor-chain-id": chainId } : {}), "x-armor-chain-prev": first.prev, "x-armor-chain-seq": `${first.seq}-${last.seq}` },
        timeoutMs: Math.max(1, Math.min(o.requestTimeoutMs, closeBy - Date.now())),
      });
      if (outcome.ok) {
        shipped += batch.length;
        failing = 0;
        lastError = null;
        emit({ type: "shipped", records: batch.length, bytes: size, from: first.seq, to: last.seq, buffered: count() - batch.length });
        return "shipped";
      }
      failing++;
      lastError = outcome.error;
      const permanent = isPermanentStatus(outcome.status);
      // a Retry-After of 0 or in the past never shortens the backoff
      const backoff = backoffMs(attempt, o.initialBackoffMs, o.maxBackoffMs, random);
      const delay = permanent ? 0 : Math.max(backoff, outcome.retryAfterMs !== null ? Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS) : 0);
      emit({ type: "failed", records: batch.length, attempt, status: outcome.status, error: outcome.error ?? "failed", detail: outcome.detail, retryInMs: delay, buffered: count() });
      if (permanent) return outcome.status!;
      if (Date.now() + delay >= closeBy) return "stopped";
      await wait(delay);
      if (Date.now() >= closeBy) return "stopped";
    }
  }

  function settleFlushes(): void {
    if (count() > 0) return;
    flushWanted = false;
    for (const w of flushWaiters.splice(0)) w(true);
  }

  async function pump(): Promise<void> {
    for (;;) {
      if (count() === 0) {
        settleFlushes();
        if (closing !== null) return;
        idle = true;
        await wait(Number.POSITIVE_INFINITY);
        idle = false;
        continue;
      }
      if (singles === 0 && count() < o.batchRecords && bytes < o.batchBytes && !flushWanted && closing === null) {
        await wait(o.flushIntervalMs);
      }
      const { batch, size } = nextBatch();
      const sent = await send(batch, size);
      if (sent === "stopped") return;
      if (typeof sent === "number") {
        if (batch.length > 1) {
          // refused for good: its records go one by one, to find the ones refused on their own
          singles = batch.length;
          continue;
        }
        // one record refused on its own: skipped, and declared in the chain
        remove(1, size);
        if (singles > 0) singles--;
        declareRefused(batch[0]!, sent);
        settleFlushes();
        continue;
      }
      if (singles > 0) singles--;
      remove(batch.length, size);
      if (drop !== null) declareDrop();
      else full = false;
      settleFlushes();
    }
  }
  const pumping = pump();

  const shipper: DecisionShipper = {
    tee,
    attach(l) {
      log = l;
    },
    resume(stored, skipped) {
      if (skipped !== undefined && skipped.count > 0) {
        droppedTotal += skipped.count;
        drop = { ...skipped };
      }
      accept(stored.filter((line) => position(line).seq >= 0));
    },
    flush(timeoutMs = o.closeTimeoutMs) {
      if (count() === 0) return Promise.resolve(true);
      flushWanted = true;
      wake();
      return new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), timeoutMs) as unknown as { unref?(): void };
        t.unref?.();
        flushWaiters.push((flushed) => {
          clearTimeout(t as unknown as Parameters<typeof clearTimeout>[0]);
          resolve(flushed);
        });
      });
    },
    close() {
      closing ??= (async () => {
        closeBy = Date.now() + o.closeTimeoutMs;
        flushWanted = true;
        wake();
        await pumping;
        closed = true;
        if (count() > 0) {
          const from = position(lines[head]!).seq;
          const to = position(lines[lines.length - 1]!).seq;
          emit({ type: "unshipped", count: count(), from, to, error: lastError ?? "close() ran out of time" });
        }
        if (drop !== null) {
          emit({ type: "dropped", ...drop, recorded: false });
          drop = null;
        }
        for (const w of flushWaiters.splice(0)) w(count() === 0);
      })();
      return closing;
    },
    stats: () => ({ buffered: count(), bufferedBytes: bytes, shipped, dropped: droppedTotal, refused: refusedTotal, failing, lastError }),
  };
  return shipper;
}
