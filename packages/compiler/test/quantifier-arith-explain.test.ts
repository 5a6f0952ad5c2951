/** `--explain` shows quantifiers and arithmetic: each with its value and the operands it read. */
import { expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import { explainRules } from "../src/explain.js";
import { evaluatePolicy } from "../src/interpreter.js";

const POLICY = `default allow
rule external when not all(r in recipients: r ends_with "@example.com") deny
rule budget when count(true within 1h) * 2 + amount > 10 deny
`;

it.each([
  [
    { recipients: ["a@example.com", "b@evil.test"], amount: 9 },
    [
      "rule external (deny, line 2): fired",
      'all(r in recipients: r ends_with "@example.com")  ->  false  with ["a@example.com","b@evil.test"]',
      "count(true within 1h) * 2  ->  0  with 0, 2",
      "count(true within 1h) * 2 + amount  ->  9  with 0, 9",
      "count(true within 1h) * 2 + amount > 10  ->  false  with 9, 10",
    ],
  ],
  [{ recipients: [], amount: "9" }, ['all(r in recipients: r ends_with "@example.com")  ->  true  with []', "rule budget (deny, line 3): error: `+` needs two numbers, got number and string"]],
])("explains %j", (action, lines) => {
  const c = compileSource("p.armor", POLICY, { readFile: () => undefined });
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const { explanations } = evaluatePolicy(c.policy, { action: { type: "x", ...action } }, { explain: true });
  const text = explainRules(c.source, explanations);
  for (const line of lines) expect(text).toContain(line);
});
