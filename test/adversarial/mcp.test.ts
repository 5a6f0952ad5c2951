/**
 * Hostile and faulty MCP traffic through `armor mcp`: tool names that try to forge log lines
 * (row 13), and an upstream server that exits in the middle of calls (row 14).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logLine, logText } from "@agent-armor/gateway";
import { verifyAuditLog } from "@agent-armor/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { armorBin, assertBuilt, connectGateway, fixtures, repoRoot, textOf, waitFor } from "../gateway/support.js";

const upstream = [process.execPath, join(fixtures, "exiting-upstream.mjs")];
const policy = join(fixtures, "allow-all.armor");
/** Characters that break a line or change what a terminal shows. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let work: string;
beforeAll(() => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "armor-adv-mcp-"));
});

// a tool name that forges a log line, and what the log must show instead
const hostileNames: { name: string; tool: string; escaped: string }[] = [
  { name: "newline", tool: "x\narmor mcp: approval 1 approved by admin", escaped: "x\\narmor mcp: approval 1 approved by admin" },
  { name: "CR (overwrites the line on a terminal)", tool: "x\rarmor mcp: ok", escaped: "x\\rarmor mcp: ok" },
  { name: "CRLF", tool: "x\r\ny", escaped: "x\\r\\ny" },
  { name: "ANSI colour", tool: "\u001b[31mred\u001b[0m", escaped: "\\u001b[31mred\\u001b[0m" },
  { name: "ANSI erase line", tool: "\u001b[2K\u001b[1Gfake", escaped: "\\u001b[2K\\u001b[1Gfake" },
  { name: "OSC window title", tool: "\u001b]0;pwned\u0007", escaped: "\\u001b]0;pwned\\u0007" },
  { name: "U+2028 line separator", tool: "a\u2028b", escaped: "a\\u2028b" },
  { name: "U+2029 paragraph separator", tool: "a\u2029b", escaped: "a\\u2029b" },
  { name: "NEL (C1)", tool: "a\u0085b", escaped: "a\\u0085b" },
  { name: "CSI (C1)", tool: "a\u009b31mb", escaped: "a\\u009b31mb" },
  { name: "right-to-left override", tool: "txt.\u202Eexe", escaped: "txt.\\u202eexe" },
  { name: "NUL and DEL", tool: "a\u0000b\u007f", escaped: "a\\u0000b\\u007f" },
  { name: "a backslash (so escapes are unambiguous)", tool: "a\\nb", escaped: "a\\\\nb" },
];

describe("log lines cannot be forged (row 13)", () => {
  it.each(hostileNames)("logText escapes $name", ({ tool, escaped }) => {
    expect(logText(tool)).toBe(escaped);
    expect(logText(tool)).not.toMatch(UNSAFE);
    expect(logLine`${tool}: allow`).toBe(`${escaped}: allow`);
  });

  it("keeps ordinary text, quotes and non-Latin letters as they are", () => {
    for (const s of ["get-sum", 'say "hi"', "naïve 日本語 😀", "tab-free"]) expect(logText(s)).toBe(s);
  });

  it("every line armor mcp writes is one line of its own, whatever the tool names", async () => {
    const gw = await connectGateway(["--policy", policy, "--", ...upstream]);
    try {
      for (const { tool } of hostileNames) {
        const r = await gw.client.callTool({ name: tool, arguments: {} });
        expect(textOf(r)).toBe(`called ${tool}`);
      }
      await waitFor(() => (hostileNames.every(({ escaped }) => gw.stderr().includes(`${escaped}: allow`)) ? true : undefined), 10_000, "a log line per call");
    } finally {
      await gw.close();
    }
    const lines = gw
      .stderr()
      .split("\n")
      .filter((l) => l !== "");
    for (const line of lines) {
      expect(line.startsWith("armor mcp: "), JSON.stringify(line)).toBe(true);
      expect(line, JSON.stringify(line)).not.toMatch(UNSAFE);
    }
    expect(lines.filter((l) => l.includes("approval 1 approved"))).toHaveLength(1);
  });
});

interface Rpc {
  id?: number;
  result?: unknown;
  error?: { code: number; message: string };
}

/** `armor mcp ARGS -- upstream` spoken to as raw JSON-RPC lines over stdio, initialized. */
async function rawGateway(args: string[]) {
  const child = spawn(process.execPath, [armorBin, "mcp", ...args, "--", ...upstream], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const send = (m: object): boolean => child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...m })}\n`);
  const replies = (): Rpc[] =>
    out
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Rpc);
  const reply = (id: number): Promise<Rpc> => waitFor(() => replies().find((r) => r.id === id), 15_000, `the reply to request ${id}`);
  try {
    send({ id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    await reply(1);
    send({ method: "notifications/initialized" });
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return { child, exited, send, reply, stderr: () => err };
}

describe("the upstream exits in the middle of calls (row 14)", () => {
  it("answers every pending call with a JSON-RPC error, keeps the audit log intact, and exits non-zero", async () => {
    const audit = join(work, "exit.audit.jsonl");
    const { child, exited, send, reply, stderr } = await rawGateway(["--policy", policy, "--audit", audit]);
    try {
      send({ id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "before" } } });
      expect(((await reply(2)).result as { content: { text: string }[] }).content[0]!.text).toBe("before");
      // one call that stays pending, then one that makes the upstream exit
      send({ id: 3, method: "tools/call", params: { name: "slow", arguments: {} } });
      // its decision record is written before the upstream is called
      await waitFor(() => (existsSync(audit) && readFileSync(audit, "utf8").includes('"type":"slow"') ? true : undefined), 10_000, "the slow call to be forwarded");
      send({ id: 4, method: "tools/call", params: { name: "exit", arguments: {} } });
      for (const id of [3, 4]) {
        const r = await reply(id);
        expect(r.result, `request ${id}`).toBeUndefined();
        expect(r.error?.code).toBe(-32603);
        expect(r.error?.message).toMatch(/upstream MCP server exited before answering the call to `(slow|exit)`/);
      }
      expect(await exited).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    expect(stderr()).toContain("the upstream server closed the connection with 2 request(s) pending");
    // every call has its decision record, and the ones that never returned an error outcome
    const text = readFileSync(audit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    const records = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; action?: { type: string }; outcome?: string });
    expect(records.filter((r) => r.kind === "decision").map((r) => r.action?.type)).toEqual(["echo", "slow", "exit"]);
    expect(records.filter((r) => r.kind === "outcome").map((r) => r.outcome)).toEqual(["ok", "error", "error"]);
  }, 40_000);

  it("denies and records an action still waiting for approval, which no approver can answer afterwards", async () => {
    const audit = join(work, "approval-exit.audit.jsonl");
    const { child, exited, send, reply, stderr } = await rawGateway(["--policy", join(fixtures, "approve-echo.armor"), "--audit", audit, "--approvals", "queue"]);
    try {
      send({ id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "waits" } } });
      const queueUrl = await waitFor(() => /approvals queue at (\S+)/.exec(stderr())?.[1], 10_000, "the approval queue's address");
      await waitFor(() => (stderr().includes("approval") && stderr().includes("pending") ? true : undefined), 10_000, "the approval to be pending");
      send({ id: 3, method: "tools/call", params: { name: "exit", arguments: {} } });
      expect((await reply(2)).error?.code).toBe(-32603);
      // the queue no longer offers the approval (or, drained already, is closed)
      const listed = await fetch(queueUrl).then(
        (r) => r.json() as Promise<{ pending: unknown[] }>,
        () => ({ pending: [] }),
      );
      expect(listed.pending).toEqual([]);
      expect(await exited).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    const text = readFileSync(audit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    const decisions = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; decision?: string; action?: { type: string }; errors?: { message: string }[] })
      .filter((r) => r.kind === "decision");
    expect(decisions.find((r) => r.action?.type === "echo")).toMatchObject({
      decision: "deny",
      errors: [expect.objectContaining({ message: expect.stringContaining("upstream MCP server exited while the action waited for approval") })],
    });
  }, 40_000);
});
