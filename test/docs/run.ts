/**
 * Runs the blocks of the docs: policies through the compiler's API (in-process), commands and
 * scripts as child processes in a workspace per Markdown file, shown output compared with
 * placeholders. See test/docs.test.ts for the conventions.
 */
import { spawn } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { type CompilerHost, compileSource, evaluatePolicy, nodeHost } from "@agent-armor/compiler";
import type { Block } from "./markdown.js";

export const repoRoot = resolve(new URL("../..", import.meta.url).pathname);

// ---- workspaces -------------------------------------------------------------------------------

/**
 * A throw-away copy of the repository for one Markdown file: `examples` is copied (commands write
 * into it), everything else a command reads is a symlink. `npx` is a shim that runs the
 * workspace's own bin, as `npx NAME` does from the repository root, without npx's start-up cost.
 */
export class Workspace {
  readonly dir: string;
  private readonly shims: string;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "armor-docs-"));
    for (const entry of ["node_modules", "packages", "package.json", "docs", "test", "bench", "grammar", "README.md"]) {
      symlinkSync(join(repoRoot, entry), join(this.dir, entry));
    }
    cpSync(join(repoRoot, "examples"), join(this.dir, "examples"), { recursive: true, filter: (p) => !p.includes("__pycache__") });
    this.shims = join(this.dir, ".shims");
    mkdirSync(this.shims);
    const npx = join(this.shims, "npx");
    writeFileSync(npx, `#!/bin/sh\nexec "${join(repoRoot, "node_modules", ".bin")}/$@"\n`);
    chmodSync(npx, 0o755);
  }
  env(): NodeJS.ProcessEnv {
    return { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", PATH: `${this.shims}:${join(repoRoot, "node_modules", ".bin")}:${process.env.PATH}` };
  }
  addFiles(fixture: string): void {
    cpSync(join(repoRoot, "test", "docs", "fixtures", fixture), this.dir, { recursive: true });
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CommandResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a child to its end (asynchronously, so the documents' tests run side by side). */
function run(file: string, args: readonly string[], ws: Workspace, input = ""): Promise<CommandResult> {
  return new Promise((ok, fail) => {
    const child = spawn(file, args, { cwd: ws.dir, env: ws.env(), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      ok({ status: code ?? -1, stdout, stderr });
    });
    // a command that does not read its input may exit before the input is written: the write
    // fails with EPIPE, and what the command printed and its status are still the result
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

export function runCommand(ws: Workspace, command: string, input = ""): Promise<CommandResult> {
  return run("sh", ["-c", command], ws, input);
}

/** The commands of an `sh` block: one per line, without comments and blank lines. */
export function commandsOf(content: string): string[] {
  return content
    .split("\n")
    .map((l) => l.replace(/(^|\s)#\s.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

// ---- servers ------------------------------------------------------------------------------------

/** Reads a child's stderr until `pattern` shows up (or the time runs out). */
function waitFor(child: ReturnType<typeof spawn>, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error(`no ${pattern} within ${ms} ms; stderr: ${seen}`)), ms);
    child.stderr!.on("data", (d: Buffer) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        ok(m);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`exited with ${code} before ${pattern}; stderr: ${seen}`));
    });
  });
}

function exited(child: ReturnType<typeof spawn>, ms: number): Promise<number | null> {
  return new Promise((ok, fail) => {
    if (child.exitCode !== null) return ok(child.exitCode);
    const timer = setTimeout(() => fail(new Error(`did not exit within ${ms} ms`)), ms);
    child.on("exit", (code) => {
      clearTimeout(timer);
      ok(code);
    });
  });
}

/**
 * `armor serve`: started on a free port (the documented port is replaced with 0, since tests run
 * side by side), then `GET /healthz` and `POST /v1/decide`, then SIGTERM: it must exit 0.
 */
export async function exerciseServe(ws: Workspace, command: string): Promise<void> {
  const child = spawn("sh", ["-c", `exec ${command.replace(/--port\s+\d+/, "").trim()} --port 0`], { cwd: ws.dir, env: ws.env(), stdio: ["ignore", "pipe", "pipe"] });
  try {
    const [, url] = await waitFor(child, /listening on (http:\/\/\S+)/, 30_000);
    const health = await fetch(`${url}/healthz`);
    if (health.status !== 200) throw new Error(`GET /healthz answered ${health.status}`);
    const res = await fetch(`${url}/v1/decide`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: { type: "get_balance" }, user: { role: "treasury" } }),
    });
    const body = (await res.json()) as { decision?: unknown };
    if (res.status !== 200 || typeof body.decision !== "string") throw new Error(`POST /v1/decide answered ${res.status} ${JSON.stringify(body)}`);
  } finally {
    child.kill("SIGTERM");
  }
  const code = await exited(child, 15_000);
  if (code !== 0) throw new Error(`\`${command}\` exited with ${code} after SIGTERM`);
}

