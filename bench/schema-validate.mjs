// Schema validation per decision: the runtime's validator with the compiled module's
// `actionBranches` (an action checked against its type's branch only) against the same validator
// without them (the whole union, as before branches existed), on the payments example's actions.
// Ratios are measured in the same run; a short script (a few seconds).
//   node bench/schema-validate.mjs [--count 200000] [--repeats 7]
import fs from "node:fs";
import path from "node:path";
import { compileSource, emit, loadModule, nodeHost } from "@agent-armor/compiler";
import { compileValidator } from "@agent-armor/runtime";
import { median, parseArgs, ROOT } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const COUNT = Number(args.count ?? 200000);
const REPEATS = Number(args.repeats ?? 7);

const file = path.join(ROOT, "examples", "payments", "policy.armor");
const module = await loadModule(emit(compileSource(file, fs.readFileSync(file, "utf8"), nodeHost)).js);
const inputs = path.join(ROOT, "examples", "payments", "inputs");
const actions = fs.readdirSync(inputs).map((f) => JSON.parse(fs.readFileSync(path.join(inputs, f), "utf8")).action);
const whole = compileValidator(module.actionSchema);
const branched = compileValidator(module.actionSchema, module.actionBranches);
const valid = actions.filter((a) => whole(a) === null);
const invalid = [{ type: "wire_transfer", amount: "10", extra: 1 }];

function time(validate, pool) {
  for (let i = 0; i < 20000; i++) validate(pool[i % pool.length]);
  const samples = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < COUNT; i++) validate(pool[i % pool.length]);
    samples.push(Number(process.hrtime.bigint() - t) / COUNT);
  }
  return median(samples);
}

const rows = [];
for (const [name, pool] of [
  [`valid actions (${valid.length} of the example's inputs)`, valid],
  ["an invalid wire_transfer", invalid],
]) {
  const w = time(whole, pool);
  const b = time(branched, pool);
  rows.push({ name, wholeNs: w, branchNs: b, ratio: b / w });
}
console.log("| actions | whole union (ns) | type's branch (ns) | branch / whole |");
console.log("| --- | ---: | ---: | ---: |");
for (const r of rows) console.log(`| ${r.name} | ${r.wholeNs.toFixed(0)} | ${r.branchNs.toFixed(0)} | ${r.ratio.toFixed(2)} |`);
