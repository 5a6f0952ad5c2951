/**
 * The result and output stages in the enforcer: run() and wrapped tools decide what a tool
 * returned and return it as the policy rewrote it, or withhold it (ResultWithheld); approvals on
 * results bind the result's hash; checkOutput decides a model's message; labels reach the session
 * (`session.labels`) and the action's history entry (`seen(labels contains ...)`), survive a
 * reload and are bounded; `result` and `output` audit records verify, never hold the value, and a
 * tampered one fails verification.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { describe, expect, it } from "vitest";
import {
  ActionDenied,
  type ApprovalHandler,
  type ApprovalRequest,
  type AuditSink,
  canonicalJson,
  createEnforcer,
  type EnforcerOptions,
  MAX_SESSION_LABELS,
  type PolicyModule,
  ResultWithheld,
  type StageDecision,
  sha256,
  verifyAuditLog,
} from "../src/index.js";

const POLICY = `
policy agent version "1"
default allow

rule cards on result
  when action.type == "lookup_customer"
  redact result.notes matching std.card_number with "[CARD]"

rule no_credentials on result
  when any(s in strings(result): s matches std.secret)
  deny because "a tool returned a credential"

rule web_is_untrusted on result
  when action.type == "fetch_url"
  label "untrusted"

rule exports_need_a_look on result
  when action.type == "export"
  require approval from "dpo" because "exports are read by a person first"

rule mail_after_web
  when action.type == "send_email" and "untrusted" in session.labels
  require approval from "security" because "the agent read the open web"

rule no_post_after_web
  when action.type == "post" and seen(labels contains "untrusted" within 1h)
  deny because "an untrusted result was read within the hour"

rule touched_crm
  when action.type == "lookup_customer"
  label "pii"

rule no_refunds on output
  when output.text matches /\\bguarantee(d)? (a )?refund/i
  deny because "the assistant may not promise refunds"

rule cards_in_output on output
  when output.text matches std.card_number
  redact output.text matching std.card_number

rule greeted on output
  when output.text contains "hello"
  label "greeted"
`;

const CARD = "4111 1111 1111 1111";
const AWS = "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE";

async function enforcer(extra: Partial<EnforcerOptions> = {}, source = POLICY) {
  const lines: string[] = [];
  const e = await createEnforcer({ policy: { source, fileName: "agent.armor" }, audit: { callback: (_r, line) => void lines.push(line) }, ...extra });
  return { e, lines };
}

/** What run() gave: the result, or the withholding's decision. */
async function outcome(p: Promise<unknown>): Promise<{ result?: unknown; withheld?: StageDecision; denied?: boolean }> {
  try {
    return { result: await p };
  } catch (e) {
    if (e instanceof ResultWithheld) return { withheld: e.decision };
    if (e instanceof ActionDenied) return { denied: true };
    throw e;
  }
}

const cyclic = (): unknown => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
};
const throwingGetter = (): unknown =>
  Object.defineProperty({}, "secret", {
    enumerable: true,
    get() {
      throw new Error("no");
    },
  });
const throwingProxy = (): unknown =>
  new Proxy(
    {},
    {
      ownKeys() {
        throw new Error("trap");
      },
    },
  );
const deep = (n: number): unknown => {
  let v: unknown = "x";
  for (let i = 0; i < n; i++) v = [v];
  return v;
};

