/**
 * Stages (`rule NAME on call|result|output`) and labels (`label "L"`, `session.labels`, `labels`
 * of history entries): what the checker accepts and refuses (tables of sources and codes), what
 * the formatter prints, and what the reference interpreter decides at each stage.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import { formatSource } from "../src/format/format.js";
import { evaluatePolicy } from "../src/interpreter.js";
import type { Stage } from "../src/ir.js";

const noFiles = { readFile: () => undefined };
const codes = (src: string): string[] => compileSource("p.armor", `default allow\n${src}\n`, noFiles).diagnostics.map((d) => d.code);

describe("the checker", () => {
  const cases: readonly [string, string, readonly string[]][] = [
    ["a result rule reads result", 'rule r on result when result.status == "ok" deny', []],
    ["strings of the whole result", "rule r on result when any(s in strings(result): s matches std.secret) deny", []],
    ["an output rule reads output.text", 'rule r on output when output.text contains "refund" deny', []],
    ["every stage reads session.labels", 'rule r on output when "pii" in session.labels deny', []],
    ["labels of history entries", 'rule r when seen(labels contains "pii" within 1h) deny', []],
    ["label on any stage", 'rule a when true label "x"\nrule b on result when true label "y"\nrule c on output when true label "z:1"', []],
    ["redact result.PATH on results", "rule r on result when true redact result.body matching std.card_number", []],
    ["redact output.text on output", 'rule r on output when true redact output.text matching /refund/ with "[..]"', []],
    ["on call is the default, and may be written", 'rule r on call when action.type == "x" deny', []],
    ["result in a call rule", 'rule r when result.status == "ok" deny', ["A218"]],
    ["bare result in a call rule", 'rule r when result == "failed" deny', ["A218"]],
    ["output in a result rule", 'rule r on result when output.text == "x" deny', ["A218"]],
    ["result in an output rule", "rule r on output when result == 1 deny", ["A218"]],
    ["the action in an output rule", 'rule r on output when action.type == "x" deny', ["A218"]],
    ["a bare field in an output rule", 'rule r on output when to == "x" deny', ["A218"]],
    ["result inside history stays reserved", "rule r on result when seen(result.x == 1) deny", ["A214"]],
    ["output inside history", 'rule r on output when seen(output.text == "x") deny', ["A208"]],
    ["session inside history", 'rule r when count(session.labels contains "x") > 1 deny', ["A208"]],
    ["session has only labels", 'rule r when session.lables contains "x" deny', ["A206"]],
    ["an unknown stage", "rule r on reslt when true deny", ["A217"]],
    ["an unknown stage, and nothing more about its names", 'rule r on reslt when result.x == 1 and output.text == "y" redact result.x', ["A217"]],
    ["redact the action on results", "rule r on result when true redact action.body", ["A219"]],
    ["redact a bare field on results", "rule r on result when true redact body", ["A219"]],
    ["redact the whole result", "rule r on result when true redact result", ["A219"]],
    ["redact result on output", "rule r on output when true redact result.x", ["A219"]],
    ["redact output on calls", "rule r when true redact output.text", ["A219"]],
    ["an empty label", 'rule r when true label ""', ["A319"]],
    ["a label with a space", 'rule r when true label "two words"', ["A319"]],
    ["a label past 64 characters", `rule r when true label "${"x".repeat(65)}"`, ["A319"]],
  ];
  it.each(cases)("%s", (_name, src, want) => {
    expect(codes(src)).toEqual(want);
  });

  it("names the stage that reads the value in the help, and fixes a call rule to read the action's field", () => {
    const c = compileSource("p.armor", 'default allow\nrule r when result == "failed" deny\n', noFiles);
    const d = c.diagnostics[0]!;
    expect(d.help).toContain("rule NAME on result");
    expect(d.fixes?.[0]?.edits[0]?.newText).toBe("action.result");
  });

  it("suggests the closest stage", () => {
    const d = compileSource("p.armor", "default allow\nrule r on outptu when true deny\n", noFiles).diagnostics[0]!;
    expect(d.help).toContain("did you mean `on output`?");
    expect(d.fixes?.[0]?.edits[0]?.newText).toBe("output");
  });

  it("types result fields by the action type's result schema, narrowed by action.type", () => {
    const schema = JSON.stringify({
      oneOf: [
        {
          type: "object",
          properties: { type: { const: "read_file" }, path: { type: "string" } },
          result: { type: "object", properties: { content: { type: "string" }, size: { type: "number" } }, additionalProperties: false },
        },
        { type: "object", properties: { type: { const: "other" } } },
      ],
    });
    const files = { readFile: (p: string) => (p.endsWith("s.json") ? schema : undefined) };
    const check = (rule: string): string[] => compileSource("/x/p.armor", `schema "s.json"\ndefault allow\n${rule}\n`, files).diagnostics.map((d) => d.code);
    expect(check('rule r on result when action.type == "read_file" and result.content matches std.secret deny')).toEqual([]);
    expect(check('rule r on result when action.type == "read_file" and result.contnet matches std.secret deny')).toEqual(["A302"]);
    expect(check('rule r on result when action.type == "read_file" and result.content > 5 deny')).toEqual(["A301"]);
    // a type without a result schema: any value
    expect(check('rule r on result when action.type == "other" and result.anything == 1 deny')).toEqual([]);
  });
});

describe("the formatter", () => {
  it("prints `on STAGE` and `label`, and formatting again changes nothing", () => {
    const src = 'default allow\nrule   web   on   result // note\n  when action.type == "fetch_url"\n  label    "untrusted"\nrule o on output when output.text contains "x" redact output.text\n';
    const once = formatSource("p.armor", src).text!;
    expect(once).toContain("rule web on result  // note\n");
    expect(once).toContain('  label "untrusted"\n');
    expect(once).toContain("rule o on output\n  when output.text contains");
    expect(formatSource("p.armor", once).text).toBe(once);
  });
});

describe("the interpreter, stage by stage", () => {
  const policy = compileSource(
    "p.armor",
    `default deny
rule web on result
  when action.type in ["fetch_url", "search_web"]
  label "untrusted"
rule cards on result
  when action.type == "lookup_customer"
  redact result.notes matching std.card_number with "[CARD]"
rule creds on result
  when any(s in strings(result): s matches std.secret)
  deny because "a tool returned a credential"
rule refunds on output
  when output.text matches /\\bguarantee(d)? (a )?refund/i
  deny because "no promises of refunds"
rule mail
  when action.type == "send_email" and "untrusted" in session.labels
  require approval from "security"
rule tag
  when action.type == "send_email"
  label "mail"
rule after_pii
  when seen(labels contains "pii" within 1h)
  deny
`,
    noFiles,
  ).policy!;
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const throwing = Object.defineProperty({}, "x", {
    enumerable: true,
    get: () => {
      throw new Error("boom");
    },
  });
  const T = "2026-03-02T10:00:00Z";
  const cases: readonly [string, Stage, unknown, Record<string, unknown>][] = [
    ["a result no rule decides passes (default deny is about calls)", "result", { action: { type: "x" }, result: { a: 1 } }, { decision: "allow", rules: [], labels: [], result: { a: 1 } }],
    ["a label does not change the decision", "result", { action: { type: "fetch_url" }, result: "page" }, { decision: "allow", labels: ["untrusted"], result: "page" }],
    ["a redaction rewrites the result", "result", { action: { type: "lookup_customer" }, result: { notes: "card 4111 1111 1111 1111" } }, { decision: "allow", result: { notes: "card [CARD]" } }],
    [
      "a credential withholds the result",
      "result",
      { action: { type: "x" }, result: ["AKIAIOSFODNN7EXAMPLE"] },
      { decision: "deny", rules: [{ id: "creds", effect: "deny", reason: "a tool returned a credential" }] },
    ],
    [
      "a cyclic result is denied, never passed",
      "result",
      { action: { type: "x" }, result: cyclic },
      { decision: "deny", result: null, errors: [{ rule: null, message: "`result.self` is not JSON: it contains itself" }] },
    ],
    ["a BigInt result is denied", "result", { action: { type: "x" }, result: 1n }, { decision: "deny", result: null, errors: [{ rule: null, message: "`result` is not JSON: a bigint" }] }],
    [
      "a function in a result is denied",
      "result",
      { action: { type: "x" }, result: { f: () => 1 } },
      { decision: "deny", result: null, errors: [{ rule: null, message: "`result.f` is not JSON: a function" }] },
    ],
    [
      "a getter that throws is denied",
      "result",
      { action: { type: "x" }, result: throwing },
      { decision: "deny", result: null, errors: [{ rule: null, message: "the input cannot be read: reading it threw an exception" }] },
    ],
    [
      "a result nested too deep is denied",
      "result",
      { action: { type: "x" }, result: JSON.parse(`${"[".repeat(70)}${"]".repeat(70)}`) },
      { decision: "deny", result: null, errors: [{ rule: null, message: "`result` nests deeper than 64 levels" }] },
    ],
    [
      "a result of too many values is denied",
      "result",
      { action: { type: "x" }, result: new Array(100_001).fill(0) },
      { decision: "deny", result: null, errors: [{ rule: null, message: "`result` holds more than 100,000 values" }] },
    ],
    ["the result stage needs the call's action", "result", { result: 1 }, { decision: "deny", errors: [{ rule: null, message: "`action` must be an object" }] }],
    ["a promise of a refund is withheld", "output", { output: { text: "We guarantee a refund" } }, { decision: "deny", action: null, output: { text: "We guarantee a refund" } }],
    ["a message no rule decides passes", "output", { output: { text: "hello" } }, { decision: "allow", action: null, output: { text: "hello" } }],
    ["output without a string text is denied", "output", { output: "hello" }, { decision: "deny", output: null, errors: [{ rule: null, message: "`output` must be an object with a string `text`" }] }],
    ["session labels reach call rules", "call", { action: { type: "send_email" }, session: { labels: ["untrusted"] } }, { decision: "require_approval", labels: ["mail"] }],
    [
      "labels of history entries",
      "call",
      { action: { type: "x" }, time: T, history: [{ action: { type: "a" }, time: T, labels: ["pii"] }] },
      { decision: "deny", rules: [{ id: "after_pii", effect: "deny", reason: null }] },
    ],
    ["call rules do not run at the result stage", "result", { action: { type: "send_email" }, session: { labels: ["untrusted"] }, result: 1 }, { decision: "allow", rules: [] }],
    ["result rules do not run at the call stage", "call", { action: { type: "fetch_url" } }, { decision: "deny", rules: [], labels: [] }],
  ];
  it.each(cases)("%s", (_name, stage, input, want) => {
    const got = evaluatePolicy(policy, input, { stage }).result;
    expect(got).toMatchObject(want);
    expect(Array.isArray(got.labels)).toBe(true);
    if (stage === "call") expect("result" in got || "output" in got).toBe(false);
    else expect(stage in got).toBe(true);
  });
});
