/** `armorc fmt FILE... [--check | --write]`: print, check or rewrite the canonical layout. */
import { writeFileSync } from "node:fs";
import { formatSource } from "@agent-armor/compiler";
import { printDiagnostics, readSource, sourcesOf, UsageError } from "../io.js";
import type { Command } from "./main.js";

export const runFmt: Command = {
  name: "fmt",
  summary: "format policies in the canonical layout",
  usage: "armorc fmt FILE... [--check | --write]",
  help: [
    "Without options, prints the formatted text of one file to stdout.",
    "",
    "Options:",
    "  --check   print the files that are not formatted; exit 1 if any",
    "  --write   rewrite the files in place",
    "",
    "Files with syntax errors are not formatted; their errors are printed and the exit code is 1.",
  ].join("\n"),
  options: { check: { type: "boolean" }, write: { type: "boolean" } },
  async run({ values, positionals }, io) {
    const check = values.check === true;
    const write = values.write === true;
    if (check && write) throw new UsageError("use either --check or --write, not both");
    if (positionals.length === 0) throw new UsageError("name at least one policy file");
    if (!check && !write && positionals.length > 1) throw new UsageError("printing to stdout takes one file; use --write or --check for several");
    let status = 0;
    for (const file of positionals) {
      const read = readSource(file);
      if (!read.ok) {
        printDiagnostics(io, io.stderr, [read.diagnostic], new Map(), "text");
        status = 2;
        continue;
      }
      const result = formatSource(file, read.text);
      if (!result.ok) {
        printDiagnostics(io, io.stderr, result.diagnostics, sourcesOf([[file, read.text]]), "text");
        status = Math.max(status, 1);
        continue;
      }
      if (check) {
        if (result.text !== read.text) {
          io.stdout.write(`${file}\n`);
          status = Math.max(status, 1);
        }
      } else if (write) {
        if (result.text !== read.text) writeFileSync(file, result.text);
      } else io.stdout.write(result.text);
    }
    if (check && status === 1) io.stderr.write("the files above are not formatted; run `armorc fmt --write` on them\n");
    return status;
  },
};
