/**
 * A decision input as JSON text (`armorc eval --input`, the language server's evaluate command):
 * nesting checked before parsing (deciding, explaining and printing recurse on it), then
 * `parseJsonText`, then numbers JSON reads as infinite refused; every failure is one diagnostic
 * at the offending position.
 */
import { catalog } from "./diagnostics/catalog.js";
import { makeDiagnostic } from "./diagnostics/diagnostic.js";
import { parseJsonText } from "./json-text.js";
import { jsonTooDeepAt, MAX_NESTING } from "./nesting.js";
import { span } from "./syntax/source.js";

/** Parses JSON input; a syntax error becomes a diagnostic at the offending position. */
export function parseJsonInput(name: string, text: string): { ok: true; value: unknown } | { ok: false; diagnostic: ReturnType<typeof makeDiagnostic> } {
  // deciding, explaining and printing the input all recurse on its nesting
  const deep = jsonTooDeepAt(text);
  if (deep >= 0) {
    return {
      ok: false,
      diagnostic: makeDiagnostic(catalog.nestingTooDeep, name, span(deep, deep + 1), `the input nests deeper than ${MAX_NESTING} levels`, {
        help: `lists and objects in an input may nest at most ${MAX_NESTING} deep`,
      }),
    };
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    return {
      ok: false,
      diagnostic: makeDiagnostic(catalog.inputInvalidJson, name, span(parsed.start, parsed.end), `the input is not valid JSON: ${parsed.message}`, {
        help: 'an input is a JSON object such as `{ "action": { "type": "send_email" } }`',
      }),
    };
  }
  // JSON reads 1e400 as Infinity: a number that is not finite is invalid input, as in the runtime
  const huge = nonFiniteNumber(text);
  if (huge !== null) {
    return {
      ok: false,
      diagnostic: makeDiagnostic(catalog.inputInvalid, name, span(huge.start, huge.end), `the number \`${huge.text.length > 40 ? `${huge.text.slice(0, 40)}…` : huge.text}\` has no finite value`, {
        help: "numbers in an input must lie within about ±1.8e308",
      }),
    };
  }
  return { ok: true, value: parsed.value };
}

/** The first number token of valid JSON text whose value is not finite (JSON.parse reads it as ±Infinity). */
function nonFiniteNumber(text: string): { start: number; end: number; text: string } | null {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      // digits, '.', exponent and its sign: the rest of a number token of valid JSON
      while (j < text.length && /[0-9.eE+-]/.test(text[j]!)) j++;
      const token = text.slice(i, j);
      if (!Number.isFinite(Number(token))) return { start: i, end: j, text: token };
      i = j - 1;
    }
  }
  return null;
}
