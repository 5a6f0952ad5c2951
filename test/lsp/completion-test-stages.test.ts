/**
 * Completion and hover inside `test` blocks with the stages: the steps a test gives (`result`,
 * `output` and `session` among them) and what follows `expect` (`result`, `output`, `labels`).
 * The real server, over stdio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cursor, TestClient } from "./client.js";

let workspace = "";
let client: TestClient;
let n = 0;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-test-stages-"));
  client = await TestClient.start();
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

const POLICY = 'default allow\nrule web on result\n  when action.type == "fetch_url"\n  label "untrusted"\n\n';

async function at(text: string) {
  const c = cursor(POLICY + text);
  const uri = await client.open(join(workspace, `stages-${n++}.armor`), c.text);
  return { textDocument: { uri }, position: c.position! };
}

describe("test blocks with stages in the language server", () => {
  it.each([
    ["a step", 'test "t" {\n  $0\n}\n', ["result", "output", "session", "action", "expect"], ["current"]],
    ["an expectation", 'test "t" {\n  action { type: "fetch_url" }\n  expect $0\n}\n', ["result", "output", "labels", "action", "deny"], []],
  ])("completes %s", async (_name, text, offered, absent) => {
    const items = await client.request<{ label: string }[]>("textDocument/completion", await at(text));
    const labels = items.map((i) => i.label);
    for (const l of offered) expect(labels).toContain(l);
    for (const l of absent) expect(labels).not.toContain(l);
  });

  it("hovers `expect` with the stage expectations", async () => {
    const hover = await client.request<{ contents: { value: string } }>(
      "textDocument/hover",
      await at('test "t" {\n  action { type: "fetch_url" }\n  result "x"\n  exp$0ect labels == ["untrusted"]\n}\n'),
    );
    expect(hover.contents.value).toContain("expect labels ==");
  });
});
