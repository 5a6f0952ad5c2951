/**
 * Semantic tokens by range and by delta, against the full answer of the same server: a range
 * answers exactly the full answer's tokens on those lines, and a delta applied to the previous
 * result gives the new full answer. The real server, over stdio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-tokens-"));
  client = await TestClient.start();
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

const text = [
  "default deny",
  "let LIMIT = 10 // a let",
  "/* a block",
  "   comment */",
  'rule big when amount > LIMIT deny because "big"',
  "rule mail",
  '  when action.type == "send_email" and body matches std.email',
  "  redact body matching std.email",
  'rule tag when action.type == "read_file" label "files"',
  "",
].join("\n");

/** Absolute tokens `line:char:length:type:modifiers` from the relative encoding. */
function decode(data: readonly number[]): string[] {
  const out: string[] = [];
  let line = 0;
  let char = 0;
  for (let i = 0; i < data.length; i += 5) {
    line += data[i]!;
    char = data[i]! === 0 ? char + data[i + 1]! : data[i + 1]!;
    out.push(`${line}:${char}:${data[i + 2]}:${data[i + 3]}:${data[i + 4]}`);
  }
  return out;
}

interface Tokens {
  resultId?: string;
  data: number[];
}
interface Delta {
  resultId?: string;
  edits: { start: number; deleteCount: number; data?: number[] }[];
}

describe("semantic tokens requests", () => {
  it("advertises range and delta", () => {
    expect(client.capabilities.semanticTokensProvider).toMatchObject({ range: true, full: { delta: true } });
  });

  it.each([
    ["one line", 4, 5],
    ["lines 2 to 7, inside a block comment", 2, 8],
    ["the whole file", 0, 10],
    ["past the end of the document", 50, 60],
  ])("a range answers the full answer's tokens on its lines: %s", async (_name, from, to) => {
    const uri = await client.open(join(workspace, `range-${from}.armor`), text);
    const full = decode((await client.request<Tokens>("textDocument/semanticTokens/full", { textDocument: { uri } })).data);
    const ranged = decode(
      (await client.request<Tokens>("textDocument/semanticTokens/range", { textDocument: { uri }, range: { start: { line: from, character: 0 }, end: { line: to, character: 0 } } })).data,
    );
    const expected = full.filter((t) => {
      const line = Number(t.split(":")[0]);
      return line >= from && line < to;
    });
    expect(ranged).toEqual(expected);
    if (from < 10) expect(ranged.length).toBeGreaterThan(0);
  });

  it("a delta applied to the previous result gives the new full answer", async () => {
    const uri = await client.open(join(workspace, "delta.armor"), text);
    const first = await client.request<Tokens>("textDocument/semanticTokens/full", { textDocument: { uri } });
    expect(first.resultId).toBeDefined();
    await client.replace(uri, text.replace("rule big when amount", "rule big when action.amount"));
    const delta = await client.request<Delta | Tokens>("textDocument/semanticTokens/full/delta", { textDocument: { uri }, previousResultId: first.resultId });
    expect("edits" in delta).toBe(true);
    const data = [...first.data];
    for (const e of [...(delta as Delta).edits].sort((x, y) => y.start - x.start)) data.splice(e.start, e.deleteCount, ...(e.data ?? []));
    // a fresh full answer on the same version, on another document of the same text
    const again = await client.open(join(workspace, "delta-fresh.armor"), text.replace("rule big when amount", "rule big when action.amount"));
    const fresh = await client.request<Tokens>("textDocument/semanticTokens/full", { textDocument: { uri: again } });
    expect(data).toEqual(fresh.data);
  });

  it("a delta from an unknown result id is a full answer", async () => {
    const uri = await client.open(join(workspace, "unknown-id.armor"), text);
    const answer = await client.request<Delta | Tokens>("textDocument/semanticTokens/full/delta", { textDocument: { uri }, previousResultId: "no-such-id" });
    expect("data" in answer && answer.data.length > 0).toBe(true);
  });
});
