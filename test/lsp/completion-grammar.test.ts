/**
 * Completion whose context comes from the grammar (the compiler's `expectedAt`, Chevrotain's
 * content assist over the parser), as a table of cursor positions: what must be offered and what
 * must not. The real server, over stdio, with the schema of test/cases/check.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/baseline.js";
import { cursor, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

const header = 'schema "./actions.schema.json"\ndefault allow\n\n';
const policy = `${header}rule big\n  when action.type == "wire_transfer" and amount > 10\n  deny\n`;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-grammar-"));
  copyFileSync(join(repoRoot, "test/cases/check/actions.schema.json"), join(workspace, "actions.schema.json"));
  writeFileSync(join(workspace, "tested.armor"), policy);
  client = await TestClient.start();
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

interface Row {
  readonly name: string;
  /** The document, `$0` where the cursor is. */
  readonly text: string;
  /** The file's name: a policy unless it says otherwise. */
  readonly file?: string;
  /** Labels that must be offered. */
  readonly offers?: readonly string[];
  /** Labels that must not be. */
  readonly not?: readonly string[];
  /** Exactly these labels, in any order (`[]`: nothing). */
  readonly exactly?: readonly string[];
}

const itemWords = ["rule", "let", "test", "policy", "schema", "default", "timezone", "property"];
const expressionStarts = ["amount", "recipient", "action", "user", "count", "seen", "sum", "any", "all", "not", "true"];
const effects = ["allow", "deny", "require approval", "redact", "label"];

