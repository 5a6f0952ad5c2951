/**
 * Runtimes made ahead of their run (a warm worker makes the next one while it waits): each is as
 * clean as one made when the run starts, takes the run's limits when the run starts, and serves
 * one run only.
 */
import { createSandboxPool, discardPrepared, limitsOf, prepareJavaScript, runJavaScript, SandboxFailure } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

const limits = limitsOf({ timeMs: 1_000, memoryBytes: 4 * 1024 * 1024, outputChars: 10_000, hostCalls: 3 });
const fail = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => (e instanceof SandboxFailure ? e.kind : `not a SandboxFailure: ${String(e)}`),
  );

describe("a prepared runtime", () => {
  // each case: what the code does, in a runtime made before the run knew its limits or host functions
  const limited = [
    { name: "the time limit", code: "for (;;) {}", limits: { timeMs: 100 }, kind: "timeout" },
    // a memory bomb gets time enough to reach the heap limit on a loaded machine
    { name: "the heap limit", code: "const a = []; for (;;) a.push({ x: 'y'.repeat(64) + a.length })", limits: { timeMs: 10_000 }, kind: "memory" },
    { name: "the stack limit", code: "const f = (n) => f(n + 1) + 1; return f(0)", limits: { stackBytes: 64 * 1024 }, kind: "stack" },
    { name: "the output limit", code: "for (;;) console.log('x'.repeat(1000))", limits: {}, kind: "output" },
    { name: "the host-call limit", code: "for (;;) await echo(1)", limits: {}, kind: "host_calls" },
  ];
  it.each(limited)("keeps $name, set when the run starts", async ({ code, limits: more, kind }) => {
    const prepared = await prepareJavaScript();
    const host = { echo: async (args: unknown[]) => args[0] };
    expect(await fail(runJavaScript(code, { limits: { ...limits, ...more }, host }, prepared))).toBe(kind);
    expect(prepared.usable).toBe(false);
  });

  const clean = [
    { name: "the host's bindings", code: "return [typeof __armor_define, typeof __armor_host, typeof __armor_print]", value: ["undefined", "undefined", "undefined"] },
    { name: "the run's host functions only", code: "return [typeof echo, typeof other]", value: ["function", "undefined"] },
    { name: "a console that prints", code: "console.log('hi', { a: 1 }); return 1", value: 1, stdout: 'hi {"a":1}\n' },
  ];
  it.each(clean)("has $name", async ({ code, value, stdout }) => {
    const prepared = await prepareJavaScript();
    const r = await runJavaScript(code, { limits, host: { echo: async () => null } }, prepared);
    expect(r.value).toEqual(value);
    if (stdout !== undefined) expect(r.stdout).toBe(stdout);
  });

  it("serves one run: a second run given it makes its own", async () => {
    const prepared = await prepareJavaScript();
    await runJavaScript("globalThis.leak = 41; return 1", { limits, host: {} }, prepared);
    expect(prepared.usable).toBe(false);
    const again = await runJavaScript("return typeof leak", { limits, host: {} }, prepared);
    expect(again.value).toBe("undefined");
  });

  it("answers a host call on the run's deadline, not on one from when it was made", async () => {
    const prepared = await prepareJavaScript();
    await new Promise((r) => setTimeout(r, 150));
    const r = await runJavaScript("return await echo(7)", { limits: { ...limits, timeMs: 100 }, host: { echo: async (args) => args[0] } }, prepared);
    expect(r.value).toBe(7);
  });

  it("can be discarded unused", async () => {
    const prepared = await prepareJavaScript();
    discardPrepared(prepared);
    expect(prepared.usable).toBe(false);
  });
});

describe("a warm worker's runs", () => {
  const pool = createSandboxPool({ size: 1, max: 1 });
  afterAll(() => pool.close());
  it("share nothing: each run starts in a runtime nothing ran in", async () => {
    const seen: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await pool.run(
        "const before = typeof globalThis.mark; globalThis.mark = 1; Object.prototype.polluted = 1; return [before, typeof ({}).polluted === 'number' ? 'once' : 'never']",
        limits,
        {},
      );
      seen.push(r.value);
    }
    expect(seen).toEqual(Array(4).fill(["undefined", "once"]));
  });
});
