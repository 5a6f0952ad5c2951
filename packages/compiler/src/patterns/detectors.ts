/**
 * The detectors `std.NAME`: each a pattern in the language's regex syntax, compiled by the same
 * linear-time matcher as regex literals, and an optional check run on each candidate match
 * (regex/detector-source.ts), so that `matches` and `redact ... matching` agree. Their docs and
 * examples are language facts (language/facts.ts, `detectors`); the exact rules and their sources
 * are in docs/language.md, "Detectors".
 */
import { DETECTOR_CHECKS } from "../regex/index.js";

export interface DetectorDef {
  readonly name: string;
  /** The pattern, in the language's regex syntax, without flags. */
  readonly pattern: string;
  /** The check's function name in the matcher source, or null when the pattern decides alone. */
  readonly check: string | null;
}

// 13 to 19 digits joined by single spaces or dashes: where a run of digit groups long enough for a
// card number starts; the check reads the run and finds the card numbers in it.
const CARD = String.raw`\d(?:[ -]?\d){12,18}`;
// Country code, check digits, then 11 to 30 letters or digits, optionally a space before each.
const IBAN = String.raw`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}`;
// The WHATWG "valid email address" production, narrowed for text: a local part of at most 64
// characters, at least one dot in the domain, at most 8 labels before a top-level label of 2 to
// 63 letters.
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const EMAIL = `[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]{1,64}@(?:${LABEL}\\.){1,8}[A-Za-z]{2,63}\\b`;
const SSN = String.raw`\b\d{3}-\d{2}-\d{4}\b`;
// Vendors' published token formats; gitleaks' rules (config/gitleaks.toml) as the public reference.
const SECRETS = [
  String.raw`\b(?:AKIA|ASIA)[A-Z2-7]{16}\b`, // AWS access key id
  String.raw`\bgh[pousr]_[A-Za-z0-9]{36}\b`, // GitHub classic tokens
  String.raw`\bgithub_pat_[A-Za-z0-9_]{82}\b`, // GitHub fine-grained token
  String.raw`\bglpat-[A-Za-z0-9_-]{20}`, // GitLab personal access token
  String.raw`\bxox[bpars]-[A-Za-z0-9-]{10,250}`, // Slack tokens
  String.raw`\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,99}\b`, // Stripe secret and restricted keys
  String.raw`-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.-]*?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY-----)?`, // PEM private key
  String.raw`\beyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`, // JWT
];

/** The detectors, in the order the docs list them. */
export const DETECTORS: readonly DetectorDef[] = [
  { name: "card_number", pattern: CARD, check: DETECTOR_CHECKS.card_number! },
  { name: "iban", pattern: IBAN, check: DETECTOR_CHECKS.iban! },
  { name: "email", pattern: EMAIL, check: null },
  { name: "us_ssn", pattern: SSN, check: DETECTOR_CHECKS.us_ssn! },
  { name: "secret", pattern: SECRETS.join("|"), check: null },
];

export function detectorDef(name: string): DetectorDef | undefined {
  return DETECTORS.find((d) => d.name === name);
}
