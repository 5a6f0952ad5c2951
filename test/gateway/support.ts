/** Shared wiring for the gateway tests: paths, the gateway behind the SDK client, `armor serve` as a child. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const armorBin = join(repoRoot, "packages", "cli", "bin", "armor.js");
export const armorcBin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
export const fixtures = join(repoRoot, "test", "gateway", "fixtures");
export const everything = [join(repoRoot, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"), "stdio"];
export const filesystem = join(repoRoot, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js");
export const inspectorBin = join(repoRoot, "node_modules", "@modelcontextprotocol", "inspector", "cli", "build", "cli.js");

export function assertBuilt(): void {
  if (!existsSync(join(repoRoot, "packages", "cli", "dist", "bundle", "armor.js"))) throw new Error("run `npm run build` first");
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Connected {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  close(): Promise<void>;
}

/** The official SDK client, talking to `armor mcp ARGS` (the gateway spawned as a user runs it). */
export async function connectGateway(args: string[], name = "armor-gateway-test"): Promise<Connected> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [armorBin, "mcp", ...args], cwd: repoRoot, stderr: "pipe" });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name, version: "9.9.9" });
  await client.connect(transport);
  return { client, transport, stderr: () => err, close: () => client.close() };
}

/** The official SDK client talking to an MCP server directly (to compare with the gateway). */
export async function connectDirect(command: string, args: string[]): Promise<Client> {
  const transport = new StdioClientTransport({ command, args, cwd: repoRoot, stderr: "ignore" });
  const client = new Client({ name: "direct", version: "1" });
  await client.connect(transport);
  return client;
}

export interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `armor serve ARGS --port 0`, waiting for the address it logs. */
export async function startServe(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [armorBin, "serve", "--port", "0", ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`armor serve did not start:\n${err}`)), 20_000);
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/[^\s"]+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => reject(new Error(`armor serve exited (${code}):\n${err}`)));
  });
  return {
    child,
    url,
    stderr: () => err,
    exited,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A JSON request to a running service with a bearer token; its status and JSON answer. */
export async function callWithToken(svc: Served, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${svc.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = "a condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
}
