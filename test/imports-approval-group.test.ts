/**
 * `require approval from NAME`: the approver group read from a `param` or let (of this file, or
 * `NS.LET` of an import) at compile time, so a pack's importer chooses who approves with `with {
 * ... }`; anything that is not a string known at compile time is A330 at the name. The packs
 * `armor:pii` and `armor:finance` take their groups as parameters (defaults unchanged).
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit, nodeHost } from "../packages/compiler/src/compile.js";
import { formatSource } from "../packages/compiler/src/format/format.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { type ApprovalHandler, createEnforcer } from "../packages/runtime/src/index.js";

function compile(files: Record<string, string>, root = "main.armor") {
  const at = (p: string) => p.replace(/^\/project\//, "");
  return compileSource(`/project/${root}`, files[root]!, {
    readFile: (p) => files[at(p)] ?? nodeHost.readFile(p),
    packFile: nodeHost.packFile,
  });
}

/** The decision of the compiled module, checked against the interpreter's. */
async function decide(files: Record<string, string>, input: Record<string, unknown>) {
  const c = compile(files);
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const module = await loadModule(emit(c).js);
  const compiled = module.decide(input);
  expect(JSON.stringify(evaluatePolicy(c.policy!, input).result)).toBe(JSON.stringify(compiled));
  return compiled;
}

const BASE = `default allow
param approvers: string = "finance"
let SECOND = "cfo"

rule big
  when action.type == "wire" and amount > 100
  require approval from approvers quorum 2 timeout 1h

rule huge
  when action.type == "wire" and amount > 1_000_000
  require approval from SECOND
`;

// [what, files, input, the group asked]
const CASES: [string, Record<string, string>, Record<string, unknown>, string | null][] = [
  ["a param's default", { "main.armor": BASE }, { action: { type: "wire", amount: 500 } }, "finance"],
  ["a let", { "main.armor": BASE.replace("rule big", "rule big_off").replace("amount > 100", "amount > 1e12") }, { action: { type: "wire", amount: 2e6 } }, "cfo"],
  [
    "the importer's value",
    { "main.armor": 'default allow\nimport "./base.armor" as base with { approvers: "treasury" }\n', "base.armor": BASE },
    { action: { type: "wire", amount: 500 } },
    "treasury",
  ],
  ["the param's default through an import", { "main.armor": 'default allow\nimport "./base.armor" as base\n', "base.armor": BASE }, { action: { type: "wire", amount: 500 } }, "finance"],
  [
    "an imported let, NS.LET",
    { "main.armor": 'default allow\nimport "./base.armor" as base with { approvers: "ops" }\nrule mine\n  when action.type == "deploy"\n  require approval from base.approvers\n', "base.armor": BASE },
    { action: { type: "deploy" } },
    "ops",
  ],
  ["the default's group", { "main.armor": 'param who: string = "ops"\ndefault require approval from who timeout 30m\n' }, { action: { type: "deploy" } }, "ops"],
];

describe("require approval from a param or let", () => {
  it.each(CASES)("%s", async (_what, files, input, group) => {
    const d = await decide(files, input);
    expect(d.decision).toBe("require_approval");
    expect(d.approval?.from).toBe(group);
  });

  it("keeps the quorum and timeout written after the name", async () => {
    const d = await decide({ "main.armor": BASE }, { action: { type: "wire", amount: 500 } });
    expect(d.approval).toEqual({ from: "finance", timeoutMs: 3_600_000, quorum: 2 });
  });

  it("gives an anonymous rule the same id whatever the importer's value", () => {
    const base = 'default allow\nparam approvers: string = "a"\nwhen action.type == "wire" require approval from approvers\n';
    const ids = ["a", "b"].map((v) => compile({ "main.armor": `default allow\nimport "./base.armor" as base with { approvers: "${v}" }\n`, "base.armor": base }).policy!.rules.map((r) => r.id));
    expect(ids[0]).toEqual(ids[1]);
    expect(ids[0]).toHaveLength(1);
  });

  it("is formatted as written", () => {
    const text = 'param approvers: string = "finance"\ndefault require approval from approvers\n\nrule big\n  when action.type == "wire"\n  require approval from approvers quorum 2 timeout 1h\n';
    expect(formatSource("main.armor", text)).toEqual({ ok: true, text });
  });
});

