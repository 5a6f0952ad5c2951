/**
 * Quorum: `require approval from "finance" quorum 2`. The queue counts each approval as the vote
 * of its approver (the same approver twice counts once, an approval without a name counts only for
 * a quorum of 1) and settles at the quorum or the first rejection; the enforcer checks what any
 * handler answers (too few distinct approvers, an approver outside the group: deny, saying why)
 * and records every vote in the audit log.
 */
import { describe, expect, it } from "vitest";
import { createApprovalQueue } from "../src/approvals.js";
import { createEnforcer } from "../src/enforcer.js";
import { actionHash } from "../src/hash.js";
import type { ApprovalHandler, ApprovalRequest, ApprovalResponse } from "../src/types.js";

function request(id: string, quorum: number, onVote?: ApprovalRequest["onVote"]): ApprovalRequest {
  const action = { type: "wire", amount: 10 };
  return {
    id,
    action,
    actionHash: actionHash(action),
    rules: [{ id: "wires", effect: "require_approval", reason: null }],
    reason: null,
    from: "finance",
    timeoutMs: 60_000,
    quorum,
    grant: null,
    session: "s",
    user: undefined,
    policy: { name: "p", version: null, sourceHash: "x" },
    signal: new AbortController().signal,
    ...(onVote ? { onVote } : {}),
  };
}

type Vote = [approver: string | null, approved: boolean];
// [what, quorum, votes, what resolve returns for each, the answer (or "pending")]
const VOTES: [string, number, Vote[], boolean[], Partial<ApprovalResponse> | "pending"][] = [
  ["one approval, quorum 1", 1, [["ann", true]], [true], { approved: true, approver: "ann", approvers: ["ann"] }],
  ["an unnamed approval, quorum 1", 1, [[null, true]], [true], { approved: true, approvers: [] }],
  ["one approval, quorum 2", 2, [["ann", true]], [true], "pending"],
  [
    "the same approver twice, quorum 2",
    2,
    [
      ["ann", true],
      ["ann", true],
    ],
    [true, false],
    "pending",
  ],
  ["an unnamed approval, quorum 2", 2, [[null, true]], [false], "pending"],
  [
    "two approvers, quorum 2",
    2,
    [
      ["ann", true],
      ["bob", true],
    ],
    [true, true],
    { approved: true, approver: "bob", approvers: ["ann", "bob"] },
  ],
  [
    "a rejection after one approval",
    2,
    [
      ["ann", true],
      ["bob", false],
    ],
    [true, true],
    { approved: false, approver: "bob" },
  ],
  [
    "a rejection by someone who approved",
    2,
    [
      ["ann", true],
      ["ann", false],
    ],
    [true, true],
    { approved: false, approver: "ann" },
  ],
  [
    "three approvers, quorum 3, one repeating",
    3,
    [
      ["ann", true],
      ["bob", true],
      ["bob", true],
      ["cy", true],
    ],
    [true, true, false, true],
    { approved: true, approvers: ["ann", "bob", "cy"] },
  ],
];

describe("the queue counts votes", () => {
  it.each(VOTES)("%s", async (_what, quorum, votes, returns, answer) => {
    const queue = createApprovalQueue();
    const seen: [string | null, boolean][] = [];
    const p = queue.request(request("r", quorum, (v) => seen.push([v.approver, v.approved])));
    const got = votes.map(([approver, approved]) => queue.resolve("r", approver === null ? { approved } : { approved, approver }));
    expect(got).toEqual(returns);
    // every vote that counted was reported, in order
    expect(seen).toEqual(votes.filter((_v, i) => got[i]));
    if (answer === "pending") {
      expect(queue.get("r")?.approvers).toEqual([...new Set(votes.filter(([a, ok]) => ok && a !== null).map(([a]) => a))]);
      expect(queue.get("r")?.quorum).toBe(quorum);
      queue.reject("r", "cleanup");
    } else {
      expect(await p).toMatchObject(answer);
      expect(queue.get("r")).toBeUndefined();
    }
    await p.catch(() => undefined);
  });
});

