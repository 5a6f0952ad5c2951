/**
 * Formatting answers minimal edits (a line diff of the formatted text), and range formatting the
 * edits that touch the range. Applying the edits gives exactly what `armorc fmt` gives. The real
 * server, over stdio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatSource } from "@agent-armor/compiler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LspRange, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-format-"));
  client = await TestClient.start();
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

interface TextEdit {
  range: LspRange;
  newText: string;
}

function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lines = text.split("\n");
  const offset = (p: { line: number; character: number }): number => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  let out = text;
  for (const e of [...edits].sort((x, y) => offset(y.range.start) - offset(x.range.start))) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

/** A formatted policy of `n` rules, with rule `messy` (0-based) written untidily. */
function policy(n: number, messy: readonly number[]): string {
  const rules = Array.from({ length: n }, (_, i) => (messy.includes(i) ? `rule r${i}   when   amount >${i}\n      deny` : `rule r${i}\n  when amount > ${i}\n  deny`));
  return `default allow\n\n${rules.join("\n\n")}\n`;
}

let n = 0;
async function format(text: string, range?: LspRange): Promise<TextEdit[]> {
  const uri = await client.open(join(workspace, `f${n++}.armor`), text);
  const options = { tabSize: 2, insertSpaces: true };
  return range
    ? client.request<TextEdit[]>("textDocument/rangeFormatting", { textDocument: { uri }, range, options })
    : client.request<TextEdit[]>("textDocument/formatting", { textDocument: { uri }, options });
}

const lineOf = (text: string, needle: string): number => text.slice(0, text.indexOf(needle)).split("\n").length - 1;

describe("formatting edits", () => {
  it.each([
    ["one untidy rule among 500", policy(500, [250])],
    ["three untidy rules", policy(50, [0, 20, 49])],
    [
      "every rule untidy",
      policy(
        30,
        Array.from({ length: 30 }, (_, i) => i),
      ),
    ],
    ["trailing spaces and blank lines", "default allow   \n\n\n\nrule r when amount > 1 deny   \n"],
  ])("applying the edits gives armorc fmt's text: %s", async (_name, text) => {
    const edits = await format(text);
    const expected = formatSource("x.armor", text);
    expect(expected.ok).toBe(true);
    expect(applyEdits(text, edits)).toBe(expected.ok ? expected.text : "");
  });

  it("one untidy rule in a long file is one small edit", async () => {
    const text = policy(500, [250]);
    const edits = await format(text);
    expect(edits).toHaveLength(1);
    const line = lineOf(text, "rule r250 ");
    expect(edits[0]!.range.start.line).toBe(line);
    expect(edits[0]!.range.end.line - edits[0]!.range.start.line).toBeLessThanOrEqual(2);
  });

  it("a formatted file gets no edits", async () => {
    expect(await format(policy(20, []))).toEqual([]);
  });

  it("range formatting answers the edits that touch the range", async () => {
    const text = policy(50, [0, 20, 49]);
    const line = lineOf(text, "rule r20 ");
    const around = await format(text, { start: { line, character: 0 }, end: { line: line + 1, character: 0 } });
    expect(around).toHaveLength(1);
    expect(around[0]!.range.start.line).toBe(line);
    const elsewhere = lineOf(text, "rule r10\n");
    expect(await format(text, { start: { line: elsewhere, character: 0 }, end: { line: elsewhere + 2, character: 0 } })).toEqual([]);
    // a range outside the document touches nothing
    expect(await format(text, { start: { line: 10_000, character: 0 }, end: { line: 10_001, character: 0 } })).toEqual([]);
  });
});
