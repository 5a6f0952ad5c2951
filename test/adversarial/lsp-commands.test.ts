/**
 * Hostile arguments to the language server's commands (`armor.compile`, `armor.runTests`,
 * `armor.runTest`): arguments that are not an array, URIs of other hosts, FIFOs and files too
 * large to read where a policy, its test file or its schema goes. Each is refused with -32602
 * and a message that says what was expected, and the server answers the next request.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../lsp/client.js";

let workspace = "";
let client: TestClient;
const policy = 'default allow\n\nrule r\n  when action.type == "x"\n  deny\n';
const uri = (name: string): string => pathToFileURL(join(workspace, name)).href;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-hostile-"));
  for (const d of ["fifo", "fifotests", "huge", "dir.armor", "schema"]) mkdirSync(join(workspace, d), { recursive: true });
  execFileSync("mkfifo", [join(workspace, "fifo/p.armor")]);
  writeFileSync(join(workspace, "fifotests/p.armor"), policy);
  execFileSync("mkfifo", [join(workspace, "fifotests/p.test.armor")]);
  writeFileSync(join(workspace, "huge/p.armor"), "");
  truncateSync(join(workspace, "huge/p.armor"), 16 * 1024 * 1024 + 1);
  execFileSync("mkfifo", [join(workspace, "schema/actions.json")]);
  writeFileSync(join(workspace, "schema/p.armor"), `schema "actions.json"\n${policy}`);
  client = await TestClient.start({ debounceMs: 10 });
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

interface ErrorCase {
  what: string;
  command: string;
  args: () => unknown;
  message: RegExp;
}

const refused: ErrorCase[] = [
  { what: "arguments as an object", command: "armor.compile", args: () => ({ 0: uri("ok.armor") }), message: /armor\.compile takes \[uri\].*as an array/ },
  { what: "arguments as a string", command: "armor.runTests", args: () => uri("ok.armor"), message: /armor\.runTests takes \[uri\].*as an array/ },
  { what: "arguments as an object", command: "armor.runTest", args: () => ({ 0: "x", 1: "t" }), message: /armor\.runTest takes \[uri, name\].*as an array/ },
  { what: "a number for the name", command: "armor.runTest", args: () => [uri("p.test.armor"), 1], message: /takes a document URI and a test name/ },
  { what: "a URI of another host", command: "armor.compile", args: () => ["file://evilhost/x.armor"], message: /not a local file URI.*expected a file: URI on this machine/ },
  { what: "a URI of another host", command: "armor.runTests", args: () => ["file://evilhost/x.armor"], message: /not a local file URI/ },
  { what: "a URI of another host", command: "armor.runTest", args: () => ["file://evilhost/x.test.armor", "t"], message: /not a local file URI/ },
  { what: "a FIFO policy", command: "armor.compile", args: () => [uri("fifo/p.armor")], message: /p\.armor is not a regular file/ },
  { what: "a FIFO policy", command: "armor.runTests", args: () => [uri("fifo/p.armor")], message: /p\.armor is not a regular file/ },
  { what: "a FIFO test file", command: "armor.runTests", args: () => [uri("fifotests/p.armor")], message: /p\.test\.armor is not a regular file/ },
  { what: "a directory", command: "armor.compile", args: () => [uri("dir.armor")], message: /dir\.armor is not a regular file/ },
  { what: "a policy over 16 MiB", command: "armor.compile", args: () => [uri("huge/p.armor")], message: /p\.armor is larger than 16 MiB/ },
];

describe("the server's commands refuse hostile arguments with -32602", () => {
  it.each(refused)(
    "$command: $what",
    async ({ command, args, message }) => {
      const error = await client.request("workspace/executeCommand", { command, arguments: args() }).then(
        () => null,
        (e: { code?: number; message?: string }) => e,
      );
      expect(error?.code).toBe(-32602);
      expect(error?.message).toMatch(message);
    },
    10_000,
  );

  it("reads no schema that is a FIFO, and still answers", async () => {
    const r = await client.request<{ ok: boolean; rendered: string }>("workspace/executeCommand", { command: "armor.compile", arguments: [uri("schema/p.armor")] });
    expect(r.ok).toBe(false);
    expect(r.rendered).toContain("actions.json");
    const test = await client.request<{ passed: boolean; failures: string[] }>("workspace/executeCommand", { command: "armor.runTest", arguments: [uri("fifotests/p.test.armor"), "t"] });
    expect(test.passed).toBe(false);
  }, 10_000);
});
