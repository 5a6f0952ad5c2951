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
import { SandboxFailure, type SandboxFailureKind, type SandboxLimits } from "./limits.js";

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

const NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const RESERVED = new Set(["console", "globalThis", "JSON", "Object", "Array", "Promise", "Error", "Function", "eval"]);

/** The guest's own setup: `console`, and each host function as an async global that speaks JSON. Fixed text: names arrive as data. */
const PRELUDE = `(() => {
  const call = globalThis.__armor_host, names = JSON.parse(globalThis.__armor_names), print = globalThis.__armor_print;
  delete globalThis.__armor_host; delete globalThis.__armor_names; delete globalThis.__armor_print;
  const text = (v) => { if (typeof v === "string") return v; try { const j = JSON.stringify(v); return j === undefined ? String(v) : j; } catch { return String(v); } };
  const log = (...a) => print(a.map(text).join(" "));
  globalThis.console = Object.freeze({ log, info: log, warn: log, error: log, debug: log });
  for (const n of names) {
    const f = async (...args) => JSON.parse(await call(n, JSON.stringify(args)));
    Object.defineProperty(globalThis, n, { value: f, enumerable: false, writable: false, configurable: false });
  }
})();`;

let engine: Promise<QuickJSWASMModule> | null = null;

function loadEngine(): Promise<QuickJSWASMModule> {
  engine ??= newQuickJSWASMModuleFromVariant(import("@jitl/quickjs-wasmfile-release-sync"));
  return engine;
}

/** Loads the WebAssembly module ahead of the first run (a run loads it otherwise). */
export async function warmJavaScript(): Promise<void> {
  await loadEngine();
}

/** Runs `code` in a fresh QuickJS context; rejects with a `SandboxFailure` naming why it did not finish. */
export async function runJavaScript(code: string, options: JsRunOptions): Promise<JsRunResult> {
  for (const name of Object.keys(options.host)) {
    if (!NAME.test(name) || RESERVED.has(name) || name.startsWith("__armor"))
      throw new TypeError(`a host function cannot be named \`${name.slice(0, 80)}\`: use a plain identifier that is not a built-in`);
  }
  const module = await loadEngine();
  const run = new GuestRun(module, options);
  try {
    return await run.execute(code);
  } catch (e) {
    if (e instanceof SandboxFailure) throw e;
    // the engine itself broke (the host's stack overflowed inside it, an abort): a new one next time
    engine = null;
    throw new SandboxFailure("engine", `the JavaScript engine failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    // QuickJS aborts when a runtime it frees still has objects the host holds (a run stopped in
    // the middle of a promise's reactions): the module is then unusable, and the next run starts another
    if (!run.dispose()) engine = null;
  }
}

/** One run: its runtime, context, deadline, output and pending host calls. */
class GuestRun {
  private readonly rt: QuickJSRuntime;
  private readonly ctx: QuickJSContext;
  private readonly deadline: number;
  private stdout = "";
  /** Why the guest must stop at its next interrupt check (output overflow), or null. */
  private stop: SandboxFailure | null = null;
  private hostCalls = 0;
  private readonly deferreds = new Set<QuickJSDeferredPromise>();

  constructor(
    module: QuickJSWASMModule,
    private readonly options: JsRunOptions,
  ) {
    const { limits } = options;
    this.deadline = Date.now() + limits.timeMs;
    this.rt = module.newRuntime();
    this.rt.setMemoryLimit(limits.memoryBytes);
    this.rt.setMaxStackSize(limits.stackBytes);
    this.rt.setInterruptHandler(() => this.stop !== null || Date.now() > this.deadline);
    this.ctx = this.rt.newContext();
  }

  async execute(code: string): Promise<JsRunResult> {
    this.install();
    const evaluated = this.ctx.evalCode(`(async () => {\n${code}\n})()`, "agent.js");
    if (evaluated.error) throw this.failure(this.consumeError(evaluated.error));
    let done = false;
    const settled = this.ctx.resolvePromise(evaluated.value).finally(() => {
      done = true;
    });
    evaluated.value.dispose();
    this.pump();
    this.isStuck = () => !done;
    const result = await this.withinDeadline(settled);
    if (result.error) throw this.failure(this.consumeError(result.error));
    const value = this.consumeValue(result.value);
    return { value, stdout: this.stdout };
  }

  /** The host's bindings, then the prelude that wraps them and removes them from the global object. */
  private install(): void {
    const { ctx } = this;
    const g = ctx.global;
    const names = ctx.newString(JSON.stringify(Object.keys(this.options.host)));
    ctx.setProp(g, "__armor_names", names);
    names.dispose();
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
        .then(() => fn(JSON.parse(argsJson) as unknown[]))
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
    const r = this.rt.executePendingJobs();
    if (r.error) {
      // a reaction that threw outside any promise the code awaits: it surfaces through the run's promise, or not at all
      r.error.dispose();
    }
    setImmediate(() => {
      // the run may have ended (and its context been freed) before this turn
      if (this.stop !== null || !this.rt.alive || !this.ctx.alive || this.deferreds.size > 0 || this.rt.hasPendingJob() || !this.isStuck()) return;
      const { memoryBytes } = this.options.limits;
      this.stop = this.nearHeapLimit()
        ? new SandboxFailure("memory", `the code used more than ${memoryBytes} bytes of memory`)
        : new SandboxFailure("exception", "the code waits for a promise that nothing can settle");
    });
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
              : this.nearHeapLimit()
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
      if (this.ctx.alive) this.ctx.dispose();
      if (this.rt.alive) this.rt.dispose();
      return true;
    } catch {
      return false;
    }
  }
}
