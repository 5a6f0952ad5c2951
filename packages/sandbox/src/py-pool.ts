/**
 * Python runs in child processes (py-host.ts), each used for one run only: a run cannot leave
 * anything behind for the next one (Python's builtins and modules are the process's), so every
 * run gets a clean interpreter, and warm ones wait loaded (Pyodide takes seconds to start).
 *
 * The child starts under Node's permission model: it reads only Pyodide's and this package's
 * files, writes nothing, and may not start processes, threads or addons. The parent keeps the
 * limits a busy Python interpreter cannot keep itself: at the deadline it kills the child
 * (`timeout`); while the run goes on it reads the child's resident memory from
 * `/proc/PID/statm` (Linux) and kills it past the limit (`memory`; elsewhere only the deadline
 * holds). Host calls come to the parent as messages and run there.
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { answerHostCall } from "./host-call.js";
import type { CodeFacts } from "./js-facts.js";
import { SandboxFailure, type SandboxFailureKind, type SandboxLimits } from "./limits.js";
import { checkMessage, doneResult, factsOf } from "./messages.js";
import type { FromPython, ToPython } from "./py-host.js";
import type { HostFunction, JsRunResult } from "./quickjs-run.js";
import { createSlots } from "./slots.js";

/** How long a new interpreter may take to load before its run fails with `engine` (ms). */
const START_MS = 120_000;
/** How often the parent reads a running child's memory (ms). */
const MEMORY_POLL_MS = 20;
const PAGE_BYTES = 4096;

export interface PythonPoolOptions {
  /** Loaded interpreters kept waiting (default 1). */
  size?: number;
  /** Interpreters alive at most, warm and busy (default 2, at least `size`): runs beyond it wait for one, at most their `timeMs`. */
  max?: number;
}

/** One loaded interpreter, for one run: its facts of the code first (the syntax tree, nothing runs), then the run. */
export interface PythonLease {
  facts(code: string): Promise<CodeFacts>;
  run(code: string, limits: SandboxLimits, host: Readonly<Record<string, HostFunction>>): Promise<JsRunResult>;
  /** Ends the interpreter (a lease is used once); idempotent. */
  release(): void;
}

export interface PythonPool {
  /** A loaded interpreter (waiting for one to load when none is warm); when `max` are in use, waiting at most `waitMs` (default: the start-up time) for one to end, then failing with `timeout`. */
  take(waitMs?: number): Promise<PythonLease>;
  /** take, run, release. */
  run(code: string, limits: SandboxLimits, host: Readonly<Record<string, HostFunction>>): Promise<JsRunResult>;
  /** Interpreters alive now (warm and busy). */
  readonly processes: number;
  close(): Promise<void>;
}

interface Interpreter {
  child: ChildProcess;
  ready: Promise<void>;
  /** Resident bytes once loaded: the baseline the memory limit is counted from. */
  baseline: number;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The folders the child may read: this package's build and Pyodide's files. */
function readable(): string[] {
  const pyodide = dirname(createRequire(import.meta.url).resolve("pyodide/package.json"));
  return [here, pyodide];
}

/** Resident memory of a process in bytes, or null where `/proc` does not tell. */
function residentBytes(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return Number.isFinite(pages) ? pages * PAGE_BYTES : null;
  } catch {
    return null;
  }
}

export function createPythonPool(options: PythonPoolOptions = {}): PythonPool {
  const size = options.size ?? 1;
  const slots = createSlots(Math.max(options.max ?? 2, size, 1));
  const warm: Interpreter[] = [];
  const busy = new Set<Interpreter>();
  let closed = false;
  let nextJob = 0;

  const spawn = (): Interpreter => {
    // no code from strings: Pyodide loads and runs without eval or `Function`, so JavaScript
    // reached from Python (`to_js(x).constructor.constructor`) cannot compile anything
    const flags = ["--experimental-permission", ...readable().map((d) => `--allow-fs-read=${d}/*`), "--disallow-code-generation-from-strings", "--no-warnings"];
    // no environment (nothing of the parent's secrets) and a neutral working folder (this package's build)
    const child = fork(new URL("./py-host.js", import.meta.url), [], { execArgv: flags, env: {}, cwd: here, stdio: ["ignore", "ignore", "ignore", "ipc"], serialization: "json" });
    const it: Interpreter = { child, ready: Promise.resolve(), baseline: 0 };
    it.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => settle(new SandboxFailure("engine", `the Python interpreter did not start within ${START_MS} ms`)), START_MS);
      const settle = (error: Error | null): void => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        if (error !== null) {
          reject(error);
          return;
        }
        it.baseline = residentBytes(child.pid) ?? 0;
        resolve();
      };
      const onMessage = (raw: unknown): void => {
        const m = checkMessage(raw);
        if (m === null) settle(new SandboxFailure("engine", "the Python interpreter sent a malformed message"));
        else if (m.kind === "ready") settle(null);
        else if (m.kind === "failed") settle(new SandboxFailure("engine", `the Python interpreter failed to start: ${m.message}`));
      };
      const onExit = (code: number | null): void => settle(new SandboxFailure("engine", `the Python interpreter exited while starting (code ${code})`));
      child.on("message", onMessage);
      child.on("exit", onExit);
    });
    it.ready.catch(() => undefined); // awaited by the run that takes the interpreter
    child.unref();
    return it;
  };
  const refill = (): void => {
    while (!closed && warm.length + busy.size < size) warm.push(spawn());
  };

  return {
    get processes() {
      return warm.length + busy.size;
    },
    async take(waitMs = START_MS) {
      if (closed) throw new SandboxFailure("closed", "the sandbox pool is closed");
      const free = await slots.acquire(waitMs, "Python interpreter");
      if (closed) {
        free();
        throw new SandboxFailure("closed", "the sandbox pool is closed");
      }
      const it = warm.shift() ?? spawn();
      busy.add(it);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        // one run per interpreter: nothing a run did is left for the next
        busy.delete(it);
        it.child.kill("SIGKILL");
        refill();
        free();
      };
      try {
        await it.ready;
      } catch (e) {
        release();
        throw e;
      }
      return {
        facts: (code) => factsIn(it, nextJob++, code),
        run: (code, limits, host) => runIn(it, nextJob++, code, limits, host),
        release,
      };
    },
    async run(code, limits, host) {
      const lease = await this.take(limits.timeMs);
      try {
        return await lease.run(code, limits, host);
      } finally {
        lease.release();
      }
    },
    async close() {
      closed = true;
      slots.close();
      for (const it of [...warm.splice(0), ...busy]) it.child.kill("SIGKILL");
      busy.clear();
    },
  };
}

