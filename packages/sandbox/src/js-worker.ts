/**
 * The worker thread a JavaScript run happens in (see js-pool.ts): it runs one job at a time in
 * QuickJS, and asks the parent for each host call. The parent can stop it at any moment
 * (`terminate`), which is what bounds a run whose time goes into a built-in that QuickJS does not
 * interrupt.
 */
import { parentPort } from "node:worker_threads";
import { SandboxFailure, type SandboxLimits } from "./limits.js";
import { type HostFunction, type PreparedRun, prepareJavaScript, runJavaScript } from "./quickjs-run.js";

/** Parent → worker (`facts`: to the facts thread, facts-worker.ts). */
export type ToWorker =
  | { kind: "run"; job: number; code: string; limits: SandboxLimits; host: string[] }
  | { kind: "facts"; job: number; code: string }
  | { kind: "answer"; call: number; ok: boolean; json: string };

/** Worker → parent. */
export type FromWorker =
  | { kind: "ready" }
  | { kind: "call"; job: number; call: number; name: string; args: string }
  | { kind: "facts"; job: number; facts: string }
  | { kind: "done"; job: number; value: string; stdout: string }
  | { kind: "failed"; job: number; failure: string; message: string };

const port = parentPort;
if (port === null) throw new Error("js-worker.js runs as a worker thread");

/**
 * The runtime and context the next run takes, made while the worker waits for it: a run does not
 * pay for making them, and each is used by one run only (nothing runs in it before), so every run
 * still starts from a clean state. Null while one is being made, or when making it failed (the
 * run then makes its own).
 */
let next: PreparedRun | null = null;
/**
 * Makes the next run's runtime, then says `ready` again: the pool gives runs to a worker that has
 * one made before a worker still making its own (whose making would compete with the run for the
 * CPU), and can tell when every warm worker is idle.
 */
const prepareNext = (): Promise<void> =>
  // a run that came before this turn made its own runtime, and a later turn may find one made
  (next !== null ? Promise.resolve(next) : prepareJavaScript())
    .then(
      (p) => {
        next = p;
      },
      () => {
        next = null;
      },
    )
    .then(() => port.postMessage({ kind: "ready" } satisfies FromWorker));

// a warm worker has its engine loaded and its first runtime made before its first run, and says so
prepareJavaScript().then(
  (p) => {
    next = p;
    port.postMessage({ kind: "ready" } satisfies FromWorker);
  },
  (e: unknown) => {
    throw e;
  },
);

let nextCall = 0;
const waiting = new Map<number, (answer: { ok: boolean; json: string }) => void>();

port.on("message", (m: ToWorker) => {
  if (m.kind === "answer") {
    const settle = waiting.get(m.call);
    waiting.delete(m.call);
    settle?.(m);
    return;
  }
  // facts are read in a thread of their own (facts-worker.ts), never in one that runs code
  if (m.kind === "run") void runJob(m);
});

async function runJob(m: Extract<ToWorker, { kind: "run" }>): Promise<void> {
  const host: Record<string, HostFunction> = {};
  for (const name of m.host) {
    host[name] = (args) =>
      new Promise((resolve, reject) => {
        const call = nextCall++;
        waiting.set(call, (a) => (a.ok ? resolve(JSON.parse(a.json) as unknown) : reject(new Error(a.json))));
        port!.postMessage({ kind: "call", job: m.job, call, name, args: JSON.stringify(args) } satisfies FromWorker);
      });
  }
  const prepared = next ?? undefined;
  next = null;
  try {
    const r = await runJavaScript(m.code, { limits: m.limits, host }, prepared);
    port!.postMessage({ kind: "done", job: m.job, value: JSON.stringify(r.value), stdout: r.stdout } satisfies FromWorker);
  } catch (e) {
    const failure = e instanceof SandboxFailure ? e.kind : "engine";
    port!.postMessage({ kind: "failed", job: m.job, failure, message: e instanceof Error ? e.message : String(e) } satisfies FromWorker);
  }
  // the answer is on its way: the next run's runtime is made once the parent has had a moment to
  // read it (made at once, it competes for the CPU with the parent waking to read the answer on
  // a busy machine, which measurably delays the answer)
  setTimeout(prepareNext, 0);
}
