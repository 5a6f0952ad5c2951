/**
 * Diagnostics as data: what the compiler reports, and what a runtime that compiled a policy on
 * load passes on to its caller.
 */

export type Severity = "error" | "warning" | "info" | "hint";

/** A stretch of source text: half-open UTF-16 offsets. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** 0-based line and column (UTF-16 units) of an offset. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** One replacement of source text. */
export interface TextEdit {
  readonly file: string;
  readonly span: Span;
  readonly newText: string;
}

/** A fix a tool may offer for a diagnostic: a title and the edits that make it. */
export interface DiagnosticFix {
  readonly title: string;
  readonly edits: readonly TextEdit[];
}

/** A diagnostic as the compiler reports it, located by span. */
export interface Diagnostic {
  /** Stable code, e.g. `A201` (docs/diagnostics.md). */
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly help?: string;
  readonly file: string;
  readonly span: Span;
  readonly fixes?: readonly DiagnosticFix[];
}

/** A diagnostic located by 1-based line and column, as the runtime reports it with a load error. */
export interface PolicyDiagnostic {
  code: string;
  severity: Severity;
  message: string;
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 units. */
  column: number;
  /** The same place as the compiler's span, for a printer that shows the source. */
  span: Span;
  help?: string;
  fixes?: readonly DiagnosticFix[];
}
