/**
 * Connecting to the upstream MCP server: a command spawned over stdio, or a streamable HTTP URL.
 * The upstream's stderr is passed through to ours (logs go to stderr only; stdout is the MCP
 * channel to our client).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { VERSION } from "./version.js";

export type UpstreamSpec = { command: string; args?: readonly string[]; env?: Record<string, string>; cwd?: string } | { url: string };

export function describeUpstream(spec: UpstreamSpec): string {
  return "url" in spec ? spec.url : [spec.command, ...(spec.args ?? [])].join(" ");
}

export interface Upstream {
  client: Client;
  transport: Transport;
  close(): Promise<void>;
}

/** Connects (initialize + initialized) to the upstream server. */
export async function connectUpstream(spec: UpstreamSpec, options: { name?: string; stderr?: "inherit" | "pipe" | "ignore" } = {}): Promise<Upstream> {
  let transport: Transport;
  if ("url" in spec) {
    transport = new StreamableHTTPClientTransport(new URL(spec.url));
  } else {
    transport = new StdioClientTransport({
      command: spec.command,
      args: [...(spec.args ?? [])],
      // the SDK passes only a safe subset of the environment by default; a gateway is
      // transparent, so the upstream gets ours
      env: { ...(process.env as Record<string, string>), ...(spec.env ?? {}) },
      ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
      stderr: options.stderr ?? "inherit",
    });
  }
  const client = new Client({ name: options.name ?? "agent-armor-gateway", version: VERSION }, { capabilities: {} });
  await client.connect(transport);
  return {
    client,
    transport,
    async close() {
      try {
        await client.close();
      } catch {
        // already closed
      }
    },
  };
}
