/**
 * `armor serve --approvers FILE` making and using grants: an approver answers "approve and grant"
 * (the scope the policy offers), the grant is an audited `grant` record, and the session's (or the
 * recipient's) later decisions at `/v1/decide` use it: named without `reserve`, its amount taken
 * once with it, kept by `/v1/record` with the decision's id, given back by `/v1/release`; a
 * `/v1/decide` without `reserve` of an action the grant's amount governs is a deny naming
 * `reserve`, and a `/v1/record` without its reservation is 409. A decision is recorded only by
 * its own session (409 otherwise, on record), and a grant for a field a rule redacts is scoped by
 * the value before redaction, which the log never holds.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, callWithToken, type Served, startServe } from "./support.js";

const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
const SERVICE = "service-token-grants-6d1f";
const ANN = "ann-grants-token-77a0";
const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" timeout 1m grant action.to 1h up to 50000 of action.amount because "wires need finance"
rule exports when action.type == "export" require approval from "finance" timeout 1m because "once only"
rule hide_payee when action.type == "pay" redact to
rule pays when action.type == "pay" require approval from "finance" timeout 1m grant action.to 1h because "payees need finance"
`;

let svc: Served;
let audit: string;

beforeAll(async () => {
  assertBuilt();
  const work = mkdtempSync(join(tmpdir(), "armor-serve-grants-"));
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

const wire = (amount: number, to = "acme") => ({ type: "wire", to, amount });
const decide = (action: unknown, session: string, reserve = false) => call("POST", "/v1/decide", SERVICE, { action, session, ...(reserve ? { reserve } : {}) });

/** A require_approval decision, opened and answered by ann (`grant` or not); the state the agent then reads. */
async function approve(action: unknown, session: string, answer: Record<string, unknown>): Promise<Record<string, unknown>> {
  const d = await decide(action, session);
  expect(d.json.decision).toBe("require_approval");
  const id = d.json.id as string;
  expect((await call("POST", "/v1/approvals", SERVICE, { decisionId: id, session })).status).toBe(202);
  const pending = await call("GET", `/approvals/${encodeURIComponent(id)}`, ANN);
  const answered = await call("POST", `/approvals/${encodeURIComponent(id)}`, ANN, { actionHash: d.json.actionHash, ...answer });
  const state = await call("GET", `/v1/approvals/${encodeURIComponent(id)}?wait=${answered.status === 200 ? 10 : 0}`, SERVICE);
  return { id, offered: pending.json.grant ?? null, answered: answered.status, ...state.json };
}

