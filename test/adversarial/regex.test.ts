/**
 * Hostile patterns against hostile 1 MiB inputs: every call returns or throws its limit error
 * (never hangs; the outcome is asserted, not the time, which bench/regex.mjs measures), and a rule
 * whose pattern hits a limit errs, so compiled `decide` and the interpreter both deny and name it.
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import { loadModule } from "../../packages/compiler/src/load.js";
import { createMatcher, DEFAULT_LIMITS, LENGTH_MESSAGE, MAX_MATCH_LENGTH, parseRegex, RegexLimitError, STEPS_MESSAGE } from "../../packages/compiler/src/regex/index.js";

const N = 1 << 20;
const LIMIT = "limit";

/** A fixed pseudo-random string of `a` and `b`. */
function randomAb(length: number): string {
  let seed = 7;
  let out = "";
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out += seed / 0x7fffffff < 0.5 ? "a" : "b";
  }
  return out;
}

interface HostileCase {
  readonly name: string;
  readonly pattern: string;
  readonly flags?: string;
  readonly input: () => string;
  /** `LIMIT` when the call must throw the step limit's error. */
  readonly test: boolean | typeof LIMIT;
  /** The replaced text (every match by `#`), `null` for unchanged, or `LIMIT`. */
  readonly replace: (() => string) | null | typeof LIMIT;
}

const cases: readonly HostileCase[] = [
  { name: "nested plus, no match", pattern: "(a+)+$", input: () => `${"a".repeat(N - 1)}b`, test: false, replace: null },
  { name: "overlapping plus, no match", pattern: "(x+x+)+y", input: () => "x".repeat(N), test: false, replace: null },
  { name: "bounded repetition, one run, no match", pattern: "[^\\s]{0,1000}\\.exe", input: () => "x".repeat(N), test: false, replace: null },
  {
    name: "bounded repetition, one run, then .exe",
    pattern: "[^\\s]{0,1000}\\.exe",
    input: () => `${"x".repeat(N - 4)}.exe`,
    test: true,
    replace: () => `${"x".repeat(N - 1004)}#`,
  },
  { name: "bounded repetition, near misses", pattern: "[^\\s]{0,1000}\\.exe", input: () => "a.ex".repeat(N / 4), test: false, replace: null },
  // The DFA for this pattern has 2^21 states: the test finds a match at once; replace builds states
  // until the match is known.
  { name: "exponential DFA, match", pattern: "(?:a|b)*a(?:a|b){20}", input: () => randomAb(N), test: true, replace: () => "#" },
  { name: "exponential DFA, anchored", pattern: "(?:a|b)*a(?:a|b){20}$", input: () => randomAb(N), test: true, replace: () => "#" },
  { name: "twenty greedy stars", pattern: "(.*a){20}", input: () => "a".repeat(N), test: true, replace: () => "#" },
  { name: "a counted class", pattern: "\\w{1000}", flags: "i", input: () => "x".repeat(N), test: true, replace: () => `${"#".repeat(1048)}${"x".repeat(576)}` },
  { name: "words then a missing dot", pattern: "(?:\\w+\\s?)+\\.", input: () => "word ".repeat(N / 5), test: false, replace: null },
  {
    name: "fifty thousand words across lines",
    pattern: "^\\b\\w+\\b$",
    flags: "m",
    input: () => "abcdefghijklmnopqrst\n".repeat(Math.floor(N / 21)),
    test: true,
    replace: () => "#\n".repeat(Math.floor(N / 21)),
  },
  { name: "surrogate pairs, no match", pattern: "[\\ud800-\\udbff][\\udc00-\\udfff]{2,}z", input: () => "\ud83d\ude00".repeat(N / 2), test: false, replace: null },
  // Alternatives with long literals sharing a prefix: the prefilter's alternation keeps only the
  // first units of each literal, so RegExp compares few units at each position.
  { name: "long literals sharing a prefix", pattern: "x(?:a{80}b|a{80}c|a{80}d)", input: () => `x${"a".repeat(N - 1)}`, test: false, replace: null },
  // Hundreds of thousands of matches, some of them empty or each read to the end of the input:
  // replacing is over the limit (40 steps a match), testing is immediate.
  { name: "a million empty matches", pattern: "a*", input: () => "b".repeat(N), test: true, replace: LIMIT },
  { name: "350,000 short matches", pattern: "\\b\\w+\\b", input: () => "ab ".repeat(N / 3), test: true, replace: LIMIT },
  { name: "matches that read ahead to the end", pattern: "[a-z]*X|a", input: () => "a".repeat(N), test: true, replace: LIMIT },
];

