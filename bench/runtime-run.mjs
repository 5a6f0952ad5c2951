// (a) The runtime's full run() per action -- decide with tracker values, decision id and time,
// action hash, decision record, execute, outcome record -- against calling the tool directly;
// and run() with one rule on results (deciding every result) against the same policy without it.
// Fresh process; the peer workload at N=100 compiled and enforced by createEnforcer.
//   node --expose-gc bench/runtime-run.mjs [--count 20000] [--repeats 7]
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { createEnforcer } from "@agent-armor/runtime";
import { makeActions } from "./lib/actions.js";
import handwritten from "./lib/adapters/handwritten.js";
import { prepareInput, specToArmor } from "./lib/gen-armor.js";
import { makeSpec } from "./lib/spec.js";
import { emitResult, median, parseArgs, percentile } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const COUNT = Number(args.count ?? 20000);
const REPEATS = Number(args.repeats ?? 7);
const N = 100;
const gc = globalThis.gc ?? (() => {});

const spec = makeSpec(N);
const c = compileSource("peer-N100.armor", specToArmor(spec));
const module = await loadModule(emit(c).js);
// the same policy with one rule on results: what deciding every tool's result adds to run()
const RESULT_RULE = `\nrule no_credentials_in_results on result\n  when any(s in strings(result): s matches std.secret)\n  deny because "a tool returned a credential"\n`;
const withResultRule = compileSource("peer-N100-results.armor", specToArmor(spec) + RESULT_RULE);
if (!withResultRule.ok) throw new Error("the policy with a rule on results does not compile");
const resultModule = await loadModule(emit(withResultRule).js);
const ref = (await handwritten.create(spec)).decide;
// allowed actions only: those run the whole path (decision record, execute, outcome record)
const pool = makeActions(N, 4242, 4096, (a) => ref(a) === "allow").map(prepareInput);
const mixed = makeActions(N, 4243, 4096).map(prepareInput);

// the tool: a small synchronous function, as a real tool's cheapest case
let toolCalls = 0;
const tool = (action) => {
  toolCalls++;
  return action.amount ?? 0;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "armor-bench-run-"));
const configs = {
  "tool called directly": null,
  "run(), no audit": { audit: false },
  "run(), audit to a file (fsync off)": { audit: { file: path.join(dir, "audit.jsonl") } },
  "run(), audit to a file (fsync on)": { audit: { file: path.join(dir, "audit-fsync.jsonl"), fsync: true } },
};

/** A way to run one action: the tool alone, or run() through an enforcer made with `options`. */
async function runner(options) {
  if (options === null) return { call: async (a) => tool(a.action), enforcer: null };
  const enforcer = await createEnforcer({ policy: module, throwOnDeny: false, ...options });
  return { call: (a) => enforcer.run(a.action, { session: "s1", user: a.user }, tool), enforcer };
}

/** One repeat of `count` actions: ns per action, and single calls (every 16th) into `perCall`. */
async function repeat(call, actions, count, perCall) {
  gc();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const s = process.hrtime.bigint();
    await call(actions[i & 4095]);
    if ((i & 15) === 0) perCall.push(Number(process.hrtime.bigint() - s));
  }
  return Number(process.hrtime.bigint() - t0) / count;
}

function row(name, count, perRepeat, perCall) {
  return {
    name,
    count,
    repeats: REPEATS,
    nsPerAction: { median: median(perRepeat), min: Math.min(...perRepeat), max: Math.max(...perRepeat), p50call: percentile(perCall, 50), p99call: percentile(perCall, 99) },
  };
}

async function measure(name, options, actions, count) {
  const { call, enforcer } = await runner(options);
  // warm-up
  for (let i = 0; i < Math.min(count, 3000); i++) await call(actions[i & 4095]);
  const perRepeat = [],
    perCall = [];
  for (let r = 0; r < REPEATS; r++) perRepeat.push(await repeat(call, actions, count, perCall));
  if (enforcer) await enforcer.close();
  return row(name, count, perRepeat, perCall);
}

/**
 * Several ways measured in turns (one repeat of each, then the next round), so that what the
 * process went through before (the JIT's feedback, the heap) weighs on each alike: their ratios
 * are what is compared.
 */
async function measureInTurns(ways, actions, count) {
  const made = [];
  for (const [name, options] of ways) {
    const r = await runner(options);
    for (let i = 0; i < Math.min(count, 3000); i++) await r.call(actions[i & 4095]);
    made.push({ name, ...r, perRepeat: [], perCall: [] });
  }
  for (let round = 0; round < REPEATS; round++) for (const m of made) m.perRepeat.push(await repeat(m.call, actions, count, m.perCall));
  for (const m of made) if (m.enforcer) await m.enforcer.close();
  return made.map((m) => row(m.name, count, m.perRepeat, m.perCall));
}

