/**
 * The detectors `std.NAME`: each a pattern in the language's regex syntax, compiled by the same
 * linear-time matcher as regex literals, and an optional check run on each candidate match
 * (regex/detector-source.ts), so that `matches` and `redact ... matching` agree. Their docs and
 * examples are language facts (language/facts.ts, `detectors`); the exact rules and their sources
 * are in docs/language.md, "Detectors".
 */
import { CARD_INVISIBLE, CARD_VISIBLE, CARD_WHITESPACE, DETECTOR_CHECKS } from "../regex/index.js";

export interface DetectorDef {
  readonly name: string;
  /** The pattern, in the language's regex syntax. */
  readonly pattern: string;
  /** The pattern's flags: "m" where `$` ends a line (std.secret's PEM block), else "". */
  readonly flags: string;
  /** The check's function name in the matcher source, or null when the pattern decides alone. */
  readonly check: string | null;
}

// 13 to 19 digits joined by separators (invisible characters, at most one dash or dot, at most two
// whitespace characters on each side of it: CARD_INVISIBLE, CARD_VISIBLE, CARD_WHITESPACE): where
// a run of digit groups long enough for a card number starts; the check reads the run and finds
// the card numbers in it.
const hex4 = (c: number): string => `\\u${c.toString(16).padStart(4, "0")}`;
const cls = (ranges: readonly (readonly [number, number])[]): string => `[${ranges.map(([a, b]) => (a === b ? hex4(a) : `${hex4(a)}-${hex4(b)}`)).join("")}]`;
const F = `${cls(CARD_INVISIBLE)}*`;
const W = `${cls(CARD_WHITESPACE)}${F}`;
const CARD_GAP = `${F}(?:${W}){0,2}(?:${cls(CARD_VISIBLE)}${F}(?:${W}){0,2})?`;
const CARD = `\\d(?:${CARD_GAP}\\d){12,18}`;
// Country code, check digits, then 11 to 30 letters or digits, optionally a space before each.
const IBAN = String.raw`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}`;
// The WHATWG "valid email address" production, narrowed for text: a local part of at most 64
// characters, at least one dot in the domain, at most 8 labels before a top-level label of 2 to
// 63 letters.
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const EMAIL = `[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]{1,64}@(?:${LABEL}\\.){1,8}[A-Za-z]{2,63}\\b`;
const SSN = String.raw`\b\d{3}-\d{2}-\d{4}\b`;
// A PEM private key (RFC 7468; RFC 1421 for the `Proc-Type:` and `DEK-Info:` headers of encrypted
// OpenSSL keys): BEGIN through END when an END line follows (the lines between may break with
// CR LF, LF or the two-character escape `\n` of a key held in a JSON or shell string). Without
// one, BEGIN and its block: the whole lines right after it that are headers (then one blank
// line), then the whole lines of base64 characters and `=` (`$` is multiline: the secret
// pattern's flags are "m").
const PEM_BEGIN = "-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY-----";
const PEM_END = "-----END[ A-Z0-9_-]{0,100}PRIVATE KEY-----";
const PEM_HEADER = String.raw`\r?\n[A-Za-z][A-Za-z0-9-]*:[^\r\n]*`;
const PEM_LINE = String.raw`\r?\n[\t ]*[A-Za-z0-9+/=]+[\t ]*$`;
const PEM_BLOCK = `(?:(?:${PEM_HEADER})+(?:\\r?\\n${PEM_LINE})?)?(?:${PEM_LINE})*`;
const PEM = String.raw`${PEM_BEGIN}(?:[A-Za-z0-9+/=\s:,.\\-]*?${PEM_END}|${PEM_BLOCK})`;
// Vendors' published token formats; gitleaks' rules (config/gitleaks.toml) as the public reference.
const SECRETS = [
  String.raw`\b(?:AKIA|ASIA)[A-Z2-7]{16}\b`, // AWS access key id
  String.raw`\bgh[pousr]_[A-Za-z0-9]{36}\b`, // GitHub classic tokens
  String.raw`\bgithub_pat_[A-Za-z0-9_]{82}\b`, // GitHub fine-grained token
  String.raw`\bglpat-[A-Za-z0-9_-]{20}`, // GitLab personal access token
  String.raw`\bxox[bpars]-[A-Za-z0-9-]{10,250}`, // Slack tokens
  String.raw`\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,99}\b`, // Stripe secret and restricted keys
  PEM, // PEM private key
  String.raw`\beyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`, // JWT
];

/** The detectors, in the order the docs list them. */
export const DETECTORS: readonly DetectorDef[] = [
  { name: "card_number", pattern: CARD, flags: "", check: DETECTOR_CHECKS.card_number! },
  { name: "iban", pattern: IBAN, flags: "", check: DETECTOR_CHECKS.iban! },
  { name: "email", pattern: EMAIL, flags: "", check: null },
  { name: "us_ssn", pattern: SSN, flags: "", check: DETECTOR_CHECKS.us_ssn! },
  { name: "secret", pattern: SECRETS.join("|"), flags: "m", check: null },
];

export function detectorDef(name: string): DetectorDef | undefined {
  return DETECTORS.find((d) => d.name === name);
}
