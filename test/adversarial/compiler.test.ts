/**
 * Hostile policy sources: deep nesting, huge tokens, binary garbage. Each stage of the front end
 * (compileSource, compileTests, the formatter), the armorc binary and the runtime's on-load
 * compilation answer with diagnostics: never an exception, never armorc's internal-error exit
 * code 70, never a RangeError from createEnforcer (docs/language.md §3.8).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSource, compileTests } from "../../packages/compiler/src/compile.js";
import { formatSource } from "../../packages/compiler/src/format/format.js";
import { createEnforcer, PolicyLoadError } from "../../packages/runtime/src/index.js";
import { repoRoot } from "../support/baseline.js";

const noFiles = { readFile: () => undefined };
const deep = (open: string, inner: string, close: string, n: number): string => `${open.repeat(n)}${inner}${close.repeat(n)}`;

function garbage(n: number): string {
  let x = 99;
  let s = "";
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(x % 256);
  }
  return s;
}

/** Hostile policies and the error codes each must produce (and nothing thrown). */
const POLICIES: { name: string; text: string; codes: string[] }[] = [
  { name: "300 nested parentheses", text: `rule r when ${deep("(", "amount > 1", ")", 300)} deny`, codes: ["A109"] },
  { name: "300 nested lists", text: `let L = ${deep("[", "1", "]", 300)}\nrule r when amount in L deny`, codes: ["A109"] },
  { name: "300 nested calls", text: `rule r when ${deep("seen(", "amount > 1", ")", 300)} deny`, codes: ["A109"] },
  { name: "10,000 nots", text: `rule r when ${"not ".repeat(10_000)}amount > 1 deny`, codes: ["A109"] },
  { name: "100,000 unclosed parentheses", text: `rule r when ${"(".repeat(100_000)}`, codes: ["A109"] },
  { name: "3,000 lets in a chain", text: [...Array.from({ length: 3000 }, (_, i) => `let A${i} = ${i === 2999 ? "1" : `A${i + 1}`}`), "rule r when amount == A0 deny"].join("\n"), codes: ["A109"] },
  {
    name: "lets that nest a list 300 deep",
    text: [...Array.from({ length: 300 }, (_, i) => `let A${i} = ${i === 299 ? "[1]" : `[A${i + 1}]`}`), "rule r when amount in A0 deny"].join("\n"),
    codes: ["A109"],
  },
  {
    name: "lets that repeat a list 3^29 times",
    text: [...Array.from({ length: 30 }, (_, i) => `let A${i} = ${i === 29 ? "1" : `[A${i + 1}, A${i + 1}, A${i + 1}]`}`), "rule r when amount in A0 deny"].join("\n"),
    codes: ["A110"],
  },
  { name: "a 10 MB block comment", text: `/* ${"x".repeat(10_000_000)} */\nrule r when amount > 1 deny`, codes: [] },
  { name: "a 10 MB line comment", text: `// ${"x".repeat(10_000_000)}\nrule r when amount > 1 deny`, codes: [] },
  { name: "a 10 MB string", text: `rule r when body == "${"x".repeat(10_000_000)}" deny`, codes: [] },
  { name: "a 10 MB unterminated string", text: `rule r when body == "${"x".repeat(10_000_000)}`, codes: ["A103"] },
  { name: "5 MB of binary garbage", text: garbage(5_000_000), codes: ["A102", "A111"] },
];

/** Hostile test data in a `.test.armor` file. */
const TEST_FILES: { name: string; text: string; codes: string[] }[] = [
  { name: "an action object nested 300 deep", text: `test "t" {\n  action { type: "x", a: ${deep("{a:", "1", "}", 300)} }\n  expect deny\n}`, codes: ["A109"] },
  { name: "a history list nested 300 deep", text: `test "t" {\n  action { type: "x" }\n  history { type: "y", a: ${deep("[", "1", "]", 300)} }\n  expect deny\n}`, codes: ["A109"] },
  { name: "a user object nested 300 deep", text: `test "t" {\n  action { type: "x" }\n  user ${deep("{a:", "1", "}", 300)}\n  expect deny\n}`, codes: ["A109"] },
];

const errorCodes = (ds: readonly { code: string; severity: string }[]): string[] => [...new Set(ds.filter((d) => d.severity === "error").map((d) => d.code))].sort();

