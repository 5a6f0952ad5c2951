/**
 * What a result does to the session beyond its own decision, and results decided outside run():
 * the labels a result adds go to its call's history entry where the entry stands (its time and
 * its place among the entries recorded while its tool ran), so `since` and windows read the
 * order in which the actions were allowed; a tool that throws has its error decided as the
 * result `{ error }`; `checkResult` decides the result of an action the host ran itself, and
 * `record` gives an entry the labels a decision of its action would.
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, createEnforcer, type Enforcer, MAX_OPEN_ENTRIES, NoReservation, ResultWithheld, sha256, ToolFailed, verifyAuditLog } from "../src/index.js";

const BASE = `
policy agent version "1"
default allow

rule web_is_untrusted on result
  when action.type == "fetch_url"
  label "untrusted"

rule no_credentials on result
  when any(s in strings(result): s matches std.secret)
  deny because "a tool returned a credential"

rule cards_out_of_errors on result
  when action.type == "charge"
  redact result.error matching std.card_number with "[CARD]"

rule touched_crm
  when action.type == "lookup_customer"
  label "pii"
`;

const AWS = "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE";
const MIN = 60_000;

/** A tool that returns `value` when `open()` is called: a tool still running while others are decided. */
function gate<T>(value: T): { tool: () => Promise<T>; open: () => void } {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { tool: () => opened.then(() => value), open };
}

async function enforcer(rules: string, clock: { now: number }): Promise<{ e: Enforcer; lines: string[] }> {
  const lines: string[] = [];
  const e = await createEnforcer({
    policy: { source: `${BASE}\n${rules}`, fileName: "agent.armor" },
    clock: () => clock.now,
    audit: { callback: (_r, line) => void lines.push(line) },
  });
  return { e, lines };
}

