/**
 * The string functions `lower`, `upper` and `host` (semantics.ts `changeCase`, `host`) as SMT
 * terms over a string term. Z3 has no Unicode case tables and no URL parser, so each is exact on a
 * part of the strings that can be described, and free (any value it may take) elsewhere:
 *
 * - `lower`/`upper`: on ASCII text, each letter mapped by `seq.map` (exact: JavaScript's
 *   `toLowerCase` maps ASCII letters alone and leaves the other ASCII characters be); on text with
 *   another character the result is free, because Unicode's mappings are not one character to one
 *   (`"ß".toUpperCase()` is `"SS"`, `"\u212A".toLowerCase()` is the ASCII `"k"`), save that it has no
 *   ASCII letter of the other case (`caseExcluded`). A comparison of the
 *   result with a string literal is asked of the argument instead, as a regex of the literal's
 *   preimages (`casePreimage`), which Z3 decides far better than `seq.map`.
 * - `host`: a string without `:` is no URL (the parser needs a scheme), so `null`; a string of the
 *   shape `http(s)://[user[:pass]@]HOST[.][:PORT][/?#...]` with a host of ASCII lower-case labels
 *   whose last starts with a letter (so it is no IPv4 number) and none starting with `xn--` (so no
 *   punycode to validate) gives HOST, exactly as the WHATWG parser would; anything else is free
 *   (`null` or any string).
 *
 * The three parts of a simple URL are each offered to the solver as a few whole strings first
 * (`https://` or `http://`; the hosts the policy names; nothing, or `/` and the rest), each of
 * which is in its part's language, and as a string of the part's regex last, whose membership is
 * asserted only when taken: Z3 finds a URL whose host is a given name in milliseconds that way,
 * where deriving the host through its regex took it seconds to minutes.
 *
 * Free is sound for proofs (every real value is among the free ones); encode.ts marks it as an
 * approximation (`Vocabulary.exact`), so the solver's first try keeps to the exact part, and a
 * question that has solutions only outside it is reported as not proved rather than as changed.
 */
import { app, type Term } from "./smt.js";

/** The string holds only ASCII characters (U+0000..U+007F). */
export function asciiOnly(s: Term): Term {
  return `(str.in_re ${s} (re.* (re.range "\\u{0}" "\\u{7f}")))`;
}

const LOWER_A = 0x61;
const UPPER_A = 0x41;

/** `c` moved by `delta` when it lies in `from`..`from+25` (one of the two ASCII alphabets). */
function letterMap(from: number, delta: number): string {
  const bv = (n: number): string => `#x${(n & 0xffff).toString(16).padStart(4, "0")}`;
  return `(lambda ((c Unicode)) (ite (and (char.<= (_ Char ${from}) c) (char.<= c (_ Char ${from + 25}))) (char.from_bv (bvadd (char.to_bv c) ${bv(delta)})) c))`;
}

/** `lower(s)`/`upper(s)`, exact when `s` is ASCII (encode.ts leaves other strings' results free). */
export function asciiCaseMap(name: "lower" | "upper", s: Term): Term {
  return name === "lower" ? app("seq.map", letterMap(UPPER_A, 0x20), s) : app("seq.map", letterMap(LOWER_A, -0x20), s);
}

function regexChar(code: number): Term {
  return code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c ? `(str.to_re "${String.fromCharCode(code)}")` : `(str.to_re "\\u{${code.toString(16)}}")`;
}

/**
 * The ASCII strings whose `lower` (or `upper`) is `literal`, as a Z3 regex: a letter of the
 * mapping's case stands for itself and its other case; a letter of the other case, or a character
 * outside ASCII, cannot come from ASCII text, so the regex is empty.
 */
export function casePreimage(name: "lower" | "upper", literal: string): Term {
  const parts: Term[] = [];
  const [own, other] = name === "lower" ? [LOWER_A, UPPER_A] : [UPPER_A, LOWER_A];
  for (let i = 0; i < literal.length; i++) {
    const c = literal.charCodeAt(i);
    if (c > 0x7f || (c >= other && c <= other + 25)) return "re.none";
    parts.push(c >= own && c <= own + 25 ? `(re.union ${regexChar(c)} ${regexChar(c - own + other)})` : regexChar(c));
  }
  if (parts.length === 0) return '(str.to_re "")';
  return parts.length === 1 ? parts[0]! : app("re.++", ...parts);
}

