/** `armorc compile FILE... [-o OUT] [--format esm|cjs]`: emit decision modules and their types. */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { compileSource, emit, type ModuleFormat } from "@agent-armor/compiler";
import { printDiagnostics, readSource, UsageError } from "../io.js";
import type { Command } from "./main.js";

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `mkdir -p`, one level at a time. Not `mkdirSync(dir, { recursive: true })`: under a
 * filesystem that refuses new entries with ENOENT (`/proc/sub/x.js`), Node's recursive mkdir
 * retries forever instead of failing.
 */
function makeDirectories(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.push(d);
  for (const d of missing.reverse()) mkdirSync(d);
}

/**
 * Writes each file, creating missing directories first (`-o out/new/x.js` makes `out/new`); on a
 * failure, says which path and the system's reason (`EACCES: permission denied`), else null.
 */
function writeOutputs(files: readonly (readonly [string, string])[]): string | null {
  for (const [path, text] of files) {
    try {
      makeDirectories(dirname(path));
      writeFileSync(path, text);
    } catch (e) {
      // Node's message ends with the call and the path (`, open '/x'`); the path is named once, first
      const reason = (e as Error).message.replace(/, \w+ '.*'$/s, "");
      return `cannot write \`${path}\`: ${reason}`;
    }
  }
  return null;
}

export const runCompile: Command = {
  name: "compile",
  summary: "compile policies to JavaScript decision modules",
  usage: "armorc compile FILE... [-o OUT] [--format esm|cjs]",
  help: [
    "Writes, for each FILE, a module exporting decide(input), policy (metadata) and trackers,",
    "and a .d.ts beside it. Warnings are printed; errors stop the file from compiling.",
    "",
    "Options:",
    "  -o, --out OUT     output file (one input) or directory (several inputs, or OUT ends in /);",
    "                    default: beside each policy",
    "  --format F        esm (default, .js / .d.ts) or cjs (.cjs / .d.cts)",
  ].join("\n"),
  options: { out: { type: "string", short: "o" }, format: { type: "string" } },
  async run({ values, positionals }, io) {
    const format = ((values.format as string | undefined) ?? "esm") as ModuleFormat;
    if (format !== "esm" && format !== "cjs") throw new UsageError(`--format must be esm or cjs, not \`${String(format)}\``);
    if (positionals.length === 0) throw new UsageError("name at least one policy file");
    const out = values.out as string | undefined;
    const outIsDir = out !== undefined && (positionals.length > 1 || out.endsWith("/") || isDirectory(out));
    const ext = format === "esm" ? ".js" : ".cjs";
    let status = 0;
    for (const file of positionals) {
      const read = readSource(file);
      if (!read.ok) {
        printDiagnostics(io, io.stderr, [read.diagnostic], new Map(), "text");
        status = 2;
        continue;
      }
      const compilation = compileSource(file, read.text);
      printDiagnostics(io, io.stderr, compilation.diagnostics, compilation.sources, "text");
      if (!compilation.ok) {
        status = Math.max(status, 1);
        continue;
      }
      const { js, dts } = emit(compilation, { format });
      const stem = basename(file).replace(/\.armor$/, "");
      const target = out === undefined ? join(dirname(file), stem + ext) : outIsDir ? join(out, stem + ext) : out;
      const dtsTarget = target.replace(/\.(c?js|mjs)$/, "") + (format === "esm" ? ".d.ts" : ".d.cts");
      const failed = writeOutputs([
        [target, js],
        [dtsTarget, dts],
      ]);
      if (failed !== null) {
        io.stderr.write(`armorc compile: ${failed}\n`);
        status = 2;
        continue;
      }
      io.stderr.write(`compiled ${file} -> ${target} (${compilation.policy.rules.length} rules)\n`);
    }
    return status;
  },
};
