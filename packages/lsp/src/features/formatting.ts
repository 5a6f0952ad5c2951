/** Formatting with the formatter of `armorc fmt`; a file with syntax errors gets no edits. */
import { formatSource } from "@agent-armor/compiler";
import type { TextEdit } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { toRange } from "../positions.js";

export function formatting(a: Analysis): TextEdit[] {
  const result = formatSource(a.source.name, a.text);
  if (!result.ok || result.text === a.text) return [];
  return [{ range: toRange(a.source, { start: 0, end: a.text.length }), newText: result.text }];
}
