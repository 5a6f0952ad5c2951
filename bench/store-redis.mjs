// The Redis history store against its floor: the latency of enforcer.decide with `reserve: true`
// (one session, "at most N an hour" never reached) with the in-memory store and with
// redisStore, against a bare EVALSHA round trip (`return 1`) to the same Redis, timed in the
// same run, one decision at a time (latency, not throughput). Starts its own redis-server on a
// free loopback port (Debian: apt-get install redis-server), without persistence.
//   node bench/store-redis.mjs [--count 2000]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer } from "@agent-armor/runtime";
import { redisStore } from "@agent-armor/store-redis";
import { Redis } from "ioredis";
import { emitResult, median, parseArgs, percentile } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const COUNT = Number(args.count ?? 2000);

const POLICY = `default allow
rule hourly when action.type == "send" and count(type == "send" within 1h) >= 100000000 deny
rule once when action.type == "wire" and seen(type == "wire") deny
`;

const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), "armor-bench-redis-"));
const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: ["ignore", "pipe", "inherit"] });
await new Promise((resolve, reject) => {
  let out = "";
  server.once("error", reject);
  server.stdout.on("data", (d) => {
    out += d;
    if (out.includes("Ready to accept connections")) resolve();
  });
});
const url = `redis://127.0.0.1:${port}`;

/** Per-call nanoseconds of `fn`, called COUNT times one after the other, after a warm-up. */
async function time(fn) {
  for (let i = 0; i < Math.min(200, COUNT); i++) await fn(i);
  const samples = [];
  for (let i = 0; i < COUNT; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  return { median: median(samples), p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

try {
  const bare = new Redis(url);
  bare.defineCommand("one", { lua: "return 1", numberOfKeys: 0 });
  const evalsha = await time(() => bare.one());

  const memory = await createEnforcer({ policy: { source: POLICY, fileName: "bench.armor" }, throwOnDeny: false });
  const memoryDecide = await time((i) => memory.decide({ type: "send", i }, { session: "s" }, { reserve: true }));

  const store = redisStore({ url, timeoutMs: 5000 });
  const shared = await createEnforcer({ policy: { source: POLICY, fileName: "bench.armor" }, history: store, throwOnDeny: false });
  const redisDecide = await time((i) => shared.decide({ type: "send", i }, { session: "s" }, { reserve: true }));
  const redisDenied = await time((i) => shared.decide({ type: "wire", i }, { session: "s" }, { reserve: true }));

  const ms = (ns) => (ns / 1e6).toFixed(3);
  console.log(`  bare EVALSHA round trip:            p50 ${ms(evalsha.p50)} ms, p99 ${ms(evalsha.p99)} ms`);
  console.log(`  decide + reserve, memory store:     p50 ${ms(memoryDecide.p50)} ms, p99 ${ms(memoryDecide.p99)} ms`);
  console.log(`  decide + reserve, Redis store:      p50 ${ms(redisDecide.p50)} ms, p99 ${ms(redisDecide.p99)} ms (${(redisDecide.p50 / evalsha.p50).toFixed(2)}x the bare round trip)`);
  console.log(`  decide + reserve, Redis, denied:    p50 ${ms(redisDenied.p50)} ms, p99 ${ms(redisDenied.p99)} ms (${(redisDenied.p50 / evalsha.p50).toFixed(2)}x)`);
  emitResult({
    kind: "store-redis",
    count: COUNT,
    evalshaNs: evalsha,
    memoryDecideNs: memoryDecide,
    redisDecideNs: redisDecide,
    redisDeniedNs: redisDenied,
    ratio: { redisToEvalsha: redisDecide.p50 / evalsha.p50, deniedToEvalsha: redisDenied.p50 / evalsha.p50 },
  });
  bare.disconnect();
  await store.close();
} finally {
  server.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
