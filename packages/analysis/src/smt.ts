/**
 * SMT-LIB 2 terms as text, with the constant folding that keeps encodings of large policies small.
 * The encoding is handed to Z3 as one SMT-LIB script (`Solver.fromString`): the text form is
 * Z3's stable, documented input, and it keeps the encoder independent of the JavaScript API's
 * object model (which is asynchronous and changes between versions).
 */

export type Term = string;

export const TRUE: Term = "true";
export const FALSE: Term = "false";

export function and(...args: Term[]): Term {
  const kept: Term[] = [];
  for (const a of args) {
    if (a === FALSE) return FALSE;
    if (a !== TRUE) kept.push(a);
  }
  if (kept.length === 0) return TRUE;
  return kept.length === 1 ? kept[0]! : `(and ${kept.join(" ")})`;
}

export function or(...args: Term[]): Term {
  const kept: Term[] = [];
  for (const a of args) {
    if (a === TRUE) return TRUE;
    if (a !== FALSE) kept.push(a);
  }
  if (kept.length === 0) return FALSE;
  return kept.length === 1 ? kept[0]! : `(or ${kept.join(" ")})`;
}

export function not(a: Term): Term {
  if (a === TRUE) return FALSE;
  if (a === FALSE) return TRUE;
  return `(not ${a})`;
}

export function ite(c: Term, a: Term, b: Term): Term {
  if (c === TRUE) return a;
  if (c === FALSE) return b;
  if (a === b) return a;
  return `(ite ${c} ${a} ${b})`;
}

/** `(= a b)`, folded when both are the same text or two different numerals. */
export function eq(a: Term, b: Term): Term {
  if (a === b) return TRUE;
  if (isNumeral(a) && isNumeral(b)) return FALSE;
  return `(= ${a} ${b})`;
}

function isNumeral(t: Term): boolean {
  return /^\d+$/.test(t);
}

export function app(op: string, ...args: Term[]): Term {
  return `(${op} ${args.join(" ")})`;
}

/**
 * A string literal. Every character outside printable ASCII, and `"` and `\`, is a `\u{...}`
 * escape, so the text means the same UTF-16 code units under Z3's `bmp` encoding.
 */
export function str(s: string): Term {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c ? s[i] : `\\u{${c.toString(16)}}`;
  }
  return `${out}"`;
}

/** A finite number as an exact real: the shortest decimal JavaScript prints for it, as a fraction. */
export function real(n: number): Term {
  if (!Number.isFinite(n)) throw new Error(`real: ${n} is not finite`);
  const text = String(Math.abs(n));
  const [mantissa, exponentText] = text.split("e");
  const [whole, fraction = ""] = mantissa!.split(".");
  let num = BigInt(whole! + fraction);
  let den = 10n ** BigInt(fraction.length);
  const exponent = Number(exponentText ?? 0);
  if (exponent > 0) num *= 10n ** BigInt(exponent);
  else if (exponent < 0) den *= 10n ** BigInt(-exponent);
  const value = den === 1n ? `${num}.0` : `(/ ${num}.0 ${den}.0)`;
  return n < 0 ? `(- ${value})` : value;
}

/** A character (UTF-16 code unit) as a one-character string literal for `re.range`. */
export function char(c: number): Term {
  return str(String.fromCharCode(c));
}

/** Reads a value Z3 printed for a model: a boolean, an integer, a real (as a number) or a string; undefined for a term. */
export function readModelValue(text: string): boolean | number | string | undefined {
  const t = text.trim();
  if (t === "true") return true;
  if (t === "false") return false;
  if (t.startsWith('"')) return readStringLiteral(t);
  const n = readNumber(t);
  return Number.isNaN(n) ? undefined : n;
}

function readNumber(t: string): number {
  const m = /^\(\s*-\s+(.*)\)$/s.exec(t);
  if (m) return -readNumber(m[1]!);
  const d = /^\(\s*\/\s+(\S+)\s+(\S+)\s*\)$/s.exec(t);
  if (d) return /^\d+(\.0)?$/.test(d[1]!) && /^\d+(\.0)?$/.test(d[2]!) ? ratio(BigInt(d[1]!.replace(/\.0$/, "")), BigInt(d[2]!.replace(/\.0$/, ""))) : Number(d[1]) / Number(d[2]);
  return /^\d+(\.\d+)?$/.test(t) ? Number(t) : Number.NaN;
}

/** n / d as the nearest double, also when n or d is past the largest double (a bounded rounding's model has such fractions). */
function ratio(n: bigint, d: bigint): number {
  const k = Math.max(0, n.toString(2).length - 1000, d.toString(2).length - 1000);
  return Number(n >> BigInt(k)) / Number(d >> BigInt(k));
}

function readStringLiteral(t: string): string {
  let out = "";
  for (let i = 1; i < t.length - 1; i++) {
    const c = t[i]!;
    if (c === '"' && t[i + 1] === '"') {
      out += '"';
      i++;
    } else if (c === "\\" && t[i + 1] === "u") {
      const braced = /^\\u\{([0-9a-fA-F]+)\}/.exec(t.slice(i));
      const plain = /^\\u([0-9a-fA-F]{4})/.exec(t.slice(i));
      const m = braced ?? plain;
      if (!m) {
        out += c;
        continue;
      }
      out += String.fromCharCode(Number.parseInt(m[1]!, 16));
      i += m[0].length - 1;
    } else out += c;
  }
  return out;
}