const rows: readonly Row[] = [
  { name: "a one-line rule, after `and`", text: `${header}rule x when action.type == "wire_transfer" and $0`, offers: expressionStarts, not: [...itemWords, "because", "when"] },
  { name: "a one-line rule, a word being typed", text: `${header}rule x when action.type == "wire_transfer" and am$0`, offers: ["amount", "count"], not: itemWords },
  { name: "a one-line rule, after its condition", text: `${header}rule x when amount > 1 $0`, offers: [...effects, "and", "or"], not: [...itemWords, "because", "between"] },
  { name: "after `because` and its reason, in the rule", text: `${header}rule x when amount > 1 deny because "big"\n  $0`, exactly: [] },
  { name: "after `because` and its reason, on the same line", text: `${header}rule x when amount > 1 deny because "big" $0`, exactly: [] },
  { name: "after `because` and its reason, at column 0", text: `${header}rule x when amount > 1 deny because "big"\n$0`, offers: ["rule", "let", "test", "when"], not: ["because", "and", "deny"] },
  { name: "after an effect, in the rule", text: `${header}rule x\n  when amount > 1\n  deny\n  $0`, exactly: ["because"] },
  { name: "after `require approval`", text: `${header}rule x\n  when amount > 1\n  require approval $0`, exactly: ["from", "quorum", "timeout", "grant", "because"] },
  { name: "after `require approval from G`", text: `${header}rule x\n  when amount > 1\n  require approval from "g" $0`, exactly: ["quorum", "timeout", "grant", "because"] },
  {
    name: "after `require approval from`: the string params and lets",
    text: `${header}param approvers: string = "ops"\nparam limit: number = 5\nlet SECOND = "cfo"\nrule x\n  when amount > limit\n  require approval from $0`,
    exactly: ["approvers", "SECOND"],
  },
  {
    name: "after `require approval from NAME`",
    text: `${header}param approvers: string = "ops"\nrule x\n  when amount > 1\n  require approval from approvers $0`,
    exactly: ["quorum", "timeout", "grant", "because"],
  },
  { name: "after a grant's duration", text: `${header}rule x\n  when amount > 1\n  require approval grant action.recipient 1h $0`, exactly: ["up", "because"] },
  { name: "after `up`", text: `${header}rule x\n  when amount > 1\n  require approval grant action.recipient 1h up $0`, exactly: ["to"] },
  { name: "an effect on its own line", text: `${header}rule x\n  when amount > 1\n  $0`, offers: [...effects, "and", "or"], not: itemWords },
  { name: "inside a string", text: `${header}rule x when memo == "ab$0`, exactly: [] },
  { name: "inside a closed string", text: `${header}rule x when memo == "a$0b" deny`, exactly: [] },
  { name: "inside a regex", text: `${header}rule x when memo matches /ab$0`, exactly: [] },
  { name: "inside a closed regex", text: `${header}rule x when memo matches /a$0b/ deny`, exactly: [] },
  { name: "inside a line comment", text: `${header}// rule x when $0`, exactly: [] },
  { name: "inside a block comment", text: `${header}/* rule x when $0`, exactly: [] },
  { name: "an action type in a string after type ==", text: `${header}rule x when action.type == "$0`, offers: ["wire_transfer", "send_email"], not: ["amount"] },
  { name: "top level: rule and test once", text: `${header}$0`, offers: itemWords, not: ["because", "deny", "and"] },
  { name: "after `rule NAME`", text: `${header}rule x $0`, exactly: ["on", "when"] },
  { name: "after `rule NAME on`", text: `${header}rule x on $0`, exactly: ["call", "result", "output"] },
  { name: "after `rule NAME on STAGE`", text: `${header}rule x on result $0`, exactly: ["when"] },
  { name: "after `default`", text: `${header}default $0`, exactly: ["allow", "deny", "require approval"] },
  { name: "after `matches`", text: `${header}rule x when memo matches $0`, exactly: ["std", "glob"] },
  { name: "after `matches std.`", text: `${header}rule x when memo matches std.$0`, offers: ["iban", "card_number", "email", "us_ssn", "secret"] },
  { name: "inside count(...)", text: `${header}rule x when count(amount > 1 $0`, offers: ["within", "where", "since", "per", "and", "or"], not: effects },
  { name: "after a window, inside count(...)", text: `${header}rule x when count(amount > 1 within 1h $0`, offers: ["per"], not: [...effects, "within"] },
  { name: "after `per`", text: `${header}rule x when count(amount > 1 within 1h per $0`, exactly: ["user", "context", "action", "deployment"] },
  { name: "a schema field after a narrowing", text: `${header}rule x when action.type == "send_email" and action.$0`, offers: ["to", "body"], not: ["amount"] },
  { name: "a let's value", text: `${header}let L = $0`, offers: ["true", "null"], not: ["amount", "count", ...itemWords] },
  {
    name: "a test step",
    file: "tested.test.armor",
    text: 'test "t" {\n  action { type: "wire_transfer", amount: 20, recipient: "b" }\n  $0\n}\n',
    offers: ["expect", "history", "user"],
    not: ["rule", "deny"],
  },
  {
    name: "after expect",
    file: "tested.test.armor",
    text: 'test "t" {\n  action { type: "wire_transfer", amount: 20, recipient: "b" }\n  expect $0\n}\n',
    offers: ["allow", "deny", "require_approval", "error"],
    not: ["rule", "test"],
  },
  { name: "after expect DECISION by", file: "tested.test.armor", text: 'test "t" {\n  action { type: "wire_transfer", amount: 20, recipient: "b" }\n  expect deny by $0\n}\n', exactly: ["big"] },
  { name: "a test file at column 0: tests only", file: "tested.test.armor", text: "$0", exactly: ["test"] },
];

let n = 0;
async function labels(row: Row): Promise<string[]> {
  const c = cursor(row.text);
  const uri = await client.open(join(workspace, row.file ?? `grammar-${n++}.armor`), c.text);
  const items = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: c.position! });
  await client.close(uri);
  return items.map((i) => i.label);
}

describe("completion from the grammar", () => {
  it.each(rows)("$name", async (row) => {
    const offered = await labels(row);
    // every label once
    expect(offered.length).toBe(new Set(offered).size);
    if (row.exactly) expect([...offered].sort()).toEqual([...row.exactly].sort());
    if (row.offers) expect(offered).toEqual(expect.arrayContaining([...row.offers]));
    for (const word of row.not ?? []) expect(offered).not.toContain(word);
  });
});
