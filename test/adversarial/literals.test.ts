/**
 * Malformed numbers and durations of megabytes: a run that starts with a digit is one token
 * (`MalformedNumber`), and the literal stage explains what is wrong with it (A105, A106). Both
 * must stay linear in the run's length wherever the run stands: where a number goes and where a
 * duration goes (`within`, `timeout`). A run of 1 MB must be reported, not take minutes.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../../packages/compiler/src/compile.js";

const noFiles = { readFile: () => undefined };
const MB = 1_000_000;

/** Hostile runs, each about 1 MB. */
const RUNS: { name: string; run: string }[] = [
  { name: "digits then a letter", run: `${"1".repeat(MB)}x` },
  { name: "digits then an unknown unit", run: `${"1".repeat(MB)}parsecs` },
  { name: "1_1_1_…", run: `${"1_".repeat(MB / 2)}x` },
  { name: "1e1e1e…", run: `${"1e".repeat(MB / 2)}1` },
  { name: "1e+1e+1e+…", run: `1${"e+1".repeat(MB / 3)}` },
  { name: "1.1.1.…", run: `${"1.".repeat(MB / 2)}1` },
  { name: "digits and letters", run: "1a".repeat(MB / 2) },
  { name: "1m1m1m… then a letter", run: `${"1m".repeat(MB / 2)}x` },
  { name: "1ms1ms… (a compound duration)", run: "1ms".repeat(MB / 3) },
  { name: "digits then a dot and a unit", run: `${"1".repeat(MB)}.5h` },
];

const WHERE: { name: string; policy: (run: string) => string; code: string }[] = [
  { name: "where a number goes", policy: (run) => `rule r when amount > ${run} deny`, code: "A105" },
  { name: "after within", policy: (run) => `rule r when count(type == "a" within ${run}) > 2 deny`, code: "A106" },
];

const cases = WHERE.flatMap((w) => RUNS.map((r) => [`${r.name}, ${w.name}`, w, r.run] as const));

describe("megabyte malformed literals are reported in linear time", () => {
  it.each(cases)(
    "%s",
    (_name, where, run) => {
      const c = compileSource("hostile.armor", where.policy(run), noFiles);
      const errors = c.diagnostics.filter((d) => d.severity === "error");
      expect(errors.map((d) => d.code)).toEqual([where.code]);
      const start = where.policy(run).indexOf(run);
      expect(errors[0]!.span).toEqual({ start, end: start + run.length });
    },
    20_000,
  );
});
