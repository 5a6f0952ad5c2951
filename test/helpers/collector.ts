/**
 * A decision-log collector for tests (node:http): takes the shipper's POSTs (a JSON array of
 * audit records, gzipped or not), keeps each record once by `seq` and counts duplicates, and can
 * be told to answer with a status, a `Retry-After`, late, or not at all (stopped).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export interface Delivery {
  at: number;
  status: number;
  records: number;
  headers: IncomingMessage["headers"];
}

/**
 * How the collector answers a request: `null` takes the batch and answers 200; otherwise the
 * status (the batch taken only with `take`), after `delayMs`.
 */
export type Answer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number; take?: boolean } | null;

export interface Collector {
  url: string;
  port: number;
  /** Records by seq, each as the text it was shipped as (re-serialized from the batch). */
  records: Map<number, string>;
  duplicates: number;
  deliveries: Delivery[];
  /** Decides the answer to each request, from its number and its records (default: take every batch). */
  answer: (n: number, batch: readonly Record<string, unknown>[]) => Answer;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The received records in seq order, as JSON Lines. */
  text(): string;
}

export async function startCollector(port = 0): Promise<Collector> {
  let server: Server | null = null;
  let requests = 0;
  const c: Collector = {
    url: "",
    port,
    records: new Map(),
    duplicates: 0,
    deliveries: [],
    answer: () => null,
    async stop() {
      const s = server;
      server = null;
      if (s === null) return;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    },
    async start() {
      const s = createServer((req, res) => void handle(req, res));
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(c.port, "127.0.0.1", () => resolve());
      });
      server = s;
      c.port = (s.address() as AddressInfo).port;
      c.url = `http://127.0.0.1:${c.port}/logs`;
    },
    text() {
      return [...c.records.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, line]) => `${line}\n`)
        .join("");
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    let parsed: Record<string, unknown>[] = [];
    try {
      parsed = JSON.parse((req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("utf8")) as Record<string, unknown>[];
    } catch {
      // take() reports it
    }
    const answer = c.answer(requests++, parsed);
    const records = answer === null || answer.take === true ? take(raw, req.headers["content-encoding"] === "gzip") : 0;
    if (answer?.delayMs !== undefined) await new Promise((r) => setTimeout(r, answer.delayMs));
    const status = answer?.status ?? 200;
    c.deliveries.push({ at: Date.now(), status, records, headers: req.headers });
    if (res.destroyed) return;
    res.writeHead(status, answer?.headers ?? { "content-type": "application/json" });
    res.end(answer?.body ?? "{}");
  }

  /** Keeps a batch's records by seq; how many it held. */
  function take(raw: Buffer, gzipped: boolean): number {
    const batch = JSON.parse((gzipped ? gunzipSync(raw) : raw).toString("utf8")) as Record<string, unknown>[];
    for (const r of batch) {
      const seq = r.seq as number;
      if (c.records.has(seq)) c.duplicates++;
      else c.records.set(seq, JSON.stringify(r));
    }
    return batch.length;
  }

  await c.start();
  return c;
}
