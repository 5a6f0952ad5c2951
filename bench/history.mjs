// (d) Decisions with history predicates as the session history grows from 10 to 100,000 entries,
// through the runtime's trackers: a session that has run N actions (enforcer.run, recorded into
// the trackers), then enforcer.decide in that session (decide does not record, so the history
// stays at N while it is timed). For contrast, the compiled decide with the same history passed
// as input.history (a scan per decision), up to 10,000 entries.
//   node --expose-gc bench/history.mjs [--sizes 10,100,1000,10000,100000]
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { createEnforcer } from "@agent-armor/runtime";
import { emitResult, median, parseArgs, percentile } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const SIZES = String(args.sizes ?? "10,100,1000,10000,100000")
  .split(",")
  .map(Number);
const SCAN_MAX = Number(args["scan-max"] ?? 10000);
const gc = globalThis.gc ?? (() => {});

const POLICY = `policy history_bench
default allow

rule no_exfiltration
  when action.type == "http_post" and seen(type == "read_file" and path matches /secret/ within 30m)
  deny because "a secret was read earlier in this session"

rule email_rate
  when action.type == "send_email" and count(type == "send_email" within 1h) >= 100000000
  deny because "too many emails"

rule posted_before
  when action.type == "read_file" and seen(type == "http_post" and url == "https://never")
  require approval
`;
const c = compileSource("history.armor", POLICY);
if (!c.ok) throw new Error(c.diagnostics.map((d) => d.message).join("; "));
const module = await loadModule(emit(c).js);

// the session's actions: reads (a few of secrets, but none in the last 30 minutes), emails, posts
const historyAction = (i) =>
  i % 3 === 0 ? { type: "read_file", path: i % 97 === 0 ? "/etc/secret" : `/data/${i}` } : i % 3 === 1 ? { type: "send_email", to: `u${i}@x` } : { type: "http_post", url: "https://x" };
const probes = [
  { type: "http_post", url: "https://y" },
  { type: "send_email", to: "a@b" },
  { type: "read_file", path: "/tmp/a" },
];

const rows = [];
for (const size of SIZES) {
  // the clock: entries 10 ms apart, the last more than 30 minutes before the decisions, so that
  // `seen(... within 30m)` has to look past all of them (and count(... within 1h) keeps some)
  let now = 1_700_000_000_000;
  const clock = () => now;
  const enforcer = await createEnforcer({ policy: module, clock, throwOnDeny: false, audit: false });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < size; i++) {
    now += 10;
    await enforcer.run(historyAction(i), { session: "s" }, () => null);
  }
  const fillMs = Number(process.hrtime.bigint() - t0) / 1e6;
  now += 31 * 60_000;
  gc();
  const iters = 20000;
  for (let i = 0; i < 2000; i++) await enforcer.decide(probes[i % 3], { session: "s" });
  const samples = [];
  const reps = [];
  for (let r = 0; r < 5; r++) {
    const s = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) {
      const a = process.hrtime.bigint();
      await enforcer.decide(probes[i % 3], { session: "s" });
      if ((i & 7) === 0) samples.push(Number(process.hrtime.bigint() - a));
    }
    reps.push(Number(process.hrtime.bigint() - s) / iters);
  }
  const d = await enforcer.decide(probes[0], { session: "s" });
  await enforcer.close();

  // contrast: the compiled decide scanning input.history
  let scan = null;
  if (size <= SCAN_MAX) {
    const base = Date.parse("2026-01-01T00:00:00Z");
    const history = Array.from({ length: size }, (_, i) => ({ action: historyAction(i), time: new Date(base + i * 10).toISOString() }));
    const time = new Date(base + size * 10 + 31 * 60_000).toISOString();
    const inputs = probes.map((action) => ({ action, time, history }));
    const n = Math.max(20, Math.min(20000, Math.round(2e7 / size)));
    for (let i = 0; i < Math.min(n, 200); i++) module.decide(inputs[i % 3]);
    const sr = [];
    for (let r = 0; r < 5; r++) {
      const s = process.hrtime.bigint();
      for (let i = 0; i < n; i++) module.decide(inputs[i % 3]);
      sr.push(Number(process.hrtime.bigint() - s) / n);
    }
    scan = { median: median(sr), iters: n };
  }
  rows.push({ size, fillMs, decide: { median: median(reps), min: Math.min(...reps), p50: percentile(samples, 50), p99: percentile(samples, 99) }, sampleDecision: d.decision, scan });
  process.stderr.write(`  history ${size}: decide ${median(reps).toFixed(0)} ns${scan ? `, scan ${scan.median.toFixed(0)} ns` : ""}\n`);
}
emitResult({ kind: "history", rows });
