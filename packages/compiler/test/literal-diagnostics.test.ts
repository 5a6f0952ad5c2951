/**
 * Malformed numbers and durations (docs/language.md §3.4–3.5): each is one diagnostic, A105 for a
 * number and A106 for a duration, whose message says what is wrong and whose help says what to
 * write instead.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";

const numberAt = (n: string): string => `default allow\nlet N = ${n}\nrule r when action.type == "x" and amount > N deny\n`;
const windowOf = (d: string): string => `default allow\nrule r when action.type == "x" and count(type == "x" within ${d}) > 1 deny\n`;
const timeoutOf = (d: string): string => `default allow\nrule r when action.type == "x" require approval from "ops" timeout ${d}\n`;

const malformed: { source: string; code: string; message: string; help: string }[] = [
  // numbers: the forms §3.4 names
  { source: numberAt("1__0"), code: "A105", message: "`1__0` has a misplaced `_`", help: "only between digits" },
  { source: numberAt("10_"), code: "A105", message: "`10_` has a misplaced `_`", help: "only between digits" },
  { source: numberAt("1_.5"), code: "A105", message: "`1_.5` has a misplaced `_`", help: "only between digits" },
  { source: numberAt("1._5"), code: "A105", message: "`1._5` has a misplaced `_`", help: "only between digits" },
  { source: numberAt("1_e3"), code: "A105", message: "`1_e3` has a misplaced `_`", help: "only between digits" },
  { source: numberAt("1e400"), code: "A105", message: "`1e400` is too large", help: "64-bit floating point" },
  { source: numberAt("10abc"), code: "A105", message: "`10abc` is not a number: `abc` follows its digits", help: "may not be followed directly by a letter" },
  { source: numberAt("10_a"), code: "A105", message: "`10_a` has a misplaced `_`", help: "only between digits" },
  { source: numberAt("0x10"), code: "A105", message: "`0x10` is not a number: there are no hexadecimal", help: "write it in decimal: `16`" },
  { source: numberAt("1."), code: "A105", message: "`1.` has no digit after its `.`", help: "`1` or `1.0`" },
  { source: numberAt("1.5.2"), code: "A105", message: "`1.5.2` has more than one `.`", help: "at most one `.`" },
  { source: numberAt("1e"), code: "A105", message: "`1e` has an exponent without digits", help: "`2.5e-3`" },
  { source: numberAt("1h30m"), code: "A105", message: "`1h30m` is not a number", help: "durations such as `15m` go only after `within`" },
  // durations: the forms §3.5 names, in windows and timeouts
  { source: windowOf("1h30m"), code: "A106", message: "`1h30m` is not a duration: there are no compound durations", help: "`90m`" },
  { source: timeoutOf("1h30m"), code: "A106", message: "`1h30m` is not a duration: there are no compound durations", help: "`90m`" },
  { source: windowOf("1.5h"), code: "A106", message: "`1.5h` is not a duration: a duration is a whole number of a unit", help: "`90m`" },
  { source: windowOf("0.5s"), code: "A106", message: "`0.5s` is not a duration", help: "`500ms`" },
  { source: windowOf("2h45m30s"), code: "A106", message: "there are no compound durations", help: "`9930s`" },
  { source: windowOf("5000d"), code: "A106", message: "`5000d` is longer than ten years", help: "`3650d`" },
  { source: windowOf("10x"), code: "A106", message: "`10x` is not a duration: `x` is not a unit", help: "ms, s, m, h and d" },
  { source: windowOf("10mm"), code: "A106", message: "`mm` is not a unit", help: "ms, s, m, h and d" },
  { source: windowOf("10_m"), code: "A106", message: "`10_m` has a misplaced `_`", help: "only between digits" },
  { source: windowOf("1._5m"), code: "A106", message: "`1._5m` has a misplaced `_`", help: "only between digits" },
];

const valid = [numberAt("10_000"), numberAt("1.5"), numberAt("2.5e-3"), numberAt("1e+5"), numberAt("007"), windowOf("3650d"), windowOf("250ms"), windowOf("0s"), timeoutOf("15m")];

describe("malformed numbers and durations", () => {
  it.each(malformed)("$message", ({ source, code, message, help }) => {
    const errors = compileSource("p.armor", source).diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.code)).toEqual([code]);
    expect(errors[0]!.message).toContain(message);
    expect(errors[0]!.help).toContain(help);
  });

  it.each(valid)("accepts %s", (source) => {
    expect(compileSource("p.armor", source).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });
});
