/**
 * `armorc test` proving a policy's properties and `armorc check --exact`, run as a user runs
 * them: exit codes, what is printed, and the options refused.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./support/baseline.js";

const bin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
let work = "";

function armorc(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "armorc-properties-"));
  const rules = 'default allow\nrule review when action.type == "wire" and amount > 10000 require approval\n';
  writeFileSync(join(work, "holds.armor"), `${rules}property big: never allow when action.type == "wire" and amount > 10000\n`);
  writeFileSync(join(work, "fails.armor"), `${rules}property big: never allow when action.type == "wire" and amount > 5000\n`);
  writeFileSync(join(work, "exact.armor"), "default allow\nrule big when amount > 100 deny\nrule review when memo matches /x/ and amount > 100 require approval\n");
});

describe("armorc test: properties", () => {
  it.each([
    ["a property that holds", ["test", "holds.armor"], 0, /property big \(holds\.armor:3\): holds for every input \(proved\)/],
    ["a property that fails", ["test", "fails.armor"], 1, /property big \(fails\.armor:3\): FAILS\n {4}counterexample: \{"action":\{"amount":5001,"type":"wire"\}\}/],
    ["a timeout that is not a number", ["test", "holds.armor", "--timeout", "soon"], 2, /--timeout takes a whole number of milliseconds/],
  ])(
    "%s",
    (_name, args, status, output) => {
      const r = armorc(args as string[]);
      expect(r.status, r.stderr).toBe(status);
      expect(r.stdout + r.stderr).toMatch(output);
    },
    120_000,
  );

  it("gives the verdicts as JSON", () => {
    const r = armorc(["test", "fails.armor", "--reporter", "json"]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { properties: { name: string; status: string; example: { input: unknown } }[] };
    expect(report.properties).toMatchObject([{ name: "big", status: "fails", example: { input: { action: { type: "wire", amount: 5001 } } } }]);
  }, 120_000);
});

describe("armorc check --exact", () => {
  it("replaces a syntactic warning the solver refutes with an info naming the input", () => {
    const fast = armorc(["check", "exact.armor"]);
    expect(fast.stderr).toContain("warning[A402]");
    const exact = armorc(["check", "exact.armor", "--exact"]);
    expect(exact.status).toBe(0);
    expect(exact.stderr).not.toContain("warning[A402]");
    expect(exact.stderr).toMatch(/info\[A402\]: rule `review` matters, though the fast check says it is shadowed: .* is decided deny with it and allow without it/);
  }, 120_000);

  it("refuses --timeout without --exact", () => {
    const r = armorc(["check", "exact.armor", "--timeout", "10"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--timeout is an option of --exact");
  });
});
