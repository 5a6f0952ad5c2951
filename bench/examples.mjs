// Every bundled example's policy on its own inputs: each examples/NAME/policy.armor compiled as a
// deployment compiles it (`armorc compile`, in a child process), the emitted module imported
// here, and compiled decide timed on examples/NAME/inputs/*.json. Beside it, in the same run:
//   - the floor: a function that reads the input as decide must (the input, its action and the
//     action's type) and returns a decision object, timed on the same inputs the same way;
//   - local time fields against UTC ones: one policy reading time.hour and time.weekday, compiled
//     with and without a `timezone`, on 64 inputs whose times spread over two days;
//   - an experiment, what is left besides matching: the same module with V8's RegExp in place of
//     the linear-time matcher's `__reTest` (unsafe: V8 backtracks; a measurement, not a build).
// Writes bench/results/examples.md and bench/results/examples.json and prints the figures.
//   node --expose-gc bench/examples.mjs [--target-ms 300] [--repeats 5] [--examples email,payments]
//
// How a figure is made: the inputs are decided round-robin in batches of one input each (a batch
// lasts about 50 µs, so the clock's own cost is < 1% of it), and each batch gives one sample,
// its time per decision. An example's median and p99 are over all its samples, i.e. over its
// inputs weighted alike; per input, the median is in the JSON.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BENCH, emitResult, median, parseArgs, percentile, ROOT } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const TARGET_MS = Number(args["target-ms"] ?? 300);
const REPEATS = Number(args.repeats ?? 5);
const BATCH_NS = 50_000;
/** The target for every example's median decision, here, once matching is fast. */
const TARGET_NS = 3000;
/** Local time fields may cost at most this many times the UTC ones. */
const LOCAL_TIME_RATIO = 2;
const gc = globalThis.gc ?? (() => {});

const EXAMPLES_DIR = path.join(ROOT, "examples");
const examples = (args.examples ? String(args.examples).split(",") : fs.readdirSync(EXAMPLES_DIR))
  .filter((name) => fs.existsSync(path.join(EXAMPLES_DIR, name, "policy.armor")) && fs.existsSync(path.join(EXAMPLES_DIR, name, "inputs")))
  .sort();

// ---- compiling as a deployment does ---------------------------------------------------------

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "armor-examples-bench-"));
fs.writeFileSync(path.join(outDir, "package.json"), '{ "type": "module" }\n');
const ARMORC = path.join(ROOT, "packages", "cli", "bin", "armorc.js");

