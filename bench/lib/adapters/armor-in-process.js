// Agent Armor, compiled in the deciding process: the workload as .armor text -> compileSource ->
// emit -> the emitted ES module loaded in this process (loadModule, a data: URL), as
// `createEnforcer({ policy: "x.armor" })` loads a policy. The targets are judged on
// armor-compiled.js, which compiles in a worker thread as `armorc compile` does ahead of a
// deployment (and as the peer harness measures); this row shows what running the compiler in
// the deciding process costs the decisions made after it.
// create() times the whole pipeline.
// The action pool is converted to the decision input shape once, before timing (prepare).
// Adapted from the peer harness's agent-armor adapter (which shelled out to `armorc compile`).
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { prepareFor, specToArmor } from "../gen-armor.js";

export default {
  name: "agent-armor-in-process",
  kind: "engine",
  packages: ["@agent-armor/compiler"],
  async: false,
  notes: "compileSource + emit + loadModule in the deciding process; decide(input).decision",
  async create(spec) {
    const text = specToArmor(spec);
    const c = compileSource(`${spec.name}.armor`, text);
    if (!c.ok)
      throw new Error(
        `does not compile: ${c.diagnostics
          .filter((d) => d.severity === "error")
          .map((d) => d.message)
          .slice(0, 3)
          .join("; ")}`,
      );
    const { js } = emit(c);
    const mod = await loadModule(js);
    const decide = mod.decide;
    return { decide: (input) => decide(input).decision, prepare: prepareFor(spec), info: { moduleBytes: js.length } };
  },
};
