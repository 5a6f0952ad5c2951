/**
 * The thread the facts of long JavaScript are read in (js-pool.ts): acorn only, no engine, and no
 * runs, so a pool whose workers are all busy running code still has its facts read at once.
 */
import { parentPort } from "node:worker_threads";
import { javaScriptFacts } from "./js-facts.js";
import type { FromWorker, ToWorker } from "./js-worker.js";

const port = parentPort;
if (port === null) throw new Error("facts-worker.js runs as a worker thread");

port.on("message", (m: ToWorker) => {
  if (m.kind !== "facts") return;
  port.postMessage({ kind: "facts", job: m.job, facts: JSON.stringify(javaScriptFacts(m.code)) } satisfies FromWorker);
});
