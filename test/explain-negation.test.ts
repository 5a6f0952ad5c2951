/**
 * Explanations of negated conditions, through the built `armorc`: `armorc eval --explain` and the
 * failure output of `armorc test` show every negated condition (`not C`, `A not in L`,
 * `not seen(...)`, `not exists(...)`, `!=`) with its own value, as written, so that a rule that
 * fired never shows only `false` lines.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./support/baseline.js";

const bin = join(repoRoot, "packages", "cli", "bin", "armorc.js");

function armorc(args: string[], cwd: string, input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, input, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface Case {
  readonly name: string;
  /** The condition of rule `r` (a `deny` rule under `default allow`). */
  readonly when: string;
  /** The action, as `armorc test` writes it and as JSON for `armorc eval`. */
  readonly action: Record<string, unknown>;
  /** Earlier actions, for `seen`. */
  readonly history?: readonly Record<string, unknown>[];
  readonly fired: boolean;
  /** Lines of the explanation, each as printed (without the indentation). */
  readonly lines: readonly string[];
}

const cases: readonly Case[] = [
  {
    name: "not in that holds",
    when: 'name not in ["a", "b"]',
    action: { type: "t", name: "z" },
    fired: true,
    lines: ['name not in ["a", "b"]  ->  true  (name in ["a", "b"]  ->  false)  with "z", ["a","b"]'],
  },
  {
    name: "not in that fails",
    when: 'name not in ["a", "b"]',
    action: { type: "t", name: "a" },
    fired: false,
    lines: ['name not in ["a", "b"]  ->  false  (name in ["a", "b"]  ->  true)  with "a", ["a","b"]'],
  },
  {
    name: "explicit not around in",
    when: 'not (name in ["a"])',
    action: { type: "t", name: "z" },
    fired: true,
    lines: ['name in ["a"]  ->  false  with "z", ["a"]', 'not (name in ["a"])  ->  true'],
  },
  {
    name: "not around a comparison",
    when: "not (amount > 5)",
    action: { type: "t", amount: 1 },
    fired: true,
    lines: ["amount > 5  ->  false  with 1, 5", "not (amount > 5)  ->  true"],
  },
  {
    name: "not exists",
    when: "not exists(memo)",
    action: { type: "t" },
    fired: true,
    lines: ["exists(memo)  ->  false  with null", "not exists(memo)  ->  true"],
  },
  {
    name: "not seen",
    when: 'not seen(type == "login")',
    action: { type: "t" },
    history: [{ type: "logout" }],
    fired: true,
    lines: ['seen(type == "login")  ->  false', 'not seen(type == "login")  ->  true'],
  },
  {
    name: "not seen that fails",
    when: 'not seen(type == "login")',
    action: { type: "t" },
    history: [{ type: "login" }],
    fired: false,
    lines: ['seen(type == "login")  ->  true', 'not seen(type == "login")  ->  false'],
  },
  {
    name: "!=",
    when: 'to != "z"',
    action: { type: "t", to: "y" },
    fired: true,
    lines: ['to != "z"  ->  true  with "y", "z"'],
  },
  {
    name: "double negation",
    when: "not not (amount > 5)",
    action: { type: "t", amount: 9 },
    fired: true,
    lines: ["amount > 5  ->  true  with 9, 5", "not (amount > 5)  ->  false", "not not (amount > 5)  ->  true"],
  },
  {
    name: "not around and",
    when: 'not (amount > 5 and name == "a")',
    action: { type: "t", amount: 9, name: "b" },
    fired: true,
    lines: ["amount > 5  ->  true  with 9, 5", 'name == "a"  ->  false  with "b", "a"', 'not (amount > 5 and name == "a")  ->  true'],
  },
  {
    name: "a function's result, and a negation over it",
    when: 'host(url) not in ["good.example"]',
    action: { type: "t", url: "https://good.example@evil.example/" },
    fired: true,
    lines: [
      'host(url)  ->  "evil.example"  with "https://good.example@evil.example/"',
      'host(url) not in ["good.example"]  ->  true  (host(url) in ["good.example"]  ->  false)  with "evil.example", ["good.example"]',
    ],
  },
];

const TIME = "2026-03-02T10:00:00Z";

function setUp(c: Case): string {
  const dir = mkdtempSync(join(tmpdir(), "armor-explain-"));
  writeFileSync(join(dir, "p.armor"), `default allow\nrule r when ${c.when} deny\n`);
  const history = (c.history ?? []).map((a) => `  history { ${fields(a)} } ago 1m\n`).join("");
  writeFileSync(join(dir, "p.test.armor"), `test "wrong on purpose" {\n  action { ${fields(c.action)} }\n  time "${TIME}"\n${history}  expect ${c.fired ? "allow" : "deny"}\n}\n`);
  return dir;
}

function fields(o: Record<string, unknown>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(", ");
}

describe("explanations show every negated condition's own value", () => {
  it.each(cases)("armorc eval --explain: $name", (c) => {
    const dir = setUp(c);
    const input = { action: c.action, time: TIME, history: (c.history ?? []).map((action) => ({ action, time: "2026-03-02T09:59:00Z" })) };
    const r = armorc(["eval", "p.armor", "--explain", "--input", "-"], dir, JSON.stringify(input));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`rule r (deny, line 2): ${c.fired ? "fired" : "did not fire"}`);
    const shown = r.stderr.split("\n").map((l) => l.trim());
    for (const line of c.lines) expect(shown, r.stderr).toContain(line);
  });

  // every test is written to fail, so that the runner prints its explanation
  it.each(cases)("armorc test failure output: $name", (c) => {
    const dir = setUp(c);
    const r = armorc(["test", "p.armor"], dir);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const shown = r.stdout.split("\n").map((l) => l.trim());
    for (const line of c.lines) expect(shown, r.stdout).toContain(line);
  });
});
