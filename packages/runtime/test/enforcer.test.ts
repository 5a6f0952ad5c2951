/**
 * The enforcer end to end, on policies compiled from source: decisions, running and wrapping
 * tools, approvals, redaction, session history, audit failures, validation, fail-closed
 * behaviour, hot reload and shadow mode.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { ActionDenied, type ApprovalHandler, type AuditLog, type AuditRecord, type AuditSink, createEnforcer, type EnforcerOptions, verifyAuditLog } from "../src/index.js";

const POLICY = `
policy mail version "1.0.0"
default allow
rule big_wire when action.type == "wire" and amount > 1000 require approval from "finance" timeout 1s because "big wires need a second pair of eyes"
rule sanctioned when action.type == "wire" and recipient == "evil-corp" deny because "sanctioned"
rule email_rate when action.type == "send_email" and count(type == "send_email" within 1h) >= 3 deny because "at most 3 emails an hour"
rule exfil when action.type == "http_post" and seen(type == "read_file" and path contains "secret" within 30m) deny because "a secret was read"
rule ssn when action.type == "send_email" redact body matching /\\d{3}-\\d{2}-\\d{4}/
rule role when action.type == "drop_table" and user.role != "dba" deny
`;

function clockAt(start = Date.parse("2026-03-02T10:00:00Z")) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

async function enforcer(extra: Partial<EnforcerOptions> = {}) {
  const clock = clockAt();
  const e = await createEnforcer({ policy: { source: POLICY, fileName: "mail.armor" }, clock: clock.now, ...extra });
  return { e, clock };
}

const approveAll: ApprovalHandler = { request: async () => ({ approved: true, approver: "alice" }) };
const rejectAll: ApprovalHandler = { request: async () => ({ approved: false, approver: "bob", note: "no" }) };

describe("decide", () => {
  it("returns the decision with id, time, policy and action hash, and records nothing", async () => {
    const { e } = await enforcer();
    const d = await e.decide({ type: "send_email", body: "hi" }, { session: "s1" });
    expect(d.decision).toBe("allow");
    expect(d.policy).toEqual({ name: "mail", version: "1.0.0", sourceHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(d.session).toBe("s1");
    expect(d.actionHash).toMatch(/^[0-9a-f]{64}$/);
    for (let i = 0; i < 5; i++) expect((await e.decide({ type: "send_email", body: "hi" }, { session: "s1" })).decision).toBe("allow");
  });
});

describe("run", () => {
  it("runs allowed actions with the redacted arguments", async () => {
    const { e } = await enforcer();
    const execute = vi.fn(async (a: { body?: unknown }) => `sent ${String(a.body)}`);
    const r = await e.run({ type: "send_email", body: "ssn 123-45-6789" }, { session: "s" }, execute);
    expect(r.result).toBe("sent ssn [REDACTED]");
    expect(execute).toHaveBeenCalledWith({ type: "send_email", body: "ssn [REDACTED]" });
    expect(r.decision.rules.map((x) => x.id)).toEqual(["ssn"]);
  });

  it("throws ActionDenied with the decision, and never runs a denied action", async () => {
    const { e } = await enforcer();
    const execute = vi.fn();
    const error = await e.run({ type: "wire", amount: 5, recipient: "evil-corp" }, {}, execute).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(ActionDenied);
    expect((error as ActionDenied).decision.rules.map((r) => r.id)).toEqual(["sanctioned"]);
    expect((error as ActionDenied).message).toContain("sanctioned");
    expect(execute).not.toHaveBeenCalled();
  });

  it("returns the decision instead of throwing with throwOnDeny: false", async () => {
    const { e } = await enforcer({ throwOnDeny: false });
    const r = await e.run({ type: "drop_table" }, { user: { role: "intern" } }, () => "dropped");
    expect(r.decision.decision).toBe("deny");
    expect(r.result).toBeUndefined();
  });

  it("denies whatever the policy cannot evaluate, naming the cause", async () => {
    const { e } = await enforcer({ throwOnDeny: false });
    const r = await e.run({ type: "wire", amount: "lots", recipient: "bob" }, {}, () => "sent");
    expect(r.decision.decision).toBe("deny");
    expect(r.decision.errors[0]).toEqual({ rule: "big_wire", message: expect.stringContaining("needs two numbers") });
    const notAnAction = await e.run("wire everything", {}, () => "sent");
    expect(notAnAction.decision.decision).toBe("deny");
  });
});

describe("approvals", () => {
  it("runs an approved action and records the approver in the audit log", async () => {
    const records: Record<string, unknown>[] = [];
    const { e } = await enforcer({ approvals: approveAll, audit: { callback: (r) => void records.push(r) } });
    const r = await e.run({ type: "wire", amount: 5000, recipient: "bob" }, {}, () => "sent");
    expect(r.result).toBe("sent");
    expect(r.decision.decision).toBe("allow");
    const decision = records.find((x) => x.kind === "decision")!;
    expect(decision.approval).toMatchObject({ required: true, from: "finance", outcome: "approved", approver: "alice" });
  });

  it("passes the rule, reason, group, timeout and the exact action to the handler", async () => {
    const request = vi.fn(approveAll.request);
    const { e } = await enforcer({ approvals: { request } });
    await e.run({ type: "wire", amount: 5000, recipient: "bob" }, { session: "s", user: { id: "u1" } }, () => "sent");
    const req = request.mock.calls[0]![0];
    expect(req).toMatchObject({ from: "finance", timeoutMs: 1000, reason: "big wires need a second pair of eyes", session: "s", user: { id: "u1" } });
    expect(req.rules.map((r) => r.id)).toEqual(["big_wire"]);
    expect(req.action).toEqual({ type: "wire", amount: 5000, recipient: "bob" });
  });

  it("asks the default's group for an action no rule decides (default require approval)", async () => {
    const request = vi.fn(approveAll.request);
    const source = 'default require approval from "ops" timeout 2s\nrule reads when action.type == "read" allow\n';
    const e = await createEnforcer({ policy: { source, fileName: "ask.armor" }, approvals: { request }, throwOnDeny: false });
    expect((await e.run({ type: "read" }, {}, () => "read")).result).toBe("read");
    expect(request).not.toHaveBeenCalled();
    const r = await e.run({ type: "write", path: "a" }, {}, () => "written");
    expect(r.result).toBe("written");
    expect(request.mock.calls[0]![0]).toMatchObject({ from: "ops", timeoutMs: 2000, rules: [], action: { type: "write", path: "a" } });
    const without = await createEnforcer({ policy: { source, fileName: "ask.armor" }, throwOnDeny: false });
    const denied = await without.run({ type: "write" }, {}, () => "written");
    expect(denied.decision.decision).toBe("deny");
    expect(denied.decision.errors.map((x) => x.message)).toEqual(["approval required, but no approval handler is configured"]);
  });

  it("denies on rejection, on a failing handler, on timeout, and without a handler", async () => {
    for (const [approvals, why] of [
      [rejectAll, "approval rejected by bob: no"],
      [{ request: async () => Promise.reject(new Error("pager down")) }, "the approval handler failed: pager down"],
      [{ request: () => new Promise<never>(() => {}) }, "approval timed out after 1000 ms"],
      [undefined, "approval required, but no approval handler is configured"],
    ] as const) {
      const { e } = await enforcer({ approvals, throwOnDeny: false, onError: () => {} });
      const execute = vi.fn();
      const r = await e.run({ type: "wire", amount: 5000, recipient: "bob" }, {}, execute);
      expect(r.decision.decision).toBe("deny");
      expect(r.decision.errors.map((x) => x.message)).toContain(why);
      expect(execute).not.toHaveBeenCalled();
    }
  });

  it("aborts the handler's signal on timeout", async () => {
    let signal: AbortSignal | undefined;
    const { e } = await enforcer({
      approvals: {
        request: (req) => {
          signal = req.signal;
          return new Promise<never>(() => {});
        },
      },
      throwOnDeny: false,
    });
    await e.run({ type: "wire", amount: 5000, recipient: "bob" }, {}, () => "sent");
    expect(signal?.aborted).toBe(true);
  });

  it("decides again after approval: a limit reached meanwhile still denies", async () => {
    let release: (() => void) | undefined;
    const slow: ApprovalHandler = { request: () => new Promise((resolve) => (release = () => resolve({ approved: true, approver: "a" }))) };
    const { e } = await enforcer({ approvals: slow, throwOnDeny: false });
    await e.reload({ source: `${POLICY}\nrule frozen when action.type == "wire" and seen(type == "freeze") deny because "account frozen"`, fileName: "mail.armor" });
    const pending = e.run({ type: "wire", amount: 5000, recipient: "bob" }, { session: "s" }, () => "sent");
    await vi.waitFor(() => expect(release).toBeDefined());
    await e.run({ type: "freeze" }, { session: "s" }, () => "frozen");
    release!();
    const r = await pending;
    expect(r.decision.decision).toBe("deny");
    expect(r.decision.rules.map((x) => x.id)).toContain("frozen");
  });
});

describe("session history", () => {
  it("rate-limits per session with a sliding window", async () => {
    const { e, clock } = await enforcer({ throwOnDeny: false });
    const send = (session: string) => e.run({ type: "send_email", body: "x" }, { session }, () => "ok");
    for (let i = 0; i < 3; i++) expect((await send("a")).decision.decision).toBe("allow");
    expect((await send("a")).decision.decision).toBe("deny");
    expect((await send("b")).decision.decision).toBe("allow");
    clock.advance(3_600_000);
    expect((await send("a")).decision.decision).toBe("allow");
  });

  it("counts in-flight actions, so concurrent runs cannot race past a limit", async () => {
    const { e } = await enforcer({ throwOnDeny: false });
    const slow = () => new Promise((resolve) => setTimeout(() => resolve("ok"), 20));
    const results = await Promise.all(Array.from({ length: 10 }, () => e.run({ type: "send_email", body: "x" }, { session: "s" }, slow)));
    expect(results.filter((r) => r.decision.decision === "allow")).toHaveLength(3);
  });

  it("remembers a secret read for 30 minutes", async () => {
    const { e, clock } = await enforcer({ throwOnDeny: false });
    await e.run({ type: "read_file", path: "/etc/secret/key" }, { session: "s" }, () => "key");
    expect((await e.run({ type: "http_post" }, { session: "s" }, () => "posted")).decision.decision).toBe("deny");
    clock.advance(30 * 60_000);
    expect((await e.run({ type: "http_post" }, { session: "s" }, () => "posted")).decision.decision).toBe("allow");
  });

  it("keeps memory bounded by the window however long the session runs", async () => {
    const store = new Map<string, import("../src/types.js").SessionHistory>();
    const { e, clock } = await enforcer({ throwOnDeny: false, history: { get: (s) => store.get(s), set: (s, v) => void store.set(s, v), delete: (s) => void store.delete(s) } });
    for (let i = 0; i < 5000; i++) {
      clock.advance(60_000);
      await e.run({ type: "read_file", path: "/tmp/x" }, { session: "s" }, () => "ok");
    }
    const state = store.get("s")!;
    const inWindow = [...state.trackers.values()].map((t) => t.times.length - t.head);
    expect(Math.max(...inWindow)).toBeLessThanOrEqual(60);
    expect(state.recent.length).toBeLessThanOrEqual(60);
  });

  it("does not count an allowed action that the audit log refused", async () => {
    let fail = true;
    const sink: AuditSink = { write: () => (fail ? Promise.reject(new Error("disk full")) : undefined) };
    const { e } = await enforcer({ throwOnDeny: false, audit: { sinks: [sink] }, onError: () => {} });
    for (let i = 0; i < 5; i++) expect((await e.run({ type: "send_email", body: "x" }, { session: "s" }, () => "ok")).decision.decision).toBe("deny");
    fail = false;
    for (let i = 0; i < 3; i++) expect((await e.run({ type: "send_email", body: "x" }, { session: "s" }, () => "ok")).decision.decision).toBe("allow");
  });
});

describe("audit", () => {
  it("writes a decision record before running and an outcome record after", async () => {
    const records: Record<string, unknown>[] = [];
    const { e } = await enforcer({ audit: { callback: (r) => void records.push(r) } });
    await e.run({ type: "send_email", body: "123-45-6789" }, { session: "s", user: { id: "u" } }, () => {
      expect(records.map((r) => r.kind)).toEqual(["decision"]);
      return "sent";
    });
    expect(records.map((r) => r.kind)).toEqual(["decision", "outcome"]);
    expect(records[0]).toMatchObject({ decision: "allow", session: "s", user: { id: "u" }, action: { type: "send_email", body: "[REDACTED]" }, policy: { name: "mail" } });
    expect(records[1]).toMatchObject({ outcome: "ok", decisionId: records[0]!.decisionId });
    await expect(e.run({ type: "send_email", body: "x" }, {}, () => Promise.reject(new Error("smtp down")))).rejects.toThrow("smtp down");
    expect(records[records.length - 1]).toMatchObject({ kind: "outcome", outcome: "error", error: "smtp down" });
  });

  it("denies when the audit sink fails, unless told otherwise, and reports the failure", async () => {
    const failing: AuditSink = { write: () => Promise.reject(new Error("disk full")) };
    const errors: Error[] = [];
    const { e } = await enforcer({ audit: { sinks: [failing] }, onError: (x) => void errors.push(x), throwOnDeny: false });
    const execute = vi.fn();
    const r = await e.run({ type: "send_email", body: "x" }, {}, execute);
    expect(r.decision.decision).toBe("deny");
    expect(r.decision.errors.map((x) => x.message).join()).toContain("disk full");
    expect(execute).not.toHaveBeenCalled();
    expect(errors.length).toBeGreaterThan(0);
    const lenient = await enforcer({ audit: { sinks: [failing] }, onAuditFailure: "allow", onError: () => {} });
    expect((await lenient.e.run({ type: "send_email", body: "x" }, {}, () => "sent")).result).toBe("sent");
  });
});

describe("audit to a file", () => {
  const lines = (path: string): Record<string, unknown>[] =>
    readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("has the decision record in the file when the tool starts, and the outcome after the next record or on close", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "armor-enforcer-")), "audit.jsonl");
    const { e } = await enforcer({ audit: { file: path } });
    for (let i = 0; i < 3; i++) {
      const action = { type: "send_email", body: `mail ${i}` };
      await e.run(action, { session: "s", user: { id: "u" } }, (a) => {
        // the first record goes through the queue (the file is opened then), the others are written synchronously
        const text = readFileSync(path, "utf8");
        expect(verifyAuditLog(text)).toMatchObject({ ok: true, records: 2 * i + 1 });
        expect(lines(path).at(-1)).toMatchObject({ kind: "decision", decision: "allow", action: a, user: { id: "u" } });
      });
      // the outcome is chained but not written yet
      expect(lines(path).at(-1)).toMatchObject({ kind: "decision" });
    }
    await e.close();
    const records = lines(path);
    expect(records.map((r) => r.kind)).toEqual(["decision", "outcome", "decision", "outcome", "decision", "outcome"]);
    expect(records.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(verifyAuditLog(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 6 });
  });

  it("records an error outcome when the tool's result throws on reading `then`, or the tool throws a value without text", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "armor-enforcer-")), "audit.jsonl");
    const { e } = await enforcer({ audit: { file: path } });
    const ctx = { session: "t" };
    const trap = new Error("then getter");
    const hostile = Object.defineProperty({}, "then", {
      get() {
        throw trap;
      },
    });
    await expect(e.run({ type: "read_file", path: "notes" }, ctx, () => hostile)).rejects.toBe(trap);
    const textless = Object.create(null) as object;
    await expect(
      e.run({ type: "read_file", path: "notes" }, ctx, () => {
        throw textless;
      }),
    ).rejects.toBe(textless);
    await e.close();
    const outcomes = lines(path).filter((r) => r.kind === "outcome");
    expect(outcomes.map((r) => [r.outcome, r.error])).toEqual([
      ["error", "then getter"],
      ["error", "the tool threw a value that has no text"],
    ]);
    expect(verifyAuditLog(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 4 });
  });

  it("records the outcome of a tool that returns a value, a promise or a thenable, or throws, and rejects with what it threw", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "armor-enforcer-")), "audit.jsonl");
    const { e } = await enforcer({ audit: { file: path } });
    const ctx = { session: "t" };
    expect((await e.run({ type: "read_file", path: "notes" }, ctx, () => 1)).result).toBe(1);
    expect((await e.run({ type: "read_file", path: "notes" }, ctx, async () => 2)).result).toBe(2);
    expect((await e.run({ type: "read_file", path: "notes" }, ctx, () => ({ then: (resolve: (v: number) => void) => resolve(3) }))).result).toBe(3);
    const boom = new Error("boom");
    const thrown = e.run({ type: "read_file", path: "notes" }, ctx, () => {
      throw boom;
    });
    await expect(thrown).rejects.toBe(boom);
    await expect(e.run({ type: "read_file", path: "notes" }, ctx, () => Promise.reject(new Error("later")))).rejects.toThrow("later");
    await e.close();
    const outcomes = lines(path).filter((r) => r.kind === "outcome");
    expect(outcomes.map((r) => [r.outcome, r.error])).toEqual([
      ["ok", undefined],
      ["ok", undefined],
      ["ok", undefined],
      ["error", "boom"],
      ["error", "later"],
    ]);
    expect(verifyAuditLog(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 10 });
  });

  it("denies an action whose user cannot be serialized, records the denial, and does not count it", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "armor-enforcer-")), "audit.jsonl");
    const errors: Error[] = [];
    const { e } = await enforcer({ throwOnDeny: false, audit: { file: path }, onError: (x) => void errors.push(x) });
    const user: Record<string, unknown> = { id: "u" };
    user.self = user;
    const execute = vi.fn();
    for (let i = 0; i < 4; i++) {
      const r = await e.run({ type: "send_email" }, { session: "c", user }, execute);
      expect(r.decision.decision).toBe("deny");
      expect(r.decision.errors.at(-1)?.message).toBe("invalid user: `self` contains itself");
    }
    expect(execute).not.toHaveBeenCalled();
    expect(errors).toHaveLength(0);
    // none of them counts: the session may still send its three emails an hour
    for (let i = 0; i < 3; i++) expect((await e.run({ type: "send_email" }, { session: "c" }, () => "ok")).decision.decision).toBe("allow");
    await e.close();
    expect(verifyAuditLog(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 10 });
  });

  it("records the denial of an action that cannot be serialized, without the action", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "armor-enforcer-")), "audit.jsonl");
    const { e } = await enforcer({ throwOnDeny: false, audit: { file: path } });
    const action: Record<string, unknown> = { type: "send_email" };
    action.self = action;
    const r = await e.run(action, { session: "x" }, () => "sent");
    expect(r.decision).toMatchObject({ decision: "deny", actionHash: "" });
    expect(r.decision.errors.at(-1)?.message).toBe("invalid action: `self` contains itself");
    await e.close();
    const [record] = lines(path);
    expect(record).toMatchObject({ kind: "decision", decision: "deny", actionHash: "", decisionId: r.decision.id });
    expect(record).not.toHaveProperty("action");
    expect(verifyAuditLog(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 1 });
  });

  it("hands an audit log of its own the records as fields", async () => {
    const appended: Record<string, unknown>[] = [];
    const log: AuditLog = {
      append: async (fields) => {
        appended.push(structuredClone(fields));
        return { ...fields, seq: appended.length - 1, prev: "", hash: "" } as AuditRecord;
      },
      flush: async () => {},
      close: async () => {},
    };
    const { e } = await enforcer({ audit: log });
    const r = await e.run({ type: "send_email", body: "123-45-6789" }, { session: "s", user: { id: "u" } }, () => "sent");
    expect(appended).toEqual([
      {
        kind: "decision",
        decisionId: r.decision.id,
        time: r.decision.time,
        mode: "run",
        policy: { name: "mail", version: "1.0.0", sourceHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
        session: "s",
        user: { id: "u" },
        action: { type: "send_email", body: "[REDACTED]" },
        actionHash: r.decision.actionHash,
        decision: "allow",
        rules: [{ id: "ssn", effect: "redact", reason: null }],
        errors: [],
        approval: null,
      },
      { kind: "outcome", decisionId: r.decision.id, time: expect.any(String), outcome: "ok", durationMs: 0 },
    ]);
  });
});

describe("decision ids", () => {
  it("gives every decision an id of its own, across enforcers", async () => {
    const ids = new Set<string>();
    for (let k = 0; k < 2; k++) {
      const { e } = await enforcer({ onDecision: (d) => void ids.add(d.id) });
      for (let i = 0; i < 500; i++) await e.run({ type: "send_email" }, { session: `s${i}` }, () => "ok");
    }
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]+-[0-9a-f]{16}-[0-9a-z]+$/);
  });
});

describe("wrap", () => {
  it("guards plain async tool functions", async () => {
    const { e } = await enforcer();
    const tools = e.wrapTools(
      {
        send_email: async (args: { to: string; body: string }) => `to ${args.to}: ${args.body}`,
        drop_table: async (args: { table: string }) => `dropped ${args.table}`,
      },
      { session: "w", user: { role: "intern" } },
    );
    expect(await tools.send_email({ to: "a@b.c", body: "call 123-45-6789" })).toBe("to a@b.c: call [REDACTED]");
    await expect(tools.drop_table({ table: "users" })).rejects.toBeInstanceOf(ActionDenied);
  });
});

describe("validation", () => {
  it("denies actions that do not match the policy's schema", async () => {
    const { loadPolicy } = await import("../src/load.js");
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "armor-validate-"));
    writeFileSync(
      join(dir, "actions.schema.json"),
      JSON.stringify({
        oneOf: [{ type: "object", properties: { type: { const: "wire" }, amount: { type: "number" } }, required: ["type", "amount"], additionalProperties: false }],
      }),
    );
    writeFileSync(join(dir, "p.armor"), 'schema "./actions.schema.json"\ndefault allow\nrule r when action.type == "wire" and amount > 5 deny\n');
    const loaded = await loadPolicy(join(dir, "p.armor"));
    expect(loaded.module.actionSchema).not.toBeNull();
    const e = await createEnforcer({ policy: loaded.module, throwOnDeny: false });
    const r = await e.run({ type: "wire", amount: "5", extra: 1 }, {}, () => "sent");
    expect(r.decision.decision).toBe("deny");
    expect(r.decision.errors.map((x) => x.message).join("\n")).toMatch(/invalid action: .*(unexpected field `extra`|`amount` must be number)/);
    expect((await e.run({ type: "wire", amount: 1 }, {}, () => "sent")).result).toBe("sent");
  });
});

describe("reload and shadow", () => {
  it("swaps policies atomically and keeps the old one when the new one does not compile", async () => {
    const { e } = await enforcer({ throwOnDeny: false, onError: () => {} });
    const bad = await e.reload({ source: "rule broken when amount > deny", fileName: "next.armor" });
    expect(bad.ok).toBe(false);
    expect(bad.diagnostics.map((d) => d.code)).toContain("A101");
    expect(e.policy.name).toBe("mail");
    const good = await e.reload({ source: 'policy strict version "2.0.0"\ndefault deny', fileName: "next.armor" });
    expect(good.ok).toBe(true);
    expect(e.policy.name).toBe("strict");
    expect((await e.decide({ type: "send_email" })).decision).toBe("deny");
  });

  it.each([
    ["policy text", "default allow", '"default allow" is not the path of a .armor file or of a compiled .js module; to load policy text, pass { source: text }'],
    ["long policy text", 'default allow\nrule r when action.type == "x" deny\n', '"default allow\\nrule r when action.type ==..." is not the path'],
    ["a file of another kind", "policy.json", '"policy.json" is not the path of a .armor file'],
  ])("refuses %s given as a path, saying how to pass text, and keeps the old policy", async (_name, source, message) => {
    const { e } = await enforcer({ throwOnDeny: false, onError: () => {} });
    const r = await e.reload(source);
    expect(r.ok).toBe(false);
    expect(r.error).toContain(message);
    expect(e.policy.name).toBe("mail");
  });

  it("keeps rate-limit counters across a reload", async () => {
    const { e } = await enforcer({ throwOnDeny: false });
    for (let i = 0; i < 3; i++) await e.run({ type: "send_email", body: "x" }, { session: "s" }, () => "ok");
    await e.reload({ source: `${POLICY}\nrule extra when action.type == "noop" deny`, fileName: "mail.armor" });
    expect((await e.run({ type: "send_email", body: "x" }, { session: "s" }, () => "ok")).decision.decision).toBe("deny");
    // a new predicate starts from the session's recent actions
    await e.reload({ source: 'default allow\nrule tighter when action.type == "send_email" and count(type == "send_email" within 2h) >= 2 deny', fileName: "t.armor" });
    expect((await e.run({ type: "send_email", body: "x" }, { session: "s" }, () => "ok")).decision.decision).toBe("deny");
  });

  it("reports the decisions a candidate policy would flip, without enforcing them", async () => {
    const flips: unknown[] = [];
    const { e } = await enforcer({
      throwOnDeny: false,
      shadow: { source: 'default deny\nrule mail_ok when action.type == "send_email" allow', fileName: "candidate.armor" },
      onShadowFlip: (f) => void flips.push(f),
    });
    expect((await e.run({ type: "send_email", body: "x" }, {}, () => "ok")).decision.decision).toBe("allow");
    expect((await e.run({ type: "wire", amount: 1, recipient: "bob" }, {}, () => "ok")).decision.decision).toBe("allow");
    expect(flips).toEqual([expect.objectContaining({ enforced: "allow", candidate: "deny", action: { type: "wire", amount: 1, recipient: "bob" } })]);
    expect(e.shadowReport()).toMatchObject({ decisions: 2, flips: 1, byKind: { "allow->deny": 1 } });
  });
});

describe("record", () => {
  it("counts an action that ran elsewhere, whatever a decision now would say, and audits it", async () => {
    const records: Record<string, unknown>[] = [];
    const { e } = await enforcer({ throwOnDeny: false, audit: { callback: (r) => void records.push(r) } });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await e.record({ type: "send_email", body: "x" }, { session: "s" }, { decisionId: `ext-${i}` })).decisionId);
    expect((await e.run({ type: "send_email", body: "x" }, { session: "s" }, () => "ok")).decision.decision).toBe("deny");
    // an id that names no decision of this enforcer's is never written: each outcome is under an id of its own
    expect(records.slice(0, 4).map((r) => [r.kind, r.mode, r.decisionId, r.outcome])).toEqual(ids.map((id) => ["outcome", "record", id, "ok"]));
    expect(new Set(ids).size).toBe(4);
    expect(ids.some((id) => id.startsWith("ext-"))).toBe(false);
  });

  it("rejects when the audit log fails, keeping the action in the history", async () => {
    const failing: AuditSink = { write: () => Promise.reject(new Error("disk full")) };
    const { e } = await enforcer({ throwOnDeny: false, audit: { sinks: [failing] }, onError: () => {}, onAuditFailure: "allow" });
    for (let i = 0; i < 3; i++) await expect(e.record({ type: "send_email" }, { session: "s" })).rejects.toThrow("disk full");
    expect((await e.decide({ type: "send_email" }, { session: "s" })).decision).toBe("deny");
  });
});
