/**
 * The server's commands that editors compile and test through (`armor.compile`,
 * `armor.runTests`; the VS Code extension has no compiler of its own): what each answers for a
 * policy on disk, an open document with unsaved text, a broken policy, a test file and its
 * policy, as a table of cases over one server.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

const policy = 'default allow\n\nrule no_secrets\n  when action.type == "read_file" and action.path matches /secret/\n  deny\n';
const passing = 'test "secret" {\n  action { type: "read_file", path: "/secret" }\n  expect deny by no_secrets\n}\n';
const failing = 'test "public" {\n  action { type: "read_file", path: "/public" }\n  expect deny\n}\n';

/** Files written to the workspace; `open` ones are also opened with the given (unsaved) text. */
const files: Record<string, { disk: string | null; open?: string }> = {
  "ok.armor": { disk: policy },
  "unsaved.armor": { disk: policy, open: policy.replace("deny\n", 'deny because "unsaved"\n').replace("default allow", "default deny") },
  "broken.armor": { disk: 'default allow\nrule r when action.type == "x" and 1 > "x" deny\n' },
  "suite.armor": { disk: policy },
  "suite.test.armor": { disk: passing + failing },
  "orphan.test.armor": { disk: passing },
  "bad.armor": { disk: policy },
  "bad.test.armor": { disk: 'test "t" {\n  action { type: "read_file" }\n  expect deny by nobody\n}\n' },
};

const uri = (name: string): string => pathToFileURL(join(workspace, name)).href;
const command = <T>(name: string, args: unknown[]): Promise<T> => client.request<T>("workspace/executeCommand", { command: name, arguments: args });

interface CompileResult {
  ok: boolean;
  js: string | null;
  dts: string | null;
  rules: number;
  errors: number;
  warnings: number;
  diagnostics: { code: string; range: { start: { line: number; character: number } } }[];
  rendered: string;
}

