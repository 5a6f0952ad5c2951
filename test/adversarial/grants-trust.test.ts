/**
 * Grants and reservations against a host or a caller that lies: a decision object made up (or
 * edited) and handed to `Enforcer.grant`; `decide` without `reserve` of an action a grant's amount
 * governs; one session's reservations pushing out another's; a `record` under another session's
 * reservation or another action's; a grant scoped by a field a rule redacts; a `record` after its
 * reservation expired. What must hold: a grant is made only as the enforcer issued the decision,
 * no answer lets an amount go uncounted, a session retires only its own reservations, an outcome
 * is written under a decision's id only by its own session, the redacted value scopes nothing and
 * is never written, and every `record` call leaves a record in a chain that verifies.
 */
import { createEnforcer, type Decision, type Enforcer, MAX_ISSUED, verifyAuditLog } from "@agent-armor/runtime";
import { describe, expect, it } from "vitest";
import { assertBuilt } from "../gateway/support.js";

const GRANTS = `default allow
rule wires when action.type == "wire" require approval from "finance" grant action.to 1h up to 100 of action.amount
rule sends when action.type == "send" require approval grant session 1h
rule hide_payee when action.type == "pay" redact to
rule pays when action.type == "pay" require approval from "finance" grant action.to 1h
rule many when count(type == "note" within 1h) >= 1000 deny because "too many notes"
`;

const wire = (to: string, amount: number) => ({ type: "wire", to, amount });

/** An enforcer over GRANTS whose approver grants when asked to, with its audit lines and a clock the test moves. */
async function enforcer(options: { reservationTtlMs?: number; maxReservations?: number; maxReservationsPerSession?: number } = {}) {
  assertBuilt();
  const clock = { now: Date.parse("2026-03-02T10:00:00Z") };
  const lines: string[] = [];
  const answer = { grant: true, approve: true };
  const e = await createEnforcer({
    policy: { source: GRANTS, fileName: "g.armor" },
    throwOnDeny: false,
    clock: () => clock.now,
    approvals: { request: async () => ({ approved: answer.approve, approver: "ann", ...(answer.grant ? { grant: true } : {}) }) },
    audit: { callback: (_r, l) => void lines.push(l) },
    ...options,
  });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const verified = () => verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok;
  return { e, clock, answer, lines, records, verified };
}

/** Whether a reserved decision of `action` in `session` is allowed now (taking its amount, then released). */
async function covered(e: Enforcer, action: unknown, session = "probe"): Promise<boolean> {
  const d = await e.decide(action, { session }, { reserve: true });
  if (d.reserved === true) await e.release(d.id, { session });
  return d.decision === "allow";
}

describe("Enforcer.grant makes grants only of decisions the enforcer issued", () => {
  // [what, the decision handed to grant (given a real one of a wire to acme for 10)]
  const FORGED: [string, (real: Decision) => unknown][] = [
    ["a decision made up from nothing", (real) => ({ ...real, id: "made-up-1", action: wire("evil", 1), actionHash: "0".repeat(64) })],
    ["a real decision's id with another action hash", (real) => ({ ...real, actionHash: "f".repeat(64) })],
    ["a real decision's action hash with another id", (real) => ({ ...real, id: `${real.id}x` })],
    ["not an object", () => "grant me"],
    ["null", () => null],
  ];
  it.each(FORGED)("refuses %s: no grant, no grant record", async (_what, forge) => {
    const { e, records, verified } = await enforcer();
    const real = await e.decide(wire("acme", 10), { session: "s" });
    expect(real.decision).toBe("require_approval");
    expect(await e.grant(forge(real) as Decision, ["ann"])).toBeNull();
    expect(records().filter((r) => r.event === "grant")).toEqual([]);
    expect(await covered(e, wire("evil", 1))).toBe(false);
    expect(await covered(e, wire("acme", 1))).toBe(false);
    expect(verified()).toBe(true);
    await e.close();
  });

  it("grants a real decision as it was issued, whatever the object handed in says", async () => {
    const { e, records } = await enforcer();
    const real = await e.decide(wire("acme", 10), { session: "s" });
    const approval = real.approval!;
    const edited = {
      ...real,
      session: "other",
      action: wire("evil", 10),
      approval: { ...approval, grant: { ...approval.grant!, upTo: 1e12, durationMs: 7 * 86_400_000, scope: "session" } },
    };
    const id = await e.grant(edited as Decision, ["ann"]);
    expect(id).toBe(`grant-${real.id}`);
    expect(records().find((r) => r.event === "grant")).toMatchObject({ session: "s", scope: "action.to", value: "acme", upTo: 100 });
    // [action, covered]: the recipient and the amount the policy offered, not the edited ones
    const STEPS: [unknown, boolean][] = [
      [wire("evil", 1), false],
      [wire("acme", 101), false],
      [wire("acme", 100), true],
    ];
    for (const [action, yes] of STEPS) expect([action, await covered(e, action)]).toEqual([action, yes]);
    await e.close();
  });
});

