/**
 * `armorc check FILE...`: report diagnostics; exit 1 on errors (or warnings with --deny-warnings).
 * A `NAME.test.armor` file is checked as the tests of `NAME.armor`, which is checked with it.
 */
import { existsSync } from "node:fs";
import { type Compilation, compileSource, compileTests, type Diagnostic } from "@agent-armor/compiler";
import { policyOf, testWithoutPolicy } from "@agent-armor/compiler/testing";
import { type DiagnosticFormat, printDiagnostics, readSource, sourcesOf, UsageError } from "../io.js";
import type { Command } from "./main.js";

function diagnosticFormat(value: unknown): DiagnosticFormat {
  const f = (value as string | undefined) ?? "text";
  if (f !== "text" && f !== "json" && f !== "sarif") throw new UsageError(`--format must be text, json or sarif, not \`${f}\``);
  return f;
}

export const runCheck: Command = {
  name: "check",
  summary: "check policies for errors and warnings",
  usage: "armorc check FILE... [--format text|json|sarif] [--deny-warnings] [--exact [--timeout MS]]",
  help: [
    "Options:",
    "  --format F         text (default), json, or sarif for code scanning in CI",
    "  --deny-warnings    exit 1 when there are warnings, not only errors",
    "  --exact            ask the Z3 solver, for every call rule of a policy without errors,",
    "                     whether it can fire (A401) and whether it can change the decision",
    "                     (A402): proofs the fast check misses are added, and a fast warning",
    "                     the solver refutes becomes an info with the input that refutes it",
    "  --timeout MS       each of --exact's solver questions' limit (default 5000)",
    "",
    "Exit code 0 when clean, 1 when any file has errors (or warnings with --deny-warnings),",
    "2 when a file cannot be read.",
  ].join("\n"),
  options: { format: { type: "string" }, "deny-warnings": { type: "boolean" }, exact: { type: "boolean" }, timeout: { type: "string" } },
  async run({ values, positionals }, io) {
    const format = diagnosticFormat(values.format);
    if (positionals.length === 0) throw new UsageError("name at least one policy file");
    const all: Diagnostic[] = [];
    const texts = new Map<string, string>();
    // each policy is compiled and reported once, also when its test file is named too
    const policies = new Map<string, Compilation | null>();
    const policy = (file: string): Compilation | null => {
      if (!policies.has(file)) {
        const read = readSource(file);
        if (read.ok) texts.set(file, read.text);
        else all.push(read.diagnostic);
        const compilation = read.ok ? compileSource(file, read.text) : null;
        if (compilation) all.push(...compilation.diagnostics);
        // diagnostics of imported files are shown with their own text
        for (const f of compilation?.files ?? []) texts.set(f.path, f.source.text);
        policies.set(file, compilation);
      }
      return policies.get(file)!;
    };
    let unreadable = false;
    for (const file of positionals) {
      if (!file.endsWith(".test.armor")) {
        if (policy(file) === null) unreadable = true;
        continue;
      }
      // a NAME.test.armor file is the test suite of NAME.armor, read as `armorc test` reads it
      const read = readSource(file);
      if (!read.ok) {
        all.push(read.diagnostic);
        unreadable = true;
        continue;
      }
      texts.set(file, read.text);
      const policyFile = policyOf(file);
      if (!existsSync(policyFile)) {
        all.push(testWithoutPolicy(file));
        continue;
      }
      // a policy that is there but cannot be read (a folder, no permission) is its own A501
      const tested = policy(policyFile);
      if (tested === null) unreadable = true;
      else all.push(...compileTests(file, read.text, tested).diagnostics);
    }
    if (values.timeout !== undefined && values.exact !== true) throw new UsageError("--timeout is an option of --exact");
    if (values.exact === true) {
      const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
      if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000)) throw new UsageError("--timeout takes a whole number of milliseconds from 1 to 3600000");
      // the solver (Z3 in WebAssembly) loads only for --exact
      const { analyseRules, exactRuleDiagnostics } = await import("@agent-armor/analysis");
      for (const c of policies.values()) {
        if (c === null || !c.ok) continue;
        const exact = exactRuleDiagnostics(c, await analyseRules(c, timeoutMs !== undefined ? { timeoutMs } : {}));
        const own = new Set<Diagnostic>(c.diagnostics);
        const at = all.findIndex((d) => own.has(d));
        const kept = all.filter((d) => !own.has(d));
        kept.splice(at < 0 ? kept.length : at, 0, ...exact);
        all.splice(0, all.length, ...kept);
      }
    }
    const out = format === "text" ? io.stderr : io.stdout;
    printDiagnostics(io, out, all, sourcesOf(texts), format);
    if (unreadable) return 2;
    const failing = all.some((d) => d.severity === "error" || (values["deny-warnings"] === true && d.severity === "warning"));
    if (!failing && format === "text") io.stderr.write(`checked ${positionals.length} file${positionals.length === 1 ? "" : "s"}: no errors\n`);
    return failing ? 1 : 0;
  },
};
