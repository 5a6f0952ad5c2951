/**
 * What the commands of `armorc` and `armor` share: output streams, colour, reading files, and the
 * one printer of diagnostics (text, JSON, SARIF).
 */
import { readFileSync } from "node:fs";
import { allEntries, catalog, type Diagnostic, docsAnchor, makeDiagnostic, renderText, SourceFile, span, toJson, toSarif, VERSION } from "@agent-armor/compiler";
import type { PolicyDiagnostic } from "@agent-armor/contract";
import { createColors } from "picocolors";

export interface Output {
  write(text: string): void;
  readonly isTTY?: boolean;
}

export interface Io {
  readonly stdout: Output;
  readonly stderr: Output;
  readStdin(): Promise<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export function nodeIo(): Io {
  return {
    stdout: { write: (t) => void process.stdout.write(t), isTTY: process.stdout.isTTY === true },
    stderr: { write: (t) => void process.stderr.write(t), isTTY: process.stderr.isTTY === true },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
function useColor(io: Io, out: Output): boolean {
  const noColor = io.env.NO_COLOR;
  if (noColor !== undefined && noColor !== "") return false;
  return out.isTTY === true;
}

export function colors(io: Io, out: Output): ReturnType<typeof createColors> {
  return createColors(useColor(io, out));
}

/** Reads a file named on the command line; a failure is a diagnostic, never an exception. */
export function readSource(path: string): { ok: true; text: string } | { ok: false; diagnostic: Diagnostic } {
  try {
    return { ok: true, text: readFileSync(path, "utf8") };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
    return {
      ok: false,
      diagnostic: makeDiagnostic(catalog.fileNotFound, path, span(0, 0), `cannot read \`${path}\`: ${why}`, {
        help: "check the path; it is relative to the current directory",
      }),
    };
  }
}

export type DiagnosticFormat = "text" | "json" | "sarif";

export function printDiagnostics(io: Io, out: Output, diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>, format: DiagnosticFormat): void {
  if (format === "json") {
    out.write(`${JSON.stringify(toJson(diagnostics, sources), null, 2)}\n`);
  } else if (format === "sarif") {
    out.write(`${JSON.stringify(toSarif(diagnostics, sources, { name: "armorc", version: VERSION }), null, 2)}\n`);
  } else if (diagnostics.length > 0) {
    out.write(`${renderText(diagnostics, sources, { color: useColor(io, out) })}\n`);
  }
}

/**
 * Diagnostics of a policy compiled on load (`armor mcp`, `armor serve`), which the runtime
 * returns as data, printed as text by the same printer as armorc's, with the source lines they
 * point at when the files can still be read.
 */
export function printLoadDiagnostics(io: Io, out: Output, diagnostics: readonly PolicyDiagnostic[]): void {
  const entries = new Map(allEntries.map((e) => [e.code, e]));
  const sources = new Map<string, SourceFile>();
  for (const file of new Set(diagnostics.map((d) => d.file))) {
    const read = readSource(file);
    if (read.ok) sources.set(file, new SourceFile(file, read.text));
  }
  const located = diagnostics.map((d): Diagnostic => {
    const entry = entries.get(d.code);
    return {
      code: d.code,
      name: entry?.name ?? d.code,
      severity: d.severity,
      message: d.message,
      file: d.file,
      span: d.span,
      docs: entry !== undefined ? docsAnchor(entry) : "",
      ...(d.help !== undefined ? { help: d.help } : {}),
      ...(d.fixes !== undefined ? { fixes: d.fixes } : {}),
    };
  });
  printDiagnostics(io, out, located, sources, "text");
}

export { UsageError } from "./args.js";

export function sourcesOf(entries: Iterable<[string, string]>): Map<string, SourceFile> {
  const m = new Map<string, SourceFile>();
  for (const [name, text] of entries) m.set(name, new SourceFile(name, text));
  return m;
}
