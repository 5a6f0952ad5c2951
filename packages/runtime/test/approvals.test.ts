import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { PendingApproval } from "../src/approvals.js";
import { ApprovalAborted, createApprovalQueue, terminalApprovals } from "../src/approvals.js";
import { actionHash } from "../src/hash.js";
import type { ApprovalRequest } from "../src/types.js";

function makeRequest(id: string, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const action = overrides.action ?? { type: "send_email", to: "ceo@example.com", amount: 1200 };
  return {
    id,
    action,
    actionHash: actionHash(action),
    rules: [{ id: "big_payments", effect: "require_approval", reason: "payments over 1000 need finance" }],
    reason: "payments over 1000 need finance",
    from: "finance",
    timeoutMs: 15 * 60_000,
    quorum: 1,
    grant: null,
    session: "s1",
    user: { id: "u1" },
    policy: { name: "payments", version: "1.2.0", sourceHash: "abc" },
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** Settles-state probe: resolves to "pending" if the promise has not settled after a few ticks. */
async function state<T>(p: Promise<T>): Promise<"pending" | { value: T } | { error: unknown }> {
  const marker = Symbol("pending");
  const r = await Promise.race([
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<typeof marker>((res) => setTimeout(() => res(marker), 20)),
  ]);
  return r === marker ? "pending" : (r as { value: T } | { error: unknown });
}

describe("createApprovalQueue", () => {
  it("keeps a result's stage, value and hash, and refuses an answer for another value", async () => {
    const queue = createApprovalQueue();
    const p = queue.request(makeRequest("r", { stage: "result", value: { a: 1 }, valueHash: "a".repeat(64) }));
    expect(queue.get("r")).toMatchObject({ stage: "result", value: { a: 1 }, valueHash: "a".repeat(64) });
    expect(queue.resolve("r", { approved: true, valueHash: "b".repeat(64) })).toBe(false);
    expect(queue.resolve("r", { approved: true, approver: "dana", valueHash: "a".repeat(64) })).toBe(true);
    await expect(p).resolves.toEqual({ approved: true, approver: "dana", approvers: ["dana"] });
  });

  it("keeps pending requests in arrival order with their details", async () => {
    const queue = createApprovalQueue();
    const p1 = queue.request(makeRequest("a"));
    const p2 = queue.request(makeRequest("b", { from: null, timeoutMs: null }));
    const p3 = queue.request(makeRequest("c"));
    const pending = queue.pending();
    expect(pending.map((p) => p.id)).toEqual(["a", "b", "c"]);
    const first = pending[0]!;
    expect(first).toMatchObject({
      id: "a",
      action: { type: "send_email", to: "ceo@example.com", amount: 1200 },
      rules: [{ id: "big_payments", effect: "require_approval", reason: "payments over 1000 need finance" }],
      reason: "payments over 1000 need finance",
      from: "finance",
      timeoutMs: 900_000,
      quorum: 1,
      approvers: [],
      grant: null,
      session: "s1",
      user: { id: "u1" },
      policy: { name: "payments", version: "1.2.0", sourceHash: "abc" },
    });
    expect(first.actionHash).toBe(actionHash(first.action));
    expect(new Date(first.requestedAt).toISOString()).toBe(first.requestedAt);
    expect(first).not.toHaveProperty("signal");
    expect(queue.get("b")?.from).toBeNull();
    expect(queue.get("zzz")).toBeUndefined();

    expect(queue.approve("b", "alice")).toBe(true);
    expect(queue.pending().map((p) => p.id)).toEqual(["a", "c"]);
    expect(queue.reject("a", "bob", "too much")).toBe(true);
    expect(queue.resolve("c", { approved: true, approver: "carol", note: "ok" })).toBe(true);
    await expect(p1).resolves.toEqual({ approved: false, approver: "bob", note: "too much" });
    await expect(p2).resolves.toEqual({ approved: true, approver: "alice", approvers: ["alice"] });
    await expect(p3).resolves.toEqual({ approved: true, approver: "carol", note: "ok", approvers: ["carol"] });
    expect(queue.pending()).toEqual([]);
  });

  it("refuses double resolution and unknown ids", async () => {
    const queue = createApprovalQueue();
    const p = queue.request(makeRequest("a"));
    expect(queue.resolve("nope", { approved: true })).toBe(false);
    expect(queue.approve("nope", "alice")).toBe(false);
    expect(queue.approve("a", "alice")).toBe(true);
    expect(queue.approve("a", "mallory")).toBe(false);
    expect(queue.reject("a", "mallory")).toBe(false);
    expect(queue.resolve("a", { approved: false })).toBe(false);
    await expect(p).resolves.toEqual({ approved: true, approver: "alice", approvers: ["alice"] });
    expect(queue.get("a")).toBeUndefined();
  });

  it("only passes the response fields through, and coerces approved to a boolean", async () => {
    const queue = createApprovalQueue();
    const p = queue.request(makeRequest("a"));
    const resp = { approved: "yes", approver: "x", actionHash: actionHash(makeRequest("a").action), extra: 1 };
    expect(queue.resolve("a", resp as never)).toBe(true);
    await expect(p).resolves.toEqual({ approved: false, approver: "x" });
  });

  it("refuses an answer pinned to a different action hash", async () => {
    const queue = createApprovalQueue();
    const req = makeRequest("a");
    const p = queue.request(req);
    const staleHash = actionHash({ type: "send_email", to: "ceo@example.com", amount: 12 });
    expect(queue.resolve("a", { approved: true, approver: "alice", actionHash: staleHash })).toBe(false);
    expect(queue.get("a")).toBeDefined();
    expect(await state(p)).toBe("pending");
    expect(queue.resolve("a", { approved: true, approver: "alice", actionHash: req.actionHash })).toBe(true);
    await expect(p).resolves.toEqual({ approved: true, approver: "alice", approvers: ["alice"] });
  });

  it("drops an aborted request and rejects its promise", async () => {
    const queue = createApprovalQueue();
    const ac = new AbortController();
    const p = queue.request(makeRequest("a", { signal: ac.signal }));
    const other = queue.request(makeRequest("b"));
    expect(queue.pending().map((x) => x.id)).toEqual(["a", "b"]);
    ac.abort(new Error("timeout"));
    await expect(p).rejects.toBeInstanceOf(ApprovalAborted);
    await expect(p).rejects.toMatchObject({ name: "ApprovalAborted", id: "a" });
    expect(queue.pending().map((x) => x.id)).toEqual(["b"]);
    expect(queue.approve("a", "alice")).toBe(false);
    expect(queue.approve("b", "alice")).toBe(true);
    await expect(other).resolves.toMatchObject({ approved: true });
  });

  it("rejects at once when the signal is already aborted", async () => {
    const onRequest: PendingApproval[] = [];
    const queue = createApprovalQueue({ onRequest: (p) => onRequest.push(p) });
    const ac = new AbortController();
    ac.abort();
    await expect(queue.request(makeRequest("a", { signal: ac.signal }))).rejects.toBeInstanceOf(ApprovalAborted);
    expect(queue.pending()).toEqual([]);
    expect(onRequest).toEqual([]);
  });

  it("a late abort after resolution changes nothing", async () => {
    const queue = createApprovalQueue();
    const ac = new AbortController();
    const p = queue.request(makeRequest("a", { signal: ac.signal }));
    queue.approve("a", "alice");
    ac.abort();
    await expect(p).resolves.toEqual({ approved: true, approver: "alice", approvers: ["alice"] });
  });

  it("calls onRequest on arrival, which may answer synchronously", async () => {
    const seen: string[] = [];
    const queue = createApprovalQueue({
      onRequest: (p) => {
        seen.push(p.id);
        if (p.id === "auto") queue.approve(p.id, "bot");
      },
    });
    const p1 = queue.request(makeRequest("auto"));
    const p2 = queue.request(makeRequest("manual"));
    expect(seen).toEqual(["auto", "manual"]);
    await expect(p1).resolves.toEqual({ approved: true, approver: "bot", approvers: ["bot"] });
    expect(queue.pending().map((p) => p.id)).toEqual(["manual"]);
    queue.reject("manual", "bot");
    await expect(p2).resolves.toMatchObject({ approved: false });
  });

  it("rejects the request when onRequest throws", async () => {
    const queue = createApprovalQueue({
      onRequest: () => {
        throw new Error("notifier down");
      },
    });
    await expect(queue.request(makeRequest("a"))).rejects.toThrow("notifier down");
    expect(queue.pending()).toEqual([]);
  });

  it("rejects a second request with an id that is still pending", async () => {
    const queue = createApprovalQueue();
    const p = queue.request(makeRequest("a"));
    await expect(queue.request(makeRequest("a"))).rejects.toThrow(/already pending/);
    queue.approve("a", "alice");
    await expect(p).resolves.toMatchObject({ approved: true });
  });

  it("waitFor returns a waiting request or the next one to arrive", async () => {
    const queue = createApprovalQueue();
    const next = queue.waitFor();
    const forB = queue.waitFor((p) => p.id === "b");
    expect(await state(next)).toBe("pending");
    const pa = queue.request(makeRequest("a"));
    expect((await next).id).toBe("a");
    expect(await state(forB)).toBe("pending");
    const pb = queue.request(makeRequest("b"));
    expect((await forB).id).toBe("b");
    // already waiting: returned immediately, first in arrival order
    expect((await queue.waitFor()).id).toBe("a");
    expect((await queue.waitFor((p) => p.id !== "a")).id).toBe("b");

    const pending = await queue.waitFor();
    queue.approve(pending.id, "tester");
    await expect(pa).resolves.toMatchObject({ approved: true, approver: "tester" });
    queue.reject("b", "tester");
    await expect(pb).resolves.toMatchObject({ approved: false });
  });

  it("waitFor can be cancelled", async () => {
    const queue = createApprovalQueue();
    const ac = new AbortController();
    const w = queue.waitFor(undefined, { signal: ac.signal });
    ac.abort();
    await expect(w).rejects.toBeInstanceOf(ApprovalAborted);
    // a later arrival is not handed to the cancelled waiter and stays pending
    void queue.request(makeRequest("a"));
    expect(queue.pending().map((p) => p.id)).toEqual(["a"]);
  });

  it("subscribe reports each arrival and each settlement (answered, aborted, answered by onRequest) until unsubscribed", async () => {
    const events: string[] = [];
    let self: ReturnType<typeof createApprovalQueue> | null = null;
    const queue = createApprovalQueue({ onRequest: (p) => void (p.id === "auto" && self?.approve("auto", "bot")) });
    self = queue;
    const stop = queue.subscribe((e) => events.push(`${e.type} ${e.id}`));
    const ac = new AbortController();
    const answered = queue.request(makeRequest("a"));
    const aborted = queue.request(makeRequest("b", { signal: ac.signal }));
    await queue.request(makeRequest("auto"));
    queue.approve("a", "ann");
    ac.abort();
    await answered;
    await expect(aborted).rejects.toBeInstanceOf(ApprovalAborted);
    // a request answered while it arrived was never pending to anyone watching
    expect(events).toEqual(["requested a", "requested b", "settled auto", "settled a", "settled b"]);
    stop();
    void queue.request(makeRequest("c"));
    expect(events).toHaveLength(5);
  });

  it("a listener that throws is dropped and stops neither the queue nor the others", async () => {
    const queue = createApprovalQueue();
    const seen: string[] = [];
    queue.subscribe(() => {
      throw new Error("broken listener");
    });
    queue.subscribe((e) => seen.push(e.type));
    const p = queue.request(makeRequest("a"));
    expect(queue.approve("a", "ann")).toBe(true);
    await expect(p).resolves.toMatchObject({ approved: true, approver: "ann" });
    expect(seen).toEqual(["requested", "settled"]);
  });
});

// ---- terminal ----------------------------------------------------------------------------

function terminal({ approver }: { approver?: string } = { approver: "alice" }) {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = "";
  output.setEncoding("utf8");
  output.on("data", (chunk: string) => {
    text += chunk;
  });
  const handler = terminalApprovals(approver === undefined ? { input, output } : { input, output, approver });
  const countPrompts = () => text.split("approve? [y/N] ").length - 1;
  /** Resolves once `n` prompts have been printed. */
  const prompts = async (n: number) => {
    for (let i = 0; i < 500 && countPrompts() < n; i++) await new Promise((r) => setTimeout(r, 2));
    expect(countPrompts()).toBeGreaterThanOrEqual(n);
  };
  const until = async (needle: string) => {
    for (let i = 0; i < 500 && !text.includes(needle); i++) await new Promise((r) => setTimeout(r, 2));
    expect(text).toContain(needle);
  };
  return { input, output, handler, text: () => text, countPrompts, prompts, until };
}

describe("terminalApprovals", () => {
  it("prints the request and approves on y", async () => {
    const t = terminal();
    const p = t.handler.request(makeRequest("a"));
    await t.prompts(1);
    const shown = t.text();
    expect(shown).toContain("payments 1.2.0");
    expect(shown).toContain("big_payments");
    expect(shown).toContain("payments over 1000 need finance");
    expect(shown).toContain("finance");
    expect(shown).toContain("15m");
    expect(shown).toContain('    "to": "ceo@example.com"');
    expect(shown).toContain('"type": "send_email"');
    expect(shown).toContain(makeRequest("a").actionHash.slice(0, 12));
    expect(shown.endsWith("approve? [y/N] ")).toBe(true);
    t.input.write("y\n");
    await expect(p).resolves.toEqual({ approved: true, approver: "alice" });
  });

  it("shows a result to approve, with the call it came from and the result's hash", async () => {
    const t = terminal();
    const value = { rows: [{ name: "ann" }] };
    const p = t.handler.request(makeRequest("r", { stage: "result", value, valueHash: "f".repeat(64) }));
    await t.prompts(1);
    const shown = t.text();
    expect(shown).toContain("action (its result is to approve):");
    expect(shown).toContain('"type": "send_email"');
    expect(shown).toContain('result:\n  {\n    "rows": [');
    expect(shown).toContain(`hash:    ${"f".repeat(12)}`);
    expect(shown).not.toContain(makeRequest("r").actionHash.slice(0, 12));
    t.input.write("y\n");
    await expect(p).resolves.toEqual({ approved: true, approver: "alice" });
  });

  it('accepts "yes" in any case and surrounding spaces', async () => {
    const t = terminal();
    const p = t.handler.request(makeRequest("a"));
    await t.prompts(1);
    t.input.write("  YES \n");
    await expect(p).resolves.toEqual({ approved: true, approver: "alice" });
  });

  it("rejects on n and on anything else", async () => {
    const t = terminal();
    const p1 = t.handler.request(makeRequest("a"));
    await t.prompts(1);
    t.input.write("n\n");
    await expect(p1).resolves.toEqual({ approved: false, approver: "alice" });
    const p2 = t.handler.request(makeRequest("b"));
    await t.prompts(2);
    t.input.write("\n");
    await expect(p2).resolves.toMatchObject({ approved: false });
    const p3 = t.handler.request(makeRequest("c"));
    await t.prompts(3);
    t.input.write("yep\n");
    await expect(p3).resolves.toMatchObject({ approved: false });
  });

  it("rejects at end of input, and every later request too", async () => {
    const t = terminal();
    const p = t.handler.request(makeRequest("a"));
    await t.prompts(1);
    t.input.end();
    await expect(p).resolves.toMatchObject({ approved: false });
    await expect(t.handler.request(makeRequest("b"))).resolves.toMatchObject({ approved: false });
  });

  it("accepts a final answer without a newline before end of input", async () => {
    const t = terminal();
    const p = t.handler.request(makeRequest("a"));
    await t.prompts(1);
    t.input.end("y");
    await expect(p).resolves.toEqual({ approved: true, approver: "alice" });
  });

  it("asks concurrent requests one after another", async () => {
    const t = terminal();
    const p1 = t.handler.request(makeRequest("a", { action: { type: "first" } }));
    const p2 = t.handler.request(makeRequest("b", { action: { type: "second" } }));
    await t.prompts(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(t.countPrompts()).toBe(1);
    expect(t.text()).toContain('"type": "first"');
    expect(t.text()).not.toContain('"type": "second"');
    t.input.write("n\n");
    await expect(p1).resolves.toMatchObject({ approved: false });
    await t.prompts(2);
    expect(t.text()).toContain('"type": "second"');
    t.input.write("y\n");
    await expect(p2).resolves.toMatchObject({ approved: true });
  });

  it("answers piped type-ahead in order", async () => {
    const t = terminal();
    t.input.write("y\nn\n");
    const p1 = t.handler.request(makeRequest("a"));
    const p2 = t.handler.request(makeRequest("b"));
    await expect(p1).resolves.toMatchObject({ approved: true });
    await expect(p2).resolves.toMatchObject({ approved: false });
  });

  it("prints a timeout and rejects when the signal aborts while asking", async () => {
    const t = terminal();
    const ac = new AbortController();
    const p = t.handler.request(makeRequest("a", { signal: ac.signal }));
    await t.prompts(1);
    ac.abort(new Error("timeout"));
    await expect(p).rejects.toBeInstanceOf(ApprovalAborted);
    expect(t.text()).toContain("approval timed out");

    // A late answer to the timed-out prompt does not answer the next request.
    t.input.write("y\n");
    await new Promise((r) => setTimeout(r, 10));
    const p2 = t.handler.request(makeRequest("b"));
    await t.prompts(2);
    expect(await state(p2)).toBe("pending");
    t.input.write("n\n");
    await expect(p2).resolves.toMatchObject({ approved: false });
  });

  it("never shows a request that aborts while waiting its turn", async () => {
    const t = terminal();
    const ac = new AbortController();
    const p1 = t.handler.request(makeRequest("a", { action: { type: "first" } }));
    const p2 = t.handler.request(makeRequest("b", { action: { type: "second" }, signal: ac.signal }));
    const p3 = t.handler.request(makeRequest("c", { action: { type: "third" } }));
    await t.prompts(1);
    ac.abort();
    await expect(p2).rejects.toBeInstanceOf(ApprovalAborted);
    t.input.write("y\n");
    await expect(p1).resolves.toMatchObject({ approved: true });
    await t.prompts(2);
    expect(t.text()).not.toContain('"type": "second"');
    expect(t.text()).toContain('"type": "third"');
    t.input.write("y\n");
    await expect(p3).resolves.toMatchObject({ approved: true });
  });

  it("asks for the approver name when none is configured", async () => {
    const t = terminal({});
    const p1 = t.handler.request(makeRequest("a"));
    await t.prompts(1);
    t.input.write("y\n");
    await t.until("approver [");
    t.input.write("  dana  \n");
    await expect(p1).resolves.toEqual({ approved: true, approver: "dana" });

    // an empty name takes the default shown in brackets
    const p2 = t.handler.request(makeRequest("b"));
    await t.prompts(2);
    t.input.write("y\n\n");
    const r2 = await p2;
    const shown = /approver \[([^\]]*)\]/.exec(t.text())?.[1];
    expect(r2.approved).toBe(true);
    expect(r2.approver).toBe(shown);
    expect(r2.approver).toBeTruthy();
  });

  it("escapes control characters from the request", async () => {
    const t = terminal();
    const p = t.handler.request(makeRequest("a", { session: "s\u001b[2J", action: { type: "x", note: "\u009b31m\u202e" } }));
    await t.prompts(1);
    expect(t.text()).not.toMatch(/[\u001b\u009b\u202e]/);
    expect(t.text()).toContain("s\\u001b[2J");
    t.input.write("n\n");
    await p;
  });

  it("close() stops reading; later requests are rejected", async () => {
    const t = terminal();
    const p = t.handler.request(makeRequest("a"));
    await t.prompts(1);
    t.handler.close();
    await expect(p).resolves.toMatchObject({ approved: false });
    await expect(t.handler.request(makeRequest("b"))).resolves.toMatchObject({ approved: false });
  });
});
