/**
 * Hostile inputs for deciding in the editor (the decision lens, inlay hints, `armor.explainTest`
 * and `armor.evaluate`): input files of megabytes, nested 100,000 deep, with prototype keys or
 * numbers JSON reads as infinite; inputs that walk past the interpreter's limits; a policy whose
 * evaluation errs; a test file of 5,000 tests. Every request answers: a decision (a deny that says
 * why when the evaluation erred) or the reason nothing was decided, never an error or a hang, and
 * the server answers the next request. The time limit of each case only catches a hang.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../lsp/client.js";

const policy = `default allow

rule no_secrets
  when action.type == "read_file" and action.path matches /secret/
  deny because "secrets"

rule no_bad_items
  when action.type == "batch" and any(x in action.items: x == "bad")
  deny

rule same
  when action.type == "compare" and action.a == action.b
  deny
`;

interface Explanation {
  problem: string | null;
  decision: { decision: string; rules: { id: string }[]; errors: { rule: string | null; message: string }[] } | null;
  rules: { id: string; fired: boolean; error: string | null }[];
  text: string;
}
interface Lens {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  command?: { title: string; command: string; arguments?: unknown[] };
  data?: unknown;
}

let work = "";
let client: TestClient;
const uri = (name: string): string => pathToFileURL(join(work, name)).href;
const evaluate = (text: string): Promise<Explanation> =>
  client.request<Explanation>("workspace/executeCommand", { command: "armor.evaluate", arguments: [uri("p.armor"), uri("input.json"), { text }] });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "armor-lsp-lens-hostile-"));
  writeFileSync(join(work, "p.armor"), policy);
  writeFileSync(join(work, "input.json"), "{}");
  client = await TestClient.start({ debounceMs: 10 });
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** After every case: the server still answers. */
async function answers(): Promise<void> {
  const e = await evaluate('{"action": {"type": "read_file", "path": "/secret"}}');
  expect(e.decision?.decision).toBe("deny");
}

const action = (a: Record<string, unknown>): string => JSON.stringify({ action: a });

describe("hostile input files for armor.evaluate", () => {
  it.each([
    {
      name: "8 MiB matched by a regex",
      text: () => action({ type: "read_file", path: "x".repeat(8 * 1024 * 1024) }),
      decided: "deny",
      error: { rule: "no_secrets", message: /1,?048,?576|longer than/ },
    },
    {
      name: "500,000 list elements for a quantifier",
      text: () => action({ type: "batch", items: Array.from({ length: 500_000 }, () => "ok") }),
      decided: "deny",
      error: { rule: "no_bad_items", message: /100,?000/ },
    },
    {
      name: "two equal lists of 3 million elements compared",
      text: () => action({ type: "compare", a: Array.from({ length: 3_000_000 }, () => 1), b: Array.from({ length: 3_000_000 }, () => 1) }),
      decided: "deny",
      error: null,
    },
    { name: "prototype keys", text: () => '{"action": {"type": "read_file", "__proto__": {"path": "/secret"}, "constructor": {"path": "/secret"}}}', decided: "allow", error: null },
    { name: "not an object", text: () => '"read_file"', decided: "deny", error: { rule: null, message: /./ } },
    { name: "an action without a type", text: () => '{"action": {"path": "/secret"}}', decided: "deny", error: { rule: null, message: /type/ } },
  ])(
    "decides an input of $name within the interpreter's limits",
    async ({ text, decided, error }) => {
      const e = await evaluate(text());
      expect(e.problem).toBeNull();
      expect(e.decision?.decision, e.text.slice(0, 2000)).toBe(decided);
      if (error === null) expect(e.decision?.errors).toEqual([]);
      else {
        expect(e.decision?.errors[0]?.rule).toBe(error.rule);
        expect(e.decision?.errors[0]?.message).toMatch(error.message);
        // the explanation names the rule that erred, and why
        if (error.rule !== null) expect(e.rules.find((r) => r.id === error.rule)?.error).toMatch(error.message);
      }
      expect(Object.hasOwn(Object.prototype, "path")).toBe(false);
      await answers();
    },
    60_000,
  );

  it.each([
    { name: "nested 100,000 deep", text: () => `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`, problem: /deeper than 64 levels/ },
    { name: "a number past the largest", text: () => action({ type: "x" }).replace('"x"}', '"x", "n": 1e400}'), problem: /no finite value/ },
    { name: "larger than 16 MiB", text: () => action({ type: "read_file", path: "x".repeat(17 * 1024 * 1024) }), problem: /larger than 16 MiB/ },
    { name: "binary garbage", text: () => "\u0000\uffff{[\ud800", problem: /not valid JSON/ },
  ])(
    "says why an input $name is not decided",
    async ({ text, problem }) => {
      const e = await evaluate(text());
      expect(e.decision).toBeNull();
      expect(e.problem).toMatch(problem);
      await answers();
    },
    60_000,
  );
});

describe("hostile tests for the decision lens", () => {
  it("shows a test whose evaluation errs as denied, naming the rule", async () => {
    const text = `${policy}\ntest "errs" {\n  action { type: "read_file", path: 7 }\n  expect allow\n}\n`;
    const u = await client.open(join(work, "errs.armor"), text);
    const lenses = await client.request<Lens[]>("textDocument/codeLens", { textDocument: { uri: u } });
    const title = lenses.find((l) => l.command?.command === "armor.explainTest")?.command?.title ?? "";
    expect(title).toMatch(/^✗ expected allow, got deny; errors: no_secrets: /);
    await client.close(u);
  });

  it("decides a bounded number of lenses of a file of 5,000 tests, and the rest when resolved", async () => {
    const tests = Array.from(
      { length: 5000 },
      (_, i) => `test "t${i}" {\n  history 50 of { type: "read_file", path: "/secret" }\n  action { type: "read_file", path: "/p${i}" }\n  expect allow\n}\n`,
    ).join("");
    writeFileSync(join(work, "many.armor"), policy);
    const u = await client.open(join(work, "many.test.armor"), tests);
    const lenses = await client.request<Lens[]>("textDocument/codeLens", { textDocument: { uri: u } });
    const decided = lenses.filter((l) => l.command?.command === "armor.explainTest");
    const later = lenses.filter((l) => l.command === undefined);
    expect(decided).toHaveLength(100);
    expect(later).toHaveLength(4900);
    const resolved = await client.request<Lens>("codeLens/resolve", later[later.length - 1]);
    expect(resolved.command).toMatchObject({ title: "✓ allow (the default; no rule fired) · explain", command: "armor.explainTest", arguments: [u, "t4999"] });
    // a resolve with data that names nothing comes back as it was
    const forged = { range: later[0]!.range, data: { uri: u, name: { toString: 1 } } };
    expect(await client.request<Lens>("codeLens/resolve", forged)).toEqual(forged);
    // hints decide only the tests in the range asked for
    const hints = await client.request<unknown[]>("textDocument/inlayHint", { textDocument: { uri: u }, range: { start: { line: 24_000, character: 0 }, end: { line: 24_010, character: 0 } } });
    expect(hints).toHaveLength(3);
    await client.close(u);
    await answers();
  }, 60_000);
});
