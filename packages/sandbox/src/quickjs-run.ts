/**
 * JavaScript in QuickJS compiled to WebAssembly (`quickjs-emscripten`): each run gets a fresh
 * runtime and context (its own heap) in a shared WebAssembly module, with a heap limit, a stack
 * limit, a deadline checked by QuickJS's interrupt handler, and bounded output. The guest has
 * the language and its built-ins, `console` (captured), and the host functions it is given;
 * nothing else: no modules, no `require`, no `process`, no file system, no network, no timers.
 *
 * The code is the body of an async function: `await` works at the top, and `return` gives the
 * run's value. Host functions take and return JSON data: the guest's arguments are copied out as
 * JSON text, and the host's answer is copied in the same way, so no object crosses the boundary
 * (the guest never holds a host object, nor the host a guest one). A host function that rejects
 * makes the guest's call throw an `Error` with the rejection's message.
 *
 * The WebAssembly module is instantiated once and reused; a run that breaks the engine itself
 * (the host's stack overflowing inside it, an abort) discards it, and the next run starts another.
 */
import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from "quickjs-emscripten-core";
import { newQuickJSWASMModuleFromVariant } from "quickjs-emscripten-core";
import { DEFAULT_LIMITS, SandboxFailure, type SandboxFailureKind, type SandboxLimits } from "./limits.js";

/** A function the guest may call: JSON arguments in, JSON data out. */
export type HostFunction = (args: unknown[]) => Promise<unknown>;

export interface JsRunOptions {
  limits: SandboxLimits;
  /** The guest's only ways out, by the global name the guest calls them with. */
  host: Readonly<Record<string, HostFunction>>;
}

export interface JsRunResult {
  /** What the code returned, as JSON data (`null` for `undefined`). */
  value: unknown;
  /** What it printed with `console.*`, one line per call. */
  stdout: string;
}

/** Promise jobs run between two readings of the heap (see GuestRun.runJobs). */
const JOB_BATCH = 256;

const NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const RESERVED = new Set(["console", "globalThis", "JSON", "Object", "Array", "Promise", "Error", "Function", "eval"]);

/**
 * The guest's own setup, made with its context (before the run is known): `console`, and
 * `__armor_define`, which the run calls once with its host functions' names (as data) to make each
 * an async global that speaks JSON, and which removes itself first. Fixed text.
 */
const PRELUDE = `(() => {
  const call = globalThis.__armor_host, print = globalThis.__armor_print;
  delete globalThis.__armor_host; delete globalThis.__armor_print;
  const text = (v) => { if (typeof v === "string") return v; try { const j = JSON.stringify(v); return j === undefined ? String(v) : j; } catch { return String(v); } };
  const log = (...a) => print(a.map(text).join(" "));
  globalThis.console = Object.freeze({ log, info: log, warn: log, error: log, debug: log });
  const parse = JSON.parse, stringify = JSON.stringify, define = Object.defineProperty;
  globalThis.__armor_define = (namesJson) => {
    delete globalThis.__armor_define;
    for (const n of parse(namesJson)) {
      const f = async (...args) => parse(await call(n, stringify(args)));
      define(globalThis, n, { value: f, enumerable: false, writable: false, configurable: false });
    }
  };
})();`;

let engine: Promise<QuickJSWASMModule> | null = null;
/** The module `engine` resolved to, once it has. */
let loaded: QuickJSWASMModule | null = null;
/** How many times this thread has loaded the module (see `engineLoads`). */
let loads = 0;

/** How many times this thread has loaded the WebAssembly module: 1 while no run has broken it. */
export function engineLoads(): number {
  return loads;
}

function loadEngine(): Promise<QuickJSWASMModule> {
  if (engine === null) loads++;
  engine ??= newQuickJSWASMModuleFromVariant(import("@jitl/quickjs-wasmfile-release-sync")).then((m) => {
    loaded = m;
    return m;
  });
  return engine;
}

