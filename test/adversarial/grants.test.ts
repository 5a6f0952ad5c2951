/**
 * Quorum and grants under attack. Quorum over HTTP: a vote replayed, one approver voting twice
 * for a quorum of 2, a vote after the request settled, a grant asked of a rule that offers none;
 * each is refused with a clear error and settles nothing, and every vote that counted is an
 * `approval` record (event `vote`) in the verified chain. Grants: one session's or recipient's
 * grant used by another, an expired grant, an amount that overruns what is left by a little
 * (exactly), grant data in `decide` input through prototypes, getters and floods, a tool that
 * fails (the amount comes back), and a shared store that cannot keep grants.
 */
import { createHash } from "node:crypto";
import { compileSource, emit, evaluatePolicy } from "@agent-armor/compiler";
import { type ApprovalEndpoint, approversFrom, serveApprovals } from "@agent-armor/gateway";
import { type ApprovalQueue, createApprovalQueue, createEnforcer, type Enforcer, MAX_GRANTS, MAX_GRANTS_PER_SCOPE, memoryGrantStore, type PolicyModule, verifyAuditLog } from "@agent-armor/runtime";
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

// ---- grants ---------------------------------------------------------------------------------------

const GRANT_POLICY = `default allow
rule big when action.type == "wire" and amount > 5000 deny because "too big for anyone"
rule wires when action.type == "wire" require approval from "finance" grant action.to 1h up to 1000 of action.amount
rule sends when action.type == "send" require approval grant session 30m
rule cents when action.type == "pay" require approval grant action.to 1h up to 0.3 of action.amount
`;

/** An enforcer over GRANT_POLICY with a clock the test moves, a queue, and its audit records. */
async function granting() {
  const clock = { now: Date.parse("2026-03-02T10:00:00Z") };
  const q = createApprovalQueue();
  const records: Record<string, unknown>[] = [];
  const e = await createEnforcer({
    policy: { source: GRANT_POLICY, fileName: "g.armor" },
    approvals: q,
    throwOnDeny: false,
    clock: () => clock.now,
    approvalTimeoutMs: 60_000,
    audit: { callback: (r) => void records.push(r as unknown as Record<string, unknown>) },
  });
  const asked = new Set<string>();
  /** Runs an action; approves it (with `grant`) if it is asked, and says whether it was. */
  const act = async (action: Record<string, unknown>, session = "s1", answer: { grant?: boolean; approve?: boolean } = {}, tool: () => unknown = () => "ran") => {
    const running = e.run(action, { session }, tool as () => string);
    const waited = await Promise.race([running.then(() => null), q.waitFor((p) => !asked.has(p.id))]);
    if (waited !== null) {
      asked.add(waited.id);
      q.resolve(waited.id, { approved: answer.approve ?? true, approver: "ann", ...(answer.grant ? { grant: true } : {}) });
    }
    return { asked: waited !== null, ...(await running) };
  };
  const events = (...kinds: string[]) => records.filter((r) => r.kind === "approval" && kinds.includes(r.event as string));
  return { clock, q, e, act, records, events };
}

