/**
 * Values by span (`start`, `end`), for the checker's side tables (what an expression narrows to,
 * the field read at a path). A `Map` keyed by the start offset (a small integer, so no key is
 * allocated) holding a short chain of the spans that begin there: the checker records one entry
 * per expression on every re-check, and a string key (`"start:end"`) per expression was a
 * large part of what it allocated.
 */
import type { Span } from "../syntax/source.js";

interface Entry<T> {
  readonly end: number;
  value: T;
  next: Entry<T> | null;
}

export interface ReadonlySpanTable<T> {
  get(at: Span): T | undefined;
  has(at: Span): boolean;
  readonly size: number;
}

export class SpanTable<T> implements ReadonlySpanTable<T> {
  private readonly byStart = new Map<number, Entry<T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  private entry(start: number, end: number): Entry<T> | null {
    let e = this.byStart.get(start) ?? null;
    while (e !== null && e.end !== end) e = e.next;
    return e;
  }

  get(at: Span): T | undefined {
    return this.entry(at.start, at.end)?.value;
  }

  has(at: Span): boolean {
    return this.entry(at.start, at.end) !== null;
  }

  /** Sets the value at `at`, replacing an earlier one at the same span. */
  set(at: Span, value: T): void {
    const first = this.byStart.get(at.start);
    let e = first ?? null;
    while (e !== null && e.end !== at.end) e = e.next;
    if (e !== null) {
      e.value = value;
      return;
    }
    this.byStart.set(at.start, { end: at.end, value, next: first ?? null });
    this.count++;
  }
}
