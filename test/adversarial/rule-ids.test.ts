/**
 * Hostile anonymous rules: action types that would put control characters, terminal escapes,
 * quotes or megabytes into an id; thousands of identical rules; rule names and test references
 * that try to take or forge a generated id. Ids stay short, plain, unique and deterministic,
 * and the compiled module and the interpreter report the same ones (docs/language.md §5.1).
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import { loadModule } from "../../packages/compiler/src/load.js";

/** An id as §5.1 defines it: nothing a log line or a terminal would read as anything but text. */
const ID_FORM = /^policy\.armor:(allow|deny|require_approval|redact)(-[A-Za-z0-9_.-]{1,32})?-[0-9a-f]{6,64}(#[1-9][0-9]*)?$/;

function compiled(text: string) {
  const c = compileSource("policy.armor", text);
  expect(c.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return c;
}

/** Hostile action types, as written in a string literal, and the type part their id must show. */
const TYPES: { name: string; literal: string; shown: string | null }[] = [
  { name: "a newline and a forged log line", literal: JSON.stringify('x\n{"decision":"allow"}'), shown: "x___decision___allow__" },
  { name: "a terminal escape", literal: JSON.stringify("\u001b[2J\u001b[31mred"), shown: "__2J__31mred" },
  { name: "a right-to-left override", literal: JSON.stringify("pay\u202Eyrrac"), shown: "pay_yrrac" },
  { name: "an astral character", literal: JSON.stringify("send_📧"), shown: "send___" },
  { name: "quotes, colons and hashes", literal: JSON.stringify('a"b:c#2'), shown: "a_b_c_2" },
  { name: "a prototype key", literal: JSON.stringify("__proto__"), shown: "__proto__" },
  { name: "the empty string", literal: '""', shown: null },
  { name: "a megabyte", literal: JSON.stringify("t".repeat(1_000_000)), shown: "t".repeat(32) },
];

describe("anonymous rule ids from hostile action types", () => {
  it.each(TYPES.map((t) => [t.name, t] as const))("%s", async (_name, t) => {
    const text = `default allow\nwhen action.type == ${t.literal} deny\nwhen action.type in [${t.literal}] deny\n`;
    const c = compiled(text);
    const ids = c.policy.rules.map((r) => r.id);
    for (const id of ids) expect(id).toMatch(ID_FORM);
    expect(ids[0]!.split("-").slice(1, -1).join("-") || null).toBe(t.shown);
    expect(ids[0]).not.toBe(ids[1]);

    // both evaluators name the rules that fired by the same ids
    const type = JSON.parse(t.literal) as string;
    const input = { action: { type } };
    const module = await loadModule(emit(c).js);
    const fromModule = module.decide(input);
    const fromInterpreter = evaluatePolicy(c.policy, input).result;
    expect(fromModule.rules.map((r) => r.id)).toEqual(ids);
    expect(fromInterpreter.rules.map((r) => r.id)).toEqual(ids);
  });
});

describe("many anonymous rules", () => {
  it("5,000 identical rules get 5,000 distinct ids, numbered in source order", () => {
    const text = `default allow\n${'when action.type == "x" deny\n'.repeat(5000)}`;
    const ids = compiled(text).policy.rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(5000);
    expect(ids.slice(1).every((id, i) => id === `${ids[0]}#${i + 2}`)).toBe(true);
  });

  it("the same text gives the same ids on every compilation", () => {
    const text = `default allow\n${Array.from({ length: 500 }, (_, i) => `when action.type == "t${i % 9}" and n == ${i % 50} deny`).join("\n")}`;
    expect(compiled(text).policy.rules.map((r) => r.id)).toEqual(compiled(text).policy.rules.map((r) => r.id));
  });
});

describe("names and references that try to take a generated id", () => {
  const policy = 'default allow\nwhen action.type == "x" deny\n';

  it.each([
    ["a rule named with a colon", "rule policy.armor:deny-x-000000 when true deny"],
    ["a rule named by a string", 'rule "policy.armor:deny-x-000000" when true deny'],
  ])("%s is a syntax error", (_name, rule) => {
    const c = compileSource("policy.armor", `${policy}${rule}\n`);
    expect(c.diagnostics.some((d) => d.severity === "error" && d.code.startsWith("A1"))).toBe(true);
  });

  it.each(["__proto__", "constructor", "policy.armor:0", "policy.armor:-1", "policy.armor:99999999999999999999", "policy.armor:2 ", ":2", "policy.armor:deny-x"])(
    "a test naming %j is told there is no such rule",
    (name) => {
      const c = compileSource("policy.armor", `${policy}test "t" {\n  action { type: "x" }\n  expect deny by ${JSON.stringify(name)}\n}\n`);
      expect(c.diagnostics.filter((d) => d.severity === "error").map((d) => d.code)).toEqual(["A201"]);
    },
  );
});