/**
 * `armor mcp`: started as an MCP client starts it, over stdio; `initialize`, `tools/list` and
 * one `tools/call` (so the audit log gets a record); closing stdin must end it with exit 0.
 */
export async function exerciseMcp(ws: Workspace, command: string): Promise<void> {
  const child = spawn("sh", ["-c", `exec ${command}`], { cwd: ws.dir, env: ws.env(), stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  const answers = new Map<number, Record<string, unknown>>();
  const waiters = new Map<number, (v: Record<string, unknown>) => void>();
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (let nl = out.indexOf("\n"); nl >= 0; nl = out.indexOf("\n")) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        const msg = JSON.parse(line) as { id?: number };
        if (typeof msg.id === "number") {
          answers.set(msg.id, msg as Record<string, unknown>);
          waiters.get(msg.id)?.(msg as Record<string, unknown>);
        }
      } catch {
        /* not a message */
      }
    }
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const call = (id: number, method: string, params: unknown): Promise<Record<string, unknown>> =>
    new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no answer to ${method} within 30 s; stderr: ${stderr}`)), 30_000);
      waiters.set(id, (v) => {
        clearTimeout(timer);
        ok(v);
      });
      child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    });
  try {
    const init = await call(1, "initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "docs-test", version: "1" } });
    if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init)}`);
    child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
    const list = await call(2, "tools/list", {});
    const tools = (list.result as { tools?: { name: string }[] } | undefined)?.tools ?? [];
    if (tools.length === 0) throw new Error(`tools/list returned no tools: ${JSON.stringify(list)}`);
    const called = await call(3, "tools/call", { name: tools[0]!.name, arguments: {} });
    if (!called.result) throw new Error(`tools/call failed: ${JSON.stringify(called)}`);
  } finally {
    child.stdin!.end();
  }
  const code = await exited(child, 15_000).catch((e) => {
    child.kill("SIGTERM");
    throw e;
  });
  if (code !== 0) throw new Error(`\`${command}\` exited with ${code} when its client closed stdin; stderr: ${stderr}`);
}

// ---- policies -------------------------------------------------------------------------------

export interface PolicyCheck {
  /** Codes of the errors and warnings, in order. */
  readonly codes: string[];
  /** `CODE severity` of the errors and warnings. */
  readonly withSeverity: string[];
  /** Every diagnostic, rendered short, for failure messages. */
  readonly summary: string;
  readonly decide: (input: unknown, stage?: "call" | "result" | "output") => { decision: string; rules: { id: string; effect: string }[] };
}

/**
 * Compiles a block as `DIR/policy.armor`, where DIR holds `files` (name → text, e.g. the
 * schema the document shows).
 */
