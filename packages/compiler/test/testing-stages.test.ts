/**
 * Tests of results, outputs and labels in `test` blocks: the stage a test decides, what it expects
 * of the rewritten result or message and of the labels, the diagnostics of a test that expects a
 * stage's value without giving its input, and coverage counted per stage.
 */
import { describe, expect, it } from "vitest";
import { compileSource, compileTests } from "../src/compile.js";
import { coverageTable } from "../src/testing/report.js";
import { runSuite } from "../src/testing/runner.js";

const POLICY = `policy s
default allow
rule cards on result when action.type == "lookup" redact result.notes matching std.card_number with "[CARD]"
rule secrets on result when any(s in strings(result): s matches std.secret) deny because "credential"
rule web on result when action.type == "fetch" label "untrusted"
rule refunds on output when output.text matches /refund/i deny because "no promises"
rule tidy on output when output.text contains "damn" redact output.text matching /damn/ with "***"
rule push when action.type == "push" and "untrusted" in session.labels require approval from "security"
`;
const noFiles = { readFile: () => undefined };

function tests(body: string) {
  return compileTests("s.test.armor", body, compileSource("s.armor", POLICY, noFiles));
}

async function run(body: string) {
  return runSuite({ policyFile: "s.armor", policyText: POLICY, testFiles: [{ name: "s.test.armor", text: body }] }, { host: noFiles });
}

describe("the stage a test decides", () => {
  it.each([
    ["a call", `test "a" { action { type: "push" } session { labels: ["untrusted"] } expect allow }`, "call", { action: { type: "push" }, session: { labels: ["untrusted"] } }],
    ["a result", `test "a" { action { type: "fetch" } result "<html>" expect allow }`, "result", { action: { type: "fetch" }, result: "<html>" }],
    ["an output", `test "a" { output { text: "hi" } expect allow }`, "output", { output: { text: "hi" } }],
  ])("%s", (_name, body, stage, given) => {
    const t = tests(body);
    expect(t.diagnostics).toEqual([]);
    expect(t.tests[0]!.stage).toBe(stage);
    expect(t.tests[0]!.input).toMatchObject(given);
  });
});

describe("diagnostics of stage tests", () => {
  it.each([
    ["a result expectation without a result", `test "a" { action { type: "lookup" } expect result.notes == "x" }`, ["A601"], "add `result { ... }`"],
    ["an output expectation without an output", `test "a" { action { type: "lookup" } expect output.text == "x" }`, ["A601"], 'add `output { text: "..." }`'],
    ["an action expectation in an output test", `test "a" { output { text: "x" } expect action.body == "x" }`, ["A601"], "expect `output.FIELD == VALUE`"],
    ["an action in an output test", `test "a" { action { type: "lookup" } output { text: "x" } expect allow }`, ["A601"], "remove the `action`"],
    ["a result and an output", `test "a" { action { type: "lookup" } result 1 output { text: "x" } expect allow }`, ["A601"], "split it into two tests"],
    ["a result without its call", `test "a" { result { notes: "x" } expect allow }`, ["A602"], "add the call that returned it"],
    ["two results", `test "a" { action { type: "lookup" } result 1 result 2 expect allow }`, ["A601"], "split it into two tests"],
    ["labels that are not a list", `test "a" { action { type: "fetch" } expect labels == "untrusted" }`, ["A601"], 'expect labels == ["untrusted"]'],
    ["labels that are not strings", `test "a" { action { type: "fetch" } expect labels == [1] }`, ["A601"], 'expect labels == ["untrusted"]'],
    ["a session that is not an object", `test "a" { action { type: "push" } session "untrusted" expect allow }`, ["A601"], 'session { labels: ["untrusted"] }'],
    ["an output that is not an object", `test "a" { output "hi" expect allow }`, ["A601"], 'output { text: "Hello" }'],
    ["an unknown root", `test "a" { action { type: "push" } expect session.labels == [] }`, ["A601"], "expect labels =="],
  ])("%s", (_name, body, codes, help) => {
    const d = tests(body).diagnostics;
    expect(d.map((x) => x.code)).toEqual(codes);
    expect(d[0]!.help).toContain(help);
    expect(d[0]!.span.end).toBeGreaterThan(d[0]!.span.start);
  });
});

