/**
 * Policy tests: lowering test blocks to inputs, their diagnostics, what expectations mean, the
 * reporters, and the JavaScript API.
 */
import { describe, expect, it } from "vitest";
import { compileSource, compileTests } from "../src/compile.js";
import type { PolicyDecision } from "../src/ir.js";
import { PolicyAssertionError, policyForTests } from "../src/testing/api.js";
import { DEFAULT_TEST_TIME } from "../src/testing/cases.js";
import { jsonReport, junitReport } from "../src/testing/report.js";
import { checkExpectations, runSuite } from "../src/testing/runner.js";

const POLICY = `policy t
default allow
rule big when action.type == "wire" and amount > 100 require approval from "finance"
rule rate when action.type == "mail" and count(type == "mail" within 1h) >= 3 deny because "rate"
rule mask when action.type == "mail" redact body matching /\\d{4}/
`;
const noFiles = { readFile: () => undefined };

function tests(body: string) {
  const policy = compileSource("t.armor", POLICY, noFiles);
  return compileTests("t.test.armor", body, policy);
}

describe("test blocks become inputs", () => {
  it("uses a fixed default time and places history entries", () => {
    const t = tests(`test "h" {
  history 3 of { type: "mail" } within 1h
  history 2 of { type: "x" }
  history { type: "y" } ago 45m
  history { type: "z" } at "2026-01-05T11:00:00Z"
  action { type: "mail", body: "hi" }
  expect deny by rate
}`);
    expect(t.diagnostics).toEqual([]);
    const input = t.tests[0]!.input;
    expect(input.time).toBe(DEFAULT_TEST_TIME);
    const at = (type: string) => input.history.filter((h) => (h.action as { type: string }).type === type).map((h) => h.time);
    expect(at("mail")).toEqual(["2026-01-05T11:15:00.000Z", "2026-01-05T11:30:00.000Z", "2026-01-05T11:45:00.000Z"]);
    expect(at("x")).toEqual(["2026-01-05T11:59:58.000Z", "2026-01-05T11:59:59.000Z"]);
    expect(at("y")).toEqual(["2026-01-05T11:15:00.000Z"]);
    expect(at("z")).toEqual(["2026-01-05T11:00:00Z"]);
  });

  it.each([
    ["an unknown step", `test "a" { acton { type: "mail" } action { type: "mail" } expect allow }`, ["A601"]],
    ["no action", `test "a" { user { role: "x" } expect allow }`, ["A602"]],
    ["two actions", `test "a" { action { type: "mail" } action { type: "wire" } expect allow }`, ["A602"]],
    ["an action without a type", `test "a" { action { body: "x" } expect allow }`, ["A602"]],
    ["a time without an offset", `test "a" { time "2026-01-05 12:00" action { type: "mail" } expect allow }`, ["A603"]],
    ["no expectation", `test "a" { action { type: "mail" } }`, ["A604"]],
    ["an unknown rule", `test "a" { action { type: "mail" } expect deny by rat }`, ["A201"]],
    ["a decision that does not exist", `test "a" { action { type: "mail" } expect denied }`, ["A601"]],
    ["a field expectation without a value", `test "a" { action { type: "mail" } expect action.body }`, ["A601"]],
    ["two tests with one name", `test "a" { action { type: "mail" } expect allow }\ntest "a" { action { type: "mail" } expect allow }`, ["A607"]],
    ["a rule in a test file", `rule r when true deny`, ["A601"]],
  ])("reports %s", (_name, body, codes) => {
    expect(tests(body).diagnostics.map((d) => d.code)).toEqual(codes);
  });

  it("checks actions against the policy's schema, as warnings when the test expects an error", () => {
    const schema = JSON.stringify({ oneOf: [{ type: "object", properties: { type: { const: "wire" }, amount: { type: "number" } }, additionalProperties: false }] });
    const host = { readFile: (p: string) => (p.endsWith("s.json") ? schema : undefined) };
    const policy = compileSource("p.armor", `schema "./s.json"\ndefault allow\nrule big when action.type == "wire" and amount > 100 deny`, host);
    expect(policy.diagnostics).toEqual([]);
    const strict = compileTests("p.test.armor", `test "a" { action { type: "wire", amount: "5", memo: "x" } expect deny }`, policy);
    expect(strict.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ["A606", "error"],
      ["A606", "error"],
    ]);
    const lenient = compileTests("p.test.armor", `test "a" { action { type: "wire", amount: "5" } expect error }`, policy);
    expect(lenient.diagnostics.map((d) => [d.code, d.severity])).toEqual([["A606", "warning"]]);
    expect(lenient.ok).toBe(true);
  });
});