const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" quorum 2 because "two people"
`;

/** A handler that answers every request with `response`. */
const answering = (response: ApprovalResponse): ApprovalHandler => ({ request: async () => response });

describe("the enforcer checks what a handler answers", () => {
  // [what, answer, decision, error text]
  const ANSWERS: [string, ApprovalResponse, "allow" | "deny", RegExp | null][] = [
    ["one approver for quorum 2", { approved: true, approver: "ann" }, "deny", /approved by 1 distinct approver \(ann\), and the rule needs 2/],
    ["one approver named twice", { approved: true, approver: "ann", approvers: ["ann", "ann"] }, "deny", /1 distinct approver \(ann\)/],
    ["no named approver", { approved: true }, "deny", /no named approver, and the rule needs 2/],
    ["two approvers", { approved: true, approver: "bob", approvers: ["ann", "bob"] }, "allow", null],
    ["two approvers, one outside the group", { approved: true, approvers: ["ann", "eve"], groups: { ann: ["finance"], eve: ["support"] } }, "deny", /eve is not in the group `finance`/],
    ["groups on the prototype only", { approved: true, approvers: ["ann", "bob"], groups: Object.create({ ann: ["finance"], bob: ["finance"] }) }, "deny", /ann, bob are not in the group `finance`/],
    ["two approvers in the group", { approved: true, approvers: ["ann", "bob"], groups: { ann: ["finance"], bob: ["finance", "ops"] } }, "allow", null],
  ];
  it.each(ANSWERS)("%s", async (_what, response, decision, error) => {
    const lines: Record<string, unknown>[] = [];
    const enforcer = await createEnforcer({
      policy: { source: POLICY, fileName: "q.armor" },
      approvals: answering(response),
      throwOnDeny: false,
      audit: { callback: (r) => void lines.push(r as unknown as Record<string, unknown>) },
    });
    const ran = await enforcer.run({ type: "wire", amount: 5 }, { session: "s" }, () => "ran");
    expect(ran.decision.decision).toBe(decision);
    const messages = ran.decision.errors.map((e) => e.message).join("\n");
    if (error) expect(messages).toMatch(error);
    else expect(ran.result).toBe("ran");
    // every distinct approver the answer named has a vote record
    const votes = lines.filter((r) => r.kind === "approval" && r.event === "vote").map((r) => r.approver);
    expect(votes).toEqual([...new Set([...(response.approvers ?? []), ...(response.approver ? [response.approver] : [])])]);
    await enforcer.close();
  });

  it("records each vote taken by the queue before the answer, in the hash chain", async () => {
    const queue = createApprovalQueue();
    const lines: Record<string, unknown>[] = [];
    const enforcer = await createEnforcer({
      policy: { source: POLICY, fileName: "q.armor" },
      approvals: queue,
      throwOnDeny: false,
      audit: { callback: (r) => void lines.push(r as unknown as Record<string, unknown>) },
    });
    const running = enforcer.run({ type: "wire", amount: 5 }, { session: "s" }, () => "ran");
    const p = await queue.waitFor();
    expect(p.quorum).toBe(2);
    expect(queue.approve(p.id, "ann")).toBe(true);
    expect(queue.approve(p.id, "ann")).toBe(false);
    expect(queue.get(p.id)?.approvers).toEqual(["ann"]);
    expect(queue.approve(p.id, "bob", "fine")).toBe(true);
    const ran = await running;
    expect(ran.decision.decision).toBe("allow");
    const events = lines.filter((r) => r.kind === "approval").map((r) => [r.event, r.approver ?? null]);
    expect(events).toEqual([
      ["requested", null],
      ["vote", "ann"],
      ["vote", "bob"],
      ["approved", "bob"],
    ]);
    const answered = lines.find((r) => r.kind === "approval" && r.event === "approved");
    expect(answered).toMatchObject({ approvers: ["ann", "bob"] });
    await enforcer.close();
  });
});

describe("an approval holds for the quorum it was asked with", () => {
  const rule = (clause: string) => `default allow\nrule wires when action.type == "wire" require approval ${clause}\n`;
  // [the rule when asked, the rule reloaded while waiting, whether the approval given still holds]
  const RELOADS: [string, string, boolean][] = [
    ['from "finance"', 'from "finance"', true],
    ['from "finance"', 'from "finance" quorum 2', false],
    ['from "finance" quorum 2', 'from "finance" quorum 3', false],
    ['from "finance" quorum 2', 'from "finance"', false],
    ['from "finance"', 'from "security"', false],
  ];
  it.each(RELOADS)("asked %s, reloaded to %s", async (before, after, holds) => {
    const queue = createApprovalQueue();
    const enforcer = await createEnforcer({ policy: { source: rule(before), fileName: "q.armor" }, approvals: queue, throwOnDeny: false, approvalTimeoutMs: 60_000 });
    const running = enforcer.run({ type: "wire", amount: 5 }, { session: "s" }, () => "ran");
    const p = await queue.waitFor();
    expect((await enforcer.reload({ source: rule(after), fileName: "q.armor" })).ok).toBe(true);
    for (const name of ["ann", "bob"].slice(0, p.quorum)) queue.resolve(p.id, { approved: true, approver: name, groups: ["finance"] });
    const again = await Promise.race([running.then(() => null), queue.waitFor((x) => x.id !== p.id || x.approvers.length === 0)]);
    expect(again === null).toBe(holds);
    if (again !== null) {
      expect(again.quorum).toBe(/quorum (\d)/.exec(after)?.[1] === undefined ? 1 : Number(/quorum (\d)/.exec(after)![1]));
      queue.reject(again.id, "no");
    }
    expect((await running).decision.decision).toBe(holds ? "allow" : "deny");
    await enforcer.close();
  });
});

describe("the in-memory queue is bounded", () => {
  // [maxPending (undefined: the default), requests, how many wait]
  const BOUNDS: [number | undefined, number, number][] = [
    [3, 5, 3],
    [1, 1, 1],
    [undefined, 1_005, 1_000],
  ];
  it.each(BOUNDS)("maxPending %s: %i requests, %i pending", async (maxPending, n, waits) => {
    const queue = createApprovalQueue(maxPending === undefined ? {} : { maxPending });
    const answers = Array.from({ length: n }, (_v, i) => queue.request(request(`r${i}`, 1)));
    const settled = await Promise.race([Promise.allSettled(answers.slice(waits)), new Promise((r) => setTimeout(() => r("pending"), 50))]);
    expect(queue.pending()).toHaveLength(waits);
    if (n > waits) {
      expect(settled).not.toBe("pending");
      for (const s of settled as PromiseSettledResult<unknown>[]) expect(s).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/already holds \d+ pending requests/) } });
    }
    for (const p of queue.pending()) queue.reject(p.id, "cleanup");
    await Promise.allSettled(answers);
    // room again once they settle
    const again = queue.request(request("again", 1));
    expect(queue.pending()).toHaveLength(1);
    queue.reject("again", "cleanup");
    await again.catch(() => undefined);
  });

  it("the enforcer denies an action the queue refuses, saying why", async () => {
    const queue = createApprovalQueue({ maxPending: 1 });
    const enforcer = await createEnforcer({
      policy: { source: 'default allow\nrule wires when action.type == "wire" require approval\n', fileName: "q.armor" },
      approvals: queue,
      throwOnDeny: false,
      approvalTimeoutMs: 60_000,
    });
    const first = enforcer.run({ type: "wire", amount: 1 }, { session: "s" }, () => "ran");
    await queue.waitFor();
    const second = await enforcer.run({ type: "wire", amount: 2 }, { session: "s" }, () => "ran");
    expect(second.decision.decision).toBe("deny");
    expect(second.decision.errors.map((e) => e.message).join("\n")).toMatch(/the approval handler failed: the approval queue already holds 1 pending requests/);
    for (const p of queue.pending()) queue.resolve(p.id, { approved: true, approver: "ann" });
    expect((await first).decision.decision).toBe("allow");
    await enforcer.close();
  });
});
