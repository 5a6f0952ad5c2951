/**
 * Imports in the language server, over the real server (stdio): go to definition into an imported
 * file and into a pack, completion of imported names after `NAMESPACE.`, hover on a namespace,
 * diagnostics in the file they belong to (the importer shows one on the import), and an edit of an
 * open imported file re-checking its importer with the unsaved text.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cursor, type LspPosition, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

const BASE = 'default deny\nparam limit: number = 10\nlet SANCTIONED = ["evil"]\nrule big when action.type == "wire" and amount > limit deny\n';
const MAIN =
  'default allow\nimport "./base.armor" as base with { limit: 5 }\nimport "armor:secrets" as secrets\nrule mail when action.type == "email" and to in base.SANCTIONED deny\ndisable secrets.no_secret_in_output\n';

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-imports-"));
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, "base.armor"), BASE);
  writeFileSync(join(workspace, "main.armor"), MAIN);
  client = await TestClient.start({}, [workspace]);
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

const positionOf = (text: string, marker: string, shift = 0): LspPosition => {
  const at = text.indexOf(marker) + shift;
  const before = text.slice(0, at).split("\n");
  return { line: before.length - 1, character: before[before.length - 1]!.length };
};

interface Location {
  uri: string;
  range: { start: LspPosition };
}

describe("imports in the language server", () => {
  it("goes to an imported let, an imported file and a pack's rule", async () => {
    const uri = await client.open(join(workspace, "main.armor"), MAIN);
    const base = pathToFileURL(join(workspace, "base.armor")).href;
    const definitionAt = (position: LspPosition) => client.request<Location[]>("textDocument/definition", { textDocument: { uri }, position });
    expect(await definitionAt(positionOf(MAIN, "base.SANCTIONED", 6))).toEqual([expect.objectContaining({ uri: base, range: expect.objectContaining({ start: { line: 2, character: 4 } }) })]);
    expect((await definitionAt(positionOf(MAIN, "./base.armor", 2))).map((l) => l.uri)).toEqual([base]);
    const pack = await definitionAt(positionOf(MAIN, "no_secret_in_output", 3));
    expect(pack).toHaveLength(1);
    expect(pack[0]!.uri).toMatch(/packs\/secrets\.armor$/);
  });

  it("completes an import's lets and params after its namespace, and its rules after override/disable", async () => {
    const lets = cursor('default allow\nimport "./base.armor" as base\nrule r when amount > base.$0\n');
    const uri = await client.open(join(workspace, "complete.armor"), lets.text);
    const items = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: lets.position });
    expect(items.map((i) => i.label).sort()).toEqual(["SANCTIONED", "limit"]);
    const rules = cursor('default allow\nimport "./base.armor" as base\ndisable base.$0\n');
    await client.replace(uri, rules.text);
    const named = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: rules.position });
    expect(named.map((i) => i.label)).toEqual(["big"]);
  });

  it("hovers a namespace with the import's file, rules and params", async () => {
    const uri = pathToFileURL(join(workspace, "main.armor")).href;
    const hover = await client.request<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri }, position: positionOf(MAIN, "as base", 4) });
    expect(hover.contents.value).toContain("base.armor");
    expect(hover.contents.value).toContain("`base.big`");
    expect(hover.contents.value).toContain("`limit`");
  });

  it("publishes an imported file's error in that file, and one on the import in the importer, re-checked when the imported text changes", async () => {
    const mainUri = pathToFileURL(join(workspace, "main.armor")).href;
    const baseUri = await client.open(join(workspace, "base.armor"), BASE);
    const broken = `${BASE}rule oops when amount > deny\n`;
    const version = await client.replace(baseUri, broken);
    const own = await client.nextDiagnostics(baseUri, version);
    expect(own.diagnostics.filter((d) => d.severity === 1).map((d) => d.code)).toEqual(["A101"]);
    const importer = await client.diagnosticsWhere(mainUri, (p) => p.diagnostics.length > 0);
    expect(importer.diagnostics).toHaveLength(1);
    expect(importer.diagnostics[0]!.range.start.line).toBe(1);
    expect(importer.diagnostics[0]!.message).toContain("A101");
    await client.replace(baseUri, BASE);
    const clean = await client.diagnosticsWhere(mainUri, (p) => p.diagnostics.length === 0);
    expect(clean.diagnostics).toEqual([]);
  });
});
