/**
 * Hostile callers of the runtime: a caller that changes its action while the decision is being
 * audited or approved, inputs that are not JSON (non-finite numbers among them), concurrent
 * decisions racing a rate limit through reservations, approval timeouts beyond what timers
 * hold, and an audit sink that never answers.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type Action,
  type ApprovalHandler,
  type ApprovalRequest,
  type AuditRecord,
  canonicalJson,
  createEnforcer,
  type EnforcerOptions,
  InvalidInputError,
  MAX_TIMER_MS,
  setLongTimeout,
  sha256,
  verifyAuditLog,
} from "../../packages/runtime/src/index.js";

const POLICY = `
policy pay version "1"
default allow
rule sanctioned when action.type == "wire" and to == "mallory" deny because "sanctioned"
rule big when action.type == "wire" and amount > 1000 require approval timeout 30d
rule rate when action.type == "send" and count(type == "send" within 1h) >= 3 deny because "at most 3 an hour"
rule ssn when action.type == "note" redact text matching /\\d{3}-\\d{2}-\\d{4}/
rule dba_only when action.type == "drop" and user.role != "dba" deny
rule drop_approval when action.type == "drop" require approval
`;

/** An audit callback that keeps every line, and resolves each write only when told to. */
function gatedSink() {
  const lines: string[] = [];
  let open: () => void = () => {};
  let gate = new Promise<void>((r) => (open = r));
  return {
    lines,
    records: () => lines.map((l) => JSON.parse(l) as AuditRecord),
    callback: async (_r: unknown, line: string) => {
      lines.push(line);
      await gate;
    },
    release() {
      open();
      gate = Promise.resolve();
    },
  };
}

/** An approval handler that waits until the test answers. */
function pendingApprovals() {
  const requests: ApprovalRequest[] = [];
  const answers: ((approved: boolean) => void)[] = [];
  const seen = new Set<() => void>();
  const handler: ApprovalHandler = {
    request: (req) =>
      new Promise((resolve) => {
        requests.push(req);
        answers.push((approved) => resolve({ approved, approver: "alice" }));
        for (const f of seen) f();
      }),
  };
  const next = (): Promise<void> => (requests.length > answers.length - 1 && answers.length > 0 ? Promise.resolve() : new Promise<void>((r) => seen.add(r)));
  return { handler, requests, answers, next };
}

async function enforcer(extra: Partial<EnforcerOptions> = {}) {
  return createEnforcer({ policy: { source: POLICY, fileName: "pay.armor" }, throwOnDeny: false, ...extra });
}

const flush = () => new Promise((r) => setTimeout(r, 5));

