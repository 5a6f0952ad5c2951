/** `armor-lsp --stdio`: the language server over standard input and output. */
import { createConnection, StreamMessageReader, StreamMessageWriter } from "vscode-languageserver/node.js";
import { tuneHeap } from "./heap.js";
import { startServer } from "./server.js";

const usage = "usage: armor-lsp --stdio\n\nThe Agent Armor language server, speaking LSP over standard input and output.\n";

export function main(args: readonly string[]): void {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(usage);
    return;
  }
  if (args.includes("--version")) {
    process.stdout.write("armor-lsp 0.1.0\n");
    return;
  }
  if (!args.includes("--stdio")) {
    process.stderr.write(usage);
    process.exitCode = 2;
    return;
  }
  tuneHeap();
  const connection = createConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  startServer(connection);
}
