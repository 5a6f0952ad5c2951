/**
 * Rendering diagnostics for people and tools: rustc/TypeScript-style text for terminals, plain
 * JSON with 1-based ranges, and SARIF 2.1.0 for code-scanning services.
 *
 * Spans are half-open UTF-16 offsets; every renderer converts them at the edge with the
 * diagnostic's `SourceFile`. Columns in headers, JSON and SARIF count UTF-16 code units (as the
 * TypeScript compiler and SARIF's default `columnKind` do); the caret underline instead follows
 * display columns (tabs expanded, wide characters counted twice) so that it lines up on screen.
 */
import pc from "picocolors";
import type { Position, SourceFile, Span } from "../syntax/source.js";
import { allEntries, type CatalogEntry, type DiagnosticTag, docsAnchor, type Severity } from "./catalog.js";
import type { Diagnostic } from "./diagnostic.js";

type Colors = ReturnType<typeof pc.createColors>;

/** Tab stops in the text output. */
const TAB_WIDTH = 4;

// ---------------------------------------------------------------------------------------------
// Text

export interface TextOptions {
  /** Emit ANSI colour codes. */
  readonly color: boolean;
}

/**
 * Renders diagnostics in the order given (sort first with `sortDiagnostics` if wanted), each
 * followed by a blank line, and ends with a summary line such as `2 errors, 1 warning`.
 * Returns the empty string when there are no diagnostics.
 */
export function renderText(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>, options: TextOptions): string {
  if (diagnostics.length === 0) return "";
  const c = pc.createColors(options.color);
  const blocks = diagnostics.map((d) => `${renderDiagnostic(d, sources, c).join("\n")}\n`);
  return `${blocks.join("\n")}\n${summaryLine(diagnostics, c)}\n`;
}

/** `2 errors, 1 warning`; counts of zero are left out. */
export function summarize(diagnostics: readonly Diagnostic[]): string {
  return summaryParts(diagnostics)
    .map((p) => p.text)
    .join(", ");
}

function summaryParts(diagnostics: readonly Diagnostic[]): { severity: Severity; text: string }[] {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0, hint: 0 };
  for (const d of diagnostics) counts[d.severity]++;
  const words: Record<Severity, [string, string]> = {
    error: ["error", "errors"],
    warning: ["warning", "warnings"],
    info: ["info", "info"],
    hint: ["hint", "hints"],
  };
  const parts: { severity: Severity; text: string }[] = [];
  for (const severity of ["error", "warning", "info", "hint"] as const) {
    const n = counts[severity];
    if (n > 0) parts.push({ severity, text: `${n} ${words[severity][n === 1 ? 0 : 1]}` });
  }
  return parts;
}

function summaryLine(diagnostics: readonly Diagnostic[], c: Colors): string {
  return summaryParts(diagnostics)
    .map((p) => c.bold(severityColor(p.severity, c)(p.text)))
    .join(", ");
}

function severityColor(severity: Severity, c: Colors): (s: string) => string {
  switch (severity) {
    case "error":
      return c.red;
    case "warning":
      return c.yellow;
    case "info":
    case "hint":
      return c.blue;
  }
}

/** A location to show: the primary span or a related one. */
interface Located {
  readonly file: string;
  readonly span: Span;
  readonly source: SourceFile | undefined;
}

