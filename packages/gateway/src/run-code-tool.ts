/**
 * The built-in `run_code` tool of `armor mcp --run-code` and `POST /v1/run_code` of `armor serve
 * --run-code`: agent-written JavaScript or Python run in the sandbox (`@agent-armor/sandbox`)
 * under the gateway's policy. The run is the action `run_code` with the code's facts, decided
 * before anything runs; the code that runs is the code decided; its value and output are its
 * result, decided by the policy's rules on results; each step is in the audit log.
 *
 * Every request is decided and audited, also one that cannot run: a language that is not enabled,
 * code that is not a string or longer than `MAX_CODE_CHARS`, arguments other than `language` and
 * `code`. It is decided as a `run_code` action with `dynamic: true` and `error` saying why (so a
 * policy that refuses hidden code denies it), and when the policy allows it, it fails without
 * running, naming the problem. A sandbox failure (timeout, memory, output, host calls, engine)
 * fails the run naming its kind; nothing of a failed run reaches the caller but its decided error.
 *
 * The sandbox is loaded (`import()`) only when the tool is started, so a gateway without
 * `--run-code` never loads QuickJS or Pyodide.
 */
import type { ActionContext, Decision, Enforcer, RunResult, StageDecision } from "@agent-armor/runtime";
import type { HostTool, PythonLease, PythonPool, RunCodeRequest, SandboxLimits, SandboxPool } from "@agent-armor/sandbox";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

export type RunCodeLanguage = RunCodeRequest["language"];
export const RUN_CODE_LANGUAGES: readonly RunCodeLanguage[] = ["javascript", "python"];

/** The tool's name and its action's type: the policy's `action.type == "run_code"` means the sandbox. */
export const RUN_CODE_TOOL = "run_code";

/**
 * The longest code a request may carry (characters): the longest the sandbox reads JavaScript
 * facts from (64 KiB). Facts are read on the thread that decides every request of the service,
 * so the bound keeps one request from stalling the others (a megabyte took seconds to parse).
 */
export const MAX_CODE_CHARS = 65_536;

export interface RunCodeConfig {
  /** The languages the tool runs. */
  languages: readonly RunCodeLanguage[];
  /** Limits of each run over the sandbox's defaults. */
  limits?: Partial<SandboxLimits>;
  /** Warm JavaScript workers (default 2) and Python interpreters (default 1) kept. */
  warm?: { javascript?: number; python?: number };
}

/** What became of one request: the data both the MCP tool and the HTTP route answer from. */
export type RunCodeAnswer =
  | { status: "ran"; decision: Decision; resultDecision: StageDecision | null; result: { value: unknown; stdout: string } }
  | { status: "denied"; decision: Decision; problem: string | null }
  | { status: "withheld"; decision: Decision; resultDecision: StageDecision }
  | { status: "failed"; decision: Decision | null; failure: { kind: string; message: string } };

export interface RunCodeTool {
  readonly languages: readonly RunCodeLanguage[];
  /** Decides and runs one request (its raw arguments: `{ language, code }`); never rejects. */
  call(args: unknown, ctx: ActionContext, host?: Readonly<Record<string, HostTool>>): Promise<RunCodeAnswer>;
  /** Ends the warm workers and interpreters. */
  close(): Promise<void>;
}

/** The tool as `tools/list` shows it. */
export function runCodeToolDefinition(languages: readonly RunCodeLanguage[], hostFunctions: readonly string[] = []) {
  const host = hostFunctions.length > 0 ? ` The code may call these tools as functions (each call decided as that tool's call): ${hostFunctions.join(", ")}.` : "";
  return {
    name: RUN_CODE_TOOL,
    description: `Runs ${languages.join(" or ")} code in a WebAssembly sandbox, decided by the Agent Armor policy before it runs; its value and output are checked before you read them. No network, files or processes.${host} JavaScript: the body of an async function (\`return\` gives the value, \`console.log\` prints). Python: the last expression is the value, \`print\` prints, \`await\` works at the top level.`,
    inputSchema: {
      type: "object" as const,
      properties: {
        language: { type: "string", enum: [...languages], description: "the code's language" },
        code: { type: "string", maxLength: MAX_CODE_CHARS, description: "the code to run" },
      },
      required: ["language", "code"],
      additionalProperties: false,
    },
  };
}

type Sandbox = typeof import("@agent-armor/sandbox");

