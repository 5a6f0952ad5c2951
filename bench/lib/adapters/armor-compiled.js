// Agent Armor, compiled: the workload as .armor text -> compileSource -> emit, in a worker thread,
// and the emitted ES module loaded in this process. This is how a policy is deployed (compiled
// ahead by `armorc compile`, imported by the agent) and how the peer harness's own adapter runs it
// (/work/shared/bench/peerbench/src/adapters/agent-armor.js, "peerbench", which shells out to
// `armorc compile`): the process that decides never runs the compiler. That matters for the
// figures: running the compiler in the deciding process leaves its heap and type feedback
// behind, and the module's guards (the input's prototype, own fields) then cost a few ns more per
// decision (bench/README.md, "Where the compiler runs").
//
// Timings: `load` is importing the compiler in the worker, `compile` is compileSource + emit in
// the worker plus loading the emitted module here (the worker's start-up is in neither). Memory
// after create() is the emitted module's, in this process.
// The action pool is converted to the decision input shape once, before timing (prepare).
import { Worker } from "node:worker_threads";
import { specToArmor, prepareInput } from "../gen-armor.js";

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { performance } = require("node:perf_hooks");
(async () => {
  try {
    let t = performance.now();
    const { compileSource, emit } = await import(workerData.compiler);
    const loadMs = performance.now() - t;
    t = performance.now();
    const c = compileSource(workerData.file, workerData.text);
    if (!c.ok) throw new Error("does not compile: " + c.diagnostics.filter((d) => d.severity === "error").map((d) => d.message).slice(0, 3).join("; "));
    const { js } = emit(c);
    parentPort.postMessage({ js, loadMs, compileMs: performance.now() - t });
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message || e) });
  }
})();
`;

/** compileSource + emit in a worker thread: the emitted module's text and the worker's timings. */
function compileInWorker(file, text) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { compiler: import.meta.resolve("@agent-armor/compiler"), file, text } });
    worker.once("message", (m) => {
      void worker.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    worker.once("error", reject);
  });
}

export default {
  name: "agent-armor",
  kind: "engine",
  packages: ["@agent-armor/compiler"],
  async: false,
  notes: "compileSource + emit in a worker thread; the emitted module imported here; decide(input).decision",
  async create(spec) {
    const { js, loadMs, compileMs } = await compileInWorker(`${spec.name}.armor`, specToArmor(spec));
    const t = performance.now();
    const mod = await import(`data:text/javascript;base64,${Buffer.from(js, "utf8").toString("base64")}`);
    const moduleLoadMs = performance.now() - t;
    const decide = mod.decide;
    return {
      decide: (input) => decide(input).decision,
      prepare: prepareInput,
      timings: { loadMs, createMs: compileMs + moduleLoadMs },
      info: { moduleBytes: js.length, compileMs, moduleLoadMs },
    };
  },
};
