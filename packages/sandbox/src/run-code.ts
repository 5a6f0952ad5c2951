/**
 * Agent-written code run under the policy: the run itself is an action (`run_code`, carrying the
 * language, the code and the facts read from it), decided before anything runs; the code that
 * runs is the code the policy decided, and only when it is the code sent (after an approval: what
 * a person approved is exactly what runs; a policy that rewrote the code with a redaction fails the
 * run, `rewritten`, as its facts were read from other code); each call the code makes of a host function is an action of its
 * own, decided in the same session (so the session's history and labels apply) before the host
 * function runs; and the run's value and output are its result, decided by the policy's rules on
 * results. Every step is in the audit log. A sandbox failure (timeout, memory, output, an engine
 * failure) fails the run, naming its cause: the tool failed, and the runtime records it so.
 */
import { type Action, type ActionContext, ActionDenied, type Enforcer, ResultWithheld, type RunResult } from "@agent-armor/runtime";
import { type CodeFacts, javaScriptFacts, MAX_CODE_CHARS } from "./js-facts.js";
import { createSandboxPool, type JsPool } from "./js-pool.js";
import { limitsOf, SandboxFailure, type SandboxLimits } from "./limits.js";
import { createPythonPool, type PythonPool } from "./py-pool.js";
import type { HostFunction, JsRunResult } from "./quickjs-run.js";

/** A host function the code may call, and the action each call is decided as. */
export interface HostTool {
  /** The action's `type` (default: the function's name). */
  type?: string;
  /** The action's fields from the guest's arguments (default: the first argument when it is an object, else `{ args }`). */
  action?: (args: unknown[]) => Record<string, unknown>;
  /** Runs the call with the action as the policy decided it (its redactions applied); its value goes back to the guest as JSON. */
  run: (action: Action) => unknown;
}

export interface RunCodeOptions {
  /** The guest's only ways out, by the name the code calls them with. */
  host?: Readonly<Record<string, HostTool>>;
  limits?: Partial<SandboxLimits>;
  /** The type of the run's action (default `run_code`). */
  type?: string;
  /** The workers JavaScript runs in (default: one pool shared by every run of this process). */
  pool?: JsPool;
  /** The interpreters Python runs in (default: one pool shared by every run of this process). */
  pythonPool?: PythonPool;
  /** Told of a sandbox failure of the decided run (its kind), before the run rejects with the tool's failure; never of one before the decision. */
  onFailure?: (failure: SandboxFailure) => void;
  /** Told how long each step of the run took, once it has settled (for finding where a run's time goes; nothing is timed without it). */
  onTimings?: (timings: RunCodeTimings) => void;
}

/** The steps of one `runCode`, in milliseconds. */
export interface RunCodeTimings {
  /** Reading the code's facts. */
  facts: number;
  /** From the facts to the sandbox's start: deciding the run (an approval included) and writing its record. */
  decide: number;
  /** The sandbox: taking a worker or interpreter, the run, its answer back (0 when the run was not decided to run). */
  sandbox: number;
  /** From the sandbox's answer to the run's: deciding the result and writing the outcome's records. */
  after: number;
  /** The whole call. */
  total: number;
}

let sharedPython: PythonPool | null = null;
/** The Python pool runs use when given none (one warm interpreter, created on first use). */
export function sharedPythonPool(): PythonPool {
  sharedPython ??= createPythonPool();
  return sharedPython;
}

let shared: JsPool | null = null;
/** The pool runs use when given none (two warm workers, created on first use). */
export function sharedPool(): JsPool {
  shared ??= createSandboxPool();
  return shared;
}

export interface RunCodeRequest {
  language: "javascript" | "python";
  code: string;
}

