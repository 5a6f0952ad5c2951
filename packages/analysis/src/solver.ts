/**
 * Z3 (the `z3-solver` package: Z3 compiled to WebAssembly) behind one small interface: load a
 * script once, then ask for a solution under assumptions, each question bounded by a timeout.
 * Z3 runs in a worker thread of its own (z3-worker.ts), started on first use (or by
 * `preloadSolver`), so only the commands that analyse pay for it, and a Z3 that crashes or hangs
 * is stopped by terminating that thread, never waited for.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { readModelValue } from "./smt.js";
import { Z3_WORKER_SOURCE } from "./z3-worker.js";

/**
 * `sat` with `inexact` set: no solution with exact values, only one with the approximated values
 * (arithmetic rounded somewhere within its bounds); `inexact` says why the question is not proved,
 * and the solution is an example only if it reproduces.
 */
export type Answer =
  | {
      readonly kind: "sat";
      readonly values: ReadonlyMap<string, boolean | number | string>;
      readonly inexact?: string;
      /** With `inexact`: the try with exact values ran out of its shorter limit (`exactLimitMs`), so `checkExact` may still find one. */
      readonly exactCut?: true;
    }
  | { readonly kind: "unsat" }
  /** `failed`: the solver crashed, exited or stopped answering (not Z3's own "unknown"); `reason` names the cause. */
  | { readonly kind: "unknown"; readonly reason: string; readonly failed?: boolean };

/** What a script approximates (`Vocabulary.approximation()`): the flag of exact values, and why. */
export interface Approximation {
  readonly flag: string;
  readonly why: readonly string[];
}

/** Why a question the encoding approximates is not proved (an `inexact` answer's text). */
export function inexactReason(a: Approximation): string {
  return `proved only for ${a.why.join(" and ")}; with the values JavaScript computes it may happen`;
}

export interface Session {
  /** Whether the script's assertions and one of `anyOf` (Bool constants it declares) can all hold. */
  check(anyOf: readonly string[]): Promise<Answer>;
  /**
   * The try with exact values alone, with the whole timeout: for a caller whose `inexact` solution
   * (`exactCut` set) did not reproduce, a last chance at one that does.
   */
  checkExact(anyOf: readonly string[]): Promise<Answer>;
  /** Frees the solver's memory (Z3's WebAssembly heap is bounded and not collected with JavaScript's). */
  close(): void;
}

/**
 * The test seam for a solver that breaks (z3-worker.ts says what each kind does): the next
 * `times` checks (every one when absent) fail that way. `ARMOR_ANALYSIS_FAULT=KIND[:TIMES]` sets
 * it for a process (how the command-line tests break `armorc diff`'s solver).
 */
export interface SolverFault {
  readonly kind: "crash" | "hang" | "spin" | "reject" | "exit";
  readonly times?: number;
}

/**
 * `ARMOR_ANALYSIS_TRACE=1` writes a line to stderr for each question the solver is asked (the
 * session, its query variables, exact or loose, the answer and the time taken): how to find the
 * question a slow analysis waits on.
 */
const TRACE = process.env.ARMOR_ANALYSIS_TRACE === "1";

/** One line of the trace `ARMOR_ANALYSIS_TRACE=1` turns on. */
export function trace(line: string): void {
  if (TRACE) process.stderr.write(`[armor analysis] ${line}\n`);
}

const FAULT_KINDS = ["crash", "hang", "spin", "reject", "exit"] as const;
let fault: { kind: SolverFault["kind"]; left: number } | null = faultFromEnv(process.env.ARMOR_ANALYSIS_FAULT);

function faultFromEnv(text: string | undefined): typeof fault {
  if (text === undefined || text === "") return null;
  const [kind, times] = text.split(":");
  if (!(FAULT_KINDS as readonly string[]).includes(kind!)) return null;
  return { kind: kind as SolverFault["kind"], left: times === undefined ? Number.POSITIVE_INFINITY : Number(times) };
}

/** Sets (or, with null, clears) the solver fault the next checks meet; for tests. */
export function injectSolverFault(f: SolverFault | null): void {
  fault = f === null ? null : { kind: f.kind, left: f.times ?? Number.POSITIVE_INFINITY };
}

