/**
 * The detectors `std.NAME`, globs and `redact ... with`: for each detector a table of valid,
 * invalid-checksum and look-alike inputs, decided by `matches` and rewritten by
 * `redact ... matching`, in compiled policies and the interpreter alike (docs/language.md,
 * "Detectors", "Globs", §9).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import type { PolicyDecision, PolicyModule } from "../packages/contract/src/index.js";

const noFiles = { readFile: (): undefined => undefined };

async function policy(source: string): Promise<{ decide(input: unknown): PolicyDecision }> {
  const compilation = compileSource("p.armor", source, noFiles);
  expect(compilation.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  if (!compilation.ok) throw new Error("does not compile");
  const module: PolicyModule = await loadModule(emit(compilation).js);
  return {
    decide(input) {
      const compiled = module.decide(input);
      // the interpreter is the definition; the compiled module must agree on every input
      expect(compiled).toEqual(evaluatePolicy(compilation.policy, input).result);
      return compiled;
    },
  };
}

// text: the value of a field; found: whether `matches` finds the detector; redacted: the field after
// `redact ... matching std.NAME with "<X>"`
interface Case {
  readonly text: string;
  readonly found: boolean;
  readonly redacted: string;
}
const yes = (text: string, redacted = "<X>"): Case => ({ text, found: true, redacted });
const no = (text: string): Case => ({ text, found: false, redacted: text });

const RSA = "-----BEGIN RSA PRIVATE KEY-----";
const KEY_LINES = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKh==";

const tables: Record<string, readonly Case[]> = {
  card_number: [
    yes("4111111111111111"),
    yes("4111 1111 1111 1111"),
    yes("4111-1111-1111-1111"),
    yes("card 5500 0000 0000 0004, thanks", "card <X>, thanks"),
    yes("amex 3782-822463-10005", "amex <X>"),
    yes("4222222222222"), // 13 digits
    yes("a 4012888888881881 b 6011111111111117 c", "a <X> b <X> c"),
    yes("bad 4111111111111112 good 4111111111111111", "bad 4111111111111112 good <X>"),
    no("4111111111111112"), // Luhn fails
    no("order 1234567812345678"), // a 16-digit order number that fails Luhn
    no("4111111111111111111"), // 19 digits, Luhn fails
    no("41111111111111110"), // a valid card inside a longer digit run
    no("14111111111111111"),
    yes("4111  1111 1111 1111"), // two spaces
    no("411111111111"), // 12 digits
    no("1234567890123456789012345"), // an order id: 25 digits in one group are not a card
    no("12345678901234567890 4111"), // ...nor 20 digits and a group
    no("41111111111111111234567890"),
    no("4111 1111 1111 111"), // 15 digits, Luhn fails
    no("1111 1111 1111 1111 12 34 56 78"), // every part of 13 to 19 digits from each group fails
    // a run of groups: its parts from a group start to a group end, leftmost start first, then longest
    yes("4111 1111 1111 1111 123", "<X> 123"), // a card and its CVV
    yes("4111-1111-1111-1111 12/27", "<X> 12/27"), // a card and its expiry
    yes("4111 1111 1111 1111 2", "<X> 2"),
    yes("4111 1111 1111 1111 5500 0000 0000 0004", "<X> <X>"), // two cards one space apart
    yes("4111-1111-1111-1111-5500-0000-0000-0004", "<X>-<X>"),
    yes("4111111111111111 5500000000000004", "<X> <X>"),
    yes("ref 12 4111 1111 1111 1111 exp 12 27", "ref 12 <X> exp 12 27"), // a card after a shorter group
    yes("4111 1111 1111 1111 102", "<X>"), // 4111111111111111102 passes too: the longest part is taken
    yes("1 4222222222222 1", "1 <X> 1"), // 13 digits between single digits
    yes("12345 4111111111111111", "12345 <X>"),
    yes("4111111111111111 1234567890123456789012345", "<X> 1234567890123456789012345"),
    // separators a person reads as a card's: no-break and other Unicode spaces, zero-width
    // characters, Unicode dashes, dots
    yes("card 4111\u00a01111\u00a01111\u00a01111 ok", "card <X> ok"),
    yes("4111\u202f1111\u202f1111\u202f1111"),
    yes("4111\u30001111\u30001111\u30001111"),
    yes("4111\u200b1111\u200b1111\u200b1111"),
    yes("4111\ufeff1111\u20601111\u200d1111"),
    yes("4111\u20131111\u20141111\u22121111"),
    yes("4111\uff0d1111\u20101111\u20111111"),
    yes("4111.1111.1111.1111"),
    yes("pay 4111\u00b71111\u00b71111\u00b71111.", "pay <X>."),
    yes("3782.822463.10005"),
    no("4111..1111.1111.1111"), // two dots: two runs, each too short
    yes("4111\t1111\t1111\t1111"), // a tab
    yes("4111\n1111\n1111\n1111"), // a line feed
    yes("4111\r\n1111\r\n1111\r\n1111"), // CR LF
    yes("4111  1111  1111  1111"), // two spaces
    yes("4111 - 1111 - 1111 - 1111"), // a dash between spaces
    yes("4111\u00ad1111\u00ad1111\u00ad1111"), // soft hyphen
    yes("4111\u200e1111\u200f1111\u20661111"), // bidirectional marks and isolates
    yes("4111\u202e1111\u20691111\u20611111"), // an override, a pop, a function application
    yes("4111\u034f1111\u180e1111\u20641111"), // grapheme joiner, Mongolian vowel separator
    yes("4111 \u200b1111 \u200b1111 \u200b1111"), // a space and a zero-width space
    yes("4111\u200b\u200b\u200b-\u200b1111-1111-1111"), // invisible characters around a dash
    no("4111   1111   1111   1111"), // three spaces
    no("4111 -- 1111 -- 1111 -- 1111"), // two dashes
    no("4111\n\n\n1111\n\n\n1111\n\n\n1111"), // three line breaks
    no("4111/1111/1111/1111"),
    // the issuer ranges and lengths of the card networks
    yes("2221000000000009"), // Mastercard 2-series
    yes("6200000000000005"), // UnionPay
    yes("3530111333300000"), // JCB
    yes("36227206271667"), // Diners Club, 14 digits
    yes("6759649826438453"), // Maestro
    yes("6761000000001"), // Maestro, 13 digits
    yes("2200000000000004"), // Mir
    yes("5019717010103742"), // Dankort
    yes("6362970000457013"), // Elo
    yes("5610591081018250"), // Maestro 56
    yes("6771 7980 2100 0008"), // Laser / Maestro 6771
    yes("6767700000000005"), // Maestro UK
    yes("9792000000000003"), // Troy
    yes("5060990000000008"), // Verve
    no("501800000009"), // Maestro issues 12 digits, but a card here has 13 at least
    no("1000 0000 0000 0008"), // Luhn passes, but no network issues 1
    no("order 1234 5678 1234 5670"), // Luhn passes, no network issues 12
    no("0000 0000 0000 0000"),
    no("7000000000000005"),
    no("9900000000000002"),
    no("400000000000006"), // Visa issues 13, 16 and 19 digits, not 15
    no("3700000000000007"), // American Express issues 15 digits, not 16
    no("60000000000000004"), // RuPay issues 16 digits, not 17
    yes("4111 1111 1111 1111 1", "<X> 1"), // 17 digits are not a Visa card: the 16 before are
  ],
  iban: [
    yes("DE89370400440532013000"),
    yes("DE89 3704 0044 0532 0130 00"),
    yes("pay GB82WEST12345698765432 now", "pay <X> now"),
    yes("NL91ABNA0417164300"),
    yes("BE68 5390 0754 7034 BIC GEBABEBB", "<X> BIC GEBABEBB"),
    yes("FR1420041010050500013M02606"),
    yes("NO9386011117947"),
    yes("MT84MALT011000012345MTLCAST001S"),
    yes("to CH9300762011623852957.", "to <X>."),
    no("DE89370400440532013001"), // one digit changed
    no("DE89 3704 0044 0532 0130 01"),
    no("DE8937040044053201300"), // one character short for DE
    no("DE890370400440532013000"), // one too many
    no("XX89370400440532013000"), // no such country
    no("DE89 37040044 0532013000"), // spaces not in groups of four
    no("ADE89370400440532013000"), // inside a word
    no("de89370400440532013000"), // lower case
  ],
  email: [
    yes("john.doe@example.com"),
    yes("write to a+b@mail.example.co.uk today", "write to <X> today"),
    yes("x_y-z@sub-domain.example.org"),
    yes("<alice@example.com>", "<<X>>"),
    no("user@localhost"),
    no("@example.com"),
    no("john@"),
    no("john@example"),
    no("john@example.c0m"),
    no("john at example.com"),
  ],
  us_ssn: [
    yes("123-45-6789"),
    yes("ssn 123-45-6789.", "ssn <X>."),
    yes("665-01-0001"),
    no("000-12-3456"),
    no("666-12-3456"),
    no("912-12-3456"),
    no("123-00-4567"),
    no("123-45-0000"),
    no("123456789"),
    no("1234-56-7890"),
    no("123-45-67890"),
  ],
  secret: [
    yes("AKIAIOSFODNN7EXAMPLE"),
    yes("key=ASIAY34FZKBOKMUTVV7A;", "key=<X>;"),
    yes(`ghp_${"a1B2".repeat(9)}`),
    yes(`token gho_${"Z9".repeat(18)} end`, "token <X> end"),
    yes(`github_pat_${"a".repeat(22)}_${"B".repeat(59)}`),
    yes("glpat-abcdefghij0123456789"),
    yes("xoxb-123456789012-1234567890123-abcdefABCDEF"),
    yes("sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    yes("rk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    yes("sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
    yes("-----BEGIN RSA PRIVATE KEY-----"),
    yes("x -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY----- y", "x <X> y"),
    // without its END line: BEGIN and the base64 block after it, whole lines, up to the first other line
    yes(`${RSA}\n${KEY_LINES}`),
    yes(`${RSA}\n${KEY_LINES}\nThe rest of the message.`, "<X>\nThe rest of the message."),
    yes(`${RSA}\r\n${KEY_LINES.replaceAll("\n", "\r\n")}\r\nbye now`, "<X>\r\nbye now"),
    yes(`key: ${RSA}\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,3F17F5316E2BAC89\n\n${KEY_LINES}\n\nregards`, "key: <X>\n\nregards"),
    yes(`key: |\n  ${RSA}\n  ${KEY_LINES.replaceAll("\n", "\n  ")}\nnext: 1`, "key: |\n  <X>\nnext: 1"),
    yes(`${RSA}\n${KEY_LINES}\n${RSA}\nMIIB\n-- sig`, "<X>\n<X>\n-- sig"),
    yes(`${RSA} MIIE abc`, "<X> MIIE abc"), // key material only on the lines after BEGIN
    yes(`${RSA}\nThanks`, "<X>"), // a one-word line is base64 characters too
    yes(`${RSA}\n\n${KEY_LINES}`, `<X>\n\n${KEY_LINES}`), // a blank line ends the block unless headers come before it
    // with it, through END, also when the line breaks are `\n` escapes in a JSON string
    yes(`"${RSA}\\n${KEY_LINES.replaceAll("\n", "\\n")}\\n-----END RSA PRIVATE KEY-----\\n"`, '"<X>\\n"'),
    yes("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "Bearer <X>"),
    no("AKIA1234"), // too few characters
    no("AKIAIOSFODNN7EXAMPL"),
    no("XAKIAIOSFODNN7EXAMPLE"), // inside a word
    no(`ghp_${"a".repeat(20)}`),
    no(`ghx_${"a".repeat(36)}`),
    no("glpat-short"),
    no("xoxq-123456789012-abc"),
    no("pk_live_4eC39HqLyjWDarjtT1zdp7dc"), // publishable keys are not secrets
    no("-----BEGIN PUBLIC KEY-----"),
    no(`-----BEGIN PUBLIC KEY-----\n${KEY_LINES}`),
    no(`-----BEGIN CERTIFICATE-----\n${KEY_LINES}\n-----END CERTIFICATE-----`),
    no(`-----BEGIN RSA PRIVATE KEY\n${KEY_LINES}`), // a BEGIN line without its dashes
    no("eyJhbGciOiJIUzI1NiJ9"), // one part only
  ],
};

describe.each(Object.entries(tables))("std.%s", (name, cases) => {
  it.each(cases.map((c) => [c.text, c] as const))("%j", async (_text, c) => {
    const p = await policy(`default allow
rule found when action.type == "m" and s matches std.${name} deny
rule hide when action.type == "r" redact s matching std.${name} with "<X>"
`);
    expect(p.decide({ action: { type: "m", s: c.text } }).decision).toBe(c.found ? "deny" : "allow");
    expect(p.decide({ action: { type: "r", s: c.text } }).action).toEqual({ type: "r", s: c.redacted });
  });
});

// The rule of std.card_number written plainly (docs/language.md, "Detectors"): in each run of digit
// groups joined by single separators, the parts from a group's start to a group's end with 13 to
// 19 digits that pass Luhn and start with a network's range, with a length it issues; leftmost
// start first, for each start the longest, then on after it.
// Between two groups: invisible characters, at most one dash or dot, at most two whitespace
// characters on each side of it.
const INVISIBLE = "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*";
const WHITESPACE = `[\t\n\u000b\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]${INVISIBLE}`;
const DASH_OR_DOT = "[\\-.\u00b7\u2010-\u2015\u2024\u2212\ufe58\ufe63\uff0d\uff0e]";
const SEPARATOR = `(?=\\D)${INVISIBLE}(?:${WHITESPACE}){0,2}(?:${DASH_OR_DOT}${INVISIBLE}(?:${WHITESPACE}){0,2})?`;
const NETWORKS: readonly (readonly [RegExp, readonly number[]])[] = [
  [/^4/, [13, 16, 19]], // Visa
  [/^(5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/, [16]], // Mastercard
  [/^3[47]/, [15]], // American Express
  [/^(6011|64[4-9]|65)/, [16, 17, 18, 19]], // Discover
  [/^35(2[89]|[3-8]\d)/, [16, 17, 18, 19]], // JCB
  [/^(36|30[0-5]|3095|3[89])/, [14, 15, 16, 17, 18, 19]], // Diners Club
  [/^62/, [16, 17, 18, 19]], // UnionPay
  [/^(5018|5020|5038|5893|6304|6759|676[1-3])/, [13, 14, 15, 16, 17, 18, 19]], // Maestro
  [/^220[0-4]/, [16, 17, 18, 19]], // Mir
  [/^(60|508|8[12])/, [16]], // RuPay
  [/^(67677[04]|5[6-8])/, [13, 14, 15, 16, 17, 18, 19]], // Maestro UK, Maestro
  [/^(6304|670[69]|6771)/, [16, 17, 18, 19]], // Laser
  [/^5019/, [16]], // Dankort
  [/^(506099|5061([0-8]\d|9[0-8])|5078(6[5-9]|[7-9]\d)|5079([0-5]\d|6[0-4])|6500(0[2-9]|1\d|2[0-7]))/, [16, 18, 19]], // Verve
  [/^(504175|5066(99)|5067([0-6]\d|7[0-8])|509|636297|636368)/, [16]], // Elo
  [/^(9792|8600|9860|2205|63[7-9])/, [16]], // Troy, UzCard, Humo, BORICA, InstaPayment
  [/^606282/, [16, 19]], // Hipercard
  [/^636/, [16, 17, 18, 19]], // InterPayment
  [/^31/, [19]], // China T-Union
  [/^1946/, [16, 18, 19]], // GPN
];
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, odd = false; i >= 0; i--, odd = !odd) {
    const d = Number(digits[i]) * (odd ? 2 : 1);
    sum += d > 9 ? d - 9 : d;
  }
  return sum % 10 === 0;
}
function isCard(digits: string): boolean {
  return luhn(digits) && NETWORKS.some(([prefix, lengths]) => prefix.test(digits) && lengths.includes(digits.length));
}
function redactCards(text: string, replacement: string): string {
  return text.replace(new RegExp(`\\d+(?:${SEPARATOR}\\d+)*`, "g"), (run) => {
    const groups = [...run.matchAll(/\d+/g)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
    const digitsOf = (i: number, j: number): string => run.slice(groups[i]!.start, groups[j]!.end).replace(/\D/g, "");
    let out = "";
    let last = 0;
    for (let i = 0; i < groups.length; i++) {
      let j = groups.length - 1;
      while (j >= i && !(digitsOf(i, j).length >= 13 && digitsOf(i, j).length <= 19 && isCard(digitsOf(i, j)))) j--;
      if (j < i) continue;
      out += run.slice(last, groups[i]!.start) + replacement;
      last = groups[j]!.end;
      i = j;
    }
    return out + run.slice(last);
  });
}

describe("std.card_number against its rule written plainly", () => {
  // digits (often a real card's), single and double separators, other characters
  const piece = fc.oneof(
    fc.constantFrom(
      "4111 1111 1111 1111",
      "4111111111111111",
      "5500-0000-0000-0004",
      "4222222222222",
      "378282246310005",
      "2221.0000.0000.0009",
      "36227206271667",
      "1000000000000008",
      "3700000000000007",
    ),
    fc.stringMatching(/^\d{1,8}$/),
    fc.constantFrom(" ", "-", ".", "\u00a0", "\u2013", "\u200b", "  ", " -", "x", "/", "\n", "\t"),
  );
  it("matches and redacts what the rule says, compiled and interpreted alike", async () => {
    const p = await policy(`default allow
rule found when action.type == "m" and s matches std.card_number deny
rule hide when action.type == "r" redact s matching std.card_number with "<X>"
`);
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((parts) => parts.join("")),
        (text) => {
          const redacted = redactCards(text, "<X>");
          expect(p.decide({ action: { type: "r", s: text } }).action).toEqual({ type: "r", s: redacted });
          expect(p.decide({ action: { type: "m", s: text } }).decision).toBe(redacted === text ? "allow" : "deny");
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("glob", () => {
  const cases: readonly { glob: string; yes: readonly string[]; no: readonly string[] }[] = [
    { glob: "src/**/*.ts", yes: ["src/a.ts", "src/x/y/a.ts", "src/.ts"], no: ["src/a.js", "lib/a.ts", "src/a.ts/b", "xsrc/a.ts"] },
    { glob: "src/**", yes: ["src/", "src/a", "src/a/b/c"], no: ["src", "lib/src/a"] },
    { glob: "*.md", yes: ["README.md", ".md"], no: ["docs/a.md", "a.mdx"] },
    { glob: "file?.txt", yes: ["file1.txt", "fileA.txt"], no: ["file.txt", "file12.txt", "file/.txt"] },
    { glob: "[abc]*", yes: ["a", "bcd"], no: ["d", "", "/a"] },
    { glob: "[!abc]*", yes: ["d", "xyz"], no: ["a", "/x"] },
    { glob: "[a-c]x", yes: ["bx"], no: ["dx"] },
    { glob: "\\*.txt", yes: ["*.txt"], no: ["a.txt"] },
    { glob: "a.b", yes: ["a.b"], no: ["axb"] },
    { glob: "**/.env", yes: [".env", "a/.env", "a/b/.env"], no: ["a.env", "a/b/env"] },
    { glob: "**/**/**/x", yes: ["x", "a/x", "a/b/c/d/x"], no: ["y/xx"] },
    { glob: "(a|b)+", yes: ["(a|b)+"], no: ["a", "ab"] },
  ];
  it.each(cases)("$glob", async ({ glob, yes: matching, no: other }) => {
    const p = await policy(`default allow\nrule g when path matches glob(${JSON.stringify(glob)}) deny\n`);
    for (const path of matching) expect(p.decide({ action: { type: "t", path } }).decision, path).toBe("deny");
    for (const path of other) expect(p.decide({ action: { type: "t", path } }).decision, path).toBe("allow");
  });

  it.each([
    { glob: "src/[abc", column: 5, message: "a glob class has no closing `]`" },
    { glob: "src/[]", column: 5, message: "a glob class is empty" },
    { glob: "a[b/c]", column: 4, message: "a glob class contains `/`" },
    // `.` to `0` spans `/` (U+002E to U+0030): the class would match a separator
    { glob: "x[.-0]y", column: 4, message: "a range in a glob class includes `/`" },
    { glob: "x[!+-9]y", column: 5, message: "a range in a glob class includes `/`" },
  ])("$glob is A116 at column $column", ({ glob, column, message }) => {
    const source = `rule g when path matches glob(${JSON.stringify(glob)}) deny`;
    const c = compileSource("p.armor", source, noFiles);
    const d = c.diagnostics.find((x) => x.code === "A116");
    expect(d?.message).toBe(message);
    // the column inside the string: after `glob("`
    expect(d?.span.start).toBe(source.indexOf('glob("') + 6 + column - 1);
  });

  it("a glob ending with a backslash is A116 on the whole string (it has escapes)", () => {
    const source = 'rule g when path matches glob("abc\\\\") deny';
    const d = compileSource("p.armor", source, noFiles).diagnostics.find((x) => x.code === "A116");
    expect(d?.message).toBe("a glob ends with `\\`");
    expect(d?.span.start).toBe(source.indexOf('"'));
  });
});

