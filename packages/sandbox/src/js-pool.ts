/**
 * JavaScript runs in worker threads: each run happens in a worker (a warm one from the pool when
 * there is one), under a deadline the parent keeps. QuickJS checks its own deadline between
 * steps of the code, but a single call of a built-in (`new Array(1e5).fill(1)` near the heap
 * limit, say) can run long without a check; when the deadline plus a grace period passes, the
 * parent terminates the worker, the run fails with `timeout`, and a fresh worker takes its place.
 * A worker that crashes or exits fails its run with `engine` and is replaced the same way.
 *
 * Host calls come to the parent as messages and are answered there, so host functions (and the
 * policy deciding each call) run in the parent's thread, never in the worker.
 */
import { Worker } from "node:worker_threads";
import { answerHostCall } from "./host-call.js";
import type { CodeFacts } from "./js-facts.js";
import type { FromWorker, ToWorker } from "./js-worker.js";
import { SandboxFailure, type SandboxFailureKind, type SandboxLimits } from "./limits.js";
import { checkMessage, doneResult, factsOf } from "./messages.js";
import type { HostFunction, JsRunResult } from "./quickjs-run.js";
import { createSlots } from "./slots.js";

/** Added to a run's time limit before its worker is terminated by force (ms). */
const GRACE_MS = 250;
/** Warm workers kept waiting for runs. */
const DEFAULT_POOL_SIZE = 2;

export interface JsPoolOptions {
  /** Warm workers kept (default 2). */
  size?: number;
  /** Workers alive at most, warm and busy (default `size` × 2, at least `size`): runs beyond it wait for one, at most their `timeMs`. */
  max?: number;
}

export interface JsPool {
  run(code: string, limits: SandboxLimits, host: Readonly<Record<string, HostFunction>>): Promise<JsRunResult>;
  /**
   * The code's facts (`javaScriptFacts`), read off the thread that decides, in a thread of the
   * pool's own for facts (never one of the workers that run code, so runs holding every worker do
   * not hold the facts up); rejects with a `SandboxFailure` when that thread does not answer within
   * `waitMs` (the thread is then stopped, and the next request starts another). `runCode` then
   * reads them on its own thread: the policy always decides on the code's own facts.
   */
  facts?(code: string, waitMs: number): Promise<CodeFacts>;
  /** Workers alive now (warm and busy). */
  readonly workers: number;
  /**
   * Resolves once no run is going on and every warm worker has made its next run's runtime (a
   * worker makes it after answering a run): the state a run finds on a pool that had a moment
   * since its last run. Measurements start from it, so that no run pays for another's clean-up.
   */
  idle?(): Promise<void>;
  close(): Promise<void>;
}

const FAILURE_KINDS = new Set<SandboxFailureKind>(["exception", "syntax", "timeout", "memory", "stack", "output", "host_calls", "engine"]);

/** A worker, and when its engine is loaded. */
interface PoolWorker {
  worker: Worker;
  ready: Promise<void>;
  /** Whether it has the next run's runtime made (it said `ready` since its last run). */
  prepared: boolean;
}

/** How long a new worker may take to load its engine before the run fails with `engine` (ms). */
const START_MS = 30_000;