/** `armorc compile FILE -o OUT` in a child process, then the module imported here. */
async function compileModule(policyFile, name) {
  const out = path.join(outDir, `${name}.js`);
  try {
    execFileSync(process.execPath, [ARMORC, "compile", policyFile, "-o", out], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  } catch (e) {
    throw new Error(`armorc compile ${path.relative(ROOT, policyFile)} failed:\n${e.stderr ?? e.message}`);
  }
  return import(pathToFileURL(out).href);
}

/**
 * The emitted module with `__reTest` answered by V8's RegExp: the policy's patterns (source,
 * flags, program) come from the compiler in a child process, and the module's program arrays are
 * mapped to RegExps by their content on first use. Redaction keeps the matcher (it needs spans).
 */
async function withV8Regex(policyFile, name) {
  const js = fs.readFileSync(path.join(outDir, `${name}.js`), "utf8");
  const script = `import("@agent-armor/compiler").then(({ compileSource, nodeHost }) => {
    const fs = require("node:fs");
    const c = compileSource(process.argv[1], fs.readFileSync(process.argv[1], "utf8"), nodeHost);
    process.stdout.write(JSON.stringify(c.policy.regexes.filter((r) => r.program).map((r) => [JSON.stringify(r.program), r.source, r.flags])));
  })`;
  const regexes = execFileSync(process.execPath, ["-e", script, policyFile], { cwd: ROOT, encoding: "utf8" });
  // the matcher's own __reTest becomes __reTestVm; calls with spans (redaction) still go to it
  const header = /function __reTest\(p, s(, spans)?\) \{/;
  if (!header.test(js)) throw new Error(`examples/${name}: the emitted module has no __reTest(p, s) to replace; update withV8Regex`);
  // a replacer function, so that `$` in the patterns is not read as a replacement pattern
  const patched = js.replace(
    header,
    (_, spans) => `const __v8BySource = new Map(${regexes}.map(([p, src, flags]) => [p, new RegExp(src, flags)]));
const __v8ByProgram = new WeakMap();
function __reTest(p, s, spans) {
  if (spans !== undefined) return __reTestVm(p, s, spans);
  let re = __v8ByProgram.get(p);
  if (re === undefined) {
    re = __v8BySource.get(JSON.stringify(p));
    if (re === undefined) throw new Error("a program that is not in the policy's regex table");
    __v8ByProgram.set(p, re);
  }
  return re.test(s);
}
function __reTestVm(p, s${spans ?? ""}) {`,
  );
  const file = path.join(outDir, `${name}.v8.js`);
  fs.writeFileSync(file, patched);
  return import(pathToFileURL(file).href);
}

// ---- timing ---------------------------------------------------------------------------------

/**
 * Samples of ns per decision of `decide` over `inputs`, round-robin, one input per batch, after
 * a warm-up; `check` sees every result of the warm-up (a benchmark of wrong answers is no
 * benchmark).
 */
function time(decide, inputs, check) {
  // warm-up: at least 1 s or 20,000 decisions of each input, and an estimate of each one's cost
  const est = inputs.map(() => 0);
  let spent = 0,
    rounds = 0;
  while (spent < 1e9 || rounds < 200) {
    for (let i = 0; i < inputs.length; i++) {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < 100; k++) check(decide(inputs[i]), i);
      const ns = Number(process.hrtime.bigint() - t0);
      est[i] = ns / 100;
      spent += ns;
    }
    rounds++;
  }
  const batch = est.map((e) => Math.max(1, Math.round(BATCH_NS / Math.max(e, 1))));
  const samples = [],
    perInput = inputs.map(() => []),
    repeatMedians = [];
  let sink = 0;
  for (let r = 0; r < REPEATS; r++) {
    gc();
    const repeat = [];
    let ns = 0;
    while (ns < TARGET_MS * 1e6) {
      for (let i = 0; i < inputs.length; i++) {
        const input = inputs[i],
          n = batch[i];
        const t0 = process.hrtime.bigint();
        for (let k = 0; k < n; k++) sink += decide(input).decision.length;
        const took = Number(process.hrtime.bigint() - t0);
        ns += took;
        repeat.push(took / n);
        perInput[i].push(took / n);
      }
    }
    samples.push(...repeat);
    repeatMedians.push(median(repeat));
  }
  if (sink === 0) throw new Error("no decisions were made");
  return {
    median: median(samples),
    p99: percentile(samples, 99),
    repeatMedians,
    perInput: perInput.map((s) => median(s)),
    samples: samples.length,
  };
}

/** The floor: what any decide must do with an input (read the action's type) and a decision object. */
const FLOOR_DECISION = Object.freeze({ decision: "allow", rules: Object.freeze([]), approval: null, action: null, errors: Object.freeze([]) });
function floor(input) {
  if (input === null || typeof input !== "object") return FLOOR_DECISION;
  const action = input.action;
  if (action === null || typeof action !== "object" || typeof action.type !== "string") return FLOOR_DECISION;
  return { decision: FLOOR_DECISION.decision, rules: FLOOR_DECISION.rules, approval: null, action, errors: FLOOR_DECISION.errors };
}

// ---- the examples ---------------------------------------------------------------------------

const started = Date.now();
const rows = [];
for (const name of examples) {
  const dir = path.join(EXAMPLES_DIR, name);
  const mod = await compileModule(path.join(dir, "policy.armor"), name);
  const expectedFile = path.join(dir, "expected.json");
  const expected = fs.existsSync(expectedFile) ? JSON.parse(fs.readFileSync(expectedFile, "utf8")) : null;
  // the decisions of calls (`decide`); inputs whose expected.json entry names another stage (a
  // tool's result, the model's output) are decided by other functions and are not timed here
  const files = fs
    .readdirSync(path.join(dir, "inputs"))
    .filter((f) => f.endsWith(".json") && (expected?.[f]?.stage ?? "call") === "call")
    .sort();
  const inputs = files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, "inputs", f), "utf8")));
  const check = (d, i) => {
    const want = expected?.[files[i]];
    if (d.errors.length > 0 || (want && d.decision !== want.decision))
      throw new Error(`examples/${name}/inputs/${files[i]}: decided ${JSON.stringify(d.decision)} with errors ${JSON.stringify(d.errors)}, expected ${JSON.stringify(want?.decision)}`);
  };
  const fl = time(floor, inputs, () => {});
  const t = time(mod.decide, inputs, check);
  const v8 = time((await withV8Regex(path.join(dir, "policy.armor"), name)).decide, inputs, check);
  rows.push({
    example: name,
    inputs: files.length,
    rules: mod.policy.rules.length,
    timezone: mod.policy.timezone,
    decide: t,
    v8Regex: v8,
    floor: fl,
    ratio: t.median / fl.median,
    perInput: Object.fromEntries(files.map((f, i) => [f, Math.round(t.perInput[i])])),
  });
  process.stderr.write(
    `${name}: median ${(t.median / 1000).toFixed(2)} µs, p99 ${(t.p99 / 1000).toFixed(2)} µs (floor ${fl.median.toFixed(1)} ns; with V8's RegExp ${(v8.median / 1000).toFixed(2)} µs)\n`,
  );
}

// ---- local time fields against UTC ones ----------------------------------------------------

