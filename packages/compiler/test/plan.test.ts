// Codegen's plan (codegen/plan.ts) is data: what a module contains and how it is laid out, as
// plain objects that can be asserted field by field, before any JavaScript text is printed.
import { describe, expect, it } from "vitest";
import { emitModule } from "../src/codegen/emit.js";
import { type ModulePlan, planModule } from "../src/codegen/plan.js";
import { printModule } from "../src/codegen/print.js";
import { compileSource } from "../src/compile.js";

const noFiles = { readFile: (): undefined => undefined };

function plan(source: string): { plan: ModulePlan; js: string } {
  const c = compileSource("p.armor", source, noFiles);
  if (!c.ok) throw new Error(c.diagnostics.map((d) => d.message).join("\n"));
  return { plan: planModule(c.policy), js: emitModule(c.policy).js };
}

/** The value at a dotted path (`rules.0.id`), read through own properties only. */
function at(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const TWO_RULES = `policy two
default allow
rule big_wire when action.type == "wire_transfer" and action.amount > 10000 require approval from "finance"
rule blocked when action.recipient in ["x", "y"] deny because "blocked"
`;

describe("the plan of a policy of two rules", () => {
  const { plan: p, js } = plan(TWO_RULES);

  it.each([
    // the rules in source order, each with its condition's template and literals
    { field: "rules.length", want: 2 },
    { field: "rules.0.id", want: "big_wire" },
    { field: "rules.0.effect", want: { kind: "require_approval", from: "finance", timeoutMs: null, quorum: 1, grant: null } },
    // the type test is dropped inside the type's function; the threshold is data
    { field: "rules.0.condition", want: { template: "$g0", literals: [10000] } },
    { field: "rules.0.onlyRuleOfAType", want: false },
    { field: "rules.1.id", want: "blocked" },
    { field: "rules.1.reason", want: "blocked" },
    { field: "rules.1.condition", want: { template: "$g1", literals: [] } },
    // the generic rule is the only rule of the entry for every other type
    { field: "rules.1.onlyRuleOfAType", want: true },
    // compiled expressions: one template per condition shape; the list is a hoisted Set
    { field: "conditions.length", want: 2 },
    { field: "conditions.0.rule", want: { id: "big_wire", line: 3 } },
    { field: "conditions.0.literalCount", want: 1 },
    { field: "constants", want: [{ name: "$S0", code: 'new Set(["x", "y"])' }] },
    // layout: wire_transfer's function runs both rules, every other type's runs the generic one
    { field: "typeFunctions.length", want: 2 },
    { field: "typeFunctions.0.offsets", want: [2, 5] },
    {
      field: "typeFunctions.0.steps",
      want: [
        { effect: "require_approval", redactRegex: false, redactCheck: false, redactText: false, condition: "$g0", slot: 0, at: 2, only: false },
        { effect: "deny", redactRegex: false, redactCheck: false, redactText: false, condition: "$g1", slot: 1, at: 5, only: false },
      ],
    },
    { field: "typeFunctions.1.steps.0.only", want: true },
    {
      field: "entries.0",
      want: {
        offset: 0,
        function: "$t0",
        onlyRule: null,
        slots: [
          { kind: "descriptor", rule: 0 },
          { kind: "approval", rule: 0 },
          { kind: "literal", value: 10000 },
          { kind: "descriptor", rule: 1 },
        ],
      },
    },
    { field: "entries.1", want: { offset: 6, function: "$t1", onlyRule: 1, slots: [] } },
    // dispatch: wire_transfer has a function of its own (found by a switch on the length);
    // the other types' function is called directly
    { field: "dispatch.types", want: [{ type: "wire_transfer", offset: 0 }] },
    { field: "dispatch.other", want: 6 },
    { field: "dispatch.own", want: [{ length: 13, types: [{ type: "wire_transfer", function: "$t0", offset: 0 }] }] },
    { field: "dispatch.direct", want: ["$t1"] },
    // what the module needs: helpers in the order of first use, fast-path keys, no time, history or regex
    // (decideResult and decideOutput, which every module has, need $stageValue and $V)
    { field: "helpers", want: ["$f", "$err", "$ordErr", "$stageValue", "$V", "$failed"] },
    { field: "fastPathKeys", want: ["action", "amount", "recipient", "type"] },
    { field: "time", want: null },
    { field: "lazyInput", want: false },
    { field: "trackers", want: [] },
    { field: "regex", want: { length: false, matcher: false } },
    { field: "metadata.rules.0.typeOnly", want: false },
    { field: "metadata.rules.1.actionTypes", want: null },
    { field: "metadata.rules.1.stage", want: "call" },
    // no rules past the call stage, and no labels on calls
    { field: "stages", want: { result: { steps: [], slots: [] }, output: { steps: [], slots: [] } } },
    { field: "callLabels", want: false },
  ])("$field", ({ field, want }) => {
    expect(at(p, field)).toEqual(want);
  });

  it("is plain data: it survives a JSON round trip unchanged", () => {
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  it("is all the printer needs: printing it gives the emitted module", () => {
    expect(printModule(p)).toBe(js);
  });
});

describe("layout decisions in the plan", () => {
  it.each([
    {
      name: "rules that differ only in literals share a condition template and a type function",
      source: `policy p
default allow
rule a when action.type == "x" and action.n > 1 deny
rule b when action.type == "y" and action.n > 2 deny
`,
      field: "typeFunctions.length",
      want: 2, // x and y share one, every other type has its own
    },
    {
      name: "types that share a function go through the Map, not the switch",
      source: `policy p
default allow
rule a when action.type == "x" and action.n > 1 deny
rule b when action.type == "y" and action.n > 2 deny
`,
      field: "dispatch.own",
      want: [],
    },
    {
      name: "a rule whose condition is only its type test has no condition",
      source: `policy p
default allow
rule a when action.type == "x" deny
`,
      field: "rules.0.condition",
      want: null,
    },
    {
      name: "a redaction with a regex takes the program as a slot",
      source: `policy p
default allow
rule a when action.type == "x" redact body matching /\\d+/
`,
      field: "entries.0.slots",
      want: [
        { kind: "redactPath", rule: 0 },
        { kind: "program", constant: "$P0" },
      ],
    },
    {
      name: "a policy whose rules do not read session.labels says so (a store may skip reading them)",
      source: `policy p
default allow
rule a when count(item.type == "x" and labels contains "l" within 1h) > 3 deny
rule b when action.type == "y" label "l"
`,
      field: "metadata.readsSessionLabels",
      want: false,
    },
    {
      name: "a rule on calls that reads session.labels inside a quantifier",
      source: `policy p
default allow
rule a when any(x in action.tags: x in session.labels) deny
`,
      field: "metadata.readsSessionLabels",
      want: true,
    },
    {
      name: "a rule on results that reads session.labels",
      source: `policy p
default allow
rule a on result when result.text contains "x" and "secret" in session.labels deny
`,
      field: "metadata.readsSessionLabels",
      want: true,
    },
    {
      name: "a history predicate is a tracker and makes the input lazy",
      source: `policy p
default allow
rule a when count(item.type == "x" within 1h) > 3 deny
`,
      field: "lazyInput",
      want: true,
    },
  ])("$name", ({ source, field, want }) => {
    const { plan: p, js } = plan(source);
    expect(at(p, field)).toEqual(want);
    expect(printModule(p)).toBe(js);
  });
});