describe("redact ... with", () => {
  it.each([
    { effect: 'redact card with "[card]"', action: { type: "t", card: { n: 1 } }, out: { type: "t", card: "[card]" } },
    { effect: "redact card", action: { type: "t", card: 42 }, out: { type: "t", card: "[REDACTED]" } },
    { effect: "redact body matching /\\d+/ with TEXT", action: { type: "t", body: "a1b22" }, out: { type: "t", body: "a#b#" } },
    { effect: 'redact body matching /x/ with ""', action: { type: "t", body: "axbx" }, out: { type: "t", body: "ab" } },
    { effect: 'redact body matching /x/ with "$&$1${x}"', action: { type: "t", body: "x" }, out: { type: "t", body: "$&$1${x}" } },
  ])("$effect", async ({ effect, action, out }) => {
    const p = await policy(`default deny\nlet TEXT = "#"\nrule r when action.type == "t" ${effect}\n`);
    expect(p.decide({ action }).action).toEqual(out);
  });

  it.each([
    { text: "with NOPE", code: "A201" },
    { text: "with N", code: "A318" },
    { text: "with TXT", code: "A201" },
  ])("$text is $code", ({ text, code }) => {
    const c = compileSource("p.armor", `let N = 5\nlet TEXT = "x"\nrule r when action.type == "t" redact body ${text}\n`, noFiles);
    expect(c.diagnostics.map((d) => d.code)).toContain(code);
  });
});