function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, SourceFile>, c: Colors): string[] {
  const main: Located = { file: d.file, span: d.span, source: sources.get(d.file) };
  const related = (d.related ?? []).map((r) => ({
    message: r.message,
    loc: { file: r.file, span: r.span, source: sources.get(r.file) } satisfies Located,
  }));

  // One gutter width for the whole diagnostic, wide enough for every line number shown.
  let maxLine = 1;
  for (const loc of [main, ...related.map((r) => r.loc)]) {
    if (loc.source !== undefined) maxLine = Math.max(maxLine, loc.source.positionAt(loc.span.start).line + 1);
  }
  const width = String(maxLine).length;
  const pad = " ".repeat(width);
  const bar = `${pad} ${c.dim("|")}`;
  const color = severityColor(d.severity, c);

  const lines: string[] = [];
  lines.push(c.bold(color(`${d.severity}[${d.code}]`)) + c.bold(`: ${clean(d.message)}`));
  lines.push(...renderLocation(main, width, color, c));

  const extras: string[] = [];
  if (d.help !== undefined) extras.push(`${pad} ${c.dim("=")} ${c.bold("help")}: ${clean(d.help)}`);
  for (const f of d.fixes ?? []) extras.push(`${pad} ${c.dim("=")} ${c.bold("fix")}: ${clean(f.title)}`);
  if (d.docs !== "") extras.push(`${pad} ${c.dim("=")} ${c.bold("see")}: ${clean(d.docs)}`);
  if (extras.length > 0) lines.push(bar, ...extras);

  for (const r of related) {
    lines.push(`${c.bold(c.blue("note"))}: ${clean(r.message)}`);
    lines.push(...renderLocation(r.loc, width, c.blue, c));
  }
  return lines;
}

/** `--> file:line:col` and the snippet with its underline (or just `--> file` without a source). */
function renderLocation(loc: Located, width: number, color: (s: string) => string, c: Colors): string[] {
  const pad = " ".repeat(width);
  const arrow = `${pad}${c.dim("-->")} `;
  if (loc.source === undefined) return [arrow + clean(loc.file)];

  const source = loc.source;
  const start = source.positionAt(loc.span.start);
  const end = source.positionAt(Math.max(loc.span.start, loc.span.end));
  const lines = [`${arrow}${clean(loc.file)}:${start.line + 1}:${start.column + 1}`];

  // a long line (a minified or binary file) is shown as a window around the span, so that the
  // output stays proportional to the number of diagnostics
  const line = clipLine(source.lineText(start.line), start.column);
  const text = line.text;
  const { display, columns } = layoutLine(text);
  // A span that stops right after the first line's line break covers only that line.
  const multiLine = end.line > start.line && !(end.line === start.line + 1 && end.column === 0);
  const endColumn = end.line > start.line ? text.length : end.column - line.shift;
  const from = columns[Math.min(start.column - line.shift, text.length)] ?? 0;
  const to = columns[Math.max(0, Math.min(endColumn, text.length))] ?? from;
  const carets = "^".repeat(Math.max(1, to - from));

  const bar = `${pad} ${c.dim("|")}`;
  const lineNo = String(start.line + 1).padStart(width);
  lines.push(bar);
  lines.push(display === "" ? `${c.dim(`${lineNo} |`)}` : `${c.dim(`${lineNo} |`)} ${display}`);
  lines.push(`${bar} ${" ".repeat(from)}${color(carets)}`);
  if (multiLine) lines.push(c.dim("..."));
  return lines;
}

const SHOWN_LINE = 160;

/** A window of at most SHOWN_LINE characters of `text` around `column`, with `…` where cut; `shift`: columns removed before it, less the `…`. */
function clipLine(text: string, column: number): { text: string; shift: number } {
  if (text.length <= SHOWN_LINE) return { text, shift: 0 };
  const from = Math.max(0, Math.min(column - 40, text.length - SHOWN_LINE));
  const to = Math.min(text.length, from + SHOWN_LINE);
  const head = from > 0 ? "…" : "";
  return { text: `${head}${text.slice(from, to)}${to < text.length ? "…" : ""}`, shift: from - head.length };
}

/**
 * Lays out one source line for the terminal: tabs expand to the next tab stop, control and
 * bidirectional-override characters become visible placeholders, wide characters take two
 * columns and combining marks none. `columns[i]` is the display column of UTF-16 offset `i`
 * (`columns.length === text.length + 1`).
 */