describe("grants", () => {
  it("a session grant covers the rule's later actions in that session only, audited with its id", async () => {
    const g = await granting();
    expect(await g.act({ type: "send", to: "a" }, "s1", { grant: true })).toMatchObject({ asked: true, decision: { decision: "allow" } });
    const [created] = g.events("grant");
    expect(created).toMatchObject({ grantId: expect.stringMatching(/^grant-/), rule: "sends", scope: "session", value: "s1", approvers: ["ann"] });
    const covered = await g.act({ type: "send", to: "b" }, "s1");
    expect(covered).toMatchObject({ asked: false, result: "ran", decision: { decision: "allow", grant: { id: created!.grantId, rule: "sends" } } });
    expect(g.events("grant_used")).toEqual([expect.objectContaining({ grantId: created!.grantId, decisionId: covered.decision.id })]);
    // another session is asked (and rejected here)
    expect(await g.act({ type: "send", to: "b" }, "s2", { approve: false })).toMatchObject({ asked: true, decision: { decision: "deny" } });
    await g.e.close();
  });

  it("approving once grants nothing", async () => {
    const g = await granting();
    await g.act({ type: "send", to: "a" }, "s1");
    expect((await g.act({ type: "send", to: "a" }, "s1")).asked).toBe(true);
    expect(g.events("grant", "grant_used")).toEqual([]);
    await g.e.close();
  });

  it("an amount grant covers one recipient up to its limit, exactly, and deny rules still deny", async () => {
    const g = await granting();
    await g.act({ type: "wire", to: "acme", amount: 100 }, "s1", { grant: true });
    // [action, asked, decision]
    const STEPS: [Record<string, unknown>, boolean, string][] = [
      [{ type: "wire", to: "acme", amount: 600 }, false, "allow"],
      // 400 are left: a little more is asked for
      [{ type: "wire", to: "acme", amount: 400.01 }, true, "allow"],
      [{ type: "wire", to: "evil", amount: 1 }, true, "allow"],
      [{ type: "wire", to: "acme", amount: 6000 }, false, "deny"],
      [{ type: "wire", to: "acme", amount: 400 }, false, "allow"],
      // exhausted
      [{ type: "wire", to: "acme", amount: 0.01 }, true, "allow"],
    ];
    for (const [action, asked, decision] of STEPS) expect(await g.act(action, "s9"), JSON.stringify(action)).toMatchObject({ asked, decision: { decision } });
    expect(g.events("grant_used").map((r) => [r.amount, r.remaining, r.exhausted ?? false])).toEqual([
      [600, 400, false],
      [400, 0, true],
    ]);
    await g.e.close();
  });

  it("adds amounts exactly: 0.1 then 0.2 overrun a grant of 0.3", async () => {
    const g = await granting();
    await g.act({ type: "pay", to: "x", amount: 1 }, "s1", { grant: true });
    expect((await g.act({ type: "pay", to: "x", amount: 0.1 })).asked).toBe(false);
    // 0.1 + 0.2 is more than 0.3 in the doubles the amounts are
    expect((await g.act({ type: "pay", to: "x", amount: 0.2 })).asked).toBe(true);
    await g.e.close();
  });

  it("an expired grant is found, recorded and dropped, and the approver asked again", async () => {
    const g = await granting();
    await g.act({ type: "send" }, "s1", { grant: true });
    g.clock.now += 30 * 60_000;
    expect((await g.act({ type: "send" }, "s1")).asked).toBe(true);
    expect(g.events("grant_expired")).toHaveLength(1);
    await g.e.close();
  });

  it("gives the amount back when the tool fails", async () => {
    const g = await granting();
    await g.act({ type: "wire", to: "acme", amount: 1 }, "s1", { grant: true });
    await expect(
      g.act({ type: "wire", to: "acme", amount: 1000 }, "s1", {}, () => {
        throw new Error("bank down");
      }),
    ).rejects.toThrow("bank down");
    expect(g.events("grant_returned")).toHaveLength(1);
    // the whole 1000 is there again
    expect(await g.act({ type: "wire", to: "acme", amount: 1000 })).toMatchObject({ asked: false, decision: { decision: "allow" } });
    await g.e.close();
  });
});

describe("a grant that is not on record", () => {
  // [onAuditFailure, whether the grant is made when its \`grant\` record cannot be written]
  const CASES: ["deny" | "allow" | undefined, boolean][] = [
    [undefined, false],
    ["deny", false],
    ["allow", true],
  ];
  it.each(CASES)("onAuditFailure %s: grant made %s", async (onAuditFailure, made) => {
    const q = createApprovalQueue();
    const events: string[] = [];
    const e = await createEnforcer({
      policy: { source: 'default allow\nrule wires when action.type == "wire" require approval grant session 1h\n', fileName: "g.armor" },
      approvals: q,
      throwOnDeny: false,
      approvalTimeoutMs: 60_000,
      ...(onAuditFailure ? { onAuditFailure } : {}),
      audit: {
        callback: (r) => {
          const rec = r as unknown as Record<string, unknown>;
          if (rec.kind === "approval" && rec.event === "grant") throw new Error("disk full");
          if (rec.kind === "approval") events.push(rec.event as string);
        },
      },
    });
    const first = e.run({ type: "wire", amount: 1 }, { session: "s" }, () => "ran");
    const p = await q.waitFor(() => true);
    q.resolve(p.id, { approved: true, approver: "ann", grant: true });
    // the approved action runs either way: only the grant depends on its record
    expect((await first).decision.decision).toBe("allow");
    const second = e.run({ type: "wire", amount: 2 }, { session: "s" }, () => "ran");
    const asked = await Promise.race([second.then(() => null), q.waitFor((x) => x.id !== p.id)]);
    if (asked !== null) q.resolve(asked.id, { approved: false, approver: "ann" });
    expect(asked === null).toBe(made);
    expect(events.includes("grant_used")).toBe(made);
    await second;
    await e.close();
  });
});

