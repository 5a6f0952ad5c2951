#!/usr/bin/env node
/**
 * A tiny decision-log collector: takes the batches `armor serve --ship-to` and `armor mcp
 * --ship-to` POST (a JSON array of audit records, gzipped), keeps each record once by its chain
 * (`X-Armor-Chain-Id`, the hash of the chain's first record) and its `seq` (a retried batch
 * delivers some again; replicas, or a new file after a restart, are other chains that start at
 * seq 0 too), checks that each batch continues the chain it has (`X-Armor-Chain-Prev`) and that a
 * chain's record 0 has the chain's id as its hash, and on SIGTERM, or `GET /verify`, verifies
 * every chain it received (`shipped: true`: ranges a shipping record declares dropped or refused
 * may be missing).
 *
 *   node examples/decision-shipping/collector.mjs [PORT] [OUT.jsonl]
 *
 * It prints `collector listening on URL`, then one line per batch. Records are written to
 * OUT.jsonl chain by chain, in seq order, when it stops. A real collector would keep them in a
 * database keyed by (chain, seq); the checks are the same.
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";
import { verifyAuditLog } from "../../packages/runtime/dist/index.js";

const MAX_BATCH = 16 * 1024 * 1024;
/** The chain of batches sent without `X-Armor-Chain-Id` (a shipper that resumed a chain without being told its id). */
export const UNNAMED_CHAIN = "unnamed";

/** The collector's state and checks, usable in-process (run.mjs) or as a command. */
export function createCollector() {
  /** chain id -> seq -> the record's text */
  const chains = new Map();
  /** every record, keyed by `CHAIN SEQ` */
  const records = new Map();
  const stats = { batches: 0, duplicates: 0, breaks: 0 };
  const chainText = (chain) =>
    [...(chains.get(chain) ?? new Map()).entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, line]) => `${line}\n`)
      .join("");
  const text = () => [...chains.keys()].map(chainText).join("");

  /** Takes one batch; the answer's status and a line saying what it was. */
  function take(body, headers) {
    let batch;
    try {
      const raw = headers["content-encoding"] === "gzip" ? gunzipSync(body, { maxOutputLength: MAX_BATCH }) : body;
      batch = JSON.parse(raw.toString("utf8"));
    } catch (e) {
      return { status: 400, line: `refused a batch that is not gzipped JSON: ${e.message}` };
    }
    if (!Array.isArray(batch) || batch.some((r) => typeof r !== "object" || r === null || !Number.isSafeInteger(r.seq))) {
      return { status: 400, line: "refused a batch that is not an array of records with a seq" };
    }
    const named = headers["x-armor-chain-id"];
    if (named !== undefined && !/^[0-9a-f]{64}$/.test(named)) return { status: 400, line: "refused a batch whose X-Armor-Chain-Id is not a hash" };
    const chain = named ?? UNNAMED_CHAIN;
    // a chain's id is the hash of its record 0: a batch that holds it proves it
    const zero = batch.find((r) => r.seq === 0);
    if (named !== undefined && zero !== undefined && zero.hash !== named) return { status: 400, line: `refused a batch whose record 0 does not have the chain's id ${named.slice(0, 12)} as its hash` };
    if (!chains.has(chain)) chains.set(chain, new Map());
    const kept = chains.get(chain);
    // the batch says where it continues the chain: the record before it, if the collector has it
    const first = batch[0];
    const prev = headers["x-armor-chain-prev"];
    const before = kept.get(first?.seq - 1);
    if (first !== undefined && before !== undefined && JSON.parse(before).hash !== prev) stats.breaks++;
    let fresh = 0;
    for (const r of batch) {
      if (kept.has(r.seq)) stats.duplicates++;
      else {
        const line = JSON.stringify(r);
        kept.set(r.seq, line);
        records.set(`${chain} ${r.seq}`, line);
        fresh++;
      }
    }
    stats.batches++;
    return { status: 200, line: `batch ${headers["x-armor-chain-seq"] ?? "?"} of chain ${chain.slice(0, 12)}: ${batch.length} records, ${fresh} new` };
  }

  /** Verifies every chain; the first problem, if any. */
  function verify() {
    for (const [chain] of chains) {
      const v = verifyAuditLog(chainText(chain), { shipped: true });
      if (!v.ok) return { ...v, chain };
    }
    return { ok: true, problem: null, chains: chains.size };
  }

  return { chains, records, stats, take, verify, text, chainText };
}

/** Serves a collector on 127.0.0.1:PORT; resolves with the server and its URL. */
export async function serveCollector(collector, port = 0, log = (line) => process.stdout.write(`${line}\n`)) {
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/verify") {
      const v = collector.verify();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ records: collector.records.size, chains: collector.chains.size, ok: v.ok, problem: v.problem, ...collector.stats }));
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BATCH) req.destroy();
      else chunks.push(c);
    });
    req.on("end", () => {
      const { status, line } = collector.take(Buffer.concat(chunks), req.headers);
      log(line);
      res.writeHead(status, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/v1/logs` };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const collector = createCollector();
  const { server, url } = await serveCollector(collector, Number(process.argv[2] ?? 0));
  process.stdout.write(`collector listening on ${url}\n`);
  process.once("SIGTERM", () => {
    server.close();
    const v = collector.verify();
    if (process.argv[3]) writeFileSync(process.argv[3], collector.text());
    process.stdout.write(
      `received ${collector.records.size} records in ${collector.chains.size} chains (${collector.stats.duplicates} duplicates dropped): ${v.ok ? "chain intact" : `chain broken: ${v.problem?.message}`}\n`,
    );
    process.exitCode = v.ok ? 0 : 1;
  });
}
