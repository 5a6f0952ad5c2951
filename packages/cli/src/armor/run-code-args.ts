/**
 * The `--run-code` options of `armor mcp` and `armor serve`: which languages the built-in
 * `run_code` tool (and `POST /v1/run_code`) runs in the sandbox, and each run's limits.
 */
import type { OptionSpecs } from "../args.js";
import { UsageError } from "../args.js";

export const RUN_CODE_USAGE = "[--run-code js,python] [--run-code-time MS] [--run-code-memory MB] [--run-code-output CHARS] [--run-code-host-calls N]";
export const RUN_CODE_TOOLS_USAGE = "[--run-code-tools NAME,...]";

export const RUN_CODE_HELP = `  --run-code LANGS        run agent-written code in the sandbox (@agent-armor/sandbox): js,
                          python or js,python; the run is the action \`run_code\` with the code's
                          facts, decided before it runs, and its { value, stdout } its result
  --run-code-time MS      wall time of a run, host calls included (default 2000)
  --run-code-memory MB    the guest's heap (default 32)
  --run-code-output CHARS what a run may print, and return as JSON (default 65536)
  --run-code-host-calls N calls of host functions in one run (default 32)
`;

export const RUN_CODE_OPTIONS: OptionSpecs = {
  "run-code": { type: "string" },
  "run-code-time": { type: "string" },
  "run-code-memory": { type: "string" },
  "run-code-output": { type: "string" },
  "run-code-host-calls": { type: "string" },
};

/** mcp only: the upstream's tools the code may call as functions. */
export const RUN_CODE_TOOLS_OPTIONS: OptionSpecs = { "run-code-tools": { type: "string" } };

const LANGUAGES: Readonly<Record<string, "javascript" | "python">> = { js: "javascript", javascript: "javascript", python: "python", py: "python" };
/** A name the code can call as a function in both languages (the sandbox's own rule for host functions). */
const HOST_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface RunCodeArgs {
  languages: ("javascript" | "python")[];
  limits: { timeMs?: number; memoryBytes?: number; outputChars?: number; hostCalls?: number };
  hostTools?: string[];
}

function positive(values: Record<string, unknown>, flag: string, max: number): number | undefined {
  const text = values[flag];
  if (typeof text !== "string") return undefined;
  const n = Number(text);
  if (!/^\d{1,10}$/.test(text) || n < 1 || n > max) throw new UsageError(`--${flag} must be a whole number from 1 to ${max}, not \`${text}\``);
  return n;
}

/** The run-code options of a command's parsed values, or undefined without --run-code (then no other run-code option may be given). */
export function runCodeArgs(values: Record<string, unknown>): RunCodeArgs | undefined {
  const given = Object.keys(values).filter((k) => k.startsWith("run-code-"));
  const spec = values["run-code"];
  if (typeof spec !== "string") {
    if (given.length > 0) throw new UsageError(`--${given[0]} sets a limit of the sandbox: it needs --run-code js,python`);
    return undefined;
  }
  const languages: ("javascript" | "python")[] = [];
  for (const name of spec.split(",")) {
    const language = Object.hasOwn(LANGUAGES, name.trim()) ? LANGUAGES[name.trim()] : undefined;
    if (language === undefined) throw new UsageError(`--run-code takes js, python or js,python, not \`${spec}\``);
    if (!languages.includes(language)) languages.push(language);
  }
  const memory = positive(values, "run-code-memory", 4096);
  const limits: RunCodeArgs["limits"] = {};
  const time = positive(values, "run-code-time", 600_000);
  if (time !== undefined) limits.timeMs = time;
  if (memory !== undefined) limits.memoryBytes = memory * 1024 * 1024;
  const output = positive(values, "run-code-output", 16 * 1024 * 1024);
  if (output !== undefined) limits.outputChars = output;
  const calls = positive(values, "run-code-host-calls", 10_000);
  if (calls !== undefined) limits.hostCalls = calls;
  const tools = values["run-code-tools"];
  if (typeof tools !== "string") return { languages, limits };
  const hostTools = tools.split(",").map((t) => t.trim());
  const bad = hostTools.find((t) => !HOST_NAME.test(t) || t === "console");
  if (bad !== undefined) throw new UsageError(`--run-code-tools names the upstream's tools the code may call as functions; \`${bad}\` is not a name the code can call (letters, digits and _)`);
  // `run_code` is the sandbox's own action: the upstream's tool of that name is never called, and
  // as a host function the guest would call it with facts it made up
  if (hostTools.includes("run_code")) throw new UsageError("--run-code-tools cannot name `run_code`: that is the sandbox's own action, and the upstream's tool of that name is never called");
  return { languages, limits, hostTools };
}

/** Whether `host` is a loopback address (reachable from this machine only). */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * `armor serve --run-code` on an address other machines reach needs `--token-file`: without a
 * token, any client that reaches the port runs code (`POST /v1/run_code`), and on loopback only
 * local processes do.
 */
export function checkRunCodeAccess(runCode: RunCodeArgs | undefined, host: string | undefined, tokenFile: string | undefined): void {
  if (runCode === undefined || tokenFile !== undefined || host === undefined || isLoopback(host)) return;
  throw new UsageError(`--run-code on --host ${host} needs --token-file: without a token, any client that reaches the port could run code (POST /v1/run_code); on loopback only local processes can`);
}
