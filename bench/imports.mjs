// Policies in many files (docs/language.md §18): a policy that imports a shared base file and the
// `armor:secrets` pack, against the same policy's own rules in one file (the floor, timed in the
// same run).
// - compile: compileSource + emit of the importing policy (every file read, parsed, checked and
//   merged) against the one-file policy, in ms (median of runs after a warm-up);
// - decide: compiled `decide` of an action of a type that neither the base's nor the policy's own
//   rules govern, against the one-file policy. The pack's call rule reads every action
//   (`strings(action)` for credentials), so the floor has the same rule written in its file:
//   what is compared is the cost of the imports themselves, which dispatch by type should make none.
//   node --expose-gc bench/imports.mjs [--iters 500000] [--runs 20]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { compileSource, emit, loadModule, nodeHost } from "@agent-armor/compiler";
import { emitResult, median, parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const ITERS = Number(args.iters ?? 500_000);
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
// the floor is timed before and after; the ratio uses the faster
const floorA = timeDecide(oneModule);
const withImports = timeDecide(importedModule);
const floorB = timeDecide(oneModule);
const floorNs = Math.min(floorA.ns, floorB.ns);
rmSync(dir, { recursive: true, force: true });

const result = {
  rules: { imports: imported.c.policy.rules.length, oneFile: oneFile.c.policy.rules.length },
  files: imported.c.files.length,
  compileMs: { ...compileMs, ratio: compileMs.imports / compileMs.oneFile },
  decideNs: { imports: withImports.ns, oneFile: floorNs, ratio: withImports.ns / floorNs },
};
process.stderr.write(
  `  compile: ${compileMs.imports.toFixed(1)} ms with imports (${result.files} files), ${compileMs.oneFile.toFixed(1)} ms in one file (x${result.compileMs.ratio.toFixed(2)})\n` +
    `  decide (a type no imported rule governs): ${withImports.ns.toFixed(1)} ns with imports, ${floorNs.toFixed(1)} ns in one file (x${result.decideNs.ratio.toFixed(2)})\n`,
);
emitResult({ kind: "imports", ...result });
