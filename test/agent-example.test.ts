/**
 * examples/agent: the scripted agent runs under the enforcer and shows allow, deny, approval and
 * redaction, and leaves an audit log that `armorc audit verify` accepts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./support/baseline.js";

describe("examples/agent", () => {
  it("allows, denies, asks for approval and redacts, and leaves a verifiable audit log", () => {
    const audit = join(mkdtempSync(join(tmpdir(), "armor-agent-")), "audit.jsonl");
    const run = spawnSync(process.execPath, [join(repoRoot, "examples", "agent", "agent.mjs"), audit], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/allow {2}refund\(\{"order":"A-1001","amount":40\}\)/);
    expect(out).toMatch(/deny {3}refund\(\{"order":"A-1002","amount":800\}\)\n.*approval rejected by lee/);
    expect(out).toMatch(/deny {3}refund\(\{"order":"A-1003","amount":5000\}\)\n.*refund_cap/);
    expect(out).toContain("to dana@example.com: Refunded to card [REDACTED]. Thanks!");
    expect(out).toMatch(/deny {3}send_email.*\n.*email_rate/);
    expect(out).toMatch(/deny {3}http_post.*\n.*exfiltration/);
    expect(out).toContain("chain intact");

    const records = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const approvals = records.filter((r) => r.kind === "decision" && (r.approval as { outcome?: string } | null)?.outcome);
    expect(approvals.map((r) => (r.approval as { outcome: string }).outcome)).toEqual(["approved", "rejected"]);
    expect(JSON.stringify(records)).not.toContain("4111 1111 1111 1111");

    const verify = spawnSync(process.execPath, [join(repoRoot, "packages", "cli", "bin", "armorc.js"), "audit", "verify", audit], { encoding: "utf8" });
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`ok: ${records.length} records`);
  });
});