type Outcome = boolean | string | typeof LIMIT;

function outcome(run: () => boolean | string): Outcome {
  try {
    return run();
  } catch (e) {
    if (e instanceof RegexLimitError && e.message === STEPS_MESSAGE) return LIMIT;
    throw e;
  }
}

describe("hostile patterns on 1 MiB inputs", () => {
  it.each(cases)(
    "$name: /$pattern/",
    ({ pattern, flags = "", input, test, replace }) => {
      const parsed = parseRegex(pattern, flags);
      if (!parsed.ok) throw new Error(parsed.message);
      const text = input();
      // A fresh matcher: the first call builds every state it needs (the worst case).
      const matcher = createMatcher(DEFAULT_LIMITS);
      expect(outcome(() => matcher.test(parsed.program, text))).toBe(test);
      const replaced = outcome(() => matcher.replace(parsed.program, text, "#"));
      if (replace === LIMIT) expect(replaced).toBe(LIMIT);
      else expect(replaced).toBe(replace === null ? text : replace());
      // Cached states do not change the outcome.
      expect(outcome(() => matcher.test(parsed.program, text))).toBe(test);
    },
    60_000,
  );

  it.each([
    ["a literal pattern", "secret"],
    ["a class", "[0-9]+"],
    ["a case-insensitive blocklist", "\\b(?:alpha|beta|gamma)\\b"],
  ])("refuses a string longer than the limit for %s", (_name, pattern) => {
    const parsed = parseRegex(pattern, "i");
    if (!parsed.ok) throw new Error(parsed.message);
    const matcher = createMatcher(DEFAULT_LIMITS);
    const text = "x".repeat(MAX_MATCH_LENGTH + 1);
    const message = LENGTH_MESSAGE.replace("LENGTH", String(MAX_MATCH_LENGTH + 1));
    expect(() => matcher.test(parsed.program, text)).toThrow(message);
    expect(() => matcher.replace(parsed.program, text, "#")).toThrow(message);
    // At the limit itself the call runs.
    expect(matcher.test(parsed.program, "x".repeat(MAX_MATCH_LENGTH))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Decisions: the rule errs, the decision denies and names it, compiled and interpreted alike

const POLICY = `policy hostile_patterns

default allow

rule executables
  when action.type == "upload" and action.body matches /[^\\s]{0,1000}\\.exe/
  deny because "no executables"

rule literal
  when action.type == "upload" and action.body matches /forbidden/
  deny because "a literal pattern"

rule redact_letters
  when action.type == "post"
  redact action.body matching /[a-z]*X|a/ because "letters"
`;

const noFiles = { readFile: (): undefined => undefined };

describe("decisions on hostile strings", async () => {
  const compilation = compileSource("hostile.armor", POLICY, noFiles);
  if (!compilation.ok) throw new Error(JSON.stringify(compilation.diagnostics.map((d) => d.message)));
  const module = await loadModule(emit(compilation).js);
  const lengthError = LENGTH_MESSAGE.replace("LENGTH", String(MAX_MATCH_LENGTH + 1));

  const table = [
    {
      name: "a string over the length limit",
      action: { type: "upload", body: "x".repeat(MAX_MATCH_LENGTH + 1) },
      errors: [
        { rule: "executables", message: lengthError },
        { rule: "literal", message: lengthError },
      ],
    },
    {
      name: "a redaction over the step limit",
      action: { type: "post", body: "a".repeat(N) },
      errors: [{ rule: "redact_letters", message: STEPS_MESSAGE }],
    },
    { name: "a hostile string within the limits", action: { type: "upload", body: `${"x".repeat(N - 4)}.exe` }, errors: [] },
  ];

  it.each(table)(
    "$name",
    ({ action, errors }) => {
      const compiled = module.decide({ action });
      const interpreted = evaluatePolicy(compilation.policy, { action }).result;
      for (const result of [compiled, interpreted]) {
        expect(result.decision).toBe("deny");
        expect(result.errors).toEqual(errors);
        if (errors.length === 0) expect(result.rules.map((r) => r.id)).toEqual(["executables"]);
      }
    },
    60_000,
  );
});
