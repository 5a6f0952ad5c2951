/**
 * Deciding in the editor: the decision lens on each test (decided by the interpreter, re-run when
 * the policy is edited), the `armor.explainTest` and `armor.evaluate` commands (the decision, every
 * rule of the stage with its conditions' values, the non-firing rules too), and what a policy
 * that does not check or an input that is not JSON shows instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "./client.js";

export const policy = `default allow

let LIMIT = 10 * 1000
let PAY = ["wire_transfer", "card_payment"]

rule no_secrets
  when action.type == "read_file" and action.path matches /secret/
  deny because "secrets"

rule big_payments
  when action.type in PAY and amount > LIMIT
  require approval from "finance"

rule many_reads
  when action.type == "read_file" and count(type == "read_file") > 100
  deny

test "secret" {
  action { type: "read_file", path: "/secret" }
  expect deny by no_secrets
}

test "public" {
  action { type: "read_file", path: "/public" }
  expect deny
}

test "bad path" {
  action { type: "read_file", path: 1 }
  expect error
}

test "small payment" {
  action { type: "wire_transfer", amount: 5 }
  expect allow
}
`;

const tests = 'test "in a test file" {\n  action { type: "wire_transfer", amount: 20000 }\n  expect require_approval by big_payments\n}\n';

interface Lens {
  range: { start: { line: number } };
  command?: { title: string; command: string; arguments?: unknown[] };
  data?: unknown;
}
interface Explanation {
  subject: string;
  problem: string | null;
  problemAt: { uri: string; range: { start: { line: number; character: number } } } | null;
  stage: string;
  decision: { decision: string; rules: { id: string }[]; errors: { rule: string | null; message: string }[] } | null;
  summary: string;
  failures: string[] | null;
  rules: { id: string; fired: boolean; error: string | null; conditions: { text: string; value: string; operands?: string[]; inner?: { value: string } }[] }[];
  text: string;
}

let work = "";
let client: TestClient;
const uri = (name: string): string => pathToFileURL(join(work, name)).href;
const command = <T>(name: string, args: unknown[]): Promise<T> => client.request<T>("workspace/executeCommand", { command: name, arguments: args });
/** File names (`p.armor`, `input.json`) in a table of arguments made URIs of the workspace's files. */
const withUris = (args: unknown[]): unknown[] => args.map((a) => (typeof a === "string" && /\.(armor|json)$/.test(a) ? uri(a) : a));
const lenses = (name: string): Promise<Lens[]> => client.request<Lens[]>("textDocument/codeLens", { textDocument: { uri: uri(name) } });
const decisionTitles = async (name: string): Promise<string[]> => (await lenses(name)).filter((l) => l.command?.command === "armor.explainTest").map((l) => l.command!.title);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "armor-lsp-evaluate-"));
  writeFileSync(join(work, "p.armor"), policy);
  writeFileSync(join(work, "p.test.armor"), tests);
  writeFileSync(join(work, "input.json"), JSON.stringify({ action: { type: "read_file", path: "/etc/secret" } }, null, 2));
  client = await TestClient.start({ debounceMs: 10 });
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the decision lens on tests", () => {
  it("shows each test's decision and whether its expectations hold", async () => {
    expect(await decisionTitles("p.armor")).toEqual([
      "✓ deny by no_secrets · explain",
      "✗ expected deny, got allow (the default; no rule fired) · explain",
      expect.stringMatching(/^✓ deny; errors: no_secrets: .* · explain$/),
      "✓ allow (the default; no rule fired) · explain",
    ]);
    // a test file's tests are decided with the policy beside it
    expect(await decisionTitles("p.test.armor")).toEqual(["✓ require_approval by big_payments · explain"]);
  });

  it("is decided again when the policy is edited, in the policy and in its test file", async () => {
    const p = await client.open(join(work, "p.armor"), policy);
    const t = await client.open(join(work, "p.test.armor"), tests);
    try {
      await client.replace(p, policy.replace("/secret/", "/secret|public/").replace("amount > LIMIT", "amount > LIMIT * 10"));
      const titles = await decisionTitles("p.armor");
      expect(titles[1]).toBe("✓ deny by no_secrets · explain");
      expect(await decisionTitles("p.test.armor")).toEqual(["✗ expected require_approval by big_payments, got allow (the default; no rule fired) · explain"]);
    } finally {
      await client.close(p);
      await client.close(t);
    }
  });

  it("says why nothing is decided when the policy does not check, and where", async () => {
    const p = await client.open(join(work, "p.armor"), policy.replace("amount > LIMIT", "amount > > LIMIT"));
    try {
      const titles = await decisionTitles("p.armor");
      expect(titles).toHaveLength(4);
      for (const t of titles) expect(t).toMatch(/^⚠ not decided: the policy does not check, so nothing is decided: p\.armor:11: A1\d\d /);
      const e = await command<Explanation>("armor.explainTest", [uri("p.armor"), "secret"]);
      expect(e.decision).toBeNull();
      expect(e.problemAt?.range.start.line).toBe(10);
    } finally {
      await client.close(p);
    }
  });
});

