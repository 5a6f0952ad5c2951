/**
 * A policy open in the editor reads its schema only inside the workspace folders (without
 * folders, inside the policy's own folder): a `schema` path pointing anywhere else, directly or
 * through a symbolic link, is not read and gets A304 saying why, at the path.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "./client.js";

const schema = JSON.stringify({ oneOf: [{ type: "object", properties: { type: { const: "send_email" }, to: { type: "string" } }, required: ["type"] }] });

let root = "";
let workspace = "";
let inFolders: TestClient;
let noFolders: TestClient;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "armor-lsp-schema-paths-"));
  workspace = join(root, "workspace");
  mkdirSync(join(workspace, "policies"), { recursive: true });
  writeFileSync(join(workspace, "actions.json"), schema);
  writeFileSync(join(workspace, "policies", "actions.json"), schema);
  writeFileSync(join(root, "outside.json"), schema);
  symlinkSync(join(root, "outside.json"), join(workspace, "linked.json"));
  inFolders = await TestClient.start({ debounceMs: 10 }, [workspace]);
  noFolders = await TestClient.start({ debounceMs: 10 });
}, 60_000);

afterAll(async () => {
  await inFolders?.stop();
  await noFolders?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

const policy = (path: string): string => `schema ${JSON.stringify(path)}\ndefault allow\nrule r when action.type == "send_email" and to == "x" deny\n`;

describe("schema paths", () => {
  it.each([
    { folders: true, schema: "../actions.json", problem: null },
    { folders: true, schema: "./actions.json", problem: null },
    { folders: true, schema: "../../outside.json", problem: /is not read: it is outside the workspace folders/ },
    { folders: true, schema: "/etc/passwd", problem: /is not read: it is outside the workspace folders/ },
    { folders: true, schema: "../linked.json", problem: /is not read: it is outside the workspace folders/ },
    { folders: false, schema: "./actions.json", problem: null },
    { folders: false, schema: "../actions.json", problem: /is not read: it is outside the policy's folder .*, and no workspace folder is open/ },
  ])("with workspace folders: $folders, schema $schema", async ({ folders, schema: path, problem }) => {
    const client = folders ? inFolders : noFolders;
    const name = join(workspace, "policies", `p-${Math.random().toString(36).slice(2)}.armor`);
    const uri = await client.open(name, policy(path));
    const published = await client.diagnosticsOf(uri, 1);
    const a304 = published.diagnostics.filter((d) => d.code === "A304");
    if (problem === null) expect(published.diagnostics).toEqual([]);
    else {
      expect(a304).toHaveLength(1);
      expect(a304[0]!.message).toMatch(problem);
      expect(a304[0]!.range.start).toEqual({ line: 0, character: 7 });
    }
    await client.close(uri);
  });
});