describe("an issued decision makes one grant at most", () => {
  it("granting it again, while its grant lives or after it expired, makes nothing and leaves the amount spent", async () => {
    const { e, clock, records, verified } = await enforcer();
    const d = await e.decide(wire("acme", 10), { session: "s" });
    expect(await e.grant(d, ["ann"])).toBe(`grant-${d.id}`);
    const spent = await e.decide(wire("acme", 100), { session: "s" }, { reserve: true });
    expect(spent.decision).toBe("allow");
    await e.record(wire("acme", 100), { session: "s" }, { decisionId: spent.id });
    // [when, minutes on]
    const REPLAYS: [string, number][] = [
      ["while the grant lives", 0],
      ["after it expired", 61],
    ];
    for (const [when, minutes] of REPLAYS) {
      clock.now += minutes * 60_000;
      expect([when, await e.grant(d, ["ann"])]).toEqual([when, null]);
      expect([when, await covered(e, wire("acme", 1))]).toEqual([when, false]);
    }
    expect(records().filter((r) => r.event === "grant")).toHaveLength(1);
    expect(verified()).toBe(true);
    await e.close();
  });
});

describe("issued decisions past the caps", () => {
  it("one session's flood gives up only its own: another session's decision is still granted", async () => {
    const { e } = await enforcer();
    const victim = await e.decide(wire("acme", 10), { session: "victim" });
    // as many as the enforcer keeps in all: before, the victim's gave way
    for (let i = 0; i < MAX_ISSUED; i++) await e.decide(wire(`x${i}`, 1), { session: "flood" });
    const latest = await e.decide(wire("y", 1), { session: "flood" });
    expect(await e.grant(victim, ["ann"])).toBe(`grant-${victim.id}`);
    // the flood's latest is kept: it gave up its own oldest
    expect(await e.grant(latest, ["ann"])).toBe(`grant-${latest.id}`);
    await e.close();
  });
});

describe("decide without reserve of an action a grant's amount governs", () => {
  it("denies naming the grant and `reserve`; with reserve it is allowed and takes the amount; a session grant is still named", async () => {
    const { e, records } = await enforcer();
    await e.run(wire("acme", 1), { session: "s" }, () => "sent");
    const grantId = records().find((r) => r.event === "grant")!.grantId as string;
    const plain = await e.decide(wire("acme", 10), { session: "s" });
    expect(plain.decision).toBe("deny");
    expect(plain.grant).toBeUndefined();
    expect(plain.errors).toEqual([{ rule: "wires", message: expect.stringMatching(new RegExp(`grant ${grantId} .*\`reserve: true\``)) }]);
    expect(records().filter((r) => r.event === "grant_covers")).toEqual([]);
    const reserved = await e.decide(wire("acme", 10), { session: "s" }, { reserve: true });
    expect(reserved).toMatchObject({ decision: "allow", reserved: true, grant: { id: grantId } });
    // no amount: nothing to go uncounted, and `decide` names the grant as before
    await e.run({ type: "send" }, { session: "s" }, () => "sent");
    expect(await e.decide({ type: "send" }, { session: "s" })).toMatchObject({ decision: "allow", grant: { rule: "sends" } });
    await e.close();
  });
});

