// Agent Armor, compiled: the workload as .armor text -> compileSource -> emit, in a worker thread,
// and the emitted ES module loaded in this process. This is how a policy is deployed (compiled
// ahead by `armorc compile`, imported by the agent) and how the peer harness's own adapter runs it
// (/work/shared/bench/peerbench/src/adapters/agent-armor.js, "peerbench", which shells out to
// `armorc compile`): the process that decides never runs the compiler. That matters for the
// figures: after the compiler has run in the deciding process, compiled decide is measurably
// slower (the row "compiled in the deciding process", armor-in-process.js, shows by how much).
//
// Timings: `load` is importing the compiler in the worker, `compile` is compileSource + emit in
// the worker plus loading the emitted module here (the worker's start-up and handing the text
// over are in neither). create() returns after the worker has exited: the heap growth after it
// is the emitted module's; RSS also keeps what the worker's heap left to the allocator.
// The action pool is converted to the decision input shape once, before timing (prepare).
import { Worker } from "node:worker_threads";
import { prepareFor, specToArmor } from "../gen-armor.js";

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

const WORKER_TIMEOUT_MS = 10 * 60_000;

/** compileSource + emit in a worker thread: the emitted module's text and the worker's timings; settles once the worker has exited. */
function compileInWorker(file, text) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { compiler: import.meta.resolve("@agent-armor/compiler"), file, text } });
    let reply = null;
    let failure = null;
    const timer = setTimeout(() => {
      failure = new Error(`the compiler worker did not finish in ${WORKER_TIMEOUT_MS / 1000} s`);
      void worker.terminate();
    }, WORKER_TIMEOUT_MS);
    worker.once("message", (m) => {
      reply = m;
      void worker.terminate();
    });
    worker.once("error", (e) => {
      failure ??= e;
    });
    worker.once("exit", (code) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else if (reply === null) reject(new Error(`the compiler worker exited (code ${code}) without a result`));
      else if (reply.error) reject(new Error(reply.error));
      else resolve(reply);
    });
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
      prepare: prepareFor(spec),
      timings: { loadMs, createMs: compileMs + moduleLoadMs },
      info: { moduleBytes: js.length, compileMs, moduleLoadMs },
    };
  },
};
