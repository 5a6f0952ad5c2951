/**
 * Agent-written code run under the policy: the run itself is an action (`run_code`, carrying the
 * language, the code and the facts read from it), decided before anything runs; the code that
 * runs is the code the policy decided (after its redactions, after an approval: what a person
 * approved is exactly what runs); each call the code makes of a host function is an action of its
 * own, decided in the same session (so the session's history and labels apply) before the host
 * function runs; and the run's value and output are its result, decided by the policy's rules on
 * results. Every step is in the audit log. A sandbox failure (timeout, memory, output, an engine
 * failure) fails the run, naming its cause: the tool failed, and the runtime records it so.
 */
import { type Action, type ActionContext, ActionDenied, type Enforcer, ResultWithheld, type RunResult } from "@agent-armor/runtime";
import { type CodeFacts, javaScriptFacts } from "./js-facts.js";
import { createSandboxPool, type JsPool } from "./js-pool.js";
import { limitsOf, type SandboxLimits } from "./limits.js";
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
 * the policy has no rules on results). Python's facts come from the interpreter's own parser, in
 * the interpreter that then runs the code.
 */
export async function runCode(enforcer: Enforcer, request: RunCodeRequest, ctx: ActionContext | undefined, options: RunCodeOptions = {}): Promise<RunResult<JsRunResult>> {
  if (request.language !== "javascript" && request.language !== "python") {
    throw new TypeError(`runCode: the language \`${String(request.language)}\` is not supported; the sandbox runs "javascript" and "python"`);
  }
  if (typeof request.code !== "string") throw new TypeError("runCode: `code` must be a string");
  const limits = limitsOf(options.limits);
  const host = hostFunctions(enforcer, ctx, options.host ?? {});
  if (request.language === "javascript") {
    return enforcer.run(runCodeAction(request, options.type), ctx, (decided) => (options.pool ?? sharedPool()).run(decidedCode(decided), limits, host));
  }
  const lease = await (options.pythonPool ?? sharedPythonPool()).take(limits.timeMs);
  try {
    // facts that cannot be read (the interpreter failed reading them) are decided as such, so the
    // decision is made and audited; the run then fails on its own if it gets to run
    const facts = await lease
      .facts(request.code)
      .catch((e: unknown): CodeFacts => ({ imports: [], calls: [], urls: [], hosts: [], dynamic: true, error: `the code's facts cannot be read: ${e instanceof Error ? e.message : String(e)}` }));
    return await enforcer.run(runCodeAction(request, options.type, facts), ctx, (decided) => lease.run(decidedCode(decided), limits, host));
  } finally {
    lease.release();
  }
}

/** The code that runs is the code that was decided. */
function decidedCode(decided: Action): string {
  const code = decided.code;
  if (typeof code !== "string") throw new TypeError("the decided action has no `code` to run");
  return code;
}

/** Each host tool as a function the guest calls: every call decided (and run) by `enforcer.run`. */
function hostFunctions(enforcer: Enforcer, ctx: ActionContext | undefined, tools: Readonly<Record<string, HostTool>>): Record<string, HostFunction> {
  const out: Record<string, HostFunction> = {};
  for (const [name, tool] of Object.entries(tools)) {
    out[name] = async (args) => {
      const fields = tool.action ? tool.action(args) : isRecord(args[0]) ? args[0] : { args };
      const run = await enforcer.run({ ...fields, type: tool.type ?? name }, ctx, (action) => tool.run(action));
      // an enforcer made with `throwOnDeny: false` (the gateway's) answers a denial rather than
      // throwing it: the guest gets the same error either way, never a null it cannot tell apart
      if (run.decision.decision !== "allow") throw new ActionDenied(run.decision);
      if (run.resultDecision !== undefined && run.resultDecision.decision !== "allow") throw new ResultWithheld(run.resultDecision);
      return run.result;
    };
  }
  return out;
}
