/** `armor serve`, the decision service, as a child process: every route, the errors, the OpenAPI file, shutdown. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armorBin, assertBuilt, fixtures, repoRoot, type Served, startServe } from "./support.js";

let work: string;
let svc: Served;
let audit: string;

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "armor-serve-"));
  audit = join(work, "serve.audit.jsonl");
  svc = await startServe(["--policy", join(fixtures, "serve.armor"), "--audit", audit, "--max-body", "4096"]);
});

afterAll(async () => {
  await svc?.stop();
});

async function call(method: string, path: string, body?: string | object, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const init: RequestInit = { method, headers: { "content-type": "application/json", ...headers } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const res = await fetch(`${svc.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

const err = (r: { json: Record<string, unknown> }): { code: string; message: string; location?: unknown } => r.json.error as never;

describe("armor serve", () => {
  it("GET /healthz names the policy", async () => {
    const r = await call("GET", "/healthz");
    expect(r.status).toBe(200);
    expect(r.json.status).toBe("ok");
    expect(r.json.policy).toMatchObject({ name: "serve_test", version: "2.0.0" });
  });

  it("POST /v1/decide returns the runtime's decision", async () => {
    const allow = await call("POST", "/v1/decide", { action: { type: "wire_transfer", amount: 50, recipient: "bob" }, user: { role: "clerk" } });
    expect(allow.status).toBe(200);
    expect(allow.json).toMatchObject({ decision: "allow", rules: [], errors: [], session: "default", policy: { name: "serve_test" } });
    expect(allow.json.actionHash).toMatch(/^[0-9a-f]{64}$/);

    const approval = await call("POST", "/v1/decide", { action: { type: "wire_transfer", amount: 50_000, recipient: "bob" }, user: { role: "clerk" } });
    expect(approval.json).toMatchObject({ decision: "require_approval", approval: { from: "finance", timeoutMs: 900_000 }, rules: [{ id: "wire_review" }] });

    const deny = await call("POST", "/v1/decide", { action: { type: "wire_transfer", amount: 5 }, user: { role: "intern" }, session: "s1" });
    expect(deny.json).toMatchObject({ decision: "deny", session: "s1", rules: [{ id: "clerks_only_small", reason: "interns cannot wire money" }] });

    const redacted = await call("POST", "/v1/decide", { action: { type: "send_email", body: "card 1234-5678-9012-3456 thanks" } });
    expect(redacted.json).toMatchObject({ decision: "allow", action: { type: "send_email", body: "card [REDACTED] thanks" } });

    // not an action: the runtime denies (fail closed), it is not an HTTP error
    const bad = await call("POST", "/v1/decide", { action: { amount: 1 } });
    expect(bad.status).toBe(200);
    expect(bad.json.decision).toBe("deny");
  });

  it("POST /v1/record feeds the session history that /v1/decide reads", async () => {
    const mail = { type: "send_email", body: "hi" };
    const session = "history-1";
    expect((await call("POST", "/v1/decide", { action: mail, session })).json.decision).toBe("allow");
    // deciding does not record
    expect((await call("POST", "/v1/decide", { action: mail, session })).json.decision).toBe("allow");
    for (let i = 0; i < 2; i++) {
      const d = await call("POST", "/v1/decide", { action: mail, session });
      const r = await call("POST", "/v1/record", { action: d.json.action, session, decisionId: d.json.id });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ recorded: true, session, audited: true });
      // it settles no reservation: its outcome is an action of its own, never written under the decision's id
      expect(r.json.decisionId).not.toBe(d.json.id);
    }
    const third = await call("POST", "/v1/decide", { action: mail, session });
    expect(third.json.decision).toBe("deny");
    expect((third.json.rules as { id: string }[]).map((r) => r.id)).toEqual(["redact_card", "mail_limit"]);
    // an executed action counts even if a decision now would deny it
    expect((await call("POST", "/v1/record", { action: mail, session })).status).toBe(200);
    // other sessions are unaffected
    expect((await call("POST", "/v1/decide", { action: mail, session: "history-2" })).json.decision).toBe("allow");

    const noType = await call("POST", "/v1/record", { action: { body: "x" } });
    expect(noType.status).toBe(400);
    expect(err(noType).location).toBe("/action");
    const badOutcome = await call("POST", "/v1/record", { action: mail, outcome: "maybe" });
    expect(badOutcome.status).toBe(400);
  });

  it("400 for bad JSON names the line and column; 400 for a bad shape names the field", async () => {
    const r = await call("POST", "/v1/decide", '{\n  "action": { "type": "x", }\n}');
    expect(r.status).toBe(400);
    expect(err(r).code).toBe("invalid_json");
    expect(err(r).location).toEqual({ line: 2, column: 28, offset: 29 });
    expect(err(r).message).toContain('unexpected "}" at line 2, column 28');

    const empty = await call("POST", "/v1/decide", "");
    expect(empty.status).toBe(400);
    expect(err(empty).message).toContain("empty");

    const notObject = await call("POST", "/v1/decide", "[1, 2]");
    expect(notObject.status).toBe(400);
    const noAction = await call("POST", "/v1/decide", { session: "s" });
    expect(noAction.status).toBe(400);
    expect(err(noAction).location).toBe("/action");
    const badSession = await call("POST", "/v1/decide", { action: { type: "x" }, session: 7 });
    expect(badSession.status).toBe(400);
    expect(err(badSession).location).toBe("/session");
    const badUser = await call("POST", "/v1/decide", { action: { type: "x" }, user: "root" });
    expect(err(badUser).location).toBe("/user");
  });

  it("404 for unknown routes, 405 with Allow for wrong methods", async () => {
    const r = await call("GET", "/v1/nope");
    expect(r.status).toBe(404);
    expect(err(r).code).toBe("not_found");
    const m = await call("GET", "/v1/decide");
    expect(m.status).toBe(405);
    expect(m.headers.get("allow")).toBe("POST");
    const h = await call("POST", "/healthz", {});
    expect(h.status).toBe(405);
    expect(h.headers.get("allow")).toBe("GET");
  });

  it("413 for bodies over --max-body, by Content-Length or by streaming", async () => {
    const big = JSON.stringify({ action: { type: "send_email", body: "x".repeat(5000) } });
    const r = await call("POST", "/v1/decide", big);
    expect(r.status).toBe(413);
    expect(err(r).code).toBe("payload_too_large");
    // chunked, no Content-Length: cut off while streaming
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${svc.url}/v1/decide`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      for (let i = 0; i < 10; i++) req.write("x".repeat(1000));
      req.end();
    });
    expect(status).toBe(413);
    // the service is still healthy
    expect((await call("GET", "/healthz")).status).toBe(200);
  });

  it("every route of the server is in openapi.yaml and every path there is served", async () => {
    const { ROUTES } = (await import(join(repoRoot, "packages", "gateway", "dist", "index.js"))) as { ROUTES: Record<string, string[]> };
    const yaml = readFileSync(join(repoRoot, "packages", "gateway", "openapi.yaml"), "utf8");
    const paths = yaml.slice(yaml.indexOf("\npaths:\n"), yaml.indexOf("\ncomponents:\n"));
    const documented: Record<string, string[]> = {};
    let current: string | null = null;
    for (const line of paths.split("\n")) {
      const p = /^ {2}(\/\S*):\s*$/.exec(line);
      if (p) {
        current = p[1]!;
        documented[current] = [];
        continue;
      }
      const m = /^ {4}(get|post|put|patch|delete|head|options):\s*$/.exec(line);
      if (m && current) documented[current]!.push(m[1]!.toUpperCase());
    }
    const norm = (r: Record<string, readonly string[]>): Record<string, string[]> =>
      Object.fromEntries(
        Object.entries(r)
          .map(([k, v]) => [k, [...v].sort()])
          .sort(),
      );
    expect(norm(documented)).toEqual(norm(ROUTES));
    // and the running server answers each documented route/method, other than with 405 or the
    // 404 of a path it does not serve (a route may answer 404 about what it was asked for)
    for (const [path, methods] of Object.entries(documented)) {
      for (const method of methods) {
        const res = await fetch(`${svc.url}${path}`, { method, headers: { "content-type": "application/json" }, ...(method === "POST" ? { body: '{"action":{"type":"probe"}}' } : {}) });
        const text = await res.text();
        expect(res.status, `${method} ${path}`).not.toBe(405);
        if (res.status === 404) expect((JSON.parse(text) as { error: { message: string } }).error.message, `${method} ${path}`).not.toMatch(/^no route /);
      }
    }
  });

  it("openapi.yaml says who may call each operation: every POST answers 401, 403 and 415; /healthz needs no token", () => {
    const yaml = readFileSync(join(repoRoot, "packages", "gateway", "openapi.yaml"), "utf8");
    expect(yaml).toMatch(/\nsecurity:\n {2}- \{\}\n {2}- bearerToken: \[\]\n/);
    expect(yaml).toMatch(/securitySchemes:\n {4}bearerToken:\n {6}type: http\n {6}scheme: bearer/);
    const paths = yaml.slice(yaml.indexOf("\npaths:\n"), yaml.indexOf("\ncomponents:\n"));
    const blocks = paths.split(/\n(?= {2}\/)/).slice(1);
    for (const block of blocks) {
      const path = block.trim().split(":")[0]!;
      if (/\n {4}post:/.test(block)) for (const status of ["401", "403", "415"]) expect(block, `${path} ${status}`).toContain(`"${status}":`);
      // an operation without a body says who may call it: nobody in particular, or its scheme
      else expect(block, path).toMatch(/\n {6}security:/);
    }
  });

  it("writes every decision and record to a verifiable audit log", async () => {
    // the log is flushed per record; read what is there so far
    const text = readFileSync(audit, "utf8");
    const v = verifyAuditLog(text);
    expect(v.ok).toBe(true);
    const records = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.some((r) => r.kind === "decision" && r.mode === "decide")).toBe(true);
    expect(records.some((r) => r.kind === "outcome" && r.mode === "record")).toBe(true);
  });
});

describe("armor serve shutdown", () => {
  it("on SIGTERM stops accepting, finishes requests in flight, closes the audit log, exits 0", async () => {
    const log = join(work, "shutdown.audit.jsonl");
    const s = await startServe(["--policy", join(fixtures, "serve.armor"), "--audit", log]);
    // a request in flight: headers and half the body sent, the rest after the signal
    const u = new URL(`${s.url}/v1/decide`);
    const body = JSON.stringify({ action: { type: "wire_transfer", amount: 1 }, session: "late" });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on("error", reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        s.child.kill("SIGTERM");
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const r = await response;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ decision: "allow", session: "late" });
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toContain("SIGTERM");
    // the in-flight decision made it into the (closed, intact) log
    const text = readFileSync(log, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    expect(text).toContain('"session":"late"');
    // no longer accepting
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });

  it("prints a policy's warnings as armorc check does, with the source line", async () => {
    const policy = join(work, "warn.armor");
    writeFileSync(policy, 'default allow\nlet UNUSED = 1\nrule r when action.type == "x" deny\n');
    const served = await startServe(["--policy", policy]);
    try {
      const text = served.stderr();
      expect(text).toContain("warning[A403]");
      expect(text).toContain(`--> ${policy}:2:5`);
      expect(text).toContain("2 | let UNUSED = 1");
      expect(text).not.toMatch(/warn\.armor:2:5: warning A403/);
    } finally {
      await served.stop();
    }
  });

  // a policy that does not compile: its errors as armorc check prints them, not one line with literal `\n`s
  it.each([
    { command: "serve", args: (policy: string) => ["serve", "--policy", policy, "--port", "0"] },
    { command: "mcp", args: (policy: string) => ["mcp", "--policy", policy, "--", "sh", "-c", "exit 0"] },
  ])("armor $command prints the errors of a policy that does not compile with source line, caret and help", ({ command, args }) => {
    const policy = join(work, `broken-${command}.armor`);
    writeFileSync(policy, 'default allow\nrule r when action.type == "x" and 1 > "x" deny\n');
    const r = spawnSync(process.execPath, [armorBin, ...args(policy)], { encoding: "utf8", input: "", timeout: 30_000, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`armor ${command}: the policy ${policy} does not compile`);
    expect(r.stderr).toContain("error[A301]");
    expect(r.stderr).toContain(`--> ${policy}:2:36`);
    expect(r.stderr).toContain('2 | rule r when action.type == "x" and 1 > "x" deny');
    expect(r.stderr).toMatch(/\| +\^{7}\n/);
    expect(r.stderr).toContain("= help: compare `1` with a number");
    expect(r.stderr).not.toContain("\\n");
  });

  it("exits 1 with a message when the policy does not compile, 2 on usage errors", async () => {
    await expect(startServe(["--policy", join(fixtures, "missing.armor")])).rejects.toThrow(/exited \(1\)[\s\S]*cannot read the policy/);
    await expect(startServe([])).rejects.toThrow(/exited \(2\)[\s\S]*--policy is required/);
  });
});

describe("bench/serve-load.mjs", () => {
  it("runs a small bounded load with zero errors", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const out = join(work, "serve.md");
    const { stdout } = await promisify(execFile)(process.execPath, [join(repoRoot, "bench", "serve-load.mjs"), "--requests", "1000", "--concurrency", "32", "--cap-s", "30", "--out", out], {
      cwd: repoRoot,
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as { requests: number; errors: number; throughputRps: number; p50Ms: number; p99Ms: number };
    expect(result.errors).toBe(0);
    expect(result.requests).toBe(1000);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    expect(readFileSync(out, "utf8")).toContain("| errors | 0 |");
  });
});