describe("grants after a policy reload", () => {
  const V1 = `default allow
rule wires when action.type == "wire" require approval from "finance" grant action.to 1h up to 1000 of action.amount
`;
  const rule = (clause: string) => `default allow\nrule wires when action.type == "wire" require approval ${clause}\n`;
  // [the rule after the reload, whether the grant still covers]
  const CASES: [string, boolean][] = [
    [rule('from "finance" grant action.to 1h up to 1000 of action.amount'), true],
    [rule('from "security" grant action.to 1h up to 1000 of action.amount'), false],
    [rule('from "finance" quorum 2 grant action.to 1h up to 1000 of action.amount'), false],
    [rule('from "finance" grant action.to 1h up to 100 of action.amount'), false],
    [rule('from "finance" grant action.to 30m up to 1000 of action.amount'), false],
    [rule('from "finance" grant action.to 1h'), false],
    [rule("grant action.to 1h up to 1000 of action.amount"), false],
  ];
  it.each(CASES)("a grant made under the old rule covers only the same offer: %s", async (v2, covers) => {
    const q = createApprovalQueue();
    const records: Record<string, unknown>[] = [];
    const e = await createEnforcer({
      policy: { source: V1, fileName: "g.armor" },
      approvals: q,
      throwOnDeny: false,
      approvalTimeoutMs: 60_000,
      audit: { callback: (r) => void records.push(r as unknown as Record<string, unknown>) },
    });
    const first = e.run({ type: "wire", to: "acme", amount: 10 }, { session: "s" }, () => "ran");
    const p = await q.waitFor(() => true);
    q.resolve(p.id, { approved: true, approver: "ann", groups: ["finance"], grant: true });
    expect((await first).decision.decision).toBe("allow");
    expect((await e.reload({ source: v2, fileName: "g.armor" })).ok).toBe(true);
    const second = e.run({ type: "wire", to: "acme", amount: 50 }, { session: "s" }, () => "ran");
    const asked = await Promise.race([second.then(() => null), q.waitFor((x) => x.id !== p.id)]);
    if (asked !== null) q.resolve(asked.id, { approved: false, approver: "ann" });
    expect(asked === null).toBe(covers);
    expect((await second).decision.decision).toBe(covers ? "allow" : "deny");
    const ev = (k: string) => records.filter((r) => r.kind === "approval" && r.event === k);
    expect(ev("grant_used")).toHaveLength(covers ? 1 : 0);
    expect(ev("grant_revoked")).toHaveLength(covers ? 0 : 1);
    await e.close();
  });
});