interface SuiteReport {
  policyFile: string;
  testFile: string | null;
  problem: string | null;
  errors: number;
  results: { name: string; passed: boolean; failures: string[]; uri: string; range: { start: { line: number } }; expected: string; actual: string; explanation: string | null }[];
  coverage: { id: string; line: number; fired: number; notFired: number }[];
  diagnosticsText: string;
  report: string;
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-commands-"));
  for (const [name, f] of Object.entries(files)) if (f.disk !== null) writeFileSync(join(workspace, name), f.disk);
  client = await TestClient.start({ debounceMs: 10 });
  for (const [name, f] of Object.entries(files)) if (f.open !== undefined) await client.open(join(workspace, name), f.open);
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

/** Runs a compiled module's `decide` on one input. */
async function decide(js: string, input: unknown): Promise<{ decision: string; rules: { id: string; reason?: string | null }[] }> {
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(js).toString("base64")}`)) as { decide: (i: unknown) => { decision: string; rules: { id: string }[] } };
  return mod.decide(input);
}

describe("armor.compile", () => {
  it.each([
    { file: "ok.armor", secret: "deny", public: "allow", reason: null },
    // the open document's text, not the file on disk
    { file: "unsaved.armor", secret: "deny", public: "deny", reason: "unsaved" },
  ])("compiles $file into a module that decides", async ({ file, secret, public: other, reason }) => {
    const r = await command<CompileResult>("armor.compile", [uri(file)]);
    expect({ ok: r.ok, rules: r.rules, errors: r.errors, diagnostics: r.diagnostics, rendered: r.rendered }).toEqual({ ok: true, rules: 1, errors: 0, diagnostics: [], rendered: "" });
    expect(r.dts).toContain("export declare function decide");
    const denied = await decide(r.js!, { action: { type: "read_file", path: "/secret" } });
    expect(denied.decision).toBe(secret);
    expect(denied.rules[0]?.reason ?? null).toBe(reason);
    expect((await decide(r.js!, { action: { type: "read_file", path: "/public" } })).decision).toBe(other);
  });

  it("answers a broken policy with its diagnostics as the server publishes them, and no module", async () => {
    const r = await command<CompileResult>("armor.compile", [uri("broken.armor")]);
    expect({ ok: r.ok, js: r.js, dts: r.dts, errors: r.errors }).toEqual({ ok: false, js: null, dts: null, errors: 1 });
    expect(r.diagnostics.map((d) => [d.code, d.range.start])).toEqual([["A301", { line: 1, character: 35 }]]);
    expect(r.rendered).toContain("error[A301]");
    expect(r.rendered).toContain("broken.armor:2:36");
  });

  it.each([
    { file: "suite.test.armor", error: /holds tests, not a policy/ },
    { file: "missing.armor", error: /missing\.armor does not exist/ },
    { file: null, error: /takes the URI of a \.armor document/ },
    { file: "actions.json", error: /takes the URI of a \.armor document/ },
  ])("refuses $file", async ({ file, error }) => {
    await expect(command("armor.compile", file === null ? [] : [uri(file)])).rejects.toThrow(error);
  });
});

describe("armor.runTests", () => {
  it.each(["suite.armor", "suite.test.armor"])("runs the suite of the policy from %s, with the report armorc test prints", async (file) => {
    const r = await command<SuiteReport>("armor.runTests", [uri(file)]);
    expect({ problem: r.problem, errors: r.errors, policyFile: r.policyFile, testFile: r.testFile }).toEqual({
      problem: null,
      errors: 0,
      policyFile: join(workspace, "suite.armor"),
      testFile: join(workspace, "suite.test.armor"),
    });
    expect(r.results.map((t) => [t.name, t.passed])).toEqual([
      ["secret", true],
      ["public", false],
    ]);
    expect(r.results[1]!.failures.join("\n")).toMatch(/deny/);
    expect(r.report).toMatch(/✓ secret/);
    expect(r.report).toMatch(/✗ public/);
    expect(r.diagnosticsText).toBe("");
  });

  it("gives each result where the test is, what it expected and what it got, and each rule's coverage (for the Test Explorer)", async () => {
    const r = await command<SuiteReport>("armor.runTests", [uri("suite.armor")]);
    expect(r.results.map((t) => ({ uri: t.uri, line: t.range.start.line, expected: t.expected, actual: t.actual }))).toEqual([
      { uri: uri("suite.test.armor"), line: 0, expected: "expect deny by no_secrets", actual: "deny by no_secrets" },
      { uri: uri("suite.test.armor"), line: 4, expected: "expect deny", actual: "allow (the default; no rule fired)" },
    ]);
    expect(r.results[0]!.explanation).toBeNull();
    expect(r.results[1]!.explanation).toContain("action.path matches /secret/  ->  false");
    expect(r.coverage).toEqual([{ id: "no_secrets", line: 2, fired: 1, notFired: 1 }]);
  });

  it("runs a policy without a test file: no tests", async () => {
    const r = await command<SuiteReport>("armor.runTests", [uri("ok.armor")]);
    expect({ problem: r.problem, errors: r.errors, testFile: r.testFile, results: r.results }).toEqual({ problem: null, errors: 0, testFile: null, results: [] });
  });

  it("says why nothing ran for a test file without its policy", async () => {
    const r = await command<SuiteReport>("armor.runTests", [uri("orphan.test.armor")]);
    expect(r.problem).toBe("orphan.test.armor tests orphan.armor, which does not exist");
    expect(r.results).toEqual([]);
  });

  it("runs no test when the tests have errors, and shows them", async () => {
    const r = await command<SuiteReport>("armor.runTests", [uri("bad.armor")]);
    expect(r.errors).toBe(1);
    expect(r.results).toEqual([]);
    expect(r.diagnosticsText).toMatch(/error\[A\d+\]/);
    expect(r.diagnosticsText).toContain("nobody");
  });
});
