// The Redis history store against its floor: the latency of enforcer.decide with `reserve: true`
// (one session, "at most N an hour" never reached) with the in-memory store and with
// redisStore, against the floor of a bare EVALSHA round trip of a script that does nothing
// (`return 1`) to the same Redis (on Redis 7 also a bare FCALL of such a function, for
// information), one decision at a time (latency, not throughput).
//
// The kinds are interleaved sample by sample (round-robin, each round starting one kind further),
// so that load on the machine falls on every kind alike and the ratios compare like with like.
// Between two samples the store's connection is drained with an untimed PING: a denied decision
// releases its reservation without waiting for the answer, and that release is not charged to
// whichever sample comes next.
//
// `--profile` then runs each kind on its own and says where a Redis decision's time goes: the
// script's time in Redis (INFO commandstats, usec_per_call), and, from timestamps around the
// store's call, the runtime's work before and after it, the store's arguments and the reading
// of its answer, ioredis's encoding and decoding, and the wire.
//
// Starts its own redis-server on a free loopback port (Debian: apt-get install redis-server),
// without persistence.
//   node bench/store-redis.mjs [--count 2000] [--profile]
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer } from "@agent-armor/runtime";
import { redisStore } from "@agent-armor/store-redis";
import { Redis } from "ioredis";
import { freePort, startRedisServer } from "./lib/redis-server.js";
import { emitResult, parseArgs, percentile } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const COUNT = Number(args.count ?? 2000);
const WARM = Math.min(300, COUNT);

const POLICY = `default allow
rule hourly when action.type == "send" and count(type == "send" within 1h) >= 100000000 deny
rule once when action.type == "wire" and seen(type == "wire") deny
`;

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), "armor-bench-redis-"));
const server = await startRedisServer(port, dir);
const url = `redis://127.0.0.1:${port}`;

const ms = (ns) => (ns / 1e6).toFixed(3);
const us = (ns) => (ns / 1e3).toFixed(1);
const stats = (samples) => ({ p50: percentile(samples, 50), p99: percentile(samples, 99) });

/** usec_per_call by command from INFO commandstats. */
async function commandStats(client) {
  const out = {};
  for (const line of (await client.info("commandstats")).split("\n")) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(line);
    if (m) out[m[1]] = { calls: Number(m[2]), usecPerCall: Number(m[4]) };
  }
  return out;
}

