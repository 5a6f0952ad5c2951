/**
 * Agent-written code that attacks the sandbox: endless loops, memory and recursion bombs, floods
 * of output and host calls, reaching for the host (process, require, modules, the file system,
 * the network), prototype tricks through the data that crosses the boundary. Each ends in a
 * clear error naming its cause (or a denial), with its records in an audit log that verifies,
 * and the host stays healthy: its prototypes untouched, its workers replaced, its memory back
 * near where it was after 1,000 runs.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer, type Enforcer, ToolFailed, verifyAuditLogFile } from "@agent-armor/runtime";
import { createSandboxPool, runCode, SandboxFailure, type SandboxFailureKind } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

const POLICY = `policy hostile_code version "1"
default allow
rule no_secrets_out on result
  when action.type == "run_code"
  redact result.stdout matching std.card_number with "[CARD]"
`;

const pool = createSandboxPool({ size: 1 });
afterAll(() => pool.close());

const limits = { timeMs: 300, memoryBytes: 4 * 1024 * 1024, outputChars: 10_000, hostCalls: 5 };

async function enforcerWith(): Promise<{ enforcer: Enforcer; file: string }> {
  const file = join(mkdtempSync(join(tmpdir(), "armor-sandbox-hostile-")), "audit.jsonl");
  return { enforcer: await createEnforcer({ policy: { fileName: "hostile.armor", source: POLICY }, audit: { file } }), file };
}

const kinds = (file: string) =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { kind: string; decision?: string; outcome?: string })
    .map((r) => `${r.kind} ${r.decision ?? r.outcome}`);

// the memory bombs get time enough to reach the heap limit on a loaded machine
const slow = { timeMs: 10_000 };
const failures: { name: string; code: string; kind: SandboxFailureKind; message: RegExp; more?: { timeMs: number } }[] = [
  { name: "an endless loop", code: "for (;;) {}", kind: "timeout", message: /ran longer than 300 ms/ },
  { name: "an endless loop that catches everything", code: "for (;;) { try { for (;;) {} } catch {} }", kind: "timeout", message: /ran longer than 300 ms/ },
  { name: "a promise that never settles", code: "await new Promise(() => {})", kind: "exception", message: /waits for a promise that nothing can settle/ },
  { name: "a memory bomb", code: "const a = []; for (;;) a.push({ x: 'y'.repeat(64) + a.length })", kind: "memory", message: /more than 4194304 bytes/, more: slow },
  {
    name: "a memory bomb that catches its failure",
    code: "const a = []; try { for (;;) a.push({ x: a.length }) } catch { for (;;) a.push(1) }",
    kind: "memory",
    message: /more than 4194304 bytes/,
    more: slow,
  },
  { name: "a string doubling bomb", code: "let s = 'x'; for (;;) s += s", kind: "exception", message: /string too long|out of memory|InternalError/ },
  { name: "a recursion bomb", code: "const f = (n) => f(n + 1) + 1; return f(0)", kind: "stack", message: /recursed deeper/ },
  { name: "a flood of output", code: "for (;;) console.log('x'.repeat(1000))", kind: "output", message: /printed more than 10000 characters/ },
  { name: "a huge return value", code: "return 'x'.repeat(20000)", kind: "output", message: /returned more than 10000 characters/ },
  { name: "a flood of host calls", code: "for (;;) await echo({})", kind: "host_calls", message: /more than 5 times/ },
  { name: "process", code: "return process.env", kind: "exception", message: /ReferenceError: 'process' is not defined/ },
  { name: "require", code: "return require('fs').readFileSync('/etc/passwd', 'utf8')", kind: "exception", message: /ReferenceError: 'require' is not defined/ },
  { name: "import() of a Node module", code: "const fs = await import('fs'); return fs.readFileSync('/etc/passwd', 'utf8')", kind: "exception", message: /could not load module 'fs'/ },
  { name: "QuickJS's own std and os modules", code: "const os = await import('os'); return os.exec(['id'])", kind: "exception", message: /could not load module 'os'/ },
  { name: "a static import", code: "import fs from 'fs'", kind: "syntax", message: /SyntaxError/ },
  { name: "the network", code: "return await fetch('https://example.com')", kind: "exception", message: /ReferenceError: 'fetch' is not defined/ },
  { name: "sockets and timers", code: "return [typeof WebSocket, typeof setTimeout, typeof XMLHttpRequest].join()", kind: "exception", message: /never/ },
  {
    name: "the host's global through a constructor",
    code: "const g = ({}).constructor.constructor('return this')(); return g.process.mainModule",
    kind: "exception",
    message: /TypeError: cannot read property 'mainModule' of undefined/,
  },
];
// `typeof` of an absent global is "undefined", not an error: that case returns a value
const typeofCase = failures.find((c) => c.name === "sockets and timers")!;
failures.splice(failures.indexOf(typeofCase), 1);

describe("hostile code ends in a clear failure, audited", () => {
  it.each(failures)("$name: $kind", async ({ code, kind, message, more }) => {
    const { enforcer, file } = await enforcerWith();
    const host = { echo: { run: (a: Record<string, unknown>) => a } };
    const err = await runCode(enforcer, { language: "javascript", code }, { session: "hostile" }, { pool, limits: { ...limits, ...more }, host }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolFailed);
    expect((err as Error).message).toMatch(message);
    const cause = (err as ToolFailed).resultDecision.result as { error?: string };
    expect(cause.error).toMatch(message);
    await enforcer.close();
    expect(
      kinds(file)
        .filter((k) => !k.startsWith("decision") || k === "decision allow")
        .slice(0, 1),
    ).toEqual(["decision allow"]);
    expect(kinds(file)).toContain("outcome error");
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
    // the failure's kind, straight from the pool
    const direct = await pool.run(code, { ...limits, stackBytes: 256 * 1024, ...more }, { echo: async () => ({}) }).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(SandboxFailure);
    expect((direct as SandboxFailure).kind).toBe(kind);
  });

  it("sees no sockets, timers or requests", async () => {
    const r = await pool.run(
      "return [typeof WebSocket, typeof setTimeout, typeof XMLHttpRequest, typeof process, typeof require].join()",
      { timeMs: 300, memoryBytes: 1 << 24, stackBytes: 1 << 18, outputChars: 1000, hostCalls: 1 },
      {},
    );
    expect(r.value).toBe("undefined,undefined,undefined,undefined,undefined");
  });

  it("a built-in that runs long without an interrupt check is stopped by terminating its worker", async () => {
    const before = pool.workers;
    const err = await pool
      .run("const a = []; for (;;) a.push('y'.repeat(100000) + a.length)", { timeMs: 200, memoryBytes: 4 << 20, stackBytes: 1 << 18, outputChars: 1000, hostCalls: 1 }, {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxFailure);
    expect(["timeout", "memory"]).toContain((err as SandboxFailure).kind);
    expect(pool.workers).toBeLessThanOrEqual(Math.max(before, 1));
    expect((await pool.run("return 7", { timeMs: 1000, memoryBytes: 1 << 24, stackBytes: 1 << 18, outputChars: 100, hostCalls: 1 }, {})).value).toBe(7);
  });
});

describe("data that crosses the boundary", () => {
  it("is copied as JSON: prototype keys are plain fields, and the host's prototypes stay untouched", async () => {
    const { enforcer } = await enforcerWith();
    const seen: unknown[] = [];
    const host = {
      lookup: {
        run: (a: Record<string, unknown>) => {
          seen.push(a);
          return JSON.parse('{"__proto__": {"admin": true}, "constructor": {"prototype": {"polluted": true}}, "name": "x"}');
        },
      },
    };
    const code = `
      const arg = JSON.parse('{"__proto__": {"isAdmin": true}, "id": 1}');
      const r = await lookup(arg);
      r.__proto__.polluted = true;
      Object.prototype.pwned = true;
      return { admin: ({}).admin === true, name: r.name, own: Object.keys(r) }`;
    const { result } = await runCode(enforcer, { language: "javascript", code }, { session: "proto" }, { pool, limits, host });
    await enforcer.close();
    expect(result?.value).toEqual({ admin: false, name: "x", own: ["__proto__", "constructor", "name"] });
    expect(seen).toHaveLength(1);
    expect(Object.hasOwn(seen[0] as object, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).pwned).toBeUndefined();
  });
});

describe("host calls' arguments", () => {
  it("longer than outputChars as JSON: the call fails in the guest and the host function never runs", async () => {
    let ran = 0;
    const host = {
      sink: () => {
        ran++;
        return "ok";
      },
    };
    const r = await pool.run(`try { await sink("x".repeat(20000)); return "called" } catch (e) { return String(e.message) }`, { ...limits, timeMs: 2_000, stackBytes: 1 << 18 }, host);
    expect(r.value).toMatch(/arguments of `sink` are longer than 10000 characters/);
    expect(ran).toBe(0);
    expect((await pool.run(`return await sink("small")`, { ...limits, timeMs: 2_000, stackBytes: 1 << 18 }, host)).value).toBe("ok");
  });
});

describe("many runs at once", () => {
  it("start no more workers than the pool's max; runs that wait past their time limit fail with timeout", async () => {
    const capped = createSandboxPool({ size: 1, max: 2 });
    let peak = 0;
    const watch = setInterval(() => {
      peak = Math.max(peak, capped.workers);
    }, 5);
    try {
      const hang = { wait: () => new Promise(() => undefined) };
      const runs = Array.from({ length: 12 }, () => capped.run("await wait(); return 1", { ...limits, timeMs: 300, stackBytes: 1 << 18 }, hang).catch((e: unknown) => e));
      const out = (await Promise.all(runs)) as SandboxFailure[];
      expect(out.every((e) => e instanceof SandboxFailure && e.kind === "timeout")).toBe(true);
      expect(out.filter((e) => /waited for a free worker longer than 300 ms/.test(e.message)).length).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(2);
    } finally {
      clearInterval(watch);
      await capped.close();
    }
  });
});

describe("the host after many runs", () => {
  it("keeps its memory near where it was after 1,000 runs, failures among them", { timeout: 300_000 }, async () => {
    const quick = { timeMs: 1000, memoryBytes: 4 << 20, stackBytes: 1 << 18, outputChars: 1000, hostCalls: 2 };
    const failing = ["const a = []; for (;;) a.push({ x: a.length })", "return (", "throw new Error('no')", "const f = () => f(); f()"];
    const runs = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const code = i % 10 === 0 ? (failing[(i / 10) % failing.length] as string) : `const o = { i: ${i}, s: 'y'.repeat(1000) }; return o.i`;
        await pool.run(code, quick, {}).catch((e: unknown) => {
          if (!(e instanceof SandboxFailure)) throw e;
        });
      }
    };
    await runs(100);
    const before = process.memoryUsage().rss;
    await runs(1000);
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    expect(pool.workers).toBeLessThanOrEqual(1);
  });
});
