/**
 * `armorc diff OLD.armor NEW.armor`: what a policy change does to calls, proved by Z3 or shown by
 * counterexample inputs (@agent-armor/analysis, loaded only by this command, so that Z3's
 * WebAssembly never loads for the others).
 */
import { resolve } from "node:path";
import { type ActionSchema, type Compilation, compileSource, nodeHost } from "@agent-armor/compiler";
import { printDiagnostics, readSource, UsageError } from "../io.js";
import type { Command } from "./main.js";

const FORMATS = ["text", "json", "markdown"] as const;
/** The largest `--timeout`: a solver question never runs past ten minutes. */
const MAX_TIMEOUT_MS = 600_000;

export const runDiff: Command = {
  name: "diff",
  summary: "show how two versions of a policy decide calls differently, with example inputs",
  usage: "armorc diff OLD.armor NEW.armor [--format text|json|markdown] [--timeout MS] [--schema S.json]",
  help: [
    "For each kind of change (allow -> deny, deny -> allow, allow -> require_approval, ...,",
    "redaction added or removed), either a proof that no call changes that way, or an example",
    "input that does, with the rules responsible on each side. Every example is decided again",
    "by the interpreter and the compiled module of both versions before it is printed.",
    "",
    "Options:",
    "  --format FORMAT   text (default), json, or markdown (for a pull-request comment)",
    "  --timeout MS      the solver's limit for each kind of change, in milliseconds",
    "                    (default 10000); past it, a bounded random search looks instead",
    "  --schema S.json   compare only actions valid under this action schema (the format",
    "                    of a policy's `schema`): an action it rules out is no example",
    "",
    "Exit codes: 0 no change (proved), 1 changes found, 2 errors, or a change that could be",
    "neither ruled out nor shown.",
  ].join("\n"),
  options: { format: { type: "string" }, timeout: { type: "string" }, schema: { type: "string" } },
  async run({ values, positionals }, io) {
    if (positionals.length !== 2) throw new UsageError("name two policy files: the old version, then the new one");
    const format = (values.format as string | undefined) ?? "text";
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, not \`${format}\``);
    const timeoutText = values.timeout as string | undefined;
    const timeoutMs = timeoutText === undefined ? undefined : Number(timeoutText);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      throw new UsageError(`--timeout must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, not \`${timeoutText}\``);
    }
    // Z3 loads in its own thread while the policies compile here
    const { diffPolicies, preloadSolver, renderDiff } = await import("@agent-armor/analysis");
    preloadSolver();
    const compiled: Compilation[] = [];
    for (const file of positionals) {
      const read = readSource(file);
      if (!read.ok) {
        printDiagnostics(io, io.stderr, [read.diagnostic], new Map(), "text");
        return 2;
      }
      const c = compileSource(file, read.text);
      printDiagnostics(io, io.stderr, c.diagnostics, c.sources, "text");
      if (!c.ok) {
        io.stderr.write(`armorc diff: ${file} has errors; fix them to compare it\n`);
        return 2;
      }
      compiled.push(c);
    }
    let schema: ActionSchema | undefined;
    if (typeof values.schema === "string") {
      const loaded = loadSchema(values.schema);
      if (typeof loaded === "string") {
        io.stderr.write(`armorc diff: --schema: ${loaded}\n`);
        return 2;
      }
      schema = loaded;
    }
    const result = await diffPolicies(compiled[0]!, compiled[1]!, { ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(schema ? { schema } : {}) });
    io.stdout.write(renderDiff(result, format as (typeof FORMATS)[number]));
    return result.status === "unchanged" ? 0 : result.status === "changed" ? 1 : 2;
  },
};

/**
 * An action schema read as a policy's `schema "..."` declaration reads it (the compiler's own
 * loader: ajv validation, the table of action types), or the message of what is wrong with it.
 */
function loadSchema(file: string): ActionSchema | string {
  const path = resolve(file);
  const c = compileSource(`${path}.armor`, `schema ${JSON.stringify(path)}\ndefault allow\n`, nodeHost);
  const error = c.diagnostics.find((d) => d.severity === "error");
  if (error !== undefined || c.schema === null) return `${error?.message ?? `cannot read the schema \`${file}\``}${error?.help ? ` (${error.help})` : ""}`;
  // the action types are the schema's union branches; without any, nothing would be compared
  if (c.schema.types.size === 0) return `the schema \`${file}\` names no action types (a union, \`oneOf\` or \`anyOf\`, of objects whose \`type\` is a \`const\` or an \`enum\`)`;
  return c.schema;
}