/** The action a run of JavaScript is decided as: the language, the code and its facts. */
export function runCodeAction(request: RunCodeRequest, type = "run_code", facts: CodeFacts = javaScriptFacts(request.code)): Record<string, unknown> & { type: string } & CodeFacts {
  return { type, language: request.language, code: request.code, ...facts };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/**
 * Decides and runs agent-written code in the sandbox. Resolves as `enforcer.run` does (the
 * decision, and the run's `{ value, stdout }` as the policy's rules on results left it); rejects
 * as it does (`ActionDenied`, `ResultWithheld`, `ToolFailed` or the `SandboxFailure` itself when
 * the policy has no rules on results). Python's facts come from the interpreter's own parser (an
 * interpreter used for that only); the run takes its worker or interpreter once it is decided.
 */
export async function runCode(enforcer: Enforcer, request: RunCodeRequest, ctx: ActionContext | undefined, options: RunCodeOptions = {}): Promise<RunResult<JsRunResult>> {
  if (request.language !== "javascript" && request.language !== "python") {
    throw new TypeError(`runCode: the language \`${String(request.language)}\` is not supported; the sandbox runs "javascript" and "python"`);
  }
  if (typeof request.code !== "string") throw new TypeError("runCode: `code` must be a string");
  const limits = limitsOf(options.limits);
  const clock = options.onTimings === undefined ? null : new StepClock();
  // set once the run has answered: a host call that has not started by then never runs its tool
  let answered = false;
  const host = hostFunctions(enforcer, ctx, options.host ?? {}, () => answered);
  // the interpreter or worker that runs the code is taken only once the run is decided, inside
  // the tool: a decision that waits (an approval) or denies holds none
  const runDecided = async (decided: Action): Promise<JsRunResult> => {
    clock?.sandboxStarts();
    try {
      const code = decidedCode(decided, request);
      if (request.language === "javascript") return await (options.pool ?? sharedPool()).run(code, limits, host);
      return await (options.pythonPool ?? sharedPythonPool()).run(code, limits, host);
    } catch (e) {
      if (e instanceof SandboxFailure) options.onFailure?.(e);
      throw e;
    } finally {
      answered = true;
      clock?.sandboxEnds();
    }
  };
  const { facts, unread } =
    request.code.length > limits.codeChars
      ? { facts: tooLong(limits.codeChars), unread: null }
      : request.language === "javascript"
        ? { facts: await javaScriptFactsFor(options.pool ?? sharedPool(), request.code, limits.timeMs), unread: null }
        : await pythonFacts(options.pythonPool ?? sharedPythonPool(), request.code, limits.timeMs);
  clock?.factsRead();
  const running = enforcer.run(runCodeAction(request, options.type, facts), ctx, async (decided) => {
    const failure = unread !== null ? new SandboxFailure("engine", `${unread}; code whose facts were not read is never run`) : unreadFailure(facts);
    if (failure !== null) {
      options.onFailure?.(failure);
      throw failure;
    }
    return await runDecided(decided);
  });
  return clock === null ? running : clock.told(running, options.onTimings!);
}

/** The times of a run's steps (RunCodeTimings), read as the run passes them. */
class StepClock {
  private readonly start = performance.now();
  private facts = this.start;
  private sandboxStart: number | null = null;
  private sandboxEnd: number | null = null;

  factsRead(): void {
    this.facts = performance.now();
  }
  sandboxStarts(): void {
    this.sandboxStart = performance.now();
  }
  sandboxEnds(): void {
    this.sandboxEnd = performance.now();
  }
  /** `running`, telling `tell` the steps' times once it settles (either way); a `tell` that throws does not change the run's outcome. */
  told<T>(running: Promise<T>, tell: (timings: RunCodeTimings) => void): Promise<T> {
    const report = (): void => {
      const end = performance.now();
      const sandboxStart = this.sandboxStart ?? end;
      const sandboxEnd = this.sandboxEnd ?? sandboxStart;
      try {
        tell({ facts: this.facts - this.start, decide: sandboxStart - this.facts, sandbox: sandboxEnd - sandboxStart, after: end - sandboxEnd, total: end - this.start });
      } catch {
        // timings are for reading, never a reason for a run to fail
      }
    };
    return running.finally(report);
  }
}

/** The facts of code longer than the `codeChars` limit, read no further: none, and why. */
const tooLong = (codeChars: number): CodeFacts => ({
  imports: [],
  calls: [],
  urls: [],
  hosts: [],
  dynamic: true,
  error: `the code is longer than ${codeChars} characters (the sandbox's \`codeChars\` limit)`,
});

/**
 * Code whose facts could not be read completely (too long, too deep, not parsed by the facts'
 * reader: `syntax`, though the engine might have read it) never runs, whatever the policy decided: a policy without a rule on `dynamic` or
 * `error` would otherwise allow code whose imports, calls and hosts it never saw. The decision is
 * still made and audited (the action carries `error`), and the run fails as the tool's failure,
 * `unread`, naming why.
 */
function unreadFailure(facts: CodeFacts): SandboxFailure | null {
  if (facts.error === null) return null;
  if (facts.error.startsWith("SyntaxError: ")) return new SandboxFailure("syntax", `${facts.error} (the code does not parse; it was not run)`);
  return new SandboxFailure("unread", `the code was not run: its facts could not be read (${facts.error}), and code the policy cannot see never runs`);
}

/**
 * Code up to this long has its facts read on the calling thread (a fraction of a millisecond);
 * longer code has them read in a worker of the pool, so that the thread that decides every other
 * action is not held for the tens of milliseconds 64 KiB of code can take to parse.
 */
export const INLINE_FACTS_CHARS = 4_096;

/**
 * JavaScript's facts: here for short code, in the pool's facts thread for long code (a pool without
 * `facts` reads them here too). When that thread cannot give them (it is stuck, it failed), they
 * are read here after all: 64 KiB takes tens of milliseconds, and the policy must decide on the
 * code's own facts, never on a stand-in that says nothing of what the code imports or reaches.
 */
async function javaScriptFactsFor(pool: JsPool, code: string, waitMs: number): Promise<CodeFacts> {
  if (code.length <= INLINE_FACTS_CHARS || code.length > MAX_CODE_CHARS || pool.facts === undefined) return javaScriptFacts(code);
  return await pool.facts(code, waitMs).catch((): CodeFacts => javaScriptFacts(code));
}

/**
 * Python's facts, read by an interpreter of the pool that is then ended (a run gets one of its
 * own, once decided). When the interpreter fails to give them (it crashed, it sent something
 * malformed), there are no facts to decide on: the action is still decided and audited, as
 * `dynamic` with the reason in `error`, and `unread` says why the run must then fail without
 * running (code no policy saw the facts of never runs).
 */
async function pythonFacts(pool: PythonPool, code: string, waitMs: number): Promise<{ facts: CodeFacts; unread: string | null }> {
  const lease = await pool.take(waitMs);
  try {
    return await lease.facts(code).then(
      (facts) => ({ facts, unread: null }),
      (e: unknown) => {
        const unread = `the code's facts cannot be read: ${e instanceof Error ? e.message : String(e)}`;
        return { facts: { imports: [], calls: [], urls: [], hosts: [], dynamic: true, error: unread }, unread };
      },
    );
  } finally {
    lease.release();
  }
}

/**
 * The code that runs is the code that was decided, and it must be the code the facts were read
 * from: a policy that rewrote the code or its language (a redaction) made code nobody decided on
 * (`g[4111111111111111]` redacted to `g[[CARD]]` is `eval`), so rewritten code is never run; the
 * run fails (`rewritten`), as the tool's failure, audited.
 */
function decidedCode(decided: Action, request: RunCodeRequest): string {
  const code = decided.code;
  if (typeof code !== "string") throw new SandboxFailure("rewritten", "the decided action has no `code` to run");
  if (code !== request.code || decided.language !== request.language) {
    throw new SandboxFailure(
      "rewritten",
      `the policy rewrote the ${code !== request.code ? "code" : "language"} it decided (a redaction); rewritten code is never run, as its facts are not the ones decided`,
    );
  }
  return code;
}

/**
 * Each host tool as a function the guest calls: every call decided (and run) by `enforcer.run`;
 * none once the run has answered (`answered`): a call the guest made without waiting for it
 * (`ping(); return 1`) neither is decided nor runs its tool after the run's result.
 */
function hostFunctions(enforcer: Enforcer, ctx: ActionContext | undefined, tools: Readonly<Record<string, HostTool>>, answered: () => boolean): Record<string, HostFunction> {
  const out: Record<string, HostFunction> = {};
  for (const [name, tool] of Object.entries(tools)) {
    const refused = (): Error => new Error(`the run has answered: \`${name}\` was not called`);
    out[name] = async (args) => {
      if (answered()) throw refused();
      const fields = tool.action ? tool.action(args) : isRecord(args[0]) ? args[0] : { args };
      const run = await enforcer.run({ ...fields, type: tool.type ?? name }, ctx, (action) => {
        // decided while the run answered: its tool does not run after the result
        if (answered()) throw refused();
        return tool.run(action);
      });
      // an enforcer made with `throwOnDeny: false` (the gateway's) answers a denial rather than
      // throwing it: the guest gets the same error either way, never a null it cannot tell apart
      if (run.decision.decision !== "allow") throw new ActionDenied(run.decision);
      if (run.resultDecision !== undefined && run.resultDecision.decision !== "allow") throw new ResultWithheld(run.resultDecision);
      return run.result;
    };
  }
  return out;
}