export function layoutLine(text: string): { display: string; columns: number[] } {
  const columns: number[] = [];
  let display = "";
  let col = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) ?? 0;
    const units = cp > 0xffff ? 2 : 1;
    let shown: string;
    let w: number;
    if (cp === 9) {
      w = TAB_WIDTH - (col % TAB_WIDTH);
      shown = " ".repeat(w);
    } else {
      const placeholder = visiblePlaceholder(cp);
      shown = placeholder ?? String.fromCodePoint(cp);
      w = placeholder !== undefined ? placeholder.length : charWidth(cp);
    }
    for (let k = 0; k < units; k++) columns.push(col);
    display += shown;
    col += w;
    i += units;
  }
  columns.push(col);
  return { display, columns };
}

const bidiControls = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

/** What to print instead of a character that would disturb the terminal or mislead the reader. */
function visiblePlaceholder(cp: number): string | undefined {
  if (cp < 0x20) return String.fromCodePoint(0x2400 + cp); // control pictures: ␀ ... ␟
  if (cp === 0x7f) return "\u2421"; // ␡
  if ((cp >= 0x80 && cp < 0xa0) || bidiControls.has(cp) || cp === 0x2028 || cp === 0x2029) {
    return `<U+${cp.toString(16).toUpperCase().padStart(4, "0")}>`;
  }
  return undefined;
}

const zeroWidth = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const emoji = /^\p{Emoji_Presentation}$/u;

/** Terminal columns of one code point (an approximation of East Asian Width). */
function charWidth(cp: number): number {
  const ch = String.fromCodePoint(cp);
  if (zeroWidth.test(ch)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd) ||
    emoji.test(ch)
  ) {
    return 2;
  }
  return 1;
}

/** Makes one-line text (messages, help, file names) safe to print: no line breaks or escapes. */
function clean(text: string): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    out += cp === 9 ? " " : (visiblePlaceholder(cp) ?? ch);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

/** A 1-based line and a 1-based UTF-16 column. */
export interface JsonPosition {
  readonly line: number;
  readonly column: number;
}

/** A 1-based range; `end` is exclusive (the position just after the last character). */
export interface JsonRange {
  readonly start: JsonPosition;
  readonly end: JsonPosition;
}

export interface JsonRelatedInfo {
  readonly file: string;
  readonly span: Span;
  /** `null` when the file's text was not available. */
  readonly range: JsonRange | null;
  readonly message: string;
}

export interface JsonTextEdit {
  readonly file: string;
  readonly span: Span;
  /** `null` when the file's text was not available. */
  readonly range: JsonRange | null;
  readonly newText: string;
}

/** A fix: its title and its edits, each with a 1-based range. */
export interface JsonFix {
  readonly title: string;
  readonly edits: readonly JsonTextEdit[];
}

export interface JsonDiagnostic {
  readonly code: string;
  readonly name: string;
  readonly severity: Severity;
  readonly message: string;
  readonly help?: string;
  readonly file: string;
  readonly span: Span;
  /** `null` when the file's text was not available (e.g. a file that could not be read). */
  readonly range: JsonRange | null;
  readonly docs: string;
  readonly related?: readonly JsonRelatedInfo[];
  readonly tags?: readonly DiagnosticTag[];
  readonly fixes?: readonly JsonFix[];
  readonly data?: Readonly<Record<string, unknown>>;
}

/**
 * Diagnostics as plain JSON-ready objects: every `Diagnostic` field plus a 1-based `range`
 * (also on related locations and the edits of fixes), so consumers need no offset arithmetic.
 */
