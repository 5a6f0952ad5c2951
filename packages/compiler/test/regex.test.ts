/**
 * Tests for the linear-time regex engine: a table of supported features checked against expected
 * results (and against JavaScript's RegExp, which every accepted pattern must agree with), a table
 * of rejected patterns, a differential property test against RegExp, and patterns that make
 * backtracking matchers take exponential or quadratic time.
 */
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  compileRegex,
  createMatcher,
  MAX_PROGRAM_SIZE,
  parseRegex,
  REGEX_LENGTH_SOURCE,
  REGEX_VM_SOURCE,
  RegexLimitError,
  RegexSyntaxError,
  type RegexVm,
  regexReplace,
  regexTest,
} from "../src/regex/index.js";

/** Replaces every match like `s.replace(/p/fg, () => "#")`. */
function jsReplace(pattern: string, flags: string, input: string, replacement = "#"): string {
  return input.replace(new RegExp(pattern, `${flags}g`), () => replacement);
}

interface MatchCase {
  readonly pattern: string;
  readonly flags?: string;
  readonly input: string;
  readonly test: boolean;
  /** The input with every match replaced by `#`. */
  readonly replaced: string;
}

const matchCases: readonly MatchCase[] = [
  // literals and escapes
  { pattern: "secret", input: "top secret file", test: true, replaced: "top # file" },
  { pattern: "secret", input: "s3cret", test: false, replaced: "s3cret" },
  { pattern: "a\\.b", input: "a.b axb", test: true, replaced: "# axb" },
  { pattern: "\\/etc\\/passwd", input: "cat /etc/passwd", test: true, replaced: "cat #" },
  { pattern: "\\(\\)\\[\\]\\{\\}\\*\\+\\?\\|\\^\\$\\\\", input: "x()[]{}*+?|^$\\y", test: true, replaced: "x#y" },
  { pattern: "\\n\\r\\t\\v\\f\\0", input: "a\n\r\t\v\f\0b", test: true, replaced: "a#b" },
  { pattern: "\\x41\\u00e9\\cJ", input: "Aé\n", test: true, replaced: "#" },
  { pattern: "]}{", input: "a]}{b", test: true, replaced: "a#b" },
  { pattern: "\u00e9t\u00e9", input: "\u00e9t\u00e9!", test: true, replaced: "#!" },
  // SSNs
  {
    pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b",
    input: "call 123-45-6789 or 987-65-4321",
    test: true,
    replaced: "call # or #",
  },
  { pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b", input: "id 1123-45-6789", test: false, replaced: "id 1123-45-6789" },
  // classes
  { pattern: "\\d+", input: "a12b345", test: true, replaced: "a#b#" },
  { pattern: "\\D+", input: "a12b345", test: true, replaced: "#12#345" },
  { pattern: "\\w+", input: "hi, you_2!", test: true, replaced: "#, #!" },
  { pattern: "\\W", input: "a-b c", test: true, replaced: "a#b#c" },
  { pattern: "\\s+", input: "a \t\n\u00a0\u2028\ufeffb", test: true, replaced: "a#b" },
  { pattern: "\\S+", input: "ab  cd", test: true, replaced: "#  #" },
  { pattern: "[a-c]+", input: "abcd", test: true, replaced: "#d" },
  { pattern: "[^a-c]", input: "abcd", test: true, replaced: "abc#" },
  { pattern: "[\\d.]+", input: "v1.2.3!", test: true, replaced: "v#!" },
  { pattern: "[\\w-]+", input: "foo-bar baz", test: true, replaced: "# #" },
  { pattern: "[a\\-z]", input: "b-", test: true, replaced: "b#" },
  { pattern: "[-a]", input: "-a", test: true, replaced: "##" },
  { pattern: "[a-]", input: "-a", test: true, replaced: "##" },
  { pattern: "[\\]\\\\]", input: "a]\\", test: true, replaced: "a##" },
  { pattern: "[\\b]", input: "a\bb", test: true, replaced: "a#b" },
  { pattern: "[\\s\\S]", input: "a\n", test: true, replaced: "##" },
  { pattern: "[^\\s]", input: "a b", test: true, replaced: "# #" },
  { pattern: "[]", input: "abc", test: false, replaced: "abc" },
  { pattern: "[^]", input: "a\n", test: true, replaced: "##" },
  { pattern: "[\\x41-\\x43]", input: "ABCD", test: true, replaced: "###D" },
  // dot and dotAll
  { pattern: "a.c", input: "abc a\nc", test: true, replaced: "# a\nc" },
  { pattern: "a.c", flags: "s", input: "abc a\nc", test: true, replaced: "# #" },
  { pattern: ".+", input: "ab\r\ncd\u2028e", test: true, replaced: "#\r\n#\u2028#" },
  // anchors, with and without m
  { pattern: "^a", input: "ab\nab", test: true, replaced: "#b\nab" },
  { pattern: "^a", flags: "m", input: "ab\nab", test: true, replaced: "#b\n#b" },
  { pattern: "b$", input: "ab\nab", test: true, replaced: "ab\na#" },
  { pattern: "b$", flags: "m", input: "ab\nab", test: true, replaced: "a#\na#" },
  { pattern: "^$", input: "", test: true, replaced: "#" },
  { pattern: "^$", flags: "m", input: "a\n\nb", test: true, replaced: "a\n#\nb" },
  { pattern: "^", flags: "m", input: "a\r\nb", test: true, replaced: "#a\r#\n#b" },
  { pattern: "\\bcat\\b", input: "cat concat cat.", test: true, replaced: "# concat #." },
  { pattern: "\\Bcat", input: "cat concat", test: true, replaced: "cat con#" },
  { pattern: "\\b", input: "ab cd", test: true, replaced: "#ab# #cd#" },
  // alternation priority and groups
  { pattern: "a|ab", input: "abab", test: true, replaced: "#b#b" },
  { pattern: "ab|a", input: "abab", test: true, replaced: "##" },
  { pattern: "(a|ab)(c|bcd)", input: "abcd", test: true, replaced: "#" },
  { pattern: "(?:cat|dog)s?", input: "cats and dog", test: true, replaced: "# and #" },
  { pattern: "(?<word>ab)+", input: "ababa", test: true, replaced: "#a" },
  { pattern: "x(|y)", input: "xy", test: true, replaced: "#y" },
  // greedy and lazy
  { pattern: "<.+>", input: "<a><b>", test: true, replaced: "#" },
  { pattern: "<.+?>", input: "<a><b>", test: true, replaced: "##" },
  { pattern: "a{2,3}", input: "aaaaaaa", test: true, replaced: "##a" },
  { pattern: "a{2,3}?", input: "aaaaaaa", test: true, replaced: "###a" },
  { pattern: "a{2}", input: "aaaaa", test: true, replaced: "##a" },
  { pattern: "a{2,}", input: "a aa aaaaa", test: true, replaced: "a # #" },
  { pattern: "a{2,}?", input: "aaaaa", test: true, replaced: "##a" },
  { pattern: "a??b", input: "ab b", test: true, replaced: "# #" },
  { pattern: "a*?b", input: "aab", test: true, replaced: "#" },
  { pattern: "a+?", input: "aaa", test: true, replaced: "###" },
  { pattern: "a{0}b", input: "ab", test: true, replaced: "a#" },
  // empty matches
  { pattern: "", input: "abc", test: true, replaced: "#a#b#c#" },
  { pattern: "", input: "", test: true, replaced: "#" },
  { pattern: "a*", input: "baaa", test: true, replaced: "#b##" },
  { pattern: "a*?", input: "aa", test: true, replaced: "#a#a#" },
  { pattern: "(?:)*", input: "ab", test: true, replaced: "#a#b#" },
  // JavaScript rejects empty optional iterations and tries the next alternative
  { pattern: "(?:|a)?", input: "a", test: true, replaced: "##" },
  { pattern: "(?:|a)*", input: "aab", test: true, replaced: "##b#" },
  { pattern: "(?:|a){0,2}", input: "aab", test: true, replaced: "##b#" },
  { pattern: "(a*)*b", input: "aab", test: true, replaced: "#" },
  { pattern: "(?:a?)+?b", input: "aab", test: true, replaced: "#" },
  // case-insensitivity
  { pattern: "secret", flags: "i", input: "SeCrEt", test: true, replaced: "#" },
  { pattern: "[a-c]+", flags: "i", input: "xAbCx", test: true, replaced: "x#x" },
  { pattern: "[^a-c]", flags: "i", input: "aBd", test: true, replaced: "aB#" },
  { pattern: "\u00e9", flags: "i", input: "\u00c9", test: true, replaced: "#" },
  { pattern: "\u00b5", flags: "i", input: "\u03bc\u039c", test: true, replaced: "##" },
  { pattern: "s", flags: "i", input: "\u017f", test: false, replaced: "\u017f" },
  { pattern: "k", flags: "i", input: "\u212a", test: false, replaced: "\u212a" },
  { pattern: "\u00df", flags: "i", input: "SS", test: false, replaced: "SS" },
  { pattern: "\\w", flags: "i", input: "\u017f\u212a", test: false, replaced: "\u017f\u212a" },
];

interface RejectCase {
  readonly pattern: string;
  readonly flags?: string;
  /** A fragment of the expected message. */
  readonly message: string;
  readonly offset: number;
}

const rejectCases: readonly RejectCase[] = [
  { pattern: "(a)\\1", message: "backreference", offset: 3 },
  { pattern: "(?<n>a)\\k<n>", message: "backreference", offset: 7 },
  { pattern: "a(?=b)", message: "lookahead", offset: 1 },
  { pattern: "a(?!b)", message: "lookahead", offset: 1 },
  { pattern: "(?<=a)b", message: "lookbehind", offset: 0 },
  { pattern: "(?<!a)b", message: "lookbehind", offset: 0 },
  { pattern: "\\p{L}", message: "unicode property escapes", offset: 0 },
  { pattern: "[\\P{L}]", message: "unicode property escapes", offset: 1 },
  { pattern: "a", flags: "g", message: "flag `g`", offset: 2 },
  { pattern: "ab", flags: "iy", message: "flag `y`", offset: 4 },
  { pattern: "a", flags: "u", message: "flag `u`", offset: 2 },
  { pattern: "a", flags: "v", message: "flag `v`", offset: 2 },
  { pattern: "a", flags: "d", message: "flag `d`", offset: 2 },
  { pattern: "a", flags: "x", message: "unknown regex flag `x`", offset: 2 },
  { pattern: "a", flags: "ii", message: "duplicate regex flag `i`", offset: 3 },
  { pattern: "a{1001}", message: "above the limit of 1000", offset: 1 },
  { pattern: "a{2,5000}", message: "above the limit of 1000", offset: 1 },
  { pattern: "(?:a{1000}){1000}", message: "too large", offset: 11 },
  { pattern: "(?:(?:ab|cd){100}x){300}", message: "too large", offset: 19 },
  { pattern: "a{3,2}", message: "out of order", offset: 1 },
  { pattern: "*a", message: "nothing to repeat", offset: 0 },
  { pattern: "a|+", message: "nothing to repeat", offset: 2 },
  { pattern: "(?)", message: "unsupported group syntax", offset: 0 },
  { pattern: "(*)", message: "nothing to repeat", offset: 1 },
  { pattern: "a**", message: "nothing to repeat", offset: 2 },
  { pattern: "a{2}{3}", message: "nothing to repeat", offset: 4 },
  { pattern: "a???", message: "nothing to repeat", offset: 3 },
  { pattern: "{2}", message: "nothing to repeat", offset: 0 },
  { pattern: "^*", message: "cannot be repeated", offset: 1 },
  { pattern: "\\b+", message: "cannot be repeated", offset: 2 },
  { pattern: "a{,3}x", message: "`{,3}` is not a quantifier", offset: 1 },
  { pattern: "(ab", message: "unclosed group", offset: 0 },
  { pattern: "a(b(c)", message: "unclosed group", offset: 1 },
  { pattern: "ab)", message: "unmatched `)`", offset: 2 },
  { pattern: "[ab", message: "unclosed character class", offset: 0 },
  { pattern: "x[^", message: "unclosed character class", offset: 1 },
  { pattern: "[z-a]", message: "out of order", offset: 1 },
  { pattern: "[\\d-z]", message: "cannot bound a range", offset: 3 },
  { pattern: "[\\B]", message: "inside a character class", offset: 1 },
  { pattern: "ab\\", message: "lone backslash", offset: 2 },
  { pattern: "\\q", message: "unknown escape `\\q`", offset: 0 },
  { pattern: "\\xZ1", message: "two hex digits", offset: 0 },
  { pattern: "\\u12", message: "four hex digits", offset: 0 },
  { pattern: "\\u{1F600}", message: "`\\u{...}`", offset: 0 },
  { pattern: "\\c1", message: "followed by a letter", offset: 0 },
  { pattern: "\\01", message: "legacy octal", offset: 0 },
  { pattern: "[\\1]", message: "legacy octal", offset: 1 },
  { pattern: "(?<1a>x)", message: "invalid group name", offset: 0 },
  { pattern: "(?<a>x)(?<a>y)", message: "duplicate group name `a`", offset: 7 },
  { pattern: "(?i:a)", message: "unsupported group syntax", offset: 0 },
  { pattern: `${"(".repeat(300)}a${")".repeat(300)}`, message: "nested", offset: 200 },
];

describe("regex matching", () => {
  it.each(matchCases.map((c) => ({ flags: "", ...c })))("/$pattern/$flags on $input", ({ pattern, flags, input, test, replaced }) => {
    const re = compileRegex(pattern, flags);
    expect(re.test(input)).toBe(test);
    expect(re.replace(input, "#")).toBe(replaced);
    // The table itself must agree with JavaScript.
    expect(new RegExp(pattern, flags).test(input)).toBe(test);
    expect(jsReplace(pattern, flags, input)).toBe(replaced);
  });

  it("inserts the replacement verbatim", () => {
    expect(compileRegex("\\d+").replace("a1b22", "$&[$1]")).toBe("a$&[$1]b$&[$1]");
    expect(compileRegex("x").replace("axbx", "")).toBe("ab");
  });

  it("compiles to programs of non-negative integers", () => {
    for (const { pattern, flags = "" } of matchCases) {
      const result = parseRegex(pattern, flags);
      if (!result.ok) throw new Error(result.message);
      expect(result.program.every((word) => Number.isInteger(word) && word >= 0)).toBe(true);
    }
  });

  it("runs programs that went through JSON", () => {
    const result = parseRegex("\\b[a-z]+@[a-z]+\\.com\\b", "i");
    if (!result.ok) throw new Error(result.message);
    const program = JSON.parse(JSON.stringify(result.program)) as number[];
    expect(program.every((word) => Number.isInteger(word))).toBe(true);
    expect(regexReplace(program, "mail Bob@Example.com now", "[email]")).toBe("mail [email] now");
    expect(regexTest(program, "no address")).toBe(false);
  });

  it("reports literals so callers can use includes", () => {
    const literal = (source: string, flags = ""): string | null => {
      const result = parseRegex(source, flags);
      if (!result.ok) throw new Error(result.message);
      return result.literal;
    };
    expect(literal("secret")).toBe("secret");
    expect(literal("a\\.b\\/c")).toBe("a.b/c");
    expect(literal("")).toBe("");
    expect(literal("secret", "i")).toBeNull();
    expect(literal("secret", "m")).toBeNull();
    expect(literal("^secret")).toBeNull();
    expect(literal("secrets?")).toBeNull();
    expect(literal("a|b")).toBeNull();
    expect(literal("a.b")).toBeNull();
    expect(literal("\\d")).toBeNull();
  });

  // Compare every UTF-16 code unit at once: one replace over a string holding all of them.
  const everyUnit = Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)).join("");
  it.each([
    ["a", "i"],
    ["K", "i"],
    ["s", "i"],
    ["[a-z]", "i"],
    ["[^a-z]", "i"],
    ["[A-Z\\d]", "i"],
    ["\\w", "i"],
    ["\\W", "i"],
    ["[\\u00c0-\\u024f]", "i"],
    ["[\\u0370-\\u052f]", "i"],
    ["[^\\u0100-\\uffff]", "i"],
    ["[\\u1e00-\\u1fff\\u2c00-\\u2dff\\ua640-\\uabff\\uff00-\\uffff]", "i"],
    ["\\u0130|\\u0131|\\u00df|\\u1e9e|\\u01c5|\\u03c2", "i"],
    [".", "i"],
    [".", ""],
    [".", "s"],
    ["\\s", ""],
    ["\\S", ""],
    ["\\d", "i"],
    ["\\b", ""],
    ["^|$", "m"],
  ])("agrees with RegExp on every code unit for /%s/%s", (pattern, flags) => {
    expect(compileRegex(pattern, flags).replace(everyUnit, "#")).toBe(jsReplace(pattern, flags, everyUnit));
  });
});

