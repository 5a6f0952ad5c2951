/**
 * Hover on the newer constructs (stages, labels, `session.labels`, `result.F`, `output.text`,
 * `since`, `where`, `std.NAME`, `any`, `sum`, `glob`), as a table of cursor positions and the
 * text the hover must start with or hold. The real server, over stdio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cursor, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-hover-"));
  client = await TestClient.start();
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

const policy = `default allow
rule a on result when session.labels contains "pii" and result.size > 1 deny
rule b when seen(labels contains "x" since type == "y" within 1h) label "z"
rule c when sum(amount where type == "w") > 1 and any(r in to: r ends_with "x") and body matches std.email deny
rule d on output when output.text matches glob("*x*") redact output.text
rule e when amount > 5 require approval from "finance" quorum 2 grant action.to 1h up to 500 of action.amount
rule f when count(type == "w" within 1h per user.id) > 1 and seen(type == "v" per deployment) deny
param approvers: string = "ops"
rule g when amount > 9 require approval from approvers
`;

/** The first occurrence of `marked` (with `$0` where the cursor is) in the policy. */
const rows: readonly [string, string][] = [
  ['session.lab$0els contains "pii"', "`session.labels`"],
  ["sess$0ion.labels", "`session.labels`"],
  ["result.si$0ze", "`result.size`"],
  ["on res$0ult", "`on result`"],
  ["o$0n result", "`rule ID on call|result|output`"],
  ['lab$0els contains "x"', "`labels`: inside `count`"],
  ["sin$0ce type", "`seen(A since B [within D])`"],
  ['lab$0el "z"', '`label "L"`'],
  ["sum$0(amount", "`sum(EXPR where CONDITION [within DURATION])`"],
  ['wh$0ere type == "w"', "`sum(EXPR where CONDITION [within D])`"],
  ["an$0y(r in to", "`any(x in LIST: CONDITION)`"],
  ["st$0d.email", "`std.NAME`"],
  ["std.em$0ail", "`std.email`"],
  ["output.te$0xt matches", "`output`"],
  ["1h pe$0r user", "`count(C [within D] per user.F)`"],
  ["per deploy$0ment", "`per deployment`"],
  ['gl$0ob("*x*")', '`glob("PATTERN")`'],
  ["quo$0rum 2", '`require approval from "GROUP" quorum N`'],
  ["gra$0nt action.to", "`grant session DURATION`"],
  ["u$0p to 500", "`grant ... up to N of action.AMOUNT`"],
  ["from approv$0ers", "```armor\nlet approvers"],
  ["rule g$0 when", '**rule** `g`: require approval from "ops"'],
  ["rule e$0 when", '**rule** `e`: require approval from "finance" quorum 2 grant action.to 1h up to 500 of action.amount'],
];

describe("hover on the newer constructs", () => {
  it.each(rows)("%s", async (marked, expected) => {
    const at = policy.indexOf(marked.replace("$0", ""));
    expect(at).toBeGreaterThanOrEqual(0);
    const { text, position } = cursor(policy.slice(0, at) + marked + policy.slice(at + marked.length - 2));
    const uri = await client.open(join(workspace, "constructs.armor"), text);
    const h = await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri }, position });
    expect(h?.contents.value.startsWith(expected), h?.contents.value ?? "no hover").toBe(true);
    await client.close(uri);
  });
});