describe("a result's labels go to its call's entry where it stands", () => {
  // [name, rule read after the calls, the decision: in place / as if the call had been recorded last]
  const CASES: [string, string, number, "allow" | "deny"][] = [
    // fetch_url (untrusted once its result is in) was allowed before the write: a write since then
    ["since: the write came after the untrusted fetch", `rule after_web when action.type == "post" and seen(action.type == "write" since labels contains "untrusted") deny`, 31 * MIN, "deny"],
    // the fetch (at 0) left the hour's window before the write (at 30 minutes): one action in it, not two
    ["a window: the fetch leaves it at its own time", `rule busy when action.type == "post" and count(action.type == "write" or labels contains "untrusted" within 1h) >= 2 deny`, 61 * MIN, "allow"],
    ["a window: both in it", `rule busy when action.type == "post" and count(action.type == "write" or labels contains "untrusted" within 1h) >= 2 deny`, 59 * MIN, "deny"],
  ];

  it.each(CASES)("%s", async (_name, rule, readAt, expected) => {
    const clock = { now: 0 };
    const { e, lines } = await enforcer(rule, clock);
    const fetch = gate("<html>");
    const fetched = e.run({ type: "fetch_url" }, { session: "s" }, fetch.tool);
    clock.now = 30 * MIN;
    await e.run({ type: "write" }, { session: "s" }, () => "ok");
    fetch.open();
    expect((await fetched).resultDecision!.labels).toEqual(["untrusted"]);
    clock.now = readAt;
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe(expected);
    await e.close();
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("an entry recorded after it and released later is taken back exactly", async () => {
    const clock = { now: 0 };
    const { e } = await enforcer(`rule busy when action.type == "post" and count(action.type == "write" or labels contains "untrusted" within 1h) >= 2 deny`, clock);
    const fetch = gate("<html>");
    const fetched = e.run({ type: "fetch_url" }, { session: "s" }, fetch.tool);
    const reserved = await e.decide({ type: "write" }, { session: "s" }, { reserve: true });
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("allow");
    fetch.open();
    await fetched;
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("deny");
    expect(await e.release(reserved.id, { session: "s" })).toBe(true);
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("allow");
  });

  it("a result that adds no label leaves the entries as they are", async () => {
    const clock = { now: 0 };
    const { e } = await enforcer(`rule after_web when action.type == "post" and seen(action.type == "write" since action.type == "read") deny`, clock);
    const read = gate("text");
    const reading = e.run({ type: "read" }, { session: "s" }, read.tool);
    await e.run({ type: "write" }, { session: "s" }, () => "ok");
    read.open();
    await reading;
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("deny");
  });
});

describe("results in flight", () => {
  it("a label reaches the trackers a reload added while the tool ran", async () => {
    const clock = { now: 0 };
    // a policy with a history predicate, so that the session keeps its recent actions
    const { e } = await enforcer(`rule many when count(action.type == "x" within 1h) > 100 deny`, clock);
    const fetch = gate("<html>");
    const fetched = e.run({ type: "fetch_url" }, { session: "s" }, fetch.tool);
    expect((await e.reload({ source: `${BASE}\nrule no_send_after_web when action.type == "send" and count(labels contains "untrusted" within 1h) >= 1 deny`, fileName: "agent.armor" })).ok).toBe(
      true,
    );
    fetch.open();
    await fetched;
    expect((await e.decide({ type: "send" }, { session: "s" })).decision).toBe("deny");
  });

  it(`at most ${MAX_OPEN_ENTRIES} entries wait for a hung result; the oldest is settled and reported`, async () => {
    const errors: string[] = [];
    const e = await createEnforcer({
      policy: { source: `${BASE}\nrule busy when action.type == "post" and count(labels contains "untrusted" within 1h) > 100000 deny`, fileName: "agent.armor" },
      onError: (x) => void errors.push(x.message),
    });
    const hung = gate("<html>");
    const fetched = e.run({ type: "fetch_url" }, { session: "s" }, hung.tool);
    for (let i = 0; i < MAX_OPEN_ENTRIES; i++) await e.run({ type: "write" }, { session: "s" }, () => "ok");
    expect(errors).toEqual([expect.stringContaining(`more than ${MAX_OPEN_ENTRIES} entries in flight`)]);
    hung.open();
    // settled before its result: the label reaches the session, not the entry
    expect((await fetched).resultDecision!.labels).toEqual(["untrusted"]);
  }, 60_000);
});

describe("a tool that throws", () => {
  async function thrown(tool: () => unknown, action: Record<string, unknown>) {
    const clock = { now: 0 };
    const { e, lines } = await enforcer("", clock);
    const error = await e.run(action, { session: "s" }, tool).then(
      () => null,
      (x: unknown) => x,
    );
    await e.close();
    return { error, records: lines.map((l) => JSON.parse(l) as Record<string, unknown>), lines };
  }

  it("has its message decided as the result { error }: a credential in it is withheld", async () => {
    const { error, records, lines } = await thrown(
      () => {
        throw new Error(`cannot parse ${AWS}`);
      },
      { type: "read_file" },
    );
    expect(error).toBeInstanceOf(ResultWithheld);
    expect((error as ResultWithheld).decision.rules.map((r) => r.id)).toEqual(["no_credentials"]);
    expect(records.map((r) => r.kind)).toEqual(["decision", "outcome", "result"]);
    expect(records[1]).toMatchObject({ outcome: "error", errorHash: sha256(canonicalJson({ error: `cannot parse ${AWS}` })) });
    expect(records[1]).not.toHaveProperty("error");
    expect(lines.join("\n")).not.toContain("AKIA");
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("rejects with ToolFailed carrying the message as the policy left it", async () => {
    const { error, records } = await thrown(() => Promise.reject(new Error("card 4111 1111 1111 1111 declined")), { type: "charge" });
    expect(error).toBeInstanceOf(ToolFailed);
    const failed = error as ToolFailed;
    expect(failed.message).toBe("card [CARD] declined");
    expect(failed.resultDecision).toMatchObject({ decision: "allow", result: { error: "card [CARD] declined" } });
    expect(failed.decision.decision).toBe("allow");
    expect(failed.cause).toBeUndefined();
    expect(records[2]).toMatchObject({ kind: "result", decision: "allow", redacted: ["result.error"] });
  });

  it("keeps its own error when the policy has no rules on results", async () => {
    const e = await createEnforcer({ policy: { source: "default allow", fileName: "plain.armor" } });
    const own = new Error("boom");
    await expect(e.run({ type: "x" }, {}, () => Promise.reject(own))).rejects.toBe(own);
  });
});

describe("checkResult and record", () => {
  it("decides the result of an action the host ran, and its labels reach the reserved entry", async () => {
    const clock = { now: 0 };
    const { e, lines } = await enforcer(`rule no_post_after_web when action.type == "post" and seen(labels contains "untrusted") deny`, clock);
    const call = await e.decide({ type: "fetch_url" }, { session: "s" }, { reserve: true });
    const d = await e.checkResult({ type: "fetch_url" }, "<html>", { session: "s" }, { decisionId: call.id });
    expect(d).toMatchObject({ decision: "allow", stage: "result", result: "<html>", labels: ["untrusted"], id: call.id });
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("deny");
    expect(await e.record({ type: "fetch_url" }, { session: "s" }, { decisionId: call.id })).toMatchObject({ settled: true });
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("deny");
    await e.close();
    expect(lines.map((l) => JSON.parse(l).kind)).toEqual(["decision", "result", "decision", "outcome", "decision"]);
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("files a result under a decision id only when it names the pending reservation", async () => {
    const { e, lines } = await enforcer("", { now: 0 });
    const injected = 'x","decision":"deny","zz":"';
    const d = await e.checkResult({ type: "fetch_url" }, "<html>", { session: "s" }, { decisionId: injected });
    expect(d.id).not.toBe(injected);
    const other = await e.decide({ type: "fetch_url" }, { session: "other" }, { reserve: true });
    // another session's reservation is not this session's
    expect((await e.checkResult({ type: "fetch_url" }, "<html>", { session: "s" }, { decisionId: other.id })).id).not.toBe(other.id);
    await expect(e.checkResult({ type: "fetch_url" }, "<html>", { session: "s" }, { decisionId: other.id, requireReservation: true })).rejects.toBeInstanceOf(NoReservation);
    await e.close();
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
    expect(lines.map((l) => JSON.parse(l).decision)).not.toContain("deny");
  });

  it("withholds what a rule denies, and never throws for it", async () => {
    const { e } = await enforcer("", { now: 0 });
    const d = await e.checkResult({ type: "read_file" }, { content: AWS }, { session: "s" });
    expect(d).toMatchObject({ decision: "deny", result: null, rules: [{ id: "no_credentials" }] });
    const bad = await e.checkResult({ type: "read_file" }, { n: 1n }, { session: "s" });
    expect(bad.decision).toBe("deny");
    expect(bad.errors[0]!.message).toBe("`result.n` is not JSON: a bigint");
  });

  it("without a reservation, gives the session the labels but no entry", async () => {
    const { e } = await enforcer(
      `rule mail_after_web when action.type == "send_email" and "untrusted" in session.labels deny\nrule no_post_after_web when action.type == "post" and seen(labels contains "untrusted") deny`,
      { now: 0 },
    );
    await e.checkResult({ type: "fetch_url" }, "<html>", { session: "s" }, { decisionId: "not-a-reservation" });
    expect((await e.decide({ type: "send_email" }, { session: "s" })).decision).toBe("deny");
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("allow");
  });

  it("record without a reservation gives the entry the labels a decision of its action would", async () => {
    const { e } = await enforcer(`rule no_export_after_crm when action.type == "export" and seen(labels contains "pii") deny`, { now: 0 });
    await e.decide({ type: "lookup_customer" }, { session: "s" });
    expect((await e.decide({ type: "export" }, { session: "s" })).decision).toBe("allow");
    await e.record({ type: "lookup_customer" }, { session: "s" });
    expect((await e.decide({ type: "export" }, { session: "s" })).decision).toBe("deny");
  });
});

describe("a context whose getters throw", () => {
  const hostile = Object.defineProperty({ session: "s" }, "user", {
    get() {
      throw new Error("no user here");
    },
  });

  // every call that reads a context denies, naming it, rather than rejecting
  it.each([
    ["decide", (e: Enforcer) => e.decide({ type: "x" }, hostile)],
    ["checkOutput", (e: Enforcer) => e.checkOutput("hello", hostile)],
    ["checkResult", (e: Enforcer) => e.checkResult({ type: "x" }, "ok", hostile)],
  ] as const)("%s denies", async (_name, call) => {
    const { e } = await enforcer("", { now: 0 });
    const d = await call(e);
    expect(d.decision).toBe("deny");
    expect(d.errors.map((x) => x.message)).toEqual(["invalid context: the session, user and context cannot be read: no user here"]);
  });
});

describe("a shadow candidate", () => {
  it("decides results and messages too, and reports their flips with the stage", async () => {
    const flips: unknown[] = [];
    const e = await createEnforcer({
      policy: { source: BASE, fileName: "agent.armor" },
      shadow: { source: `${BASE}\nrule no_html on result when result matches /<html>/ deny\nrule no_hello on output when output.text contains "hello" deny`, fileName: "candidate.armor" },
      onShadowFlip: (f) => void flips.push(f),
    });
    const ran = await e.run({ type: "fetch_url" }, { session: "s" }, () => "<html>");
    expect(ran.resultDecision!.decision).toBe("allow");
    expect((await e.checkOutput("hello", { session: "s" })).decision).toBe("allow");
    expect(flips).toEqual([
      expect.objectContaining({ stage: "result", enforced: "allow", candidate: "deny", candidateRules: ["web_is_untrusted", "no_html"], decisionId: ran.decision.id }),
      expect.objectContaining({ stage: "output", enforced: "allow", candidate: "deny", candidateRules: ["no_hello"] }),
    ]);
    expect(e.shadowReport()).toMatchObject({ decisions: 3, flips: 2, byKind: { "result allow->deny": 1, "output allow->deny": 1 } });
  });
});

describe("a decided result", () => {
  it("keeps the tool's key order, and is a copy nobody else holds", async () => {
    const decisions: unknown[] = [];
    const e = await createEnforcer({ policy: { source: BASE, fileName: "agent.armor" }, onDecision: (d) => void decisions.push(d) });
    const ran = await e.run({ type: "lookup" }, { session: "s" }, () => ({ zeta: 1, alpha: { y: 2, b: 3 }, mid: [{ z: 0, a: 1 }] }));
    expect(JSON.stringify(ran.result)).toBe('{"zeta":1,"alpha":{"y":2,"b":3},"mid":[{"z":0,"a":1}]}');
    // what onDecision was handed is not what the agent got
    expect(ran.result).not.toBe(ran.resultDecision!.result);
    expect(decisions.at(-1)).toBe(ran.resultDecision);
  });
});
