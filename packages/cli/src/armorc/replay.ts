/**
 * `armorc replay AUDIT.jsonl --policy NEW.armor`: the log's chain verified, then every recorded
 * call decided again by a candidate policy with the history it had (the runtime's replayAuditLogFile),
 * and what would have changed reported as text, JSON or a self-contained HTML page.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { compileSource, emit, type IR, loadModule } from "@agent-armor/compiler";
import { printDiagnostics, readSource, sourcesOf, UsageError } from "../io.js";
import type { Command } from "./main.js";
import { renderHtml } from "./replay-html.js";
import { exitCode, type ReplayRun, renderJson, renderText } from "./replay-report.js";

const FORMATS = ["text", "json", "html"] as const;
const MAX_EXAMPLES = 1_000;

export const runReplay: Command = {
  name: "replay",
  summary: "decide the actions of an audit log again with a candidate policy and report what changes",
  usage: "armorc replay AUDIT.jsonl --policy NEW.armor [--schema S.json] [--format text|json|html] [--examples N] [--out FILE] [--no-verify]",
  help: [
    "Verifies the log's hash chain first (as `armorc audit verify`), then decides every recorded",
    "call again with the candidate policy, at its recorded time, sessions in log order with the",
    "history they had (the actions that ran, as the log records them; `per user`/`per deployment`",
    "predicates over the whole log). Logs of the runtime, `armor mcp` and `armor serve` replay.",
    "A decision that needs what the log does not keep (the context, an action as it was before a",
    "redaction, records lost to a gap) is counted as not reconstructed, never guessed; the report",
    "says why, which of the candidate's rules need it (for the context: the fields read) and the",
    "first lines. `result` and `output` records keep a hash of the value: they are counted, with",
    "the candidate's rules of that stage, not decided again.",
    "",
    "Options:",
    "  --policy FILE     the candidate policy (.armor; required)",
    "  --schema S.json   compare only actions valid under this action schema; others still",
    "                    count in the history",
    "  --format FORMAT   text (default), json, or html (a self-contained page with a chart)",
    "  --examples N      examples shown per kind of change (default 5)",
    "  --out FILE        write the report to FILE instead of stdout",
    "  --no-verify       replay a log whose chain does not verify (the report says so)",
    "",
    "Exit codes: 0 no decision changed, 1 decisions changed, 2 errors, a log that does not",
    "verify, or no change but decisions that could not be reconstructed.",
  ].join("\n"),
  options: {
    policy: { type: "string" },
    schema: { type: "string" },
    format: { type: "string" },
    examples: { type: "string" },
    out: { type: "string" },
    "no-verify": { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError("name one audit log (a .jsonl file written by the runtime, `armor mcp` or `armor serve`)");
    const policyFile = values.policy as string | undefined;
    if (policyFile === undefined) throw new UsageError("--policy is required: the candidate policy to replay the log with");
    const format = (values.format as string | undefined) ?? "text";
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, not \`${format}\``);
    const examplesText = values.examples as string | undefined;
    const examples = examplesText === undefined ? 5 : Number(examplesText);
    if (!(Number.isInteger(examples) && examples >= 0 && examples <= MAX_EXAMPLES)) throw new UsageError(`--examples must be a whole number from 0 to ${MAX_EXAMPLES}, not \`${examplesText}\``);
    const log = positionals[0]!;

    const read = readSource(policyFile);
    if (!read.ok) {
      printDiagnostics(io, io.stderr, [read.diagnostic], new Map(), "text");
      return 2;
    }
    const compiled = compileSource(policyFile, read.text);
    printDiagnostics(io, io.stderr, compiled.diagnostics, sourcesOf([[policyFile, read.text]]), "text");
    if (!compiled.ok) {
      io.stderr.write(`armorc replay: ${policyFile} has errors; fix them to replay with it\n`);
      return 2;
    }
    const module = await loadModule(emit(compiled).js);
    // loaded here, not at the top, so that the other commands never load the runtime
    const runtime = await import("@agent-armor/runtime");
    let accept: ReturnType<typeof runtime.compileValidator> = null;
    if (typeof values.schema === "string") {
      const loaded = schemaValidator(values.schema, runtime.compileValidator);
      if (typeof loaded === "string") {
        io.stderr.write(`armorc replay: --schema: ${loaded}\n`);
        return 2;
      }
      accept = loaded;
    }
    const noVerify = values["no-verify"] === true;
    let result: Awaited<ReturnType<typeof runtime.replayAuditLogFile>>;
    try {
      result = await runtime.replayAuditLogFile(log, module, { examples, accept, noVerify, contextReaders: contextReaders(compiled.policy) });
    } catch (e) {
      io.stderr.write(`armorc replay: cannot read \`${log}\`: ${fileProblem(e)}\n`);
      return 2;
    }
    const run: ReplayRun = { log, policy: policyFile, noVerify, result };
    const text = format === "json" ? renderJson(run) : format === "html" ? renderHtml(run) : renderText(run);
    if (typeof values.out === "string") {
      try {
        writeFileSync(values.out, text);
      } catch (e) {
        io.stderr.write(`armorc replay: cannot write \`${values.out}\`: ${fileProblem(e)}\n`);
        return 2;
      }
    } else io.stdout.write(text);
    const v = result.verification;
    // the refusal is said where a reader of any format looks: on stderr
    if (result.replay === null) io.stderr.write(`${log}:${v.problem!.line}: ${v.problem!.message}\narmorc replay: the log does not verify; not replayed (--no-verify replays it anyway)\n`);
    return exitCode(result.replay);
  },
};

/**
 * The candidate's rules that read each field of the context (`""`: the whole context), in their
 * conditions, effects or the `per context.F` scopes of their history predicates: named in the
 * report where a decision needs the context, which the log does not keep.
 */
export function contextReaders(policy: IR.Policy): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rule of policy.rules) {
    const fields = new Set<string>();
    const seen = new Set<unknown>();
    const walk = (v: unknown): void => {
      if (typeof v !== "object" || v === null || seen.has(v)) return;
      seen.add(v);
      if (Array.isArray(v)) {
        for (const x of v) walk(x);
        return;
      }
      const o = v as Record<string, unknown>;
      if (o.kind === "path" && o.root === "context" && Array.isArray(o.fields)) fields.add(typeof o.fields[0] === "string" ? o.fields[0] : "");
      if (typeof o.tracker === "number") walk(policy.trackers[o.tracker]);
      for (const [k, x] of Object.entries(o)) if (k !== "span") walk(x);
    };
    walk(rule.condition);
    walk(rule.effect);
    for (const f of fields) out.set(f, [...(out.get(f) ?? []), rule.id]);
  }
  return out;
}

function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
}

/** A validator for the action schema in `file` (the runtime's own, as a policy's schema is enforced), or what is wrong with it. */
function schemaValidator(file: string, compile: (schema: Record<string, unknown>) => ((a: unknown) => string[] | null) | null): ((a: unknown) => string[] | null) | string {
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    return e instanceof SyntaxError ? `\`${file}\` is not JSON: ${e.message}` : `cannot read \`${file}\`: ${fileProblem(e)}`;
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return `\`${file}\` is not a JSON Schema (an object)`;
  try {
    return compile(schema as Record<string, unknown>) ?? `\`${file}\` is not a JSON Schema`;
  } catch (e) {
    return `\`${file}\` is not a JSON Schema ajv accepts: ${(e as Error).message}`;
  }
}
