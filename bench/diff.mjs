// `armorc diff` as an author runs it (a child process: start, compile both versions, load Z3,
// ask the solver, re-decide each example), on two versions of each bundled example and of the
// peer workload at N=1,000 rules. The second version of an example is the policy without its
// last rule on calls (a change with an effect, so the diff has examples to find and check); the
// second 1,000-rule policy raises the threshold of one filler rule (`amount > 500` → `> 550`).
// Beside each, in the same run, the floor: `armorc check` of the same two files (start and
// compile, no solver), so the ratio says what the analysis adds on this machine.
// Targets (issue 19): under 2 s per example pair, under 10 s for the 1,000-rule pair.
// Writes bench/results/diff.md (a row per pair: time, floor, ratio, target, met), with the load
// average before and after the run (the machine is shared; the ratio to the floor is the figure
// that travels).
//   node bench/diff.mjs [--repeats 3] [--n 1000] [--out bench/results/diff.md]
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { compileSource } from "@agent-armor/compiler";
import { specToArmor } from "./lib/gen-armor.js";
import { makeSpec } from "./lib/spec.js";
import { emitResult, median, parseArgs, ROOT } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const REPEATS = Number(args.repeats ?? 3);
const N = Number(args.n ?? 1000);
const OUT = args.out ?? path.join(ROOT, "bench", "results", "diff.md");
const ARMORC = path.join(ROOT, "packages", "cli", "bin", "armorc.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "armor-diff-bench-"));

/** The policy text without its last rule on calls (by the rule's span in the checked IR). */
function withoutLastRule(file) {
  const text = fs.readFileSync(file, "utf8");
  const c = compileSource(file, text);
  const last = c.policy.rules.filter((r) => r.stage === "call").at(-1);
  return text.slice(0, last.span.start) + text.slice(last.span.end);
}

function pairs() {
  const out = [];
  for (const name of fs.readdirSync(path.join(ROOT, "examples")).sort()) {
    const dir = path.join(ROOT, "examples", name);
    const policy = path.join(dir, "policy.armor");
    if (!fs.existsSync(policy)) continue;
    // beside the original, so that a `schema "..."` it names is found
    const edited = path.join(dir, ".bench-diff-new.armor");
    fs.writeFileSync(edited, withoutLastRule(policy));
    out.push({ name: `examples/${name}`, old: policy, new: edited, target: 2000, cleanup: edited });
  }
  const peer = specToArmor(makeSpec(N));
  const from = 'rule f500_tool_500 when action.type == "tool_500" and action.amount > 500 deny';
  if (!peer.includes(from)) throw new Error("the peer workload no longer has the rule this benchmark edits");
  const a = path.join(work, "peer-old.armor");
  const b = path.join(work, "peer-new.armor");
  fs.writeFileSync(a, peer);
  fs.writeFileSync(b, peer.replace(from, from.replace("> 500", "> 550")));
  out.push({ name: `peer N=${N}, one rule changed`, old: a, new: b, target: 10000 });
  return out;
}

function timed(argv, okCodes) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [ARMORC, ...argv], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (!okCodes.includes(r.status)) throw new Error(`armorc ${argv.join(" ")} exited ${r.status}:\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

execFileSync(process.execPath, [ARMORC, "--version"]);
const loadBefore = os.loadavg();
const rows = [];
const list = pairs();
try {
  for (const p of list) {
    const diffMs = [];
    const floorMs = [];
    let summary = "";
    for (let i = 0; i < REPEATS; i++) {
      floorMs.push(timed(["check", p.old, p.new], [0]).ms);
      const d = timed(["diff", p.old, p.new, "--format", "json"], [0, 1, 2]);
      diffMs.push(d.ms);
      const r = JSON.parse(d.stdout);
      summary = `${r.status}; ${r.findings.filter((f) => f.status === "changed").length} kinds changed; solver ${r.solverMs} ms`;
    }
    const row = { pair: p.name, diffMs: Math.round(median(diffMs)), floorMs: Math.round(median(floorMs)), targetMs: p.target, summary };
    row.ratio = Number((row.diffMs / row.floorMs).toFixed(1));
    row.meetsTarget = row.diffMs < p.target;
    rows.push(row);
    process.stdout.write(
      `${row.pair.padEnd(34)} diff ${String(row.diffMs).padStart(6)} ms  (check ${row.floorMs} ms, x${row.ratio})  target < ${p.target} ms: ${row.meetsTarget ? "yes" : "NO"}  [${summary}]\n`,
    );
  }
} finally {
  for (const p of list) if (p.cleanup) fs.rmSync(p.cleanup, { force: true });
}
writeReport(rows, loadBefore, os.loadavg());
emitResult({ bench: "diff", repeats: REPEATS, cpus: os.cpus().length, rows });

function writeReport(rows, before, after) {
  const load = (l) => l.map((x) => x.toFixed(2)).join(", ");
  const lines = [
    "# `armorc diff` of two versions of each example",
    "",
    "`node bench/diff.mjs` (after `npm run build`). Each pair is timed as an author runs it (a child process:",
    "start, compile both versions, load Z3, solve, re-decide every example); the floor is `armorc check` of the",
    `same two files in the same run. Medians of ${REPEATS} runs.`,
    "",
    `- machine: ${os.cpus()[0]?.model.trim()} × ${os.cpus().length}, Node ${process.version}, ${process.platform}/${process.arch}`,
    `- date: ${new Date().toISOString()}`,
    `- load average before / after: ${load(before)} / ${load(after)} (the machine is shared)`,
    `- targets met: ${rows.filter((r) => r.meetsTarget).length} of ${rows.length}`,
    "",
    "| pair | diff ms | floor (check) ms | ratio | target ms | met | result |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.pair} | ${r.diffMs} | ${r.floorMs} | ${r.ratio} | < ${r.targetMs} | ${r.meetsTarget ? "yes" : "no"} | ${r.summary} |`),
  ];
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${lines.join("\n")}\n`);
}
