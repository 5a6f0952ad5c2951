// The regex matcher against V8's RegExp on the same inputs, as ratios measured in one run.
//
//   node bench/regex.mjs [--size BYTES] [--out FILE]
//
// Workloads: a 200-word blocklist (`\b(?:w1|...|w200)\b`, plain and case-insensitive) and the
// bounded repetition `[^\s]{0,1000}\.exe` on 1 MiB inputs with and without a match, and on
// adversarial ones (one long run of non-space characters); `test` (what `matches` runs) and
// `replace` (what `redact ... matching` runs). Then every pattern of examples/*/policy.armor on
// the string fields of that example's own inputs (examples/*/inputs/*.json).
// Targets: the 1 MiB workloads within 10x of RegExp, the examples' patterns within 3x.
// Writes bench/results/regex.md (after `npm run build -w @agent-armor/compiler`).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, parseArgs, ROOT } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const SIZE = Number(args.size ?? 1 << 20);
const EXAMPLES_ONLY = args["examples-only"] === true;
const OUT = args.out ?? path.join(ROOT, "bench", "results", "regex.md");
const { compileRegex } = await import(path.join(ROOT, "packages", "compiler", "dist", "regex", "index.js"));

/** A deterministic generator (mulberry32), so every run sees the same inputs. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(12);
const word = (min, max) => {
  const len = min + Math.floor(random() * (max - min + 1));
  let w = "";
  for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(random() * 26));
  return w;
};
const blocklist = [...new Set(Array.from({ length: 400 }, () => word(6, 10)))].slice(0, 200);
const blocked = new Set(blocklist);
/** Text of `size` code units: words of 2-9 letters and punctuation, none of them blocklisted. */
function prose(size) {
  const parts = [];
  let n = 0;
  while (n < size) {
    let w = word(2, 9);
    if (blocked.has(w)) continue;
    if (random() < 0.1) w = w[0].toUpperCase() + w.slice(1);
    w += random() < 0.1 ? ". " : random() < 0.05 ? ",\n" : " ";
    parts.push(w);
    n += w.length;
  }
  return parts.join("").slice(0, size);
}

/** Median ms of `fn()` over repeats, with at least `minMs` of calls per repeat. */
function time(fn, minMs = 40, repeats = 5) {
  let calls = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    // RegExp backtracks for seconds on some of these inputs: one call is measurement enough.
    if (calls === 1 && ms > 500) return ms;
    if (ms >= minMs || calls > 1e7) break;
    calls *= ms < 1 ? 10 : Math.ceil((minMs / ms) * 1.2);
  }
  const samples = [];
  for (let r = 0; r < repeats; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6 / calls);
  }
  return median(samples);
}

function compare(source, flags, input, op) {
  const ours = compileRegex(source, flags);
  const v8 = new RegExp(source, flags);
  const v8g = new RegExp(source, `${flags}g`);
  const run = op === "test" ? [() => ours.test(input), () => v8.test(input)] : [() => ours.replace(input, "[REDACTED]"), () => input.replace(v8g, () => "[REDACTED]")];
  const same = op === "test" ? run[0]() === run[1]() : run[0]() === run[1]();
  if (!same) throw new Error(`/${source}/${flags} ${op}: the engine and RegExp disagree`);
  const minMs = input.length > 10_000 ? 20 : 40;
  const oursMs = time(run[0], minMs);
  const v8Ms = time(run[1], minMs);
  return { oursMs, v8Ms, ratio: oursMs / v8Ms };
}

// ---------------------------------------------------------------------------------------------
// 1 MiB workloads

const text = prose(SIZE);
const blockSource = `\\b(?:${blocklist.join("|")})\\b`;
const withWord = `${text.slice(0, SIZE - 20)} ${blocklist[137]} end`;
const withWordUpper = `${text.slice(0, SIZE - 20)} ${blocklist[137].toUpperCase()} end`;
const exeSource = "[^\\s]{0,1000}\\.exe";
const run1 = "x".repeat(SIZE);
const large = [
  { name: "blocklist, no match", source: blockSource, flags: "", input: text },
  { name: "blocklist, match at the end", source: blockSource, flags: "", input: withWord },
  { name: "blocklist /i, no match", source: blockSource, flags: "i", input: text },
  { name: "blocklist /i, match at the end", source: blockSource, flags: "i", input: withWordUpper },
  { name: "blocklist, one run of letters", source: blockSource, flags: "", input: run1 },
  { name: "bounded repetition, prose, no match", source: exeSource, flags: "", input: text },
  { name: "bounded repetition, prose, match at the end", source: exeSource, flags: "", input: `${text.slice(0, SIZE - 10)} setup.exe` },
  { name: "bounded repetition, one run of non-space, no match", source: exeSource, flags: "", input: run1 },
  { name: "bounded repetition, one run of non-space, then .exe", source: exeSource, flags: "", input: `${run1.slice(4)}.exe` },
  { name: "bounded repetition, runs of `.ex` (near misses)", source: exeSource, flags: "", input: "a.ex".repeat(SIZE / 4) },
];

const lines = [];
const out = (s = "") => {
  lines.push(s);
  console.log(s);
};
const fmt = (ms) => (ms >= 1 ? ms.toFixed(2) : ms >= 0.01 ? ms.toFixed(3) : ms.toFixed(5));

