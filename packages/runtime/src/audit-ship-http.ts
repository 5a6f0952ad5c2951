/**
 * One batch of audit records POSTed to a collector, for the decision shipper (audit-ship.ts):
 * `fetch` and `CompressionStream`, so the runtime core stays free of Node built-ins. Every
 * exchange is bounded: the request and the answer together within a timeout (a collector that
 * hangs is aborted), at most `MAX_ERROR_BODY` bytes of an error answer read (a huge or endless
 * body is cut), redirects never followed (a collector cannot send records to another host), and
 * a 2xx body is not read at all (what it says is not ours to trust).
 */

/** How much of an answer's body is read to explain a failure. */
export const MAX_ERROR_BODY = 2048;

export interface PostOutcome {
  ok: boolean;
  /** The HTTP status, or null when no answer came (connection refused, timeout). */
  status: number | null;
  /** From a `Retry-After` header (seconds or an HTTP date), in milliseconds; null without one. */
  retryAfterMs: number | null;
  /** Why it failed, in one line: the status and a fixed description, never the collector's words; null when ok. */
  error: string | null;
  /** What the collector's error answer said (at most 200 characters, control characters replaced), for a log line only; "" without one. */
  detail: string;
}

export interface PostRequest {
  url: string;
  body: Uint8Array | string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** The text gzipped with the platform's CompressionStream. */
export async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d{1,20}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** At most `max` bytes of a body as text (one line), then the rest is cancelled. */
async function bodyExcerpt(res: Response, max: number, signal: AbortSignal): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max && !signal.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(Math.min(size, max));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, bytes.length - at);
    bytes.set(part, at);
    at += part.length;
    if (at >= bytes.length) break;
  }
  // control characters (a terminal escape, a newline) never reach a log line from here
  return new TextDecoder()
    .decode(bytes)
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    .trim()
    .slice(0, 200);
}

/** A fixed description of an error status (never text the collector chose). */
function statusText(status: number): string {
  if (isPermanentStatus(status)) return status === 413 ? "the batch is too large: refused" : "the batch was refused";
  if (status === 408 || status === 429) return "not now: retried";
  if (status >= 500) return "a server error: retried";
  return "not a success: retried";
}

/**
 * A status that says the collector will never take this batch, whatever the wait: a 4xx but
 * 408 (timeout) and 429 (too many requests). The shipper sends such a batch again record by
 * record, and skips (and declares) a record that is refused on its own.
 */
export function isPermanentStatus(status: number | null): boolean {
  return status !== null && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function describeError(e: unknown): string {
  const err = e as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  if (err?.name === "AbortError" || err?.name === "TimeoutError") return "no answer in time";
  const cause = err?.cause;
  const detail = typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : null;
  const message = typeof err?.message === "string" ? err.message : String(e);
  return detail !== null ? `${message} (${detail})` : message;
}

/** Posts one batch; never throws. */
export async function postBatch(req: PostRequest): Promise<PostOutcome> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), req.timeoutMs);
  try {
    const res = await fetch(req.url, { method: "POST", body: req.body, headers: req.headers, redirect: "manual", signal: abort.signal });
    const retryAfter = retryAfterMs(res.headers.get("retry-after"), Date.now());
    if (res.status >= 200 && res.status < 300) {
      void res.body?.cancel().catch(() => undefined);
      return { ok: true, status: res.status, retryAfterMs: null, error: null, detail: "" };
    }
    if (res.status >= 300 && res.status < 400) {
      void res.body?.cancel().catch(() => undefined);
      let where = "elsewhere";
      try {
        const location = res.headers.get("location");
        if (location !== null) where = new URL(location, req.url).host || where;
      } catch {
        // a Location that is no URL
      }
      return { ok: false, status: res.status, retryAfterMs: retryAfter, error: `the collector answered ${res.status}, a redirect: redirects are not followed`, detail: `to ${where}` };
    }
    // a body that stops coming still leaves the status to report
    const excerpt = await bodyExcerpt(res, MAX_ERROR_BODY, abort.signal).catch(() => "");
    return { ok: false, status: res.status, retryAfterMs: retryAfter, error: `the collector answered ${res.status} (${statusText(res.status)})`, detail: excerpt };
  } catch (e) {
    return { ok: false, status: null, retryAfterMs: null, error: abort.signal.aborted ? `no answer within ${req.timeoutMs} ms` : describeError(e), detail: "" };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The wait before retry number `attempt` (1, 2, ...): exponential from `initialMs`, capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so that many shippers that failed
 * together do not retry together, and no retry comes at once.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}