/** The next run loads a new module (this one broke). */
function discardEngine(): void {
  engine = null;
  loaded = null;
}

/** Loads the WebAssembly module ahead of the first run (a run loads it otherwise). */
export async function warmJavaScript(): Promise<void> {
  await loadEngine();
}

/**
 * A QuickJS runtime and context made ahead of a run (see `prepareJavaScript`): nothing has run in
 * it, so it is as clean as one made when the run starts, and the run does not wait for its making.
 */
export interface PreparedRun {
  /** Whether it is still usable (not taken by a run, its engine not discarded). */
  readonly usable: boolean;
}

/**
 * A fresh runtime and context for the next run, made now (a worker makes one while it waits, so
 * that a run does not pay for making them). Unused ones are freed by `discardPrepared`.
 */
export async function prepareJavaScript(): Promise<PreparedRun> {
  freeRetired();
  return new GuestRun(await loadEngine());
}

/** Runs on prepared runtimes that ended: freed before the next run or runtime is made (see runJavaScript). */
const retired: GuestRun[] = [];

/**
 * Frees the runtimes of ended runs. Should QuickJS abort freeing one (a runtime that still has
 * objects the host holds: the known cause, a stray context, is freed first, see
 * `dropStrayContexts`), the module is unusable, and the next run starts another.
 */
function freeRetired(): void {
  for (const run of retired.splice(0)) if (!run.dispose() && run.module === loaded) discardEngine();
}

/** Frees a prepared run that will not be used. */
export function discardPrepared(prepared: PreparedRun): void {
  if (prepared instanceof GuestRun && prepared.usable) prepared.dispose();
}

/**
 * Runs `code` in a fresh QuickJS context (`prepared`'s, when it is given and usable; one made now
 * otherwise); rejects with a `SandboxFailure` naming why it did not finish. A run given a prepared
 * runtime leaves freeing it to the next `prepareJavaScript` or `runJavaScript` (a worker answers
 * first, then frees it while the parent reads the answer); others free theirs before they settle.
 */
