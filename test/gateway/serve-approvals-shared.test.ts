/**
 * `armor serve --store redis://... --approvers FILE` on two replicas: an approval the agent opens
 * at one replica is listed at the other, an approver answers it there, and the agent waiting at
 * the first proceeds; the answer is recorded in the first replica's audit chain.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/redis-server.js";
import { assertBuilt, callWithToken, type Served, startServe } from "./support.js";

const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
const SERVICE = "service-token-shared-41";
const ANN = "ann-shared-token-8812";
const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" timeout 1m because "wires need finance"
`;

const skip = skipWithoutRedis("serve-approvals-shared");
let redis: RedisServer;
let a: Served;
let b: Served;
let auditA: string;

beforeAll(async () => {
  if (skip) return;
  assertBuilt();
  redis = await startRedis();
  const work = mkdtempSync(join(tmpdir(), "armor-serve-shared-approvals-"));
  writeFileSync(join(work, "wires.armor"), POLICY);
  writeFileSync(join(work, "token"), `${SERVICE}\n`);
  writeFileSync(join(work, "approvers.json"), JSON.stringify({ approvers: [{ name: "ann", groups: ["finance"], tokenSha256: sha(ANN) }] }));
  auditA = join(work, "a.jsonl");
  const common = ["--policy", join(work, "wires.armor"), "--store", redis.url, "--token-file", join(work, "token"), "--approvers", join(work, "approvers.json")];
  a = await startServe([...common, "--audit", auditA]);
  b = await startServe([...common, "--audit", join(work, "b.jsonl")]);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.dispose();
});

const call = callWithToken;

describe.skipIf(skip)("approvals of replicas on one Redis", () => {
  it("an approval opened at one replica is answered at another, and the agent waiting at the first proceeds", async () => {
    const decided = await call(a, "POST", "/v1/decide", SERVICE, { action: { type: "wire", to: "acme", amount: 900 }, session: "agent-1" });
    expect(decided.json).toMatchObject({ decision: "require_approval" });
    const id = decided.json.id as string;
    expect((await call(a, "POST", "/v1/approvals", SERVICE, { decisionId: id, session: "agent-1" })).status).toBe(202);

    // listed at the other replica, from the store
    let listed: { id: string; actionHash: string }[] = [];
    for (let i = 0; i < 50 && listed.length === 0; i++) {
      listed = (await call(b, "GET", "/approvals", ANN)).json.pending as { id: string; actionHash: string }[];
      if (listed.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(listed.map((p) => p.id)).toEqual([id]);

    const waiting = call(a, "GET", `/v1/approvals/${encodeURIComponent(id)}?wait=30`, SERVICE);
    const answered = await call(b, "POST", `/approvals/${encodeURIComponent(id)}`, ANN, { approved: true, actionHash: decided.json.actionHash, note: "known vendor" });
    expect(answered.status).toBe(200);
    expect((await waiting).json).toMatchObject({ decisionId: id, status: "approved", approver: "ann" });

    await a.stop();
    const records = readFileSync(auditA, "utf8").trim().split("\n");
    expect(verifyAuditLog(records.join("\n")).ok).toBe(true);
    expect(
      records
        .map((l) => JSON.parse(l) as { kind: string; event?: string })
        .filter((r) => r.kind === "approval")
        .map((r) => r.event),
    ).toEqual(["requested", "approved"]);
  });
});
