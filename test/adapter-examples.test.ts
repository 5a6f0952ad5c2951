/**
 * examples/agent-ai-sdk, examples/agent-langchain and examples/agent-openai-agents: the scripted assistants run offline under
 * their framework adapters and show a redacted result, a denial the model reads and moves on
 * from, an approval through the framework's own flow, a denial from the session's history and a
 * masked reply, and leave an audit log that `armorc audit verify` accepts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./support/baseline.js";

const examples = [
  { name: "agent-ai-sdk", approval: "issue_refund waits for approval; the lead (lee) approves", approver: "ai-sdk tool approval" },
  { name: "agent-langchain", approval: "issue_refund waits for approval (large_refund_review); the lead (lee) approves", approver: "lee" },
  { name: "agent-openai-agents", approval: "issue_refund waits for approval; the lead (lee) approves", approver: "openai-agents approval" },
];

describe.each(examples)("examples/$name", ({ name, approval, approver }) => {
  it("runs the loop offline and leaves a verifiable audit log", () => {
    const audit = join(mkdtempSync(join(tmpdir(), `armor-${name}-`)), "audit.jsonl");
    const run = spawnSync(process.execPath, [join(repoRoot, "examples", name, "run.mjs"), audit], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/<- lookup_customer.*"notes":"Paid with \[CARD\], asked about order o-77"/);
    expect(out).toMatch(/<- delete_customer.*"denied":true.*"erasure_by_privacy_staff"/);
    // after the denial the model tries something else
    expect(out).toMatch(/erasure_by_privacy_staff.*\nmodel: issue_refund\(\{"order_id":"o-77","amount":250,"reason":"damaged"\}\)/);
    expect(out).toContain(approval);
    expect(out).toMatch(/<- issue_refund.*refunded 250 on o-77/);
    expect(out).toMatch(/<- issue_refund.*"one_refund_per_order"/);
    expect(out).toContain("to the customer: Your refund of 250 for o-77 is on its way to the card on file, [CARD].");
    expect(out).toContain("chain intact");

    const records = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; mode?: string; approval?: { outcome: string; approver: string } | null });
    const approved = records.filter((r) => r.kind === "decision" && r.approval?.outcome === "approved");
    expect(approved.map((r) => r.approval!.approver)).toEqual([approver]);
    expect(JSON.stringify(records)).not.toContain("4111 1111 1111 1111");

    const verify = spawnSync(process.execPath, [join(repoRoot, "packages", "cli", "bin", "armorc.js"), "audit", "verify", audit], { encoding: "utf8" });
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`ok: ${records.length} records`);
  });
});
