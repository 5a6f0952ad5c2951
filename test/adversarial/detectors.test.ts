/**
 * Hostile inputs for the detectors (`std.NAME`), globs and `redact ... with`: megabyte strings of
 * digits and of almost-valid candidates, globs with many `**`, replacement texts that look like
 * replacement patterns, template syntax, HTML or line separators. Each match returns or errs
 * with its documented limit (the outcome is asserted, never the time): at most 100,000 candidates
 * per string (docs/language.md, "Detectors"), and compiled `decide` and the interpreter agree.
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import { loadModule } from "../../packages/compiler/src/load.js";
import { CANDIDATES_MESSAGE, LENGTH_MESSAGE, MAX_MATCH_LENGTH, STEPS_MESSAGE } from "../../packages/compiler/src/regex/index.js";
import type { PolicyDecision } from "../../packages/contract/src/index.js";

const N = 1 << 20;
const noFiles = { readFile: (): undefined => undefined };

async function both(source: string): Promise<{ js: string; decide(input: unknown): PolicyDecision }> {
  const compilation = compileSource("p.armor", source, noFiles);
  if (!compilation.ok) throw new Error(compilation.diagnostics.map((d) => d.message).join("\n"));
  const js = emit(compilation).js;
  const module = await loadModule(js);
  return {
    js,
    decide(input) {
      const compiled = module.decide(input);
      expect(compiled).toEqual(evaluatePolicy(compilation.policy, input).result);
      return compiled;
    },
  };
}

/** `text` repeated to exactly `length` units. */
const fill = (text: string, length = N): string => text.repeat(Math.ceil(length / text.length)).slice(0, length);

// found: true/false for `matches`, or the error message; redacted: how many replacements (or the error)
interface Case {
  readonly name: string;
  readonly detector: string;
  readonly input: () => string;
  readonly found: boolean | string;
  readonly replaced: number | string;
  /** The redacted string, when the case says. */
  readonly rest?: string;
}

const RSA = "-----BEGIN RSA PRIVATE KEY-----";
const B64_LINE = `${"QUJD".repeat(16)}\n`;

