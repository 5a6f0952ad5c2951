/**
 * Signature help from the compiler's tokens, as a table: the function of the innermost open call
 * and its active parameter, and no help inside a string, a regex or a comment (where a `(` is
 * text). The real server, over stdio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cursor, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-signature-"));
  client = await TestClient.start();
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

/** A condition with `$0` at the cursor; the function and active parameter expected, or null for no help. */
const rows: readonly [string, [string, number] | null][] = [
  ["sum(amount $0", ["sum", 0]],
  ['sum(amount where type == "w" $0', ["sum", 1]],
  ['sum(amount where memo == "within" $0', ["sum", 1]],
  ["max(amount where x > 1 within $0", ["max", 2]],
  ["min($0", ["min", 0]],
  ['seen(type == "a" since $0', ["seen", 1]],
  ["count(a == 1 within $0", ["count", 1]],
  ["count(lower(memo) == $0", ["count", 0]],
  ["count(lower($0", ["lower", 0]],
  ["count((a or b) and c within 1h) > seen($0", ["seen", 0]],
  ["any(x in attachments: $0", ["any", 2]],
  ["any(x in $0", ["any", 1]],
  ['memo == "count($0', null],
  ["memo matches /count($0", null],
  ["memo matches /count(/ and $0", null],
  ["amount > 1 // count($0", null],
  ["(amount > 1 or $0", null],
];

describe("signature help", () => {
  it.each(rows)("%s", async (condition, expected) => {
    const { text, position } = cursor(`default allow\nrule r when ${condition}`);
    const uri = await client.open(join(workspace, "sig.armor"), text);
    const h = await client.request<{ signatures: { label: string }[]; activeParameter?: number } | null>("textDocument/signatureHelp", { textDocument: { uri }, position });
    expect(h === null ? null : [h.signatures[0]!.label.split("(")[0], h.activeParameter ?? 0]).toEqual(expected);
    await client.close(uri);
  });
});