describe("row 1: the tool runs exactly the decided, approved and audited action", () => {
  it("ignores a caller that changes the action while the audit write is pending", async () => {
    const sink = gatedSink();
    const e = await enforcer({ audit: { callback: sink.callback } });
    const action = { type: "wire", to: "bob", amount: 100 };
    const ran: unknown[] = [];
    const running = e.run(action, { session: "s" }, (a) => void ran.push(structuredClone(a)));
    action.to = "mallory";
    action.amount = 1e9;
    sink.release();
    const r = await running;
    expect(r.decision.decision).toBe("allow");
    expect(ran).toEqual([{ type: "wire", to: "bob", amount: 100 }]);
    await e.close();
    const decision = sink.records().find((x) => x.kind === "decision")!;
    expect(decision.action).toEqual(ran[0]);
    expect(decision.actionHash).toBe(sha256(canonicalJson(ran[0])));
    expect(verifyAuditLog(sink.lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("ignores a caller that changes the action while it waits for approval, and an approver that edits what it was shown", async () => {
    const approvals = pendingApprovals();
    const sink = gatedSink();
    sink.release();
    const e = await enforcer({ approvals: approvals.handler, audit: { callback: sink.callback } });
    const action = { type: "wire", to: "bob", amount: 5000 };
    const ran: unknown[] = [];
    const running = e.run(action, { session: "s" }, (a) => void ran.push(structuredClone(a)));
    await approvals.next();
    action.to = "mallory";
    action.amount = 1e9;
    (approvals.requests[0]!.action as Action).to = "mallory";
    approvals.answers[0]!(true);
    const r = await running;
    expect(r.decision.decision).toBe("allow");
    expect(ran).toEqual([{ type: "wire", to: "bob", amount: 5000 }]);
    expect(approvals.requests).toHaveLength(1);
    expect(approvals.requests[0]!.actionHash).toBe(sha256(canonicalJson(ran[0])));
    await e.close();
    const decision = sink.records().find((x) => x.kind === "decision")!;
    expect(decision).toMatchObject({ action: ran[0], actionHash: approvals.requests[0]!.actionHash, approval: { outcome: "approved" } });
  });

  it("decides again after an approval on the user it first decided on, which is the user the log shows", async () => {
    const approvals = pendingApprovals();
    const sink = gatedSink();
    sink.release();
    const e = await enforcer({ approvals: approvals.handler, audit: { callback: sink.callback } });
    const user = { id: "u1", role: "dba" };
    const running = e.run({ type: "drop", table: "t" }, { user }, () => "dropped");
    await approvals.next();
    user.role = "intern";
    approvals.answers[0]!(true);
    const r = await running;
    expect(r.decision.decision).toBe("allow");
    await e.close();
    expect(sink.records().find((x) => x.kind === "decision")).toMatchObject({ decision: "allow", user: { id: "u1", role: "dba" } });
  });

  it("asks the group the policy names after an approval, when it is no longer the group that approved", async () => {
    const policy = `
policy p version "1"
default allow
rule night when action.type == "wire" and context.night == true require approval from "security"
rule review when action.type == "wire" and amount > 10 require approval from "finance"
`;
    const asked: (string | null)[] = [];
    const ctx = { context: { night: false } };
    const e = await createEnforcer({
      policy: { source: policy, fileName: "p.armor" },
      throwOnDeny: false,
      approvals: {
        request: async (req) => {
          asked.push(req.from);
          ctx.context = { night: true };
          return { approved: req.from === "finance" };
        },
      },
    });
    // the context is read when the action is decided: changing it later changes nothing
    const r = await e.run({ type: "wire", amount: 50 }, ctx, () => "ran");
    expect(r.decision.decision).toBe("allow");
    expect(asked).toEqual(["finance"]);
    // a decision that now needs another group asks that group, which rejects
    let round = 0;
    const clock = () => Date.UTC(2026, 0, 5, 12) + round;
    const f = await createEnforcer({
      policy: {
        source:
          'policy q version "1"\ndefault allow\nrule late when action.type == "wire" and time.hour >= 12 require approval from "security"\nrule review when action.type == "wire" and amount > 10 and time.hour < 12 require approval from "finance"\n',
        fileName: "q.armor",
      },
      throwOnDeny: false,
      clock: () => clock() - (round === 0 ? 3_600_000 : 0),
      approvals: {
        request: async (req) => {
          asked.push(req.from);
          round++;
          return { approved: req.from === "finance" };
        },
      },
    });
    const s = await f.run({ type: "wire", amount: 50 }, {}, () => "ran");
    expect(asked.slice(1)).toEqual(["finance", "security"]);
    expect(s.decision.decision).toBe("deny");
    expect(s.result).toBeUndefined();
  });

  it("decides on the user and the context as they were when asked: getters are read once, approvers edit copies", async () => {
    let reads = 0;
    const user = {
      get role() {
        return ++reads === 1 ? "intern" : "dba";
      },
    };
    const e = await enforcer();
    // the first read says intern: the dba-only rule denies, and no later read changes that
    expect((await e.run({ type: "drop", table: "t" }, { user }, () => "dropped")).decision.decision).toBe("deny");
    let limitReads = 0;
    const context = {
      get limit() {
        return ++limitReads === 1 ? 5 : Number.POSITIVE_INFINITY;
      },
    };
    const d = await e.decide({ type: "wire", to: "bob", amount: 5 }, { context });
    expect(limitReads).toBe(1);
    expect(d.decision).toBe("allow");
    // an approver that edits the user it was shown changes nothing the next decision reads
    const f = await enforcer({
      approvals: {
        request: async (req) => {
          (req.user as { role: string }).role = "dba";
          return { approved: true };
        },
      },
    });
    const intern = { role: "intern" };
    await f.run({ type: "wire", to: "bob", amount: 5000 }, { user: intern }, () => "sent");
    expect(intern.role).toBe("intern");
    expect((await f.run({ type: "drop", table: "t" }, { user: intern }, () => "dropped")).decision.decision).toBe("deny");
  });

  it("reads an action with getters once: what the policy decided is what runs and what is logged", async () => {
    const sink = gatedSink();
    sink.release();
    const e = await enforcer({ audit: { callback: sink.callback } });
    let reads = 0;
    // bob to whoever reads first, mallory to every later read
    const action = {
      type: "wire",
      amount: 10,
      get to() {
        return reads++ === 0 ? "bob" : "mallory";
      },
    };
    const ran: unknown[] = [];
    const r = await e.run(action, {}, (a) => void ran.push(a));
    expect(r.decision.decision).toBe("allow");
    expect(ran).toEqual([{ type: "wire", amount: 10, to: "bob" }]);
    expect(reads).toBe(1);
    await e.close();
    expect(sink.records()[0]!.action).toEqual(ran[0]);
  });

  it("gives the tool its own copy of the redacted action, which a tool changing cannot leak into the decision", async () => {
    const e = await enforcer();
    const r = await e.run({ type: "note", text: "ssn 123-45-6789" }, {}, (a) => {
      a.text = "changed by the tool";
      return a;
    });
    expect(r.result).toEqual({ type: "note", text: "changed by the tool" });
    expect(r.decision.action).toEqual({ type: "note", text: "ssn [REDACTED]" });
    expect(r.decision.actionHash).toBe(sha256(canonicalJson({ type: "note", text: "ssn [REDACTED]" })));
  });

  it("guards wrapped tools the same way", async () => {
    const sink = gatedSink();
    const e = await enforcer({ audit: { callback: sink.callback } });
    const got: unknown[] = [];
    const tools = e.wrapTools({ wire: (args: { to: string; amount: number }) => void got.push(structuredClone(args)) });
    const args = { to: "bob", amount: 1 };
    const running = tools.wire(args);
    args.to = "mallory";
    sink.release();
    await running;
    expect(got).toEqual([{ to: "bob", amount: 1 }]);
  });

  it("returns from decide() a decision that the caller's later changes do not touch", async () => {
    const e = await enforcer();
    const action = { type: "wire", to: "bob", amount: 1 };
    const d = await e.decide(action);
    action.to = "mallory";
    expect(d.action).toEqual({ type: "wire", to: "bob", amount: 1 });
    expect(d.actionHash).toBe(sha256(canonicalJson(d.action)));
  });
});

describe("row 11: inputs that are not JSON are invalid, naming the field", () => {
  const cases: { name: string; action: unknown; ctx?: Record<string, unknown>; message: string }[] = [
    { name: "-1e400 from a JSON body", action: JSON.parse('{"type":"wire","to":"bob","amount":-1e400}'), message: "invalid action: `amount` is -Infinity, which is not a finite number" },
    { name: "1e400", action: JSON.parse('{"type":"wire","to":"bob","amount":1e400}'), message: "invalid action: `amount` is Infinity, which is not a finite number" },
    { name: "NaN", action: { type: "wire", to: "bob", amount: NaN }, message: "invalid action: `amount` is NaN, which is not a finite number" },
    { name: "Infinity deep in a list", action: { type: "send", items: [{ n: 1 }, { n: Infinity }] }, message: "invalid action: `items[1].n` is Infinity, which is not a finite number" },
    { name: "a function", action: { type: "send", cb: () => 1 }, message: "invalid action: `cb` is a function, which JSON cannot represent" },
    { name: "a bigint", action: { type: "send", n: 10n }, message: "invalid action: `n` is a bigint, which JSON cannot represent" },
    { name: "a non-finite user field", action: { type: "send" }, ctx: { user: { id: "u", limit: -Infinity } }, message: "invalid user: `limit` is -Infinity, which is not a finite number" },
    { name: "a non-finite context field", action: { type: "send" }, ctx: { context: { score: NaN } }, message: "invalid context: `score` is NaN, which is not a finite number" },
  ];

  it.each(cases)("denies $name in decide and run, and record rejects it", async ({ action, ctx, message }) => {
    const sink = gatedSink();
    sink.release();
    const e = await enforcer({ audit: { callback: sink.callback } });
    const d = await e.decide(action, ctx);
    expect(d.decision).toBe("deny");
    expect(d.errors).toEqual([{ rule: null, message }]);
    const tool = vi.fn();
    const r = await e.run(action, ctx, tool);
    expect(r.decision.decision).toBe("deny");
    expect(r.decision.errors.map((x) => x.message)).toEqual([message]);
    expect(tool).not.toHaveBeenCalled();
    await expect(e.record(action, ctx)).rejects.toThrow(InvalidInputError);
    await expect(e.record(action, ctx)).rejects.toThrow(message);
    await e.close();
    // both denials are audited, each refused record too, and no record says null where the number was
    expect(sink.records().map((x) => x.decision ?? x.outcome)).toEqual(["deny", "deny", "record_refused", "record_refused"]);
    expect(sink.records().at(-1)).toMatchObject({ kind: "outcome", mode: "record", error: `InvalidInputError: ${message}` });
    const field = /`(?:.*[.[])?"?(\w+)"?\]?`/.exec(message)![1]!;
    for (const line of sink.lines) expect(line).not.toMatch(new RegExp(`"${field}":null`));
    // an invalid user is left out of the record rather than written as something it was not
    for (const record of sink.records()) {
      if (message.startsWith("invalid user")) expect(record).not.toHaveProperty("user");
      else expect(record.user).toBeNull();
    }
    expect(verifyAuditLog(sink.lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("gives ±1e400 and null different fates: only null is an action to decide", async () => {
    const e = await enforcer();
    const withNull = await e.decide({ type: "wire", to: "bob", amount: null });
    const withInf = await e.decide(JSON.parse('{"type":"wire","to":"bob","amount":1e400}'));
    expect(withNull.actionHash).toMatch(/^[0-9a-f]{64}$/);
    expect(withInf).toMatchObject({ decision: "deny", actionHash: "" });
  });
});

describe("row 3: reservations", () => {
  const send = { type: "send", to: "x" };

  it("allows exactly 3 of 50 concurrent reserving decisions against at most 3 an hour", async () => {
    const sink = gatedSink();
    sink.release();
    const e = await enforcer({ audit: { callback: sink.callback } });
    const decisions = await Promise.all(Array.from({ length: 50 }, () => e.decide(send, { session: "s" }, { reserve: true })));
    expect(decisions.filter((d) => d.decision === "allow")).toHaveLength(3);
    expect(decisions.filter((d) => d.reserved === true)).toHaveLength(3);
    // without reserve nothing counts: the old behaviour, still available
    const plain = await Promise.all(Array.from({ length: 5 }, () => e.decide(send, { session: "t" })));
    expect(plain.every((d) => d.decision === "allow")).toBe(true);
    await e.close();
    expect(sink.records().filter((r) => r.reserved === true)).toHaveLength(3);
  });

  it("settles a reservation on record without counting the action again", async () => {
    const sink = gatedSink();
    sink.release();
    const e = await enforcer({ audit: { callback: sink.callback } });
    for (let i = 0; i < 2; i++) {
      const d = await e.decide(send, { session: "s" }, { reserve: true });
      const r = await e.record(send, { session: "s" }, { decisionId: d.id });
      expect(r).toMatchObject({ decisionId: d.id, settled: true });
      // a second record of the same id no longer finds the reservation: it counts
      if (i === 1) expect((await e.record(send, { session: "other" }, { decisionId: d.id })).settled).toBe(false);
    }
    // two counted, not four: the third is allowed, the fourth is not
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("deny");
    await e.close();
    expect(sink.records().filter((r) => r.reservation === "settled")).toHaveLength(2);
    expect(verifyAuditLog(sink.lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("refuses, on record, a record that names the reservation with another action or session; the reservation stays its session's", async () => {
    const sink = gatedSink();
    sink.release();
    const e = await enforcer({ audit: { callback: sink.callback } });
    const d = await e.decide(send, { session: "s" }, { reserve: true });
    await expect(e.record({ ...send, to: "y" }, { session: "s" }, { decisionId: d.id })).rejects.toMatchObject({ name: "ReservationMismatch" });
    await expect(e.record(send, { session: "s2" }, { decisionId: d.id })).rejects.toMatchObject({ name: "ReservationMismatch" });
    const refused = sink.records().filter((r) => r.outcome === "record_refused");
    expect(refused.map((r) => [r.session, r.decisionId === d.id])).toEqual([
      ["s", false],
      ["s2", false],
    ]);
    // the reservation still settles; s counts only it: two more are allowed
    expect((await e.record(send, { session: "s" }, { decisionId: d.id })).settled).toBe(true);
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect((await e.decide(send, { session: "s" })).decision).toBe("deny");
    await e.close();
    expect(verifyAuditLog(sink.lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("frees a slot on release, once, and writes that it did", async () => {
    const sink = gatedSink();
    sink.release();
    const e = await enforcer({ audit: { callback: sink.callback } });
    const ds = [];
    for (let i = 0; i < 3; i++) ds.push(await e.decide(send, { session: "s" }, { reserve: true }));
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("deny");
    // only the session that reserved may take it back
    expect(await e.release(ds[1]!.id)).toBe(false);
    expect(await e.release(ds[1]!.id, { session: "other" })).toBe(false);
    expect(await e.release(ds[1]!.id, { session: "s" })).toBe(true);
    expect(await e.release(ds[1]!.id, { session: "s" })).toBe(false);
    expect(await e.release("no-such-id")).toBe(false);
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("deny");
    await e.close();
    expect(sink.records().filter((r) => r.outcome === "released")).toEqual([expect.objectContaining({ decisionId: ds[1]!.id, mode: "release", session: "s" })]);
  });

  it("keeps an expired or retired reservation counted, and no longer releasable", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const e = await enforcer({ clock: () => now, reservationTtlMs: 1000, maxReservations: 2 });
    const a = await e.decide(send, { session: "s" }, { reserve: true });
    now += 1500;
    expect(await e.release(a.id, { session: "s" })).toBe(false);
    const b = await e.decide(send, { session: "s" }, { reserve: true });
    const c = await e.decide(send, { session: "s" }, { reserve: true });
    // at the cap of 2, t has none of its own to retire: refused, never by pushing out s's
    const refused = await e.decide(send, { session: "t" }, { reserve: true });
    expect([refused.decision, refused.errors.map((x) => x.message).join()]).toEqual(["deny", expect.stringContaining("(maxReservations)")]);
    expect(await e.release(c.id, { session: "s" })).toBe(true);
    const t = await e.decide(send, { session: "t" }, { reserve: true });
    expect(t.reserved).toBe(true);
    // at the cap again, s retires its own oldest, b
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect(await e.release(b.id, { session: "s" })).toBe(false);
    expect(await e.release(t.id, { session: "t" })).toBe(true);
    // a, b and the last still count in s
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("deny");
  });

  it("takes the reservation back when its decision record cannot be written", async () => {
    let fail = true;
    const e = await enforcer({ audit: { callback: () => (fail ? Promise.reject(new Error("disk full")) : undefined) } });
    for (let i = 0; i < 5; i++) expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("deny");
    fail = false;
    // none of the five counts; the next three do
    for (let i = 0; i < 3; i++) expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("allow");
    expect((await e.decide(send, { session: "s" }, { reserve: true })).decision).toBe("deny");
  });
});

describe("row 8: approval timeouts longer than timers hold", () => {
  afterEach(() => void vi.useRealTimers());

  it("waits the whole 30 days of `timeout 30d`, not 1 ms", async () => {
    vi.useFakeTimers();
    const approvals = pendingApprovals();
    const e = await enforcer({ approvals: approvals.handler });
    const tool = vi.fn();
    let settled = false;
    const running = e.run({ type: "wire", to: "bob", amount: 5000 }, {}, tool).then((r) => {
      settled = true;
      return r;
    });
    const day = 86_400_000;
    // checked at 1 ms, 1 s, a day, past the 24.8 days a timer holds, and just before 30 days
    let elapsed = 0;
    for (const at of [1, 1000, day, 25 * day, 29.9 * day]) {
      await vi.advanceTimersByTimeAsync(at - elapsed);
      elapsed = at;
      expect(settled, `settled after ${at} ms`).toBe(false);
    }
    await vi.advanceTimersByTimeAsync(0.2 * day);
    const r = await running;
    expect(settled).toBe(true);
    expect(r.decision.decision).toBe("deny");
    expect(r.decision.errors.at(-1)?.message).toBe(`approval timed out after ${30 * day} ms`);
    expect(tool).not.toHaveBeenCalled();
  });

  it.each([
    [5, 5],
    [MAX_TIMER_MS + 10, MAX_TIMER_MS + 10],
    [3 * MAX_TIMER_MS, 3 * MAX_TIMER_MS],
  ])("setLongTimeout(%d) fires after exactly %d ms, never before", async (ms, at) => {
    vi.useFakeTimers();
    const fired = vi.fn();
    setLongTimeout(fired, ms);
    await vi.advanceTimersByTimeAsync(at - 1);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it("cancels a long timeout between its steps", async () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const cancel = setLongTimeout(fired, 2 * MAX_TIMER_MS);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 5);
    cancel();
    await vi.advanceTimersByTimeAsync(2 * MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
  });
});

describe("row 9: an audit sink that never settles", () => {
  it("denies after auditTimeoutMs naming the sink, and a late settle leaves the chain intact", async () => {
    const lines: string[] = [];
    let stall = true;
    const late: (() => void)[] = [];
    const e = await enforcer({
      auditTimeoutMs: 50,
      audit: {
        callback: (_r, line) => {
          lines.push(line);
          if (stall) return new Promise<void>((r) => late.push(r));
        },
      },
    });
    const tool = vi.fn();
    const started = Date.now();
    const r = await e.run({ type: "send" }, { session: "s" }, tool);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.decision.decision).toBe("deny");
    expect(r.decision.errors.at(-1)?.message).toMatch(/^the audit log failed, so nothing runs: .*callback did not store the record within 50 ms/);
    expect(tool).not.toHaveBeenCalled();
    stall = false;
    // the stalled write settles late; the chain goes on
    for (const f of late) f();
    await flush();
    expect((await e.run({ type: "send" }, { session: "s" }, tool)).decision.decision).toBe("allow");
    expect(tool).toHaveBeenCalledTimes(1);
    await e.close();
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join(""))).toMatchObject({ ok: true, gaps: [expect.objectContaining({ seq: 1 })] });
  });

  it("bounds the wait on an audit log given ready-made too", async () => {
    const e = await enforcer({ auditTimeoutMs: 30, audit: { append: () => new Promise(() => {}), flush: async () => {}, close: async () => {} } });
    const r = await e.run({ type: "send" }, {}, () => "ran");
    expect(r.decision.decision).toBe("deny");
    expect(r.decision.errors.at(-1)?.message).toMatch(/did not store the record within 30 ms/);
  });
});
