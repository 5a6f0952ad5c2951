// One engine at one N, in a fresh process: load and compile (timed, memory measured), the
// differential check against the hand-written function, then ns per decision. Prints one line
// "RESULT {json}". The timing method follows the peer harness's bench-one.js
// (/work/shared/bench/peerbench/src/bench-one.js, "peerbench"): a loop of decide(pool[i & 4095])
// over 4096 pre-generated actions, warm-up, repeats of ~1 ms chunks, gc() between repeats.
//   node --expose-gc bench/one.mjs --engine agent-armor --n 1000 [--workload peer|patterns]
//        [--verify-count 10000] [--verify-cap-s 0] [--repeats 5] [--target-ms 250] [--warmup-ms 500]

import { makeActions } from "./lib/actions.js";
import { loadEngine } from "./lib/adapters/index.js";
import { makePatternActions, makePatternSpec } from "./lib/patterns.js";
import { makeSpec } from "./lib/spec.js";
import { emitResult, median, parseArgs, percentile, pkgVersion } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const ENGINE = String(args.engine);
const N = Number(args.n ?? 100);
const VERIFY_COUNT = Number(args["verify-count"] ?? 10000);
const VERIFY_CAP_S = Number(args["verify-cap-s"] ?? 0); // 0 = no cap
const REPEATS = Number(args.repeats ?? 5);
const TARGET_MS = Number(args["target-ms"] ?? 250);
const WARMUP_MS = Number(args["warmup-ms"] ?? 500);
const POOL_SIZE = 4096;
const SEED = Number(args.seed ?? 777);
const VERIFY_SEED = 12345; // the peer harness's verify.js seed (+ N)

const gc = globalThis.gc ?? (() => {});
const mem = () => {
  gc();
  gc();
  return process.memoryUsage();
};
const diff = (a, b) => Object.fromEntries(["rss", "heapUsed", "external", "arrayBuffers"].map((k) => [k, b[k] - a[k]]));
const now = () => process.hrtime.bigint();

// the workload: the peer harness's (default) or the pattern-heavy one (bench/lib/patterns.js)
const WORKLOAD = String(args.workload ?? "peer");
if (WORKLOAD !== "peer" && WORKLOAD !== "patterns") throw new Error(`--workload must be peer or patterns, not ${WORKLOAD}`);
const spec = WORKLOAD === "patterns" ? makePatternSpec(N) : makeSpec(N);
const actionsFor = WORKLOAD === "patterns" ? makePatternActions : makeActions;
const m0 = mem();
let t = now();
const adapter = await loadEngine(ENGINE);
const loadMs = Number(now() - t) / 1e6;
const m1 = mem();
let inst;
t = now();
try {
  inst = await adapter.create(spec);
} catch (e) {
  emitResult({ engine: adapter.name, workload: WORKLOAD, N, status: "unavailable", reason: e.message });
  process.exit(0);
}
const createMs = Number(now() - t) / 1e6;
const m2 = mem();
const decide = inst.decide;
const packages = Object.fromEntries(adapter.packages.map((p) => [p, pkgVersion(p)]));

// ---- differential check: the same decision as the hand-written function -------------------
const hw = (await import("./lib/adapters/handwritten.js")).default;
const ref = (await hw.create(spec)).decide;
const vActions = actionsFor(N, VERIFY_SEED + N, VERIFY_COUNT);
const vInputs = inst.prepare ? vActions.map(inst.prepare) : vActions;
let checked = 0,
  mismatches = 0;
const examples = [];
const vStart = now();
let capped = false;
for (let i = 0; i < vActions.length; i++) {
  const want = ref(vActions[i]);
  let got;
  try {
    got = adapter.async ? await decide(vInputs[i]) : decide(vInputs[i]);
  } catch (e) {
    got = `ERROR: ${String(e.message).slice(0, 200)}`;
  }
  checked++;
  if (got !== want) {
    mismatches++;
    if (examples.length < 3) examples.push({ action: vActions[i], expected: want, got });
  }
  if (VERIFY_CAP_S > 0 && (i & 7) === 7 && Number(now() - vStart) / 1e9 > VERIFY_CAP_S) {
    capped = checked < vActions.length;
    break;
  }
}
const verifyMs = Number(now() - vStart) / 1e6;
const verify = { checked, requested: VERIFY_COUNT, mismatches, examples, ms: verifyMs, capped, seed: VERIFY_SEED + N };
if (mismatches > 0) {
  emitResult({
    engine: adapter.name,
    workload: WORKLOAD,
    kind: adapter.kind,
    packages,
    N,
    status: "mismatch",
    verify,
    loadMs: inst.timings?.loadMs ?? loadMs,
    createMs: inst.timings?.createMs ?? createMs,
  });
  process.exit(0);
}

