/** What every armorc command shares: output streams, colour, reading files, printing diagnostics. */
import { readFileSync } from "node:fs";
import { createColors } from "picocolors";
import { catalog } from "../diagnostics/catalog.js";
import { type Diagnostic, makeDiagnostic } from "../diagnostics/diagnostic.js";
import { renderText, toJson, toSarif } from "../diagnostics/render.js";
import { SourceFile, span } from "../syntax/source.js";
import { VERSION } from "../version.js";

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
export function useColor(io: Io, out: Output): boolean {
  const noColor = io.env["NO_COLOR"];
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

/** A usage error: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {}

export function sourcesOf(entries: Iterable<[string, string]>): Map<string, SourceFile> {
  const m = new Map<string, SourceFile>();
  for (const [name, text] of entries) m.set(name, new SourceFile(name, text));
  return m;
}