describe("default require approval", () => {
  it.each([
    { header: "default require approval", approval: { from: null, timeoutMs: null } },
    { header: 'default require approval from "ops"', approval: { from: "ops", timeoutMs: null } },
    { header: 'default require approval from "ops" timeout 15m', approval: { from: "ops", timeoutMs: 900_000 } },
    { header: "default require approval timeout 1h", approval: { from: null, timeoutMs: 3_600_000 } },
  ])("$header", async ({ header, approval }) => {
    const p = await policy(`${header}\nrule ok when action.type == "read" allow\nrule no when action.type == "drop" deny\nrule ask when action.type == "pay" require approval from "finance"\n`);
    expect(p.decide({ action: { type: "other" } })).toMatchObject({ decision: "require_approval", approval, rules: [] });
    expect(p.decide({ action: { type: "read" } })).toMatchObject({ decision: "allow", approval: null });
    expect(p.decide({ action: { type: "drop" } })).toMatchObject({ decision: "deny", approval: null });
    expect(p.decide({ action: { type: "pay" } })).toMatchObject({ decision: "require_approval", approval: { from: "finance", timeoutMs: null } });
    // an evaluation error denies, whatever the default
    expect(p.decide({ action: "x" })).toMatchObject({ decision: "deny", approval: null });
  });

  it("is in the module's metadata", async () => {
    const c = compileSource("p.armor", 'default require approval from "ops" timeout 5m\n', noFiles);
    if (!c.ok) throw new Error("does not compile");
    const m: PolicyModule = await loadModule(emit(c).js);
    expect(m.policy.default).toBe("require_approval");
    expect(m.policy.defaultApproval).toEqual({ from: "ops", timeoutMs: 300_000 });
  });
});

