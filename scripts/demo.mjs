#!/usr/bin/env node
import { spawnSync } from "node:child_process";
// The main job on the bundled examples: check and compile every policy in examples/, write the
// decision modules to out/examples/, and print the decision for every sample input beside the
// expected one (at the stage its entry names: a call, or a tool's result, or the model's output). Exits 1 if a policy has errors or a decision differs from examples/*/expected.json.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileSource, emit, loadModule, renderText } from "../packages/compiler/dist/index.js";

const root = new URL("..", import.meta.url).pathname;
const examples = join(root, "examples");
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
let failures = 0;

for (const name of readdirSync(examples).sort()) {
  const file = join(examples, name, "policy.armor");
  if (!existsSync(file) || !existsSync(join(examples, name, "expected.json"))) continue;
  const rel = `examples/${name}/policy.armor`;
  const text = readFileSync(file, "utf8");
  const compilation = compileSource(rel, text, { readFile: (p) => (existsSync(p) ? readFileSync(p, "utf8") : undefined) });
  // schema paths resolve against the relative name; run from the repository root
  if (compilation.diagnostics.length > 0) {
    process.stdout.write(`${renderText(compilation.diagnostics, new Map([[rel, compilation.source]]), { color })}\n`);
  }
  if (!compilation.ok) {
    failures++;
    continue;
  }
  const { js, dts } = emit(compilation);
  const outDir = join(root, "out", "examples", name);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "policy.js"), js);
  writeFileSync(join(outDir, "policy.d.ts"), dts);
  const module = await loadModule(js);
  const p = compilation.policy;
  process.stdout.write(`\n${paint("1", `${p.name} ${p.version ?? ""}`)}  ${rel}  ${p.rules.length} rules, default ${p.defaultDecision} -> out/examples/${name}/policy.js\n`);
  const expected = JSON.parse(readFileSync(join(examples, name, "expected.json"), "utf8"));
  const inputsDir = join(examples, name, "inputs");
  for (const inputFile of readdirSync(inputsDir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const input = JSON.parse(readFileSync(join(inputsDir, inputFile), "utf8"));
    const want = expected[inputFile];
    const stage = want?.stage ?? "call";
    const d = stage === "result" ? module.decideResult(input) : stage === "output" ? module.decideOutput(input) : module.decide(input);
    const ok = want !== undefined && want.decision === d.decision && JSON.stringify(want.rules) === JSON.stringify(d.rules.map((r) => r.id));
    if (!ok) failures++;
    const mark = ok ? paint("32", "ok  ") : paint("31", "FAIL");
    const rules = d.rules.map((r) => r.id).join(", ") || "(default)";
    const labels = d.labels?.length ? `  labels: ${d.labels.join(", ")}` : "";
    process.stdout.write(`  ${mark} ${inputFile.padEnd(44)} ${stage.padEnd(7)} ${d.decision.padEnd(17)} ${rules}${labels}\n`);
    if (!ok) process.stdout.write(`       expected ${want ? `${want.decision} by ${want.rules.join(", ") || "(default)"}` : "an entry in expected.json"}\n`);
    if (d.errors.length > 0) process.stdout.write(`       errors: ${d.errors.map((e) => `${e.rule ?? "input"}: ${e.message}`).join("; ")}\n`);
  }
}
process.stdout.write(failures === 0 ? "\nall example decisions match their expectations\n" : `\n${failures} problem(s)\n`);

// the runtime at work: a scripted agent guarded by an enforcer, with its audit log
process.stdout.write(`\n${paint("1", "examples/agent")}  a support agent guarded by @agent-armor/runtime\n\n`);
const agent = spawnSync(process.execPath, [join(examples, "agent", "agent.mjs")], { stdio: "inherit" });
if (agent.status !== 0) failures++;

// the same kind of assistant on the framework adapters, each with its framework's scripted model
for (const [name, what] of [
  ["agent-ai-sdk", "on the Vercel AI SDK, guarded by @agent-armor/ai-sdk"],
  ["agent-langchain", "on LangChain.js and LangGraph.js, guarded by @agent-armor/langchain"],
  ["agent-openai-agents", "on the OpenAI Agents SDK, guarded by @agent-armor/openai-agents"],
]) {
  process.stdout.write(`\n${paint("1", `examples/${name}`)}  a support assistant ${what}\n\n`);
  if (spawnSync(process.execPath, [join(examples, name, "run.mjs")], { stdio: "inherit" }).status !== 0) failures++;
}

// agent-written Python in the sandbox, under the policy
process.stdout.write(`\n${paint("1", "examples/data-analysis")}  a data-analysis agent whose Python runs in @agent-armor/sandbox\n`);
if (spawnSync(process.execPath, [join(examples, "data-analysis", "run.mjs")], { stdio: "inherit" }).status !== 0) failures++;
// the decision service shipping its audit records to a local collector that goes down and comes back
process.stdout.write(`\n${paint("1", "examples/decision-shipping")}  armor serve ships its audit log to a collector\n\n`);
if (spawnSync(process.execPath, [join(examples, "decision-shipping", "run.mjs")], { stdio: "inherit" }).status !== 0) failures++;
process.exitCode = failures === 0 ? 0 : 1;
