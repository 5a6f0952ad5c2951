// (b) Compile time and peak memory for a 10,000-rule policy (the peer workload at N=10,000), in a
// fresh process: parse, the whole front end (compileSource: parse + check + analysis), emit, and
// loading the module. Peak memory: the process's maximum resident set (getrusage) and V8's
// heap statistics.
//   node bench/compile-10k.mjs [--n 10000] [--repeats 3]
import v8 from "node:v8";
import { compileSource, emit, loadModule, parse } from "@agent-armor/compiler";
import { specToArmor } from "./lib/gen-armor.js";
import { makeSpec } from "./lib/spec.js";
import { emitResult, median, parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const N = Number(args.n ?? 10000);
const REPEATS = Number(args.repeats ?? 3);
const text = specToArmor(makeSpec(N));
const rssBefore = process.memoryUsage().rss;
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;

const runs = [];
let peakHeap = 0,
  peakRssFirst = 0,
  peakHeapFirst = 0;
const sampler = setInterval(() => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 5);
for (let r = 0; r < REPEATS; r++) {
  // the whole compile first (so that the first one is cold), then parse alone for its share
  let t = process.hrtime.bigint();
  const c = compileSource("peer.armor", text);
  const frontEndMs = ms(t);
  if (!c.ok) throw new Error("does not compile");
  t = process.hrtime.bigint();
  const { js } = emit(c);
  const emitMs = ms(t);
  t = process.hrtime.bigint();
  const mod = await loadModule(js);
  const loadMs = ms(t);
  t = process.hrtime.bigint();
  const p = parse("peer.armor", text);
  const parseMs = ms(t);
  if (p.diagnostics.length) throw new Error("parse errors");
  t = process.hrtime.bigint();
  mod.decide({ action: { type: "tool_5", amount: 9 } });
  const firstDecideMs = ms(t);
  runs.push({ parseMs, frontEndMs, emitMs, loadMs, firstDecideMs, compileMs: frontEndMs + emitMs, moduleBytes: js.length });
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  if (r === 0) {
    peakRssFirst = process.resourceUsage().maxRSS * 1024;
    peakHeapFirst = peakHeap;
  }
}
clearInterval(sampler);
const pick = (k) => median(runs.map((r) => r[k]));
emitResult({
  kind: "compile",
  N,
  sourceBytes: text.length,
  sourceLines: text.split("\n").length,
  repeats: REPEATS,
  first: runs[0],
  median: Object.fromEntries(Object.keys(runs[0]).map((k) => [k, pick(k)])),
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  peakRssFirstBytes: peakRssFirst,
  peakHeapUsedFirstBytes: peakHeapFirst,
  rssBeforeBytes: rssBefore,
  peakHeapUsedBytes: peakHeap,
  heapSizeLimit: v8.getHeapStatistics().heap_size_limit,
});