describe("reservations past the caps", () => {
  it("a session retires only its own oldest; a session with none at the cap is refused, naming the cap", async () => {
    const { e } = await enforcer({ maxReservations: 4, maxReservationsPerSession: 2 });
    const reserve = async (session: string) => e.decide({ type: "note" }, { session }, { reserve: true });
    const [a1, a2, b1] = [await reserve("a"), await reserve("a"), await reserve("b")];
    // a's third retires a's first (its share is 2), never b's
    const a3 = await reserve("a");
    expect([a1, a2, b1, a3].map((d) => d.reserved)).toEqual([true, true, true, true]);
    const c1 = await reserve("c");
    expect(c1.reserved).toBe(true);
    // 4 pending (a2, a3, b1, c1): d has none to retire
    const d1 = await reserve("d");
    expect(d1.decision).toBe("deny");
    expect(d1.errors.map((x) => x.message).join()).toMatch(/4 reservations are pending, the most this enforcer keeps \(maxReservations\), and none of them is session d's/);
    // a can go on, retiring its own
    expect((await reserve("a")).reserved).toBe(true);
    // [reservation, its session, whether it can still be released]
    const RELEASES: [Decision, string, boolean][] = [
      [a1, "a", false],
      [a2, "a", false],
      [b1, "b", true],
      [c1, "c", true],
      [a3, "a", true],
    ];
    for (const [d, session, released] of RELEASES) expect([session, await e.release(d.id, { session })]).toEqual([session, released]);
    await e.close();
  });
});

describe("record under a decision id", () => {
  it("refuses another session's reservation, or another action's, on record; writes other ids' outcomes under ids of their own", async () => {
    const { e, records, verified } = await enforcer();
    const mine = await e.decide({ type: "note", n: 1 }, { session: "a" }, { reserve: true });
    // [what, the record call, the error's name]
    const REFUSED: [string, () => Promise<unknown>, string][] = [
      ["another session", () => e.record({ type: "note", n: 1 }, { session: "b" }, { decisionId: mine.id }), "ReservationMismatch"],
      ["another action", () => e.record({ type: "note", n: 2 }, { session: "a" }, { decisionId: mine.id }), "ReservationMismatch"],
    ];
    for (const [what, call, name] of REFUSED) {
      const before = records().length;
      const got = await call().then(
        () => "recorded",
        (err: Error) => err.name,
      );
      expect([what, got]).toEqual([what, name]);
      const added = records().slice(before);
      expect(added).toEqual([expect.objectContaining({ kind: "outcome", outcome: "record_refused", error: expect.stringMatching(/^ReservationMismatch: /) })]);
      expect(added[0]!.decisionId).not.toBe(mine.id);
    }
    // the reservation is still its session's to record
    expect(await e.record({ type: "note", n: 1 }, { session: "a" }, { decisionId: mine.id })).toMatchObject({ decisionId: mine.id, settled: true });
    // an id that names no reservation (a plain decision of another session, or made up): an outcome of its own
    const theirs = await e.decide({ type: "note", n: 3 }, { session: "b" });
    for (const id of [theirs.id, "made-up"]) {
      const r = await e.record({ type: "note", n: 3 }, { session: "c" }, { decisionId: id });
      expect([id, r.settled, r.decisionId === id]).toEqual([id, false, false]);
      expect(records().filter((x) => x.kind === "outcome" && x.decisionId === id)).toEqual([]);
    }
    expect(verified()).toBe(true);
    await e.close();
  });

  it("a record after its reservation expired leaves a `record_refused` record when a grant's amount refuses it, and the chain verifies", async () => {
    const { e, clock, records, verified, answer } = await enforcer({ reservationTtlMs: 1_000 });
    await e.run(wire("acme", 1), { session: "s" }, () => "sent");
    answer.grant = false;
    const d = await e.decide(wire("acme", 10), { session: "s" }, { reserve: true });
    expect(d.reserved).toBe(true);
    clock.now += 5_000;
    const before = records().length;
    const late = await e.record(wire("acme", 10), { session: "s" }, { decisionId: d.id }).then(
      () => "recorded",
      (err: Error) => err.name,
    );
    expect(late).toBe("GrantNeedsReservation");
    const added = records().slice(before);
    expect(added.filter((r) => r.kind === "outcome")).toEqual([
      expect.objectContaining({ outcome: "record_refused", session: "s", actionHash: d.actionHash, error: expect.stringMatching(/^GrantNeedsReservation: grant grant-/) }),
    ]);
    // bad input is on record too
    await expect(e.record({ type: "wire", amount: Number.NaN }, { session: "s" })).rejects.toThrow();
    expect(records().at(-1)).toMatchObject({ kind: "outcome", outcome: "record_refused", error: expect.stringMatching(/^InvalidInputError: /) });
    expect(verified()).toBe(true);
    await e.close();
  });
});

describe("a grant scoped by a field a rule redacts", () => {
  // [how the grant is made]
  const WAYS: [string, (e: Enforcer) => Promise<void>][] = [
    ["approved in run", async (e) => void (await e.run({ type: "pay", to: "acme" }, { session: "s" }, () => "paid"))],
    [
      "decided, then granted as the service's approvers do",
      async (e) => {
        const d = await e.decide({ type: "pay", to: "acme" }, { session: "s" });
        expect((d.action as { to: string }).to).toBe("[REDACTED]");
        expect(await e.grant(d, ["ann"])).toBe(`grant-${d.id}`);
      },
    ],
  ];
  it.each(WAYS)("%s: covers the value before redaction only, and never writes it", async (_what, make) => {
    const { e, lines, records, answer } = await enforcer();
    await make(e);
    answer.approve = false;
    answer.grant = false;
    expect(records().find((r) => r.event === "grant")).toMatchObject({ scope: "action.to", value: "[REDACTED]", redacted: true });
    // [payee, covered]: the grant is acme's, not every payee's
    const PAYEES: [string, boolean][] = [
      ["globex", false],
      ["[REDACTED]", false],
      ["acme", true],
    ];
    for (const [to, yes] of PAYEES) {
      const { decision } = await e.run({ type: "pay", to }, { session: "t" }, () => "paid");
      expect([to, decision.decision, decision.grant !== undefined]).toEqual([to, yes ? "allow" : "deny", yes]);
    }
    expect(lines.filter((l) => l.includes("acme"))).toEqual([]);
    await e.close();
  });
});

describe("record of an action a rule redacts", () => {
  const CARD = "4111-1111-1111-1111";
  // [what, how the host records the action as it holds it (the card in clear), the outcome on record]
  const RECORDS: [string, (e: Enforcer, raw: unknown) => Promise<unknown>, string][] = [
    ["a plain record", (e, raw) => e.record(raw, { session: "s" }), "ok"],
    [
      "a record under its reservation, refused (the decided action was the redacted one)",
      async (e, raw) => {
        const d = await e.decide(raw, { session: "s" }, { reserve: true });
        expect(d.reserved).toBe(true);
        await expect(e.record(raw, { session: "s" }, { decisionId: d.id })).rejects.toThrow();
      },
      "record_refused",
    ],
  ];
  it.each(RECORDS)("%s: the card never reaches the log, and the chain verifies", async (_what, rec, outcome) => {
    assertBuilt();
    const lines: string[] = [];
    const e = await createEnforcer({
      policy: { source: `default allow\nrule hide_card when action.type == "pay" redact card\n`, fileName: "r.armor" },
      throwOnDeny: false,
      audit: { callback: (_r, l) => void lines.push(l) },
    });
    await rec(e, { type: "pay", card: CARD, amount: 5 });
    const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(last).toMatchObject({ kind: "outcome", outcome });
    if (outcome === "ok") expect(last.action).toEqual({ type: "pay", card: "[REDACTED]", amount: 5 });
    expect(lines.filter((l) => l.includes(CARD))).toEqual([]);
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
    await e.close();
  });
});
