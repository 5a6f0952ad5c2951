/**
 * Protocol behaviour that is about a sequence of messages rather than one request: diagnostics
 * that clear after a fix, a test file re-checked when its policy changes, refused renames as
 * errors, semantic tokens decoded, the test runner behind the code lens, broken files.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/baseline.js";
import { cursor, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-behaviour-"));
  copyFileSync(join(repoRoot, "test/cases/check/actions.schema.json"), join(workspace, "actions.schema.json"));
  client = await TestClient.start({ debounceMs: 10 });
});

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

const policy = `schema "./actions.schema.json"
default allow

rule no_secrets
  when action.type == "read_file" and path matches /secret/
  deny
`;

describe("language server behaviour", () => {
  it("clears diagnostics after a fix", async () => {
    const broken = policy.replace("path matches", "pth matches");
    const uri = await client.open(join(workspace, "fix.armor"), broken);
    const first = await client.diagnosticsOf(uri, 1);
    expect(first.diagnostics.map((d) => d.code)).toEqual(["A302"]);
    const v2 = await client.replace(uri, policy.replace("when action", "when (action"));
    expect((await client.nextDiagnostics(uri, v2)).diagnostics.map((d) => d.code)).toContain("A101");
    const v3 = await client.replace(uri, policy);
    expect((await client.nextDiagnostics(uri, v3)).diagnostics).toEqual([]);
  });

  it("re-checks an open test file when its policy changes", async () => {
    writeFileSync(join(workspace, "pair.armor"), policy);
    const testText = 'test "secret" {\n  action { type: "read_file", path: "/secret" }\n  expect deny by no_secrets\n}\n';
    writeFileSync(join(workspace, "pair.test.armor"), testText);
    const testUri = await client.open(join(workspace, "pair.test.armor"), testText);
    expect((await client.diagnosticsOf(testUri, 1)).diagnostics).toEqual([]);
    const policyUri = await client.open(join(workspace, "pair.armor"), policy);
    await client.diagnosticsOf(policyUri, 1);
    await client.replace(policyUri, policy.replace("rule no_secrets", "rule secrets"));
    const after = await client.diagnosticsWhere(testUri, (p) => p.diagnostics.length > 0);
    expect(after.diagnostics.map((d) => d.code)).toEqual(["A201"]);
    expect(after.diagnostics[0]!.codeDescription?.href).toMatch(/docs\/diagnostics\.md#a201-unknown-name$/);
    // and clears when the policy is fixed again
    await client.replace(policyUri, policy);
    expect((await client.diagnosticsWhere(testUri, (p) => p.diagnostics.length === 0)).diagnostics).toEqual([]);
  });

  it("refuses invalid renames with an error", async () => {
    const { text, position } = cursor(policy.replace("rule no_secrets", "rule no_se$0crets"));
    const uri = await client.open(join(workspace, "rename.armor"), text);
    for (const newName of ["deny", "when", "1st", "has space", "not-a-name"]) {
      await expect(client.request("textDocument/rename", { textDocument: { uri }, position, newName })).rejects.toMatchObject({ code: -32602 });
    }
    const ok = await client.request<{ changes: Record<string, unknown[]> }>("textDocument/rename", { textDocument: { uri }, position, newName: "secrets" });
    expect(ok.changes[uri]).toHaveLength(1);
  });

  it("classifies semantic tokens", async () => {
    const text = 'schema "./actions.schema.json"\ndefault deny\nlet L = [1] // c\nrule r\n  when action.type == "wire_transfer" and amount in L\n  deny\nlet M = 1h30m\n';
    const uri = await client.open(join(workspace, "tokens.armor"), text);
    const legend = (client.capabilities.semanticTokensProvider as { legend: { tokenTypes: string[] } }).legend;
    const { data } = await client.request<{ data: number[] }>("textDocument/semanticTokens/full", { textDocument: { uri } });
    const lines = text.split("\n");
    const tokens = new Map<string, string>();
    let line = 0;
    let char = 0;
    for (let i = 0; i < data.length; i += 5) {
      line += data[i]!;
      char = data[i] === 0 ? char + data[i + 1]! : data[i + 1]!;
      tokens.set(`${line}:${lines[line]!.slice(char, char + data[i + 2]!)}`, legend.tokenTypes[data[i + 3]!]!);
    }
    expect(tokens.get("0:schema")).toBe("keyword");
    expect(tokens.get('0:"./actions.schema.json"')).toBe("string");
    expect(tokens.get("2:L")).toBe("variable");
    expect(tokens.get("2:1")).toBe("number");
    expect(tokens.get("2:// c")).toBe("comment");
    expect(tokens.get("3:r")).toBe("function");
    expect(tokens.get("4:amount")).toBe("property");
    expect(tokens.get("4:L")).toBe("variable");
    expect(tokens.get("4:==")).toBe("operator");
    // a malformed number (A106) is still coloured as one
    expect(tokens.get("6:1h30m")).toBe("number");
  });

  it("runs a test from its code lens and asks the client to refresh the lenses", async () => {
    const text = `${policy}\ntest "passes" {\n  action { type: "read_file", path: "/secret" }\n  expect deny by no_secrets\n}\n`;
    const uri = await client.open(join(workspace, "lens.armor"), text);
    const all = await client.request<{ command: { command: string; arguments: unknown[] } }[]>("textDocument/codeLens", { textDocument: { uri } });
    // "run test", and the decision lens (test/lsp/evaluate.test.ts)
    const lenses = all.filter((l) => l.command.command === "armor.runTest");
    expect(lenses).toHaveLength(1);
    const before = client.refreshes;
    const outcome = await client.request<{ passed: boolean }>("workspace/executeCommand", lenses[0]!.command);
    expect(outcome.passed).toBe(true);
    expect(client.refreshes).toBeGreaterThan(before);
    const after = await client.request<{ command: { title: string } }[]>("textDocument/codeLens", { textDocument: { uri } });
    expect(after.map((l) => l.command.title)).toContain("last result: passed");
    await expect(client.request("workspace/executeCommand", { command: "armor.nothing", arguments: [] })).rejects.toBeTruthy();
  });

  it("answers every request on a file that does not parse", async () => {
    const text = 'let X = [1, 2\nrule ( when when action. "\nrule r when action.type == "read_file" and size > X deny\ntest "t" { action { type: } expect by }\n';
    const uri = await client.open(join(workspace, "garbage.armor"), text);
    const doc = { textDocument: { uri } };
    const diagnostics = await client.diagnosticsOf(uri, 1);
    expect(diagnostics.diagnostics.length).toBeGreaterThan(0);
    for (let line = 0; line < 4; line++) {
      for (let character = 0; character < 30; character += 3) {
        const position = { line, character };
        await client.request("textDocument/completion", { ...doc, position });
        await client.request("textDocument/hover", { ...doc, position });
        await client.request("textDocument/definition", { ...doc, position });
        await client.request("textDocument/references", { ...doc, position, context: { includeDeclaration: true } });
        await client.request("textDocument/prepareRename", { ...doc, position });
      }
    }
    expect(await client.request("textDocument/formatting", { ...doc, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
    expect(await client.request<unknown[]>("textDocument/documentSymbol", doc)).not.toHaveLength(0);
    await client.request("textDocument/foldingRange", doc);
    await client.request("textDocument/semanticTokens/full", doc);
    await client.request("textDocument/codeLens", doc);
    await client.request("textDocument/codeAction", { ...doc, range: { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } }, context: { diagnostics: [] } });
  });
});
