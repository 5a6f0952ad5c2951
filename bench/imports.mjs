// Policies in many files (docs/language.md §18): a policy that imports a shared base file and the
// `armor:secrets` pack, against the same policy's own rules in one file (the floor, timed in the
// same run).
// - compile: compileSource + emit of the importing policy (every file read, parsed, checked and
//   merged) against the one-file policy, in ms (median of runs after a warm-up);
// - decide: compiled `decide` of an action of a type that neither the base's nor the policy's own
//   rules govern, against the one-file policy. The pack's call rule reads every action
//   (`strings(action)` for credentials), so the floor has the same rule written in its file:
//   what is compared is the cost of the imports themselves, which dispatch by type should make none.
// All packs: a policy that imports every pack in the compiler's packs/ folder (whatever ships at
// the time: each `NAME.armor` there but its `NAME.test.armor`), with their defaults, against the
// same rules in one file (each pack's text with its parameters made lets and its names prefixed):
// compile in ms against the target of 1 s, and `decide` of an action of a type no pack governs,
// in ns, against the one-file policy. Writes bench/results/imports.md.
//   node --expose-gc bench/imports.mjs [--iters 200000] [--runs 20] [--out bench/results/imports.md]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { compileSource, emit, loadModule, nodeHost } from "@agent-armor/compiler";
import { emitResult, median, parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const ITERS = Number(args.iters ?? 200_000);
const RUNS = Number(args.runs ?? 20);
const gc = globalThis.gc ?? (() => {});

// the base: 40 rules over 10 action types that the probe is not
const baseRules = Array.from({ length: 40 }, (_, i) => `rule r${i}\n  when action.type == "t${i % 10}" and (amount > ${1000 + i} or recipient in SANCTIONED)\n  deny\n`).join("\n");
const BASE = `default deny\nparam limit: number = 10000\nlet SANCTIONED = ["a", "b", "c"]\n\n${baseRules}\nrule big when action.type == "wire" and amount > limit deny\n`;
const OWN = 'rule mail when action.type == "email" and to in base.SANCTIONED deny\n';
const MAIN = `default allow\nimport "./base.armor" as base with { limit: 500 }\nimport "armor:secrets" as secrets\n\n${OWN}`;
// the one-file policy: the same rules written out, the pack's call rule among them
const secretsRule = readFileSync(nodeHost.packFile("secrets"), "utf8")
  .match(/rule no_secret_in_arguments[\s\S]*?deny because "[^"]*"/)[0]
  .replace("exempt_tools", "EXEMPT");
const ONE = `default allow\nlet SANCTIONED = ["a", "b", "c"]\nlet EXEMPT = []\n\n${baseRules}\nrule big when action.type == "wire" and amount > 500 deny\n\n${secretsRule}\n\n${OWN.replace("base.SANCTIONED", "SANCTIONED")}`;

const dir = mkdtempSync(path.join(tmpdir(), "armor-bench-imports-"));
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, "base.armor"), BASE);

function compile(name, text) {
  const c = compileSource(path.join(dir, name), text);
  if (!c.ok) throw new Error(c.diagnostics.map((d) => `${d.file}: ${d.message}`).join("; "));
  return { c, js: emit(c).js };
}

