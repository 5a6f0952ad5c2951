/**
 * The checks of the detectors (`std.card_number`, ...) as JavaScript source text, like
 * `vm-source.ts`: pasted into compiled policies that use a detector with a check (only the checks
 * they use) and instantiated by `vm.ts` for the compiler, so the interpreter and compiled policies
 * run the same code. Our own constant text, never built from user input; plain ES2020, no
 * imports, names that start with `__re`.
 *
 * A check is `(s, start, end) => number`, called by the matcher on each candidate match
 * `s.slice(start, end)` of the detector's pattern (see `__reValidated` in vm-source.ts). It
 * returns the end `m` of the accepted match (`__reAt < m`), whose start is `__reAt` (the
 * candidate's start unless the check moves it forward), or `-r` to reject it and resume the
 * search at `r` (`r > start`). `__reIban` and `__reSsn` cost O(end - start), read no further than
 * `end + 1` and may accept a prefix of their candidate; `__reCard` reads on (see below).
 *
 * The rules (docs/language.md, "Detectors"):
 * - `__reCard`: the candidate starts a run of groups of digits joined by single separators
 *   (invisible characters, at most one dash or dot, a little whitespace); a card number is a part of the run that starts and
 *   ends at group boundaries, has 13 to 19 digits, passes the Luhn check and starts with a card
 *   network's issuer range, with a length that network issues (`CARD_NETWORKS`). The parts are tried leftmost start first and, for each
 *   start, longest first; the first that passes is the match (its start in `__reAt`). The check
 *   reads on past its candidate to the end of the run (at most 19 digits past the last start it
 *   tries) and, when no part passes, the search resumes after the run: each unit of the run is
 *   read a bounded number of times.
 * - `__reIban`: country code, check digits and BBAN, written without spaces or with a space
 *   before every group of four; the length registered for the country (ISO 13616, SEPA
 *   countries), not followed by a letter or digit, and mod-97 of the rearranged number is 1.
 * - `__reSsn`: AAA-GG-SSSS with no area 000, 666 or 900-999, no group 00 and no serial 0000.
 */

/** The names of the check functions, by detector. */
export const DETECTOR_CHECKS: Readonly<Record<string, string>> = {
  card_number: "__reCard",
  iban: "__reIban",
  us_ssn: "__reSsn",
};

// What joins two groups of digits into a run: any number of invisible characters (format
// characters and other default-ignorable code points of the BMP: soft hyphen U+00AD, U+034F,
// U+061C, U+115F-U+1160, U+17B4-U+17B5, U+180B-U+180F, zero-width and bidirectional marks
// U+200B-U+200F, embeddings and overrides U+202A-U+202E, U+2060-U+206F, U+3164, variation
// selectors U+FE00-U+FE0F, U+FEFF, U+FFA0, U+FFF0-U+FFF8) with at most one visible separator, a
// dash (`-`, U+2010-U+2015, minus U+2212, U+FE58, U+FE63, U+FF0D) or a dot (`.`, middle dot U+00B7,
// U+2024, U+FF0E), and at most two whitespace characters on each side of it (tab, line breaks,
// spaces of category Zs): `4111\t1111`, `4111\r\n1111`, `4111 - 1111`, `4111\u00ad1111` are
// joined, `4111..1111` is not. A person reads each of them as one card.
export const CARD_INVISIBLE: readonly (readonly [number, number])[] = [
  [0xad, 0xad],
  [0x34f, 0x34f],
  [0x61c, 0x61c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff0, 0xfff8],
];
export const CARD_WHITESPACE: readonly (readonly [number, number])[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];
export const CARD_VISIBLE: readonly (readonly [number, number])[] = [
  [0x2d, 0x2e],
  [0xb7, 0xb7],
  [0x2010, 0x2015],
  [0x2024, 0x2024],
  [0x2212, 0x2212],
  [0xfe58, 0xfe58],
  [0xfe63, 0xfe63],
  [0xff0d, 0xff0e],
];

