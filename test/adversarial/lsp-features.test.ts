/**
 * Hostile documents for the language server's editing features: megabyte lines, strings, regexes
 * and block comments left open at the cursor, nesting far past the limit, binary garbage, a
 * 5,000-line policy, 200,000 lines without an item line, and positions and ranges outside the
 * document. Every request (completion, hover, signature help, semantic tokens full and by range,
 * formatting and range formatting, selection ranges, document highlight, symbols) answers with an
 * empty or partial result, never an error, and the server answers the next request. The time
 * limit of each case only catches a hang; latency is measured by bench/lsp-tokens.mjs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cursor, type LspPosition, TestClient } from "../lsp/client.js";

let workspace = "";
let client: TestClient;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-features-hostile-"));
  client = await TestClient.start({ debounceMs: 10 });
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

/** A 5,000-line policy of lets, rules and tests. */
function longPolicy(): string {
  const out = ["default deny", ""];
  for (let i = 0; out.length < 4990; i++) {
    out.push(`let L_${i} = ["a-${i}", "b-${i}"]`, `rule r_${i}`, `  when action.type == "t_${i}" and amount > ${i} and memo in L_${i}`, `  deny because "r ${i}"`, "");
  }
  return `${out.join("\n")}\nrule last when action.type == "x" and $0`;
}

function garbage(): string {
  let s = "";
  let seed = 7;
  for (let i = 0; i < 200_000; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(seed % 0x3000);
  }
  return `${s.slice(0, 100_000)}$0${s.slice(100_000)}`;
}

const cases: readonly [string, () => string][] = [
  ["a megabyte line of conditions", () => `default allow\nrule x when ${"amount == 1 and ".repeat(65_000)}$0`],
  ["an unterminated string of 500 KB at the cursor", () => `default allow\nrule x when memo == "${"a".repeat(500_000)}$0`],
  ["an unterminated regex of 400 KB at the cursor", () => `default allow\nrule x when memo matches /${"(a|".repeat(130_000)}$0`],
  ["an unterminated string at the cursor, text after it", () => `default allow\nrule x when memo == "ab$0 and amount > 1\n  deny\n`],
  ["an unterminated regex at the cursor, text after it", () => `default allow\nrule x when memo matches /[a-$0 deny\n`],
  ["a block comment left open over a megabyte", () => `default allow\n/* ${"x\n".repeat(500_000)}$0`],
  ["5,000 nested parentheses", () => `default allow\nrule x when ${"(".repeat(5000)}$0`],
  ["5,000 nested calls", () => `default allow\nrule x when ${"count(".repeat(5000)}$0`],
  ["nesting just under the limit", () => `default allow\nrule x when ${"(".repeat(60)}amount > 1 and $0`],
  ["200,000 comment lines without an item line", () => `${"// c\n".repeat(200_000)}$0`],
  ["binary garbage", garbage],
  ["a 5,000-line policy", longPolicy],
  ["an empty document", () => "$0"],
];

const doc = (uri: string) => ({ textDocument: { uri } });
const outside: LspPosition = { line: 1_000_000, character: 5 };
const outsideRange = { start: outside, end: { line: 1_000_010, character: 0 } };

describe("hostile documents for the editing features", () => {
  it.each(cases)(
    "%s",
    async (name, make) => {
      const { text, position } = cursor(make());
      const uri = await client.open(join(workspace, `${name.replace(/\W+/g, "-")}.armor`), text);
      const here = position ?? { line: 0, character: 0 };
      const at = (p: LspPosition) => ({ ...doc(uri), position: p });
      for (const p of [here, outside, { line: 0, character: 0 }]) {
        expect(Array.isArray(await client.request("textDocument/completion", at(p)))).toBe(true);
        await client.request("textDocument/hover", at(p));
        await client.request("textDocument/signatureHelp", at(p));
        expect(Array.isArray(await client.request("textDocument/documentHighlight", at(p)))).toBe(true);
      }
      const full = await client.request<{ data: number[] }>("textDocument/semanticTokens/full", doc(uri));
      expect(full.data.length % 5).toBe(0);
      const screen = { start: { line: Math.max(0, here.line - 30), character: 0 }, end: { line: here.line + 30, character: 0 } };
      expect((await client.request<{ data: number[] }>("textDocument/semanticTokens/range", { ...doc(uri), range: screen })).data.length % 5).toBe(0);
      expect((await client.request<{ data: number[] }>("textDocument/semanticTokens/range", { ...doc(uri), range: outsideRange })).data).toEqual([]);
      const options = { tabSize: 2, insertSpaces: true };
      expect(Array.isArray(await client.request("textDocument/formatting", { ...doc(uri), options }))).toBe(true);
      expect(await client.request("textDocument/rangeFormatting", { ...doc(uri), range: outsideRange, options })).toEqual([]);
      const selections = await client.request<unknown[]>("textDocument/selectionRange", { ...doc(uri), positions: [here, outside] });
      expect(selections).toHaveLength(2);
      expect(Array.isArray(await client.request("textDocument/documentSymbol", doc(uri)))).toBe(true);
      // and the server still answers
      expect(await client.request("workspace/symbol", { query: "" })).toEqual([]);
      await client.close(uri);
    },
    120_000,
  );
});
