// Redis's own cost of a decision, counted in instructions (load does not change it): runs
// redis-server under valgrind's callgrind and, per kind, zeroes the counters, makes COUNT calls
// one at a time and reads the total from a dump. Kinds: a bare FCALL that returns at once (the
// floor of any call), enforcer.decide with `reserve: true` on the Redis store, allowed and
// denied (a denied decision's release included), as in bench/store-redis.mjs.
// Needs valgrind (apt-get install valgrind) and redis-server.
//   node bench/store-redis-instructions.mjs [--count 300] [--keep: leave the dumps for callgrind_annotate]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer } from "@agent-armor/runtime";
import { redisStore } from "@agent-armor/store-redis";
import { Redis } from "ioredis";
import { freePort, startRedisServer } from "./lib/redis-server.js";
import { emitResult, parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const COUNT = Number(args.count ?? 300);

const POLICY = `default allow
rule hourly when action.type == "send" and count(type == "send" within 1h) >= 100000000 deny
rule once when action.type == "wire" and seen(type == "wire") deny
`;

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), "armor-bench-redis-cg-"));
const server = await startRedisServer(port, dir, { prefix: ["valgrind", "--tool=callgrind", `--callgrind-out-file=${join(dir, "cg.out")}`], extra: ["--hz", "1"], stderr: "ignore" });
const url = `redis://127.0.0.1:${port}`;

/** Zeroes callgrind's counters; then dumps them and gives the instructions counted since. */
const control = (flag) => execFileSync("callgrind_control", [flag, String(server.pid)], { stdio: "ignore" });
let dumps = 0;
function instructions() {
  control("-d");
  dumps++;
  const files = readdirSync(dir)
    .filter((f) => f.startsWith("cg.out."))
    .sort((a, b) => Number(a.split(".").pop()) - Number(b.split(".").pop()));
  if (files.length < dumps) throw new Error(`callgrind wrote ${files.length} dumps, expected ${dumps}`);
  const text = readFileSync(join(dir, files[dumps - 1]), "utf8");
  const m = /^(?:summary|totals): (\d+)/m.exec(text);
  if (!m) throw new Error("no instruction total in callgrind's dump");
  return Number(m[1]);
}

try {
  const bare = new Redis(url);
  await bare.call("FUNCTION", "LOAD", "REPLACE", "#!lua name=armorbench\nredis.register_function('armorbench_one', function() return 1 end)");
  const store = redisStore({ url, timeoutMs: 60000 });
  const shared = await createEnforcer({ policy: { source: POLICY, fileName: "bench.armor" }, history: store, throwOnDeny: false });
  const kinds = [
    { name: "fcall", fn: () => bare.call("FCALL", "armorbench_one", "0") },
    { name: "redis", fn: (i) => shared.decide({ type: "send", i }, { session: "s" }, { reserve: true }) },
    { name: "denied", fn: (i) => shared.decide({ type: "wire", i }, { session: "s" }, { reserve: true }) },
  ];
  const drain = () => store.client.ping();
  const perCall = {};
  for (const k of kinds) {
    for (let i = 0; i < 50; i++) {
      await k.fn(i);
      await drain();
    }
    // the drain's PING is counted apart and taken off
    control("-z");
    for (let i = 0; i < COUNT; i++) await drain();
    const ping = instructions() / COUNT;
    control("-z");
    for (let i = 0; i < COUNT; i++) {
      await k.fn(i);
      await drain();
    }
    perCall[k.name] = Math.round(instructions() / COUNT - ping);
  }
  console.log(`${COUNT} calls per kind; redis-server instructions per call (callgrind)`);
  for (const [name, n] of Object.entries(perCall)) console.log(`| ${name} | ${n} |`);
  emitResult({ kind: "store-redis-instructions", count: COUNT, instructions: perCall });
  bare.disconnect();
  await store.close();
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  if (args.keep) console.log(`callgrind dumps kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
