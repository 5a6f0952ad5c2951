/**
 * JSON text read from files (decision inputs, schemas), with the location of the first error.
 *
 * `JSON.parse` decides what is valid, so exactly what JSON rejects is rejected (comments,
 * trailing commas, single quotes, ...). Its messages name a position only for some errors (on
 * Node 20, `Unexpected token` carries none), so the location of the offending token comes from
 * jsonc-parser's scanner, run with comments and trailing commas disallowed.
 */
import { visit } from "jsonc-parser";
import { SourceFile } from "./syntax/source.js";

export type JsonText = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly start: number; readonly end: number; readonly message: string };

/** Parses JSON; on an error, the half-open span of the offending token and the parser's message. */
export function parseJsonText(text: string): JsonText {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const raw = (e as Error).message;
    const [start, end] = errorSpan(text, raw);
    return { ok: false, start, end, message: plainMessage(raw) };
  }
}

/** `line L, column C` (1-based) of an offset, for messages about a file other than the one shown. */
export function lineAndColumn(text: string, offset: number): string {
  const p = new SourceFile("", text).positionAt(offset);
  return `line ${p.line + 1}, column ${p.column + 1}`;
}

function errorSpan(text: string, message: string): [number, number] {
  // where V8 names the position, it is the exact character (inside a string, too)
  const at = /at position (\d+)/.exec(message);
  if (at) {
    const offset = Math.min(Number(at[1]), text.length);
    return [offset, Math.min(offset + 1, text.length)];
  }
  let first: [number, number] | null = null;
  visit(
    text,
    {
      onError: (_code, offset, length) => {
        if (first === null) first = [offset, offset + Math.max(length, offset < text.length ? 1 : 0)];
      },
    },
    { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
  );
  // both parsers reject the same texts; should they ever disagree, the end of the text is shown
  return first ?? [text.length, text.length];
}

/** V8's message without the position (shown as a location) and without its quote of the text. */
function plainMessage(message: string): string {
  return message.replace(/ (?:in JSON )?at position \d+.*$/s, "").replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, "");
}
