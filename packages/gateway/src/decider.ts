/**
 * Deciding off the HTTP thread. `armor serve` runs the enforcer in one worker thread
 * (decision-worker.ts), so that a decision that takes long (a pattern over a megabyte, a
 * policy with many of them) cannot stop the service answering `/healthz`, refusing bad
 * requests, or shutting down. Decisions stay in one thread, in arrival order, as before: the
 * session history and reservations need no locks, and 50 concurrent reservations still count
 * one by one.
 *
 * A request waits at most `queueTimeoutMs` for its turn: if the worker has not started it by
 * then, it is given up (shared flag, see decision-worker.ts) and the client gets 503 with
 * `Retry-After`. It was never decided, so there is nothing to audit; a client treats it as not
 * allowed. Once started, a request runs to its end (the matcher bounds each pattern call).
 */
import { Worker } from "node:worker_threads";
import type { Event, Op, Reply, WorkerData } from "./decision-worker.js";
import { HttpError } from "./http-util.js";
import type { ReloadAnswer } from "./reload-policy.js";

export interface DeciderOptions extends WorkerData {
  /** How long a request may wait for the worker before 503 (default 10 s). */
  queueTimeoutMs?: number;
  log: (line: string) => void;
  /** Each event of the decision shipper (with `ship`), e.g. for metrics. */
  onShipEvent?: (event: Extract<Event, { type: "ship" }>["event"]) => void;
}

export interface Decider {
  /** The policy in force (changed by a reload). */
  readonly policy: { name: string; version: string | null; sourceHash: string };
  /** Reads and compiles the policy file again in the worker; the policy in force stays when it does not load. */
  reload(): Promise<ReloadAnswer>;
  readonly diagnostics: Extract<Event, { type: "ready" }>["diagnostics"];
  /** Runs an enforcer method in the worker; rejects with HttpError 503 if it waited too long. */
  call(op: Exclude<Op, "close">, args: unknown[]): Promise<unknown>;
  /** Closes the enforcer (its audit log) and stops the worker; waits at most `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

export const DEFAULT_QUEUE_TIMEOUT_MS = 10_000;

const QUEUED = 0;
const GIVEN_UP = 2;

interface Waiting {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export async function startDecider(options: DeciderOptions): Promise<Decider> {
  const data: WorkerData = {
    policy: options.policy,
    ...(options.audit !== undefined ? { audit: options.audit } : {}),
    ...(options.store !== undefined ? { store: options.store } : {}),
    ...(options.runCode !== undefined ? { runCode: options.runCode } : {}),
    ...(options.ship !== undefined ? { ship: options.ship } : {}),
  };
  const worker = new Worker(new URL("./decision-worker.js", import.meta.url), { workerData: data });
  const waiting = new Map<number, Waiting>();
  let nextId = 1;
  let gone: string | null = null;

  let onEvent: (m: Event | Reply) => void = () => undefined;
  let onError: (e: Error) => void = () => undefined;
  let onExit: (code: number) => void = () => undefined;
  const ready = await new Promise<Extract<Event, { type: "ready" }>>((resolve, reject) => {
    onEvent = (m) => {
      if ("id" in m) return;
      if (m.type === "ready") resolve(m);
      // the runtime's PolicyLoadError, by shape: the HTTP thread does not load the runtime
      else if (m.type === "failed") reject(Object.assign(new Error(m.error), { name: "PolicyLoadError", diagnostics: m.diagnostics }));
      // what the worker says while it starts (the audit log, shipping) is logged as later lines are
      else if (m.type === "log") options.log(m.line);
      else if (m.type === "ship") options.onShipEvent?.(m.event);
    };
    onError = reject;
    onExit = (code) => reject(new Error(`the decision worker exited (${code}) while loading the policy`));
    worker.on("message", onEvent);
    worker.on("error", onError);
    worker.on("exit", onExit);
  }).catch(async (e: Error) => {
    await worker.terminate();
    throw e;
  });
  // (removeAllListeners would also remove the worker's own hooks that keep its port flowing)
  worker.off("message", onEvent);
  worker.off("error", onError);
  worker.off("exit", onExit);

  worker.on("message", (m: Event | Reply) => {
    if (!("id" in m)) {
      if (m.type === "log") options.log(m.line);
      else if (m.type === "ship") options.onShipEvent?.(m.event);
      return;
    }
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.value);
    else w.reject(Object.assign(new Error(m.error), { name: m.name }));
  });
  const fail = (why: string): void => {
    gone ??= why;
    for (const w of waiting.values()) w.reject(new HttpError(503, "unavailable", `the decision worker stopped: ${why}`));
    waiting.clear();
  };
  worker.on("error", (e) => {
    options.log(`decision worker failed: ${e.message}`);
    fail(e.message);
  });
  worker.on("exit", (code) => fail(`exited (${code})`));

  const queueTimeout = options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
  function send(op: Op, args: unknown[], timeoutMs: number | null): Promise<unknown> {
    if (gone !== null) return Promise.reject(new HttpError(503, "unavailable", `the decision worker stopped: ${gone}`));
    const id = nextId++;
    const flag = new Int32Array(new SharedArrayBuffer(4));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle =
        <T>(f: (v: T) => void) =>
        (v: T): void => {
          if (timer) clearTimeout(timer);
          f(v);
        };
      waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
      if (timeoutMs !== null) {
        timer = setTimeout(() => {
          // given up only if the worker has not started it; otherwise it is answered when done
          if (Atomics.compareExchange(flag, 0, QUEUED, GIVEN_UP) !== QUEUED) return;
          waiting.delete(id);
          reject(
            new HttpError(
              503,
              "busy",
              `no decision could start within ${timeoutMs} ms (the service is busy with other decisions); nothing was decided or recorded, try again`,
              {},
              { "retry-after": "1" },
            ),
          );
        }, timeoutMs);
        timer.unref();
      }
      worker.postMessage({ id, op, args, flag });
    });
  }

  let policy = ready.policy;
  return {
    get policy() {
      return policy;
    },
    async reload() {
      const answer = (await send("reload", [], queueTimeout)) as ReloadAnswer;
      if (answer.ok) policy = answer.policy;
      return answer;
    },
    diagnostics: ready.diagnostics,
    call: (op, args) => send(op, args, queueTimeout),
    async close(timeoutMs) {
      if (gone === null) {
        const closed = send("close", [], null).catch((e: Error) => options.log(`closing the audit log failed: ${e.message}`));
        await Promise.race([closed, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      }
      await worker.terminate();
    },
  };
}
