/**
 * examples/decision-shipping: `armor serve --ship-to` ships its audit log to the example's
 * collector, which goes down and comes back; the collector ends with every record of the local
 * chain, once, and its copy verifies.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { verifyAuditLog } from "../packages/runtime/src/index.js";
import { repoRoot } from "./support/baseline.js";

const work = mkdtempSync(join(tmpdir(), "armor-shipping-example-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("examples/decision-shipping", () => {
  it("ships every record of the local chain to the collector across its outage", { timeout: 120_000 }, () => {
    const audit = join(work, "audit.jsonl");
    const run = spawnSync(process.execPath, [join(repoRoot, "examples", "decision-shipping", "run.mjs"), audit], { encoding: "utf8", timeout: 100_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("decisions: 16 allow, 4 deny");
    expect(run.stdout).toMatch(/collector: 20 records in \d+ batches, \d+ duplicates dropped, the same records, chain intact/);
    const local = readFileSync(audit, "utf8");
    expect(verifyAuditLog(local).records).toBe(20);
  });
});
