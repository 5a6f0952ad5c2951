/** `armorc check FILE...`: report diagnostics; exit 1 on errors (or warnings with --deny-warnings). */
import { compileSource } from "../compile.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { Command } from "./main.js";
import { type DiagnosticFormat, printDiagnostics, readSource, sourcesOf, UsageError } from "./io.js";

export function diagnosticFormat(value: unknown): DiagnosticFormat {
  const f = (value as string | undefined) ?? "text";
  if (f !== "text" && f !== "json" && f !== "sarif") throw new UsageError(`--format must be text, json or sarif, not \`${f}\``);
  return f;
}

export const runCheck: Command = {
  name: "check",
  summary: "check policies for errors and warnings",
  usage: "armorc check FILE... [--format text|json|sarif] [--deny-warnings]",
  help: [
    "Options:",
    "  --format F         text (default), json, or sarif for code scanning in CI",
    "  --deny-warnings    exit 1 when there are warnings, not only errors",
    "",
    "Exit code 0 when clean, 1 when any file has errors (or warnings with --deny-warnings),",
    "2 when a file cannot be read.",
  ].join("\n"),
  options: { format: { type: "string" }, "deny-warnings": { type: "boolean" } },
  async run({ values, positionals }, io) {
    const format = diagnosticFormat(values["format"]);
    if (positionals.length === 0) throw new UsageError("name at least one policy file");
    const all: Diagnostic[] = [];
    const texts: [string, string][] = [];
    let unreadable = false;
    for (const file of positionals) {
      const read = readSource(file);
      if (!read.ok) {
        all.push(read.diagnostic);
        unreadable = true;
        continue;
      }
      texts.push([file, read.text]);
      for (const d of compileSource(file, read.text).diagnostics) all.push(d);
    }
    const out = format === "text" ? io.stderr : io.stdout;
    printDiagnostics(io, out, all, sourcesOf(texts), format);
    if (unreadable) return 2;
    const failing = all.some((d) => d.severity === "error" || (values["deny-warnings"] === true && d.severity === "warning"));
    if (!failing && format === "text") io.stderr.write(`checked ${positionals.length} file${positionals.length === 1 ? "" : "s"}: no errors\n`);
    return failing ? 1 : 0;
  },
};