export function toJson(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>): JsonDiagnostic[] {
  const rangeOf = (file: string, s: Span): JsonRange | null => {
    const source = sources.get(file);
    if (source === undefined) return null;
    const start = source.positionAt(s.start);
    const end = source.positionAt(Math.max(s.start, s.end));
    return { start: oneBased(start), end: oneBased(end) };
  };
  return diagnostics.map((d) => {
    const out: JsonDiagnostic = {
      code: d.code,
      name: d.name,
      severity: d.severity,
      message: d.message,
      ...(d.help !== undefined ? { help: d.help } : {}),
      file: d.file,
      span: { start: d.span.start, end: d.span.end },
      range: rangeOf(d.file, d.span),
      docs: d.docs,
      ...(d.related !== undefined
        ? {
            related: d.related.map((r) => ({
              file: r.file,
              span: { start: r.span.start, end: r.span.end },
              range: rangeOf(r.file, r.span),
              message: r.message,
            })),
          }
        : {}),
      ...(d.tags !== undefined ? { tags: [...d.tags] } : {}),
      ...(d.fixes !== undefined
        ? {
            fixes: d.fixes.map((f) => ({
              title: f.title,
              edits: f.edits.map((e) => ({ file: e.file, span: { start: e.span.start, end: e.span.end }, range: rangeOf(e.file, e.span), newText: e.newText })),
            })),
          }
        : {}),
      ...(d.data !== undefined ? { data: { ...d.data } } : {}),
    };
    return out;
  });
}

function oneBased(p: Position): JsonPosition {
  return { line: p.line + 1, column: p.column + 1 };
}

// ---------------------------------------------------------------------------------------------
// SARIF

const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

export type SarifLevel = "error" | "warning" | "note" | "none";

export interface SarifTool {
  readonly name: string;
  readonly version: string;
  readonly informationUri?: string;
  /**
   * When given, rule `helpUri`s are resolved against it (e.g.
   * `https://github.com/org/agent-armor/blob/main/`) so they are absolute as SARIF asks;
   * otherwise they are the catalog's relative docs anchors.
   */
  readonly helpBaseUri?: string;
}

export interface SarifRegion {
  readonly startLine?: number;
  readonly startColumn?: number;
  readonly endLine?: number;
  readonly endColumn?: number;
  readonly charOffset: number;
  readonly charLength: number;
}

export interface SarifPhysicalLocation {
  readonly artifactLocation: { readonly uri: string };
  readonly region: SarifRegion;
}

export interface SarifMessage {
  readonly text: string;
}

export interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly shortDescription: SarifMessage;
  readonly helpUri: string;
  readonly defaultConfiguration: { readonly level: SarifLevel };
}

export interface SarifResult {
  readonly ruleId: string;
  readonly ruleIndex?: number;
  readonly level: SarifLevel;
  readonly message: SarifMessage;
  readonly locations: readonly { readonly physicalLocation: SarifPhysicalLocation }[];
  readonly relatedLocations?: readonly {
    readonly id: number;
    readonly physicalLocation: SarifPhysicalLocation;
    readonly message: SarifMessage;
  }[];
  readonly fixes?: readonly {
    readonly description: SarifMessage;
    readonly artifactChanges: readonly {
      readonly artifactLocation: { readonly uri: string };
      readonly replacements: readonly {
        readonly deletedRegion: SarifRegion;
        readonly insertedContent: { readonly text: string };
      }[];
    }[];
  }[];
  readonly properties?: { readonly severity: Severity; readonly name: string; readonly tags?: readonly DiagnosticTag[]; readonly data?: Readonly<Record<string, unknown>> };
}

export interface SarifLog {
  readonly $schema: string;
  readonly version: "2.1.0";
  readonly runs: readonly [
    {
      readonly tool: {
        readonly driver: {
          readonly name: string;
          readonly version: string;
          readonly informationUri?: string;
          readonly rules: readonly SarifRule[];
        };
      };
      readonly columnKind: "utf16CodeUnits";
      readonly results: readonly SarifResult[];
    },
  ];
}

function sarifLevel(severity: Severity): SarifLevel {
  switch (severity) {
    case "error":
      return "error";
    case "warning":
      return "warning";
    case "info":
    case "hint":
      return "note";
  }
}

