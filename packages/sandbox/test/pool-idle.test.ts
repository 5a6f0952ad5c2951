/**
 * A pool is idle once no run is going on and every warm worker has made its next run's runtime
 * (`idle()`, what measurements wait for); runs back to back still each get a clean runtime; and
 * `runCode` tells the time of its steps when asked (`onTimings`), whatever the run's outcome.
 */
import { createEnforcer } from "@agent-armor/runtime";
import { createSandboxPool, limitsOf, type RunCodeTimings, runCode } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

const pool = createSandboxPool({ size: 2 });
afterAll(() => pool.close());
const limits = limitsOf({ timeMs: 10_000 });

/** Whether `p` has settled once the event loop has turned a few times. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(() => {
    settled = true;
  });
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return settled;
}

describe("a pool's idle()", () => {
  it("resolves once the warm workers are ready, and not while a run is going on", async () => {
    await pool.idle!();
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let called!: () => void;
    const calledNow = new Promise<void>((r) => {
      called = r;
    });
    const running = pool.run("return await hold()", limits, {
      hold: async () => {
        called();
        await held;
        return 7;
      },
    });
    await calledNow;
    const idle = pool.idle!();
    expect(await settledSoon(idle)).toBe(false);
    release();
    expect((await running).value).toBe(7);
    await idle;
  });

  it("gives every run of many back to back a clean runtime", async () => {
    const values: unknown[] = [];
    for (let i = 0; i < 12; i++) values.push((await pool.run(`const seen = typeof globalThis.mark; globalThis.mark = ${i}; return seen`, limits, {})).value);
    expect(values).toEqual(Array(12).fill("undefined"));
    await pool.idle!();
  });

  it("resolves on a closed pool", async () => {
    const closing = createSandboxPool({ size: 1 });
    await closing.close();
    await closing.idle!();
  });
});

describe("runCode's onTimings", () => {
  const POLICY = `policy timed version "1"
default allow
rule no_processes
  when action.type == "run_code" and "child_process" in imports
  deny because "no processes"
`;
  const cases = [
    { name: "a run", code: "return 1", ran: true },
    { name: "a denied run", code: 'require("child_process"); return 1', ran: false },
    { name: "a run that throws", code: "throw new Error('x')", ran: true },
  ];
  it.each(cases)("tells each step of $name, the sandbox's only when it ran", async ({ code, ran }) => {
    const enforcer = await createEnforcer({ policy: { fileName: "t.armor", source: POLICY }, throwOnDeny: false });
    const told: RunCodeTimings[] = [];
    await runCode(enforcer, { language: "javascript", code }, { session: "t" }, { pool, limits, onTimings: (t) => told.push(t) }).catch(() => undefined);
    expect(told).toHaveLength(1);
    const t = told[0]!;
    for (const k of ["facts", "decide", "sandbox", "after", "total"] as const) expect(t[k]).toBeGreaterThanOrEqual(0);
    expect(t.facts + t.decide + t.sandbox + t.after).toBeCloseTo(t.total, 6);
    expect(t.sandbox > 0).toBe(ran);
    await enforcer.close();
  });

  it("leaves the run's outcome as it is when the listener throws", async () => {
    const enforcer = await createEnforcer({ policy: { fileName: "t.armor", source: POLICY } });
    const r = await runCode(
      enforcer,
      { language: "javascript", code: "return 41 + 1" },
      { session: "t" },
      {
        pool,
        limits,
        onTimings: () => {
          throw new Error("listener");
        },
      },
    );
    expect(r.result?.value).toBe(42);
    await enforcer.close();
  });
});