function timeCompile(name, text) {
  for (let i = 0; i < 3; i++) compile(name, text);
  const reps = [];
  for (let r = 0; r < RUNS; r++) {
    const s = process.hrtime.bigint();
    compile(name, text);
    reps.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return median(reps);
}

const probe = { action: { type: "read_file", path: "README.md" } };
function timeDecide(module) {
  let sink = 0;
  for (let i = 0; i < 100_000; i++) sink += module.decide(probe).rules.length;
  const reps = [];
  for (let r = 0; r < 5; r++) {
    gc();
    const s = process.hrtime.bigint();
    for (let i = 0; i < ITERS; i++) sink += module.decide(probe).rules.length;
    reps.push(Number(process.hrtime.bigint() - s) / ITERS);
  }
  return { ns: median(reps), sink };
}

const imported = compile("main.armor", MAIN);
const oneFile = compile("one.armor", ONE);
const importedModule = await loadModule(imported.js);
const oneModule = await loadModule(oneFile.js);
if (importedModule.decide(probe).decision !== oneModule.decide(probe).decision) throw new Error("the two policies decide the probe differently");

const compileMs = { imports: timeCompile("main.armor", MAIN), oneFile: timeCompile("one.armor", ONE) };
// in turns, the fastest turn of each kept: on a shared machine the load moves between turns, and
// the fastest turn is the one least disturbed
function inTurns(withModule, oneModule) {
  const turns = { with: [], one: [] };
  for (let r = 0; r < 7; r++) {
    turns.one.push(timeDecide(oneModule).ns);
    turns.with.push(timeDecide(withModule).ns);
  }
  return { with: Math.min(...turns.with), one: Math.min(...turns.one) };
}
const baseTurns = inTurns(importedModule, oneModule);
const withImports = { ns: baseTurns.with };
const floorNs = baseTurns.one;

// ---- all packs ----
const packDir = path.dirname(nodeHost.packFile("secrets"));
const PACKS = readdirSync(packDir)
  .filter((f) => f.endsWith(".armor") && !f.endsWith(".test.armor"))
  .map((f) => f.slice(0, -".armor".length))
  .sort();
const ALL = `default allow\n${PACKS.map((n) => `import "armor:${n}" as ${n}`).join("\n")}\n`;
// the same rules in one file: each pack's parameters and lets become lets and its names get the
// pack's prefix (its tests, header and default left out)
function inlined(name, text) {
  const body = text.replace(/^test "[^"]*" \{[\s\S]*?^\}$/gm, "").replace(/^(policy|default|timezone|schema) .*$/gm, "");
  const names = [...body.matchAll(/^(?:param|let) ([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]);
  let out = body.replace(/^param ([A-Za-z_][A-Za-z0-9_]*): [^=]*=/gm, "let $1 =").replace(/^rule ([A-Za-z_][A-Za-z0-9_]*)/gm, `rule ${name}_$1`);
  for (const n of names) out = out.replace(new RegExp(`(?<![.\\w"])${n}\\b`, "g"), `${name}_${n}`);
  return out;
}
const ALL_ONE = `default allow\n${PACKS.map((n) => inlined(n, readFileSync(nodeHost.packFile(n), "utf8"))).join("\n")}\n`;
const allPacks = compile("all.armor", ALL);
const allOne = compile("all-one.armor", ALL_ONE);
if (allPacks.c.policy.rules.length !== allOne.c.policy.rules.length) throw new Error("the one-file copy of the packs has another number of rules");
const allPacksModule = await loadModule(allPacks.js);
const allOneModule = await loadModule(allOne.js);
if (allPacksModule.decide(probe).decision !== allOneModule.decide(probe).decision) throw new Error("the packs decide the probe differently in one file");
// the one compile that counts for the target: the first, in a fresh compiler (nothing cached)
const firstAllMs = (() => {
  const s = process.hrtime.bigint();
  compile("all.armor", ALL);
  return Number(process.hrtime.bigint() - s) / 1e6;
})();
const allCompileMs = { imports: timeCompile("all.armor", ALL), oneFile: timeCompile("all-one.armor", ALL_ONE) };
const allTurns = inTurns(allPacksModule, allOneModule);
const allWith = { ns: allTurns.with };
const allFloorNs = allTurns.one;
rmSync(dir, { recursive: true, force: true });

const result = {
  rules: { imports: imported.c.policy.rules.length, oneFile: oneFile.c.policy.rules.length },
  files: imported.c.files.length,
  compileMs: { ...compileMs, ratio: compileMs.imports / compileMs.oneFile },
  decideNs: { imports: withImports.ns, oneFile: floorNs, ratio: withImports.ns / floorNs },
  allPacks: {
    packs: PACKS,
    rules: allPacks.c.policy.rules.length,
    compileMs: { ...allCompileMs, ratio: allCompileMs.imports / allCompileMs.oneFile, targetMs: 1000 },
    decideNs: { imports: allWith.ns, oneFile: allFloorNs, ratio: allWith.ns / allFloorNs },
  },
};
process.stderr.write(
  `  compile: ${compileMs.imports.toFixed(1)} ms with imports (${result.files} files), ${compileMs.oneFile.toFixed(1)} ms in one file (x${result.compileMs.ratio.toFixed(2)})\n` +
    `  decide (a type no imported rule governs): ${withImports.ns.toFixed(1)} ns with imports, ${floorNs.toFixed(1)} ns in one file (x${result.decideNs.ratio.toFixed(2)})\n`,
);
process.stderr.write(
  `  all packs (${PACKS.join(", ")}; ${result.allPacks.rules} rules): compile ${allCompileMs.imports.toFixed(1)} ms (target 1000 ms; ${allCompileMs.oneFile.toFixed(1)} ms in one file, x${result.allPacks.compileMs.ratio.toFixed(2)})\n` +
    `  all packs, decide (a type no pack governs): ${allWith.ns.toFixed(1)} ns, ${allFloorNs.toFixed(1)} ns in one file (x${result.allPacks.decideNs.ratio.toFixed(2)})\n`,
);
emitResult({ kind: "imports", ...result });
writeReport(args.out ?? path.join(path.dirname(new URL(import.meta.url).pathname), "results", "imports.md"), result);

function writeReport(file, r) {
  const a = r.allPacks;
  const met = (ok) => (ok ? "**Met**" : "**Not met**");
  const text = `# Policies in many files: imports and all packs

\`node --expose-gc bench/imports.mjs\` (${ITERS.toLocaleString("en")} decisions × 5 repeats per module, compile the median of ${RUNS}
runs after 3 warm-ups), on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model.trim()}, ${os.cpus().length} CPUs, Node ${process.version},
load average ${os.loadavg()[0].toFixed(1)}). Each ratio is against the same rules written in one file, timed in the same run
(in 7 turns of each policy, one after the other, each turn the median of 5 repeats; the fastest
turn of each kept, the one the machine's other load disturbed least).

| policy | files | rules | compile (ms) | one file (ms) | ratio | decide, an ungoverned type (ns) | one file (ns) | ratio |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| a base file and \`armor:secrets\` | ${r.files} | ${r.rules.imports} | ${r.compileMs.imports.toFixed(1)} | ${r.compileMs.oneFile.toFixed(1)} | ${r.compileMs.ratio.toFixed(2)} | ${r.decideNs.imports.toFixed(1)} | ${r.decideNs.oneFile.toFixed(1)} | ${r.decideNs.ratio.toFixed(2)} |
| all packs (${a.packs.map((p) => `\`armor:${p}\``).join(", ")}) | ${a.packs.length + 1} | ${a.rules} | ${a.compileMs.imports.toFixed(1)} | ${a.compileMs.oneFile.toFixed(1)} | ${a.compileMs.ratio.toFixed(2)} | ${a.decideNs.imports.toFixed(1)} | ${a.decideNs.oneFile.toFixed(1)} | ${a.decideNs.ratio.toFixed(2)} |

Targets (issue 23): a policy that imports all packs compiles in under 1 s: ${met(a.compileMs.imports < 1000)} (${a.compileMs.imports.toFixed(1)} ms warm; the first
compile in the process, cold, took ${firstAllMs.toFixed(1)} ms). It decides an action of a type the packs do not govern at the cost of a one-file
policy: ${met(a.decideNs.ratio < 1.1)} (x${a.decideNs.ratio.toFixed(2)}; within 10 % counts as the same cost). The packs' call rules that read every
action (\`strings(action)\` for credentials, card numbers and personal data) run for every type, in the import and in the one-file
policy alike: that is the floor's cost too; dispatch by type keeps every rule of another type out of both.
`;
  writeFileSync(file, text);
}