const cases: readonly Case[] = [
  // one group of a million digits is one candidate, rejected whole: no card number starts inside it
  { name: "1 MiB of digits", detector: "card_number", input: () => "4".repeat(N), found: false, replaced: 0 },
  { name: "groups of 30 digits and one", detector: "card_number", input: () => fill(`${"1".repeat(30)} 4`), found: false, replaced: 0 },
  // one run of digit groups is one candidate: the check tries each group's start in one pass over
  // the run (at most 19 digits from each), so no separator shape costs more than a few reads per
  // unit, and the candidates stay under the cap
  { name: "1 MiB of one digit and a space", detector: "card_number", input: () => fill("1 "), found: false, replaced: 0 },
  { name: "1 MiB of one digit and a dash", detector: "card_number", input: () => fill("1-"), found: false, replaced: 0 },
  { name: "1 MiB of 4-digit groups", detector: "card_number", input: () => fill("1234 "), found: false, replaced: 0 },
  { name: "1 MiB of one digit and a zero-width space", detector: "card_number", input: () => fill("1\u200b"), found: false, replaced: 0 },
  { name: "1 MiB of one digit, two spaces, a dash and two spaces", detector: "card_number", input: () => fill("1  -  "), found: false, replaced: 0 },
  { name: "two digits around 1 MiB of soft hyphens, repeated", detector: "card_number", input: () => fill(`1${"\u00ad".repeat(1000)}`), found: false, replaced: 0 },
  { name: "1 MiB of invisible characters after a digit", detector: "card_number", input: () => `1${"\u200e".repeat(N - 2)}1`, found: false, replaced: 0 },
  // every 16-digit part is 4111411141114111, which fails Luhn; the run's last part,
  // 4111-4111-4111-4111-4 (17 digits), passes Luhn, but Visa issues no 17-digit cards
  { name: "1 MiB of 4111 joined by dashes", detector: "card_number", input: () => fill("4111-"), found: false, replaced: 0 },
  // the same run, joined by no-break spaces and dots, with a card at its end
  { name: "1 MiB of 4111 joined by no-break spaces, a card at the end", detector: "card_number", input: () => `${fill("4111\u00a0", N - 20)} 4111.1111.1111.1111`, found: true, replaced: 1 },
  { name: "1 MiB of Luhn-valid numbers no network issues", detector: "card_number", input: () => fill("1000 0000 0000 0008 x "), found: false, replaced: 0 },
  // every card of the run is found: one candidate each
  { name: "1 MiB of cards one space apart", detector: "card_number", input: () => fill("4111 1111 1111 1111 "), found: true, replaced: 52_428 },
  { name: "1 MiB of cards one dash apart", detector: "card_number", input: () => fill("4111-1111-1111-1111-"), found: true, replaced: 52_428 },
  { name: "1 MiB of cards each with a CVV", detector: "card_number", input: () => fill("4111 1111 1111 1111 123 "), found: true, replaced: 43_690 },
  { name: "1 MiB of 13-digit cards after a digit", detector: "card_number", input: () => fill("1 4222222222222 "), found: true, replaced: 65_536 },
  // the densest cards: 13 digits and a space, 74,898 candidates, under the cap of 100,000
  { name: "1 MiB of 13-digit cards", detector: "card_number", input: () => fill("4222222222222 "), found: true, replaced: 74_898 },
  // 52,429 Luhn-invalid card numbers, each one candidate: under the cap
  { name: "1 MiB of cards failing Luhn", detector: "card_number", input: () => fill("4111 1111 1111 1112 x "), found: false, replaced: 0 },
  { name: "cards failing Luhn, one valid at the end", detector: "card_number", input: () => `${fill("4111 1111 1111 1112 x ", N - 20)}x 4111111111111111`, found: true, replaced: 1 },
  // every `DE00` starts a candidate (rejected: the search resumes one unit later): past the cap
  { name: "1 MiB of IBAN-shaped groups", detector: "iban", input: () => fill("DE00 "), found: CANDIDATES_MESSAGE, replaced: CANDIDATES_MESSAGE },
  { name: "1 MiB of IBANs with a wrong digit", detector: "iban", input: () => fill("DE89 3704 0044 0532 0130 01; "), found: false, replaced: 0 },
  { name: "1 MiB of valid IBANs", detector: "iban", input: () => fill("DE89370400440532013000 ", 23 * 40_000), found: true, replaced: 40_000 },
  { name: "1 MiB of excluded SSNs", detector: "us_ssn", input: () => fill("000-12-3456 "), found: false, replaced: 0 },
  { name: "87,382 valid SSNs", detector: "us_ssn", input: () => fill("123-45-6789 "), found: true, replaced: Math.ceil(N / 12) - 1 },
  { name: "1 MiB of @", detector: "email", input: () => "@".repeat(N), found: false, replaced: 0 },
  { name: "1 MiB of an address without a dot", detector: "email", input: () => fill("a@b"), found: false, replaced: 0 },
  { name: "1 MiB of AKIA without enough characters", detector: "secret", input: () => fill("AKIA1234 "), found: false, replaced: 0 },
  { name: "1 MiB of a PEM header without an end", detector: "secret", input: () => `-----BEGIN PRIVATE KEY-----${"A".repeat(N - 30)}`, found: true, replaced: 1 },
  // a PEM key without its END line: BEGIN and its base64 block are one match, however long
  { name: "a PEM key with 1 MiB of base64 lines and no END", detector: "secret", input: () => `${RSA}\n${fill(B64_LINE, N - 100)}`, found: true, replaced: 1, rest: "\u0000" },
  {
    name: "a PEM key with 1 MiB of base64 lines, no END, then text",
    detector: "secret",
    input: () => `${RSA}\n${fill(B64_LINE, N - 100)}\nend of the message`,
    found: true,
    replaced: 1,
    rest: "\u0000\nend of the message",
  },
  { name: "a PEM key with 1 MiB of headers and no END", detector: "secret", input: () => `${RSA}\n${fill("Proc-Type: 4,ENCRYPTED\n", N - 100)}`, found: true, replaced: 1, rest: "\u0000" },
  { name: "a PEM key with one base64 line of 1 MiB and no END", detector: "secret", input: () => `${RSA}\n${"A".repeat(N - 100)}`, found: true, replaced: 1, rest: "\u0000" },
  {
    name: "a PEM key with 1 MiB of base64 lines and a cut END line",
    detector: "secret",
    input: () => `${RSA}\n${fill(B64_LINE, N - 100)}\n-----END RSA PRIVATE KE`,
    found: true,
    replaced: 1,
    rest: "\u0000\n-----END RSA PRIVATE KE",
  },
  // from every BEGIN a search for END reads on to the end of the string, so the forward scans give
  // way to the Pike VM, whose steps run out: the rule errs (deny), as it did before the block
  { name: "1 MiB of PEM BEGIN lines and short blocks", detector: "secret", input: () => fill(`${RSA}\nQUJD\n`), found: true, replaced: STEPS_MESSAGE },
  { name: "1 MiB of PEM BEGIN lines with escaped line breaks", detector: "secret", input: () => fill(`${RSA}\\nQUJD\\n`), found: true, replaced: STEPS_MESSAGE },
  {
    name: "a string over the length limit",
    detector: "card_number",
    input: () => "1".repeat(MAX_MATCH_LENGTH + 1),
    found: LENGTH_MESSAGE.replace("LENGTH", String(MAX_MATCH_LENGTH + 1)),
    replaced: LENGTH_MESSAGE.replace("LENGTH", String(MAX_MATCH_LENGTH + 1)),
  },
];

