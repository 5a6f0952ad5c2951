/**
 * examples/data-analysis: the agent's Python runs in the sandbox under the example's policy: a
 * summary with its card number masked, a shell-out denied before it runs, a forbidden dataset
 * denied inside the run, an endless loop stopped; the audit log verifies.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./support/baseline.js";

describe("examples/data-analysis", () => {
  it("runs the agent's Python under the policy and leaves a verifiable audit log", { timeout: 300_000 }, () => {
    const audit = join(mkdtempSync(join(tmpdir(), "armor-data-analysis-")), "audit.jsonl");
    const run = spawnSync(process.execPath, [join(repoRoot, "examples", "data-analysis", "run.mjs"), audit], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toContain("prints: top customer: Dana Ortiz (paid with [CARD])");
    expect(out).toContain('value:  {"customers":3,"mean":803.58}');
    expect(out).toMatch(/shells out:\n {2}ActionDenied: .*no_processes_or_sockets/);
    expect(out).toMatch(/could not load payroll: .*`load_dataset` denied/);
    expect(out).toMatch(/never ends:\n {2}ToolFailed: the code ran longer than 2000 ms/);
    expect(out).toContain("chain intact");
    const records = readFileSync(audit, "utf8").trim().split("\n");
    expect(records.join("\n")).not.toContain("4111 1111 1111 1111");
  });
});