out("# Regex matching against V8's RegExp");
out();
out("`node bench/regex.mjs` (after `npm run build -w @agent-armor/compiler`). Ratios are measured in one run,");
out("on the same inputs: ours / RegExp's median time per call. Inputs are generated deterministically.");
out();
out(`- machine: ${os.cpus()[0]?.model.trim()} × ${os.cpus().length}, Node ${process.version}, ${process.platform}/${process.arch}`);
out(`- date: ${new Date().toISOString()}`);
out(
  `- load average when run: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")} (the machine is shared)`,
);
out(`- input size: ${SIZE} code units; blocklist: 200 words of 6–10 letters`);
out();
out(`## 1 MiB inputs (target: within 10× of RegExp)`);
out();
out("| workload | op | ours ms | RegExp ms | ratio | target met |");
out("| --- | --- | --- | --- | --- | --- |");
let worstLarge = 0;
for (const c of EXAMPLES_ONLY ? [] : large) {
  for (const op of ["test", "replace"]) {
    const r = compare(c.source, c.flags, c.input, op);
    worstLarge = Math.max(worstLarge, r.ratio);
    out(`| ${c.name} | ${op} | ${fmt(r.oursMs)} | ${fmt(r.v8Ms)} | ${r.ratio.toFixed(2)} | ${r.ratio <= 10 ? "yes" : "no"} |`);
  }
}
out();

// ---------------------------------------------------------------------------------------------
// The examples' own patterns and inputs

/** The regex literals after `matches` and `matching` in a policy, as [source, flags]. */
function policyPatterns(text) {
  const found = [];
  const re = /\b(?:matches|matching)\s+\//g;
  for (const m of text.matchAll(re)) {
    let i = m.index + m[0].length,
      inClass = false,
      source = "";
    for (; i < text.length; i++) {
      const ch = text[i];
      if (ch === "\\") {
        source += ch + text[++i];
        continue;
      }
      if (ch === "[") inClass = true;
      else if (ch === "]") inClass = false;
      else if (ch === "/" && !inClass) break;
      source += ch;
    }
    const flags = /^[a-z]*/.exec(text.slice(i + 1))[0];
    found.push([source, flags]);
  }
  return found;
}
function strings(value, acc) {
  if (typeof value === "string") acc.push(value);
  else if (value !== null && typeof value === "object") for (const v of Object.values(value)) strings(v, acc);
  return acc;
}

out("## The examples' patterns on the examples' own input strings (target: within 3× of RegExp)");
out();
out("Each pattern of `examples/*/policy.armor` against every string field of the actions in that");
out("example's `inputs/*.json`; time per pass over all of them.");
out();
out("| example | pattern | strings | op | ours µs | RegExp µs | ratio | target met |");
out("| --- | --- | --- | --- | --- | --- | --- | --- |");
let worstExample = 0;
for (const dir of fs.readdirSync(path.join(ROOT, "examples")).sort()) {
  const policy = path.join(ROOT, "examples", dir, "policy.armor");
  const inputsDir = path.join(ROOT, "examples", dir, "inputs");
  if (!fs.existsSync(policy) || !fs.existsSync(inputsDir)) continue;
  const inputs = fs
    .readdirSync(inputsDir)
    .filter((f) => f.endsWith(".json"))
    .flatMap((f) => strings(JSON.parse(fs.readFileSync(path.join(inputsDir, f), "utf8")).action, []));
  const seen = new Set();
  for (const [source, flags] of policyPatterns(fs.readFileSync(policy, "utf8"))) {
    if (seen.has(`${source}/${flags}`)) continue;
    seen.add(`${source}/${flags}`);
    const ours = compileRegex(source, flags);
    const v8 = new RegExp(source, flags);
    for (const s of inputs) if (ours.test(s) !== v8.test(s)) throw new Error(`/${source}/${flags} disagrees on ${JSON.stringify(s)}`);
    const oursMs = time(() => {
      let k = 0;
      for (const s of inputs) if (ours.test(s)) k++;
      return k;
    });
    const v8Ms = time(() => {
      let k = 0;
      for (const s of inputs) if (v8.test(s)) k++;
      return k;
    });
    const ratio = oursMs / v8Ms;
    worstExample = Math.max(worstExample, ratio);
    const shown = source.length > 48 ? `${source.slice(0, 45).replaceAll("|", "\\|")}…` : source.replaceAll("|", "\\|");
    out(`| ${dir} | \`/${shown}/${flags}\` | ${inputs.length} | test | ${(oursMs * 1000).toFixed(2)} | ${(v8Ms * 1000).toFixed(2)} | ${ratio.toFixed(2)} | ${ratio <= 3 ? "yes" : "no"} |`);
  }
}
out();
out(`Worst ratio on 1 MiB inputs: ${worstLarge.toFixed(2)} (target ≤ 10: ${worstLarge <= 10 ? "met" : "not met"}).`);
out(`Worst ratio on the examples: ${worstExample.toFixed(2)} (target ≤ 3: ${worstExample <= 3 ? "met" : "not met"}).`);
if (!args.out || args.out !== "-") {
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${lines.join("\n")}\n`);
}
