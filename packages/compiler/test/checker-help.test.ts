/**
 * The help of A301 (ordering comparisons) names the operands of the comparison, and A308 says what
 * a let may hold: the constants docs/language.md §4 lists, constant operators included.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";

const errorsOf = (source: string) => compileSource("p.armor", `default allow\n${source}\n`).diagnostics.filter((d) => d.severity === "error");

const helps: { source: string; code: string; help: string }[] = [
  // docs/diagnostics.md A301's example
  { source: 'rule r when time.hour < "9" deny because "no actions before nine"', code: "A301", help: "compare with a number: `time.hour < 9`" },
  { source: 'rule r when "9" > time.hour deny', code: "A301", help: "compare with a number: `9 > time.hour`" },
  { source: 'rule r when time.hour >= "nine" deny', code: "A301", help: "compare `time.hour` with a number, or with a field or let that holds one" },
  { source: 'rule r when time.hour < "" deny', code: "A301", help: "compare `time.hour` with a number" },
  // docs/diagnostics.md A308's example
  { source: "let LIMIT = user.limit\nrule r when amount > LIMIT require approval", code: "A308", help: "an operator applied to constants (`LIMIT > 0`)" },
  { source: 'let X = "abc" matches /a/\nrule r when X deny', code: "A308", help: "an operator other than `matches` applied to constants" },
];

const constantLets = [
  "1 < 2",
  "not true",
  '"x" in ["x"]',
  '"x" not in ["y"]',
  "L between 1 and 5",
  '"abc" starts_with "a"',
  '["a"] contains "a"',
  "L > 0 and true",
  "L == 3 or false",
  "[1, L]",
  "(L)",
];

describe("checker help", () => {
  it.each(helps)("$code: $help", ({ source, code, help }) => {
    const errors = errorsOf(source);
    expect(errors.map((d) => d.code)).toEqual([code]);
    expect(errors[0]!.help).toContain(help);
    expect(errors[0]!.help).not.toContain("amount > 10000");
  });

  it.each(constantLets)("a let may hold the constant operator expression %s", (value) => {
    expect(errorsOf(`let L = 3\nlet X = ${value}\nrule r when action.type == "x" and X == X deny`)).toEqual([]);
  });
});