const TIME_POLICY = (zone) => `policy time_fields
default allow
${zone ? `timezone "${zone}"\n` : ""}
rule after_hours
  when action.type == "send_email" and (not (time.hour between 9 and 17) or time.weekday in ["sat", "sun"])
  require approval
`;
const timeInputs = [];
for (let i = 0; i < 64; i++) timeInputs.push({ action: { type: "send_email", to: "a@example.com" }, time: new Date(Date.UTC(2026, 2, 2) + i * 2_640_000 + (i % 60) * 1000).toISOString() });
const timeRows = [];
for (const zone of [null, "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]) {
  const policyFile = path.join(outDir, `time-${zone ? zone.replace("/", "-") : "utc"}.armor`);
  fs.writeFileSync(policyFile, TIME_POLICY(zone));
  const mod = await compileModule(policyFile, path.basename(policyFile, ".armor"));
  const t = time(mod.decide, timeInputs, (d) => {
    if (d.errors.length > 0) throw new Error(`time fields: ${JSON.stringify(d.errors)}`);
  });
  timeRows.push({ zone: zone ?? "UTC", median: t.median, p99: t.p99 });
}
const utc = timeRows[0].median;
for (const r of timeRows) r.ratioToUtc = r.median / utc;
process.stderr.write(`time fields: ${timeRows.map((r) => `${r.zone} ${r.median.toFixed(0)} ns (${r.ratioToUtc.toFixed(2)}×)`).join(", ")}\n`);

// ---- the report -------------------------------------------------------------------------------

const machine = { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, node: process.version, loadavgAtEnd: os.loadavg() };
const result = { date: new Date().toISOString(), durationS: (Date.now() - started) / 1000, machine, targetNs: TARGET_NS, localTimeRatio: LOCAL_TIME_RATIO, rows, timeRows };
const us = (ns) => (ns / 1000).toFixed(2);
const md = [
  "# Examples: compiled decide on each example's own inputs",
  "",
  `Written by \`bench/examples.mjs\` on ${result.date} (${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadavgAtEnd.map((x) => x.toFixed(2)).join(" ")}).`,
  "Each policy compiled by `armorc compile` in a child process and its module imported; the inputs",
  "decided round-robin in ≈50 µs batches of one input; median and p99 over the batches (inputs",
  "weighted alike). The floor reads the input's action type and returns a decision object, timed",
  "the same way in the same run.",
  "",
  `| example | rules | inputs | timezone | median µs | p99 µs | floor ns | median / floor | target ≤ ${us(TARGET_NS)} µs | with V8's RegExp: median µs | p99 µs |`,
  "|---|---:|---:|---|---:|---:|---:|---:|---|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.example} | ${r.rules} | ${r.inputs} | ${r.timezone ?? "UTC"} | ${us(r.decide.median)} | ${us(r.decide.p99)} | ${r.floor.median.toFixed(1)} | ${Math.round(r.ratio).toLocaleString("en-US")}× | ${r.decide.median <= TARGET_NS ? "met" : "not met"} | ${us(r.v8Regex.median)} | ${us(r.v8Regex.p99)} |`,
  ),
  "",
  "The last two columns are an experiment, not a way to run policies: the same module with V8's",
  "`RegExp` answering `matches` in place of the linear-time matcher (V8 backtracks, which is what",
  "the matcher exists to avoid). They show what a decision costs besides matching.",
  "p99 includes the shared machine's scheduling: a batch of one slow decision that was preempted.",
  "",
  "Per input (median µs):",
  "",
  ...rows.map(
    (r) =>
      `- ${r.example}: ${Object.entries(r.perInput)
        .map(([f, ns]) => `${f.replace(/\.json$/, "")} ${us(ns)}`)
        .join(", ")}`,
  ),
  "",
  "## Local time fields",
  "",
  "One rule reading `time.hour` and `time.weekday`, compiled without and with a `timezone`, on 64",
  `inputs whose times spread over two days. Target: a zone at most ${LOCAL_TIME_RATIO}× UTC.`,
  "",
  "| zone | median ns | p99 ns | ratio to UTC | target |",
  "|---|---:|---:|---:|---|",
  ...timeRows.map(
    (r) => `| ${r.zone} | ${r.median.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.ratioToUtc.toFixed(2)}× | ${r.zone === "UTC" ? "" : r.ratioToUtc <= LOCAL_TIME_RATIO ? "met" : "not met"} |`,
  ),
  "",
];
fs.mkdirSync(path.join(BENCH, "results"), { recursive: true });
fs.writeFileSync(path.join(BENCH, "results", "examples.md"), md.join("\n"));
fs.writeFileSync(path.join(BENCH, "results", "examples.json"), `${JSON.stringify(result, null, 2)}\n`);
fs.rmSync(outDir, { recursive: true, force: true });
process.stdout.write(`${md.join("\n")}\n`);
emitResult({ status: "ok", rows: rows.map((r) => ({ example: r.example, median: r.decide.median, p99: r.decide.p99, floor: r.floor.median, v8RegexMedian: r.v8Regex.median })), timeRows });