try {
  const bare = new Redis(url);
  const [version] = /redis_version:(\d+)/.exec(await bare.info("server")).slice(1);
  const functions = Number(version) >= 7;
  bare.defineCommand("one", { lua: "return 1", numberOfKeys: 0 });
  if (functions) await bare.call("FUNCTION", "LOAD", "REPLACE", "#!lua name=armorbench\nredis.register_function('armorbench_one', function() return 1 end)");

  const memory = await createEnforcer({ policy: { source: POLICY, fileName: "bench.armor" }, throwOnDeny: false });
  const store = redisStore({ url, timeoutMs: 5000 });
  const shared = await createEnforcer({ policy: { source: POLICY, fileName: "bench.armor" }, history: store, throwOnDeny: false });

  const kinds = [
    { name: "floor", label: "floor: bare EVALSHA round trip", fn: () => bare.one() },
    ...(functions ? [{ name: "fcall", label: "bare FCALL round trip", fn: () => bare.call("FCALL", "armorbench_one", "0") }] : []),
    { name: "memory", label: "decide + reserve, memory store", fn: (i) => memory.decide({ type: "send", i }, { session: "s" }, { reserve: true }) },
    { name: "redis", label: "decide + reserve, Redis store", fn: (i) => shared.decide({ type: "send", i }, { session: "s" }, { reserve: true }) },
    { name: "denied", label: "decide + reserve, Redis store, denied", fn: (i) => shared.decide({ type: "wire", i }, { session: "s" }, { reserve: true }) },
  ];
  const drain = () => store.client.ping();

  const samples = kinds.map(() => []);
  const load = [loadavg()[0]];
  for (let round = -WARM; round < COUNT; round++) {
    for (let j = 0; j < kinds.length; j++) {
      const k = (((round % kinds.length) + kinds.length + j) % kinds.length) | 0;
      const t0 = process.hrtime.bigint();
      await kinds[k].fn(round);
      const t = Number(process.hrtime.bigint() - t0);
      if (round >= 0) samples[k].push(t);
      await drain();
    }
  }
  load.push(loadavg()[0]);
  const s = Object.fromEntries(kinds.map((k, i) => [k.name, stats(samples[i])]));
  const ratio = (name) => s[name].p50 / s.floor.p50;
  console.log(`${COUNT} rounds, kinds interleaved; load average ${load[0].toFixed(2)} at the start, ${load[1].toFixed(2)} at the end; redis ${version}`);
  console.log("| | p50 ms | p99 ms | p50 / floor |\n| --- | --- | --- | --- |");
  for (const k of kinds) console.log(`| ${k.label} | ${ms(s[k.name].p50)} | ${ms(s[k.name].p99)} | ${ratio(k.name).toFixed(2)} |`);

  let profile;
  if (args.profile) profile = await profileRun(kinds, store);

  emitResult({
    kind: "store-redis",
    count: COUNT,
    redisVersion: version,
    loadAverage: load,
    ns: s,
    ratio: { redisToFloor: ratio("redis"), deniedToFloor: ratio("denied"), memoryToFloor: ratio("memory") },
    ...(profile !== undefined ? { profile } : {}),
  });
  bare.disconnect();
  await store.close();
} finally {
  server.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Each Redis kind on its own, with commandstats reset before it, and timestamps around the
 * store's call: the enforcer's `history` is the store wrapped (its `read` timed), the script's
 * command on the client wrapped (the synchronous part is ioredis encoding and writing the
 * command), and the socket's first 'data' event after the write marks the answer's arrival.
 */
async function profileRun(kinds, store) {
  const client = store.client;
  const marks = {};
  const mark = (name) => {
    marks[name] = process.hrtime.bigint();
  };
  // the store calls its scripts with FCALL (EVALSHA before Redis 7)
  for (const name of ["fcall", "evalsha"]) {
    const original = client[name];
    if (typeof original !== "function") continue;
    // the decision's read is its first call (a denied one's release follows it)
    client[name] = function (...a) {
      if (marks.sent !== undefined) return original.apply(this, a);
      mark("sent");
      const p = original.apply(this, a);
      mark("written");
      return p.then((v) => {
        mark("resolved");
        return v;
      });
    };
  }
  client.stream.prependListener("data", () => {
    if (marks.written !== undefined && marks.arrived === undefined) mark("arrived");
  });
  const read = store.read;
  store.read = async (request) => {
    mark("read");
    const answer = await read.call(store, request);
    mark("answered");
    return answer;
  };
  // the parts of a Redis decision as the store and ioredis see them (the first FCALL is its read)
  const out = {};
  for (const kind of kinds.filter((k) => k.name === "redis" || k.name === "denied")) {
    await client.config("RESETSTAT");
    const parts = { before: [], args: [], encode: [], wire: [], decode: [], answer: [], after: [], total: [] };
    for (let i = -WARM; i < COUNT; i++) {
      for (const k of Object.keys(marks)) delete marks[k];
      mark("start");
      await kind.fn(i);
      mark("end");
      if (i >= 0) {
        const d = (a, b) => Number(marks[b] - marks[a]);
        parts.before.push(d("start", "read"));
        parts.args.push(d("read", "sent"));
        parts.encode.push(d("sent", "written"));
        parts.wire.push(d("written", "arrived"));
        parts.decode.push(d("arrived", "resolved"));
        parts.answer.push(d("resolved", "answered"));
        parts.after.push(d("answered", "end"));
        parts.total.push(d("start", "end"));
      }
      await client.ping();
    }
    const cs = await commandStats(client);
    const script = cs.fcall ?? cs.fcall_ro ?? cs.evalsha;
    const p = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, percentile(v, 50)]));
    out[kind.name] = { ...p, scriptUsecPerCall: script?.usecPerCall ?? null, scriptCalls: script?.calls ?? 0 };
    console.log(`\n${kind.label} (on its own, p50 of each part, µs; they need not add up to the total's p50):`);
    console.log(
      `  total ${us(p.total)} = runtime before the store ${us(p.before)} + store arguments ${us(p.args)} + ioredis encode/write ${us(p.encode)} + wire and Redis ${us(p.wire)} + ioredis decode ${us(p.decode)} + store reads the answer ${us(p.answer)} + runtime after ${us(p.after)}`,
    );
    console.log(
      `  Redis: ${Object.entries(cs)
        .map(([c, v]) => `${c} ${v.calls} calls ${v.usecPerCall} µs/call`)
        .join(", ")}`,
    );
  }
  store.read = read;
  return out;
}
