/**
 * Hostile JavaScript that tries to outlast the sandbox's limits through its job queue: endless
 * promise chains. A chain whose every link stays reachable grows the guest heap until QuickJS
 * cannot allocate inside a reaction (it then rejects the chain with `null`, or drops it, and
 * frees it); a queue that only ever holds one job (a thenable resolving to itself too) grows nothing and runs until the deadline. Each
 * ends in the limit it reached, named, never in an exception "without an error object" nor in a
 * promise "that nothing can settle".
 */

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { createSandboxPool, runCode, SandboxFailure, type SandboxFailureKind } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

const pool = createSandboxPool({ size: 1 });
afterAll(() => pool.close());

// the chains that grow get time enough to reach the heap limit on a loaded machine; the one that
// does not grow gets a short deadline
const growing = { timeMs: 30_000, memoryBytes: 1024 * 1024 };
const flat = { timeMs: 300, memoryBytes: 1024 * 1024 };

const chains: { name: string; code: string; limits: { timeMs: number; memoryBytes: number }; kind: SandboxFailureKind; message: RegExp }[] = [
  { name: "a then chain, awaited", code: "function f() { return Promise.resolve().then(f) } await f()", limits: growing, kind: "memory", message: /used more than 1048576 bytes/ },
  {
    name: "a then chain, not awaited",
    code: "function f() { return Promise.resolve().then(f) } f(); await new Promise(() => {})",
    limits: growing,
    kind: "memory",
    message: /used more than 1048576 bytes/,
  },
  { name: "an async function awaiting itself", code: "const f = async () => { await null; return f() }; await f()", limits: growing, kind: "memory", message: /used more than 1048576 bytes/ },
  { name: "a thenable that resolves to itself", code: "const t = { then(r) { r(t) } }; await t", limits: flat, kind: "timeout", message: /ran longer than 300 ms/ },
  {
    name: "one job that queues the next, forever",
    code: "function f() { Promise.resolve().then(f) } f(); await new Promise(() => {})",
    limits: flat,
    kind: "timeout",
    message: /ran longer than 300 ms/,
  },
];

describe("endless promise chains end in the limit they reach", () => {
  it.each(chains)("$name: $kind", { timeout: 120_000 }, async ({ code, limits, kind, message }) => {
    const direct = await pool.run(code, { ...limits, stackBytes: 256 * 1024, outputChars: 10_000, hostCalls: 5 }, {}).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(SandboxFailure);
    expect((direct as SandboxFailure).kind).toBe(kind);
    expect((direct as SandboxFailure).message).toMatch(message);
    expect((direct as SandboxFailure).message).not.toMatch(/without an error object|nothing can settle/);
  });

  it("fails the run under the policy, audited, naming the limit", { timeout: 120_000 }, async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-escape-")), "audit.jsonl");
    const enforcer = await createEnforcer({ policy: { fileName: "p.armor", source: 'policy p version "1"\ndefault allow\n' }, audit: { file } });
    const err = await runCode(enforcer, { language: "javascript", code: chains[0]!.code }, { session: "s" }, { pool, limits: growing }).catch((e: unknown) => e);
    // a policy without rules on results: the run rejects with the sandbox's failure itself
    expect(err).toBeInstanceOf(SandboxFailure);
    expect((err as SandboxFailure).kind).toBe("memory");
    await enforcer.close();
    const kinds = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => {
        const r = JSON.parse(l) as { kind: string; decision?: string; outcome?: string };
        return `${r.kind} ${r.decision ?? r.outcome ?? ""}`;
      });
    expect(kinds).toEqual(["decision allow", "outcome error"]);
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });
});
