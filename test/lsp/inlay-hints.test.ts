/**
 * Inlay hints: a test's decision, "never fires" / "shadowed by R" from the rule analysis, a
 * rule's action types when a let names them, a computed let's value, a history predicate over the
 * whole session, a schema field's type (once per rule); only in the requested range.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "./client.js";

const schema = {
  oneOf: [
    { type: "object", properties: { type: { const: "wire_transfer" }, amount: { type: "number" }, memo: { type: "string" } }, required: ["type"] },
    { type: "object", properties: { type: { const: "card_payment" }, amount: { type: "number" } }, required: ["type"] },
    { type: "object", properties: { type: { const: "read_file" }, path: { type: "string" } }, required: ["type"] },
  ],
};

const policy = `schema "actions.json"
default allow

let LIMIT = 10 * 1000
let PAY = ["wire_transfer", "card_payment"]
let CAP = 500

rule big_payments
  when action.type in PAY and amount > LIMIT and amount < LIMIT * 100
  require approval from "finance"

rule never
  when action.type == "read_file" and action.type == "wire_transfer"
  deny

rule all_wires
  when action.type == "wire_transfer"
  deny

rule small_wires
  when action.type == "wire_transfer" and amount < CAP
  allow

rule many_reads
  when action.type == "read_file" and count(type == "read_file") > 100 and count(type == "read_file" within 1h) > 10
  deny

test "a small wire" {
  action { type: "wire_transfer", amount: 1 }
  expect allow
}

test "a read" {
  action { type: "read_file", path: "/x" }
  expect allow
}
`;

interface Hint {
  position: { line: number; character: number };
  label: string;
  kind?: number;
  tooltip?: string;
}

let work = "";
let client: TestClient;
let uri = "";
const lines = policy.split("\n");
const lineOf = (needle: string): number => lines.findIndex((l) => l.includes(needle));

async function hints(start = 0, end = lines.length): Promise<string[]> {
  const got = await client.request<Hint[]>("textDocument/inlayHint", { textDocument: { uri }, range: { start: { line: start, character: 0 }, end: { line: end, character: 0 } } });
  return got.map((h) => `${h.position.line}:${h.position.character} ${h.label}`);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "armor-lsp-hints-"));
  writeFileSync(join(work, "actions.json"), JSON.stringify(schema));
  client = await TestClient.start({ debounceMs: 10 });
  uri = await client.open(join(work, "p.armor"), policy);
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("inlay hints", () => {
  it("are offered", () => {
    expect(client.capabilities.inlayHintProvider).toBe(true);
  });

  const at = (needle: string, after: string, label: string): string => {
    const line = lineOf(needle);
    return `${line}:${lines[line]!.indexOf(after) + after.length} ${label}`;
  };

  it.each([
    { what: "a computed let's value", hint: () => at("let LIMIT", "10 * 1000", "= 10000") },
    { what: "a rule's action types when a let names them", hint: () => at("rule big_payments", "rule big_payments", "on card_payment, wire_transfer") },
    { what: "a rule that never fires", hint: () => at("rule never", "rule never", "never fires") },
    { what: "a rule shadowed by a broader one", hint: () => at("rule small_wires", "rule small_wires", "shadowed by all_wires") },
    { what: "a history predicate over the whole session", hint: () => at('count(type == "read_file") > 100', 'count(type == "read_file")', "over the whole session") },
    { what: "a field's type, once per rule", hint: () => at("amount > LIMIT and", "amount", ": number") },
    { what: "a test's decision", hint: () => at('test "a small wire"', '"a small wire"', "✗ deny by all_wires") },
    { what: "a passing test's decision", hint: () => at('test "a read"', '"a read"', "✓ allow (default)") },
  ])("show $what", async ({ hint }) => {
    expect(await hints()).toContain(hint());
  });

  it.each([
    { what: "a let written as a literal or a list of literals", line: () => [lineOf("let PAY"), lineOf("let CAP")] },
    { what: "a rule whose types are written in it", line: () => [lineOf("rule all_wires")] },
  ])("leave out $what", async ({ line }) => {
    const all = await hints();
    for (const l of line()) expect(all.filter((h) => h.startsWith(`${l}:`))).toEqual([]);
  });

  it("show a field's type once per rule, and a windowed predicate none", async () => {
    const line = lineOf("amount > LIMIT and");
    expect((await hints()).filter((h) => h.startsWith(`${line}:`))).toEqual([`${line}:${lines[line]!.indexOf("amount") + 6} : number`]);
    const reads = lineOf("rule many_reads") + 1;
    expect((await hints()).filter((h) => h.startsWith(`${reads}:`) && h.includes("session"))).toHaveLength(1);
  });

  it("answer only the requested range", async () => {
    const start = lineOf("rule never");
    const got = await hints(start, start + 3);
    expect(got).toEqual([at("rule never", "rule never", "never fires")]);
  });

  it("follow edits: a fixed test is decided again", async () => {
    await client.replace(uri, policy.replace("expect allow\n}\n\ntest", "expect deny by all_wires\n}\n\ntest"));
    expect(await hints()).toContain(at('test "a small wire"', '"a small wire"', "✓ deny by all_wires"));
  });
});
