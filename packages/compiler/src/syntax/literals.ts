/** Decoding of literal forms shared by the parser stage, the checker and the test runner. */

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const units = "ms|s|m|h|d";
/** A duration: a whole number of one unit (`15m`, `10_000ms`). */
const wholeDuration = new RegExp(`^(\\d[\\d_]*)(${units})$`);

/** The longest duration the language accepts: ten years. */
const MAX_DURATION_MS = 10 * 365 * 86_400_000;

/** `15m` → 900000; `null` when malformed or longer than ten years. */
export function parseDuration(text: string): number | null {
  const m = wholeDuration.exec(text);
  if (!m || /__|_$/.test(m[1]!)) return null;
  const n = Number(m[1]!.replace(/_/g, ""));
  const ms = n * unitMs[m[2]!]!;
  return Number.isSafeInteger(ms) && ms <= MAX_DURATION_MS ? ms : null;
}

/** The shortest exact spelling of a duration, e.g. 900000 → `15m`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** What is wrong with a literal, as a diagnostic's message and help. */
export interface LiteralProblem {
  readonly message: string;
  readonly help: string;
}

const misplacedUnderscore = /__|_$|_\.|\._|_[eE]|(?<![0-9])_|_(?![0-9])/;
/** The longest prefix of a run that is a number by itself. */
const numberPrefix = /^\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?/;
/** Digits, then a unit: what a number that is meant as a duration starts with. */
const durationStart = new RegExp(`^\\d[\\d_.]*(?:${units})`);
/** One number-and-unit pair of a compound duration; sticky, so the pairs are read from the start. */
const durationPart = new RegExp(`(\\d[\\d_]*)(${units})`, "gy");
/** A fractional duration (`1.5h`). */
const fractionDuration = new RegExp(`^(\\d[\\d_]*\\.\\d[\\d_]*)(${units})$`);

/**
 * Why the text of a number token is not a number (A105), or null when it is one: misplaced `_`,
 * hexadecimal, a stray `.`, an exponent without digits, letters after the digits, or a value
 * too large for a double.
 */
export function numberProblem(raw: string): LiteralProblem | null {
  if (/^0[xXbBoO]/.test(raw)) {
    const value = Number(raw.replace(/_/g, ""));
    return {
      message: `\`${raw}\` is not a number: there are no hexadecimal, octal or binary numbers`,
      help: Number.isFinite(value) ? `write it in decimal: \`${value}\`` : "write it in decimal",
    };
  }
  if (misplacedUnderscore.test(raw)) return { message: `\`${raw}\` has a misplaced \`_\``, help: "use `_` only between digits, e.g. `10_000`" };
  if ((raw.match(/\./g) ?? []).length > 1) return { message: `\`${raw}\` has more than one \`.\``, help: "a number has at most one `.`, between digits, e.g. `1.5`" };
  if (raw.endsWith(".") || /\.(?!\d)/.test(raw))
    return { message: `\`${raw}\` has no digit after its \`.\``, help: `write \`${raw.slice(0, raw.indexOf("."))}\` or \`${raw.slice(0, raw.indexOf("."))}.0\`` };
  if (/[eE][+-]?$/.test(raw)) return { message: `\`${raw}\` has an exponent without digits`, help: "write the exponent's digits, e.g. `2.5e-3`" };
  const prefix = numberPrefix.exec(raw)?.[0] ?? "";
  if (prefix.length < raw.length) {
    const rest = raw.slice(prefix.length);
    const looksLikeDuration = durationStart.test(raw);
    return {
      message: `\`${raw}\` is not a number: \`${rest}\` follows its digits`,
      help: looksLikeDuration
        ? "durations such as `15m` go only after `within`, after `timeout` and in test steps; elsewhere, write a number"
        : "a number may not be followed directly by a letter or `_`; put a space or an operator after it",
    };
  }
  if (!Number.isFinite(Number(raw.replace(/_/g, "")))) return { message: `\`${raw}\` is too large`, help: "numbers are 64-bit floating point; write a smaller value" };
  return null;
}

/**
 * Why the text of a duration token is not a duration (A106): compound (`1h30m`) and fractional
 * (`1.5h`) durations, with the duration written in one unit when there is one; misplaced `_`;
 * an unknown unit; more than ten years.
 */
export function durationProblem(raw: string): LiteralProblem {
  const digits = /^[\d_.]*/.exec(raw)![0];
  if (misplacedUnderscore.test(digits)) return { message: `\`${raw}\` has a misplaced \`_\``, help: "use `_` only between digits, e.g. `10_000ms`" };
  // sticky: the pairs are read from the start, each character once (a search anywhere would
  // rescan a long run of digits from every position); matchAll reads a copy of the regex
  const parts = [...raw.matchAll(durationPart)];
  if (parts.length > 1 && parts.map((p) => p[0]).join("") === raw) {
    const ms = parts.reduce((sum, p) => sum + Number(p[1]!.replace(/_/g, "")) * unitMs[p[2]!]!, 0);
    return { message: `\`${raw}\` is not a duration: there are no compound durations`, help: oneUnit(ms) };
  }
  const fraction = fractionDuration.exec(raw);
  if (fraction) {
    const ms = Number(fraction[1]!.replace(/_/g, "")) * unitMs[fraction[2]!]!;
    return { message: `\`${raw}\` is not a duration: a duration is a whole number of a unit`, help: oneUnit(ms) };
  }
  if (wholeDuration.test(raw)) return { message: `\`${raw}\` is longer than ten years`, help: "the longest duration is `3650d`" };
  const unit = /^\d[\d_]*([A-Za-z]\w*)$/.exec(raw);
  if (unit) return { message: `\`${raw}\` is not a duration: \`${unit[1]}\` is not a unit`, help: "the units are ms, s, m, h and d, e.g. `15m`" };
  return { message: `\`${raw}\` is not a valid duration`, help: "write a whole number followed by ms, s, m, h or d, e.g. `15m`; at most 10 years" };
}

function oneUnit(ms: number): string {
  if (!Number.isSafeInteger(ms)) return "write a whole number of one unit, e.g. `90m`";
  if (ms > MAX_DURATION_MS) return "durations are at most ten years, `3650d`";
  return `write it in one unit: \`${formatDuration(ms)}\``;
}
