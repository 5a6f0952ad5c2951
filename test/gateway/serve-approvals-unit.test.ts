/**
 * serve-approvals.ts in process: which kept decisions a full service forgets first, and an
 * approval whose audit record cannot be written (not opened; an approval that does not count).
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDecisionService } from "@agent-armor/gateway";
import { actionHash, type Decision } from "@agent-armor/runtime";
import { describe, expect, it } from "vitest";
import { approvalAsksOf, unenforcedApprovalsWarning } from "../../packages/gateway/src/approvals-http.js";
import { createServiceApprovals } from "../../packages/gateway/src/serve-approvals.js";

const decision = (id: string, session = "s"): Decision =>
  ({
    decision: "require_approval",
    id,
    session,
    action: { type: "wire", id },
    actionHash: `${id}`.padEnd(64, "0"),
    rules: [{ id: "r", effect: "require_approval", reason: "why" }],
    approval: { from: "finance", timeoutMs: 60_000 },
    errors: [],
    labels: [],
    policy: { name: "p", version: null, sourceHash: "h" },
    time: new Date().toISOString(),
  }) as unknown as Decision;

describe("the service's approvals", () => {
  it("a full service forgets decisions never opened first, then settled ones, never a pending one", async () => {
    const a = createServiceApprovals({ audit: async () => undefined, maxKept: 3 });
    a.keep(decision("a"), undefined);
    a.keep(decision("b"), undefined);
    await a.open("a", undefined);
    await a.open("b", undefined);
    a.keep(decision("c"), undefined);
    a.keep(decision("d"), undefined); // full: c, never opened, goes
    await expect(a.open("c", undefined)).rejects.toMatchObject({ status: 404, code: "unknown_decision" });
    await expect(a.open("a", undefined)).resolves.toMatchObject({ status: "pending" });
    a.queue.approve("a", "ann");
    await a.wait("a", 1_000);
    a.keep(decision("e"), undefined); // full: d, never opened, goes before a, settled
    await expect(a.open("d", undefined)).rejects.toMatchObject({ status: 404 });
    await a.open("e", undefined);
    a.keep(decision("f"), undefined); // full, nothing unopened: a, settled, goes; b and e are pending
    await expect(a.open("a", undefined)).rejects.toMatchObject({ status: 404 });
    await expect(a.open("b", undefined)).resolves.toMatchObject({ status: "pending" });
    await expect(a.open("e", undefined)).resolves.toMatchObject({ status: "pending" });
    await expect(a.open("f", undefined)).resolves.toMatchObject({ status: "pending" });
    a.close();
  });

  it("an approval whose request cannot be recorded is not opened; one whose answer cannot be recorded does not count", async () => {
    let fail: "requested" | "approved" | null = "requested";
    const a = createServiceApprovals({
      audit: async (f) => {
        if (f.event === fail) throw new Error("disk full");
      },
    });
    a.keep(decision("x"), undefined);
    await expect(a.open("x", undefined)).rejects.toMatchObject({ status: 500, code: "audit_failed" });
    expect(a.queue.pending()).toEqual([]);
    fail = "approved";
    await expect(a.open("x", undefined)).resolves.toMatchObject({ status: "pending" });
    a.queue.approve("x", "ann");
    const state = await a.wait("x", 1_000);
    expect(state).toMatchObject({ status: "error", note: "the approval could not be recorded: disk full" });
    expect(() => a.checkRecord("x", { type: "wire", id: "x" }, "s")).toThrow(/its approval is error/);
    // reported by another session: refused before anything else is said of it
    expect(() => a.checkRecord("x", { type: "wire", id: "x" }, "other")).toThrow(expect.objectContaining({ status: 409, code: "session_mismatch" }));
    a.close();
  });

  // [what, maxPending, maxPendingPerSession, the sessions of the decisions opened at once, how many open]
  const RACES: [string, number, number, string[], number][] = [
    ["one session, past its limit", 5, 2, Array(20).fill("one"), 2],
    ["many sessions, past the overall limit", 5, 16, Array.from({ length: 20 }, (_v, i) => `s${i}`), 5],
    ["two sessions, each past its limit", 10, 3, Array.from({ length: 20 }, (_v, i) => `s${i % 2}`), 6],
    ["within the limits", 256, 16, ["a", "b", "a"], 3],
  ];
  it.each(RACES)("concurrent opens keep the pending limits: %s", async (_what, maxPending, maxPendingPerSession, sessions, opens) => {
    // a slow audit log: every open waits on its record
    const a = createServiceApprovals({ audit: () => new Promise((r) => setTimeout(r, 20)), maxPending, maxPendingPerSession });
    for (const [i, s] of sessions.entries()) a.keep(decision(`d${i}`, s), undefined);
    const res = await Promise.allSettled(sessions.map((_s, i) => a.open(`d${i}`, undefined)));
    expect(res.filter((r) => r.status === "fulfilled")).toHaveLength(opens);
    for (const r of res) if (r.status === "rejected") expect(r.reason).toMatchObject({ status: 429, code: "too_many_pending" });
    expect(a.queue.pending()).toHaveLength(opens);
    a.close();
    for (const p of a.queue.pending()) a.queue.reject(p.id, "cleanup");
  });

  it("an open that cannot be recorded does not count against the limits", async () => {
    let fail = true;
    const a = createServiceApprovals({
      audit: async () => {
        if (fail) throw new Error("disk full");
      },
      maxPending: 1,
    });
    a.keep(decision("x"), undefined);
    a.keep(decision("y"), undefined);
    await expect(a.open("x", undefined)).rejects.toMatchObject({ status: 500 });
    fail = false;
    await expect(a.open("y", undefined)).resolves.toMatchObject({ status: "pending" });
    a.close();
    a.queue.reject("y", "cleanup");
  });

  // [what, quorum, votes (approver, approved), the approval records written]
  const VOTED: [string, number, [string, boolean][], unknown[][]][] = [
    [
      "quorum 2, two approvals",
      2,
      [
        ["ann", true],
        ["bob", true],
      ],
      [
        ["requested", undefined, undefined],
        ["vote", "ann", undefined],
        ["vote", "bob", undefined],
        ["approved", "bob", ["ann", "bob"]],
      ],
    ],
    [
      "quorum 2, one approval, then a rejection",
      2,
      [
        ["ann", true],
        ["bob", false],
      ],
      [
        ["requested", undefined, undefined],
        ["vote", "ann", undefined],
        ["vote", "bob", undefined],
        ["rejected", "bob", undefined],
      ],
    ],
    [
      "one approver",
      1,
      [["ann", true]],
      [
        ["requested", undefined, undefined],
        ["vote", "ann", undefined],
        ["approved", "ann", undefined],
      ],
    ],
  ];
  it.each(VOTED)("records each vote, and the approvers of a quorum: %s", async (_what, quorum, votes, want) => {
    const records: Record<string, unknown>[] = [];
    const a = createServiceApprovals({ audit: async (f) => void records.push(f) });
    const d = decision("q") as unknown as { approval: Record<string, unknown> };
    d.approval = { ...d.approval, quorum };
    a.keep(d as unknown as Decision, undefined);
    await a.open("q", undefined);
    for (const [approver, approved] of votes) a.queue.resolve("q", { approved, approver });
    expect((await a.wait("q", 1_000)).status).toBe(votes.every(([, ok]) => ok) ? "approved" : "rejected");
    expect(records.map((r) => [r.event, r.approver ?? undefined, r.approvers])).toEqual(want);
    a.close();
  });

  it("an approval whose vote cannot be recorded does not count", async () => {
    const a = createServiceApprovals({
      audit: async (f) => {
        if (f.event === "vote" && f.approver === "bob") throw new Error("disk full");
      },
    });
    const d = decision("v") as unknown as { approval: Record<string, unknown> };
    d.approval = { ...d.approval, quorum: 2 };
    a.keep(d as unknown as Decision, undefined);
    await a.open("v", undefined);
    a.queue.approve("v", "ann");
    a.queue.approve("v", "bob");
    expect(await a.wait("v", 1_000)).toMatchObject({ status: "error", note: "the approval could not be recorded: disk full" });
    a.close();
  });

  it("an approval is used by a record that counted it, never by one that failed (a retry is let through)", async () => {
    const a = createServiceApprovals({ audit: async () => {} });
    const action = { type: "wire", id: "u" };
    a.keep({ ...decision("u"), action, actionHash: actionHash(action) } as Decision, undefined);
    await a.open("u", undefined);
    a.queue.approve("u", "ann");
    expect((await a.wait("u", 1_000)).status).toBe("approved");
    // [step, "check" (checkRecord: true, or the error it throws) or "done" (recordDone with counted)]
    const STEPS: [string, "check" | "done", true | RegExp | boolean][] = [
      ["a first record", "check", true],
      ["a second while the first is under way", "check", /under way/],
      ["the first fails: nothing counted (store_unavailable)", "done", false],
      ["a retry", "check", true],
      ["the retry counted", "done", true],
      ["once used", "check", /already reported/],
    ];
    for (const [step, op, want] of STEPS) {
      if (op === "done") a.recordDone("u", want as boolean);
      else if (want === true) expect([step, a.checkRecord("u", action, "s")]).toEqual([step, true]);
      else expect(() => a.checkRecord("u", action, "s"), step).toThrow(want as RegExp);
    }
    a.close();
  });

  it("bounds the decisions kept by the length of their JSON, the oldest going first", async () => {
    const big = (id: string) => ({ ...decision(id), action: { type: "wire", id, memo: "x".repeat(10_000) } }) as unknown as Decision;
    const size = JSON.stringify(big("a0")).length;
    const a = createServiceApprovals({ audit: async () => undefined, maxKeptBytes: 3 * size + 100 });
    for (let i = 0; i < 10; i++) a.keep(big(`a${i}`), undefined);
    expect(a.stats()).toEqual({ kept: 3, bytes: 3 * size });
    await expect(a.open("a6", undefined)).rejects.toMatchObject({ status: 404 });
    await expect(a.open("a7", undefined)).resolves.toMatchObject({ status: "pending" });
    // a pending one stays; one larger than the whole bound is not kept
    for (let i = 10; i < 20; i++) a.keep(big(`a${i}`), undefined);
    await expect(a.open("a7", undefined)).resolves.toMatchObject({ status: "pending" });
    a.keep({ ...decision("huge"), action: { memo: "x".repeat(4 * size) } } as unknown as Decision, undefined);
    await expect(a.open("huge", undefined)).rejects.toMatchObject({ status: 404 });
    expect(a.stats().kept).toBe(3);
    a.close();
    a.queue.reject("a7", "cleanup");
  });

  it("drops decisions past their approval window on a timer", async () => {
    const clock = { now: 1_000_000 };
    const a = createServiceApprovals({ audit: async () => undefined, now: () => clock.now, sweepMs: 20 });
    for (let i = 0; i < 5; i++) a.keep(decision(`t${i}`), undefined);
    expect(a.stats().kept).toBe(5);
    clock.now += 60_001;
    await new Promise((r) => setTimeout(r, 60));
    expect(a.stats()).toEqual({ kept: 0, bytes: 0 });
    a.close();
  });
});

describe("approvals without approvers", () => {
  const work = mkdtempSync(join(tmpdir(), "armor-noapprovers-"));
  const file = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };
  // [the approval rules, the warning printed at start (null: none)]
  const WARNINGS: [string, string | null][] = [
    ['rule a when action.type == "a" require approval', null],
    ['rule a when action.type == "a" require approval quorum 1', null],
    [
      'rule a when action.type == "a" require approval from "finance"',
      'warning: the policy asks for approval from "finance", but no approvers are configured (--approvers FILE): approvers\' groups and distinct names cannot be checked, so neither can be enforced',
    ],
    [
      'rule a when action.type == "a" require approval quorum 2',
      "warning: the policy asks for a quorum of 2, but no approvers are configured (--approvers FILE): approvers' groups and distinct names cannot be checked, so neither can be enforced",
    ],
    [
      'rule a when action.type == "a" require approval from "finance" quorum 2\nrule b when action.type == "b" require approval from "security" quorum 3',
      'warning: the policy asks for approval from "finance", "security" and a quorum of 3, but no approvers are configured (--approvers FILE): approvers\' groups and distinct names cannot be checked, so neither can be enforced',
    ],
    [
      'default require approval from "ops"',
      'warning: the policy asks for approval from "ops", but no approvers are configured (--approvers FILE): approvers\' groups and distinct names cannot be checked, so neither can be enforced',
    ],
  ];
  it.each(WARNINGS)("%s", async (rules, warning) => {
    const policy = file(`p${WARNINGS.findIndex(([r]) => r === rules)}.armor`, rules.startsWith("default") ? `${rules}\n` : `default allow\n${rules}\n`);
    expect(unenforcedApprovalsWarning(await approvalAsksOf(policy))).toBe(warning);
  });

  it("armor serve prints it at start without --approvers", async () => {
    const policy = file("quorum.armor", 'default allow\nrule a when action.type == "a" require approval from "finance" quorum 2\n');
    const lines: string[] = [];
    const svc = await startDecisionService({ policy, port: 0, log: (l) => void lines.push(l) });
    await svc.close();
    expect(lines).toContain(
      'warning: the policy asks for approval from "finance" and a quorum of 2, but no approvers are configured (--approvers FILE): approvers\' groups and distinct names cannot be checked, so neither can be enforced',
    );
  });
});
