/**
 * Heap tuning for the server process. A re-check allocates many short-lived objects (tokens,
 * CST, AST, IR); with V8's default young generation (16 MiB semi-spaces) a 5,000-line policy
 * spends a large share of each re-check in scavenges. A larger young generation lets a whole
 * re-check's garbage die young in few collections (see bench/results/lsp.md).
 */
import { setFlagsFromString } from "node:v8";

export const SEMI_SPACE_MIB = 64;

export function tuneHeap(): void {
  if (process.execArgv.some((a) => a.startsWith("--max-semi-space-size"))) return;
  setFlagsFromString(`--max-semi-space-size=${SEMI_SPACE_MIB}`);
}