// [name, action, what the tool returns, what run() gives: the result, or the withholding (rule or error)]
const RESULTS: [string, Record<string, unknown>, () => unknown, { result?: unknown; rule?: string; error?: RegExp }][] = [
  ["a card number redacted", { type: "lookup_customer", id: 7 }, () => ({ notes: `paid with ${CARD}`, id: 7 }), { result: { notes: "paid with [CARD]", id: 7 } }],
  ["a credential withheld", { type: "read_file", path: ".env" }, () => ({ content: AWS }), { rule: "no_credentials" }],
  ["a labelled result passes unchanged", { type: "fetch_url", url: "https://example.com" }, () => "<html>", { result: "<html>" }],
  ["a result no rule reads passes", { type: "other" }, () => ({ ok: [1, 2, { x: null }] }), { result: { ok: [1, 2, { x: null }] } }],
  ["a tool that returns nothing", { type: "other" }, () => undefined, { result: undefined }],
  ["an async tool", { type: "lookup_customer" }, async () => ({ notes: CARD }), { result: { notes: "[CARD]" } }],
  ["a function", { type: "other" }, () => ({ f: () => 1 }), { error: /^`result\.f` is not JSON: a function$/ }],
  ["a BigInt", { type: "other" }, () => ({ items: [1, 2n] }), { error: /^`result\.items\[1\]` is not JSON: a bigint$/ }],
  ["a cycle", { type: "other" }, cyclic, { error: /^`result\.self` is not JSON: it contains itself$/ }],
  ["NaN", { type: "other" }, () => ({ n: Number.NaN }), { error: /^`result\.n` is not JSON: a number with no finite value$/ }],
  ["undefined inside a list", { type: "other" }, () => [1, undefined], { error: /^`result\[1\]` is not JSON: undefined$/ }],
  ["a Buffer (its bytes are no text)", { type: "other" }, () => ({ data: Buffer.from(AWS) }), { error: /^`result\.data` is not JSON: bytes \(an ArrayBuffer or a view of one\)$/ }],
  ["a Map", { type: "other" }, () => ({ env: new Map([["KEY", AWS]]) }), { error: /^`result\.env` is not JSON: a Map$/ }],
  ["a Date", { type: "other" }, () => [new Date(0)], { error: /^`result\[0\]` is not JSON: a Date$/ }],
  ["a String object", { type: "other" }, () => ({ s: new String(AWS) }), { error: /^`result\.s` is not JSON: a String object$/ }],
  [
    "a class instance is read by its own fields",
    { type: "other" },
    () =>
      new (class Row {
        id = 1;
        name = "x";
      })(),
    { result: { id: 1, name: "x" } },
  ],
  ["a getter that throws", { type: "other" }, throwingGetter, { error: /^the input cannot be read: reading it threw an exception$/ }],
  ["a Proxy whose trap throws", { type: "other" }, throwingProxy, { error: /^the input cannot be read/ }],
  ["65 levels", { type: "other" }, () => deep(65), { error: /^`result` nests deeper than 64 levels$/ }],
  ["100,001 values", { type: "other" }, () => new Array(100_000).fill(0), { error: /^`result` holds more than 100,000 values$/ }],
  ["more than 16 MiB of text", { type: "other" }, () => ["x".repeat(16 * 1024 * 1024), "y"], { error: /^`result` holds more than 16 MiB of text$/ }],
];