/** The strings `lower` (or `upper`) never gives: those with an ASCII letter of the other case. */
export function caseExcluded(name: "lower" | "upper"): Term {
  const other = name === "lower" ? UPPER_A : LOWER_A;
  return `(re.++ re.all (re.range "${String.fromCharCode(other)}" "${String.fromCharCode(other + 25)}") re.all)`;
}

const re = (s: string): Term => `(str.to_re "${s}")`;
const range = (a: string, b: string): Term => `(re.range "${a}" "${b}")`;
const LETTER = range("a", "z");
const DIGIT = range("0", "9");
/** A host label's characters: ASCII lower-case letters, digits, `-` and `_`. */
const LABEL_CHAR = `(re.union ${LETTER} ${DIGIT} ${re("-")} ${re("_")})`;
const LABEL_REST = `(re.* ${LABEL_CHAR})`;
const LABEL_CLASS = (...ranges: Term[]): Term => `(re.union ${ranges.join(" ")} ${DIGIT} ${re("-")} ${re("_")})`;
/** What may follow a label's leading `x`: anything but `n--` (a label starting with `xn--` is punycode, which the parser decodes and may refuse). */
const AFTER_X = `(re.union ${re("")}
 (re.++ ${LABEL_CLASS(range("a", "m"), range("o", "z"))} ${LABEL_REST})
 (re.++ ${re("n")} (re.union ${re("")} (re.++ (re.union ${LETTER} ${DIGIT} ${re("_")}) ${LABEL_REST})
   (re.++ ${re("-")} (re.union ${re("")} (re.++ (re.union ${LETTER} ${DIGIT} ${re("_")}) ${LABEL_REST}))))))`;
const LABEL = `(re.union (re.++ ${LABEL_CLASS(range("a", "w"), range("y", "z"))} ${LABEL_REST}) (re.++ ${re("x")} ${AFTER_X}))`;
/** The last label starts with a letter, so the parser does not read the host as an IPv4 address. */
const LAST_LABEL = `(re.union (re.++ (re.union ${range("a", "w")} ${range("y", "z")}) ${LABEL_REST}) (re.++ ${re("x")} ${AFTER_X}))`;
/** The host as `host` returns it: labels joined by dots, without the trailing dot. */
export const HOST_REGEX = `(re.++ (re.* (re.++ ${LABEL} ${re(".")})) ${LAST_LABEL})`;
const USER = `(re.* (re.union ${LETTER} ${DIGIT}))`;
/** What comes before the host: the scheme, and user info without `@` or `:` in its parts. */
export const BEFORE_HOST = `(re.++ (re.union ${re("http://")} ${re("https://")}) (re.opt (re.++ ${USER} (re.opt (re.++ ${re(":")} ${USER})) ${re("@")})))`;
/**
 * Whether `s` is in HOST_REGEX's language (the test compares the two): dot-separated labels of
 * ASCII lower-case letters, digits, `-` and `_`, none starting with `xn--`, the last starting with
 * a letter. The host encoding offers such strings of the policy to the solver as whole hosts.
 */
export function isSimpleHost(s: string): boolean {
  const labels = s.split(".");
  return labels.every((l) => /^[a-z0-9_-]+$/.test(l) && !l.startsWith("xn--")) && /^[a-z]/.test(labels.at(-1)!);
}

/** What comes after it: one trailing dot, a port of at most 4 digits (so at most 9999, never refused), then the path, query or fragment. */
export const AFTER_HOST = `(re.++ (re.opt ${re(".")}) (re.opt (re.++ ${re(":")} ((_ re.loop 0 4) ${DIGIT}))) (re.opt (re.++ (re.union ${re("/")} ${re("?")} ${re("#")}) re.all)))`;