describe("armor.explainTest", () => {
  it("explains every rule of the stage, the ones that did not fire too, with each condition's value", async () => {
    const e = await command<Explanation>("armor.explainTest", [uri("p.armor"), "public"]);
    expect(e.decision?.decision).toBe("allow");
    expect(e.failures).toEqual(["expected deny, got allow (the default; no rule fired)"]);
    expect(e.rules.map((r) => [r.id, r.fired])).toEqual([
      ["no_secrets", false],
      ["big_payments", false],
      ["many_reads", false],
    ]);
    const secrets = e.rules[0]!.conditions;
    expect(secrets.map((c) => [c.text, c.value])).toEqual([
      ['action.type == "read_file"', "true"],
      ["action.path matches /secret/", "false"],
    ]);
    expect(e.rules[1]!.conditions[0]).toMatchObject({ text: "action.type in PAY", value: "false" });
    expect(e.text).toContain("rule no_secrets (deny, line 6): did not fire");
    expect(e.text).toContain("action.path matches /secret/  ->  false");
  });

  it("names the rule whose evaluation erred", async () => {
    const e = await command<Explanation>("armor.explainTest", [uri("p.armor"), "bad path"]);
    expect(e.decision?.decision).toBe("deny");
    expect(e.rules[0]).toMatchObject({ id: "no_secrets", fired: false, error: expect.any(String) });
    expect(e.failures).toEqual([]);
  });

  it.each([
    { args: [], error: /takes the URI of a \.armor document and a test name/ },
    { args: ["input.json", "secret"], error: /\.armor document/ },
    { args: ["p.armor", "no such test"], error: /has no test named "no such test"/ },
    { args: ["p.armor", { name: "secret" }], error: /test name/ },
  ])("refuses $args", async ({ args, error }) => {
    await expect(command("armor.explainTest", withUris(args))).rejects.toThrow(error);
  });
});

describe("armor.evaluate", () => {
  const input = (o: unknown) => JSON.stringify(o, null, 2);
  it.each([
    { name: "an input file on disk", options: undefined, decision: "deny", summary: "deny by no_secrets" },
    { name: "the unsaved text", options: { text: input({ action: { type: "read_file", path: "/tmp/x" } }) }, decision: "allow", summary: "allow (the default; no rule fired)" },
    {
      name: "a selection of the text",
      options: { text: `[\n${input({ action: { type: "wire_transfer", amount: 1e6 } })}\n]`, range: { start: { line: 1, character: 0 }, end: { line: 6, character: 1 } } },
      decision: "require_approval",
      summary: "require_approval by big_payments",
    },
    {
      name: "the result stage, from the input",
      options: { text: input({ action: { type: "read_file" }, result: "x" }) },
      decision: "allow",
      summary: "allow (no rule decided the result: it passes)",
    },
    {
      name: "prototype keys, read as fields of their own",
      options: { text: '{"action": {"type": "read_file", "__proto__": {"path": "/secret"}}}' },
      decision: "allow",
      summary: "allow (the default; no rule fired)",
    },
  ])("decides $name", async ({ options, decision, summary }) => {
    const e = await command<Explanation>("armor.evaluate", [uri("p.armor"), uri("input.json"), ...(options ? [options] : [])]);
    expect(e.problem).toBeNull();
    expect(e.decision?.decision, e.text).toBe(decision);
    expect(e.summary).toBe(summary);
    expect(e.failures).toBeNull();
  });

  it.each([
    { name: "not JSON", text: '{\n  "action": {"type": \'x\'}\n}', problem: /A5\d\d .*input\.json:2:22/, line: 1 },
    { name: "nested too deep", text: `${"[".repeat(100)}${"]".repeat(100)}`, problem: /deeper than 64 levels/, line: 0 },
    { name: "an infinite number", text: '{"action": {"type": "x", "n": 1e400}}', problem: /no finite value/, line: 0 },
  ])("shows where an input that is $name is wrong", async ({ text, problem, line }) => {
    const e = await command<Explanation>("armor.evaluate", [uri("p.armor"), uri("input.json"), { text }]);
    expect(e.decision).toBeNull();
    expect(e.problem).toMatch(problem);
    expect(e.problemAt?.uri).toBe(uri("input.json"));
    expect(e.problemAt?.range.start.line).toBe(line);
  });

  it("denies, naming the input's problem, an input that is not a decision input", async () => {
    const e = await command<Explanation>("armor.evaluate", [uri("p.armor"), uri("input.json"), { text: "[1, 2]" }]);
    expect(e.decision?.decision).toBe("deny");
    expect(e.decision?.errors[0]?.rule).toBeNull();
  });

  it.each([
    { args: ["p.test.armor", "input.json"], error: /a \.armor policy/ },
    { args: ["p.armor", 7], error: /URI of the input JSON/ },
    { args: ["p.armor", "missing.json"], error: /does not exist/ },
    { args: ["p.armor", "input.json", { text: 1 }], error: /text is a string/ },
    { args: ["p.armor", "input.json", { range: { start: { line: -1, character: 0 }, end: { line: 0, character: 0 } } }], error: /range is/ },
    { args: ["p.armor", "input.json", { range: { start: { line: 90, character: 0 }, end: { line: 91, character: 0 } } }], error: /not inside the input/ },
    { args: ["p.armor", "input.json", { range: { start: { line: 1, character: 0 }, end: { line: 0, character: 0 } } }], error: /not inside the input/ },
    { args: ["p.armor", "input.json", { stage: "later" }], error: /stage is call, result or output/ },
    { args: ["p.armor", "input.json", "text"], error: /options are an object/ },
  ])("refuses $args", async ({ args, error }) => {
    await expect(command("armor.evaluate", withUris(args))).rejects.toThrow(error);
  });
});
