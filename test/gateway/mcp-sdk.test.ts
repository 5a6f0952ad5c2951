/**
 * `armor mcp` in front of real MCP servers (server-everything, server-filesystem), driven by the
 * official SDK client, with the gateway spawned as a user runs it.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyAuditLog } from "@agent-armor/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { armorBin, assertBuilt, connectDirect, connectGateway, everything, filesystem, fixtures, freePort, repoRoot, textOf, waitFor } from "./support.js";

let work: string;
const policy = join(fixtures, "everything.armor");

beforeAll(() => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "armor-mcp-"));
});

describe("armor mcp in front of server-everything", () => {
  it("passes allowed calls through unchanged, denies with the rule, redacts, and audits every call", async () => {
    const audit = join(work, "everything.audit.jsonl");
    const gw = await connectGateway(["--policy", policy, "--audit", audit, "--", process.execPath, ...everything]);
    const direct = await connectDirect(process.execPath, everything);
    try {
      // tools/list passes through (nothing hidden without --hide-denied-tools)
      const viaGateway = (await gw.client.listTools()).tools;
      const upstream = (await direct.listTools()).tools;
      expect(viaGateway).toEqual(upstream);
      expect(viaGateway.map((t) => t.name)).toContain("get-env");

      // allowed: the same result as calling the server directly
      const sum = await gw.client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
      expect(sum).toEqual(await direct.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } }));
      expect(sum.isError).toBeFalsy();
      const echo = await gw.client.callTool({ name: "echo", arguments: { message: "plain words" } });
      expect(echo).toEqual(await direct.callTool({ name: "echo", arguments: { message: "plain words" } }));

      // denied: a tool error naming the rule and its reason; the upstream never sees it
      const big = await gw.client.callTool({ name: "get-sum", arguments: { a: 500, b: 1 } });
      expect(big.isError).toBe(true);
      expect(textOf(big)).toContain("big_sums");
      expect(textOf(big)).toContain("sums above 100 are not allowed");
      // the upstream's answer (the sum, 501) is not there; the decision id may hold any digits
      expect(textOf(big)).not.toMatch(/\b501\b/);
      const env = await gw.client.callTool({ name: "get-env", arguments: {} });
      expect(env.isError).toBe(true);
      expect(textOf(env)).toMatch(/rule no_env: environment variables may hold secrets/);

      // redacted: the upstream echoes the rewritten argument
      const secret = await gw.client.callTool({ name: "echo", arguments: { message: "token secret-abc123 here" } });
      expect(secret.isError).toBeFalsy();
      expect(textOf(secret)).toBe("Echo: token [REDACTED] here");
    } finally {
      await direct.close();
      await gw.close();
    }

    // every call has its decision record (the gateway closed its log on exit); allowed calls an outcome
    const text = readFileSync(audit, "utf8");
    const verified = verifyAuditLog(text);
    expect(verified.ok).toBe(true);
    const records = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const decisions = records.filter((r) => r.kind === "decision");
    expect(decisions.map((r) => [(r.action as { type: string }).type, r.decision])).toEqual([
      ["get-sum", "allow"],
      ["echo", "allow"],
      ["get-sum", "deny"],
      ["get-env", "deny"],
      ["echo", "allow"],
    ]);
    // the log holds the redacted action, never the secret
    expect(text).not.toContain("secret-abc123");
    expect(records.filter((r) => r.kind === "outcome")).toHaveLength(3);
    // the context carries the client from initialize, one session for the process
    expect(new Set(decisions.map((r) => r.session)).size).toBe(1);
  });

  it("hides the tools the policy always denies, and only those", async () => {
    const gw = await connectGateway(["--policy", policy, "--hide-denied-tools", "--", process.execPath, ...everything]);
    try {
      const names = (await gw.client.listTools()).tools.map((t) => t.name);
      expect(names).not.toContain("get-env"); // `when action.type == "get-env" deny`
      expect(names).toContain("get-sum"); // denied only when a > 100
      expect(names).toContain("echo");
      // hidden is not bypassable: calling it anyway is still decided
      const env = await gw.client.callTool({ name: "get-env", arguments: {} });
      expect(env.isError).toBe(true);
      expect(textOf(env)).toContain("no_env");
    } finally {
      await gw.close();
    }
  });

  it("passes the client from initialize to the policy's context and keeps session history", async () => {
    const p = join(work, "client.armor");
    writeFileSync(
      p,
      [
        "default allow",
        'rule only_known_clients when action.type == "get-sum" and context.client.name != "trusted-agent" deny because "unknown client"',
        'rule echo_limit when action.type == "echo" and count(type == "echo" within 1h) >= 2 deny because "two echoes per session"',
        "",
      ].join("\n"),
    );
    const other = await connectGateway(["--policy", p, "--", process.execPath, ...everything], "some-agent");
    const trusted = await connectGateway(["--policy", p, "--", process.execPath, ...everything], "trusted-agent");
    try {
      expect(textOf(await other.client.callTool({ name: "get-sum", arguments: { a: 1, b: 1 } }))).toContain("unknown client");
      expect(textOf(await trusted.client.callTool({ name: "get-sum", arguments: { a: 1, b: 1 } }))).toBe("The sum of 1 and 1 is 2.");
      for (let i = 0; i < 2; i++) expect((await trusted.client.callTool({ name: "echo", arguments: { message: `m${i}` } })).isError).toBeFalsy();
      const third = await trusted.client.callTool({ name: "echo", arguments: { message: "m2" } });
      expect(third.isError).toBe(true);
      expect(textOf(third)).toContain("echo_limit");
      // another gateway process is another session
      expect((await other.client.callTool({ name: "echo", arguments: { message: "x" } })).isError).toBeFalsy();
    } finally {
      await other.close();
      await trusted.close();
    }
  });

  it("asks the HTTP approval queue and runs the call only when approved", async () => {
    const port = await freePort();
    const audit = join(work, "approvals.audit.jsonl");
    const tokenFile = join(work, "approvals.token");
    writeFileSync(tokenFile, "approver-token-1\n");
    const gw = await connectGateway(["--policy", policy, "--audit", audit, "--approvals", "queue", "--approvals-port", String(port), "--token-file", tokenFile, "--", process.execPath, ...everything]);
    const base = `http://127.0.0.1:${port}/approvals`;
    const auth = { authorization: "Bearer approver-token-1" };
    const json = { ...auth, "content-type": "application/json" };
    try {
      // the queue needs the token, and JSON bodies
      expect((await fetch(base)).status).toBe(401);
      expect(await (await fetch(base, { headers: auth })).json()).toEqual({ pending: [] });
      const call = gw.client.callTool({ name: "get-tiny-image", arguments: {} });
      const pending = await waitFor(
        async () => ((await (await fetch(base, { headers: auth })).json()) as { pending: { id: string; action: { type: string }; from: string; actionHash: string }[] }).pending[0],
        10_000,
        "a pending approval",
      );
      expect(pending.action.type).toBe("get-tiny-image");
      expect(pending.from).toBe("ops");
      expect((await fetch(`${base}/${pending.id}`, { headers: auth })).status).toBe(200);
      const plain = await fetch(`${base}/${pending.id}`, { method: "POST", headers: auth, body: JSON.stringify({ approved: true, approver: "mallory" }) });
      expect(plain.status).toBe(415);
      // a resolution that looked at another action is refused
      const stale = await fetch(`${base}/${pending.id}`, { method: "POST", headers: json, body: JSON.stringify({ approved: true, approver: "eve", actionHash: "0".repeat(64) }) });
      expect(stale.status).toBe(409);
      const bad = await fetch(`${base}/${pending.id}`, { method: "POST", headers: json, body: "{ nope" });
      expect(bad.status).toBe(400);
      const ok = await fetch(`${base}/${pending.id}`, { method: "POST", headers: json, body: JSON.stringify({ approved: true, approver: "alice", note: "fine", actionHash: pending.actionHash }) });
      expect(ok.status).toBe(200);
      const result = await call;
      expect(result.isError).toBeFalsy();
      expect((result.content as { type: string }[]).some((c) => c.type === "image")).toBe(true);
      // answered: gone from the queue
      expect((await fetch(`${base}/${pending.id}`, { method: "POST", headers: json, body: JSON.stringify({ approved: true }) })).status).toBe(404);

      // rejected: a tool error that says by whom
      const second = gw.client.callTool({ name: "get-tiny-image", arguments: {} });
      const p2 = await waitFor(async () => ((await (await fetch(base, { headers: auth })).json()) as { pending: { id: string }[] }).pending[0], 10_000, "a second pending approval");
      await fetch(`${base}/${p2.id}`, { method: "POST", headers: json, body: JSON.stringify({ approved: false, approver: "bob", note: "not now" }) });
      const denied = await second;
      expect(denied.isError).toBe(true);
      expect(textOf(denied)).toContain("approval rejected by bob: not now");
      expect(textOf(denied)).toContain("image_review");
      expect((await fetch(`${base}/nope`, { method: "DELETE", headers: auth })).status).toBe(405);
    } finally {
      await gw.close();
    }
    const records = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(verifyAuditLog(readFileSync(audit, "utf8")).ok).toBe(true);
    const approvals = records.filter((r) => r.kind === "decision").map((r) => r.approval as { outcome: string; approver: string });
    expect(approvals.map((a) => [a.outcome, a.approver])).toEqual([
      ["approved", "alice"],
      ["rejected", "bob"],
    ]);
  });

  it("--approvals web: the console signs an approver in, shows the call live, and the approval runs it", async () => {
    const port = await freePort();
    const approvers = join(work, "web-approvers.json");
    const token = "olga-console-token-3e1";
    writeFileSync(approvers, JSON.stringify({ approvers: [{ name: "olga", groups: ["ops"], tokenSha256: createHash("sha256").update(token).digest("hex") }] }));
    const gw = await connectGateway(["--policy", policy, "--approvals", "web", "--approvals-port", String(port), "--approvers", approvers, "--", process.execPath, ...everything]);
    const origin = `http://127.0.0.1:${port}`;
    try {
      const page = await fetch(`${origin}/console`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>Agent Armor approvals</title>");
      const signIn = await fetch(`${origin}/console/session`, { method: "POST", headers: { "content-type": "application/json", origin }, body: JSON.stringify({ token }) });
      expect(signIn.status).toBe(200);
      const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
      const { csrf } = (await signIn.json()) as { csrf: string };
      // the event stream shows the call once it waits
      const events = await fetch(`${origin}/console/events`, { headers: { cookie } });
      const reader = events.body!.getReader();
      let text = "";
      const call = gw.client.callTool({ name: "get-tiny-image", arguments: {} });
      const requested = await waitFor(
        async () => {
          text += new TextDecoder().decode((await reader.read()).value);
          const m = /event: requested\ndata: (.*)\n/.exec(text);
          return m ? (JSON.parse(m[1]!) as { id: string; actionHash: string; action: { type: string } }) : undefined;
        },
        10_000,
        "the request in the event stream",
      );
      expect(requested.action.type).toBe("get-tiny-image");
      const ok = await fetch(`${origin}/approvals/${encodeURIComponent(requested.id)}`, {
        method: "POST",
        headers: { cookie, origin, "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify({ approved: true, actionHash: requested.actionHash }),
      });
      expect(ok.status).toBe(200);
      expect((await call).isError).toBeFalsy();
      await reader.cancel();
    } finally {
      await gw.close();
    }
    const usage = spawnSyncGateway(["mcp", "--policy", policy, "--approvals", "web", "--", process.execPath, ...everything]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("--approvals web signs approvers in with their own tokens: give --approvers FILE");
  });

  it("without an approval handler, calls that need approval are denied", async () => {
    const gw = await connectGateway(["--policy", policy, "--", process.execPath, ...everything]);
    try {
      const r = await gw.client.callTool({ name: "get-tiny-image", arguments: {} });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain("no approval handler is configured");
    } finally {
      await gw.close();
    }
  });

  it("exits when its client closes stdin, and closes the upstream", async () => {
    const child = spawn(process.execPath, [armorBin, "mcp", "--policy", policy, "--", process.execPath, ...everything], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } })}\n`);
    await waitFor(() => (out.includes('"id":1') ? true : undefined), 15_000, "the initialize response");
    const upstreamPids = execFileSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" })
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
    expect(upstreamPids.length).toBeGreaterThan(0);
    const started = Date.now();
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(1500);
    await waitFor(
      () =>
        upstreamPids.every((pid) => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        })
          ? true
          : undefined,
      5_000,
      "the upstream to exit",
    );
  });

  it("fails to start with a clear message when the policy does not compile", () => {
    const bad = join(work, "bad.armor");
    writeFileSync(bad, "rule r when amount > deny\n");
    const r = spawnSyncGateway(["mcp", "--policy", bad, "--", process.execPath, ...everything]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/does not compile/);
    const usage = spawnSyncGateway(["mcp", "--policy", bad]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("name the upstream MCP server");
  });
});

function spawnSyncGateway(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [armorBin, ...args], { cwd: repoRoot, encoding: "utf8", input: "", timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe("armor mcp in front of a streamable HTTP upstream (--upstream-url)", () => {
  it("decides calls to server-everything over streamable HTTP", async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [everything[0]!, "streamableHttp"], { cwd: repoRoot, env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    server.stderr.on("data", (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => (/listening on port/i.test(err) ? true : undefined), 20_000, "server-everything over HTTP");
      const gw = await connectGateway(["--policy", policy, "--upstream-url", `http://127.0.0.1:${port}/mcp`]);
      try {
        expect((await gw.client.listTools()).tools.map((t) => t.name)).toContain("echo");
        expect(textOf(await gw.client.callTool({ name: "echo", arguments: { message: "via http secret-q1" } }))).toBe("Echo: via http [REDACTED]");
        const denied = await gw.client.callTool({ name: "get-sum", arguments: { a: 101, b: 0 } });
        expect(denied.isError).toBe(true);
        expect(textOf(denied)).toContain("big_sums");
      } finally {
        await gw.close();
      }
    } finally {
      server.kill("SIGTERM");
    }
  });
});

describe("armor mcp in front of server-filesystem", () => {
  let root: string;
  beforeAll(() => {
    root = join(work, "files");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "notes.txt"), "shopping list\n");
    writeFileSync(join(root, "secret.txt"), "the launch codes\n");
  });

  it("allows reads, denies secret files and writes, hides write tools", async () => {
    const audit = join(work, "fs.audit.jsonl");
    const gw = await connectGateway(["--policy", join(fixtures, "filesystem.armor"), "--audit", audit, "--hide-denied-tools", "--", process.execPath, filesystem, root]);
    const direct = await connectDirect(process.execPath, [filesystem, root]);
    try {
      const names = (await gw.client.listTools()).tools.map((t) => t.name);
      expect(names).toContain("read_text_file");
      expect(names).toContain("list_directory");
      for (const w of ["write_file", "edit_file", "move_file", "create_directory"]) expect(names).not.toContain(w);
      expect((await direct.listTools()).tools.map((t) => t.name)).toContain("write_file");

      const list = await gw.client.callTool({ name: "list_directory", arguments: { path: root } });
      expect(list).toEqual(await direct.callTool({ name: "list_directory", arguments: { path: root } }));
      expect(textOf(list)).toContain("secret.txt");

      const notes = await gw.client.callTool({ name: "read_text_file", arguments: { path: join(root, "notes.txt") } });
      expect(textOf(notes)).toContain("shopping list");

      const secret = await gw.client.callTool({ name: "read_text_file", arguments: { path: join(root, "secret.txt") } });
      expect(secret.isError).toBe(true);
      expect(textOf(secret)).toContain("no_secrets");
      expect(textOf(secret)).not.toContain("launch codes");

      const write = await gw.client.callTool({ name: "write_file", arguments: { path: join(root, "new.txt"), content: "x" } });
      expect(write.isError).toBe(true);
      expect(textOf(write)).toContain("rule no_writes: the agent may only read");
      expect(existsSync(join(root, "new.txt"))).toBe(false);
    } finally {
      await direct.close();
      await gw.close();
    }
    const text = readFileSync(audit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    const decisions = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.kind === "decision");
    expect(decisions.map((r) => r.decision)).toEqual(["allow", "allow", "deny", "deny"]);
  });
});
