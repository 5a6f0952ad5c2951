/**
 * `armor serve --approvers FILE`: the agent opens the approval of a require_approval decision by
 * its id and waits for the answer; an approver answers with their own token; the approval's
 * records are in the service's audit chain; the approved action is reported once.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, callWithToken, type Served, startServe } from "./support.js";

const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
const SERVICE = "service-token-7a0c55";
const ANN = "ann-serve-token-19be";
const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" timeout 1m because "wires need finance"
rule hide_card when action.type == "wire" redact memo matching /\\d{4}-\\d{4}-\\d{4}-\\d{4}/ with "[card]"
`;

let work: string;
let svc: Served;
let audit: string;

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "armor-serve-approvals-"));
  writeFileSync(join(work, "wires.armor"), POLICY);
  writeFileSync(join(work, "token"), `${SERVICE}\n`);
  writeFileSync(join(work, "approvers.json"), JSON.stringify({ approvers: [{ name: "ann", groups: ["finance"], tokenSha256: sha(ANN) }] }));
  audit = join(work, "audit.jsonl");
  svc = await startServe(["--policy", join(work, "wires.armor"), "--audit", audit, "--token-file", join(work, "token"), "--approvers", join(work, "approvers.json")]);
});

afterAll(async () => {
  await svc?.stop();
});

const call = (method: string, path: string, token: string, body?: unknown) => callWithToken(svc, method, path, token, body);

describe("approvals of the decision service", () => {
  it("the agent opens an approval by decision id, waits, and reports the approved action once; the chain holds every step", async () => {
    const action = { type: "wire", to: "acme", amount: 900, memo: "card 4111-1111-1111-1111" };
    const decided = await call("POST", "/v1/decide", SERVICE, { action, session: "agent-1", user: { id: "dana" } });
    expect(decided.json).toMatchObject({ decision: "require_approval", approval: { from: "finance" } });
    const id = decided.json.id as string;

    const opened = await call("POST", "/v1/approvals", SERVICE, { decisionId: id, session: "agent-1" });
    expect(opened.status).toBe(202);
    expect(opened.json).toMatchObject({ decisionId: id, status: "pending", actionHash: decided.json.actionHash, from: "finance" });
    // opening again is the same approval, not a second request
    expect((await call("POST", "/v1/approvals", SERVICE, { decisionId: id })).json).toMatchObject({ status: "pending" });

    // the approver sees the service's decision: the action as it would run (redacted), the user
    const listed = await call("GET", "/approvals", ANN);
    expect(listed.json.pending).toEqual([expect.objectContaining({ id, action: { ...action, memo: "card [card]" }, actionHash: decided.json.actionHash, session: "agent-1", user: { id: "dana" } })]);

    const started = Date.now();
    const waiting = call("GET", `/v1/approvals/${encodeURIComponent(id)}?wait=30`, SERVICE);
    await new Promise((r) => setTimeout(r, 200));
    const answered = await call("POST", `/approvals/${encodeURIComponent(id)}`, ANN, { approved: true, actionHash: decided.json.actionHash, note: "known vendor" });
    expect(answered.status).toBe(200);
    const state = await waiting;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(state.json).toMatchObject({ decisionId: id, status: "approved", approver: "ann", note: "known vendor" });

    // reported once, with the approved action exactly
    const other = await call("POST", "/v1/record", SERVICE, { action: { ...action, memo: "card [card]", amount: 901 }, session: "agent-1", decisionId: id });
    expect([other.status, (other.json.error as { code: string }).code]).toEqual([409, "hash_mismatch"]);
    const recorded = await call("POST", "/v1/record", SERVICE, { action: decided.json.action, session: "agent-1", decisionId: id });
    expect(recorded.status).toBe(200);
    const again = await call("POST", "/v1/record", SERVICE, { action: decided.json.action, session: "agent-1", decisionId: id });
    expect([again.status, (again.json.error as { code: string }).code]).toEqual([409, "approval_used"]);

    const text = readFileSync(audit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    const lines = text.trim().split("\n");
    const approvals = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === "approval" && r.decisionId === id);
    expect(approvals.map((r) => [r.event, r.approver ?? null])).toEqual([
      ["requested", null],
      ["vote", "ann"],
      ["approved", "ann"],
    ]);
  });

  it("a rejection reaches the waiting agent with the note, and the action may not be reported as run", async () => {
    const decided = await call("POST", "/v1/decide", SERVICE, { action: { type: "wire", to: "x", amount: 1 }, session: "agent-2" });
    const id = decided.json.id as string;
    await call("POST", "/v1/approvals", SERVICE, { decisionId: id });
    const waiting = call("GET", `/v1/approvals/${encodeURIComponent(id)}?wait=30`, SERVICE);
    await call("POST", `/approvals/${encodeURIComponent(id)}`, ANN, { approved: false, note: "not this vendor" });
    expect((await waiting).json).toMatchObject({ status: "rejected", approver: "ann", note: "not this vendor" });
    const ran = await call("POST", "/v1/record", SERVICE, { action: decided.json.action, session: "agent-2", decisionId: id });
    expect([ran.status, (ran.json.error as { code: string }).code]).toEqual([409, "not_approved"]);
  });

  it("serves the console, and says it at start", async () => {
    const page = await fetch(`${svc.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'nonce-/);
    expect(svc.stderr()).toContain(`approval console at ${svc.url}/console`);
  });
});
