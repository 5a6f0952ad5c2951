/** `--explain` text: each condition shown once, with the value it had and the operands it read. */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import { explainRules } from "../src/explain.js";
import { evaluatePolicy } from "../src/interpreter.js";

const POLICY = `default allow
let L = ["a", "b"]
rule r when action.type == "x" and user.role not in L deny
rule s when action.type == "x" and user.role in L deny
rule t when action.type == "x" and not (user.role in L) deny
`;

function explain(role: unknown): string {
  const c = compileSource("p.armor", POLICY, { readFile: () => undefined });
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const { explanations } = evaluatePolicy(c.policy, { action: { type: "x" }, user: { role } }, { explain: true });
  return explainRules(c.source, explanations);
}

describe("explanations", () => {
  it.each([
    // [role, the lines that must appear]
    [
      "a",
      [
        "rule r (deny, line 3): did not fire",
        'user.role not in L  ->  false  (user.role in L  ->  true)  with "a", ["a","b"]',
        "rule s (deny, line 4): fired",
        'user.role in L  ->  true  with "a", ["a","b"]',
        "rule t (deny, line 5): did not fire",
        "not (user.role in L)  ->  false",
      ],
    ],
    [
      "z",
      [
        "rule r (deny, line 3): fired",
        'user.role not in L  ->  true  (user.role in L  ->  false)  with "z", ["a","b"]',
        "rule s (deny, line 4): did not fire",
        'user.role in L  ->  false  with "z", ["a","b"]',
        "rule t (deny, line 5): fired",
        "not (user.role in L)  ->  true",
      ],
    ],
    // a missing field: `in` is false, so `not in` is true
    [null, ["rule r (deny, line 3): fired", 'user.role not in L  ->  true  (user.role in L  ->  false)  with null, ["a","b"]']],
  ])("role %j", (role, lines) => {
    const text = explain(role);
    for (const line of lines) expect(text).toContain(line);
    // `not in` is one condition, shown once
    expect(text.match(/not in L/g)).toHaveLength(1);
  });
});