describe("expectations", () => {
  const d = (over: Partial<PolicyDecision>): PolicyDecision => ({ decision: "allow", rules: [], approval: null, action: { type: "mail" }, errors: [], ...over });
  const redact = { id: "mask", effect: "redact" as const, reason: null };
  const rate = { id: "rate", effect: "deny" as const, reason: "rate" };
  it.each([
    ["deny by the deny rules only", { kind: "decision", decision: "deny", rules: ["rate"] }, d({ decision: "deny", rules: [redact, rate] }), true],
    ["the rules must match exactly", { kind: "decision", decision: "deny", rules: ["rate", "mask"] }, d({ decision: "deny", rules: [redact, rate] }), false],
    ["allow by its redactions", { kind: "decision", decision: "allow", rules: ["mask"] }, d({ rules: [redact] }), true],
    ["a decision without by ignores rules", { kind: "decision", decision: "allow", rules: null }, d({ rules: [redact] }), true],
    ["error needs errors", { kind: "error" }, d({ decision: "deny", errors: [{ rule: "big", message: "x" }] }), true],
    ["error fails without errors", { kind: "error" }, d({ decision: "deny" }), false],
    ["approval group", { kind: "approval", from: "finance" }, d({ decision: "require_approval", approval: { from: "finance", timeoutMs: null } }), true],
    ["approval group differs", { kind: "approval", from: "ops" }, d({ decision: "require_approval", approval: { from: "finance", timeoutMs: null } }), false],
    ["a rewritten field", { kind: "field", root: "action", path: ["body"], value: "[REDACTED]" }, d({ action: { type: "mail", body: "[REDACTED]" } }), true],
    ["a missing field is null", { kind: "field", root: "action", path: ["nope"], value: null }, d({}), true],
  ] as const)("%s", (_name, expectation, decision, passes) => {
    const failures = checkExpectations([{ ...expectation, span: { start: 0, end: 0 } } as never], decision);
    expect(failures.length === 0).toBe(passes);
  });
});

describe("running and reporting", () => {
  const suiteInput = {
    policyFile: "t.armor",
    policyText: `${POLICY}\ntest "passes" { history 3 of { type: "mail" } within 1h action { type: "mail", body: "1234" } expect deny by rate expect action.body == "[REDACTED]" }\ntest "fails <&>" { action { type: "wire", amount: 500 } expect allow }`,
    testFiles: [],
  };

  it("decides with the compiled policy and explains failures", async () => {
    const suite = await runSuite(suiteInput, { host: noFiles });
    expect(suite.results.map((r) => [r.test.name, r.passed])).toEqual([
      ["passes", true],
      ["fails <&>", false],
    ]);
    const failed = suite.results[1]!;
    expect(failed.failures[0]).toBe("expected allow, got require_approval by big");
    expect(failed.explanation).toContain("rule big (require_approval, line 3): fired");
    expect(failed.explanation).toContain("amount > 100  ->  true  with 500, 100");
    expect(suite.coverage.map((c) => [c.id, c.fired, c.notFired])).toEqual([
      ["big", 1, 1],
      ["rate", 1, 1],
      ["mask", 1, 1],
    ]);
  });

  it("gives a test's history entries its user and context, so scoped predicates read them", async () => {
    const policyText = `default allow
rule per_user when action.type == "pay" and count(type == "pay" within 1h per user.id) >= 2 deny
rule per_tenant when action.type == "pay" and seen(type == "freeze" per context.tenant) deny
test "ann's third pay" { user { id: "ann" } history 2 of { type: "pay" } within 1h action { type: "pay" } expect deny by per_user }
test "a frozen tenant" { context { tenant: "t" } history { type: "freeze" } ago 1d action { type: "pay" } expect deny }
test "no user: the scope has no value" { history 2 of { type: "pay" } within 1h action { type: "pay" } expect error }
test "a user's history without the scope's field" { user { name: "ann" } history { type: "pay" } ago 1m action { type: "pay" } expect error }`;
    const suite = await runSuite({ policyFile: "s.armor", policyText, testFiles: [] }, { host: noFiles });
    expect(suite.results.map((r) => [r.test.name, r.passed, r.failures])).toEqual([
      ["ann's third pay", true, []],
      ["a frozen tenant", true, []],
      ["no user: the scope has no value", true, []],
      ["a user's history without the scope's field", true, []],
    ]);
  });

  it("filters by name", async () => {
    const suite = await runSuite(suiteInput, { host: noFiles, filter: /^pass/ });
    expect(suite.results.map((r) => r.test.name)).toEqual(["passes"]);
    expect(suite.filteredOut).toBe(1);
  });

  it("writes JUnit XML and JSON with the same results", async () => {
    const suite = await runSuite(suiteInput, { host: noFiles });
    const xml = junitReport([suite]);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="armorc test" tests="2" failures="1" errors="0">/);
    expect(xml).toContain('<testcase name="fails &lt;&amp;&gt;" classname="t.armor"');
    expect(xml).toContain('<failure message="expected allow, got require_approval by big">');
    expect((xml.match(/<testcase /g) ?? []).length).toBe(2);
    expect((xml.match(/<\/testcase>/g) ?? []).length).toBe(2);
    const json = jsonReport([suite]) as { summary: { passed: number; failed: number }; suites: { tests: { status: string }[] }[] };
    expect(json.summary).toMatchObject({ passed: 1, failed: 1 });
    expect(json.suites[0]!.tests.map((t) => t.status)).toEqual(["passed", "failed"]);
  });
});