/** A request read from its arguments, or why it cannot run (with what of it the action can carry). */
type Request = { ok: true; language: RunCodeLanguage; code: string } | { ok: false; language: string | null; code: string | null; problem: string };

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const shown = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** Reads `{ language, code }` through own properties only; anything else is a problem named with its place. */
export function readRunCodeRequest(args: unknown, languages: readonly RunCodeLanguage[]): Request {
  if (!isPlainObject(args)) return { ok: false, language: null, code: null, problem: "the arguments must be an object: { language, code }" };
  const language = Object.hasOwn(args, "language") ? args.language : undefined;
  const code = Object.hasOwn(args, "code") ? args.code : undefined;
  const keptLanguage = typeof language === "string" && language.length <= 64 ? language : null;
  const keptCode = typeof code === "string" && code.length <= MAX_CODE_CHARS ? code : null;
  const refuse = (problem: string): Request => ({ ok: false, language: keptLanguage, code: keptCode, problem });
  const extra = Object.keys(args).find((k) => k !== "language" && k !== "code");
  if (extra !== undefined) return refuse(`unknown argument ${shown(extra)}: ${RUN_CODE_TOOL} takes \`language\` and \`code\``);
  const names = languages.map((l) => `"${l}"`).join(", ");
  if (typeof language !== "string") return refuse(`\`language\` must be a string, one of ${names}`);
  if (!(languages as readonly string[]).includes(language)) return refuse(`\`language\` ${shown(language)} is not run here; the languages enabled are ${names}`);
  if (typeof code !== "string") return refuse("`code` must be a string");
  if (code.length > MAX_CODE_CHARS) return refuse(`\`code\` is ${code.length} characters long; at most ${MAX_CODE_CHARS} are run`);
  return { ok: true, language: language as RunCodeLanguage, code };
}

/** Loads the sandbox and warms its pools for the enabled languages. */
export async function startRunCodeTool(enforcer: Enforcer, config: RunCodeConfig): Promise<RunCodeTool> {
  const sandbox: Sandbox = await import("@agent-armor/sandbox");
  const limits = sandbox.limitsOf(config.limits);
  const languages = [...config.languages];
  const js = languages.includes("javascript") ? sandbox.createSandboxPool({ size: config.warm?.javascript ?? 2 }) : null;
  const py = languages.includes("python") ? sandbox.createPythonPool({ size: config.warm?.python ?? 1 }) : null;
  return {
    languages,
    call: (args, ctx, host = {}) => callOnce(sandbox, enforcer, { js, py, limits, languages }, args, ctx, host),
    async close() {
      await Promise.all([js?.close(), py?.close()]);
    },
  };
}

interface Pools {
  js: SandboxPool | null;
  py: PythonPool | null;
  limits: SandboxLimits;
  languages: readonly RunCodeLanguage[];
}

async function callOnce(sandbox: Sandbox, enforcer: Enforcer, pools: Pools, args: unknown, ctx: ActionContext, host: Readonly<Record<string, HostTool>>): Promise<RunCodeAnswer> {
  const request = readRunCodeRequest(args, pools.languages);
  if (!request.ok) return refused(enforcer, request, ctx);
  // the pools are wrapped for this call, to learn the kind of a sandbox failure (the runtime
  // passes on only its decided message)
  let failure: { kind: string; message: string } | null = null;
  // whether the run was decided and started (the pools' run is the decided action's tool)
  let started = false;
  const start = (): void => {
    started = true;
  };
  const note = (e: unknown): never => {
    if (e instanceof sandbox.SandboxFailure) failure = { kind: e.kind, message: e.message };
    throw e;
  };
  const options = {
    host,
    limits: pools.limits,
    // told of a failure of the decided run only, also one before the pools are reached (code the
    // policy rewrote): the run was decided and started
    onFailure: (e: { kind: string; message: string }) => {
      started = true;
      failure = { kind: e.kind, message: e.message };
    },
    ...(pools.js !== null ? { pool: noting(pools.js, start, note) } : {}),
    ...(pools.py !== null ? { pythonPool: notingPython(pools.py, start, note) } : {}),
  };
  let decided: Decision | null = null;
  let run: RunResult<{ value: unknown; stdout: string }>;
  try {
    run = await sandbox.runCode(enforcer, { language: request.language, code: request.code }, ctx, options);
  } catch (e) {
    decided = (e as { decision?: Decision }).decision ?? null;
    const f = failure as { kind: string; message: string } | null;
    // no interpreter was free before anything was decided: decided and audited as a request that cannot run
    if (!started && decided === null && f !== null) {
      return refused(enforcer, { ok: false, language: request.language, code: request.code, problem: f.message }, ctx);
    }
    // the runtime's ToolFailed carries the message as the policy decided it (a redaction applies)
    const message = e instanceof Error ? e.message : String(e);
    return { status: "failed", decision: decided, failure: { kind: f?.kind ?? "error", message } };
  }
  if (run.decision.decision !== "allow") return { status: "denied", decision: run.decision, problem: null };
  if (run.resultDecision !== undefined && run.resultDecision.decision !== "allow") return { status: "withheld", decision: run.decision, resultDecision: run.resultDecision };
  const result = run.result ?? { value: null, stdout: "" };
  return { status: "ran", decision: run.decision, resultDecision: run.resultDecision ?? null, result };
}

