/**
 * Code whose facts cannot be read completely never runs. A policy with no rule on `dynamic` or
 * `error` (here: `default allow` and nothing else) would otherwise allow code whose imports,
 * calls and hosts it never saw: code longer than the facts' reader takes, or nested deeper than
 * it can walk. Each is still decided and audited (the action's `error` says why its facts are
 * empty), and the run fails, `unread` (or `syntax` for code that does not parse), naming the
 * limit; the code's first statement, a host call, never happens.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { createPythonPool, createSandboxPool, runCode, SandboxFailure, type SandboxFailureKind, type SandboxLimits } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

const POLICY = `policy sees_nothing_special version "1"
default allow
`;

const pool = createSandboxPool({ size: 1 });
const pythonPool = createPythonPool({ size: 1 });
afterAll(() => Promise.all([pool.close(), pythonPool.close()]));

const JS_PING = "await ping({});\n";
const PY_PING = "await ping()\n";
const cases: { name: string; language: "javascript" | "python"; code: string; limits?: Partial<SandboxLimits>; kind: SandboxFailureKind; message: RegExp }[] = [
  {
    name: "JavaScript longer than the default codeChars (65,536)",
    language: "javascript",
    code: `${JS_PING}//${"x".repeat(65_536)}`,
    kind: "unread",
    message: /its facts could not be read \(the code is longer than 65536 characters \(the sandbox's `codeChars` limit\)\)/,
  },
  {
    name: "JavaScript longer than a codeChars set lower",
    language: "javascript",
    code: `${JS_PING}// ${"y".repeat(200)}`,
    limits: { codeChars: 100 },
    kind: "unread",
    message: /longer than 100 characters \(the sandbox's `codeChars` limit\)/,
  },
  {
    name: "JavaScript longer than its facts' reader takes, under a codeChars set higher",
    language: "javascript",
    code: `${JS_PING}//${"x".repeat(70_000)}`,
    limits: { codeChars: 1_000_000 },
    kind: "unread",
    message: /the code is longer than 65536 characters\)/,
  },
  { name: "JavaScript nested deeper than its facts' reader walks", language: "javascript", code: `${JS_PING}return a${".b".repeat(30_000)}`, kind: "unread", message: /nested too deeply to read/ },
  {
    name: "JavaScript nested deeper than its facts' parser goes",
    language: "javascript",
    code: `${JS_PING}return ${"(".repeat(20_000)}1${")".repeat(20_000)}`,
    kind: "unread",
    message: /nested too deeply to read/,
  },
  { name: "JavaScript that does not parse", language: "javascript", code: `${JS_PING}return (`, kind: "syntax", message: /^SyntaxError: .*\(the code does not parse; it was not run\)/ },
  {
    name: "Python longer than the default codeChars",
    language: "python",
    code: `${PY_PING}#${"x".repeat(65_536)}`,
    kind: "unread",
    message: /longer than 65536 characters \(the sandbox's `codeChars` limit\)/,
  },
  {
    name: "Python longer than its facts' reader takes, under a codeChars set higher",
    language: "python",
    code: `${PY_PING}#${"x".repeat(1_000_000)}`,
    limits: { codeChars: 2_000_000 },
    kind: "unread",
    message: /the code is longer than 1000000 characters\)/,
  },
  {
    name: "Python nested deeper than its parser goes",
    language: "python",
    code: `${PY_PING}a${".b".repeat(100_000)}`,
    limits: { codeChars: 1_000_000 },
    kind: "unread",
    message: /nested too deeply|facts could not be read/,
  },
  { name: "Python that does not parse", language: "python", code: `${PY_PING}def (:`, kind: "syntax", message: /^SyntaxError: .*\(line 2\) \(the code does not parse; it was not run\)/ },
];

describe("code whose facts cannot be read, under a policy that allows everything", () => {
  it.each(cases)("$name: decided, audited, never run ($kind)", { timeout: 120_000 }, async ({ language, code, limits, kind, message }) => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-unread-")), "audit.jsonl");
    const enforcer = await createEnforcer({ policy: { fileName: "allow.armor", source: POLICY }, audit: { file } });
    const pinged: unknown[] = [];
    const host = { ping: { run: (a: unknown) => pinged.push(a) } };
    const failures: SandboxFailureKind[] = [];
    const err = await runCode(enforcer, { language, code }, { session: "unread" }, { pool, pythonPool, host, limits: { timeMs: 60_000, ...limits }, onFailure: (f) => failures.push(f.kind) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SandboxFailure);
    expect(err).toMatchObject({ kind, message: expect.stringMatching(message) });
    expect(failures).toEqual([kind]);
    expect(pinged).toEqual([]);
    await enforcer.close();
    const records = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; decision?: string; outcome?: string; action?: { type?: string; dynamic?: boolean; error?: unknown } });
    // the run's decision (allowed: the policy has no rule against it), with why its facts are empty; then its failure
    expect(records.filter((r) => r.action?.type === "ping")).toEqual([]);
    const decision = records.find((r) => r.kind === "decision");
    expect(decision).toMatchObject({ decision: "allow", action: { type: "run_code", dynamic: true, error: expect.any(String) } });
    expect(records.some((r) => r.outcome === "error")).toBe(true);
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });

  it("code whose facts are read runs as before", async () => {
    const enforcer = await createEnforcer({ policy: { fileName: "allow.armor", source: POLICY } });
    const pinged: unknown[] = [];
    const host = { ping: { run: (a: unknown) => pinged.push(a) } };
    const { result } = await runCode(enforcer, { language: "javascript", code: `${JS_PING}return 2` }, { session: "read" }, { pool, host, limits: { codeChars: 100 } });
    expect(result).toEqual({ value: 2, stdout: "" });
    expect(pinged).toEqual([{ type: "ping" }]);
    await enforcer.close();
  });
});