describe("the JavaScript API", () => {
  it("asserts decisions with readable failures", async () => {
    const p = await policyForTests("t.armor", POLICY);
    p.expect({ action: { type: "wire", amount: 500 } }, { decision: "require_approval", by: ["big"], approvalFrom: "finance" });
    p.expect({ action: { type: "mail", body: "pin 1234" } }, { decision: "allow", action: { body: "pin [REDACTED]" } });
    p.expect({ action: { type: "wire", amount: "x" } }, { decision: "deny", error: true });
    let error: unknown;
    try {
      p.expect({ action: { type: "wire", amount: 50 } }, { decision: "require_approval" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyAssertionError);
    const e = error as PolicyAssertionError;
    expect(e.expected).toEqual({ decision: "require_approval" });
    expect(e.actual).toEqual({ decision: "allow" });
    expect(e.message).toContain("the policy decided allow");
    expect(e.message).toContain("amount > 100  ->  false  with 50, 100");
  });

  it("asserts decisions of results and messages, their rewritten values and labels", async () => {
    const p = await policyForTests(
      "stages.armor",
      `default allow
rule cards on result when action.type == "crm" redact result.notes matching std.card_number with "[CARD]"
rule web on result when action.type == "fetch" label "untrusted"
rule refunds on output when output.text contains "refund" deny`,
    );
    // the stage is the one the input asks for (its result or output), or the one named
    p.expect({ action: { type: "crm" }, result: { notes: "card 4111 1111 1111 1111", id: 7 } }, { decision: "allow", by: ["cards"], result: { notes: "card [CARD]" } });
    p.expect({ action: { type: "fetch" }, result: "<html>" }, { decision: "allow", labels: ["untrusted"] });
    p.expect({ output: { text: "a refund is on its way" } }, { decision: "deny", by: ["refunds"] });
    p.expect({ action: { type: "fetch" } }, { stage: "result", decision: "allow", labels: ["untrusted"] });
    expect(p.decide({ output: { text: "hi" } }).decision).toBe("allow");
    let error: unknown;
    try {
      p.expect({ action: { type: "crm" }, result: { notes: "none" } }, { labels: ["pii"], result: { notes: "[CARD]" } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyAssertionError);
    expect((error as PolicyAssertionError).actual).toEqual({ labels: [], result: { notes: "none" } });
    expect((error as PolicyAssertionError).message).toContain("cards");
  });

  it("refuses a policy that does not compile, with its diagnostics", async () => {
    await expect(policyForTests("bad.armor", "rule r when amount > deny")).rejects.toThrow(/A101/);
  });
});