export function checkPolicy(text: string, files: ReadonlyMap<string, string>, fileName = "policy.armor"): PolicyCheck {
  const dir = "/docs-example";
  // the document's saved files, and the packs that ship with the compiler (`import "armor:NAME"`)
  const host: CompilerHost = {
    ...nodeHost,
    readFile: (p) => (dirname(p) === dir ? files.get(basename(p)) : nodeHost.packFile !== undefined && p === nodeHost.packFile(basename(p, ".armor")) ? nodeHost.readFile(p) : undefined),
  };
  const c = compileSource(join(dir, fileName), text, host);
  const shown = c.diagnostics.filter((d) => d.severity === "error" || d.severity === "warning");
  const withSeverity = shown.map((d) => `${d.code} ${d.severity}`);
  const summary = c.diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message}`).join("\n") || "(no diagnostics)";
  return {
    codes: shown.map((d) => d.code),
    withSeverity,
    summary,
    decide: (input, stage = "call") => {
      const time = (input as { time?: unknown }).time;
      const now = typeof time === "string" ? Date.parse(time) : Date.UTC(2026, 0, 5, 12);
      return evaluatePolicy(c.policy, input, { now: () => now, stage }).result as unknown as { decision: string; rules: { id: string; effect: string }[] };
    },
  };
}

// ---- output -----------------------------------------------------------------------------------

/**
 * Placeholders in shown output: `<time>` an ISO-8601 time, `<id>` a decision or session id,
 * `<hash>` hex digits, `<duration>` a number with a unit (`12 ms`, `1.5s`), `<path>` a path,
 * `<n>` a number; a line holding only `...` stands for any number of lines.
 */
const PLACEHOLDERS: Record<string, string> = {
  "<time>": "\\d{4}-\\d\\d-\\d\\dT[0-9:.]+(?:Z|[+-]\\d\\d:\\d\\d)",
  "<id>": "[A-Za-z0-9_.:-]+",
  "<hash>": "[0-9a-f]+",
  "<duration>": "\\d+(?:\\.\\d+)?\\s?(?:ms|s|m|h)",
  "<path>": "\\S+",
  "<n>": "\\d+",
};

export function outputPattern(shown: string): RegExp {
  const lines = shown.replace(/\n$/, "").split("\n");
  const parts = lines.map((line) => {
    if (line.trim() === "...") return "(?:[^\\n]*\\n)*?";
    let re = "";
    for (const piece of line.split(/(<time>|<id>|<hash>|<duration>|<path>|<n>)/)) {
      re += PLACEHOLDERS[piece] ?? piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }
    return `${re}[ \\t]*\\n`;
  });
  return new RegExp(`^${parts.join("")}$`);
}

/** Compares shown output with what was printed; JSON is compared as data. */
export function compareOutput(block: Block, printed: string): string | null {
  if (block.lang === "json") {
    let shown: unknown;
    let actual: unknown;
    try {
      shown = JSON.parse(block.content);
      actual = JSON.parse(printed);
    } catch (e) {
      return `not JSON: ${(e as Error).message}\nprinted:\n${printed}`;
    }
    return isDeepStrictEqual(shown, actual) ? null : `printed JSON differs:\n${JSON.stringify(actual, null, 2)}`;
  }
  const text = `${printed.replace(/\s+$/, "")}\n`; // trailing blank lines are not shown
  return outputPattern(block.content).test(text) ? null : `printed:\n${printed}`;
}

// ---- scripts ----------------------------------------------------------------------------------

/**
 * A `js` block as an ES module: a line `// => VALUE` after a statement `const x = EXPR;` or `EXPR;`
 * (starting at column 0, possibly over several lines) checks
 * that the value has every field VALUE shows (objects match by the fields shown, lists element
 * by element and in full length).
 */
export function instrumentJs(content: string): string {
  const lines = content.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  for (const line of lines) {
    const m = line.match(/^\s*\/\/\s*=>\s*(.+)$/);
    if (!m) {
      out.push(line);
      continue;
    }
    // the statement before the comment: from the last line that starts at column 0
    let start = out.length - 1;
    while (start > 0 && (out[start]!.trim() === "" || /^[\s})\]]/.test(out[start]!))) start--;
    const statement = out.slice(start).join("\n");
    const decl = statement.match(/^(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/);
    const subject = decl ? decl[1]! : `(${statement.replace(/;\s*$/, "")})`;
    if (!decl) out.splice(start);
    out.push(`__docsExpect(${subject}, ${m[1]}, ${JSON.stringify(m[1])});`);
  }
  return `${HELPER}\n${out.join("\n")}\n`;
}

/** Comment lines that show a value (an object, a list, a string) without `=>`, so nothing checks them. */
export function uncheckedValues(content: string): string[] {
  return content
    .split("\n")
    .filter((l) => /^\s*\/\/\s*[{["]/.test(l))
    .map((l) => l.trim());
}

const HELPER = `
function __docsMatch(a, e, path) {
  if (e === null || typeof e !== "object") { if (!Object.is(a, e)) throw new Error(path + ": expected " + JSON.stringify(e) + ", got " + JSON.stringify(a)); return; }
  if (Array.isArray(e)) {
    if (!Array.isArray(a) || a.length !== e.length) throw new Error(path + ": expected " + e.length + " elements, got " + JSON.stringify(a));
    e.forEach((x, i) => __docsMatch(a[i], x, path + "[" + i + "]"));
    return;
  }
  if (a === null || typeof a !== "object") throw new Error(path + ": expected an object, got " + JSON.stringify(a));
  for (const k of Object.keys(e)) __docsMatch(a[k], e[k], path + "." + k);
}
function __docsExpect(actual, expected, shown) {
  try { __docsMatch(actual, expected, "value"); }
  catch (e) { throw new Error("// => " + shown + "\\n" + e.message + "\\nactual: " + JSON.stringify(actual)); }
}
`;

export function runJs(ws: Workspace, block: Block): Promise<CommandResult> {
  const file = join(ws.dir, `docs-block-${block.line}.mjs`);
  writeFileSync(file, instrumentJs(block.content));
  return run(process.execPath, [file], ws);
}

export function runPython(ws: Workspace, block: Block): Promise<CommandResult> {
  const file = join(ws.dir, `docs-block-${block.line}.py`);
  writeFileSync(file, block.content);
  return run("python3", [file], ws);
}