describe("run() decides results", () => {
  it.each(RESULTS)("%s", async (_name, action, tool, expected) => {
    const { e, lines } = await enforcer();
    const got = await outcome(e.run(action, { session: "s" }, tool));
    if (expected.rule === undefined && expected.error === undefined) {
      expect(got).toEqual({
        result: { decision: expect.objectContaining({ decision: "allow" }), result: expected.result, resultDecision: expect.objectContaining({ decision: "allow", stage: "result" }) },
      });
    } else {
      const d = got.withheld!;
      expect(d.decision).toBe("deny");
      // the withheld value goes no further
      expect(d.result).toBeNull();
      if (expected.rule !== undefined) expect(d.rules.map((r) => r.id)).toContain(expected.rule);
      if (expected.error !== undefined) expect(d.errors.map((x) => x.message)).toEqual([expect.stringMatching(expected.error)]);
    }
    await e.close();
    // every result has its record, the log verifies, and no line holds the card or the key
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.kind)).toEqual(["decision", "outcome", "result"]);
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
    expect(lines.join("\n")).not.toContain("4111 1111");
    expect(lines.join("\n")).not.toContain("AKIA");
  });

  it("with throwOnDeny false, a withheld result is the result stage's decision and no result", async () => {
    const { e } = await enforcer({ throwOnDeny: false });
    const r = await e.run({ type: "read_file" }, {}, () => AWS);
    expect(r.decision.decision).toBe("allow");
    expect(r).not.toHaveProperty("result");
    expect(r.resultDecision).toMatchObject({ decision: "deny", stage: "result", result: null, rules: [{ id: "no_credentials" }] });
  });

  it("returns a copy of what was decided: a getter read twice cannot change it", async () => {
    const { e } = await enforcer();
    let reads = 0;
    const shifty = Object.defineProperty({}, "notes", {
      enumerable: true,
      get: () => (reads++ === 0 ? `card ${CARD}` : AWS),
    });
    const r = await e.run({ type: "lookup_customer" }, {}, () => shifty);
    expect(r.result).toEqual({ notes: "card [CARD]" });
    expect(reads).toBe(1);
    expect(r.resultDecision!.valueHash).toBe(sha256(canonicalJson({ notes: "card [CARD]" })));
  });

  it("wrap and wrapTools return the rewritten result or throw ResultWithheld", async () => {
    const { e } = await enforcer();
    const tools = e.wrapTools({
      lookup_customer: (args: { id: number }) => ({ id: args.id, notes: `card ${CARD}` }),
      read_file: (_args: { path: string }) => ({ content: AWS }),
      other: (_args: Record<string, never>) => ({ f: () => 1 }),
    });
    const cases: [string, () => Promise<unknown>, unknown][] = [
      ["redacted", () => tools.lookup_customer({ id: 1 }), { result: { id: 1, notes: "card [CARD]" } }],
      ["withheld by a rule", () => tools.read_file({ path: ".env" }), "no_credentials"],
      ["withheld as not JSON", () => tools.other({}), "`result.f` is not JSON: a function"],
    ];
    for (const [name, call, expected] of cases) {
      const got = await outcome(call());
      if (typeof expected === "string") {
        expect(got.withheld, name).toBeDefined();
        expect(JSON.stringify([got.withheld!.rules, got.withheld!.errors]), name).toContain(expected);
      } else expect(got, name).toEqual(expected);
    }
  });

  it("passes results unchanged, uncopied and unrecorded when the policy has no rules on results", async () => {
    const { e, lines } = await enforcer({}, `default allow\nrule r when action.type == "x" deny`);
    const value = { f: () => 1, n: 1n };
    const r = await e.run({ type: "other" }, {}, () => value);
    expect(r.result).toBe(value);
    expect(r.resultDecision).toBeUndefined();
    expect(lines.map((l) => JSON.parse(l).kind)).toEqual(["decision", "outcome"]);
  });

  it("passes results unchanged with a module compiled before stages (no decideResult)", async () => {
    const module = (await loadModule(emit(compileSource("agent.armor", POLICY)).js)) as PolicyModule;
    const { decideResult: _r, decideOutput: _o, ...old } = module;
    const e = await createEnforcer({ policy: old as PolicyModule });
    const value = { content: AWS };
    expect((await e.run({ type: "read_file" }, {}, () => value)).result).toBe(value);
    // an output check with such a module passes the message, as a copy
    expect(await e.checkOutput("We guarantee a refund")).toMatchObject({ decision: "allow", output: { text: "We guarantee a refund" } });
  });
});