describe("hostile sources give diagnostics", () => {
  it.each(POLICIES.map((p) => [p.name, p] as const))("compileSource and the formatter: %s", (_name, p) => {
    const c = compileSource("hostile.armor", p.text, noFiles);
    if (p.codes.length === 1) expect(errorCodes(c.diagnostics)).toEqual(p.codes);
    else for (const code of p.codes) expect(errorCodes(c.diagnostics)).toContain(code);
    const formatted = formatSource("hostile.armor", p.text);
    if (!formatted.ok) expect(formatted.diagnostics.length).toBeGreaterThan(0);
  });

  it.each(TEST_FILES.map((t) => [t.name, t] as const))("compileTests: %s", (_name, t) => {
    const policy = compileSource("p.armor", "default allow\nrule r when amount > 1 deny\n", noFiles);
    const tests = compileTests("p.test.armor", t.text, policy);
    expect(errorCodes(tests.diagnostics)).toEqual(t.codes);
    // the same data in the policy file's own tests
    const inline = compileSource("p.armor", `default allow\nrule r when amount > 1 deny\n${t.text}\n`, noFiles);
    expect(errorCodes(inline.diagnostics)).toEqual(t.codes);
  });
});

describe("armorc exits with the diagnostics exit code, not 70", () => {
  const work = mkdtempSync(join(tmpdir(), "armor-hostile-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const bin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
  const armorc = (args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    return { status: r.status, stderr: r.stderr };
  };
  const write = (name: string, text: string): string => {
    writeFileSync(join(work, name), text);
    return name;
  };
  const small = POLICIES.filter((p) => p.text.length < 1_000_000 && p.codes.length > 0);

  it.each(small.map((p) => [p.name, p] as const))("check, compile and fmt --check: %s", (_name, p) => {
    const file = write("p.armor", p.text);
    for (const args of [
      ["check", file],
      ["compile", file, "-o", "out.js"],
      ["fmt", "--check", file],
    ]) {
      const r = armorc(args);
      expect(r.stderr).not.toContain("internal error");
      expect(r.status, args.join(" ")).toBe(1);
    }
  });

  it("check: 2 MB of bytes that are not UTF-8 report the first 1,000 errors and how many more (A111)", () => {
    const bytes = Buffer.from(garbage(2_000_000), "latin1");
    writeFileSync(join(work, "bytes.armor"), bytes);
    const r = armorc(["check", "bytes.armor"]);
    expect(r.stderr).not.toContain("internal error");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error\[A111\]: [\d,]+ more diagnostics not reported/);
    expect(r.stderr.match(/^error\[A/gm)?.length).toBe(1001);
  });

  it.each([
    ["an input nested 500,000 deep", `{"action":{"type":"x","a":${deep("[", "", "]", 500_000)}}}`],
    ["an input nested 65 deep", `{"action":{"type":"x","a":${deep("[", "", "]", 63)}}}`],
  ])("eval: %s", (_name, input) => {
    const policy = write("ok.armor", "default allow\nrule r when amount > 1 deny\n");
    const r = armorc(["eval", policy, "--input", write("input.json", input)]);
    expect(r.stderr).toContain("A109");
    expect(r.status).toBe(2);
  });

  it.each([
    ["-1e400 in the action", `{"action":{"type":"x","amount":-1e400}}`, "-1e400"],
    ["1e400 in the context", `{"action":{"type":"x"},"context":{"limit":1e400}}`, "1e400"],
    ["400 digits in the user", `{"action":{"type":"x"},"user":{"n":${"9".repeat(400)}}}`, "999999"],
  ])("eval: a number with no finite value is invalid input (A503), not Infinity: %s", (_name, input, shown) => {
    const policy = write("ok.armor", "default allow\nrule r when amount > 1 deny\n");
    const r = armorc(["eval", policy, "--input", write("input.json", input)]);
    expect(r.stderr).toContain("error[A503]");
    expect(r.stderr).toContain(shown);
    expect(r.status).toBe(2);
    // a string holding such a number is only text
    const ok = armorc(["eval", policy, "--input", write("text.json", `{"action":{"type":"x","note":"1e400 \\" 1e400"}}`)]);
    expect(ok.status).toBe(0);
  });

  it("eval: an input at the limit is decided", () => {
    const policy = write("ok.armor", "default allow\nrule r when amount > 1 deny\n");
    const r = armorc(["eval", policy, "--input", write("input.json", `{"action":{"type":"x","a":${deep("[", "", "]", 62)}}}`)]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.each(TEST_FILES.map((t) => [t.name, t] as const))("test: %s", (_name, t) => {
    write("q.armor", "default allow\nrule r when amount > 1 deny\n");
    write("q.test.armor", t.text);
    const r = armorc(["test", "q.armor"]);
    expect(`${r.stderr}`).not.toContain("internal error");
    expect(r.status).toBe(1);
  });
});

describe("createEnforcer with a hostile .armor source", () => {
  it.each(POLICIES.filter((p) => p.codes.length > 0).map((p) => [p.name, p] as const))("rejects with a PolicyLoadError carrying diagnostics: %s", async (_name, p) => {
    const failure = await createEnforcer({ policy: { source: p.text, fileName: "hostile.armor" } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(PolicyLoadError);
    expect((failure as PolicyLoadError).diagnostics.some((d) => p.codes.includes(d.code))).toBe(true);
  });
});