describe("pattern names", () => {
  it.each([
    { pattern: "std.ibn", code: "A216", help: "did you mean `std.iban`?" },
    { pattern: "std.phone", code: "A216", help: "the detectors are `std.card_number`, `std.iban`, `std.email`, `std.us_ssn` and `std.secret`" },
    { pattern: "lib.iban", code: "A216", help: "did you mean `std.iban`?" },
    { pattern: "lib.phone", code: "A216", help: "the detectors are `std.card_number`, `std.iban`, `std.email`, `std.us_ssn` and `std.secret`" },
    { pattern: 'glb("src/**")', code: "A209", help: 'the only pattern function is `glob("...")`; a regex is written `/.../`' },
  ])("$pattern is $code", ({ pattern, code, help }) => {
    const c = compileSource("p.armor", `rule r when path matches ${pattern} deny\n`, noFiles);
    const d = c.diagnostics.find((x) => x.code === code);
    expect(d?.help).toBe(help);
  });

  it.each(["5 matches std.iban", "amount matches std.card_number"])("a detector on a non-string is a type error: %s", (cond) => {
    const c = compileSource("p.armor", `let X = 5\nrule r when ${cond.replace("amount", "X")} deny\n`, noFiles);
    expect(c.diagnostics.map((d) => d.code)).toContain("A301");
  });
});
