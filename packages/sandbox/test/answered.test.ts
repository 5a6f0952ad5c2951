/**
 * A run that has answered makes no more host calls: a call the guest made without waiting for it
 * (`ping(); return 1`) and that had not started when the run settled never starts, in the pool and
 * under runCode (where it is neither decided nor runs its tool after the run's result).
 */
import { createEnforcer } from "@agent-armor/runtime";
import { createSandboxPool, runCode, type SandboxPool } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

const pool = createSandboxPool({ size: 1, max: 1 });
afterAll(() => pool.close());

const LIMITS = { timeMs: 2_000, memoryBytes: 1 << 24, stackBytes: 1 << 19, outputChars: 10_000, hostCalls: 100 };
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

// [what, the code, the calls the host sees]
const CASES: [string, string, number[]][] = [
  ["a call not awaited, then return", "ping(1); return 1", []],
  ["a call in an async function not awaited", '(async () => { await ping(1); console.log("after"); await ping(2); })(); return 1', []],
  ["a call in a later job", "Promise.resolve().then(() => ping(1)); return 1", []],
  ["a call after the run throws", "ping(1); throw new Error('x')", []],
  ["a call awaited, then one not awaited", "await ping(1); ping(2); return 1", [1]],
  ["calls awaited", "await ping(1); await ping(2); return 1", [1, 2]],
];

describe("a run that has answered", () => {
  it.each(CASES)("%s (%s): the host sees %j", async (_, code, expected) => {
    const seen: unknown[] = [];
    const host = {
      ping: async ([n]: unknown[]) => {
        seen.push(n);
        await settle(5);
        return "pong";
      },
    };
    await pool.run(code, LIMITS, host).catch(() => undefined);
    await settle(150);
    expect(seen).toEqual(expected);
  });

  it("under runCode: a call that comes after the run answered is neither decided nor run", async () => {
    const pinged: unknown[] = [];
    // a pool whose run answers, and whose host call comes after (a call the parent reads late)
    const answering: SandboxPool = {
      run: async (_code, _limits, host) => {
        setTimeout(() => void host.ping!([1]).catch(() => undefined), 0);
        return { value: 1, stdout: "" };
      },
      workers: 0,
      close: async () => undefined,
    };
    const enforcer = await createEnforcer({ policy: { fileName: "p.armor", source: 'policy p version "1"\ndefault allow\n' }, throwOnDeny: false });
    try {
      const r = await runCode(enforcer, { language: "javascript", code: "ping(1); return 1" }, { session: "s" }, { pool: answering, host: { ping: { run: (a) => pinged.push(a) } } });
      expect(r.result).toEqual({ value: 1, stdout: "" });
      await settle(150);
      expect(pinged).toEqual([]);
    } finally {
      await enforcer.close();
    }
  });
});
