/**
 * The language server as the VS Code extension ships it (packages/vscode-extension/dist/server.js,
 * one esbuild bundle with the compiler and its dependencies) starts and publishes diagnostics.
 * A dependency that esbuild bundles wrongly fails here at load, without a code-server.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { repoRoot } from "../support/baseline.js";

const bundle = join(repoRoot, "packages", "vscode-extension", "dist", "server.js");

function frame(message: unknown): string {
  const text = JSON.stringify(message);
  return `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

it("the bundled server publishes the diagnostics of an opened policy", async () => {
  expect(existsSync(bundle), "run `npm run build` first").toBe(true);
  const server = spawn(process.execPath, [bundle, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  server.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const published = new Promise<string>((resolve, reject) => {
    server.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('"textDocument/publishDiagnostics"')) resolve(stdout);
    });
    server.on("exit", (code) => reject(new Error(`the server exited with ${code}: ${stderr}`)));
  });
  server.stdin.write(frame({ jsonrpc: "2.0", id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } }));
  server.stdin.write(frame({ jsonrpc: "2.0", method: "initialized", params: {} }));
  server.stdin.write(
    frame({ jsonrpc: "2.0", method: "textDocument/didOpen", params: { textDocument: { uri: "file:///tmp/bundled.armor", languageId: "armor", version: 1, text: "default allow\nlet N = 10abc\n" } } }),
  );
  try {
    const text = await published;
    expect(text).toContain('"code":"A105"');
    // the code links to the copy of docs/diagnostics.md shipped beside the bundle (offline)
    const href = /"codeDescription":\{"href":"([^"]+#a105-[^"]+)"\}/.exec(text)?.[1];
    expect(href).toBe(`${pathToFileURL(join(repoRoot, "packages", "vscode-extension", "dist", "docs", "diagnostics.md")).href}#a105-invalid-number`);
    expect(readFileSync(fileURLToPath(href!), "utf8")).toContain("## A105 invalid-number");
  } finally {
    server.kill();
  }
}, 20_000);
