/** @agent-armor/sandbox: agent-written code in a WebAssembly sandbox whose every way out is an action the policy decides. */
export { type CodeFacts, hostOf, javaScriptFacts } from "./js-facts.js";
export { createSandboxPool, type JsPool as SandboxPool, type JsPoolOptions as SandboxPoolOptions } from "./js-pool.js";
export { DEFAULT_LIMITS, limitsOf, SandboxFailure, type SandboxFailureKind, type SandboxLimits } from "./limits.js";
export { createPythonPool, type PythonLease, type PythonPool, type PythonPoolOptions } from "./py-pool.js";
export { discardPrepared, engineLoads, type HostFunction, type JsRunOptions, type JsRunResult, type PreparedRun, prepareJavaScript, runJavaScript, warmJavaScript } from "./quickjs-run.js";
export { type HostTool, type RunCodeOptions, type RunCodeRequest, type RunCodeTimings, runCode, runCodeAction, sharedPool, sharedPythonPool } from "./run-code.js";