/** A SARIF 2.1.0 log with one run: the whole catalog as rules and one result per diagnostic. */
export function toSarif(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>, tool: SarifTool): SarifLog {
  const rules = allEntries.map((e) => sarifRule(e, tool.helpBaseUri));
  const ruleIndex = new Map<string, number>(allEntries.map((e, i) => [e.code, i]));

  const location = (file: string, s: Span): SarifPhysicalLocation => ({
    artifactLocation: { uri: artifactUri(file) },
    region: sarifRegion(sources.get(file), s),
  });

  const results = diagnostics.map((d): SarifResult => {
    const index = ruleIndex.get(d.code);
    return {
      ruleId: d.code,
      ...(index !== undefined ? { ruleIndex: index } : {}),
      level: sarifLevel(d.severity),
      message: { text: d.help !== undefined ? `${d.message}\nhelp: ${d.help}` : d.message },
      locations: [{ physicalLocation: location(d.file, d.span) }],
      ...(d.related !== undefined && d.related.length > 0
        ? {
            relatedLocations: d.related.map((r, i) => ({
              id: i,
              physicalLocation: location(r.file, r.span),
              message: { text: r.message },
            })),
          }
        : {}),
      ...(d.fixes !== undefined && d.fixes.length > 0
        ? {
            fixes: d.fixes.map((f) => ({
              description: { text: f.title },
              // one artifact change per edit; SARIF allows several for the same file
              artifactChanges: f.edits.map((e) => ({
                artifactLocation: { uri: artifactUri(e.file) },
                replacements: [{ deletedRegion: sarifRegion(sources.get(e.file), e.span), insertedContent: { text: e.newText } }],
              })),
            })),
          }
        : {}),
      properties: { severity: d.severity, name: d.name, ...(d.tags !== undefined ? { tags: [...d.tags] } : {}), ...(d.data !== undefined ? { data: { ...d.data } } : {}) },
    };
  });

  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            ...(tool.informationUri !== undefined ? { informationUri: tool.informationUri } : {}),
            rules,
          },
        },
        columnKind: "utf16CodeUnits",
        results,
      },
    ],
  };
}

function sarifRule(e: CatalogEntry, helpBaseUri: string | undefined): SarifRule {
  const anchor = docsAnchor(e);
  return {
    id: e.code,
    name: e.name,
    shortDescription: { text: e.summary },
    helpUri: helpBaseUri !== undefined ? new URL(anchor, helpBaseUri).href : anchor,
    defaultConfiguration: { level: sarifLevel(e.severity) },
  };
}

/**
 * A region with 1-based lines and columns (end column exclusive) when the text is known, and
 * always the equivalent character offset and length (in UTF-16 code units, like the columns).
 */
function sarifRegion(source: SourceFile | undefined, s: Span): SarifRegion {
  const startOffset = Math.max(0, s.start);
  const endOffset = Math.max(startOffset, s.end);
  if (source === undefined) {
    // Without the text only offsets are known, except for the common empty span at the very start
    // (a file that cannot be read), which is line 1, column 1 in any text.
    if (endOffset === 0) return { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1, charOffset: 0, charLength: 0 };
    return { charOffset: startOffset, charLength: endOffset - startOffset };
  }
  const start = source.positionAt(startOffset);
  const end = source.positionAt(endOffset);
  const a = source.offsetAt(start);
  const b = source.offsetAt(end);
  return {
    startLine: start.line + 1,
    startColumn: start.column + 1,
    endLine: end.line + 1,
    endColumn: end.column + 1,
    charOffset: a,
    charLength: b - a,
  };
}

/**
 * The artifact URI for a file name: a URI stays as it is; a path gets forward slashes and
 * percent-encoding per segment (a relative path stays relative; an absolute one becomes `file:`).
 */
export function artifactUri(file: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(file)) return file;
  const path = file.replace(/\\/g, "/");
  const encode = (p: string): string => p.split("/").map(encodeURIComponent).join("/");
  const drive = /^([A-Za-z]):\//.exec(path);
  if (drive !== null) return `file:///${drive[1] ?? ""}:/${encode(path.slice(3))}`;
  if (path.startsWith("/")) return `file://${encode(path)}`;
  return encode(path);
}
