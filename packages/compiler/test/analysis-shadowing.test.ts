/**
 * Shadowed effects (A402) by effect strength: a deny overrides a narrower approval
 * or allow, an approval overrides a narrower allow, and equal strengths never shadow. The analysis
 * compares a rule only with stronger rules of its action types; these cases hold that the index
 * finds every one, and the earliest when several are broader.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";

const host = { readFile: () => undefined };

const cases: readonly { name: string; rules: string[]; shadowed: Record<string, string> }[] = [
  {
    name: "a deny over an approval and an allow of its type",
    rules: ['rule d when action.type == "w" deny', 'rule a when action.type == "w" and amount > 1 require approval', 'rule o when action.type == "w" and amount > 2 allow'],
    shadowed: { a: "d", o: "d" },
  },
  {
    name: "an approval over an allow, and never over another approval",
    rules: ['rule a when action.type == "w" require approval', 'rule b when action.type == "w" and amount > 1 require approval', 'rule o when action.type == "w" and amount > 2 allow'],
    shadowed: { o: "a" },
  },
  {
    name: "a rule without action types over rules of any type",
    rules: ["rule g when amount > 0 deny", 'rule a when action.type == "w" and amount > 5 require approval', 'rule o when action.type == "x" and amount > 5 allow'],
    shadowed: { a: "g", o: "g" },
  },
  {
    name: "the earliest of several broader rules",
    rules: ['rule o when action.type == "w" and amount > 5 allow', 'rule a when action.type == "w" require approval', 'rule d when action.type == "w" deny'],
    shadowed: { o: "a", a: "d" },
  },
  {
    name: "rules of other types and other stages never shadow",
    rules: ['rule d when action.type == "x" deny', 'rule r on result when action.type == "w" deny', 'rule a when action.type == "w" require approval', 'rule o when action.type == "w" allow'],
    shadowed: { o: "a" },
  },
  {
    name: "many approvals of one type, one allow under them",
    rules: [...Array.from({ length: 50 }, (_, i) => `rule a${i} when action.type == "w" and amount > ${i} require approval`), 'rule o when action.type == "w" and amount > 100 allow'],
    shadowed: { o: "a0" },
  },
];

describe("shadowed effects", () => {
  it.each(cases)("$name", ({ rules, shadowed }) => {
    const c = compileSource("p.armor", `default allow\n${rules.join("\n")}\n`, host);
    const found = Object.fromEntries(
      c.diagnostics
        .filter((d) => d.code === "A402")
        .map((d) => {
          const m = /of (?:rule `(\w+)`|this rule).*rule `(\w+)`/.exec(d.message)!;
          return [m[1], m[2]];
        }),
    );
    expect(found).toEqual(shadowed);
  });
});
