/**
 * A failing property as a diagnostic: proved when the policy is opened or saved (never on a
 * change), shown at the property's name with its counterexample (A408), cached for the text it
 * proved and dropped once the text changes; a property that holds shows nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-properties-"));
  client = await TestClient.start({ debounceMs: 10 });
});

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

const policy = `default allow
rule review when action.type == "wire" and amount > 100000 require approval
property big_wires: never allow when action.type == "wire" and amount > 10000
property reviewed: never allow when action.type == "wire" and amount > 100000
`;

describe("language server: property proofs", () => {
  it("shows a failing property at its name with its counterexample, and nothing for one that holds", async () => {
    const uri = await client.open(join(workspace, "wires.armor"), policy);
    const published = await client.diagnosticsWhere(uri, (p) => p.diagnostics.some((d) => d.code === "A408"));
    const proofs = published.diagnostics.filter((d) => d.code === "A408");
    expect(proofs).toHaveLength(1);
    const d = proofs[0]!;
    expect(d.severity).toBe(1);
    expect(d.range).toEqual({ start: { line: 2, character: 9 }, end: { line: 2, character: 18 } });
    expect(d.message).toContain("property `big_wires` (never allow) fails");
    expect(d.message).toContain('"amount":10001');
    expect(d.message).toContain("decided allow by the default");

    // a change is not proved: the cached result belongs to the old text and is no longer shown
    const v2 = await client.replace(uri, policy.replace("amount > 100000 require", "amount > 200000 require"));
    const changed = await client.diagnosticsOf(uri, v2);
    expect(changed.diagnostics.filter((d) => d.code === "A408")).toEqual([]);

    // a save proves the new text: now both properties fail
    await client.connection.sendNotification("textDocument/didSave", { textDocument: { uri } });
    const saved = await client.diagnosticsWhere(uri, (p) => p.version === v2 && p.diagnostics.some((d) => d.code === "A408"));
    expect(saved.diagnostics.filter((d) => d.code === "A408").map((d) => d.range.start.line)).toEqual([2, 3]);
  }, 120_000);

  it("proves a test file's properties against the policy beside it, and shows a failing one in the test file", async () => {
    const dir = join(workspace, "tests");
    mkdirSync(dir);
    const policyText = 'default allow\nlet LIMIT = 10000\nrule review when action.type == "wire" and amount > LIMIT require approval\n';
    writeFileSync(join(dir, "pay.armor"), policyText);
    const tests = 'property reviewed: never allow when action.type == "wire" and amount > LIMIT\nproperty small: always allow when action.type == "wire" and amount > 100\n';
    const uri = await client.open(join(dir, "pay.test.armor"), tests);
    const published = await client.diagnosticsWhere(uri, (p) => p.diagnostics.some((d) => d.code === "A408"));
    const proofs = published.diagnostics.filter((d) => d.code === "A408");
    // `reviewed` holds (the policy's let LIMIT read from the test file); `small` fails at its name
    expect(proofs.map((d) => [d.range.start.line, d.range.start.character, d.range.end.character])).toEqual([[1, 9, 14]]);
    expect(proofs[0]!.message).toContain("property `small` (always allow) fails");
    expect(proofs[0]!.message).toContain('"amount":10001');
  }, 120_000);

  it("shows an imported file's property that fails against the importer in that file and at the import", async () => {
    const dir = join(workspace, "imports");
    mkdirSync(dir);
    // base.armor alone denies every sanctioned wire; main disables that rule, so base's property fails there
    const base =
      'default allow\nlet SANCTIONED = ["evil-corp"]\nrule no_sanctioned when action.type == "wire" and recipient in SANCTIONED deny\nproperty never_sanctioned: never allow when action.type == "wire" and recipient in SANCTIONED\n';
    writeFileSync(join(dir, "base.armor"), base);
    const baseUri = pathToFileURL(join(dir, "base.armor")).href;
    const main = 'default allow\nimport "./base.armor" as base\ndisable base.no_sanctioned\n';
    const mainUri = await client.open(join(dir, "main.armor"), main);

    // base.armor is not open: the importer's proof is published for it alone, at the property's name
    const there = await client.diagnosticsWhere(baseUri, (p) => p.diagnostics.some((d) => d.code === "A408"));
    const d = there.diagnostics.find((x) => x.code === "A408")!;
    expect(d.severity).toBe(1);
    expect(d.range).toEqual({ start: { line: 3, character: 9 }, end: { line: 3, character: 25 } });
    expect(d.message).toContain("property `never_sanctioned` (never allow) fails against `main.armor`, which imports this file");
    expect(d.message).toContain('"recipient":"evil-corp"');
    expect(d.message).toContain("decided allow by the default");
    expect(d.relatedInformation?.[0]?.location).toEqual({ uri: mainUri, range: { start: { line: 1, character: 0 }, end: { line: 1, character: 29 } } });

    // the importer says so at the import
    const here = await client.diagnosticsWhere(mainUri, (p) => p.diagnostics.some((x) => x.code === "A408"));
    const atImport = here.diagnostics.filter((x) => x.code === "A408");
    expect(atImport.map((x) => x.range.start.line)).toEqual([1]);
    expect(atImport[0]!.message).toContain("property `base.never_sanctioned` (never allow) of the imported `base.armor` fails against this policy");

    // opened, base.armor holds its own property (it denies the wire) and shows the importer's failure beside its own diagnostics
    const opened = await client.open(join(dir, "base.armor"), base);
    const published = await client.diagnosticsWhere(opened, (p) => p.diagnostics.some((x) => x.code === "A408"));
    expect(published.diagnostics.filter((x) => x.code === "A408").map((x) => x.message.split("\n")[0])).toEqual([
      "property `never_sanctioned` (never allow) fails against `main.armor`, which imports this file:",
    ]);

    // once the importer is closed, its result is no longer shown in base.armor
    await client.close(mainUri);
    const cleared = await client.diagnosticsWhere(baseUri, (p) => !p.diagnostics.some((x) => x.code === "A408"));
    expect(cleared.diagnostics.filter((x) => x.code === "A408")).toEqual([]);
    await client.close(baseUri);
  }, 120_000);

  it("shows a property the solver cannot settle as a warning saying why", async () => {
    const text = 'default allow\nrule bad when any(x in items: x starts_with "ba") deny\nproperty p: always deny when any(x in items: x == "bad")\n';
    const uri = await client.open(join(workspace, "open.armor"), text);
    const published = await client.diagnosticsWhere(uri, (p) => p.diagnostics.some((d) => d.code === "A408"));
    const d = published.diagnostics.find((x) => x.code === "A408")!;
    expect(d.severity).toBe(2);
    expect(d.message).toContain("is not proved");
    expect(d.message).toMatch(/a bounded search of \d+ inputs found no counterexample/);
  }, 120_000);
});