describe("running stage tests", () => {
  // each row: a test that must pass, and the same test with one expectation changed, which must fail
  it.each([
    [`action { type: "lookup" } result { notes: "card 4111 1111 1111 1111" }`, `expect allow by cards expect result.notes == "card [CARD]"`, `expect result.notes == "card 4111 1111 1111 1111"`],
    [`action { type: "read" } result { content: "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE" }`, "expect deny by secrets", "expect allow"],
    [`action { type: "read" } result { content: "hello" }`, `expect allow expect result == { content: "hello" } expect labels == []`, `expect result == { content: "bye" }`],
    [`action { type: "fetch" } result "<html>"`, `expect allow expect labels == ["untrusted"]`, "expect labels == []"],
    [`output { text: "We will refund you." }`, "expect deny by refunds", "expect allow"],
    [`output { text: "damn, sorry" }`, `expect allow by tidy expect output.text == "***, sorry"`, `expect output.text == "damn, sorry"`],
    [`action { type: "push" } session { labels: ["untrusted"] }`, `expect require_approval by push expect approval from "security"`, "expect allow"],
    [`action { type: "push" } session { labels: [] }`, "expect allow", "expect require_approval by push"],
    [`action { type: "fetch" } result "<html>"`, `expect labels == ["untrusted"]`, `expect labels == ["untrusted", "web"]`],
  ])("%s", async (given, passing, failing) => {
    const suite = await run(`test "passes" { ${given} ${passing} }\ntest "fails" { ${given} ${failing} }`);
    expect(suite.diagnostics).toEqual([]);
    expect(suite.results.map((r) => [r.test.name, r.passed])).toEqual([
      ["passes", true],
      ["fails", false],
    ]);
  });

  it("explains a failing stage test with the rules of its stage", async () => {
    const suite = await run(`test "t" { output { text: "a refund" } expect allow }`);
    const r = suite.results[0]!;
    expect(r.failures).toEqual(["expected allow, got deny by refunds"]);
    expect(r.explanation).toContain("rule refunds (deny, line 6): fired");
    expect(r.explanation).not.toContain("rule push");
  });

  it("counts each rule over the tests of its stage", async () => {
    const suite = await run(`test "c" { action { type: "push" } session { labels: ["untrusted"] } expect require_approval }
test "r1" { action { type: "lookup" } result { notes: "4111 1111 1111 1111" } expect allow }
test "r2" { action { type: "fetch" } result "x" expect allow }
test "o" { output { text: "refund" } expect deny }`);
    expect(suite.results.every((r) => r.passed)).toBe(true);
    expect(suite.coverage.map((c) => [c.id, c.stage, c.fired, c.notFired])).toEqual([
      ["cards", "result", 1, 1],
      ["secrets", "result", 0, 2],
      ["web", "result", 1, 1],
      ["refunds", "output", 1, 0],
      ["tidy", "output", 0, 1],
      ["push", "call", 1, 0],
    ]);
    const table = coverageTable([suite]);
    expect(table).toMatch(/cards\s+redact on result\s+1\s+1\n/);
    expect(table).toMatch(/push\s+require_approval\s+1\s+0\n/);
  });
});

describe("failure messages of stage tests", () => {
  it.each([
    ["a result no rule decided passes", `action { type: "read" } result "x" expect deny`, "expected deny, got allow (no rule decided the result: it passes)"],
    ["a message no rule decided passes", `output { text: "hi" } expect deny`, "expected deny, got allow (no rule decided the output: it passes)"],
    ["a label alone decides nothing", `action { type: "fetch" } result "x" expect deny`, "expected deny, got allow (no rule decided the result: it passes) (also fired: web)"],
    ["a call falls to the default", `action { type: "push" } expect deny`, "expected deny, got allow (the default; no rule fired)"],
  ])("%s", async (_name, steps, failure) => {
    const suite = await run(`test "t" { ${steps} }`);
    expect(suite.results[0]!.failures).toEqual([failure]);
  });
});
