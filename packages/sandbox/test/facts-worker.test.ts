/**
 * The facts of long JavaScript are read in a worker of the pool, off the thread that decides every
 * other action: the same facts as read here, decided and audited the same way; facts a worker
 * cannot give in time are decided as unread (`dynamic`, with an error).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer } from "@agent-armor/runtime";
import { createSandboxPool, javaScriptFacts, runCode, SandboxFailure, type SandboxPool } from "@agent-armor/sandbox";
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

  it("that cannot be had make the code unread: dynamic, with the reason, decided and audited", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-facts-")), "audit.jsonl");
    const failing: SandboxPool = {
      run: (code, limits, host) => pool.run(code, limits, host),
      facts: async () => {
        throw new SandboxFailure("timeout", "the code's facts were not read within 5 ms");
      },
      workers: 0,
      close: async () => undefined,
    };
    const policy = 'policy p version "1"\ndefault allow\nrule unread\n  when action.type == "run_code" and dynamic == true\n  deny because "unread code is not run"\n';
    const enforcer = await createEnforcer({ policy: { fileName: "p.armor", source: policy }, audit: { file }, throwOnDeny: false });
    const r = await runCode(enforcer, { language: "javascript", code: padded("return 1") }, { session: "s" }, { pool: failing });
    await enforcer.close();
    expect(r.decision.decision).toBe("deny");
    const first = JSON.parse(readFileSync(file, "utf8").split("\n")[0]!) as { action: { dynamic: boolean; error: string } };
    expect(first.action).toMatchObject({ dynamic: true, error: "the code's facts cannot be read: the code's facts were not read within 5 ms" });
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