describe("approval of results", () => {
  const handler = (answer: (req: ApprovalRequest) => Promise<{ approved: boolean; approver?: string }>) => {
    const seen: ApprovalRequest[] = [];
    const h: ApprovalHandler = {
      request: (req) => {
        seen.push(req);
        return answer(req);
      },
    };
    return { h, seen };
  };
  const EXPORT = { rows: [{ name: "ann", card: CARD }] };

  // [name, handler's answer, options, what run() gives]
  const CASES: [string, (req: ApprovalRequest) => Promise<{ approved: boolean; approver?: string }>, Partial<EnforcerOptions>, RegExp | null][] = [
    ["approved", async () => ({ approved: true, approver: "dana" }), {}, null],
    [
      "approved, after the approver edited what it was shown",
      async (req) => {
        (req.value as { rows: unknown[] }).rows.push("injected");
        return { approved: true, approver: "dana" };
      },
      {},
      null,
    ],
    ["rejected", async () => ({ approved: false, approver: "dana" }), {}, /approval rejected by dana/],
    ["timed out", () => new Promise(() => {}), { approvalTimeoutMs: 30 }, /approval timed out after 30 ms/],
    [
      "the handler fails",
      async () => {
        throw new Error("queue down");
      },
      {},
      /the approval handler failed: queue down/,
    ],
  ];

  it.each(CASES)("%s", async (_name, answer, options, withheld) => {
    const { h, seen } = handler(answer);
    const { e, lines } = await enforcer({ approvals: h, ...options });
    const got = await outcome(e.run({ type: "export" }, { session: "s", user: { id: "u1" } }, () => EXPORT));
    // the approver is shown the result as it will be returned, bound by its hash
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ stage: "result", from: "dpo", action: { type: "export" }, valueHash: sha256(canonicalJson(EXPORT)), user: { id: "u1" } });
    if (withheld === null) {
      expect(got.result).toMatchObject({ result: EXPORT, resultDecision: { decision: "allow", approval: { from: "dpo" } } });
    } else {
      expect(got.withheld!.errors.map((x) => x.message).join("; ")).toMatch(withheld);
    }
    await e.close();
    const result = JSON.parse(lines.at(-1)!);
    expect(result).toMatchObject({ kind: "result", decision: withheld === null ? "allow" : "deny", approval: { required: true, from: "dpo" } });
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });

  it("without a handler, a result that needs approval is withheld", async () => {
    const { e } = await enforcer();
    const got = await outcome(e.run({ type: "export" }, {}, () => EXPORT));
    expect(got.withheld!.errors[0]!.message).toBe("approval required, but no approval handler is configured");
  });
});

describe("checkOutput", () => {
  // [name, message, decision, the message as rewritten (when allowed), labels]
  const CASES: [string, Parameters<Awaited<ReturnType<typeof createEnforcer>>["checkOutput"]>[0], string, unknown, string[]][] = [
    ["a string is the message { text }", "Your order shipped.", "allow", { text: "Your order shipped." }, []],
    ["a promise of a refund is withheld", { text: "We guarantee a refund." }, "deny", null, []],
    ["a card number is redacted, other fields kept", { text: `card ${CARD}`, lang: "en" }, "allow", { text: "card [REDACTED]", lang: "en" }, []],
    ["a label", "hello there", "allow", { text: "hello there" }, ["greeted"]],
    ["a message without text", { text: 5 } as never, "deny", null, []],
    ["a message that is not JSON", { text: "x", f: () => 1 } as never, "deny", null, []],
  ];

  it.each(CASES)("%s", async (_name, message, decision, output, labels) => {
    const { e, lines } = await enforcer();
    const d = await e.checkOutput(message, { session: "s", user: { id: "u" } });
    expect(d).toMatchObject({ stage: "output", decision, output, labels, action: null, actionHash: "" });
    if (decision === "deny") expect(d.rules.length + d.errors.length).toBeGreaterThan(0);
    await e.close();
    const record = JSON.parse(lines[0]!);
    expect(record).toMatchObject({ kind: "output", decisionId: d.id, decision, labels, user: { id: "u" }, outputHash: d.valueHash });
    expect(lines[0]).not.toContain("4111 1111");
    if (decision === "allow") expect(d.valueHash).toBe(sha256(canonicalJson(output)));
  });

  it("records the paths a redaction changed, never the text", async () => {
    const { e, lines } = await enforcer();
    await e.checkOutput(`card ${CARD}`);
    expect(JSON.parse(lines[0]!).redacted).toEqual(["output.text"]);
  });
});