/** A request that cannot run, decided and audited as such; allowed, it fails without running. */
async function refused(enforcer: Enforcer, request: Extract<Request, { ok: false }>, ctx: ActionContext): Promise<RunCodeAnswer> {
  const action = { type: RUN_CODE_TOOL, language: request.language, code: request.code, imports: [], calls: [], urls: [], hosts: [], dynamic: true, error: request.problem };
  try {
    const run = await enforcer.run(action, ctx, () => {
      throw new Error(`the request cannot run: ${request.problem}`);
    });
    // allowed, a tool that throws rejects; so this is a denial, or its error withheld
    if (run.decision.decision === "allow" && run.resultDecision !== undefined) return { status: "withheld", decision: run.decision, resultDecision: run.resultDecision };
    return { status: "denied", decision: run.decision, problem: request.problem };
  } catch (e) {
    const decision = (e as { decision?: Decision }).decision ?? null;
    return { status: "failed", decision, failure: { kind: "invalid_request", message: e instanceof Error ? e.message : String(e) } };
  }
}

function noting(pool: SandboxPool, start: () => void, note: (e: unknown) => never): SandboxPool {
  return {
    run: (code, limits, host) => {
      start();
      return pool.run(code, limits, host).catch(note);
    },
    get workers() {
      return pool.workers;
    },
    close: () => pool.close(),
  };
}

function notingPython(pool: PythonPool, start: () => void, note: (e: unknown) => never): PythonPool {
  const lease = (l: PythonLease): PythonLease => ({
    facts: (code) => l.facts(code),
    run: (code, limits, host) => {
      start();
      return l.run(code, limits, host).catch(note);
    },
    release: () => l.release(),
  });
  return {
    take: (waitMs) => pool.take(waitMs).then(lease, note),
    run: (code, limits, host) => {
      start();
      return pool.run(code, limits, host).catch(note);
    },
    get processes() {
      return pool.processes;
    },
    close: () => pool.close(),
  };
}

/**
 * The upstream's tools the code may call, by name: each call is that tool's own action (`{ type:
 * NAME, ...the first argument }`), decided in the run's session before it reaches the upstream,
 * and its result decided as the tool's result; the guest gets the decided result as JSON.
 */
export function upstreamHostTools(names: readonly string[], call: (name: string, args: Record<string, unknown>) => Promise<unknown>): Record<string, HostTool> {
  const out: Record<string, HostTool> = {};
  for (const name of names) {
    // the upstream's own `run_code` is never a host function: the guest would call it with facts
    // it made up, decided as the sandbox's action (`armor mcp` refuses the name before this)
    if (name === RUN_CODE_TOOL) continue;
    out[name] = {
      type: name,
      run: (action) => {
        const { type: _type, ...args } = action;
        return call(name, args);
      },
    };
  }
  return out;
}

/** What the MCP client reads: the run's `{ value, stdout }`, or a tool error naming why (never a failed run's output). */
export function runCodeCallResult(answer: RunCodeAnswer, texts: { denial(d: Decision): string; withheld(d: StageDecision): string }): CallToolResult {
  const meta = (d: Decision | StageDecision | null) =>
    d === null ? {} : { _meta: { "agent-armor/decision": { id: d.id, ...("stage" in d ? { stage: d.stage } : {}), decision: d.decision, rules: d.rules, errors: d.errors } } };
  const error = (text: string, d: Decision | StageDecision | null): CallToolResult => ({ isError: true, content: [{ type: "text", text }], ...meta(d) });
  switch (answer.status) {
    case "ran": {
      const structured = { value: answer.result.value, stdout: answer.result.stdout };
      return { content: [{ type: "text", text: JSON.stringify(structured) }], structuredContent: structured, ...meta(answer.resultDecision ?? answer.decision) };
    }
    case "denied":
      return error(answer.problem === null ? texts.denial(answer.decision) : `${texts.denial(answer.decision)}\nthe request cannot run: ${answer.problem}`, answer.decision);
    case "withheld":
      return error(texts.withheld(answer.resultDecision), answer.resultDecision);
    case "failed": {
      const id = answer.decision !== null ? ` (decision ${answer.decision.id})` : "";
      return error(`the run failed (${answer.failure.kind}): ${answer.failure.message}${id}`, answer.decision);
    }
  }
}