export function createSandboxPool(options: JsPoolOptions = {}): JsPool {
  const size = options.size ?? DEFAULT_POOL_SIZE;
  const slots = createSlots(Math.max(options.max ?? size * 2, size, 1));
  const warm: PoolWorker[] = [];
  const busy = new Set<PoolWorker>();
  let closed = false;
  let nextJob = 0;
  /** Waiting for the pool to be idle (see JsPool.idle). */
  let idleWaiters: (() => void)[] = [];
  const isIdle = (): boolean => closed || (busy.size === 0 && warm.every((w) => w.prepared));
  const checkIdle = (): void => {
    if (idleWaiters.length === 0 || !isIdle()) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const factsThread = createFactsThread();

  const spawn = (): PoolWorker => {
    const worker = new Worker(new URL("./js-worker.js", import.meta.url), { resourceLimits: { stackSizeMb: 8 } });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SandboxFailure("engine", `the sandbox's worker did not start within ${START_MS} ms`)), START_MS);
      const settle = (error: Error | null): void => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        error === null ? resolve() : reject(error);
      };
      const onMessage = (raw: unknown): void => {
        const m = checkMessage(raw);
        if (m === null) settle(new SandboxFailure("engine", "the sandbox's worker sent a malformed message"));
        else if (m.kind === "ready") settle(null);
      };
      const onError = (e: Error): void => settle(new SandboxFailure("engine", `the sandbox's worker failed to start: ${e.message}`));
      const onExit = (code: number): void => settle(new SandboxFailure("engine", `the sandbox's worker exited while starting (code ${code})`));
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
    });
    ready.catch(() => undefined); // awaited by the run that takes the worker
    const pw: PoolWorker = { worker, ready, prepared: false };
    // `ready` again after each run: its next runtime is made (one said during a run is stale)
    worker.on("message", (raw: unknown) => {
      if (busy.has(pw) || checkMessage(raw)?.kind !== "ready") return;
      pw.prepared = true;
      checkIdle();
    });
    // a worker that fails or exits outside a run (an error thrown in a later turn of its loop) is
    // dropped; without a listener, its 'error' event would be thrown in the host's thread
    const drop = (): void => {
      const i = warm.indexOf(pw);
      if (i >= 0) warm.splice(i, 1);
      void worker.terminate();
      refill();
      checkIdle();
    };
    worker.on("error", drop);
    worker.on("exit", drop);
    return pw;
  };
  const refill = (): void => {
    while (!closed && warm.length + busy.size < size) warm.push(spawn());
  };
  /** `job` on a warm worker (a new one when none is warm), holding a slot; a worker the job broke is replaced. */
  const withWorker = async <T>(waitMs: number, job: (worker: Worker, broken: () => void) => Promise<T>): Promise<T> => {
    if (closed) throw new SandboxFailure("closed", "the sandbox pool is closed");
    const free = await slots.acquire(waitMs, "worker");
    if (closed) {
      free();
      throw new SandboxFailure("closed", "the sandbox pool is closed");
    }
    // a worker with its runtime made first: one still making it would compete with the run
    const i = warm.findIndex((w) => w.prepared);
    const pw = (i >= 0 ? warm.splice(i, 1)[0] : warm.shift()) ?? spawn();
    pw.prepared = false;
    busy.add(pw);
    let healthy = true;
    try {
      try {
        await pw.ready;
      } catch (e) {
        healthy = false;
        throw e;
      }
      return await job(pw.worker, () => {
        healthy = false;
      });
    } finally {
      busy.delete(pw);
      if (healthy && !closed && warm.length < size) warm.push(pw);
      else void pw.worker.terminate();
      refill();
      free();
      checkIdle();
    }
  };

  return {
    get workers() {
      return warm.length + busy.size;
    },
    idle() {
      return isIdle() ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    run(code, limits, host) {
      return withWorker(limits.timeMs, (worker, broken) => runIn(worker, nextJob++, code, limits, host, broken));
    },
    facts(code, waitMs) {
      if (closed) return Promise.reject(new SandboxFailure("closed", "the sandbox pool is closed"));
      return factsThread.read(code, waitMs);
    },
    async close() {
      closed = true;
      checkIdle();
      slots.close();
      await factsThread.close();
      const all = [...warm.splice(0), ...busy];
      busy.clear();
      await Promise.all(all.map((w) => w.worker.terminate()));
    },
  };
}

