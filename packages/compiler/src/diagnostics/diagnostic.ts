import type { Diagnostic as DiagnosticData, DiagnosticFix } from "@agent-armor/contract";
import type { Span } from "../syntax/source.js";
import { type CatalogEntry, catalog, type DiagnosticTag, docsAnchor, type Severity } from "./catalog.js";

/** A related location, for example the first definition of a duplicated rule. */
export interface RelatedInfo {
  readonly file: string;
  readonly span: Span;
  readonly message: string;
}

/**
 * A fix that replaces one stretch of source text (a did-you-mean, a removal, an insertion): the
 * contract's `DiagnosticFix` with one edit. The first fix of a diagnostic is the preferred one.
 */
export function replacement(title: string, file: string, span: Span, newText: string): DiagnosticFix {
  return { title, edits: [{ file, span, newText }] };
}

/** The contract's diagnostic (code, severity, message, help, file, span, fixes) with the compiler's extras. */
export interface Diagnostic extends DiagnosticData {
  readonly name: string;
  readonly docs: string;
  readonly related?: readonly RelatedInfo[];
  /** From the catalog entry: `unnecessary` code, a `file`-wide diagnostic. */
  readonly tags?: readonly DiagnosticTag[];
  /** Structured data for tools, e.g. `{ suggestion: "amount" }` for a did-you-mean. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface DiagnosticExtras {
  help?: string;
  related?: RelatedInfo[];
  /** Fixes as data, the preferred one first. */
  fixes?: DiagnosticFix[];
  data?: Record<string, unknown>;
  /** Overrides the catalog severity (e.g. an unknown field in a closed schema is an error). */
  severity?: Severity;
}

export function makeDiagnostic(entry: CatalogEntry, file: string, span: Span, message: string, extras: DiagnosticExtras = {}): Diagnostic {
  const d: Diagnostic = {
    code: entry.code,
    name: entry.name,
    severity: extras.severity ?? entry.severity,
    message,
    file,
    span,
    docs: docsAnchor(entry),
    ...(extras.help !== undefined ? { help: extras.help } : {}),
    ...(extras.related !== undefined && extras.related.length > 0 ? { related: extras.related } : {}),
    ...(entry.tags !== undefined ? { tags: entry.tags } : {}),
    ...(extras.fixes !== undefined && extras.fixes.length > 0 ? { fixes: extras.fixes } : {}),
    ...(extras.data !== undefined ? { data: extras.data } : {}),
  };
  return d;
}

/** Collects diagnostics for one file. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  constructor(readonly file: string) {}

  report(entry: CatalogEntry, span: Span, message: string, extras?: DiagnosticExtras): Diagnostic {
    const d = makeDiagnostic(entry, this.file, span, message, extras);
    this.items.push(d);
    return d;
  }
}

/** The most diagnostics reported for one file; a file of binary garbage would otherwise have one per stray run. */
const MAX_DIAGNOSTICS = 1000;

/**
 * Sorts a file's diagnostics and keeps the first `MAX_DIAGNOSTICS`; when some are dropped, an
 * A111 at the first dropped one says how many. Errors are kept before warnings at the cut, so
 * a file that fails keeps saying why.
 */
export function reportedDiagnostics(file: string, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const sorted = sortDiagnostics(diagnostics);
  if (sorted.length <= MAX_DIAGNOSTICS) return sorted;
  const errorsFirst = [...sorted.filter((d) => d.severity === "error"), ...sorted.filter((d) => d.severity !== "error")];
  const kept = sortDiagnostics(errorsFirst.slice(0, MAX_DIAGNOSTICS));
  const first = errorsFirst[MAX_DIAGNOSTICS]!;
  const more = sorted.length - MAX_DIAGNOSTICS;
  kept.push(
    makeDiagnostic(
      catalog.tooManyDiagnostics,
      file,
      first.span,
      `${more.toLocaleString("en-US")} more diagnostic${more === 1 ? "" : "s"} not reported (at most ${MAX_DIAGNOSTICS.toLocaleString("en-US")} per file)`,
      {
        help: "fix the first ones, or check that this is a policy file: binary or generated text produces one error per stray run of characters",
      },
    ),
  );
  return kept;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

const severityRank: Record<Severity, number> = { error: 0, warning: 1, info: 2, hint: 3 };

/** Sorts by file, then position, then severity; stable for equal keys. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.span.start - b.span.start || severityRank[a.severity] - severityRank[b.severity] || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}
