/**
 * `armor serve --run-code`: `POST /v1/run_code` runs agent-written code in the sandbox under the
 * service's policy, with the service's authentication and body limit; every run is decided in the
 * decision worker and audited in the service's chain.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, fixtures, type Served, startServe } from "./support.js";

const TOKEN = "run-code-test-token-0123456789";
let svc: Served;
let audit: string;

beforeAll(async () => {
  assertBuilt();
  const work = mkdtempSync(join(tmpdir(), "armor-serve-run-code-"));
  audit = join(work, "audit.jsonl");
  const tokenFile = join(work, "token");
  writeFileSync(tokenFile, `${TOKEN}\n`);
  svc = await startServe(["--policy", join(fixtures, "run-code.armor"), "--audit", audit, "--token-file", tokenFile, "--max-body", "65536", "--run-code", "js", "--run-code-time", "1000"]);
});
afterAll(() => svc?.stop());

async function post(body: unknown, token: string | null = TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${svc.url}/v1/run_code`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("POST /v1/run_code", () => {
  // [what, body, HTTP status, the answer (a subset)]
  const cases: [string, unknown, number, Record<string, unknown>][] = [
    ["an allowed run", { language: "javascript", code: 'console.log("hi"); return [1, 2]', session: "s1" }, 200, { status: "ran", result: { value: [1, 2], stdout: "hi\n" } }],
    ["output redacted", { language: "javascript", code: 'console.log("4111 1111 1111 1111")' }, 200, { status: "ran", result: { value: null, stdout: "[CARD]\n" } }],
    ["a denied run", { language: "javascript", code: 'require("child_process")' }, 200, { status: "denied", decision: expect.objectContaining({ decision: "deny" }) }],
    ["a timeout", { language: "javascript", code: "while (true) {}" }, 200, { status: "failed", failure: { kind: "timeout", message: "the code ran longer than 1000 ms" } }],
    ["a language not enabled, decided and refused", { language: "python", code: "1" }, 200, { status: "denied", problem: expect.stringContaining('`language` "python" is not run here') }],
    ["a body that is not an object", "[1]", 400, { error: expect.objectContaining({ code: "invalid_request" }) }],
    ["a body over --max-body", { language: "javascript", code: "x".repeat(70_000) }, 413, {}],
  ];
  it.each(cases)("%s", async (_what, body, status, answer) => {
    const r = await post(body);
    expect(r.status).toBe(status);
    expect(r.json).toMatchObject(answer);
  });

  it("needs the service's token", async () => {
    const r = await post({ language: "javascript", code: "1" }, null);
    expect(r.status).toBe(401);
  });

  it("writes every run to the service's audit chain, which verifies", async () => {
    const text = readFileSync(audit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    const runs = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; action?: { type?: string } })
      .filter((r) => r.kind === "decision" && r.action?.type === "run_code");
    expect(runs.length).toBe(5);
  });
});

describe("POST /v1/run_code without --run-code", () => {
  it("answers 404 no_run_code", async () => {
    const plain = await startServe(["--policy", join(fixtures, "run-code.armor")]);
    try {
      const res = await fetch(`${plain.url}/v1/run_code`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"language":"javascript","code":"1"}' });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("no_run_code");
    } finally {
      await plain.stop();
    }
  });
});
