/**
 * `armorc schema from-mcp [-o FILE] [--url URL] [-- UPSTREAM_CMD ARGS...]`: an action schema
 * (JSON Schema draft 2020-12) from an MCP server's tool list, one action type per tool, so that
 * the checker, completion and hover know every tool's arguments.
 *
 * The MCP client lives in @agent-armor/gateway, imported only when the command runs (a chunk of
 * the bundle), so that the other commands never load it.
 */
import { writeFileSync } from "node:fs";
import { UsageError } from "../io.js";
import type { Command } from "./main.js";

type UpstreamSpec = { command: string; args: string[] } | { url: string };

export const runSchema: Command = {
  name: "schema",
  summary: "generate an action schema from an MCP server's tools",
  usage: "armorc schema from-mcp [-o FILE] (--url URL | -- UPSTREAM_CMD ARGS...)",
  help: [
    "Starts the MCP server (a command over stdio, or --url for a streamable HTTP server), lists its",
    "tools and writes a JSON Schema (draft 2020-12) with one action type per tool: `type` is the",
    "tool name, the other fields are the tool's arguments (its inputSchema properties). Name it in a",
    'policy with `schema "FILE"` to check rules against the tools.',
    "",
    "Options:",
    "  -o, --output FILE  write the schema to FILE (default: stdout)",
    "  --url URL          a streamable HTTP MCP server instead of a command",
    "  --verbose          show the server's stderr",
    "",
    "Exit code 0 on success, 1 when the server cannot be reached or listed, 2 on usage errors.",
  ].join("\n"),
  options: {
    output: { type: "string", short: "o" },
    url: { type: "string" },
    verbose: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const [sub, ...command] = positionals;
    if (sub !== "from-mcp") throw new UsageError(sub === undefined ? "name a subcommand: from-mcp" : `unknown subcommand \`${sub}\`; the only one is \`from-mcp\``);
    const url = values.url as string | undefined;
    if (url !== undefined && command.length > 0) throw new UsageError("give either --url or a server command after `--`, not both");
    if (url === undefined && command.length === 0) throw new UsageError("name the MCP server: -- COMMAND ARGS... or --url URL");
    const spec: UpstreamSpec = url !== undefined ? { url } : { command: command[0]!, args: command.slice(1) };
    const { schemaFromMcp } = await import("@agent-armor/gateway/schema");
    let schema: Record<string, unknown>;
    try {
      schema = await schemaFromMcp(spec, { stderr: values.verbose === true ? "inherit" : "ignore" });
    } catch (e) {
      const what = "url" in spec ? spec.url : [spec.command, ...spec.args].join(" ");
      io.stderr.write(`armorc schema: cannot list the tools of \`${what}\`: ${(e as Error).message}\n`);
      return 1;
    }
    const text = `${JSON.stringify(schema, null, 2)}\n`;
    const output = values.output as string | undefined;
    const count = Array.isArray(schema.oneOf) ? schema.oneOf.length : 0;
    if (output === undefined) io.stdout.write(text);
    else {
      try {
        writeFileSync(output, text);
      } catch (e) {
        io.stderr.write(`armorc schema: cannot write \`${output}\`: ${(e as Error).message}\n`);
        return 2;
      }
    }
    io.stderr.write(`armorc schema: ${count} ${count === 1 ? "tool" : "tools"}${output !== undefined ? ` written to ${output}` : ""}\n`);
    return 0;
  },
};