// [what, the effect's `from` clause, a let declared before it, the message]
const REFUSED: [string, string, string, RegExp][] = [
  ["a field of the action", "action.group", "", /`action\.group` is not a `param` or let/],
  ["a bare field", "group", "", /`group` is not a `param` or let/],
  ["the user", "user.team", "", /`user\.team` is not a `param` or let/],
  ["a number", "LIMIT", "let LIMIT = 5\n", /`from` needs a string, but `LIMIT` is a number/],
  ["a list", "GROUPS", 'let GROUPS = ["a", "b"]\n', /`from` needs a string, but `GROUPS` is a list/],
  ["a bool param", "flag", "param flag: bool = true\n", /`from` needs a string, but `flag` is a boolean/],
];

describe("a group that is not a string known at compile time", () => {
  it.each(REFUSED)("%s is A330 at the name", (_what, from, lets, message) => {
    const text = `default allow\n${lets}rule r\n  when action.type == "wire"\n  require approval from ${from}\n`;
    const c = compile({ "main.armor": text });
    const errors = c.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.code)).toEqual(["A330"]);
    const at = text.lastIndexOf(from);
    expect(errors[0]!.span).toEqual({ start: at, end: at + from.length });
    expect(errors[0]!.message).toMatch(message);
    expect(errors[0]!.help).toBeTruthy();
  });

  it("suggests a string let of a similar name", () => {
    const text = 'default allow\nlet APPROVERS = "ops"\nrule r\n  when action.type == "wire"\n  require approval from APROVERS\n';
    const [d] = compile({ "main.armor": text }).diagnostics.filter((x) => x.severity === "error");
    expect(d!.code).toBe("A330");
    expect(d!.help).toMatch(/APPROVERS/);
  });

  it("an unknown let of an import is A201 there, once", () => {
    const c = compile({ "main.armor": 'default allow\nimport "./base.armor" as base\nrule r\n  when action.type == "x"\n  require approval from base.nope\n', "base.armor": BASE });
    expect(c.diagnostics.filter((d) => d.severity === "error").map((d) => d.code)).toEqual(["A201"]);
  });
});

const mail = { type: "send_email", to: "bob@other.example", body: "call +41 44 668 18 00" };
const payment = { type: "payment", amount: 20_000, currency: "USD", recipient: "Acme" };
const ciEdit = { type: "write_file", path: ".github/workflows/ci.yml", content: "on: push" };
const screened = { type: "payment", amount: 5, currency: "USD", recipient: "Acme  Ltd" };

// [pack import, action, the group asked]
const PACKS: [string, Record<string, unknown>, string][] = [
  ['import "armor:pii" as pii', mail, "privacy"],
  ['import "armor:pii" as pii with { approvers: "dpo" }', mail, "dpo"],
  ['import "armor:finance" as finance', payment, "finance"],
  ['import "armor:finance" as finance with { approvers: "treasury" }', payment, "treasury"],
  ['import "armor:finance" as finance', screened, "compliance"],
  ['import "armor:finance" as finance with { compliance_approvers: "sanctions-desk" }', screened, "sanctions-desk"],
  ['import "armor:coding" as coding', ciEdit, "maintainers"],
  ['import "armor:coding" as coding with { approvers: "platform" }', ciEdit, "platform"],
];

describe("the packs' approver groups are parameters", () => {
  it.each(PACKS)("%s", async (imp, action, group) => {
    // the finance pack's budgets read the user, the time and the history
    const d = await decide({ "main.armor": `default allow\n${imp}\n` }, { action, user: { id: "ann" }, time: "2026-03-02T12:00:00Z", history: [] });
    expect(d.decision).toBe("require_approval");
    expect(d.approval?.from).toBe(group);
  });

  // an approver the handler reports in the pack's default group, and one in the importer's
  const answering = (group: string): ApprovalHandler => ({ request: async () => ({ approved: true, approver: "ann", groups: { ann: [group] } }) });
  it.each([
    ["privacy", "deny"],
    ["dpo", "allow"],
  ] as const)("with approvers: dpo, an approver of %s gets %s", async (group, decision) => {
    const enforcer = await createEnforcer({
      policy: { source: 'default allow\nimport "armor:pii" as pii with { approvers: "dpo" }\n', fileName: "agent.armor" },
      approvals: answering(group),
      throwOnDeny: false,
    });
    const ran = await enforcer.run(mail, { session: "s" }, () => "sent");
    expect(ran.decision.decision).toBe(decision);
    if (decision === "deny") expect(ran.decision.errors.map((e) => e.message).join("\n")).toMatch(/ann is not in the group `dpo`/);
    else expect(ran.result).toBe("sent");
    await enforcer.close();
  });
});
