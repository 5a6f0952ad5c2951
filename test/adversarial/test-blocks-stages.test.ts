/**
 * Hostile data in `test` blocks of the result and output stages: prototype names as keys and
 * fields, values of the wrong shape where a stage reads its input, and expectations of labels a
 * decision cannot have. Every row is a test block and whether it passes; none may throw, and
 * nothing may reach Object.prototype.
 */
import { describe, expect, it } from "vitest";
import { runSuite } from "../../packages/compiler/src/testing/runner.js";

const POLICY = `policy hostile
default allow
rule card on result when action.type == "lookup" redact result.notes matching std.card_number with "[CARD]"
rule web on result when action.type == "fetch" label "untrusted"
rule refunds on output when output.text matches /refund/i deny
rule push when action.type == "push" and "untrusted" in session.labels require approval from "security"
rule post when action.type == "post" and seen(labels contains "untrusted" within 1h) deny
`;

const rows: [name: string, steps: string, passes: boolean][] = [
  ["a result's __proto__ key is its own field", `action { type: "lookup" } result { "__proto__": { notes: "4111 1111 1111 1111" } } expect result.notes == null`, true],
  ["a result's __proto__ is not read as notes", `action { type: "lookup" } result { "__proto__": { notes: "x" } } expect result.notes == "x"`, false],
  ["an inherited name is not a field of the result", `action { type: "lookup" } result {} expect result.constructor == null`, true],
  ["an inherited name is not a field of the output", `output { text: "hi" } expect output.toString == null`, true],
  ["a label named after a prototype member is not there", `action { type: "fetch" } result "x" expect labels == ["constructor"]`, false],
  ["session labels named after prototype members do not count", `action { type: "push" } session { labels: ["__proto__", "constructor"] } expect allow`, true],
  ["session labels that are a string, not a list", `action { type: "push" } session { labels: "untrusted" } expect require_approval`, false],
  ["an output without text fails closed", `output { body: "refund" } expect deny expect error`, true],
  ["an output whose text is a number fails closed", `output { text: 5 } expect deny expect error`, true],
  ["a result of null is a result", `action { type: "lookup" } result null expect allow by card expect result == null`, true],
  ["a history entry's labels are read by labels in history conditions", `action { type: "post" } history { type: "fetch" } labels ["untrusted"] ago 10m expect deny by post`, true],
  ["an entry without labels has none", `action { type: "post" } history { type: "fetch" } ago 10m expect allow`, true],
  ["labels of an entry past the window do not count", `action { type: "post" } history 2 of { type: "fetch" } labels ["untrusted"] within 3h history { type: "fetch" } ago 2h expect allow`, true],
  ["a label named after a prototype member is no label of the entry", `action { type: "post" } history { type: "fetch" } labels ["constructor"] ago 1m expect allow`, true],
  ["notes that are not a string are left alone", `action { type: "lookup" } result { notes: [4111, 1111] } expect result.notes == [4111, 1111]`, true],
];

describe("hostile data in stage tests", () => {
  it.each(rows)("%s", async (_name, steps, passes) => {
    const suite = await runSuite({ policyFile: "h.armor", policyText: `${POLICY}\ntest "t" { ${steps} }`, testFiles: [] }, { host: { readFile: () => undefined } });
    expect(suite.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(suite.results.map((r) => r.passed)).toEqual([passes]);
    expect(Object.hasOwn(Object.prototype, "notes")).toBe(false);
  });
});

describe("history labels in tests", () => {
  it("must be a list of strings", async () => {
    const suite = await runSuite(
      { policyFile: "h.armor", policyText: `${POLICY}\ntest "t" { action { type: "post" } history { type: "fetch" } labels ["untrusted", 7] ago 1m expect allow }`, testFiles: [] },
      { host: { readFile: () => undefined } },
    );
    expect(suite.diagnostics.map((d) => [d.code, d.message])).toEqual([["A601", "an entry's `labels` is a list of strings"]]);
  });
});