/**
 * The card networks' issuer identification number ranges (ISO/IEC 7812-1 IINs, the first digits
 * of a PAN) and the lengths each issues: a run of digits is a card number only when its first
 * digits fall in one of these ranges and its length is one of the range's. `from` and `to` have
 * the same number of digits, at most six. Sources: the networks' published ranges as collected
 * in the "Payment card number" article (Wikipedia, IIN ranges table: Maestro UK, Laser, Dankort,
 * Verve, Troy, Hipercard, UzCard, Humo, BORICA, InterPayment, InstaPayment, China T-Union, GPN),
 * Mastercard's Maestro ranges (56-58), Elo's published BIN list (the ranges outside Visa's 4 and
 * Discover's 65) and Discover's IIN table for its partner networks (Diners Club, JCB, UnionPay).
 * Ranges issued from 12 digits (Maestro) count from 13, the detector's shortest card.
 */
export const CARD_NETWORKS: readonly { network: string; from: string; to: string; lengths: readonly number[] }[] = [
  { network: "Visa", from: "4", to: "4", lengths: [13, 16, 19] },
  { network: "Mastercard", from: "51", to: "55", lengths: [16] },
  { network: "Mastercard", from: "2221", to: "2720", lengths: [16] },
  { network: "American Express", from: "34", to: "34", lengths: [15] },
  { network: "American Express", from: "37", to: "37", lengths: [15] },
  { network: "Discover", from: "6011", to: "6011", lengths: [16, 17, 18, 19] },
  { network: "Discover", from: "644", to: "649", lengths: [16, 17, 18, 19] },
  { network: "Discover", from: "65", to: "65", lengths: [16, 17, 18, 19] },
  { network: "JCB", from: "3528", to: "3589", lengths: [16, 17, 18, 19] },
  { network: "Diners Club", from: "36", to: "36", lengths: [14, 15, 16, 17, 18, 19] },
  { network: "Diners Club", from: "300", to: "305", lengths: [14, 15, 16, 17, 18, 19] },
  { network: "Diners Club", from: "3095", to: "3095", lengths: [14, 15, 16, 17, 18, 19] },
  { network: "Diners Club", from: "38", to: "39", lengths: [14, 15, 16, 17, 18, 19] },
  { network: "UnionPay", from: "62", to: "62", lengths: [16, 17, 18, 19] },
  { network: "Maestro", from: "5018", to: "5018", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Maestro", from: "5020", to: "5020", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Maestro", from: "5038", to: "5038", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Maestro", from: "5893", to: "5893", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Maestro", from: "6304", to: "6304", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Maestro", from: "6759", to: "6759", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Maestro", from: "6761", to: "6763", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Mir", from: "2200", to: "2204", lengths: [16, 17, 18, 19] },
  { network: "RuPay", from: "60", to: "60", lengths: [16] },
  { network: "RuPay", from: "508", to: "508", lengths: [16] },
  { network: "RuPay", from: "81", to: "82", lengths: [16] },
  { network: "Maestro UK", from: "676770", to: "676770", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Maestro UK", from: "676774", to: "676774", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Maestro", from: "56", to: "58", lengths: [13, 14, 15, 16, 17, 18, 19] },
  { network: "Laser", from: "6304", to: "6304", lengths: [16, 17, 18, 19] },
  { network: "Laser", from: "6706", to: "6706", lengths: [16, 17, 18, 19] },
  { network: "Laser", from: "6709", to: "6709", lengths: [16, 17, 18, 19] },
  { network: "Laser", from: "6771", to: "6771", lengths: [16, 17, 18, 19] },
  { network: "Dankort", from: "5019", to: "5019", lengths: [16] },
  { network: "Verve", from: "506099", to: "506198", lengths: [16, 18, 19] },
  { network: "Verve", from: "507865", to: "507964", lengths: [16, 18, 19] },
  { network: "Verve", from: "650002", to: "650027", lengths: [16, 18, 19] },
  { network: "Elo", from: "504175", to: "504175", lengths: [16] },
  { network: "Elo", from: "506699", to: "506778", lengths: [16] },
  { network: "Elo", from: "509000", to: "509999", lengths: [16] },
  { network: "Elo", from: "636297", to: "636297", lengths: [16] },
  { network: "Elo", from: "636368", to: "636368", lengths: [16] },
  { network: "Troy", from: "9792", to: "9792", lengths: [16] },
  { network: "Hipercard", from: "606282", to: "606282", lengths: [16, 19] },
  { network: "UzCard", from: "8600", to: "8600", lengths: [16] },
  { network: "Humo", from: "9860", to: "9860", lengths: [16] },
  { network: "BORICA", from: "2205", to: "2205", lengths: [16] },
  { network: "InterPayment", from: "636", to: "636", lengths: [16, 17, 18, 19] },
  { network: "InstaPayment", from: "637", to: "639", lengths: [16] },
  { network: "China T-Union", from: "31", to: "31", lengths: [19] },
  { network: "GPN", from: "1946", to: "1946", lengths: [16, 18, 19] },
];

// [low, high, divisor, lengths as a bit mask]: the first six digits p of a part are in the range
// when low <= floor(p / divisor) <= high.
const CARD_IINS = CARD_NETWORKS.map((n) => [Number(n.from), Number(n.to), 10 ** (6 - n.from.length), n.lengths.reduce((mask, k) => mask | (1 << k), 0)]);

// A run of digit groups: groups of digits, each joined to the next by one separator. The
// candidate's start is a group's first digit (the search only resumes where no group goes on).
const CARD = `const __reCardIins = ${JSON.stringify(CARD_IINS)};
const __reCardKinds = [${JSON.stringify(CARD_INVISIBLE)}, ${JSON.stringify(CARD_WHITESPACE)}, ${JSON.stringify(CARD_VISIBLE)}];
function __reDigitAt(s, i) {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}
// 1 for an invisible character, 2 for whitespace, 3 for a dash or a dot, else 0.
function __reCardKind(c) {
  for (let k = 0; k < 3; k++) {
    const r = __reCardKinds[k];
    for (let i = 0; i < r.length; i++) if (c >= r[i][0] && c <= r[i][1]) return k + 1;
  }
  return 0;
}
// Where the group after the separator starting at i starts, or -1: invisible characters, at
// most one dash or dot, at most two whitespace characters on each side of it, then a digit.
function __reCardGap(s, i) {
  let n = 0, w = 0, v = 0, c = 0, k = 0;
  for (;; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return n > 0 ? i : -1;
    k = __reCardKind(c);
    if (k === 0) return -1;
    n++;
    if (k === 2 && ++w > 2) return -1;
    if (k === 3) { if (v++ > 0) return -1; w = 0; }
  }
}
// Whether a part of k digits whose first six digits are p is in a network's range and length.
function __reCardIin(p, k) {
  for (let i = 0; i < __reCardIins.length; i++) {
    const e = __reCardIins[i], q = Math.floor(p / e[2]);
    if (q >= e[0] && q <= e[1] && (e[3] & (1 << k)) !== 0) return true;
  }
  return false;
}
// The end of the longest part of the run from the group start g that ends at a group boundary,
// has 13 to 19 digits, passes the Luhn check and is in a network's range and length, or -1. One
// pass over at most 19 digits: Luhn doubles every second digit counted from the right, so a part
// of k digits doubles the digits at even offsets from g when k is even and at odd offsets when k
// is odd; both sums are kept, and the first six digits.
function __reCardFrom(s, g) {
  let i = g, j = 0, k = 0, c = 0, d = 0, p = 0, evenDoubled = 0, oddDoubled = 0, best = -1;
  for (;;) {
    for (c = s.charCodeAt(i); c >= 48 && c <= 57 && k < 19; c = s.charCodeAt(++i)) {
      d = c - 48;
      if (k < 6) p = p * 10 + d;
      if (k++ % 2 === 0) { evenDoubled += d > 4 ? 2 * d - 9 : 2 * d; oddDoubled += d; }
      else { evenDoubled += d; oddDoubled += d > 4 ? 2 * d - 9 : 2 * d; }
    }
    if (c >= 48 && c <= 57) break;
    if (k >= 13 && (k % 2 === 0 ? evenDoubled : oddDoubled) % 10 === 0 && __reCardIin(p, k)) best = i;
    j = __reCardGap(s, i);
    if (j < 0) break;
    i = j;
  }
  return best;
}
function __reCard(s, a) {
  let g = a, e = 0, c = 0;
  for (;;) {
    e = __reCardFrom(s, g);
    if (e > 0) { __reAt = g; return e; }
    for (e = g; __reDigitAt(s, e); e++);
    c = __reCardGap(s, e);
    if (c < 0) return -e;
    g = c;
  }
}
`;

// ISO 13616 registry lengths of the SEPA countries (SWIFT IBAN registry).
const IBAN_LENGTHS = {
  AD: 24,
  AT: 20,
  BE: 16,
  BG: 22,
  CH: 21,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  EE: 20,
  ES: 24,
  FI: 18,
  FR: 27,
  GB: 22,
  GI: 23,
  GR: 27,
  HR: 21,
  HU: 28,
  IE: 22,
  IS: 26,
  IT: 27,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MT: 31,
  NL: 18,
  NO: 15,
  PL: 28,
  PT: 25,
  RO: 24,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  VA: 22,
};

export const IBAN_COUNTRY_LENGTHS: Readonly<Record<string, number>> = IBAN_LENGTHS;

const IBAN = `const __reIbanLengths = new Map(${JSON.stringify(Object.entries(IBAN_LENGTHS))});
function __reIban(s, a, b) {
  const len = __reIbanLengths.get(s.slice(a, a + 2));
  if (len === undefined) return -(a + 1);
  const spaced = s.charCodeAt(a + 4) === 32;
  let i = a, n = 0, rem = 0, c = 0, v = 0;
  // the characters of the IBAN in order, with the first four moved to the end: read from a + 4
  // to the end, then the first four; letters count as two digits (A = 10 ... Z = 35)
  const end = a + len + (spaced ? Math.floor((len - 1) / 4) : 0);
  if (end > b) return -(a + 1);
  for (i = a; i < end; i++) {
    c = s.charCodeAt(i);
    if (spaced && (i - a) % 5 === 4) { if (c !== 32) return -(a + 1); continue; }
    if (c === 32) return -(a + 1);
  }
  if (end < s.length) {
    c = s.charCodeAt(end);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return -(a + 1);
  }
  for (n = 0; n < 2; n++) {
    for (i = n === 0 ? a + 4 : a; i < (n === 0 ? end : a + 4); i++) {
      c = s.charCodeAt(i);
      if (c === 32) continue;
      v = c <= 57 ? c - 48 : c - 55;
      rem = (v > 9 ? rem * 100 + v : rem * 10 + v) % 97;
    }
  }
  return rem === 1 ? end : -(a + 1);
}
`;

const SSN = `function __reSsn(s, a, b) {
  const area = s.slice(a, a + 3), group = s.slice(a + 4, a + 6), serial = s.slice(a + 7, a + 11);
  return area === "000" || area === "666" || area[0] === "9" || group === "00" || serial === "0000" ? -(a + 1) : b;
}
`;

const SOURCES: Readonly<Record<string, string>> = { __reCard: CARD, __reIban: IBAN, __reSsn: SSN };

/** The source of the checks named (function names from `DETECTOR_CHECKS`), in a stable order. */
export function detectorCheckSource(names: Iterable<string>): string {
  const wanted = new Set(names);
  return Object.keys(SOURCES)
    .filter((n) => wanted.has(n))
    .map((n) => SOURCES[n]!)
    .join("");
}

/** Every check's source (the compiler's instance). */
export const ALL_DETECTOR_CHECKS_SOURCE: string = detectorCheckSource(Object.keys(SOURCES));
