/**
 * Source text and spans.
 *
 * Spans are half-open `[start, end)` UTF-16 offsets into one source file. Lines and columns are
 * computed only at the edges (CLI rendering, the language server) from a `SourceFile`'s line map.
 */
import type { Position, Span } from "@agent-armor/contract";

export type { Position, Span };

export function span(start: number, end: number): Span {
  return { start, end };
}

export class SourceFile {
  private lineStarts: number[] | undefined;

  constructor(
    /** The file's identity: a path as the user gave it, or a URI. */
    readonly name: string,
    readonly text: string,
  ) {}

  private starts(): number[] {
    if (this.lineStarts === undefined) {
      const starts = [0];
      const text = this.text;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 10) starts.push(i + 1);
        else if (c === 13) {
          if (text.charCodeAt(i + 1) === 10) i++;
          starts.push(i + 1);
        }
      }
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }

  positionAt(offset: number): Position {
    const starts = this.starts();
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, column: clamped - (starts[lo] ?? 0) };
  }

  offsetAt(position: Position): number {
    const starts = this.starts();
    if (position.line >= starts.length) return this.text.length;
    const lineStart = starts[Math.max(0, position.line)] ?? 0;
    const nextStart = starts[position.line + 1] ?? this.text.length;
    return Math.min(lineStart + Math.max(0, position.column), nextStart);
  }

  lineCount(): number {
    return this.starts().length;
  }

  /** The text of a zero-based line, without its line break. */
  lineText(line: number): string {
    const starts = this.starts();
    const start = starts[line];
    if (start === undefined) return "";
    const end = starts[line + 1] ?? this.text.length;
    return this.text.slice(start, end).replace(/\r?\n$|\r$/, "");
  }
}
