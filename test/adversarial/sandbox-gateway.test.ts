/**
 * Hostile requests to the built-in `run_code` tool of `armor mcp --run-code`, behind a policy
 * that allows every run (the weakest the gateway can be given): code that floods its output,
 * never ends, asks for huge memory, calls host functions in a loop, reaches for prototypes of the
 * host functions it is given; arguments with prototype keys, of the wrong types, a huge string,
 * a language that is not enabled. Each ends in a tool error the client can read, naming why, with
 * an audit record of its decision; the gateway stays healthy and answers the next call; the log
 * verifies.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armorcBin, assertBuilt, type Connected, connectGateway, fixtures, repoRoot, textOf } from "../gateway/support.js";

const upstream = [process.execPath, join(fixtures, "run-code-upstream.mjs")];
let gw: Connected;
let audit: string;

const decisions = (): { action?: { type?: string; error?: string | null } }[] =>
  (existsSync(audit) ? readFileSync(audit, "utf8") : "")
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { kind: string; action?: { type?: string } })
    .filter((r) => r.kind === "decision" && r.action?.type === "run_code");

beforeAll(async () => {
  assertBuilt();
  audit = join(mkdtempSync(join(tmpdir(), "armor-adv-sandbox-gw-")), "audit.jsonl");
  gw = await connectGateway([
    "--policy",
    join(fixtures, "allow-all.armor"),
    "--audit",
    audit,
    "--run-code",
    "js",
    "--run-code-time",
    "2000",
    "--run-code-memory",
    "16",
    "--run-code-output",
    "4096",
    "--run-code-host-calls",
    "5",
    "--run-code-tools",
    "lookup",
    "--",
    ...upstream,
  ]);
  // a first run, so that no case below pays for starting the sandbox's workers
  await gw.client.callTool({ name: "run_code", arguments: js("return 1") });
});
afterAll(() => gw?.close());

const js = (code: string) => ({ language: "javascript", code });

// [what, the tool's arguments (as the client sends them), the error text the client reads, the `error` the decided action carries (null: its facts were read)]
const cases: [string, unknown, RegExp, RegExp | null][] = [
  ["output that floods", js('for (;;) console.log("x".repeat(1000))'), /^the run failed \(output\): the code printed more than 4096 characters/, null],
  ["a value larger than the output limit", js('return "y".repeat(100000)'), /^the run failed \(output\): the code returned more than 4096 characters of JSON/, null],
  ["a loop that never ends", js("for (;;) {}"), /^the run failed \(timeout\): the code ran longer than 2000 ms/, null],
  ["a loop that never ends in a promise chain", js("const f = () => Promise.resolve().then(f); await f()"), /^the run failed \((timeout|memory)\): (the code ran longer|the code used more)/, null],
  ["huge memory", js("const a = []; for (;;) a.push(new Array(1e5).fill(a.length))"), /^the run failed \((memory|timeout)\)/, null],
  ["one huge allocation", js('return "z".repeat(2 ** 28).length'), /^the run failed \((memory|exception|timeout)\)/, null],
  ["host functions called in a loop", js('for (;;) await lookup({ key: "a" })'), /^the run failed \(host_calls\): the code called host functions more than 5 times/, null],
  ["a host function's prototype chain", js('return lookup.__proto__.constructor("return process")()'), /^the run failed \(exception\)/, null],
  [
    "a host function's constructor by a computed name (the guest's own AsyncFunction: no process there)",
    js('const k = "constr" + "uctor"; if ((await lookup[k]("return typeof process")()) !== "undefined") return "escaped"; throw new Error("no process here")'),
    /^the run failed \(exception\): .*no process here/,
    null,
  ],
  ["a recursion bomb", js("const f = () => f(); f()"), /^the run failed \((stack|exception)\)/, null],
  ["a language that is not enabled", { language: "python", code: "1" }, /the request cannot run: `language` "python" is not run here; the languages enabled are "javascript"/, /not run here/],
  ["a language that is a prototype name", { language: "constructor", code: "1" }, /`language` "constructor" is not run here/, /not run here/],
  ["a language that is not a string", { language: ["javascript"], code: "1" }, /`language` must be a string/, /must be a string/],
  ["code that is not a string", { language: "javascript", code: { toString: "return 1" } }, /`code` must be a string/, /must be a string/],
  ["an own __proto__ argument", JSON.parse('{"__proto__": {"language": "javascript", "code": "return 1"}}'), /the request cannot run: (unknown argument "__proto__"|`language` must be a string)/, /./],
  ["an argument beside language and code", { ...js("return 1"), limits: { timeMs: 1e9 } }, /unknown argument "limits": run_code takes `language` and `code`/, /unknown argument/],
  ["code of more than 65,536 characters", js(`//${"a".repeat(65_535)}`), /`code` is 65537 characters long; at most 65536 are run/, /characters long/],
  ["no arguments at all", undefined, /the request cannot run: (the arguments must be an object|`language` must be a string)/, /./],
];

describe("armor mcp --run-code under hostile requests", () => {
  it.each(cases)("%s: a tool error naming why, an audit record, and the next call answered", async (_what, args, text, actionError) => {
    const before = decisions().length;
    const r = await gw.client.callTool({ name: "run_code", arguments: args as Record<string, unknown> | undefined });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(text);
    // never a stack trace
    expect(textOf(r)).not.toMatch(/\n\s+at /);
    const after = decisions();
    expect(after.length).toBe(before + 1);
    const decided = after[after.length - 1]!.action!;
    if (actionError === null) expect(decided.error).toBeNull();
    else expect(String(decided.error)).toMatch(actionError);
    const next = await gw.client.callTool({ name: "run_code", arguments: js("return 6 * 7") });
    expect(next.structuredContent).toEqual({ value: 42, stdout: "" });
  });

  it("leaves a log that verifies", () => {
    const v = spawnSync(process.execPath, [armorcBin, "audit", "verify", audit], { cwd: repoRoot, encoding: "utf8", timeout: 30_000 });
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });
});
