/**
 * Who may approve: an approval queue with approver identities. Each approver answers with a token
 * of its own, sees and answers only the requests of its groups, and is the approver the audit log
 * records, whatever a body says. Missing, forged and wrong-group tokens, a body naming another
 * approver, and a stale action hash are each refused with a clear error; an approvers file that
 * cannot be trusted (duplicate tokens, names or no approvers) is refused before anything starts.
 */
import { createHash } from "node:crypto";
import { type ApprovalEndpoint, approversFrom, serveApprovals } from "@agent-armor/gateway";
import { type ApprovalQueue, createApprovalQueue, createEnforcer, type Enforcer, verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt } from "../gateway/support.js";

const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
const TOKENS = { ann: "ann-token-8f2c", bob: "bob-token-41aa", eve: "eve-token-0000" };
const APPROVERS = [
  { name: "ann", groups: ["finance"], tokenSha256: sha(TOKENS.ann) },
  { name: "bob", groups: ["support"], tokenSha256: sha(TOKENS.bob) },
];

const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" because "wires need finance"
rule exports when action.type == "export" require approval because "any approver will do"
`;

let queue: ApprovalQueue;
let endpoint: ApprovalEndpoint;
let enforcer: Enforcer;
const lines: string[] = [];

beforeAll(async () => {
  assertBuilt();
  queue = createApprovalQueue();
  endpoint = await serveApprovals(queue, { approvers: approversFrom(APPROVERS) });
  enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "a.armor" }, approvals: queue, throwOnDeny: false, audit: { callback: (_r, l) => void lines.push(l) } });
});

afterAll(async () => {
  await endpoint?.close();
  await enforcer?.close();
});

async function call(method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${endpoint.url.replace(/\/approvals$/, "")}${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Starts an action that waits for approval, and returns its pending request's id with the running action. */
async function pending(action: Record<string, unknown>) {
  const running = enforcer.run(action, { session: "s" }, () => "ran");
  const p = await queue.waitFor((x) => x.action !== null && (x.action as { type?: string }).type === action.type && !seen.has(x.id));
  seen.add(p.id);
  return { id: p.id, actionHash: p.actionHash, running };
}
const seen = new Set<string>();

describe("answers to a request from finance", () => {
  // [what, token, body, status, error code]
  const REFUSED: [string, string | null, Record<string, unknown>, number, string][] = [
    ["no bearer token", null, { approved: true }, 401, "unauthorized"],
    ["a token that is no approver's", TOKENS.eve, { approved: true }, 401, "unauthorized"],
    ["an approver's token hash sent as the token", sha(TOKENS.ann), { approved: true }, 401, "unauthorized"],
    ["an approver outside finance", TOKENS.bob, { approved: true }, 403, "forbidden"],
    ["a member naming another approver in the body", TOKENS.ann, { approved: true, approver: "the CFO" }, 400, "invalid_request"],
    ["a member approving another action hash", TOKENS.ann, { approved: true, actionHash: "0".repeat(64) }, 409, "hash_mismatch"],
  ];

  it.each(REFUSED)("refuses %s", async (_what, token, body, status, code) => {
    const p = await pending({ type: "wire", amount: 1 });
    const got = await call("POST", `/approvals/${encodeURIComponent(p.id)}`, token, body);
    expect(got.status).toBe(status);
    expect((got.json.error as { code: string }).code).toBe(code);
    // still pending: a refused answer settles nothing
    expect(queue.get(p.id)).toBeDefined();
    queue.reject(p.id, "cleanup");
    expect((await p.running).decision.decision).toBe("deny");
  });

  it("accepts a member, and the audit log records the approver the token names", async () => {
    const p = await pending({ type: "wire", amount: 2 });
    const got = await call("POST", `/approvals/${encodeURIComponent(p.id)}`, TOKENS.ann, { approved: true, note: "ok", actionHash: p.actionHash });
    expect(got).toMatchObject({ status: 200, json: { resolved: true, approved: true } });
    const ran = await p.running;
    expect(ran.decision.decision).toBe("allow");
    expect(ran.result).toBe("ran");
    const record = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.kind === "decision" && r.decisionId === p.id);
    expect(record?.approval).toMatchObject({ outcome: "approved", approver: "ann", note: "ok" });
    // the request, the vote and the answer have records of their own, before the decision's
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === "approval" && r.decisionId === p.id);
    expect(events.map((r) => [r.event, r.approver ?? null, r.from])).toEqual([
      ["requested", null, "finance"],
      ["vote", "ann", "finance"],
      ["approved", "ann", "finance"],
    ]);
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
    expect(lines.join("\n")).not.toContain(TOKENS.ann);
  });
});

describe("what each approver sees", () => {
  it("lists only the requests of its groups, and those asked of no group", async () => {
    const wire = await pending({ type: "wire", amount: 3 });
    const exp = await pending({ type: "export", table: "t" });
    const ids = async (token: string) => ((await call("GET", "/approvals", token)).json.pending as { id: string }[]).map((x) => x.id);
    expect(await ids(TOKENS.ann)).toEqual(expect.arrayContaining([wire.id, exp.id]));
    expect(await ids(TOKENS.bob)).toEqual([exp.id]);
    expect((await call("GET", `/approvals/${encodeURIComponent(wire.id)}`, TOKENS.bob)).status).toBe(403);
    expect((await call("GET", "/approvals", null)).status).toBe(401);
    // a request asked of no group: any approver answers it
    expect((await call("POST", `/approvals/${encodeURIComponent(exp.id)}`, TOKENS.bob, { approved: false, note: "no" })).status).toBe(200);
    expect((await exp.running).decision.errors.map((e) => e.message).join()).toContain("approval rejected by bob: no");
    queue.reject(wire.id, "cleanup");
    await wire.running;
  });
});

describe("an approvers list that cannot be trusted", () => {
  const BAD: [string, unknown[], RegExp][] = [
    ["no approvers", [], /names no approver/],
    ["two approvers with one token", [APPROVERS[0], { ...APPROVERS[1], tokenSha256: APPROVERS[0]!.tokenSha256 }], /\/approvers\/1\/tokenSha256`: two approvers have the same token/],
    ["a name given twice", [APPROVERS[0], { ...APPROVERS[1], name: "ann" }], /\/approvers\/1\/name`: `ann` is named twice/],
    ["a token in clear instead of its hash", [{ ...APPROVERS[0], tokenSha256: TOKENS.ann }], /tokenSha256` must be the SHA-256/],
    ["groups that are not a list of names", [{ ...APPROVERS[0], groups: "finance" }], /\/approvers\/0\/groups` must be a list of group names/],
    ["a name with spaces", [{ ...APPROVERS[0], name: "the CFO" }], /\/approvers\/0\/name` must be a name/],
    ["an entry that is not an object", ["ann"], /\/approvers\/0` must be an object/],
    ["a name on the prototype only", [Object.create({ name: "ann", groups: [], tokenSha256: sha("x") })], /\/approvers\/0\/name` must be a name/],
  ];
  it.each(BAD)("refuses %s", (_what, list, message) => {
    expect(() => approversFrom(list)).toThrow(message);
  });

  it("refuses a shared token beside approvers", async () => {
    await expect(serveApprovals(createApprovalQueue(), { approvers: approversFrom(APPROVERS), access: { token: "shared" } })).rejects.toThrow(/tokens of their own/);
  });
});
