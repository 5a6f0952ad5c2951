/**
 * Formatting with the formatter of `armorc fmt`; a file with syntax errors gets no edits. The
 * answer is the line diff between the text and its formatted text (jsdiff's `diffLines`, a
 * Myers diff), one edit per changed stretch of lines, so that the editor keeps the cursor,
 * folds and marks of the lines that did not change. Range formatting formats the whole file and
 * answers only the stretches that touch the range: the formatter has no partial mode, and the
 * stretches are independent, so any subset of them applies cleanly.
 */
import { formatSource } from "@agent-armor/compiler";
import { diffLines } from "diff";
import type { Range, TextEdit } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { toOffset, toRange } from "../positions.js";

/** Past this many changed lines (or this long), the diff gives up and the changed middle is replaced as one edit. */
const MAX_EDIT_LENGTH = 4000;
const DIFF_TIMEOUT_MS = 200;

interface Change {
  /** The replaced stretch of the original text, as offsets. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** The changes that turn `before` into `after`, line by line, in order and without overlap. */
function lineChanges(before: string, after: string): Change[] {
  const parts = diffLines(before, after, { maxEditLength: MAX_EDIT_LENGTH, timeout: DIFF_TIMEOUT_MS });
  if (parts === undefined) return [middle(before, after)];
  const out: Change[] = [];
  let offset = 0;
  let pending: { start: number; end: number; text: string } | null = null;
  for (const p of parts) {
    if (p.added) {
      pending ??= { start: offset, end: offset, text: "" };
      pending.text += p.value;
    } else if (p.removed) {
      pending ??= { start: offset, end: offset, text: "" };
      offset += p.value.length;
      pending.end = offset;
    } else {
      if (pending) out.push(pending);
      pending = null;
      offset += p.value.length;
    }
  }
  if (pending) out.push(pending);
  return out;
}

/** One change: everything between the common start and the common end of the two texts. */
export function middle(before: string, after: string): Change {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let end = 0;
  while (end < before.length - start && end < after.length - start && before[before.length - 1 - end] === after[after.length - 1 - end]) end++;
  // never between the \r and the \n of a line end: a position there is no place in the document
  if (start > 0 && before[start - 1] === "\r" && before[start] === "\n") start--;
  if (end > 0 && before[before.length - end - 1] === "\r" && before[before.length - end] === "\n") end--;
  return { start, end: before.length - end, text: after.slice(start, after.length - end) };
}

function changesOf(a: Analysis): Change[] {
  // the formatter refuses a file with syntax errors (A1xx): the analysis already knows, without parsing again
  if (a.diagnostics.some((d) => d.code.startsWith("A1") && d.severity === "error")) return [];
  const result = formatSource(a.source.name, a.text);
  if (!result.ok || result.text === a.text) return [];
  return lineChanges(a.text, result.text);
}

function edit(a: Analysis, c: Change): TextEdit {
  return { range: toRange(a.source, { start: c.start, end: c.end }), newText: c.text };
}

export function formatting(a: Analysis): TextEdit[] {
  return changesOf(a).map((c) => edit(a, c));
}

/** The changes that overlap `range` (an empty range: the changes around it); none past the document's end. */
export function rangeFormatting(a: Analysis, range: Range): TextEdit[] {
  if (range.start.line >= a.source.lineCount()) return [];
  const start = toOffset(a.source, range.start);
  const end = toOffset(a.source, range.end);
  const touches = (c: Change): boolean => (start === end ? c.start <= start && start <= c.end : c.start < end && c.end > start);
  return changesOf(a)
    .filter(touches)
    .map((c) => edit(a, c));
}