/** One job in a worker whose engine is loaded, under the parent's deadline; `broken` when the worker must not be reused. */
function runIn(worker: Worker, job: number, code: string, limits: SandboxLimits, host: Readonly<Record<string, HostFunction>>, broken: () => void): Promise<JsRunResult> {
  return new Promise<JsRunResult>((resolve, reject) => {
    const fail = (kind: SandboxFailureKind, message: string): void => {
      done();
      broken();
      reject(new SandboxFailure(kind, message));
    };
    const timer = setTimeout(() => fail("timeout", `the code ran longer than ${limits.timeMs} ms (stopped by force)`), limits.timeMs + GRACE_MS);
    const done = (): void => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    const onMessage = (raw: unknown): void => {
      const m = checkMessage(raw);
      if (m === null) {
        fail("engine", "the sandbox's worker sent a malformed message");
        return;
      }
      if (m.kind === "ready" || m.kind === "facts" || m.job !== job) return;
      if (m.kind === "call") return void answer(worker, m, host, limits.outputChars);
      if (m.kind === "done") {
        const r = doneResult(m, limits.outputChars, "the sandbox's worker");
        if (!r.ok) {
          fail(r.kind, r.message);
          return;
        }
        done();
        resolve(r.result);
        return;
      }
      done();
      const kind = FAILURE_KINDS.has(m.failure as SandboxFailureKind) ? (m.failure as SandboxFailureKind) : "engine";
      if (kind === "engine") broken();
      reject(new SandboxFailure(kind, m.message));
    };
    const onError = (e: Error): void => fail("engine", `the sandbox's worker failed: ${e.message}`);
    const onExit = (exit: number): void => fail("engine", `the sandbox's worker exited (code ${exit})`);
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage({ kind: "run", job, code, limits, host: Object.keys(host) } satisfies ToWorker);
  });
}

/** The thread a pool reads the facts of long code in (facts-worker.ts), made on first use. */
interface FactsThread {
  /** The facts of `code`, or a `SandboxFailure` when the thread does not give them within `timeMs`. */
  read(code: string, timeMs: number): Promise<CodeFacts>;
  close(): Promise<void>;
}

function createFactsThread(): FactsThread {
  let worker: Worker | null = null;
  let nextJob = 0;
  const pending = new Map<number, (error: SandboxFailure | null, facts?: CodeFacts) => void>();
  /** Stops the thread (it failed, or is stuck on a request) and fails every request it holds; the next request starts another. */
  const stop = (w: Worker, error: SandboxFailure): void => {
    if (worker !== w) return;
    worker = null;
    void w.terminate();
    for (const settle of [...pending.values()]) settle(error);
  };
  const start = (): Worker => {
    const w = new Worker(new URL("./facts-worker.js", import.meta.url), { resourceLimits: { stackSizeMb: 8 } });
    w.unref();
    w.on("message", (raw: unknown) => {
      const m = checkMessage(raw);
      if (m === null || m.kind !== "facts") {
        stop(w, new SandboxFailure("engine", "the facts thread sent a malformed message"));
        return;
      }
      const facts = factsOf(m.facts);
      const settle = pending.get(m.job);
      if (facts === null) stop(w, new SandboxFailure("engine", "the facts thread sent malformed facts"));
      else settle?.(null, facts);
    });
    w.on("error", (e: Error) => stop(w, new SandboxFailure("engine", `the facts thread failed: ${e.message}`)));
    w.on("exit", (exit: number) => stop(w, new SandboxFailure("engine", `the facts thread exited (code ${exit})`)));
    return w;
  };
  return {
    read(code, timeMs) {
      worker ??= start();
      const w = worker;
      const job = nextJob++;
      return new Promise<CodeFacts>((resolve, reject) => {
        const settle = (error: SandboxFailure | null, facts?: CodeFacts): void => {
          clearTimeout(timer);
          pending.delete(job);
          error === null ? resolve(facts as CodeFacts) : reject(error);
        };
        // a request it does not answer in time leaves the thread stuck (on it, or on those before it)
        const timer = setTimeout(() => stop(w, new SandboxFailure("timeout", `the code's facts were not read within ${timeMs} ms`)), timeMs);
        pending.set(job, settle);
        w.postMessage({ kind: "facts", job, code } satisfies ToWorker);
      });
    },
    async close() {
      const w = worker;
      if (w === null) return;
      stop(w, new SandboxFailure("closed", "the sandbox pool is closed"));
      await w.terminate();
    },
  };
}

/** Answers a host call the worker asked for (arguments longer than `outputChars` as JSON: an error the guest sees). */
function answer(worker: Worker, m: Extract<FromWorker, { kind: "call" }>, host: Readonly<Record<string, HostFunction>>, maxArgs: number): void {
  answerHostCall(
    host,
    m.name,
    m.args,
    (ok, json) => {
      try {
        worker.postMessage({ kind: "answer", call: m.call, ok, json } satisfies ToWorker);
      } catch {
        // the worker is gone (its run was stopped): nobody waits for the answer
      }
    },
    maxArgs,
  );
}