describe("detectors on hostile megabyte strings", () => {
  it.each(cases)(
    "$detector: $name",
    async (c) => {
      const p = await both(`default allow
rule found when action.type == "m" and s matches std.${c.detector} deny
rule hide when action.type == "r" redact s matching std.${c.detector} with "\\u0000"
`);
      const s = c.input();
      const m = p.decide({ action: { type: "m", s } });
      if (typeof c.found === "string") expect(m).toMatchObject({ decision: "deny", errors: [{ rule: "found", message: c.found }] });
      else expect(m).toMatchObject({ decision: c.found ? "deny" : "allow", errors: [] });
      const r = p.decide({ action: { type: "r", s } });
      if (typeof c.replaced === "string") expect(r).toMatchObject({ decision: "deny", errors: [{ rule: "hide", message: c.replaced }] });
      else expect(((r.action as { s: string }).s.match(/\u0000/g) ?? []).length).toBe(c.replaced);
      if (c.rest !== undefined) expect((r.action as { s: string }).s).toBe(c.rest);
    },
    60_000,
  );
});

describe("globs with many stars", () => {
  it.each([
    { name: "5,000 `**/` in a row are one", glob: `${"**/".repeat(5000)}x`, path: `${"a/".repeat(1000)}x`, decision: "deny" },
    { name: "50 `a/**/` segments, a matching path", glob: `${"a/**/".repeat(50)}x`, path: `${"a/".repeat(1000)}x`, decision: "deny" },
    { name: "50 `a/**/` segments, one short", glob: `${"a/**/".repeat(50)}x`, path: `${"a/".repeat(49)}x`, decision: "allow" },
    // each `**` may end at any of the path's slashes: the automaton needs more states than a
    // match may build, so the rule errs (deny) rather than taking long
    { name: "1,000 `a/**/` segments against 1,000 directories", glob: `${"a/**/".repeat(1000)}x`, path: `${"a/".repeat(1000)}x`, decision: STEPS_MESSAGE },
    { name: "1,000 `*a` against 1 MiB of a", glob: "*a".repeat(1000), path: "a".repeat(N), decision: "deny" },
    { name: "`**` against a megabyte of slashes", glob: "**/x/**/y", path: "/".repeat(N), decision: "allow" },
  ])(
    "$name",
    async ({ glob, path, decision }) => {
      const p = await both(`default allow\nrule g when path matches glob(${JSON.stringify(glob)}) deny\n`);
      const d = p.decide({ action: { type: "t", path } });
      if (decision === "deny" || decision === "allow") expect(d).toMatchObject({ decision, errors: [] });
      else expect(d).toMatchObject({ decision: "deny", errors: [{ rule: "g", message: decision }] });
    },
    60_000,
  );
});

describe("replacement texts reach the output verbatim and the module only escaped", () => {
  it.each([
    { name: "replacement patterns", text: "$&$1$$$'$`" },
    { name: "template syntax", text: "${process.exit(1)}`" },
    { name: "a script end tag", text: "</script><script>alert(1)</script>" },
    { name: "line and paragraph separators", text: "a\u2028b\u2029c" },
    { name: "quotes and backslashes", text: "\"\\'\\n" },
    { name: "a NUL", text: "\u0000" },
  ])("$name", async ({ text }) => {
    const literal = JSON.stringify(text);
    for (const source of [
      `default deny\nrule r when action.type == "t" redact body matching std.us_ssn with ${literal}\nrule w when action.type == "t" redact card with ${literal}\n`,
      `default deny\nlet T = ${literal}\nrule r when action.type == "t" redact body matching std.us_ssn with T\nrule w when action.type == "t" redact card with T\n`,
    ]) {
      const p = await both(source);
      expect(p.js).not.toContain("</script");
      expect(p.js).not.toMatch(/[\u2028\u2029]/);
      const d = p.decide({ action: { type: "t", body: "x 123-45-6789 y", card: 1 } });
      expect(d.action).toEqual({ type: "t", body: `x ${text} y`, card: text });
    }
  });
});
