// The decision service's throughput and latency with the memory and the Redis store, against
// their floors, in one run: `POST /v1/decide` with `"reserve": true` (a limit never reached,
// sessions spread over 100 names) at a fixed concurrency over keep-alive connections, to
// `armor serve` with the memory store (1 replica), with `--store redis://...` (1 and 3 replicas,
// requests spread over them), and to a bare node:http server in its own process answering a
// constant JSON; and one decision at a time: enforcer.decide with reserve on redisStore against a
// bare EVALSHA round trip (`return 1`) to the same Redis. Starts its own redis-server on a free
// loopback port (Debian: apt-get install redis-server), without persistence. The machine's load
// average is printed with the figures: on a shared machine they move with it.
//   npm run build && node bench/serve-throughput.mjs [--requests 2000] [--concurrency 16] [--count 1000]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEnforcer } from "@agent-armor/runtime";
import { redisStore } from "@agent-armor/store-redis";
import { Redis } from "ioredis";
import { emitResult, parseArgs, percentile } from "./lib/util.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = parseArgs(process.argv.slice(2));
const REQUESTS = Number(args.requests ?? 2000);
const CONCURRENCY = Number(args.concurrency ?? 16);
const COUNT = Number(args.count ?? 1000);
const WARMUP = 300;
const armor = join(root, "packages", "cli", "bin", "armor.js");

const POLICY = `default allow
rule hourly when action.type == "send" and count(type == "send" within 1h) >= 100000000 deny
rule once when action.type == "wire" and seen(type == "wire") deny
`;

const work = mkdtempSync(join(os.tmpdir(), "armor-bench-serve-"));
const policyFile = join(work, "bench.armor");
writeFileSync(policyFile, POLICY);
const children = [];

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Spawns a process and waits for `ready` to match its output; returns the match. */
function start(command, argv, ready) {
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const look = (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve(m);
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.once("exit", (code) => reject(new Error(`${command} exited (${code}): ${out.slice(-500)}`)));
  });
}

const BARE = `const http = require("node:http");
const body = JSON.stringify({ decision: "allow", rules: [], errors: [], reserved: true });
http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
  req.resume();
  req.on("end", () => { res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }); res.end(body); });
}).listen(0, "127.0.0.1", function () { console.log("listening on http://127.0.0.1:" + this.address().port); });`;

const serve = (store) => start(process.execPath, [armor, "serve", "--policy", policyFile, "--port", "0", ...(store ? ["--store", store] : [])], /listening on (http:\/\/\S+)/).then((m) => m[1]);

/** REQUESTS reserved decisions at CONCURRENCY over keep-alive connections, spread over `bases`: decisions per second and latencies. */
async function load(bases) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (i) =>
    new Promise((resolve, reject) => {
      const url = new URL("/v1/decide", bases[i % bases.length]);
      const body = JSON.stringify({ action: { type: "send", n: i }, session: `s${i % 100}`, reserve: true });
      const t0 = process.hrtime.bigint();
      const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          const allowed = JSON.parse(text).decision === "allow";
          resolve({ ns: Number(process.hrtime.bigint() - t0), allowed });
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  const run = async (n, offset) => {
    const samples = [];
    let allowed = 0;
    let next = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          const r = await post(offset + next++);
          samples.push(r.ns);
          if (r.allowed) allowed++;
        }
      }),
    );
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, samples, allowed };
  };
  await run(WARMUP, 1_000_000);
  const { seconds, samples, allowed } = await run(REQUESTS, 0);
  agent.destroy();
  return { perSecond: REQUESTS / seconds, p50: percentile(samples, 50), p99: percentile(samples, 99), allowed };
}

/** Per-call nanoseconds of `fn`, called COUNT times one after the other, after a warm-up. */
async function time(fn) {
  for (let i = 0; i < Math.min(200, COUNT); i++) await fn(i);
  const samples = [];
  for (let i = 0; i < COUNT; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

const started = Date.now();
try {
  const port = await freePort();
  await start("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work], /Ready to accept connections/);
  const url = `redis://127.0.0.1:${port}`;

  // one at a time: the Redis-backed decision against a bare round trip
  const bare = new Redis(url);
  bare.defineCommand("one", { lua: "return 1", numberOfKeys: 0 });
  const evalsha = await time(() => bare.one());
  const store = redisStore({ url, timeoutMs: 5000 });
  const shared = await createEnforcer({ policy: { source: POLICY, fileName: "bench.armor" }, history: store, throwOnDeny: false });
  const redisDecide = await time((i) => shared.decide({ type: "send", i }, { session: "one" }, { reserve: true }));
  bare.disconnect();
  await store.close();

  // throughput: the floor, then the service
  const floor = await load([(await start(process.execPath, ["-e", BARE], /listening on (http:\/\/\S+)/))[1]]);
  const memory = await load([await serve(null)]);
  const redis1 = await load([await serve(url)]);
  const replicas = await Promise.all([serve(url), serve(url), serve(url)]);
  const redis3 = await load(replicas);

  const ms = (ns) => (ns / 1e6).toFixed(3);
  const line = (name, r) =>
    console.log(`  ${name.padEnd(34)} ${r.perSecond.toFixed(0).padStart(6)}/s (${((r.perSecond / floor.perSecond) * 100).toFixed(0)}% of the floor), p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms`);
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")} on ${os.cpus().length} CPUs; ${REQUESTS} requests at concurrency ${CONCURRENCY}`,
  );
  line("bare node:http (the floor)", floor);
  line("serve, memory store", memory);
  line("serve, Redis store, 1 replica", redis1);
  line("serve, Redis store, 3 replicas", redis3);
  console.log(`  bare EVALSHA round trip:           p50 ${ms(evalsha.p50)} ms, p99 ${ms(evalsha.p99)} ms`);
  console.log(`  decide + reserve, Redis store:     p50 ${ms(redisDecide.p50)} ms, p99 ${ms(redisDecide.p99)} ms (${(redisDecide.p50 / evalsha.p50).toFixed(2)}x the bare round trip)`);
  console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  for (const [name, r] of [
    ["memory", memory],
    ["redis1", redis1],
    ["redis3", redis3],
  ])
    if (r.allowed !== REQUESTS) throw new Error(`${name}: ${REQUESTS - r.allowed} of ${REQUESTS} reserved decisions were not allowed`);
  emitResult({
    kind: "serve-throughput",
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    loadAverage: os.loadavg(),
    floor,
    memory,
    redis1,
    redis3,
    evalshaNs: evalsha,
    redisDecideNs: redisDecide,
    ratio: { memoryToFloor: memory.perSecond / floor.perSecond, redisDecideToEvalsha: redisDecide.p50 / evalsha.p50 },
  });
} finally {
  for (const c of children) c.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
