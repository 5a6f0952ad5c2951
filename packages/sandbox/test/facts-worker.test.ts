/**
 * The facts of long JavaScript are read in the pool's facts thread, off the thread that decides
 * every other action and never behind runs: the same facts as read here, decided and audited the
 * same way; facts that thread cannot give in time are read here, never decided as a stand-in.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer } from "@agent-armor/runtime";
import { createSandboxPool, javaScriptFacts, type PythonLease, type PythonPool, runCode, SandboxFailure, type SandboxPool } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";
import { INLINE_FACTS_CHARS } from "../src/run-code.js";

const pool = createSandboxPool({ size: 1 });
afterAll(() => pool.close());

const padded = (code: string): string => `${code}\n//${"x".repeat(INLINE_FACTS_CHARS)}`;
const cases = [
  { name: "imports, calls, URLs and hosts", code: padded('const cp = require("child_process"); await fetch("https://Api.Example.com/x"); send_email({})') },
  { name: "code that hides what it calls", code: padded('(0, eval)("send_email({})")') },
  { name: "code that does not parse", code: padded("return (") },
  { name: "code nested too deeply to walk", code: padded(`a${".b".repeat(32_000)}`) },
];

const NO_PROCESSES = 'policy p version "1"\ndefault allow\nrule no_processes\n  when action.type == "run_code" and "child_process" in imports\n  deny because "no processes"\n';
/** Long code (its facts read off the deciding thread) that imports child_process and names a host. */
const SNEAKY = padded('fetch("https://evil.example/x"); require("child_process")');

describe("facts read in a worker", () => {
  it.each(cases)("$name: the same as read on this thread", async ({ code }) => {
    expect(await pool.facts!(code, 10_000)).toEqual(javaScriptFacts(code));
  });

  it("are what runCode decides on long code, and short code's are read here", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-facts-")), "audit.jsonl");
    const asked: number[] = [];
    const counting: SandboxPool = {
      run: (code, limits, host) => pool.run(code, limits, host),
      facts: (code, waitMs) => {
        asked.push(code.length);
        return pool.facts!(code, waitMs);
      },
      get workers() {
        return pool.workers;
      },
      close: async () => undefined,
    };
    const policy = 'policy p version "1"\ndefault allow\nrule no_processes\n  when action.type == "run_code" and "child_process" in imports\n  deny because "no processes"\n';
    const enforcer = await createEnforcer({ policy: { fileName: "p.armor", source: policy }, audit: { file }, throwOnDeny: false });
    const long = await runCode(enforcer, { language: "javascript", code: padded('require("child_process")') }, { session: "s" }, { pool: counting });
    const short = await runCode(enforcer, { language: "javascript", code: "return 1" }, { session: "s" }, { pool: counting });
    await enforcer.close();
    expect([long.decision.decision, short.decision.decision]).toEqual(["deny", "allow"]);
    expect(asked).toEqual([padded('require("child_process")').length]);
    const first = JSON.parse(readFileSync(file, "utf8").split("\n")[0]!) as { action: { imports: string[] } };
    expect(first.action.imports).toEqual(["child_process"]);
  });

  it("that the pool cannot give are read here: the policy decides on the code's own facts", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-facts-")), "audit.jsonl");
    const failing: SandboxPool = {
      run: (code, limits, host) => pool.run(code, limits, host),
      facts: async () => {
        throw new SandboxFailure("timeout", "the code's facts were not read within 5 ms");
      },
      workers: 0,
      close: async () => undefined,
    };
    // no rule on `dynamic`: a stand-in for facts that cannot be read would be allowed
    const enforcer = await createEnforcer({ policy: { fileName: "p.armor", source: NO_PROCESSES }, audit: { file }, throwOnDeny: false });
    const r = await runCode(enforcer, { language: "javascript", code: SNEAKY }, { session: "s" }, { pool: failing });
    await enforcer.close();
    expect(r.decision.decision).toBe("deny");
    const first = JSON.parse(readFileSync(file, "utf8").split("\n")[0]!) as { action: Record<string, unknown> };
    expect(first.action).toMatchObject({ imports: ["child_process"], hosts: ["evil.example"], dynamic: false, error: null });
  });

  it("are read at once while runs hold every worker of the pool, and decided on", async () => {
    const busy = createSandboxPool({ size: 1, max: 2 });
    const file = join(mkdtempSync(join(tmpdir(), "armor-facts-")), "audit.jsonl");
    const enforcer = await createEnforcer({ policy: { fileName: "p.armor", source: NO_PROCESSES }, audit: { file }, throwOnDeny: false });
    try {
      const limits = { timeMs: 3_000, memoryBytes: 1 << 22, stackBytes: 1 << 18, outputChars: 1000, hostCalls: 1 };
      const hogs = [busy.run("for (;;) {}", limits, {}).catch((e: unknown) => e), busy.run("for (;;) {}", limits, {}).catch((e: unknown) => e)];
      await new Promise((r) => setTimeout(r, 100));
      const r = await runCode(enforcer, { language: "javascript", code: SNEAKY }, { session: "s" }, { pool: busy, limits: { timeMs: 1_000 } });
      expect(r.decision.decision).toBe("deny");
      expect(r.decision.rules.map((f) => f.id)).toEqual(["no_processes"]);
      await Promise.all(hogs);
    } finally {
      await enforcer.close();
      await busy.close();
    }
    const first = JSON.parse(readFileSync(file, "utf8").split("\n")[0]!) as { action: Record<string, unknown> };
    expect(first.action).toMatchObject({ imports: ["child_process"], hosts: ["evil.example"], dynamic: false, error: null });
  });

  it("Python code whose facts the interpreter failed to give is decided and audited, and never runs", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-facts-")), "audit.jsonl");
    const ran: string[] = [];
    const lease: PythonLease = {
      facts: async () => {
        throw new SandboxFailure("engine", "the Python interpreter exited (code 1)");
      },
      run: async (code) => {
        ran.push(code);
        return { value: null, stdout: "" };
      },
      release: () => undefined,
    };
    const pythonPool: PythonPool = { take: async () => lease, run: (code, limits, host) => lease.run(code, limits, host), processes: 0, close: async () => undefined };
    const enforcer = await createEnforcer({ policy: { fileName: "p.armor", source: NO_PROCESSES }, audit: { file }, throwOnDeny: false });
    const err = await runCode(enforcer, { language: "python", code: "import subprocess" }, { session: "s" }, { pythonPool }).catch((e: unknown) => e);
    await enforcer.close();
    expect(ran).toEqual([]);
    expect(String(err)).toContain("the code's facts cannot be read: the Python interpreter exited (code 1); code whose facts were not read is never run");
    const kinds = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; outcome?: string; action: { error?: string } });
    expect(kinds[0]!.action.error).toBe("the code's facts cannot be read: the Python interpreter exited (code 1)");
    expect(kinds.some((r) => r.outcome === "error")).toBe(true);
  });

  it("a worker that takes too long to read them is stopped, and the pool goes on", async () => {
    const slow = createSandboxPool({ size: 1 });
    try {
      // a member chain this deep takes the parser far longer than a millisecond
      const err = await slow.facts!(padded(`a${".b".repeat(32_000)}`), 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SandboxFailure);
      expect((err as SandboxFailure).kind).toBe("timeout");
      expect((await slow.run("return 2", { timeMs: 5_000, memoryBytes: 1 << 22, stackBytes: 1 << 18, outputChars: 1000, hostCalls: 1 }, {})).value).toBe(2);
    } finally {
      await slow.close();
    }
  });
});