const rows = [];
for (const [name, options] of Object.entries(configs)) {
  const fsync = options?.audit?.fsync === true;
  rows.push(await measure(name, options, pool, fsync ? Math.min(2000, COUNT) : COUNT));
}
rows.push({ ...(await measure("run(), audit to a file (fsync off), mixed actions (denials included)", { audit: { file: path.join(dir, "audit-mixed.jsonl") } }, mixed, COUNT)), mixed: true });
// the result stage, measured in turns: the module as compiled before stages existed (no
// decideResult: run() cannot decide a result), the same policy compiled today (no rule on
// results), and with one rule on results (every result decided); without audit (the decision
// alone) and with a file audit (the result record too)
const beforeStages = { ...module, decideResult: undefined, decideOutput: undefined };
const resultRows = await measureInTurns(
  [
    ["run(), no audit, a module compiled before stages", { audit: false, policy: beforeStages }],
    ["run(), no audit, no rule on results", { audit: false }],
    ["run(), no audit, one rule on results", { audit: false, policy: resultModule }],
    ["run(), audit to a file (fsync off), no rule on results", { audit: { file: path.join(dir, "audit-no-results.jsonl") } }],
    ["run(), audit to a file (fsync off), one rule on results", { audit: { file: path.join(dir, "audit-results.jsonl") }, policy: resultModule }],
  ],
  pool,
  COUNT,
);
rows.push(...resultRows.map((r) => ({ ...r, resultStage: true })));
const ns = (i) => resultRows[i].nsPerAction.median;
const resultStage = {
  // a policy without rules on results against the module from before stages: what stages cost when unused
  unusedRatio: ns(1) / ns(0),
  // one rule on results against none: what deciding every result adds, without and with audit
  ratio: ns(2) / ns(1),
  addedNs: ns(2) - ns(1),
  auditRatio: ns(4) / ns(3),
  auditAddedNs: ns(4) - ns(3),
};
const auditBytes = fs.statSync(path.join(dir, "audit.jsonl")).size;
const auditText = fs.readFileSync(path.join(dir, "audit.jsonl"), "utf8");
const auditLines = auditText.split("\n").length - 1;
const floor = auditFloor(auditText);
fs.rmSync(dir, { recursive: true, force: true });
emitResult({ kind: "runtime-run", N, rows, resultStage, auditBytesPerRecord: auditBytes / auditLines, floor, toolCalls });

/**
 * What the audit guarantee costs on this machine before any of the runtime's own work: per
 * action, the records of the run above, already built, written with one synchronous write(2)
 * (the decision record and the previous outcome record together, as run() writes them), their
 * two SHA-256 digests and the action's, and one ISO-8601 time. run() cannot cost less than this
 * plus deciding; the rest of its cost is building the records. The write and the digests are
 * also timed on their own.
 */
function auditFloor(text) {
  const lines = text.split("\n").filter((l) => l !== "");
  const pairs = [];
  for (let i = 0; i + 1 < lines.length && pairs.length < 4096; i += 2) {
    const decision = JSON.parse(lines[i]);
    pairs.push({ text: `${lines[i + 1]}\n${lines[i]}\n`, decision: lines[i], outcome: lines[i + 1], action: JSON.stringify(decision.action) });
  }
  const hash = typeof crypto.hash === "function" ? (s) => crypto.hash("sha256", s) : (s) => crypto.createHash("sha256").update(s).digest("hex");
  const file = path.join(os.tmpdir(), `armor-bench-floor-${process.pid}.jsonl`);
  let fd = -1;
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let sink = 0;
  const parts = {
    all(p) {
      sink += hash(p.action).length + hash(p.decision).length + hash(p.outcome).length + new Date().toISOString().length;
      fs.writeSync(fd, buffer, 0, buffer.write(p.text, 0, "utf8"));
    },
    write(p) {
      fs.writeSync(fd, buffer, 0, buffer.write(p.text, 0, "utf8"));
    },
    hashes(p) {
      sink += hash(p.action).length + hash(p.decision).length + hash(p.outcome).length;
    },
  };
  // median ns per action of each part on its own, and of all of them together (the floor)
  const measured = {};
  for (const [name, step] of Object.entries(parts)) {
    // each part appends to a new file, so that none pays for the pages another left dirty
    fd = fs.openSync(file, "w");
    const perRepeat = [];
    for (let r = 0; r < REPEATS + 1; r++) {
      gc();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < COUNT; i++) step(pairs[i % pairs.length]);
      if (r > 0) perRepeat.push(Number(process.hrtime.bigint() - t0) / COUNT);
    }
    measured[name] = median(perRepeat);
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return {
    nsPerAction: measured.all,
    writeNs: measured.write,
    hashesNs: measured.hashes,
    bytesPerAction: pairs.reduce((n, p) => n + Buffer.byteLength(p.text), 0) / pairs.length,
    check: sink > 0,
  };
}
