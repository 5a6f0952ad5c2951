/**
 * `armor mcp --store redis://... --approvals queue`: gateways on one Redis share their pending
 * approvals. A call that needs approval at one gateway is listed by the queue of another, is
 * answered there, and runs at the first, which audits the approval.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/redis-server.js";
import { assertBuilt, connectGateway, everything, fixtures, freePort, waitFor } from "./support.js";

const skip = skipWithoutRedis("armor mcp --store");
const policy = join(fixtures, "everything.armor");

describe.skipIf(skip)("armor mcp --store: approvals shared by gateways on one Redis", () => {
  let redis: RedisServer;
  let work: string;
  beforeAll(async () => {
    assertBuilt();
    redis = await startRedis();
    work = mkdtempSync(join(tmpdir(), "armor-mcp-store-"));
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it("lists a call pending at one gateway in another's queue, where an answer lets it run", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const audit = join(work, "a.audit.jsonl");
    const common = ["--policy", policy, "--store", redis.url, "--approvals", "queue"];
    const a = await connectGateway([...common, "--audit", audit, "--approvals-port", String(portA), "--", process.execPath, ...everything]);
    const b = await connectGateway([...common, "--approvals-port", String(portB), "--", process.execPath, ...everything]);
    try {
      const call = a.client.callTool({ name: "get-tiny-image", arguments: {} });
      const atB = `http://127.0.0.1:${portB}/approvals`;
      const pending = await waitFor(
        async () => ((await (await fetch(atB)).json()) as { pending: { id: string; action: { type: string }; actionHash: string }[] }).pending[0],
        10_000,
        "the approval pending at gateway A, in gateway B's queue",
      );
      expect(pending.action.type).toBe("get-tiny-image");
      const ok = await fetch(`${atB}/${encodeURIComponent(pending.id)}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ approved: true, approver: "alice", actionHash: pending.actionHash }),
      });
      expect(ok.status).toBe(200);
      const result = await call;
      expect(result.isError).toBeFalsy();
      // settled: gone from both queues
      await waitFor(async () => ((await (await fetch(`http://127.0.0.1:${portA}/approvals`)).json()) as { pending: unknown[] }).pending.length === 0 || undefined, 5_000, "A's queue empty");
    } finally {
      await a.close();
      await b.close();
    }
    const text = readFileSync(audit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    const approvals = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; approval?: { outcome: string; approver: string } })
      .filter((r) => r.kind === "decision" && r.approval !== undefined)
      .map((r) => [r.approval!.outcome, r.approval!.approver]);
    expect(approvals).toEqual([["approved", "alice"]]);
  });
});
