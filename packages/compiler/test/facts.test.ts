/**
 * language/facts.ts is the one table of the language's words: the tokens and the checker agree
 * with it, so that the language server and the grammar test, which read it, describe the
 * language the compiler accepts.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import * as facts from "../src/language/facts.js";
import { keywordNames } from "../src/syntax/tokens.js";

const codes = (text: string): string[] => compileSource("p.armor", `default deny\n${text}\n`).diagnostics.map((d) => d.code);

describe("language facts", () => {
  it("are the keyword tokens: every reserved and soft keyword, and no other", () => {
    const tokens = facts.keywords.filter((k) => k.kind !== "contextual").map((k) => k.word);
    expect([...keywordNames].sort()).toEqual([...tokens].sort());
    expect(new Set(facts.keywords.map((k) => k.word)).size).toBe(facts.keywords.length);
  });

  it.each(facts.keywords.filter((k) => k.role !== "literal").map((k) => [k.word, k.kind] as const))("`%s` is %s: a bare name unless reserved", (word, kind) => {
    const found = codes(`rule r when ${word} == 1 deny`);
    if (kind === "reserved") expect(found).toContain("A101");
    else expect(found.filter((c) => c.startsWith("A1"))).toEqual([]);
  });

  it.each(facts.timeFields.map((f) => [f.name, f.type] as const))("`time.%s` is a %s", (name, type) => {
    expect(codes(`rule r when time.${name} == ${type === "number" ? "1" : '"x"'} deny`)).toEqual([]);
    expect(codes(`rule r when time.${name} == ${type === "number" ? '"x"' : "1"} deny`)).toContain("A301");
  });

  it("has every time field the checker knows: a misspelt one lists them", () => {
    const compiled = compileSource("p.armor", "default deny\nrule r when time.hours == 1 deny\n");
    expect(compiled.diagnostics[0]?.help).toBe(
      `did you mean \`time.hour\`? the time values are ${facts.timeFields
        .map((f) => `time.${f.name}`)
        .join(", ")
        .replace(/, (?=[^,]*$)/, " and ")}`,
    );
  });

  it.each(facts.functions.filter((f) => f.result === "pattern").map((f) => [f.name, f] as const))("`%s`: its example checks, and it is a pattern, not a value", (_name, f) => {
    expect(codes(`rule r when ${f.example} deny`)).toEqual([]);
    const use = f.example.replace(/^.* matches /, "");
    expect(codes(`rule r when ${use} deny`)).toContain("A301");
  });

  it.each(facts.detectors.map((d) => [d.name, d] as const))("`std.%s`: its example checks", (_name, d) => {
    const rule = d.example.startsWith("redact") ? `rule r when action.type == "x" ${d.example}` : `rule r when ${d.example} deny`;
    expect(codes(rule)).toEqual([]);
  });

  it.each(facts.functions.filter((f) => f.result !== "pattern").map((f) => [f.name, f] as const))("`%s`: its example checks, and its result has its type", (_name, f) => {
    expect(codes(`rule r when ${f.example} deny`)).toEqual([]);
    const use = f.example.replace(/\)[^)]*$/, ")");
    // a use that fits the result's type, and one that does not
    const uses: Record<typeof f.result, [string, string]> = {
      number: ["> 1", "== true"],
      boolean: ["== true", "> 1"],
      string: ['== "x"', "> 1"],
      list: ['contains "x"', "> 1"],
      // max, min: a number, or null when no entry matched
      "number?": ["> 1", "== true"],
    };
    const [fits, mismatches] = uses[f.result];
    expect(codes(`rule r when ${use} ${fits} deny`)).toEqual([]);
    expect(codes(`rule r when ${use} ${mismatches} deny`)).toContain("A301");
  });

  it("names every function where a name is not one", () => {
    const compiled = compileSource("p.armor", "default deny\nrule r when total(x) > 1 deny\n");
    const d = compiled.diagnostics.find((x) => x.code === "A209");
    expect(d?.help).toBe(
      `the functions are ${facts.functions
        .map((f) => `\`${f.usage}\``)
        .join(", ")
        .replace(/, (?=[^,]*$)/, " and ")}`,
    );
  });
});
