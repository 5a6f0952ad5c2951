/**
 * Code that runs out of memory inside a promise's reaction. A job that grows the WebAssembly
 * memory used to leave a stray context behind (quickjs-emscripten 0.32 reads the job's context
 * through a view the growth detaches, and makes a new context for the `undefined` it reads), and
 * QuickJS aborted freeing the runtime: the module died and was loaded again. Now the stray is
 * freed: each run fails as `memory`, the module stays loaded, and the worker stays healthy.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { createSandboxPool, engineLoads, runCode, runJavaScript, SandboxFailure, type SandboxFailureKind } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

// megabyte buffers: the heap reaches its limit in a few dozen steps, and the WebAssembly memory grows
const BOMB = "const a = []; for (;;) a.push(new ArrayBuffer(1 << 20))";
const OOM_IN_JOBS = [
  { name: "in a then reaction, awaited", code: `await Promise.resolve().then(() => { ${BOMB} })` },
  { name: "after an await in an async function", code: `const f = async () => { await null; ${BOMB} }; await f()` },
  { name: "in a reaction nothing awaits", code: `Promise.resolve().then(() => { ${BOMB} }); await null; await null; return 1` },
  { name: "in a reaction that catches its failure and goes on", code: `await Promise.resolve().then(() => { const a = []; try { for (;;) a.push({ x: a.length }) } catch { for (;;) a.push(1) } })` },
];
// generous time: each run ends on its heap limit long before, even on a loaded machine (growing
// the WebAssembly memory the first time is slow there: seconds)
const limits = { timeMs: 120_000, memoryBytes: 1 << 20, stackBytes: 1 << 18, outputChars: 1_000, hostCalls: 1 };

// the WebAssembly memory never shrinks: each case here takes a larger heap than the last, so that
// its bomb grows the memory again inside a reaction, whatever ran before it
let heap = 16 << 20;

describe("running out of memory inside a promise's reaction, in this thread", () => {
  it.each(OOM_IN_JOBS)("$name: fails as memory (or answers), and the module is never loaded again", { timeout: 300_000 }, async ({ code }) => {
    heap += 32 << 20;
    const big = { ...limits, memoryBytes: heap };
    await runJavaScript("return 0", { limits: big, host: {} });
    const loads = engineLoads();
    const r = await runJavaScript(code, { limits: big, host: {} }).then(
      (ok) => ok.value,
      (e: unknown) => e,
    );
    // a reaction nothing awaits fails alone; the run answers its own value
    if (r !== 1) expect(r).toMatchObject({ kind: "memory", message: `the code used more than ${heap} bytes of memory` });
    expect((await runJavaScript("return 7", { limits: big, host: {} })).value).toBe(7);
    expect(engineLoads()).toBe(loads);
  });
});

const POLICY = `policy oom version "1"
default allow
`;

const pool = createSandboxPool({ size: 1 });
afterAll(() => pool.close());

// a small heap, so that 200 runs take seconds (the cases above are the ones that grow the
// WebAssembly memory inside a reaction, which is slow on a loaded machine)
describe("200 runs in a row that run out of memory in a reaction, through runCode", () => {
  it("each a memory failure with its audit record; the worker's memory back to where it was; later runs fine", { timeout: 600_000 }, async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-oom-jobs-")), "audit.jsonl");
    const enforcer = await createEnforcer({ policy: { fileName: "oom.armor", source: POLICY }, audit: { file } });
    const runs = async (n: number): Promise<SandboxFailureKind[]> => {
      const kinds: SandboxFailureKind[] = [];
      for (let i = 0; i < n; i++) {
        const { code } = OOM_IN_JOBS[i % 2] as { code: string };
        const failed = await runCode(enforcer, { language: "javascript", code }, { session: "oom" }, { pool, limits }).catch((e: unknown) => e);
        expect(failed).toBeInstanceOf(SandboxFailure);
        kinds.push((failed as SandboxFailure).kind);
      }
      return kinds;
    };
    await runs(10);
    const before = process.memoryUsage().rss;
    const kinds = await runs(200);
    const grown = process.memoryUsage().rss - before;
    expect(new Set(kinds)).toEqual(new Set(["memory"]));
    // the worker was kept: a module that aborted would be discarded and one loaded again (megabytes a time)
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    expect(pool.workers).toBe(1);
    const later = await runCode(enforcer, { language: "javascript", code: "return [1, 2, 3].map((x) => x * 2)" }, { session: "oom" }, { pool, limits });
    expect(later.result).toEqual({ value: [2, 4, 6], stdout: "" });
    await enforcer.close();

    const records = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; outcome?: string; error?: string });
    const errors = records.filter((r) => r.outcome === "error");
    expect(errors).toHaveLength(210);
    expect(errors.every((r) => JSON.stringify(r).includes(`used more than ${limits.memoryBytes} bytes`))).toBe(true);
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });
});
