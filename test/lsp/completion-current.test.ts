/**
 * Completion of `current` and `current.F` against the checker, as a table of cursor positions:
 * inside each form the checker accepts (A213 not reported), `current` and the current action's
 * fields are offered; inside each form it refuses, neither is. Hover on `current` answers in both.
 * The real server, over stdio, with the schema of test/cases/check.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource } from "@agent-armor/compiler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/baseline.js";
import { cursor, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-current-"));
  copyFileSync(join(repoRoot, "test/cases/check/actions.schema.json"), join(workspace, "actions.schema.json"));
  client = await TestClient.start();
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

/**
 * A rule's condition with `current.$0` where the cursor is. `accepted`: whether the checker
 * accepts `current.to` there (`written`, when given, is the finished condition to check instead:
 * a conjunct still being written).
 */
interface Row {
  readonly form: string;
  readonly condition: string;
  readonly accepted: boolean;
  readonly written?: string;
}

const rows: readonly Row[] = [
  // accepted: one side of a top-level `==` of the condition that picks the entries
  { form: "seen, right of ==", condition: 'seen(type == "send_email" and to == current.$0)', accepted: true },
  { form: "seen, left of ==", condition: "seen(current.$0 == to)", accepted: true },
  { form: "count, in parentheses", condition: 'count(type == "send_email" and (to == current.$0) within 1h) > 3', accepted: true },
  { form: "sum's where", condition: "sum(amount where recipient == current.$0 within 1d) > 10", accepted: true },
  { form: "max's where", condition: 'max(amount where type == "wire_transfer" and recipient == current.$0) > 10', accepted: true },
  { form: "min's where", condition: "min(amount where recipient == current.$0) < 10", accepted: true },
  { form: "any, element == current", condition: "seen(any(a in attachments: a == current.$0))", accepted: true },
  { form: "any, current == element", condition: 'seen(type == "send_email" and any(a in attachments: current.$0 == a))', accepted: true },
  { form: "since's A", condition: 'seen(type == "send_email" and to == current.$0 since type == "read_file")', accepted: true },
  { form: "a conjunct still being written", condition: 'seen(type == "send_email" and current.$0)', accepted: true, written: 'seen(type == "send_email" and current.to == to)' },
  // refused (A213)
  { form: "since's B", condition: 'seen(type == "send_email" since to == current.$0)', accepted: false },
  { form: "sum's value", condition: 'sum(current.$0 where type == "wire_transfer") > 1', accepted: false },
  { form: "max's value", condition: 'max(current.$0 where type == "wire_transfer") > 1', accepted: false },
  { form: "under not", condition: "seen(not (to == current.$0))", accepted: false },
  { form: "in an or", condition: 'seen(type == "read_file" or to == current.$0)', accepted: false },
  { form: "outside history", condition: "to == current.$0", accepted: false },
  { form: "both sides current", condition: "seen(current.to == current.$0)", accepted: false },
  { form: "!= rather than ==", condition: "seen(to != current.$0)", accepted: false },
  { form: "inside a function", condition: "seen(to == lower(current.$0))", accepted: false },
  { form: "in arithmetic", condition: "seen(amount == current.$0 + 1)", accepted: false },
  { form: "any, other side not the element", condition: 'seen(any(a in attachments: "x" == current.$0))', accepted: false },
  { form: "any, joined by and", condition: 'seen(any(a in attachments: a == current.$0 and a != "x"))', accepted: false },
  { form: "all", condition: "seen(all(a in attachments: a == current.$0))", accepted: false },
  { form: "any's list", condition: 'seen(any(a in current.$0: a == "x"))', accepted: false },
];

const policyText = (condition: string): string => `schema "./actions.schema.json"\ndefault allow\n\nrule r\n  when action.type == "send_email" and ${condition}\n  deny\n`;

let n = 0;
async function openAt(text: string): Promise<{ uri: string; position: { line: number; character: number } }> {
  const c = cursor(text);
  const uri = await client.open(join(workspace, `current-${n++}.armor`), c.text);
  return { uri, position: c.position! };
}

async function labels(text: string): Promise<string[]> {
  const { uri, position } = await openAt(text);
  const items = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position });
  return items.map((i) => i.label);
}

describe("completion of `current` where the checker accepts it", () => {
  it.each(rows)("the table agrees with the checker: $form", ({ condition, accepted, written }) => {
    const c = compileSource("p.armor", `default allow\nrule r\n  when action.type == "send_email" and ${written ?? condition.replace("current.$0", "current.to")}\n  deny\n`);
    const codes = c.diagnostics.map((d) => d.code);
    expect(codes.includes("A213")).toBe(!accepted);
  });

  it.each(rows)("current.F: $form", async ({ condition, accepted }) => {
    const offered = await labels(policyText(condition));
    if (accepted) expect(offered).toEqual(expect.arrayContaining(["to", "body", "attachments"]));
    else expect(offered).toEqual([]);
  });

  it.each(rows)("the root current: $form", async ({ condition, accepted }) => {
    const offered = await labels(policyText(condition.replace("current.$0", "$0")));
    // the other roots are offered everywhere an operand goes, `current` only where it is accepted
    expect(offered).toContain("action");
    expect(offered.includes("current")).toBe(accepted);
  });

  it.each(rows)("hover on current: $form", async ({ condition }) => {
    const { uri, position } = await openAt(policyText(condition.replace("current.$0", "cur$0rent.to")));
    const h = await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri }, position });
    expect(h?.contents.value).toMatch(/`current\.F`/);
  });

  // while typing: the call is not closed yet, and the next line's `deny` follows the cursor
  const unfinished: [string, string, boolean][] = [
    ["seen, right of ==", 'seen(type == "send_email" and to == current.$0', true],
    ["sum's where", "sum(amount where recipient == current.$0", true],
    ["any, element == current", "seen(any(a in attachments: a == current.$0", true],
    ["since's B", 'seen(type == "send_email" since to == current.$0', false],
    ["sum's value", "sum(current.$0", false],
    ["in an or", 'seen(type == "read_file" or to == current.$0', false],
  ];
  it.each(unfinished)("an unfinished condition: %s", async (_form, condition, accepted) => {
    const fields = await labels(policyText(condition));
    expect(fields.includes("to")).toBe(accepted);
    const roots = await labels(policyText(condition.replace("current.$0", "$0")));
    expect(roots.includes("current")).toBe(accepted);
  });

  it("a test file offers no current fields", async () => {
    const { uri, position } = await openAt('test "t" {\n  action { type: "send_email", to: current.$0 }\n  expect allow\n}\n');
    expect(await client.request<unknown[]>("textDocument/completion", { textDocument: { uri }, position })).toEqual([]);
  });
});
