/**
 * Hostile anonymous rules: action types that would put control characters, terminal escapes,
 * quotes or megabytes into an id; thousands of identical rules; rule names and test references
 * that try to take or forge a generated id; file names holding bidi overrides, newlines and
 * colons; lets named like the action's type. Ids stay short, plain, unique and deterministic,
 * and the compiled module and the interpreter report the same ones (docs/language.md §5.1).
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import { loadModule } from "../../packages/compiler/src/load.js";

/** An id as §5.1 defines it: nothing a log line or a terminal would read as anything but text. */
const ID_FORM = /^policy\.armor:(allow|deny|require_approval|redact)(-[A-Za-z0-9_.-]{1,32})?-[0-9a-f]{10,64}(~[0-9a-f]{6,64})?(#[1-9][0-9]*)?$/;

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

/** Hostile file names, and the FILE part their ids must show. */
const FILES: { name: string; path: string; shown: string }[] = [
  { name: "a right-to-left override, a colon and a newline", path: "/tmp/ev\u202eil:allow-x\n.armor", shown: "ev_il_allow-x_.armor" },
  { name: "a terminal escape", path: "/srv/\u001b[31mred.armor", shown: "__31mred.armor" },
  { name: "spaces and a hash", path: "C:\\policies\\my policy#2.armor", shown: "my_policy_2.armor" },
  { name: "an astral character", path: "pay📧.armor", shown: "pay__.armor" },
  { name: "a carriage return and a tab", path: "a\r\tb.armor", shown: "a__b.armor" },
];

describe("anonymous rule ids from hostile file names", () => {
  it.each(FILES.map((f) => [f.name, f] as const))("%s", (_name, f) => {
    const c = compileSource(f.path, 'default allow\nwhen action.type == "x" deny\nwhen amount > 1 deny\n');
    const ids = c.policy.rules.map((r) => r.id);
    for (const id of ids) {
      expect(id.startsWith(`${f.shown}:`), id).toBe(true);
      expect(id.slice(f.shown.length)).toMatch(/^:(deny)(-x)?-[0-9a-f]{10}$/);
      expect(id).toMatch(/^[A-Za-z0-9_.:~#-]+$/);
    }
  });
});

describe("names in a condition that look like the action's type", () => {
  it.each([
    ["a let named type", 'let type = "delete_all"\nwhen type == "delete_all" and action.type == "read" allow', "read"],
    ["a let named action", 'let action = "x"\nwhen action.type == "read" allow', "read"],
  ])("%s: the id names the type the rule applies to", (_name, text, type) => {
    const c = compileSource("policy.armor", `default deny\n${text}\n`);
    const rule = c.policy.rules[0]!;
    if (rule.actionTypes !== null) expect(rule.actionTypes).toContain(type);
    expect(rule.id).toMatch(new RegExp(`^policy\\.armor:allow-${type}-[0-9a-f]{10}$`));
  });
});

describe("many anonymous rules", () => {
  it("5,000 identical rules get 5,000 distinct ids, numbered in source order", () => {
    const text = `default allow\n${'when action.type == "x" deny\n'.repeat(5000)}`;
    const ids = compiled(text).policy.rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(5000);
    expect(ids.slice(1).every((id, i) => id === `${ids[0]}#${i + 2}`)).toBe(true);
    // one warning for all the copies, so the policy is not buried under (or failed by) findings
    expect(
      compiled(text)
        .diagnostics.filter((d) => d.code === "A407")
        .map((d) => d.message),
    ).toEqual([expect.stringContaining("5,000 copies in all")]);
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
