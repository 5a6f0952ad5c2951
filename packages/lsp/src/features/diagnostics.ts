/** Compiler diagnostics as LSP diagnostics, with codes, docs links, related locations and data. */

import type { Diagnostic as ArmorDiagnostic } from "@agent-armor/compiler";
import { type Diagnostic, DiagnosticSeverity, DiagnosticTag } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { pathToUri } from "../documents.js";
import { type SourceFile, toRange } from "../positions.js";
import { importDiagnostics } from "./imports.js";

const severities = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
} as const;

/** The data an LSP diagnostic carries back to code actions. */
export interface DiagnosticData {
  readonly name: string;
  readonly fixes?: ArmorDiagnostic["fixes"];
  readonly data?: ArmorDiagnostic["data"];
}

/** `docs/diagnostics.md#a101-...` under the configured base URL; `null` without one. */
function docsHref(docs: string, base: string | null): string | null {
  if (base === null) return null;
  return base.endsWith("/") ? base + docs : `${base}/${docs}`;
}

export function toLspDiagnostic(d: ArmorDiagnostic, source: SourceFile, docsBaseUrl: string | null, sources?: ReadonlyMap<string, SourceFile>): Diagnostic {
  const href = docsHref(d.docs, docsBaseUrl);
  const data: DiagnosticData = { name: d.name, ...(d.fixes ? { fixes: d.fixes } : {}), ...(d.data ? { data: d.data } : {}) };
  const out: Diagnostic = {
    range: toRange(source, d.span),
    severity: severities[d.severity],
    code: d.code,
    source: "armor",
    message: d.help ? `${d.message}\n${d.help}` : d.message,
    data,
  };
  if (href) out.codeDescription = { href };
  if (d.tags?.includes("unnecessary")) out.tags = [DiagnosticTag.Unnecessary];
  if (d.related && d.related.length > 0) {
    out.relatedInformation = d.related.map((r) => {
      const relSource = r.file === d.file ? source : sources?.get(r.file);
      return {
        location: { uri: r.file === d.file ? "" : pathToUri(r.file), range: relSource ? toRange(relSource, r.span) : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } },
        message: r.message,
      };
    });
  }
  return out;
}

export function diagnostics(a: Analysis, docsBaseUrl: string | null): Diagnostic[] {
  const sources = a.kind === "policy" ? (a.compilation.sources as ReadonlyMap<string, SourceFile>) : undefined;
  const out = a.diagnostics.filter((d) => d.file === a.source.name).map((d) => toLspDiagnostic(d, a.source, docsBaseUrl, sources));
  for (const d of out) for (const r of d.relatedInformation ?? []) if (r.location.uri === "") r.location.uri = a.uri;
  // an imported file's errors are that file's; here, its import says it has some
  if (a.kind === "policy") out.push(...importDiagnostics(a));
  return out;
}