describe("labels", () => {
  it("reach later decisions of the session through session.labels, and only that session", async () => {
    const { e } = await enforcer();
    expect((await e.decide({ type: "send_email" }, { session: "s" })).decision).toBe("allow");
    await e.run({ type: "fetch_url" }, { session: "s" }, () => "<html>");
    expect((await e.decide({ type: "send_email" }, { session: "s" })).decision).toBe("require_approval");
    expect((await e.decide({ type: "send_email" }, { session: "other" })).decision).toBe("allow");
    // a call's own labels count too, and every stage's labels are the session's
    await e.run({ type: "lookup_customer" }, { session: "t" }, () => ({ notes: "" }));
    await e.checkOutput("hello", { session: "t" });
    await e.reload({ source: `${POLICY}\nrule spy when action.type == "spy" and "pii" in session.labels and "greeted" in session.labels deny`, fileName: "agent.armor" });
    expect((await e.decide({ type: "spy" }, { session: "t" })).decision).toBe("deny");
    expect((await e.decide({ type: "spy" }, { session: "s" })).decision).toBe("allow");
  });

  it("reach the action's history entry: a seen(labels contains ...) tracker counts the call whose result was labelled", async () => {
    const { e } = await enforcer();
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("allow");
    await e.run({ type: "fetch_url" }, { session: "s" }, () => "<html>");
    expect((await e.decide({ type: "post" }, { session: "s" })).decision).toBe("deny");
    expect((await e.decide({ type: "post" }, { session: "other" })).decision).toBe("allow");
  });

  it("survive a reload, in session.labels and in the entries a new tracker is seeded from", async () => {
    const { e } = await enforcer();
    await e.run({ type: "fetch_url" }, { session: "s" }, () => "<html>");
    const next = `${POLICY.replace('version "1"', 'version "2"')}\nrule no_upload_after_web when action.type == "upload" and count(labels contains "untrusted" within 2h) >= 1 deny`;
    expect((await e.reload({ source: next, fileName: "agent.armor" })).ok).toBe(true);
    expect((await e.decide({ type: "send_email" }, { session: "s" })).decision).toBe("require_approval");
    expect((await e.decide({ type: "upload" }, { session: "s" })).decision).toBe("deny");
    expect((await e.decide({ type: "upload" }, { session: "t" })).decision).toBe("allow");
    e.endSession("s");
    expect((await e.decide({ type: "send_email" }, { session: "s" })).decision).toBe("allow");
  });

  it(`are bounded: a decision that would take a session past ${MAX_SESSION_LABELS} labels is denied`, async () => {
    const rules = Array.from({ length: MAX_SESSION_LABELS + 1 }, (_, i) => `rule l${i} when action.type == "tag" and n == ${i} label "l${i}"`).join("\n");
    const e = await createEnforcer({ policy: { source: `default allow\n${rules}`, fileName: "tags.armor" } });
    for (let i = 0; i < MAX_SESSION_LABELS; i++) expect((await e.decide({ type: "tag", n: i }, { session: "s" })).decision).toBe("allow");
    const past = await e.decide({ type: "tag", n: MAX_SESSION_LABELS }, { session: "s" });
    expect(past.decision).toBe("deny");
    expect(past.errors[0]!.message).toBe(`the decision's labels cannot be recorded: the session already holds ${MAX_SESSION_LABELS} labels, and may hold at most ${MAX_SESSION_LABELS}`);
    // a label the session holds is no new label
    expect((await e.decide({ type: "tag", n: 3 }, { session: "s" })).decision).toBe("allow");
    expect((await e.decide({ type: "tag", n: MAX_SESSION_LABELS }, { session: "fresh" })).decision).toBe("allow");
  }, 60_000);

  it("are in the decision record when a call's rules gave some", async () => {
    const { e, lines } = await enforcer();
    await e.decide({ type: "lookup_customer" }, { session: "s" });
    await e.decide({ type: "other" }, { session: "s" });
    await e.close();
    expect(lines.map((l) => JSON.parse(l).labels)).toEqual([["pii"], undefined]);
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
  });
});

