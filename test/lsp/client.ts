/**
 * A test client for the real language server: spawns `node packages/lsp/bin/armor-lsp.js --stdio`
 * and speaks JSON-RPC with vscode-jsonrpc over its stdin and stdout.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createMessageConnection, type MessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node.js";
import { repoRoot } from "../support/baseline.js";

export interface PublishedDiagnostics {
  uri: string;
  version?: number;
  diagnostics: LspDiagnostic[];
}
export interface LspPosition {
  line: number;
  character: number;
}
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}
export interface LspDiagnostic {
  range: LspRange;
  severity?: number;
  code?: string | number;
  codeDescription?: { href: string };
  message: string;
  data?: unknown;
}

export class TestClient {
  readonly published = new Map<string, PublishedDiagnostics>();
  private readonly waiters: { uri: string; accept: (p: PublishedDiagnostics) => boolean; resolve: (p: PublishedDiagnostics) => void }[] = [];
  private versions = new Map<string, number>();
  refreshes = 0;
  capabilities: Record<string, unknown> = {};

  private constructor(
    readonly process: ChildProcess,
    readonly connection: MessageConnection,
  ) {}

  /** `folders`: the workspace folders the client opens (paths), for workspace symbols. */
  static async start(initializationOptions: unknown = {}, folders: readonly string[] = []): Promise<TestClient> {
    const child = spawn(process.execPath, [join(repoRoot, "packages/lsp/bin/armor-lsp.js"), "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const client = new TestClient(child, connection);
    connection.onNotification("textDocument/publishDiagnostics", (p: PublishedDiagnostics) => {
      client.published.set(p.uri, p);
      for (const w of [...client.waiters]) {
        if (w.uri === p.uri && w.accept(p)) {
          client.waiters.splice(client.waiters.indexOf(w), 1);
          w.resolve(p);
        }
      }
    });
    connection.onRequest("workspace/codeLens/refresh", () => {
      client.refreshes++;
      return null;
    });
    connection.listen();
    const init = await connection.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", {
      processId: process.pid,
      rootUri: null,
      ...(folders.length > 0 ? { workspaceFolders: folders.map((f) => ({ uri: pathToFileURL(f).href, name: f })) } : {}),
      capabilities: { workspace: { codeLens: { refreshSupport: true } }, textDocument: { rename: { prepareSupport: true } } },
      initializationOptions,
    });
    client.capabilities = init.capabilities;
    await connection.sendNotification("initialized", {});
    return client;
  }

  /** Waits for the diagnostics of a document (of a version, when given). */
  diagnosticsOf(uri: string, version?: number): Promise<PublishedDiagnostics> {
    return this.diagnosticsWhere(uri, (p) => version === undefined || p.version === version);
  }

  /** Waits until the diagnostics of a document satisfy a condition. */
  diagnosticsWhere(uri: string, accept: (p: PublishedDiagnostics) => boolean): Promise<PublishedDiagnostics> {
    const have = this.published.get(uri);
    if (have && accept(have)) return Promise.resolve(have);
    return new Promise((resolve) => this.waiters.push({ uri, accept, resolve }));
  }

  /** Waits for the next diagnostics of a document, discarding what was published before. */
  nextDiagnostics(uri: string, version: number): Promise<PublishedDiagnostics> {
    this.published.delete(uri);
    return this.diagnosticsOf(uri, version);
  }

  async open(path: string, text: string): Promise<string> {
    const uri = pathToFileURL(path).href;
    this.versions.set(uri, 1);
    this.published.delete(uri);
    await this.connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "armor", version: 1, text } });
    return uri;
  }

  async replace(uri: string, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges: [{ text }] });
    return version;
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification("textDocument/didClose", { textDocument: { uri } });
  }

  request<T>(method: string, params: unknown): Promise<T> {
    return this.connection.sendRequest(method, params) as Promise<T>;
  }

  async stop(): Promise<void> {
    try {
      await this.connection.sendRequest("shutdown");
      await this.connection.sendNotification("exit");
    } catch {
      // the server may already be gone
    }
    this.connection.dispose();
    this.process.kill();
  }
}

/** Removes the cursor marker `$0` and returns the text and the marker's position. */
export function cursor(text: string): { text: string; position: LspPosition | null } {
  const at = text.indexOf("$0");
  if (at === -1) return { text, position: null };
  const before = text.slice(0, at);
  const lines = before.split("\n");
  return { text: text.slice(0, at) + text.slice(at + 2), position: { line: lines.length - 1, character: lines[lines.length - 1]!.length } };
}