describe("armor serve: approve and grant", () => {
  it("shows the rule's offer, refuses a grant a rule does not offer, and approves once when not asked to grant", async () => {
    const once = await approve({ type: "export", table: "t" }, "s0", { approved: true, grant: true });
    expect([once.offered, once.answered]).toEqual([null, 400]);
    const plain = await approve(wire(5, "initech"), "s0", { approved: true });
    expect(plain).toMatchObject({ offered: { rule: "wires", scope: "action.to", upTo: 50000, of: "action.amount" }, answered: 200, status: "approved" });
    expect(plain.grantId).toBeUndefined();
    expect((await decide(wire(5, "initech"), "s0")).json.decision).toBe("require_approval");
  });

  it("makes the grant on record, and later decisions at /v1/decide use it exactly", async () => {
    const approved = await approve(wire(1), "s1", { approved: true, grant: true });
    expect(approved).toMatchObject({ status: "approved", approver: "ann", grantId: `grant-${approved.id}` });
    const grantId = approved.grantId as string;
    // the approved action itself is reported under its id, once
    expect((await call("POST", "/v1/record", SERVICE, { action: wire(1), session: "s1", decisionId: approved.id })).status).toBe(200);

    // without reserve an allow would leave the amount taken nowhere: a deny naming the grant and `reserve`
    const named = await decide(wire(30_000), "other-session");
    expect([named.json.decision, named.json.grant, JSON.stringify(named.json.errors)]).toEqual(["deny", undefined, expect.stringContaining(`grant ${grantId} of rule`)]);
    expect(JSON.stringify(named.json.errors)).toContain("reserve: true");
    const first = await decide(wire(30_000), "a", true);
    expect(first.json).toMatchObject({ decision: "allow", reserved: true, grant: { id: grantId } });
    expect((await decide(wire(30_000), "b", true)).json).toMatchObject({ decision: "require_approval", reserved: false });
    expect((await call("POST", "/v1/release", SERVICE, { decisionId: first.json.id, session: "a" })).json).toEqual({ decisionId: first.json.id, released: true });
    // a release replayed gives nothing back twice
    expect((await call("POST", "/v1/release", SERVICE, { decisionId: first.json.id, session: "a" })).json).toEqual({ decisionId: first.json.id, released: false });
    const second = await decide(wire(30_000), "b", true);
    expect(second.json).toMatchObject({ decision: "allow", reserved: true });
    expect((await call("POST", "/v1/record", SERVICE, { action: wire(30_000), session: "b", decisionId: second.json.id })).json).toMatchObject({ recorded: true, settled: true });
    // 20,000 are left: a record without the reservation is refused, whatever the amount
    for (const amount of [10, 20_000, 25_000]) {
      const refused = await call("POST", "/v1/record", SERVICE, { action: wire(amount), session: "c" });
      expect([amount, refused.status, (refused.json.error as { code?: string }).code]).toEqual([amount, 409, "reservation_required"]);
    }
    expect((await decide(wire(20_000), "c", true)).json).toMatchObject({ decision: "allow", reserved: true });
    expect((await decide(wire(0.01), "c", true)).json).toMatchObject({ decision: "require_approval" });

    const records = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const events = records.filter((r) => r.kind === "approval" && r.grantId === grantId).map((r) => [r.event, r.decisionId]);
    expect(events).toEqual([
      ["grant", approved.id],
      ["grant_used", first.json.id],
      ["grant_returned", first.json.id],
      ["grant_used", second.json.id],
      ["grant_used", expect.any(String)],
    ]);
    expect(records.find((r) => r.event === "grant")).toMatchObject({ scope: "action.to", value: "acme", upTo: 50000, approvers: ["ann"] });
    expect(records.filter((r) => r.event === "vote").at(-1)).toMatchObject({ approver: "ann", grant: true });
    expect(verifyAuditLog(`${records.map((r) => JSON.stringify(r)).join("\n")}\n`).ok).toBe(true);
  });

  it("records a decision only for its own session and action, and writes other ids' outcomes under ids of their own", async () => {
    const approved = await approve({ type: "export", table: "t5" }, "s5", { approved: true });
    expect(approved.status).toBe("approved");
    const reserved = await decide({ type: "note" }, "r1", true);
    expect(reserved.json.reserved).toBe(true);
    // [what, body, status, code]
    const REFUSED: [string, Record<string, unknown>, number, string][] = [
      ["an approved decision from another session", { action: { type: "export", table: "t5" }, session: "s6", decisionId: approved.id }, 409, "session_mismatch"],
      ["a reservation from another session", { action: { type: "note" }, session: "r2", decisionId: reserved.json.id }, 409, "reservation_mismatch"],
      ["a reservation with another action", { action: { type: "note", n: 2 }, session: "r1", decisionId: reserved.json.id }, 409, "reservation_mismatch"],
    ];
    for (const [what, body, status, code] of REFUSED) {
      const got = await call("POST", "/v1/record", SERVICE, body);
      expect([what, got.status, (got.json.error as { code?: string }).code]).toEqual([what, status, code]);
    }
    expect((await call("POST", "/v1/record", SERVICE, { action: { type: "export", table: "t5" }, session: "s5", decisionId: approved.id })).json).toMatchObject({ decisionId: approved.id });
    expect((await call("POST", "/v1/record", SERVICE, { action: { type: "note" }, session: "r1", decisionId: reserved.json.id })).json).toMatchObject({ decisionId: reserved.json.id, settled: true });
    const other = await call("POST", "/v1/record", SERVICE, { action: { type: "note" }, session: "r3", decisionId: "made-up-id" });
    expect([other.status, other.json.settled, other.json.decisionId === "made-up-id"]).toEqual([200, false, false]);
    const records = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.filter((r) => r.kind === "outcome" && r.decisionId === "made-up-id")).toEqual([]);
    // the refused reservation records are on record, under ids of their own
    const refused = records.filter((r) => r.outcome === "record_refused" && String(r.error).startsWith("ReservationMismatch"));
    expect(refused.map((r) => [r.session, r.decisionId === reserved.json.id, String(r.error).split(":")[0]])).toEqual([
      ["r2", false, "ReservationMismatch"],
      ["r1", false, "ReservationMismatch"],
    ]);
    // so is the approved decision reported by another session, refused before the enforcer saw it
    expect(records.filter((r) => r.outcome === "record_refused" && String(r.error).startsWith("session_mismatch: "))).toEqual([
      expect.objectContaining({ kind: "outcome", mode: "record", session: "s6", decisionId: expect.not.stringMatching(approved.id as string) }),
    ]);
  });

  it("scopes a grant for a field a rule redacts by the value before redaction, never written to the log", async () => {
    const approved = await approve({ type: "pay", to: "umbrella" }, "p1", { approved: true, grant: true });
    expect(approved).toMatchObject({ status: "approved", grantId: `grant-${approved.id}` });
    // [payee, decision]: the grant is umbrella's, not every payee's ("[REDACTED]" is what each decided action shows)
    const PAYEES: [string, string][] = [
      ["globex", "require_approval"],
      ["[REDACTED]", "require_approval"],
      ["umbrella", "allow"],
    ];
    for (const [to, decision] of PAYEES) expect([to, (await decide({ type: "pay", to }, "p2", true)).json.decision]).toEqual([to, decision]);
    const text = readFileSync(audit, "utf8");
    expect(text.includes("umbrella")).toBe(false);
    const grant = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r.event === "grant" && r.grantId === approved.grantId);
    expect(grant).toMatchObject({ scope: "action.to", value: "[REDACTED]", redacted: true });
  });

  it("never writes a payee a rule redacts, whoever records it: a refused record names the action by its hash", async () => {
    const secret = "SECRET-PAYEE-4242";
    const approved = await approve({ type: "pay", to: secret }, "q1", { approved: true });
    expect(approved.status).toBe("approved");
    // [what, body, status]: each sends the payee in clear
    const RECORDS: [string, Record<string, unknown>, number][] = [
      ["from another session", { action: { type: "pay", to: secret }, session: "q2", decisionId: approved.id }, 409],
      ["with the action as the agent held it", { action: { type: "pay", to: secret }, session: "q1", decisionId: approved.id }, 409],
      ["a plain record", { action: { type: "pay", to: secret }, session: "q3" }, 200],
    ];
    for (const [what, body, status] of RECORDS) expect([what, (await call("POST", "/v1/record", SERVICE, body)).status]).toEqual([what, status]);
    const text = readFileSync(audit, "utf8");
    expect(text.includes(secret)).toBe(false);
    const records = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.filter((r) => r.mode === "record" && (r.session === "q2" || r.session === "q1")).map((r) => [r.outcome, "action" in r, typeof r.actionHash])).toEqual([
      ["record_refused", false, "string"],
      ["record_refused", false, "string"],
    ]);
    expect(records.find((r) => r.mode === "record" && r.session === "q3")).toMatchObject({ outcome: "ok", action: { type: "pay", to: "[REDACTED]" } });
  });

  it("a record refused for its input (400) is on record too, by the action's hash only", async () => {
    // [what, raw body, the error's code, has an action hash]
    const BAD: [string, string, string, boolean][] = [
      ["not JSON", "{", "invalid_json", false],
      ["no object", "[1]", "invalid_request", false],
      ["an action without a type", JSON.stringify({ action: { a: 1 }, session: "b1" }), "invalid_request", true],
      ["a decisionId not a string", JSON.stringify({ action: { type: "note", secret: "CLEAR-1" }, decisionId: 5, session: "b2" }), "invalid_request", true],
      ["an outcome not ok or error", JSON.stringify({ action: { type: "note" }, outcome: "done", session: "b3" }), "invalid_request", true],
    ];
    const before = readFileSync(audit, "utf8").trim().split("\n").length;
    for (const [what, body] of BAD) {
      const r = await fetch(`${svc.url}/v1/record`, { method: "POST", headers: { authorization: `Bearer ${SERVICE}`, "content-type": "application/json" }, body });
      expect([what, r.status]).toEqual([what, 400]);
    }
    const text = readFileSync(audit, "utf8");
    const added = text
      .trim()
      .split("\n")
      .slice(before)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(added.map((r) => [r.outcome, String(r.error).split(":")[0], typeof r.actionHash === "string", "action" in r])).toEqual(
      BAD.map(([, , code, hashed]) => ["record_refused", code, hashed, false]),
    );
    expect(text.includes("CLEAR-1")).toBe(false);
    expect(verifyAuditLog(text).ok).toBe(true);
  });
});