function takeFault(): SolverFault["kind"] | null {
  if (fault === null || fault.left <= 0) return null;
  fault.left--;
  return fault.kind;
}

/**
 * How long past Z3's own timeout a check may go before its worker is stopped: Z3 checks its
 * timeout between steps, and a step (or reading a model) can run on, more so on a loaded machine.
 */
export function watchdogMs(timeoutMs: number): number {
  return 2 * timeoutMs + 5_000;
}
/**
 * The limit on a check's first try with exact values (`openSession`): a fifth of the question's.
 * That try only looks for examples likely to reproduce (an answer of "impossible" comes from the
 * second try alone), and where exact values are hard for Z3 (a URL whose host is one of a list,
 * in the trading example) the second finds one in a fraction of the time, which is then re-decided
 * like any other.
 */
export function exactLimitMs(timeoutMs: number): number {
  return Math.ceil(timeoutMs / 5);
}
/** The limit on loading Z3 and a script into a new worker. */
const OPEN_LIMIT_MS = 120_000;

/** A solver that crashed, exited or did not answer in time; its worker was stopped. */
class SolverFailure extends Error {}

type Reply = { id: number; ok: true; result?: "sat" | "unsat" | "unknown"; reason?: string | null; values?: [string, string][] } | { id: number; ok: false; error: string };
type Request =
  | { op: "open"; session: number; script: string; timeoutMs: number }
  | { op: "ask"; session: number; anyOf: readonly string[]; flag: string | null; timeoutMs: number; fault: string | null }
  | { op: "close"; session: number };

/**
 * The worker thread Z3 runs in (z3-worker.ts), one for the process, and the requests to it, one
 * at a time, each with a deadline. A worker that errs, exits or misses a deadline is terminated
 * (with every thread of Z3's inside it), the request in flight fails with the cause, and the
 * next request starts a new worker; the sessions open in the old one load their scripts again
 * (`generation` tells them). The worker does not keep the process alive while no request waits.
 */
