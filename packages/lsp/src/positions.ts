/**
 * The one place where compiler spans (half-open UTF-16 offsets) become LSP positions and back.
 * LSP's default position encoding is UTF-16 code units, the same unit as the compiler's spans,
 * so a position is a line from the compiler's `SourceFile` line map and a UTF-16 column.
 */
import { SourceFile, type Span } from "@agent-armor/compiler";
import type { Position, Range } from "vscode-languageserver";

function toPosition(source: SourceFile, offset: number): Position {
  const p = source.positionAt(offset);
  return { line: p.line, character: p.column };
}

export function toRange(source: SourceFile, span: Span): Range {
  return { start: toPosition(source, span.start), end: toPosition(source, span.end) };
}

export function toOffset(source: SourceFile, position: Position): number {
  return source.offsetAt({ line: position.line, column: position.character });
}

/** Whether an offset is inside a span, counting its end (the cursor right after a name). */
export function touches(span: Span, offset: number): boolean {
  return span.start <= offset && offset <= span.end;
}

export function rangesOverlap(a: Range, b: Range): boolean {
  const before = (x: Position, y: Position): boolean => x.line < y.line || (x.line === y.line && x.character <= y.character);
  return before(a.start, b.end) && before(b.start, a.end);
}

export { SourceFile };
