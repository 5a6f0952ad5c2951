/**
 * `armor mcp` driven by a second, independent client: MCP Inspector's CLI
 * (`mcp-inspector --cli CMD ARGS --method ...`). It swallows `--` (the gateway takes the first
 * non-option argument as the upstream command) and exits 0 even when a tool result has
 * `isError: true`, so the assertions read its JSON.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { verifyAuditLog } from "@agent-armor/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { armorBin, assertBuilt, everything, fixtures, inspectorBin, repoRoot } from "./support.js";

const run = promisify(execFile);
let work: string;

beforeAll(() => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "armor-inspector-"));
});

async function inspector(gatewayArgs: string[], method: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [inspectorBin, "--cli", process.execPath, armorBin, "mcp", ...gatewayArgs, "--", process.execPath, ...everything, ...method], {
    cwd: repoRoot,
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const policy = join(fixtures, "everything.armor");
const text = (r: Record<string, unknown>): string => ((r.content as { text?: string }[]) ?? []).map((c) => c.text ?? "").join("\n");

describe("armor mcp under MCP Inspector's CLI", () => {
  it("passes an allowed call through", async () => {
    const r = await inspector(["--policy", policy], ["--method", "tools/call", "--tool-name", "get-sum", "--tool-arg", "a=20", "--tool-arg", "b=22"]);
    expect(r.isError).toBeFalsy();
    expect(text(r)).toBe("The sum of 20 and 22 is 42.");
  });

  it("returns a denied call as a tool error naming the rule", async () => {
    const audit = join(work, "inspector.audit.jsonl");
    const r = await inspector(["--policy", policy, "--audit", audit], ["--method", "tools/call", "--tool-name", "get-sum", "--tool-arg", "a=200", "--tool-arg", "b=1"]);
    expect(r.isError).toBe(true);
    expect(text(r)).toContain("rule big_sums: sums above 100 are not allowed");
    const log = readFileSync(audit, "utf8");
    expect(verifyAuditLog(log).ok).toBe(true);
    const records = log
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((x) => [x.kind, x.decision])).toEqual([["decision", "deny"]]);
  });

  it("forwards redacted arguments: echo echoes the redacted message", async () => {
    const r = await inspector(["--policy", policy], ["--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=key secret-xyz9 ok"]);
    expect(r.isError).toBeFalsy();
    expect(text(r)).toBe("Echo: key [REDACTED] ok");
  });

  it("lists tools, without the always-denied ones under --hide-denied-tools", async () => {
    const all = await inspector(["--policy", policy], ["--method", "tools/list"]);
    const hidden = await inspector(["--policy", policy, "--hide-denied-tools"], ["--method", "tools/list"]);
    const names = (r: Record<string, unknown>): string[] => (r.tools as { name: string }[]).map((t) => t.name);
    expect(names(all)).toContain("get-env");
    expect(names(hidden)).not.toContain("get-env");
    expect(names(hidden).length).toBe(names(all).length - 1);
  });
});
