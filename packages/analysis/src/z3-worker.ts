/**
 * The source of the worker thread Z3 runs in (solver.ts starts it with `eval: true`, so that the
 * same text serves the built package, the command-line bundle and the sources the tests run; it
 * is plain JavaScript with no import of ours). Z3's WebAssembly runs its checks on threads of its
 * own inside this worker; when one of them crashes or never answers, the parent terminates this
 * worker, which stops them all, and starts another for the next question.
 *
 * Requests, answered one at a time in order: `open` (a solver holding a script), `ask` (a check
 * under `anyOf` and an optional flag, within Z3's timeout `timeoutMs`; the model's constants as
 * `[name, value as Z3 prints it]`), `close`. A request may carry `fault`, the test seam that
 * makes this question fail the way a broken solver does: `crash` (an uncaught WebAssembly trap),
 * `hang` (no answer), `spin` (a busy loop), `reject` (the check's promise rejects), `exit` (the
 * thread exits).
 */
export const Z3_WORKER_SOURCE = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const ready = require(workerData.z3).init().then((api) => {
  // strings are sequences of UTF-16 code units, as in JavaScript: \`bmp\` makes a character one unit
  api.setParam("encoding", "bmp");
  const ctx = api.Context("main");
  // Z3's first check in a process starts its threads and warms its code (hundreds of ms, more on a
  // loaded machine); one on a throwaway solver now, while the caller compiles, spares the first question
  const warm = new ctx.Solver();
  warm.fromString('(declare-const s String) (assert (str.in_re s (re.+ (re.range "a" "z"))))');
  return warm.check().then(
    () => (warm.release(), ctx),
    () => ctx,
  );
});
ready.catch(() => {});
const solvers = new Map();
let chain = Promise.resolve();
parentPort.on("message", (req) => {
  chain = chain.then(() => handle(req));
});
function fault(kind) {
  if (kind === "crash") setImmediate(() => { throw new WebAssembly.RuntimeError("memory access out of bounds"); });
  else if (kind === "spin") for (;;) {}
  else if (kind === "exit") process.exit(3);
  else if (kind === "reject") return Promise.reject(new Error("the check's promise rejected (injected)"));
  return new Promise(() => {});
}
async function handle(req) {
  try {
    const ctx = await ready;
    if (req.op === "open") {
      const solver = new ctx.Solver();
      solver.set("timeout", req.timeoutMs);
      solver.fromString(req.script);
      solvers.set(req.session, solver);
      parentPort.postMessage({ id: req.id, ok: true });
    } else if (req.op === "ask") {
      const solver = solvers.get(req.session);
      // the exact try may have a shorter limit than the session has (solver.ts, exactLimitMs)
      solver.set("timeout", req.timeoutMs);
      solver.push();
      try {
        solver.add(ctx.Or(...req.anyOf.map((name) => ctx.Bool.const(name))));
        if (req.flag !== null) solver.add(ctx.Bool.const(req.flag));
        const result = req.fault ? await fault(req.fault) : await solver.check();
        if (result !== "sat") {
          parentPort.postMessage({ id: req.id, ok: true, result, reason: result === "unknown" ? solver.reasonUnknown() : null });
          return;
        }
        const model = solver.model();
        const values = [];
        for (const decl of model.decls()) {
          if (decl.arity() !== 0) continue;
          values.push([String(decl.name()), model.get(decl).sexpr()]);
        }
        model.release();
        parentPort.postMessage({ id: req.id, ok: true, result, values });
      } finally {
        solver.pop();
      }
    } else if (req.op === "close") {
      const solver = solvers.get(req.session);
      solvers.delete(req.session);
      if (solver !== undefined) solver.release();
      parentPort.postMessage({ id: req.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
}
`;