describe("rejected regexes", () => {
  it.each(rejectCases.map((c) => ({ flags: "", ...c })))("/$pattern/$flags: $message", ({ pattern, flags, message, offset }) => {
    const result = parseRegex(pattern, flags);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain(message);
    expect(result.offset).toBe(offset);
    // Messages are one lowercase line without a final period; advice goes in help.
    expect(result.message).toMatch(/^[a-z`]/);
    expect(result.message).not.toMatch(/[.\n]$/);
    expect(result.message).not.toContain("\n");
    expect(result.help).toBeTruthy();
    expect(() => compileRegex(pattern, flags)).toThrow(RegexSyntaxError);
  });

  it("explains that every match is found anyway for redaction", () => {
    const result = parseRegex("x", "g");
    expect(!result.ok && result.help).toContain("every match");
  });

  it("accepts a program just under the size limit", () => {
    const result = parseRegex("a{1000}b{1000}", "");
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.program.length).toBeLessThan(3 * MAX_PROGRAM_SIZE);
  });
});

// ---------------------------------------------------------------------------------------------
// Differential testing against RegExp

const ALPHABET = ["a", "b", "c", "A", "1", "2", " ", "\n"] as const;

const quantifier = fc.tuple(fc.constantFrom("", "", "", "*", "+", "?", "{2}", "{0,2}", "{1,3}", "{0}", "{2,}", "{0,1}"), fc.boolean()).map(([q, lazy]) => (q !== "" && lazy ? `${q}?` : q));

const classItem = fc.constantFrom("a", "b", "A", "1", " ", "a-c", "0-9", "A-Z", "\\d", "\\w", "\\s", "\\n", "\\-", "\\W");
const charClass = fc.tuple(fc.boolean(), fc.array(classItem, { maxLength: 3 })).map(([negated, items]) => `[${negated ? "^" : ""}${items.join("")}]`);

const simpleAtom = fc.oneof(fc.constantFrom("a", "b", "c", "A", "1", " ", "\\n", "-"), fc.constantFrom("\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "."), charClass);

const { pattern } = fc.letrec<{ pattern: string; sequence: string; term: string; atom: string }>((tie) => ({
  pattern: fc.array(tie("sequence"), { minLength: 1, maxLength: 3, depthIdentifier: "regex" }).map((alternatives) => alternatives.join("|")),
  sequence: fc.array(tie("term"), { maxLength: 3, depthIdentifier: "regex" }).map((terms) => terms.join("")),
  term: fc.oneof({ weight: 1, arbitrary: fc.constantFrom("^", "$", "\\b", "\\B") }, { weight: 5, arbitrary: fc.tuple(tie("atom"), quantifier).map(([atom, q]) => atom + q) }),
  atom: fc.oneof(
    { maxDepth: 2, depthSize: "small" },
    simpleAtom,
    fc.tuple(fc.constantFrom("(", "(?:"), tie("pattern")).map(([open, body]) => `${open}${body})`),
  ),
}));

/** Runs of each property; raise with REGEX_FUZZ_RUNS for a longer search. */
const runs = Number(process.env.REGEX_FUZZ_RUNS ?? "1");

const flags = fc.subarray(["i", "m", "s"]).map((list) => list.join(""));
const input = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 12 });

/**
 * RegExp as the oracle, run in a worker thread: random patterns can make RegExp itself backtrack
 * for minutes on a 12-character input (the very problem this engine solves), so each call gets a
 * time budget and a sample whose reference answer takes too long is skipped. The worker answers
 * through shared memory, so the property stays synchronous.
 */
class RegExpOracle {
  /**
   * Shared memory: `ctl` = [request number, request length, answered number, response length];
   * `req` and `res` hold the request and response JSON as UTF-16 code units.
   */
  private static readonly WORKER_SOURCE = `
    const { ctl: c, req: q, res: r } = require("node:worker_threads").workerData;
    const ctl = new Int32Array(c), req = new Uint16Array(q), res = new Uint16Array(r);
    let seen = 0;
    for (;;) {
      Atomics.wait(ctl, 0, seen);
      const seq = Atomics.load(ctl, 0);
      if (seq === seen) continue;
      seen = seq;
      let text = "";
      for (let i = 0; i < ctl[1]; i++) text += String.fromCharCode(req[i]);
      const { source, flags, inputs } = JSON.parse(text);
      const answer = JSON.stringify(inputs.map((s) => [
        new RegExp(source, flags).test(s),
        s.replace(new RegExp(source, flags + "g"), () => "#"),
      ]));
      for (let i = 0; i < answer.length; i++) res[i] = answer.charCodeAt(i);
      ctl[3] = answer.length;
      Atomics.store(ctl, 2, seq);
      Atomics.notify(ctl, 2);
    }`;
  private worker: Worker | null = null;
  private ctl = new Int32Array(new SharedArrayBuffer(16));
  private req = new Uint16Array(new SharedArrayBuffer(0));
  private res = new Uint16Array(new SharedArrayBuffer(0));
  private seq = 0;
  skipped = 0;

  /** `[test, replaced]` per input, or null if RegExp took longer than `budgetMs`. */
  run(source: string, flagText: string, inputs: readonly string[], budgetMs = 250): [boolean, string][] | null {
    if (this.worker === null) {
      const ctl = new SharedArrayBuffer(16);
      const req = new SharedArrayBuffer(1 << 20);
      const res = new SharedArrayBuffer(1 << 20);
      this.ctl = new Int32Array(ctl);
      this.req = new Uint16Array(req);
      this.res = new Uint16Array(res);
      this.seq = 0;
      this.worker = new Worker(RegExpOracle.WORKER_SOURCE, { eval: true, workerData: { ctl, req, res } });
      this.worker.unref();
      budgetMs = Math.max(budgetMs, 10_000); // includes the worker's start-up
    }
    const request = JSON.stringify({ source, flags: flagText, inputs });
    for (let i = 0; i < request.length; i++) this.req[i] = request.charCodeAt(i);
    this.ctl[1] = request.length;
    const seq = ++this.seq;
    Atomics.store(this.ctl, 0, seq);
    Atomics.notify(this.ctl, 0);
    Atomics.wait(this.ctl, 2, seq - 1, budgetMs);
    if (Atomics.load(this.ctl, 2) !== seq) {
      this.stop();
      this.skipped++;
      return null;
    }
    let response = "";
    for (let i = 0; i < (this.ctl[3] ?? 0); i++) response += String.fromCharCode(this.res[i] ?? 0);
    return JSON.parse(response) as [boolean, string][];
  }

  stop(): void {
    void this.worker?.terminate();
    this.worker = null;
  }
}

const oracle = new RegExpOracle();
afterAll(() => oracle.stop());

/** Throws if the engine and RegExp disagree on any input (plain comparisons keep runs fast). */
function checkAgainstRegExp(source: string, flagText: string, inputs: readonly string[], matcher?: RegexVm): void {
  const result = parseRegex(source, flagText);
  if (!result.ok) throw new Error(`/${source}/${flagText} rejected: ${result.message}`);
  new RegExp(source, flagText); // every accepted pattern must be valid JavaScript (compiling is quick)
  const expected = oracle.run(source, flagText, inputs);
  if (expected === null) return;
  inputs.forEach((text, i) => {
    const [expectedTest, expectedReplace] = expected[i] ?? [false, ""];
    const where = `/${source}/${flagText} on ${JSON.stringify(text)}`;
    const tested = matcher ? matcher.test(result.program, text) : regexTest(result.program, text);
    if (tested !== expectedTest) throw new Error(`test ${where}: got ${tested}, RegExp says ${expectedTest}`);
    const replaced = matcher ? matcher.replace(result.program, text, "#") : regexReplace(result.program, text, "#");
    if (replaced !== expectedReplace) {
      throw new Error(`replace ${where}: got ${JSON.stringify(replaced)}, RegExp says ${JSON.stringify(expectedReplace)}`);
    }
  });
}

describe("regex differential testing against RegExp", () => {
  it(
    "agrees on random patterns and inputs",
    () => {
      fc.assert(
        fc.property(pattern, flags, fc.array(input, { minLength: 1, maxLength: 4 }), (source, flagText, inputs) => {
          checkAgainstRegExp(source, flagText, inputs);
        }),
        { numRuns: 5000 * runs },
      );
      // Nearly every sample must have been checked.
      expect(oracle.skipped).toBeLessThan(50 * runs);
    },
    120_000 * runs,
  );

  // Nested, possibly empty repetitions are where a Pike VM most easily departs from JavaScript's
  // backtracking order (empty iterations, lazy loops, counted copies).
  const emptyish = fc.constantFrom("", "a", "b", "a?", "b*", "a*?", "(?:a|)", "(?:|b)", "\\b", "$", "^", "(?:a|b?)");
  const nested = fc
    .tuple(emptyish, emptyish, quantifier, emptyish, quantifier, fc.constantFrom("", "b", "a", "$", "ab"))
    .map(([x, y, q1, z, q2, tail]) => `(?:(?:${x}${y})${q1 === "" ? "*" : q1}${z})${q2 === "" ? "+" : q2}${tail}`);

  it(
    "agrees on nested repetitions of empty-matching bodies",
    () => {
      fc.assert(
        fc.property(nested, flags, fc.array(input, { minLength: 1, maxLength: 4 }), (source, flagText, inputs) => {
          checkAgainstRegExp(source, flagText, inputs);
        }),
        { numRuns: 2000 * runs },
      );
    },
    120_000 * runs,
  );
});

// ---------------------------------------------------------------------------------------------
// The lazy DFA's paths: long inputs (states reused, replace's forward and reverse scans and the
// Pike VM fallback), units beyond ASCII (case folding, line terminators, surrogate halves above
// U+FFFF as code units), tiny cache budgets (a flush at every call) and the charging of states

describe("regex DFA paths against RegExp", () => {
  /** Inputs of a few hundred to a few thousand units: runs of short random strings. */
  const longInput = (unit: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc
      .array(fc.tuple(fc.string({ unit, minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 300 })), { minLength: 1, maxLength: 5 })
      .map((runs) => runs.map(([text, times]) => text.repeat(times)).join(""));
  const ascii = fc.constantFrom(...ALPHABET);
  const WIDE = ["a", "A", "b", "1", "_", " ", "\n", "\r", "\u2028", "\u00e9", "\u00c9", "\u017f", "\u212a", "\ud83d", "\ude00", "-", "."] as const;
  const wide = fc.constantFrom(...WIDE);
  const wideAtom = fc.constantFrom("\u00e9", "[\u00c0-\u00ff]", "\ud83d\ude00", "[\ud800-\udbff]", "\u017f", "k", "\\w", "[^\\s]", ".");
  const widePattern = fc.tuple(pattern, wideAtom, quantifier, pattern).map(([a, atom, q, b]) => `${a}${atom}${q}|${b}`);

  it(
    "agrees on long inputs",
    () => {
      fc.assert(
        fc.property(pattern, flags, fc.array(longInput(ascii), { minLength: 1, maxLength: 2 }), (source, flagText, inputs) => {
          checkAgainstRegExp(source, flagText, inputs);
        }),
        { numRuns: 1500 * runs },
      );
    },
    120_000 * runs,
  );

  it(
    "agrees on units beyond ASCII, case-insensitively and across lines",
    () => {
      fc.assert(
        fc.property(widePattern, flags, fc.array(fc.oneof(fc.string({ unit: wide, maxLength: 16 }), longInput(wide)), { minLength: 1, maxLength: 3 }), (source, flagText, inputs) => {
          checkAgainstRegExp(source, flagText, inputs);
        }),
        { numRuns: 800 * runs },
      );
    },
    120_000 * runs,
  );

  // A DFA's tables start with room for 16 states and double when a state does not fit. A start
  // state is built when an input first starts after a character of a new kind (none, word, line
  // terminator, other); when that is the state that grows the tables, the scan must read the new
  // ones. Literal-like patterns have one state per unit, so lengths around 16 and 32 reach it.
  it("agrees when a new start state grows the tables (literals of every length, inputs in every order)", () => {
    const units = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
    for (let length = 1; length <= units.length; length++) {
      const literal = units.slice(0, length);
      for (const order of [
        ["x", ""],
        ["", "x"],
        [" ", "x", "\n", ""],
        ["\n", " ", "", "x"],
      ]) {
        checkAgainstRegExp(
          literal,
          "",
          order.map((before) => `${before}${literal}`),
        );
        checkAgainstRegExp(
          `${literal.slice(0, -1)}[${literal.slice(-1)}]`,
          "",
          order.map((before) => `${before}${literal}`),
        );
      }
    }
  });

  it(
    "agrees on long patterns over inputs whose first characters differ",
    () => {
      // a run of units, some written as a class or `.` that holds them: the run itself matches, and
      // the pattern has about one DFA state per unit
      const unitAtom = fc.tuple(fc.constantFrom("a", "b", "c", "1", " ", "-"), fc.constantFrom("unit", "unit", "unit", "class", "dot"));
      const longRun = fc.array(unitAtom, { minLength: 8, maxLength: 40 }).map((atoms) => ({
        source: atoms.map(([u, how]) => (how === "unit" ? u : how === "class" ? `[${u}x]` : ".")).join(""),
        text: atoms.map(([u]) => u).join(""),
      }));
      const lead = fc.constantFrom("", "x", " ", "\n", "-", "1", "xy", "\n\n");
      fc.assert(
        fc.property(longRun, fc.constantFrom("", "i", "m"), fc.array(fc.tuple(lead, fc.boolean(), input), { minLength: 2, maxLength: 6 }), (run, flagText, parts) => {
          const inputs = parts.map(([before, holds, after]) => `${before}${holds ? run.text : run.text.slice(1)}${after}`);
          checkAgainstRegExp(run.source, flagText, inputs);
        }),
        { numRuns: 1500 * runs },
      );
    },
    120_000 * runs,
  );

  it(
    "agrees when the cache is cleared at every call",
    () => {
      const flushing = createMatcher({ maxSteps: 2_000_000, cacheWords: 8, totalCacheWords: 64 });
      fc.assert(
        fc.property(pattern, flags, fc.array(fc.oneof(input, longInput(ascii)), { minLength: 1, maxLength: 3 }), (source, flagText, inputs) => {
          checkAgainstRegExp(source, flagText, inputs, flushing);
        }),
        { numRuns: 1000 * runs },
      );
    },
    120_000 * runs,
  );

  // With a small step limit, calls hit it; whether a call does must depend only on the program and
  // the input, never on what earlier calls left in the cache (the compiled module and the
  // interpreter have different caches and must deny alike).
  it(
    "charges states the same whatever the cache holds",
    () => {
      const limits = { maxSteps: 150, cacheWords: 1_000_000, totalCacheWords: 4_000_000 };
      const warm = createMatcher(limits);
      const outcome = (run: () => unknown): unknown => {
        try {
          return run();
        } catch (e) {
          if (e instanceof RegexLimitError) return `limit: ${e.message}`;
          throw e;
        }
      };
      let limited = 0;
      fc.assert(
        fc.property(pattern, flags, fc.array(fc.oneof(input, longInput(ascii)), { minLength: 1, maxLength: 3 }), (source, flagText, inputs) => {
          const result = parseRegex(source, flagText);
          if (!result.ok) throw new Error(result.message);
          const program = result.program;
          const expected = oracle.run(source, flagText, inputs);
          if (expected === null) return;
          const fresh = createMatcher(limits);
          for (const [i, text] of inputs.entries()) {
            for (const op of ["test", "replace"] as const) {
              const call = (m: RegexVm) => () => (op === "test" ? m.test(program, text) : m.replace(program, text, "#"));
              const a = outcome(call(warm));
              const b = outcome(call(fresh));
              if (a !== b) throw new Error(`${op} /${source}/${flagText} on ${JSON.stringify(text)}: ${String(a)} after other calls, ${String(b)} fresh`);
              if (typeof a === "string" && a.startsWith("limit: ")) limited++;
              else if (a !== expected[i]?.[op === "test" ? 0 : 1]) throw new Error(`${op} /${source}/${flagText} on ${JSON.stringify(text)}: got ${String(a)}`);
            }
          }
        }),
        { numRuns: 400 * runs },
      );
      // The limit was reached often enough for the comparison to mean something.
      expect(limited).toBeGreaterThan(20);
    },
    120_000 * runs,
  );
});

// The prefilters: a required literal (also one that starts inside a run of characters) looked
// for with indexOf, and a set of literals one of which every match contains, looked for with one
// alternation. Inputs with and without the literals, at the edges, and next to near misses.
const prefilterCases: readonly { pattern: string; flags?: string; inputs: readonly string[] }[] = [
  { pattern: String.raw`\b(curl|wget|nc|ncat|socat|ssh)\b`, inputs: ["curl -s x", "xcurl", "run ncat", "n c", "", "wgetwget", "no tools", "ssh", "s sh nc"] },
  { pattern: String.raw`(^|\/)\.\.(\/|$)`, inputs: ["../a", "a/../b", "a..b", "/..", "..", ".", "a/./b", "x/.."] },
  { pattern: "(^|x)ab", inputs: ["ab", "xab", "yab", "a b", "zzzxab", "b"] },
  {
    pattern: String.raw`(^|\/)\.env(\.[\w-]+)?$|(^|\/)secrets?\/|\.tfstate$|(^|\/)credentials\.json$`,
    inputs: ["/app/.env", "a.env", "secret/x", "my/secrets/", "s.tfstate", "credentials.json", "credentials.jsonx", "/workspace"],
  },
  { pattern: String.raw`\brm\s+-rf|\bmkfs\b|:\(\)\s*\{`, inputs: ["sudo rm -rf /", "format", "mkfs.ext4", ":() {", ": () {", "rm -r"] },
  { pattern: String.raw`\.(pem|key)$|(^|\/)id_(rsa|dsa)$`, inputs: ["a.pem", "a.pe", "key", "x/id_rsa", "id_dsa.pub", "pem"] },
  { pattern: String.raw`(?:foo|bar)\d`, flags: "i", inputs: ["FOO1", "Bar2", "baz3", "fo1", "xbar9y"] },
  { pattern: "^(?:ab|cd)$", flags: "m", inputs: ["x\ncd\n", "abc", "ab", "a\nb"] },
  { pattern: "(?:\u00e9t\u00e9|\ud83d\ude00)x", inputs: ["\u00e9t\u00e9x", "\ud83d\ude00x", "\ud83dx", "\u00e9tex", "ete x"] },
  { pattern: "(?:ab)+c|(?:cd)*ef", inputs: ["ababc", "bc", "ef", "cdcdef", "cde f", "ac"] },
  { pattern: "x*(?:ab|a)", inputs: ["a", "xxb", "", "xab"] },
];

describe("regex prefilters against RegExp", () => {
  it.each(prefilterCases.map((c) => ({ flags: "", ...c })))("/$pattern/$flags", ({ pattern, flags, inputs }) => {
    const re = compileRegex(pattern, flags);
    for (const input of inputs) {
      expect([input, re.test(input)]).toEqual([input, new RegExp(pattern, flags).test(input)]);
      expect(re.replace(input, "#")).toBe(jsReplace(pattern, flags, input));
    }
  });

  // An input without any of the literals cannot match, so it is decided without building the
  // automaton, and does not reach a step limit that an input with one of them reaches.
  it.each([
    { input: "ab".repeat(300), limited: false },
    { input: `${"ab".repeat(300)}foo`, limited: true },
    { input: `${"ab".repeat(300)}ba`, limited: false },
  ])("decides a set of literals before the automaton: $limited", ({ input, limited }) => {
    const matcher = createMatcher({ maxSteps: 150, cacheWords: 1_000_000, totalCacheWords: 4_000_000 });
    const result = parseRegex("(?:a|b)*a(?:a|b){12}(?:foo|bar)", "");
    if (!result.ok) throw new Error(result.message);
    for (const op of [() => matcher.test(result.program, input), () => matcher.replace(result.program, input, "#")]) {
      if (limited) expect(op).toThrow(RegexLimitError);
      else expect(op).not.toThrow();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Patterns that are exponential (or quadratic, for replace) with backtracking

describe("hostile regexes", () => {
  const n = 30_000;
  const cases: readonly { pattern: string; input: string; test: boolean; replaced: string }[] = [
    { pattern: "(a+)+$", input: `${"a".repeat(n)}b`, test: false, replaced: `${"a".repeat(n)}b` },
    { pattern: "(a+)+$", input: "a".repeat(n), test: true, replaced: "#" },
    { pattern: "(a|a)*b", input: "a".repeat(n), test: false, replaced: "a".repeat(n) },
    { pattern: "(a*)*b", input: "a".repeat(n), test: false, replaced: "a".repeat(n) },
    { pattern: "\\d*\\d*\\d*\\d*x", input: "1".repeat(n), test: false, replaced: "1".repeat(n) },
    { pattern: "(x+x+)+y", input: "x".repeat(n), test: false, replaced: "x".repeat(n) },
    { pattern: "(x+x+)+y", input: `${"x".repeat(n)}y`, test: true, replaced: "#" },
    { pattern: "(.*a){20}", input: "a".repeat(n), test: true, replaced: "#" },
    { pattern: "(?:a|aa)+c", input: "a".repeat(n), test: false, replaced: "a".repeat(n) },
    // Quadratic for engines that restart after each match: the first alternative reads to the end.
    { pattern: "[a-z]*X|a", input: "a".repeat(n), test: true, replaced: "#".repeat(n) },
    { pattern: "(?:a+b)?a", input: "a".repeat(n), test: true, replaced: "#".repeat(n) },
    { pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b", input: "123-45-6789 ".repeat(n / 10), test: true, replaced: "# ".repeat(n / 10) },
  ];

  it.each(cases)("/$pattern/ on a long input", ({ pattern, input, test, replaced }) => {
    const re = compileRegex(pattern);
    expect(re.test(input)).toBe(test);
    expect(re.replace(input, "#")).toBe(replaced);
  });
});

describe("matcher source", () => {
  it("declares only __re names, among them __reTest and __reReplace, and runs in strict mode", () => {
    const source = REGEX_LENGTH_SOURCE + REGEX_VM_SOURCE;
    const declared = [...source.matchAll(/^(?:function|let|const) (\w+)/gm)].map((m) => m[1]);
    expect(declared).toContain("__reTest");
    expect(declared).toContain("__reReplace");
    for (const name of declared) expect(name).toMatch(/^__re[A-Z]/);
    // Module-level lets after the first declare more names on the same line.
    for (const line of source.split("\n").filter((l) => l.startsWith("let "))) {
      for (const [, name] of line.matchAll(/(?:let |, )(\w+) =/g)) expect(name).toMatch(/^__re[A-Z]/);
    }
    expect(source).not.toMatch(/\b(eval|Function|require|import|globalThis|window|process)\b/);
    const vm = new Function("$E", `"use strict";\n${source}\nreturn [__reTest, __reReplace];`)(Error) as [
      (program: readonly number[], input: string) => boolean,
      (program: readonly number[], input: string, replacement: string) => string,
    ];
    const result = parseRegex("b+", "");
    if (!result.ok) throw new Error(result.message);
    expect(vm[0](result.program, "abbc")).toBe(true);
    expect(vm[1](result.program, "abbc", "-")).toBe("a-c");
  });
});
