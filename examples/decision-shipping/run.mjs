#!/usr/bin/env node
/**
 * Decision shipping end to end: `armor serve` decides, writes its hash-chained audit log, and
 * ships each record to a local collector (collector.mjs), which goes down for a while in the
 * middle. At the end the collector holds every record of the local chain once, with the same
 * hashes, and its copy verifies.
 *
 *   node examples/decision-shipping/run.mjs [AUDIT.jsonl]
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyAuditLog } from "../../packages/runtime/dist/index.js";
import { createCollector, serveCollector } from "./collector.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const audit = process.argv[2] ?? join(root, "out", "examples", "decision-shipping", "audit.jsonl");
mkdirSync(dirname(audit), { recursive: true });
rmSync(audit, { force: true });

const say = (line) => process.stdout.write(`${line}\n`);
const collector = createCollector();
let { server, url } = await serveCollector(collector, 0, () => undefined);
const port = server.address().port;
say(`collector listening on ${url}`);

const service = spawn(
  process.execPath,
  [join(root, "packages", "cli", "bin", "armor.js"), "serve", "--policy", join(here, "policy.armor"), "--port", "0", "--audit", audit, "--ship-to", url, "--ship-interval", "100"],
  { stdio: ["ignore", "ignore", "pipe"] },
);
let stderr = "";
service.stderr.setEncoding("utf8");
const serviceUrl = await new Promise((resolve, reject) => {
  service.stderr.on("data", (chunk) => {
    stderr += chunk;
    const m = /listening on (http:\/\/\S+)/.exec(stderr);
    if (m) resolve(m[1]);
  });
  service.once("exit", (code) => reject(new Error(`armor serve exited (${code}):\n${stderr}`)));
});

const decide = async (action) => {
  const res = await fetch(`${serviceUrl}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action, session: "demo" }) });
  return (await res.json()).decision;
};
const actions = (n, from) => Array.from({ length: n }, (_, i) => (i % 5 === 4 ? { type: "delete_file", path: `/tmp/f${from + i}` } : { type: "read_file", path: `/tmp/f${from + i}` }));
const localRecords = () => readFileSync(audit, "utf8").split("\n").filter(Boolean);
const until = async (what, test, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const decisions = [];
for (const a of actions(10, 0)) decisions.push(await decide(a));
await until("the first batch", () => collector.records.size >= 10);
say(`10 decisions, shipped: the collector has ${collector.records.size} records`);

// the collector goes down: decisions go on, and the shipper keeps their records and retries
server.closeAllConnections();
await new Promise((r) => server.close(r));
for (const a of actions(10, 10)) decisions.push(await decide(a));
say(`collector down; 10 more decisions (the service retries with backoff; it has ${collector.records.size} records)`);
await new Promise((r) => setTimeout(r, 500));

({ server } = await serveCollector(collector, port, () => undefined));
await until("the records of the outage", () => collector.records.size === localRecords().length);
say(`collector back: it has ${collector.records.size} records`);

service.kill("SIGTERM");
await new Promise((r) => service.once("exit", r));
await until("the last records", () => collector.records.size === localRecords().length, 10_000);
server.close();

const local = localRecords().map((l) => JSON.parse(l));
// one chain, named by the hash of its first record
const chain = collector.chains.get(local[0]?.hash);
const same = collector.chains.size === 1 && local.every((r) => chain?.has(r.seq) && JSON.parse(chain.get(r.seq)).hash === r.hash);
const counts = {};
for (const d of decisions) counts[d] = (counts[d] ?? 0) + 1;
const received = collector.verify();
say(
  `decisions: ${Object.entries(counts)
    .map(([d, n]) => `${n} ${d}`)
    .join(", ")}`,
);
say(`local log: ${local.length} records, ${verifyAuditLog(readFileSync(audit, "utf8")).ok ? "chain intact" : "chain broken"}`);
say(
  `collector: ${collector.records.size} records in ${collector.stats.batches} batches, ${collector.stats.duplicates} duplicates dropped, ${same ? "the same records" : "DIFFERENT records"}, ${received.ok ? "chain intact" : `chain broken: ${received.problem?.message}`}`,
);
process.exitCode = same && received.ok && collector.records.size === local.length ? 0 : 1;
