/**
 * Workspace symbols, document highlight and selection ranges, over the real server (stdio) with
 * a workspace folder of policies and test files, some of which are skipped as `armorc test`
 * skips them (node_modules, fixture trees).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cursor, type LspRange, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;

const files: Record<string, string> = {
  "payments/policy.armor": "default deny\nlet LIMIT = 10\nrule big_wire when amount > LIMIT deny\nrule small_wire when amount <= LIMIT allow\n",
  "payments/policy.test.armor": 'test "a big wire" {\n  action { type: "wire_transfer", amount: 20 }\n  expect deny by big_wire\n}\n',
  "mail/nested/mail.armor": 'default allow\nrule wire_mail when action.type == "send_email" deny\n',
  "node_modules/dep/skipped.armor": "default allow\nrule wire_in_node_modules when true deny\n",
  "fixtures/.armor-fixtures": "",
  "fixtures/broken.armor": "default allow\nrule wire_fixture when true deny\n",
};

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-workspace-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(workspace, path, ".."), { recursive: true });
    writeFileSync(join(workspace, path), text);
  }
  client = await TestClient.start({}, [workspace]);
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

interface SymbolInformation {
  name: string;
  kind: number;
  location: { uri: string; range: LspRange };
  containerName?: string;
}

const symbols = async (query: string): Promise<string[]> =>
  (await client.request<SymbolInformation[]>("workspace/symbol", { query }))
    .map((s) => `${s.name} ${s.location.uri.slice(pathToFileURL(workspace).href.length + 1)}:${s.location.range.start.line}`)
    .sort();

describe("workspace symbols", () => {
  it.each([
    ["wire", ["big_wire payments/policy.armor:2", "small_wire payments/policy.armor:3", "wire_mail mail/nested/mail.armor:1", "a big wire payments/policy.test.armor:0"].sort()],
    ["LIMIT", ["LIMIT payments/policy.armor:1"]],
    ["bw", ["big_wire payments/policy.armor:2", "a big wire payments/policy.test.armor:0"].sort()],
    ["no such symbol", []],
  ])("the query %j finds rules, lets and tests, skipping node_modules and fixtures", async (query, expected) => {
    expect(await symbols(query)).toEqual(expected);
  });

  it("an open document's unsaved text is what counts", async () => {
    const path = join(workspace, "mail/nested/mail.armor");
    const uri = await client.open(path, 'default allow\nrule renamed_mail when action.type == "send_email" deny\n');
    expect(await symbols("mail")).toEqual(["renamed_mail mail/nested/mail.armor:1"]);
    await client.close(uri);
    // closed: the file on disk counts again
    expect(await symbols("mail")).toEqual(["wire_mail mail/nested/mail.armor:1"]);
  });

  it("keeps its index of the folders until the client says a file was created, changed or deleted", async () => {
    await symbols("");
    const path = join(workspace, "extra/new.armor");
    const uri = pathToFileURL(path).href;
    const watched = (type: number) => client.connection.sendNotification("workspace/didChangeWatchedFiles", { changes: [{ uri, type }] });
    mkdirSync(join(workspace, "extra"), { recursive: true });
    writeFileSync(path, "default allow\nrule fresh_rule when true deny\n");
    // no folder walk per query: a file nobody announced is not there yet
    expect(await symbols("fresh")).toEqual([]);
    await watched(1);
    expect(await symbols("fresh")).toEqual(["fresh_rule extra/new.armor:1"]);
    writeFileSync(path, "default allow\nrule fresher_rule when true deny\n");
    expect(await symbols("fresh")).toEqual(["fresh_rule extra/new.armor:1"]);
    await watched(2);
    expect(await symbols("fresh")).toEqual(["fresher_rule extra/new.armor:1"]);
    rmSync(path);
    await watched(3);
    expect(await symbols("fresh")).toEqual([]);
  });
});

interface Highlight {
  range: LspRange;
  kind?: number;
}
const show = (r: LspRange): string => `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;

describe("document highlight", () => {
  it.each([
    [
      "a let: its declaration (write) and uses (read)",
      "default deny\nlet LI$0MIT = 10\nrule a when amount > LIMIT deny\nrule b when amount <= LIMIT allow\n",
      ["1:4-1:9 3", "2:21-2:26 2", "3:22-3:27 2"],
    ],
    ["a rule", "default deny\nrule a$0 when amount > 1 deny\n", ["1:5-1:6 3"]],
    ["a field: every read of the same path", 'default deny\nrule a when amo$0unt > 1 and action.amount < 5 and memo == "x" deny\n', ["1:12-1:18 2", "1:27-1:40 2"]],
    ["a keyword: nothing", "default deny\nrule a wh$0en amount > 1 deny\n", []],
  ])("%s", async (_name, marked, expected) => {
    const { text, position } = cursor(marked);
    const uri = await client.open(join(workspace, "highlight.armor"), text);
    const hs = await client.request<Highlight[]>("textDocument/documentHighlight", { textDocument: { uri }, position });
    expect(hs.map((h) => `${show(h.range)} ${h.kind}`).sort()).toEqual([...expected].sort());
    await client.close(uri);
  });
});

interface SelectionRange {
  range: LspRange;
  parent?: SelectionRange;
}

describe("selection ranges", () => {
  it.each([
    [
      "a field inside a comparison inside an and",
      'default deny\nrule a when action.type == "x" and (amo$0unt > 1 or memo == "m") deny\n',
      ["amount", "amount > 1", 'amount > 1 or memo == "m"', '(amount > 1 or memo == "m")', 'action.type == "x" and (amount > 1 or memo == "m")'],
    ],
    ["a path's segment", "default deny\nrule a when user.te$0am.name == 1 deny\n", ["team", "user.team", "user.team.name", "user.team.name == 1"]],
    ["a let's value", "default deny\nlet L = [1, 2$0, 3]\n", ["2", "[1, 2, 3]"]],
  ])("%s", async (_name, marked, innermost) => {
    const { text, position } = cursor(marked);
    const uri = await client.open(join(workspace, "select.armor"), text);
    const [first] = await client.request<SelectionRange[]>("textDocument/selectionRange", { textDocument: { uri }, positions: [position] });
    const lines = text.split("\n");
    const textOf = (r: LspRange): string => (r.start.line === r.end.line ? lines[r.start.line]!.slice(r.start.character, r.end.character) : "…");
    const chain: string[] = [];
    let previous: LspRange | null = null;
    for (let s: SelectionRange | undefined = first; s; s = s.parent) {
      // each range holds the one before it
      if (previous) expect(s.range.start.line < previous.start.line || (s.range.start.line === previous.start.line && s.range.start.character <= previous.start.character)).toBe(true);
      chain.push(textOf(s.range));
      previous = s.range;
    }
    expect(chain.slice(0, innermost.length)).toEqual(innermost);
    // the outermost is the whole document
    expect(chain[chain.length - 1]).toBe("…");
    await client.close(uri);
  });
});
