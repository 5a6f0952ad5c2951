/**
 * The bundled examples: every policy checks without warnings, and every sample input gets the
 * decision and fired rules that its expected.json states, from the compiled module and from the
 * reference interpreter alike. An entry with a `stage` (`result`, `output`) decides the input at
 * that stage; without one, as a call.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import type { Stage } from "../packages/compiler/src/ir.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { repoRoot } from "./support/baseline.js";

const examplesDir = join(repoRoot, "examples");
// policies with sample inputs and expected decisions; examples/agent is a program, tested on its own
const examples = readdirSync(examplesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(examplesDir, d.name, "expected.json")))
  .map((d) => d.name)
  .sort();

describe.each(examples)("examples/%s", (name) => {
  const dir = join(examplesDir, name);
  const file = `examples/${name}/policy.armor`;
  const compilation = compileSource(file, readFileSync(join(repoRoot, file), "utf8"));
  const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as Record<string, { decision: string; rules: string[]; stage?: Stage }>;
  const inputs = readdirSync(join(dir, "inputs"))
    .filter((f) => f.endsWith(".json"))
    .sort();

  it("checks without diagnostics", () => {
    expect(compilation.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  });

  it("has an expectation for every input and an input for every expectation", () => {
    expect(Object.keys(expected).sort()).toEqual(inputs);
  });

  it.each(inputs)("%s", async (inputFile) => {
    const input = JSON.parse(readFileSync(join(dir, "inputs", inputFile), "utf8")) as unknown;
    const module = await loadModule(emit(compilation).js);
    const { stage = "call", ...want } = expected[inputFile]!;
    const decide = stage === "result" ? module.decideResult : stage === "output" ? module.decideOutput : module.decide;
    const compiled = decide!.call(module, input);
    const reference = evaluatePolicy(compilation.policy, input, { stage }).result;
    expect(compiled).toEqual(reference);
    expect({ decision: compiled.decision, rules: compiled.rules.map((r) => r.id) }).toEqual(want);
    expect(compiled.errors).toEqual([]);
  });
});
