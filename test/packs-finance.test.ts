/**
 * armor:finance (docs/packs/finance.md): the pack's own suite (finance.test.armor) passes and
 * covers every rule; its parameters, as a table of importers and decision inputs (with history)
 * on which the compiled module and the interpreter agree.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileSource, emit, nodeHost } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { runSuite } from "../packages/compiler/src/testing/runner.js";

const PACK = nodeHost.packFile!("finance")!;
const TESTS = PACK.replace(/\.armor$/, ".test.armor");
const NOW = "2026-03-02T12:00:00Z";

const pay = (amount: unknown, extra: Record<string, unknown> = {}) => ({ type: "wire_transfer", amount, currency: "USD", recipient: "Acme Inc", ...extra });
const ago = (hours: number, action: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  action,
  time: new Date(Date.parse(NOW) - hours * 3_600_000).toISOString(),
  user: { id: "ann" },
  ...extra,
});

interface Case {
  name: string;
  importer: string;
  input: Record<string, unknown>;
  decision: string;
  rules: string[];
}

const CASES: Case[] = [
  { name: "a lower threshold", importer: "with { approval_threshold: 500 }", input: { action: pay(501) }, decision: "require_approval", rules: ["finance.above_threshold"] },
  {
    name: "a listed name, in other case",
    importer: 'with { sanctioned: ["Evil Corp"] }',
    input: { action: pay(5, { recipient: "EVIL CORP" }) },
    decision: "deny",
    rules: ["finance.sanctioned_recipient", "finance.possible_sanctioned_match"],
  },
  {
    name: "a listed name inside a longer one",
    importer: 'with { sanctioned: ["Evil Corp"] }',
    input: { action: pay(5, { recipient: "Evil Corp Holdings" }) },
    decision: "require_approval",
    rules: ["finance.possible_sanctioned_match"],
  },
  // spellings the pack does not compare (docs/packs/finance.md, "What the sanctions screening catches")
  { name: "a listed name without its space is not caught", importer: 'with { sanctioned: ["Evil Corp"] }', input: { action: pay(5, { recipient: "EvilCorp" }) }, decision: "allow", rules: [] },
  {
    name: "a listed name with a dash for its space is not caught",
    importer: 'with { sanctioned: ["Evil Corp"] }',
    input: { action: pay(5, { recipient: "Evil-Corp" }) },
    decision: "allow",
    rules: [],
  },
  {
    name: "the spelling without a space, listed too, is refused in any case",
    importer: 'with { sanctioned: ["Evil Corp", "EvilCorp"] }',
    input: { action: pay(5, { recipient: "EVILCORP" }) },
    decision: "deny",
    rules: ["finance.sanctioned_recipient", "finance.possible_sanctioned_match"],
  },
  {
    name: "the listed spelling without a space, inside a longer name",
    importer: 'with { sanctioned: ["Evil Corp", "EvilCorp"] }',
    input: { action: pay(5, { recipient: "EvilCorp Trading Ltd" }) },
    decision: "require_approval",
    rules: ["finance.possible_sanctioned_match"],
  },
  { name: "another list of countries", importer: 'with { sanctioned_countries: ["RU"] }', input: { action: pay(5, { recipient_country: "KP" }) }, decision: "allow", rules: [] },
  { name: "a currency added", importer: 'with { currencies: ["JPY"] }', input: { action: pay(5, { currency: "JPY" }) }, decision: "allow", rules: [] },
  { name: "a currency code in lower case", importer: "", input: { action: pay(5, { currency: "usd" }) }, decision: "deny", rules: ["finance.unsupported_currency"] },
  { name: "another payment tool", importer: 'with { payment_tools: ["pay_invoice"] }', input: { action: { ...pay(-1), type: "pay_invoice" } }, decision: "deny", rules: ["finance.invalid_amount"] },
  {
    name: "a user's budget over two sessions",
    importer: "with { user_daily_limit: 1000 }",
    input: { action: pay(400), history: [ago(2, pay(300)), ago(3, pay(301), { otherSession: true })] },
    decision: "deny",
    rules: ["finance.user_daily_budget"],
  },
  {
    name: "another user's payments do not count",
    importer: "with { user_daily_limit: 1000 }",
    input: { action: pay(400), history: [ago(2, pay(300)), ago(3, pay(301), { otherSession: true, user: { id: "bob" } })] },
    decision: "allow",
    rules: [],
  },
  {
    name: "a duplicate from another session",
    importer: "",
    input: { action: pay(99), history: [ago(23, pay(99), { otherSession: true, user: { id: "bob" } })] },
    decision: "require_approval",
    rules: ["finance.duplicate_payment"],
  },
  { name: "a duplicate older than a day", importer: "", input: { action: pay(99), history: [ago(24, pay(99))] }, decision: "allow", rules: [] },
];

describe("armor:finance", () => {
  it("passes its own suite, which fires and misses every rule", async () => {
    const suite = await runSuite({ policyFile: PACK, policyText: readFileSync(PACK, "utf8"), testFiles: [{ name: TESTS, text: readFileSync(TESTS, "utf8") }] });
    expect(suite.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    expect(suite.results.filter((r) => !r.passed).map((r) => r.test.name)).toEqual([]);
    expect(suite.coverage.length).toBe(9);
    for (const c of suite.coverage) expect({ id: c.id, fired: c.fired > 0, notFired: c.notFired > 0 }).toEqual({ id: c.id, fired: true, notFired: true });
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const text = `default allow\nimport "armor:finance" as finance ${c.importer}\n`;
    const compilation = compileSource("/project/main.armor", text, { readFile: nodeHost.readFile, packFile: nodeHost.packFile });
    expect(compilation.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const module = await loadModule(emit(compilation).js);
    const input = { user: { id: "ann" }, time: NOW, ...c.input };
    const compiled = module.decide(input);
    const interpreted = evaluatePolicy(compilation.policy, input).result;
    expect({ decision: compiled.decision, rules: compiled.rules.map((r) => r.id), errors: compiled.errors }).toEqual({ decision: c.decision, rules: c.rules, errors: [] });
    expect({ decision: interpreted.decision, rules: interpreted.rules.map((r) => r.id) }).toEqual({ decision: compiled.decision, rules: compiled.rules.map((r) => r.id) });
  });
});