describe("result and output records", () => {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
  const armorcBin = join(repoRoot, "packages", "cli", "bin", "armorc.js");

  async function logOfEveryKind(): Promise<string[]> {
    const { e, lines } = await enforcer({ throwOnDeny: false });
    await e.run({ type: "lookup_customer" }, { session: "s" }, () => ({ notes: `card ${CARD}` }));
    await e.run({ type: "read_file" }, { session: "s" }, () => AWS);
    await e.run({ type: "fetch_url" }, { session: "s" }, () => "<html>");
    await e.checkOutput("We guarantee a refund", { session: "s" });
    await e.close();
    return lines;
  }

  it("hold the decision, rules, labels, redacted paths and the value's hash, and chain with the others", async () => {
    const lines = await logOfEveryKind();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.kind)).toEqual(["decision", "outcome", "result", "decision", "outcome", "result", "decision", "outcome", "result", "output"]);
    expect(records[2]).toMatchObject({
      decision: "allow",
      redacted: ["result.notes"],
      resultHash: sha256(canonicalJson({ notes: "card [CARD]" })),
      rules: [{ id: "cards", effect: "redact" }],
      labels: [],
    });
    expect(records[2]!.decisionId).toBe(records[0]!.decisionId);
    expect(records[5]).toMatchObject({ decision: "deny", rules: [{ id: "no_credentials" }] });
    expect(records[8]).toMatchObject({ decision: "allow", labels: ["untrusted"] });
    expect(records[9]).toMatchObject({ kind: "output", decision: "deny", rules: [{ id: "no_refunds" }] });
    for (const r of records.filter((x) => x.kind === "result" || x.kind === "output")) {
      expect(Object.keys(r)).not.toContain("result");
      expect(Object.keys(r)).not.toContain("output");
    }
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join(""))).toMatchObject({ ok: true, records: 10 });
  });

  it("armorc audit verify accepts them, and names a tampered result record", async () => {
    const lines = await logOfEveryKind();
    const work = mkdtempSync(join(tmpdir(), "armor-stages-"));
    const good = join(work, "good.jsonl");
    writeFileSync(good, lines.map((l) => `${l}\n`).join(""));
    const armorc = (file: string) => spawnSync(process.execPath, [armorcBin, "audit", "verify", file], { encoding: "utf8" });
    expect(armorc(good)).toMatchObject({ status: 0, stdout: "ok: 10 records\n" });
    // the withheld credential's record, turned into an allow
    const tampered = join(work, "tampered.jsonl");
    writeFileSync(tampered, lines.map((l, i) => `${i === 5 ? l.replace('"decision":"deny"', '"decision":"allow"') : l}\n`).join(""));
    expect(verifyAuditLog(lines.map((l, i) => `${i === 5 ? l.replace('"decision":"deny"', '"decision":"allow"') : l}\n`).join("")).problem).toMatchObject({ line: 6, kind: "edited" });
    const bad = armorc(tampered);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`${tampered}:6: record 5 was edited`);
  });

  it("a sink failing on a result record withholds that result, and the log still verifies", async () => {
    const stored: string[] = [];
    let writes = 0;
    const flaky: AuditSink = {
      name: "flaky",
      write(line) {
        writes++;
        // the third record is the first result record
        if (writes === 3) throw new Error("disk full");
        stored.push(line);
      },
    };
    const e = await createEnforcer({ policy: { source: POLICY, fileName: "agent.armor" }, audit: { sinks: [flaky] } });
    const got = await outcome(e.run({ type: "lookup_customer" }, { session: "s" }, () => ({ notes: CARD })));
    expect(got.withheld!.errors.map((x) => x.message).join()).toMatch(/the audit log failed, so the result is withheld: .*disk full/);
    expect(await outcome(e.run({ type: "fetch_url" }, { session: "s" }, () => "<html>"))).toMatchObject({ result: { result: "<html>" } });
    await e.close();
    const kinds = stored.map((l) => JSON.parse(l).kind);
    expect(kinds).toContain("gap");
    expect(verifyAuditLog(stored.map((l) => `${l}\n`).join(""))).toMatchObject({ ok: true });
  });
});