class SolverHost {
  private worker: Worker | null = null;
  generation = 0;
  private nextId = 1;
  private pending: { id: number; resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  /** Starts the worker (and so Z3's loading) if none runs. */
  start(): void {
    if (this.worker !== null) return;
    const z3 = createRequire(import.meta.url).resolve("z3-solver");
    const worker = new Worker(Z3_WORKER_SOURCE, { eval: true, workerData: { z3 } });
    worker.on("message", (reply: Reply) => {
      const p = this.pending;
      if (p === null || p.id !== reply.id) return;
      this.settle();
      p.resolve(reply);
    });
    worker.on("error", (e) => this.fail(worker, `Z3's WebAssembly worker crashed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`));
    worker.on("exit", (code) => this.fail(worker, `Z3's WebAssembly worker exited (code ${code})`));
    // after the listeners: adding a "message" listener refs the worker's port again
    worker.unref();
    this.worker = worker;
    this.generation++;
  }

  /** Sends one request after those before it; rejects with a SolverFailure when the worker fails or misses `limitMs`. */
  request(req: Request, limitMs: number): Promise<Reply> {
    const run = (): Promise<Reply> =>
      new Promise<Reply>((resolve, reject) => {
        this.start();
        const worker = this.worker!;
        const id = this.nextId++;
        const timer = setTimeout(() => this.fail(worker, `Z3 gave no answer within ${limitMs} ms; its worker was stopped`), limitMs);
        this.pending = { id, resolve, reject, timer };
        worker.ref();
        worker.postMessage({ ...req, id });
      });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private settle(): void {
    if (this.pending !== null) clearTimeout(this.pending.timer);
    this.pending = null;
    this.worker?.unref();
  }

  private fail(worker: Worker, cause: string): void {
    if (this.worker !== worker) return;
    const p = this.pending;
    this.settle();
    this.worker = null;
    worker.removeAllListeners();
    worker.on("error", () => {});
    void worker.terminate();
    p?.reject(new SolverFailure(cause));
  }
}

const host = new SolverHost();
let sessions = 0;

/**
 * Starts loading Z3 (in its worker) now, so that it loads while the caller does other work (the
 * commands compile their policies meanwhile); the first session would start it anyway.
 */
export function preloadSolver(): void {
  host.start();
}

/**
 * A solver holding `script`; each check gives up after `timeoutMs`. This is where every analysis
 * (diff.ts, properties.ts, rules.ts) learns whether a question is impossible: with `approx`, a
 * check first asks with exact values (solutions that tend to reproduce), and only an `unsat`
 * without them, where approximated values range over all they may be, is `unsat`.
 *
 * Every request to Z3 is bounded: a check that crashes Z3's worker, makes it exit, rejects, or
 * does not answer within `watchdogMs(timeoutMs)` is `unknown` with the cause (and `failed` set),
 * the worker is replaced, and the next check loads the script into the new one.
 */
export async function openSession(script: string, timeoutMs: number, approx: Approximation | null = null): Promise<Session> {
  const id = ++sessions;
  let loaded = -1;
  const open = async (): Promise<void> => {
    if (loaded === host.generation) return;
    host.start();
    const generation = host.generation;
    const reply = await host.request({ op: "open", session: id, script, timeoutMs }, Math.max(OPEN_LIMIT_MS, watchdogMs(timeoutMs)));
    // an error loading the script is a bug in the encoding, not a broken solver
    if (!reply.ok) throw new Error(`the solver refused the script: ${reply.error}`);
    loaded = generation;
  };
  try {
    await open();
  } catch (e) {
    if (!(e instanceof SolverFailure)) throw e;
    // the first check starts another worker and loads the script again
  }
  return {
    async check(anyOf) {
      if (approx !== null) {
        const exact = await ask(anyOf, true, exactLimitMs(timeoutMs));
        if (exact.kind === "sat" || (exact.kind === "unknown" && exact.failed)) return exact;
        const loose = await ask(anyOf, false, timeoutMs);
        if (loose.kind !== "sat") return loose;
        return exact.kind === "unknown" ? { ...loose, inexact: inexactReason(approx), exactCut: true } : { ...loose, inexact: inexactReason(approx) };
      }
      return ask(anyOf, false, timeoutMs);
    },
    checkExact(anyOf) {
      return ask(anyOf, approx !== null, timeoutMs);
    },
    close() {
      if (loaded === host.generation) host.request({ op: "close", session: id }, watchdogMs(timeoutMs)).catch(() => undefined);
      loaded = -1;
    },
  };

  async function ask(anyOf: readonly string[], exact: boolean, limit: number): Promise<Answer> {
    const started = performance.now();
    const answer = await askOnce(anyOf, exact, limit);
    if (TRACE)
      trace(
        `session ${id} ${exact && approx !== null ? "exact" : "loose"} [${anyOf.join(" ")}] ${answer.kind}${answer.kind === "unknown" ? ` (${answer.reason})` : ""} ${Math.round(performance.now() - started)} ms`,
      );
    return answer;
  }

  async function askOnce(anyOf: readonly string[], exact: boolean, limit: number): Promise<Answer> {
    try {
      await open();
      const flagged = exact && approx !== null;
      const reply = await host.request({ op: "ask", session: id, anyOf, flag: flagged ? approx.flag : null, timeoutMs: limit, fault: takeFault() }, watchdogMs(limit));
      if (!reply.ok) throw new SolverFailure(`Z3's check failed: ${reply.error}`);
      if (reply.result === "unsat") return { kind: "unsat" };
      if (reply.result === "unknown") return { kind: "unknown", reason: reply.reason ?? "unknown" };
      const values = new Map<string, boolean | number | string>();
      // definitions (`define-fun`) are in the model too, as terms: only values are kept
      for (const [name, text] of reply.values ?? []) {
        const v = readModelValue(text);
        if (v !== undefined) values.set(name, v);
      }
      return { kind: "sat", values };
    } catch (e) {
      if (!(e instanceof SolverFailure)) throw e;
      // the worker is gone: stopped here, so the next check starts another
      loaded = -1;
      return { kind: "unknown", reason: `${e.message}; a new solver answers the next question`, failed: true };
    }
  }
}