/** The facts of the code from the interpreter's own parser (no code runs), within the start-up time. */
function factsIn(it: Interpreter, job: number, code: string): Promise<CodeFacts> {
  const { child } = it;
  return new Promise<CodeFacts>((resolve, reject) => {
    const timer = setTimeout(() => settle(new SandboxFailure("engine", "the Python interpreter did not read the code's facts in time")), START_MS);
    const settle = (error: Error | null, facts?: CodeFacts): void => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      if (error !== null) child.kill("SIGKILL");
      error === null ? resolve(facts as CodeFacts) : reject(error);
    };
    const onMessage = (raw: unknown): void => {
      const m = checkMessage(raw);
      if (m === null) {
        settle(new SandboxFailure("engine", "the Python interpreter sent a malformed message"));
        return;
      }
      if (m.kind !== "facts" || m.job !== job) return;
      const facts = factsOf(m.facts);
      if (facts === null) settle(new SandboxFailure("engine", "the Python interpreter sent malformed facts"));
      else settle(null, facts);
    };
    const onExit = (exit: number | null, signal: NodeJS.Signals | null): void => settle(new SandboxFailure("engine", `the Python interpreter exited (${signal ?? `code ${exit}`})`));
    child.on("message", onMessage);
    child.on("exit", onExit);
    child.send({ kind: "facts", job, code } satisfies ToPython);
  });
}

const FAILURES = new Set<SandboxFailureKind>(["exception", "syntax", "output", "engine"]);

function runIn(it: Interpreter, job: number, code: string, limits: SandboxLimits, host: Readonly<Record<string, HostFunction>>): Promise<JsRunResult> {
  const { child } = it;
  return new Promise<JsRunResult>((resolve, reject) => {
    let calls = 0;
    const fail = (kind: SandboxFailureKind, message: string): void => {
      done();
      child.kill("SIGKILL");
      reject(new SandboxFailure(kind, message));
    };
    const deadline = setTimeout(() => fail("timeout", `the code ran longer than ${limits.timeMs} ms`), limits.timeMs);
    const poll = setInterval(() => {
      const rss = residentBytes(child.pid);
      if (rss !== null && rss - it.baseline > limits.memoryBytes) fail("memory", `the code used more than ${limits.memoryBytes} bytes of memory`);
    }, MEMORY_POLL_MS);
    const done = (): void => {
      clearTimeout(deadline);
      clearInterval(poll);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (raw: unknown): void => {
      const m = checkMessage(raw);
      if (m === null) {
        fail("engine", "the Python interpreter sent a malformed message");
        return;
      }
      if (m.kind === "ready" || m.kind === "facts" || m.job !== job) return;
      if (m.kind === "call") {
        if (++calls > limits.hostCalls) fail("host_calls", `the code called host functions more than ${limits.hostCalls} times`);
        else answer(child, m, host, limits.outputChars);
        return;
      }
      if (m.kind === "done") {
        const r = doneResult(m, limits.outputChars, "the Python interpreter");
        if (!r.ok) {
          fail(r.kind, r.message);
          return;
        }
        done();
        resolve(r.result);
        return;
      }
      done();
      reject(new SandboxFailure(FAILURES.has(m.failure as SandboxFailureKind) ? (m.failure as SandboxFailureKind) : "engine", m.message));
    };
    const onExit = (exit: number | null, signal: NodeJS.Signals | null): void => fail("engine", `the Python interpreter exited (${signal ?? `code ${exit}`})`);
    child.on("message", onMessage);
    child.on("exit", onExit);
    child.send({ kind: "run", job, code, outputChars: limits.outputChars, host: Object.keys(host) } satisfies ToPython);
  });
}

/** Answers a host call the child asked for (arguments longer than `outputChars` as JSON: an error the guest sees, and the host function does not run). */
function answer(child: ChildProcess, m: Extract<FromPython, { kind: "call" }>, host: Readonly<Record<string, HostFunction>>, maxArgs: number): void {
  answerHostCall(
    host,
    m.name,
    m.args,
    (ok, json) => {
      if (child.connected) child.send({ kind: "answer", call: m.call, ok, json } satisfies ToPython);
    },
    maxArgs,
  );
}