describe("grant data that cannot be trusted", () => {
  it("bounds the grants of one scope: a flood keeps the newest", () => {
    const store = memoryGrantStore();
    const offer = { rule: "sends", scope: "session", durationMs: 3_600_000, upTo: null, of: null };
    for (let i = 0; i < 1000; i++) store.create(`g${i}`, offer, "s1", 0);
    const { live } = store.find("sends", "session", "s1", 1);
    expect(live.map((g) => g.id)).toEqual(Array.from({ length: MAX_GRANTS_PER_SCOPE }, (_v, i) => `g${1000 - MAX_GRANTS_PER_SCOPE + i}`));
    // and in all
    for (let i = 0; i < MAX_GRANTS + 50; i++) store.create(`h${i}`, offer, `s${i}`, 0);
    expect(store.find("sends", "session", `s${MAX_GRANTS + 49}`, 1).live).toHaveLength(1);
    expect(store.find("sends", "session", "s20", 1).live).toHaveLength(0);
  });

  const POLICY_DECIDE = `default allow
rule sends when action.type == "send" require approval grant session 30m
`;
  const GRANT = { id: "g1", rule: "sends", scope: "session", value: "s1", expiresAt: "2026-03-02T11:00:00Z" };
  // [what, input besides the action, decision]
  const INPUTS: [string, () => Record<string, unknown>, string][] = [
    ["a live grant of the session", () => ({ session: { id: "s1" }, grants: [GRANT] }), "allow"],
    ["a grant of another session", () => ({ session: { id: "s2" }, grants: [GRANT] }), "require_approval"],
    ["a grant of another rule", () => ({ session: { id: "s1" }, grants: [{ ...GRANT, rule: "other" }] }), "require_approval"],
    ["an expired grant", () => ({ session: { id: "s1" }, time: "2026-03-02T11:00:00Z", grants: [GRANT] }), "require_approval"],
    ["grant fields on the prototype only", () => ({ session: { id: "s1" }, grants: [Object.create(GRANT)] }), "deny"],
    ["an own __proto__ key holding a grant", () => ({ session: { id: "s1" }, grants: [JSON.parse(`{"__proto__": ${JSON.stringify(GRANT)}}`)] }), "deny"],
    ["a session id on the prototype only", () => ({ session: Object.create({ id: "s1" }), grants: [GRANT] }), "require_approval"],
    ["grants on the prototype only", () => Object.create({ grants: [GRANT], session: { id: "s1" } }), "require_approval"],
    ["grants that are not a list", () => ({ session: { id: "s1" }, grants: { 0: GRANT, length: 1 } }), "deny"],
    ["more than 1,000 grants", () => ({ session: { id: "s1" }, grants: Array.from({ length: 1001 }, () => GRANT) }), "deny"],
    [
      "a grant behind a getter that throws",
      () => ({
        session: { id: "s1" },
        grants: Object.defineProperty([], 0, {
          get: () => {
            throw new Error("boom");
          },
          enumerable: true,
        }),
      }),
      "deny",
    ],
    ["an expiry that is no time", () => ({ session: { id: "s1" }, grants: [{ ...GRANT, expiresAt: "2026-02-30T10:00:00Z" }] }), "deny"],
  ];

  it.each(INPUTS)("decide with %s", async (_what, extra, decision) => {
    const c = compileSource("d.armor", POLICY_DECIDE);
    const m = (await import(`data:text/javascript,${encodeURIComponent(emit(c).js)}`)) as PolicyModule;
    const input = Object.assign(extra(), { action: { type: "send" }, ...(Object.hasOwn(extra(), "time") ? {} : { time: "2026-03-02T10:00:00Z" }) });
    const d = m.decide(input);
    expect(d.decision).toBe(decision);
    expect(evaluatePolicy(c.policy, input).result.decision).toBe(decision);
    if (decision === "deny") expect(d.errors[0]).toMatchObject({ rule: "sends", message: expect.stringMatching(/grants/) });
  });

  it("Object.prototype polluted with grant fields grants nothing", async () => {
    const c = compileSource("d.armor", POLICY_DECIDE);
    const m = (await import(`data:text/javascript,${encodeURIComponent(emit(c).js)}`)) as PolicyModule;
    const proto = Object.prototype as Record<string, unknown>;
    const inputs = [
      { action: { type: "send" }, session: {} },
      { action: { type: "send" }, session: { id: "s1" }, grants: [{}] },
    ];
    const decided: [string, boolean][] = [];
    try {
      Object.assign(proto, { grants: [GRANT], id: "s1", rule: "sends", scope: "session", value: "s1", expiresAt: GRANT.expiresAt });
      for (const input of inputs) {
        const d = m.decide({ ...input, time: "2026-03-02T10:00:00Z" });
        decided.push([d.decision, Object.hasOwn(d, "grant")]);
      }
    } finally {
      // (expect itself reads fields the pollution would answer)
      for (const k of ["grants", "id", "rule", "scope", "value", "expiresAt"]) delete proto[k];
    }
    // without an own session id the grant is not for this session; an own grant without own fields denies
    expect(decided).toEqual([
      ["require_approval", false],
      ["deny", false],
    ]);
  });

  it("refuses at start a shared store, which keeps no grants, for a policy that offers one", async () => {
    const fail = async () => {
      throw new Error("unused");
    };
    const store = {
      shared: true as const,
      name: "redis://127.0.0.1:6379",
      read: fail,
      refile: fail,
      keep: fail,
      confirm: fail,
      pending: fail,
      release: fail,
      addLabels: fail,
      forget: fail,
      close: async () => {},
    };
    await expect(createEnforcer({ policy: { source: GRANT_POLICY, fileName: "g.armor" }, history: store as never })).rejects.toThrow(
      /shared history store redis:\/\/127\.0\.0\.1:6379 keeps no grants, which rule `wires` offers/,
    );
  });
});

describe("grants over HTTP", () => {
  it("shows the grant a rule offers, and an approval with grant: true makes it", async () => {
    const q = createApprovalQueue();
    const ep = await serveApprovals(q, { approvers: approversFrom(APPROVERS) });
    const e = await createEnforcer({ policy: { source: GRANT_POLICY, fileName: "g.armor" }, approvals: q, throwOnDeny: false });
    try {
      const first = e.run({ type: "wire", to: "acme", amount: 10 }, { session: "h" }, () => "ran");
      const p = await q.waitFor();
      const shown = await fetch(`${ep.url}/${encodeURIComponent(p.id)}`, { headers: { authorization: `Bearer ${TOKENS.ann}` } });
      expect(((await shown.json()) as { grant: unknown }).grant).toEqual({ rule: "wires", scope: "action.to", durationMs: 3_600_000, upTo: 1000, of: "action.amount" });
      const res = await fetch(`${ep.url}/${encodeURIComponent(p.id)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKENS.ann}`, "content-type": "application/json" },
        body: JSON.stringify({ approved: true, grant: true }),
      });
      expect(res.status).toBe(200);
      expect((await first).decision.decision).toBe("allow");
      // the next wire to acme runs without asking
      expect(await e.run({ type: "wire", to: "acme", amount: 999 }, { session: "other" }, () => "ran")).toMatchObject({ result: "ran", decision: { grant: { rule: "wires" } } });
    } finally {
      await ep.close();
      await e.close();
    }
  });
});
