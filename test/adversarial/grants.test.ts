/**
 * Quorum and grants under attack. Quorum over HTTP: a vote replayed, one approver voting twice
 * for a quorum of 2, a vote after the request settled, a grant asked of a rule that offers none;
 * each is refused with a clear error and settles nothing, and every vote that counted is an
 * `approval` record (event `vote`) in the verified chain.
 */
import { createHash } from "node:crypto";
import { type ApprovalEndpoint, approversFrom, serveApprovals } from "@agent-armor/gateway";
import { type ApprovalQueue, createApprovalQueue, createEnforcer, type Enforcer, verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt } from "../gateway/support.js";

const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
const TOKENS = { ann: "ann-token-7c1d", bob: "bob-token-9e0f", cy: "cy-token-51ab" };
const APPROVERS = [
  { name: "ann", groups: ["finance"], tokenSha256: sha(TOKENS.ann) },
  { name: "bob", groups: ["finance"], tokenSha256: sha(TOKENS.bob) },
  { name: "cy", groups: ["support"], tokenSha256: sha(TOKENS.cy) },
];

const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" quorum 2 because "two people"
rule exports when action.type == "export" require approval from "finance" because "one person"
`;

let queue: ApprovalQueue;
let endpoint: ApprovalEndpoint;
let enforcer: Enforcer;
const lines: string[] = [];

beforeAll(async () => {
  assertBuilt();
  queue = createApprovalQueue();
  endpoint = await serveApprovals(queue, { approvers: approversFrom(APPROVERS) });
  enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "q.armor" }, approvals: queue, throwOnDeny: false, audit: { callback: (_r, l) => void lines.push(l) } });
});

afterAll(async () => {
  await endpoint?.close();
  await enforcer?.close();
});

async function post(id: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${endpoint.url}/${encodeURIComponent(id)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const seen = new Set<string>();
async function pending(action: Record<string, unknown>) {
  const running = enforcer.run(action, { session: "s" }, () => "ran");
  const p = await queue.waitFor((x) => !seen.has(x.id));
  seen.add(p.id);
  return { ...p, running };
}

const records = (id: string) =>
  lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.kind === "approval" && r.decisionId === id)
    .map((r) => [r.event, r.approver ?? null]);

describe("quorum over HTTP", () => {
  it("counts a vote with 202, refuses the same approver's second vote, and settles at the second approver", async () => {
    const p = await pending({ type: "wire", amount: 1 });
    expect(p.quorum).toBe(2);
    expect(await post(p.id, TOKENS.ann, { approved: true })).toEqual({ status: 202, json: { id: p.id, resolved: false, votes: 1, quorum: 2 } });
    // replaying the vote, or voting again: refused, and still one vote
    const again = await post(p.id, TOKENS.ann, { approved: true, note: "really" });
    expect(again.status).toBe(409);
    expect((again.json.error as { code: string }).code).toBe("already_voted");
    expect(queue.get(p.id)?.approvers).toEqual(["ann"]);
    // an approver outside the group cannot make up the quorum
    expect((await post(p.id, TOKENS.cy, { approved: true })).status).toBe(403);
    expect(await post(p.id, TOKENS.bob, { approved: true })).toMatchObject({ status: 200, json: { resolved: true, approved: true } });
    const ran = await p.running;
    expect(ran.decision.decision).toBe("allow");
    expect(ran.result).toBe("ran");
    // a vote after the request settled is refused
    expect((await post(p.id, TOKENS.ann, { approved: true })).status).toBe(404);
    expect(records(p.id)).toEqual([
      ["requested", null],
      ["vote", "ann"],
      ["vote", "bob"],
      ["approved", "bob"],
    ]);
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("rejects at the first rejection, after an approval", async () => {
    const p = await pending({ type: "wire", amount: 2 });
    expect((await post(p.id, TOKENS.ann, { approved: true })).status).toBe(202);
    expect(await post(p.id, TOKENS.bob, { approved: false, note: "no" })).toMatchObject({ status: 200, json: { resolved: true, approved: false } });
    const ran = await p.running;
    expect(ran.decision.decision).toBe("deny");
    expect(ran.decision.errors.map((e) => e.message).join()).toContain("approval rejected by bob: no");
    expect(records(p.id)).toEqual([
      ["requested", null],
      ["vote", "ann"],
      ["vote", "bob"],
      ["rejected", "bob"],
    ]);
  });

  // [what, body, status, code]
  const REFUSED: [string, Record<string, unknown>, number, string][] = [
    ["a grant the rule does not offer", { approved: true, grant: true }, 400, "invalid_request"],
    ["a grant that is not a boolean", { approved: true, grant: "session" }, 400, "invalid_request"],
    ["a scope of the request's choosing", { approved: true, grant: { scope: "session", duration: "7d" } }, 400, "invalid_request"],
  ];
  it.each(REFUSED)("refuses %s, settling nothing", async (_what, body, status, code) => {
    const p = await pending({ type: "export", table: "t" });
    const got = await post(p.id, TOKENS.ann, body);
    expect(got.status).toBe(status);
    expect((got.json.error as { code: string }).code).toBe(code);
    expect(queue.get(p.id)?.approvers).toEqual([]);
    queue.reject(p.id, "cleanup");
    expect((await p.running).decision.decision).toBe("deny");
  });
});