export async function runJavaScript(code: string, options: JsRunOptions, prepared?: PreparedRun): Promise<JsRunResult> {
  for (const name of Object.keys(options.host)) {
    if (!NAME.test(name) || RESERVED.has(name) || name.startsWith("__armor"))
      throw new TypeError(`a host function cannot be named \`${name.slice(0, 80)}\`: use a plain identifier that is not a built-in`);
  }
  freeRetired();
  const module = await loadEngine();
  const run = prepared instanceof GuestRun && prepared.usable && prepared.module === module ? prepared : new GuestRun(module);
  if (run !== prepared && prepared !== undefined) discardPrepared(prepared);
  try {
    return await run.execute(code, options);
  } catch (e) {
    if (e instanceof SandboxFailure) throw e;
    // the engine itself broke (the host's stack overflowed inside it, an abort): a new one next time
    discardEngine();
    throw new SandboxFailure("engine", `the JavaScript engine failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    retired.push(run);
    if (run !== prepared) freeRetired();
  }
}

/** One run: its runtime, context, deadline, output and pending host calls. */
class GuestRun implements PreparedRun {
  private readonly rt: QuickJSRuntime;
  private readonly ctx: QuickJSContext;
  /** Set when the run starts (`execute`); until then nothing runs in the context. */
  private options: JsRunOptions = { limits: DEFAULT_LIMITS, host: {} };
  private deadline = Number.POSITIVE_INFINITY;
  private started = false;
  private stdout = "";
  /** Why the guest must stop at its next interrupt check (output overflow), or null. */
  private stop: SandboxFailure | null = null;
  private hostCalls = 0;
  /** Whether the heap was seen near its limit between jobs (see runJobs). */
  private heapPeaked = false;
  private readonly deferreds = new Set<QuickJSDeferredPromise>();
  /**
   * Set the moment the run's outcome is known (its promise settled, read right after the jobs that
   * settled it, or the run failed): a host call the guest made that has not started by then never
   * starts (`ping(); return 1` answers 1, and `ping` must not run after the answer).
   */
  private answered = false;
  /** The run's promise while it is pending on host calls (see settledLater). */
  private pending: QuickJSHandle | null = null;

  constructor(readonly module: QuickJSWASMModule) {
    this.rt = module.newRuntime();
    this.rt.setInterruptHandler(() => this.stop !== null || Date.now() > this.deadline);
    this.ctx = this.rt.newContext();
    this.installBridge();
  }

  get usable(): boolean {
    return !this.started && this.rt.alive && this.ctx.alive && this.module === loaded;
  }

  async execute(code: string, options: JsRunOptions): Promise<JsRunResult> {
    try {
      return await this.executeOnce(code, options);
    } finally {
      this.answered = true;
      if (this.pending?.alive) this.pending.dispose();
      this.pending = null;
    }
  }

  private async executeOnce(code: string, options: JsRunOptions): Promise<JsRunResult> {
    this.started = true;
    this.options = options;
    const { limits } = options;
    this.deadline = Date.now() + limits.timeMs;
    this.rt.setMemoryLimit(limits.memoryBytes);
    this.rt.setMaxStackSize(limits.stackBytes);
    this.defineHost();
    const evaluated = this.ctx.evalCode(`(async () => {\n${code}\n})()`, "agent.js");
    if (evaluated.error) throw this.failure(this.consumeError(evaluated.error));
    const result = this.settledNow(evaluated.value) ?? (await this.settledLater(evaluated.value));
    if (result.error) throw this.failure(this.consumeError(result.error));
    const value = this.consumeValue(result.value);
    return { value, stdout: this.stdout };
  }

  /**
   * The run's outcome when its promise settles once its pending jobs have run (code that calls no
   * host function, the common case: no host promise, no turn of the event loop), else null.
   */
  private settledNow(promise: QuickJSHandle): { value: QuickJSHandle; error?: undefined } | { error: QuickJSHandle } | null {
    this.runJobs();
    const state = this.ctx.getPromiseState(promise);
    if (state.type !== "pending") this.answered = true;
    if (state.type === "pending") {
      // stopped (output, host calls) or out of time: no host promise is made for a guest that the
      // interrupt stops at once (its reactions would be left holding the runtime's objects)
      if (this.stop === null && Date.now() <= this.deadline) return null;
      promise.dispose();
      throw this.stop ?? new SandboxFailure("timeout", `the code ran longer than ${this.options.limits.timeMs} ms`);
    }
    promise.dispose();
    if (this.stop !== null) {
      // settled as the interrupt stopped it: the cause is the stop, whatever the promise holds
      (state.type === "fulfilled" ? state.value : state.error).dispose();
      throw this.stop;
    }
    return state.type === "fulfilled" ? { value: state.value } : { error: state.error };
  }

  /** The run's outcome once its promise settles (host calls answered), under its deadline. */
  private async settledLater(promise: QuickJSHandle): Promise<{ value: QuickJSHandle; error?: undefined } | { error: QuickJSHandle }> {
    let done = false;
    const settled = this.ctx.resolvePromise(promise).finally(() => {
      done = true;
    });
    // kept to read, after each batch of jobs, whether the run settled in it (see pump)
    this.pending = promise;
    this.pump();
    this.isStuck = () => !done;
    return await this.withinDeadline(settled);
  }

  /** The host's bindings, then the prelude that wraps them and removes them from the global object. */
  private installBridge(): void {
    const { ctx } = this;
    const g = ctx.global;
    const print = ctx.newFunction("print", (line) => {
      this.write(ctx.getString(line));
    });
    ctx.setProp(g, "__armor_print", print);
    print.dispose();
    const call = ctx.newFunction("call", (nameH, argsH) => this.hostCall(ctx.getString(nameH), ctx.getString(argsH)));
    ctx.setProp(g, "__armor_host", call);
    call.dispose();
    const prelude = ctx.evalCode(PRELUDE, "prelude.js");
    if (prelude.error) throw this.failure(this.consumeError(prelude.error));
    prelude.value.dispose();
  }

  /** The run's host functions as globals (`__armor_define`, which removes itself before the code runs). */
  private defineHost(): void {
    const { ctx } = this;
    const define = ctx.getProp(ctx.global, "__armor_define");
    const names = ctx.newString(JSON.stringify(Object.keys(this.options.host)));
    const r = ctx.callFunction(define, ctx.undefined, names);
    names.dispose();
    define.dispose();
    if (r.error) throw this.failure(this.consumeError(r.error));
    r.value.dispose();
  }

  private write(line: string): void {
    if (this.stop !== null) return;
    if (this.stdout.length + line.length + 1 > this.options.limits.outputChars) {
      this.stop = new SandboxFailure("output", `the code printed more than ${this.options.limits.outputChars} characters`);
      return;
    }
    this.stdout += `${line}\n`;
  }

  /** A guest's call of a host function: a promise in the guest, settled with the host's JSON answer. */
  private hostCall(name: string, argsJson: string): QuickJSHandle {
    const { ctx } = this;
    if (++this.hostCalls > this.options.limits.hostCalls) {
      this.stop ??= new SandboxFailure("host_calls", `the code called host functions more than ${this.options.limits.hostCalls} times`);
      return ctx.newError({ name: "Error", message: "too many host calls" });
    }
    const fn = Object.hasOwn(this.options.host, name) ? this.options.host[name] : undefined;
    const deferred = ctx.newPromise();
    this.deferreds.add(deferred);
    const settle = (ok: boolean, text: string): void => {
      if (!deferred.alive || !ctx.alive) return;
      const h = ok ? ctx.newString(text) : ctx.newError({ name: "Error", message: text });
      ok ? deferred.resolve(h) : deferred.reject(h);
      h.dispose();
      this.deferreds.delete(deferred);
      deferred.dispose();
      this.pump();
    };
    if (fn === undefined) {
      settle(false, `no host function \`${name}\``);
    } else {
      Promise.resolve()
        .then(() => {
          // the guest's jobs that made the call also settled the run: the call never starts
          if (this.answered) throw new Error(`the run has answered: \`${name}\` was not called`);
          return fn(JSON.parse(argsJson) as unknown[]);
        })
        .then(
          (v) => settle(true, JSON.stringify(v === undefined ? null : v)),
          (e: unknown) => settle(false, e instanceof Error ? e.message : String(e)),
        );
    }
    const handle = deferred.handle.dup();
    return handle;
  }

  /** Whether the run's promise is still pending (set once the run's promise exists). */
  private isStuck: () => boolean = () => false;

  /**
   * Runs the guest's pending jobs (promise reactions) until none are left, then checks whether
   * the guest can still move: with no job left and no host call in flight, a pending run can
   * never settle (nothing else can wake it: the guest has no timers), so it fails at once, as a
   * memory failure when the heap is at its limit (QuickJS could not even allocate the rejection).
   */
  private pump(): void {
    if (!this.rt.alive) return;
    this.runJobs();
    if (this.pending?.alive && this.ctx.alive) {
      const state = this.ctx.getPromiseState(this.pending);
      if (state.type !== "pending") {
        this.answered = true;
        (state.type === "fulfilled" ? state.value : state.error).dispose();
      }
    }
    setImmediate(() => {
      // the run may have ended (and its context been freed) before this turn
      if (this.stop !== null || !this.rt.alive || !this.ctx.alive || this.deferreds.size > 0 || this.rt.hasPendingJob() || !this.isStuck()) return;
      const { memoryBytes } = this.options.limits;
      this.stop = this.reachedHeapLimit()
        ? new SandboxFailure("memory", `the code used more than ${memoryBytes} bytes of memory`)
        : new SandboxFailure("exception", "the code waits for a promise that nothing can settle");
    });
  }

  /**
   * Runs the guest's pending jobs until none are left (or the interrupt stops one), in batches of
   * `JOB_BATCH`, reading the heap after each full batch. A chain of promises that never ends (each
   * reaction returning a new promise: `function f() { return Promise.resolve().then(f) }`) holds
   * every link, so it grows the heap until an allocation fails inside a reaction; QuickJS then
   * rejects the chain with `null` (it cannot allocate an error either) or drops it, and frees it:
   * by the time the run's failure is read the heap is small again. The batches remember that it
   * reached its limit, so such a run fails as `memory`, not as an exception without an error.
   */
  private runJobs(): void {
    for (;;) {
      const r = this.rt.executePendingJobs(JOB_BATCH);
      if (r.error) {
        // a job the interrupt stopped (the deadline, a stop), or a reaction that threw outside any
        // promise the code awaits: it surfaces through the run's promise, or not at all (a stray
        // context it made is freed with the runtime, see dropStrayContexts: freed during the run, it
        // would take the run's pending reactions with it)
        r.error.dispose();
        return;
      }
      if (r.value < JOB_BATCH || this.stop !== null || Date.now() > this.deadline) return;
      if (!this.heapPeaked && this.nearHeapLimit()) this.heapPeaked = true;
    }
  }

  /**
   * Frees the contexts `executePendingJobs` made by mistake. quickjs-emscripten 0.32 reads the
   * context of the job it ran through a view of the WebAssembly memory made before the job; a job
   * that grows the memory (one that allocates much, or runs out of it inside a promise's reaction)
   * detaches that view, the read gives `undefined`, and the library makes a new, empty context
   * for it that nothing owns (justjake/quickjs-emscripten#240, its fix #248 unreleased). Left
   * alive, it makes QuickJS abort when the runtime is freed (`list_empty(&rt->gc_obj_list)`),
   * which kills the whole module. The runtime's contexts are its own field (`contextMap`); any
   * but this run's is such a stray.
   */
  private dropStrayContexts(): void {
    const contexts = (this.rt as unknown as { contextMap?: unknown }).contextMap;
    if (!(contexts instanceof Map)) return;
    for (const c of [...contexts.values()] as unknown[]) {
      if (c !== this.ctx && c instanceof Object && "alive" in c && "dispose" in c && c.alive === true && typeof c.dispose === "function") c.dispose();
    }
  }

  /** Whether the heap reached its limit during the run: seen between jobs, or now. */
  private reachedHeapLimit(): boolean {
    return this.heapPeaked || this.nearHeapLimit();
  }

  /** Whether the guest heap is within a tenth of its limit (false when it cannot be read). */
  private nearHeapLimit(): boolean {
    try {
      return this.rt.alive && this.ctx.alive && this.heapUsed() >= this.options.limits.memoryBytes * 0.9;
    } catch {
      return false;
    }
  }

  /** The guest heap's bytes in use, as QuickJS counts them against the limit. */
  private heapUsed(): number {
    const h = this.rt.computeMemoryUsage();
    try {
      const usage = this.ctx.dump(h) as { malloc_size?: unknown; memory_used_size?: unknown };
      return typeof usage.malloc_size === "number" ? usage.malloc_size : typeof usage.memory_used_size === "number" ? usage.memory_used_size : 0;
    } finally {
      h.dispose();
    }
  }

  /** The run's settled promise, or a timeout / stop failure, whichever comes first. */
  private async withinDeadline<T>(settled: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      const check = (): void => {
        const left = this.deadline - Date.now();
        if (this.stop !== null) reject(this.stop);
        else if (left <= 0) reject(new SandboxFailure("timeout", `the code ran longer than ${this.options.limits.timeMs} ms`));
        else timer = setTimeout(check, Math.min(left, 50));
      };
      check();
    });
    try {
      return await Promise.race([settled, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private consumeValue(h: QuickJSHandle): unknown {
    try {
      const json = this.ctx.typeof(h) === "undefined" ? "null" : this.guestJson(h);
      if (json.length > this.options.limits.outputChars) throw new SandboxFailure("output", `the code returned more than ${this.options.limits.outputChars} characters of JSON`);
      return JSON.parse(json) as unknown;
    } finally {
      h.dispose();
    }
  }

  /** `JSON.stringify(value)` in the guest (under its limits), as text; a value JSON cannot hold is an exception. */
  private guestJson(h: QuickJSHandle): string {
    const { ctx } = this;
    const json = ctx.getProp(ctx.global, "JSON");
    const stringify = ctx.getProp(json, "stringify");
    const r = ctx.callFunction(stringify, json, h);
    stringify.dispose();
    json.dispose();
    if (r.error) throw this.failure(this.consumeError(r.error));
    const out = ctx.typeof(r.value) === "string" ? ctx.getString(r.value) : "null";
    r.value.dispose();
    return out;
  }

  /** The guest's error as `{ name, message }`, the handle disposed. */
  private consumeError(h: QuickJSHandle): { name: string; message: string } {
    try {
      const e = this.ctx.dump(h) as unknown;
      if (typeof e === "object" && e !== null) {
        const o = e as Record<string, unknown>;
        return { name: String(o.name ?? "Error"), message: String(o.message ?? "") };
      }
      // no error object: the code threw `null`, or QuickJS gave up on a promise chain without one
      // (an endless `then` chain is rejected with `null`); say so rather than print a bare "null"
      if (e === null || e === undefined)
        return { name: "Error", message: `the code failed without an error object (${String(e)}): it threw one, or the engine stopped a promise chain it could not go on resolving` };
      return { name: "Error", message: String(e) };
    } finally {
      h.dispose();
    }
  }

  /** The failure for a guest error: a limit when QuickJS says so, else the code's own exception. */
  private failure(e: { name: string; message: string }): SandboxFailure {
    if (this.stop !== null) return this.stop;
    // past the deadline, whatever surfaced is the deadline's doing: the interrupt stops the guest
    // wherever it is, and what reaches the run's promise need not say `interrupted`
    const late = Date.now() > this.deadline;
    const kind: SandboxFailureKind =
      late || (e.name === "InternalError" && e.message === "interrupted")
        ? "timeout"
        : e.message === "out of memory" || (e.name === "InternalError" && /out of memory/.test(e.message))
          ? "memory"
          : e.name === "InternalError" && e.message === "stack overflow"
            ? "stack"
            : e.name === "SyntaxError"
              ? "syntax"
              : this.reachedHeapLimit()
                ? // at its heap limit, what surfaced is the limit's doing (QuickJS may not allocate a proper error)
                  "memory"
                : "exception";
    const message =
      kind === "timeout"
        ? `the code ran longer than ${this.options.limits.timeMs} ms`
        : kind === "memory"
          ? `the code used more than ${this.options.limits.memoryBytes} bytes of memory`
          : kind === "stack"
            ? `the code recursed deeper than its ${this.options.limits.stackBytes}-byte stack`
            : `${e.name}: ${e.message}`.slice(0, 2_000);
    return new SandboxFailure(kind, message);
  }

  /** Frees the run's context and runtime; false when the engine failed doing so. */
  dispose(): boolean {
    try {
      for (const d of this.deferreds) if (d.alive) d.dispose();
      this.deferreds.clear();
      if (this.rt.alive) this.dropStrayContexts();
      if (this.ctx.alive) this.ctx.dispose();
      if (this.rt.alive) this.rt.dispose();
      return true;
    } catch {
      return false;
    }
  }
}