// ---- timing ---------------------------------------------------------------------------------
const rawPool = actionsFor(N, SEED + N, POOL_SIZE);
const composition = { allow: 0, deny: 0, require_approval: 0 };
for (const a of rawPool) composition[ref(a)]++;
const pool = inst.prepare ? rawPool.map(inst.prepare) : rawPool;

const MASK = POOL_SIZE - 1;
let cursor = 0;
function runSync(iters) {
  let sink = 0;
  const start = cursor,
    end = cursor + iters;
  const t0 = process.hrtime.bigint();
  for (let i = start; i < end; i++) sink += decide(pool[i & MASK]).length;
  const t1 = process.hrtime.bigint();
  cursor = end & MASK;
  return { ns: Number(t1 - t0), sink };
}
async function runAsync(iters) {
  let sink = 0;
  const start = cursor,
    end = cursor + iters;
  const t0 = process.hrtime.bigint();
  for (let i = start; i < end; i++) sink += (await decide(pool[i & MASK])).length;
  const t1 = process.hrtime.bigint();
  cursor = end & MASK;
  return { ns: Number(t1 - t0), sink };
}
const run = adapter.async ? runAsync : runSync;

// warm-up: grow the batch until WARMUP_MS has been spent (the differential check above has already
// run the engine VERIFY_COUNT times); slow engines (> 1 ms per decision) stop after 2 s
let iters = 16,
  spent = 0,
  est = 0,
  sinkAll = 0;
while (true) {
  const r = await run(iters);
  sinkAll += r.sink;
  spent += r.ns;
  est = r.ns / iters;
  if (spent >= WARMUP_MS * 1e6 && r.ns >= 20e6) break;
  if (est > 1e6 && spent >= 2e9) break;
  iters = Math.min(iters * 2, 1 << 30);
}
const slow = est > 1e6; // more than 1 ms per decision
const MIN_DECISIONS = slow ? 4 : 32;
const chunk = Math.max(1, Math.min(1 << 24, Math.round(1e6 / Math.max(est, 0.1))));
const gcBetweenRepeats = !adapter.skipForcedGc;
const samples = [],
  chunkSamples = [],
  itersPerRepeat = [];
for (let rep = 0; rep < REPEATS; rep++) {
  if (gcBetweenRepeats) gc();
  let ns = 0,
    n = 0;
  while (ns < TARGET_MS * 1e6 || n < MIN_DECISIONS) {
    const r = await run(chunk);
    sinkAll += r.sink;
    ns += r.ns;
    n += chunk;
    chunkSamples.push(r.ns / chunk);
  }
  samples.push(ns / n);
  itersPerRepeat.push(n);
}
const mEnd = process.memoryUsage();
emitResult({
  engine: adapter.name,
  workload: WORKLOAD,
  kind: adapter.kind,
  packages,
  node: process.version,
  N,
  rules: spec.rules.length,
  status: "ok",
  verify,
  composition,
  nsPerDecision: {
    median: median(samples),
    p99: percentile(chunkSamples, 99),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
    chunk,
    chunks: chunkSamples.length,
  },
  itersPerRepeat,
  slow,
  forcedGcBetweenRepeats: gcBetweenRepeats,
  // an adapter that compiles elsewhere (a worker) reports its own load and compile times
  loadMs: inst.timings?.loadMs ?? loadMs,
  createMs: inst.timings?.createMs ?? createMs,
  memory: { afterLoad: diff(m0, m1), afterCreate: diff(m1, m2), rssEnd: mEnd.rss, heapUsedEnd: mEnd.heapUsed },
  sink: sinkAll,
  info: inst.info ?? null,
});
