/**
 * Rename across files, over the real server (stdio): an imported let, param or rule renamed from
 * a use in an importer or from its definition changes every file of the workspace that imports
 * it; a pack's name and a name the defining file already has are refused with a message.
 * Each case is a rename asked at a marker in one file and the text of every file after the
 * workspace edit is applied.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LspRange, TestClient } from "./client.js";

const files: Record<string, string> = {
  "base.armor": [
    "default deny",
    "param limit: number = 10",
    'let SANCTIONED = ["evil"]',
    'rule big when action.type == "wire" and amount > limit deny',
    "rule listed when recipient in SANCTIONED deny",
    "",
  ].join("\n"),
  "main.armor": [
    "default allow",
    'import "./base.armor" as base with { limit: 5 }',
    'import "armor:secrets" as secrets',
    'rule mail when action.type == "email" and to in base.SANCTIONED deny',
    'rule copy when action.type == "cc" and cc in base.SANCTIONED deny',
    "disable base.big",
    "disable secrets.no_secret_in_output",
    "",
  ].join("\n"),
  "other.armor": [
    "default allow",
    'import "./base.armor" as b',
    'rule post when action.type == "post" and url in b.SANCTIONED deny',
    'override b.big when action.type == "wire" require approval',
    "",
  ].join("\n"),
  // names like base's, but its own: never renamed with base's
  "unrelated.armor": ["default deny", 'let SANCTIONED = ["x"]', "rule big when user.id in SANCTIONED deny", ""].join("\n"),
};

let workspace = "";
let client: TestClient;
const uris: Record<string, string> = {};

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-rename-"));
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(workspace, name), text);
    uris[name] = pathToFileURL(join(workspace, name)).href;
  }
  client = await TestClient.start({}, [workspace]);
  // only the file the rename starts in is open; the others are read from disk
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

function positionOf(text: string, marker: string, shift: number): { line: number; character: number } {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`no \`${marker}\``);
  const before = text.slice(0, at + shift).split("\n");
  return { line: before.length - 1, character: before[before.length - 1]!.length };
}

function offsetOf(text: string, p: { line: number; character: number }): number {
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < p.line; i++) offset += lines[i]!.length + 1;
  return offset + p.character;
}

function applyEdits(text: string, edits: readonly { range: LspRange; newText: string }[]): string {
  const sorted = [...edits].sort((x, y) => offsetOf(text, y.range.start) - offsetOf(text, x.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offsetOf(text, e.range.start)) + e.newText + out.slice(offsetOf(text, e.range.end));
  return out;
}

interface RenameCase {
  readonly name: string;
  readonly file: string;
  /** The rename is asked `shift` characters into the first `marker`. */
  readonly marker: string;
  readonly shift: number;
  readonly newName: string;
  /** Each changed file's text after the edit, from its text before. */
  readonly expected: Record<string, (text: string) => string>;
}

const letRenamed = {
  "base.armor": (t: string) => t.replaceAll("SANCTIONED", "BLOCKED"),
  "main.armor": (t: string) => t.replaceAll("base.SANCTIONED", "base.BLOCKED"),
  "other.armor": (t: string) => t.replaceAll("b.SANCTIONED", "b.BLOCKED"),
};
const ruleRenamed = {
  "base.armor": (t: string) => t.replace("rule big ", "rule large "),
  "main.armor": (t: string) => t.replace("disable base.big", "disable base.large"),
  "other.armor": (t: string) => t.replace("override b.big", "override b.large"),
};

const cases: readonly RenameCase[] = [
  { name: "an imported let, from a use in an importer", file: "main.armor", marker: "base.SANCTIONED", shift: 7, newName: "BLOCKED", expected: letRenamed },
  { name: "an imported let, from its definition", file: "base.armor", marker: "SANCTIONED =", shift: 2, newName: "BLOCKED", expected: letRenamed },
  { name: "an imported let, from its use in the defining file", file: "base.armor", marker: "in SANCTIONED", shift: 5, newName: "BLOCKED", expected: letRenamed },
  {
    name: "a param, from the importer's `with` key",
    file: "main.armor",
    marker: "limit: 5",
    shift: 1,
    newName: "cap",
    expected: { "base.armor": (t) => t.replaceAll("limit", "cap"), "main.armor": (t) => t.replace("limit: 5", "cap: 5") },
  },
  { name: "a rule, from an importer's `override`", file: "other.armor", marker: "b.big", shift: 3, newName: "large", expected: ruleRenamed },
  { name: "a rule, from an importer's `disable`", file: "main.armor", marker: "base.big", shift: 5, newName: "large", expected: ruleRenamed },
  { name: "a rule, from its definition", file: "base.armor", marker: "rule big", shift: 6, newName: "large", expected: ruleRenamed },
];

const refusals: readonly { name: string; file: string; marker: string; shift: number; newName: string; message: RegExp }[] = [
  { name: "a pack's rule", file: "main.armor", marker: "no_secret_in_output", shift: 2, newName: "mine", message: /pack `armor:secrets`.*read-only/ },
  { name: "a name the defining file has (a param)", file: "main.armor", marker: "base.SANCTIONED", shift: 7, newName: "limit", message: /already a let named `limit`/ },
  { name: "a name the defining file has (a rule)", file: "other.armor", marker: "b.big", shift: 3, newName: "listed", message: /already a rule named `listed`/ },
  { name: "a name that is not one", file: "main.armor", marker: "base.SANCTIONED", shift: 7, newName: "2x", message: /is not a name/ },
];

async function renameAt(file: string, marker: string, shift: number, newName: string) {
  const uri = await client.open(join(workspace, file), files[file]!);
  try {
    const position = positionOf(files[file]!, marker, shift);
    return await client.request<{ changes: Record<string, { range: LspRange; newText: string }[]> }>("textDocument/rename", { textDocument: { uri }, position, newName });
  } finally {
    await client.close(uri);
  }
}

describe("rename across files", () => {
  it.each(cases)("$name", async ({ file, marker, shift, newName, expected }) => {
    const edit = await renameAt(file, marker, shift, newName);
    const after = Object.fromEntries(Object.entries(files).map(([name, text]) => [name, applyEdits(text, edit.changes[uris[name]!] ?? [])]));
    const want = Object.fromEntries(Object.entries(files).map(([name, text]) => [name, expected[name]?.(text) ?? text]));
    expect(after).toEqual(want);
    expect(Object.keys(edit.changes).sort()).toEqual(
      Object.keys(expected)
        .map((n) => uris[n]!)
        .sort(),
    );
  });

  it.each(refusals)("refuses $name", async ({ file, marker, shift, newName, message }) => {
    await expect(renameAt(file, marker, shift, newName)).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(message) });
  });

  it("prepares the rename of an imported name at the name, and refuses a pack's before asking for a new name", async () => {
    const uri = await client.open(join(workspace, "main.armor"), files["main.armor"]!);
    try {
      const position = positionOf(files["main.armor"]!, "base.SANCTIONED", 8);
      const prepared = await client.request<{ range: LspRange; placeholder: string }>("textDocument/prepareRename", { textDocument: { uri }, position });
      expect(prepared).toEqual({ placeholder: "SANCTIONED", range: { start: { line: 3, character: 53 }, end: { line: 3, character: 63 } } });
      const pack = positionOf(files["main.armor"]!, "no_secret_in_output", 1);
      await expect(client.request("textDocument/prepareRename", { textDocument: { uri }, position: pack })).rejects.toMatchObject({ message: expect.stringMatching(/read-only/) });
    } finally {
      await client.close(uri);
    }
  });
});
