/**
 * The one way untrusted text (tool names, session ids, approvers, error messages) gets into a
 * log line. A log line is one line of plain text: a tool named "x\narmor mcp: approved" must not
 * forge a second line, and "\x1b[2K" must not rewrite the operator's terminal.
 *
 * Escaped: C0 and C1 control characters and DEL (newline, CR, ESC, NEL, ...), the Unicode line
 * and paragraph separators, the bidirectional overrides and isolates (which reorder what a
 * reader sees), and the backslash itself, so that an escape in the output always means an
 * escaped character. Everything else is kept as it is.
 */

const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeChar(c: string): string {
  return NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** `text` with every character that could break or disguise a log line escaped. */
export function logText(text: unknown): string {
  let s: string;
  try {
    s = String(text);
  } catch {
    s = "[unprintable]";
  }
  return s.replace(UNSAFE, escapeChar);
}

/**
 * A tagged template for log lines: every interpolated value goes through `logText`, the literal
 * parts are the program's own. `logLine\`${name}: ${decision}\``.
 */
export function logLine(parts: TemplateStringsArray, ...values: unknown[]): string {
  let out = parts[0]!;
  for (let i = 0; i < values.length; i++) out += logText(values[i]) + parts[i + 1]!;
  return out;
}
