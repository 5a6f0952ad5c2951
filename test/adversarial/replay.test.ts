/**
 * `armorc replay` on hostile logs: truncated and huge lines, prototype keys in records, a chain
 * forged from scratch, markup and terminal escapes in action fields, a log of another format.
 * What must hold: a verdict on the chain (with its line), never a stack trace or a hang; a
 * record's prototype is never read as a field; a forged chain is replayed only as what it
 * records (and an unverifiable one only with --no-verify); nothing from the log reaches the
 * HTML report or the terminal unescaped.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { canonicalJson, createEnforcer, Replayer } from "@agent-armor/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { armorcBin, assertBuilt, repoRoot } from "../gateway/support.js";

const dir = mkdtempSync(join(tmpdir(), "armor-replay-adv-"));
const POLICY = `policy p version "1"\ndefault allow\nrule no_big\n  when action.type == "pay" and amount > 100\n  deny because "big"\n`;
const policyFile = join(dir, "p.armor");
writeFileSync(policyFile, POLICY);

function armorc(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [armorcBin, ...args], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

/** A chain of records hashed as the runtime hashes them: what a forger with no key can always write. */
function chain(bodies: Record<string, unknown>[]): string {
  let prev = "0".repeat(64);
  return bodies
    .map((b, seq) => {
      const body = { ...b, seq, prev };
      const hash = sha(canonicalJson(body));
      prev = hash;
      return `${canonicalJson({ ...body, hash })}\n`;
    })
    .join("");
}

const decision = (action: unknown, extra: Record<string, unknown> = {}) => ({
  kind: "decision",
  mode: "run",
  decisionId: `d-${Math.random().toString(36).slice(2)}`,
  time: "2026-03-02T10:00:00.000Z",
  session: "s",
  user: null,
  action,
  actionHash: "x",
  decision: "allow",
  rules: [],
  errors: [],
  approval: null,
  ...extra,
});

let runtimeLog = "";
beforeAll(async () => {
  assertBuilt();
  const log = join(dir, "real.jsonl");
  const e = await createEnforcer({ policy: { source: POLICY, fileName: "p.armor" }, audit: { file: log, fsync: false }, throwOnDeny: false });
  for (const amount of [10, 500, 20]) await e.run({ type: "pay", amount }, { session: "s" }, () => "ok");
  await e.close();
  runtimeLog = readFileSync(log, "utf8");
});

describe("hostile logs, from the command line", () => {
  const logs: { name: string; text: () => string; args?: string[]; status: number; stdout?: RegExp; stderr?: RegExp }[] = [
    {
      name: "a last line cut short (a torn write) is ignored",
      text: () => runtimeLog.slice(0, runtimeLog.length - 40),
      status: 0,
      stdout: /chain verified: 4 records \(a torn last line ignored\)/,
    },
    {
      name: "a line cut short in the middle is refused with its line",
      text: () => {
        const lines = runtimeLog.split("\n");
        lines[1] = lines[1]!.slice(0, 30);
        return lines.join("\n");
      },
      status: 2,
      stdout: /chain NOT verified: line 2: line 2 is not valid JSON/,
    },
    {
      name: "the same, replayed anyway: the lost line is history the candidate cannot see",
      text: () => {
        const lines = runtimeLog.split("\n");
        lines[1] = lines[1]!.slice(0, 30);
        return lines.join("\n");
      },
      args: ["--no-verify"],
      status: 0,
      stdout: /replayed anyway \(--no-verify\)[\s\S]*1 line not a record \(first: line 2\)/,
    },
    {
      name: "a log of another format (plain text)",
      text: () => "2026-03-02 10:00:00 INFO started\n2026-03-02 10:00:01 INFO pay 10\n",
      status: 2,
      stdout: /chain NOT verified: line 1: line 1 is not valid JSON/,
    },
    {
      name: "a log of another format (JSON Lines that are not audit records)",
      text: () => '{"level":"info","msg":"started"}\n{"level":"info","msg":"pay"}\n',
      status: 2,
      stdout: /chain NOT verified: line 1: line 1 is not an audit record: `seq` is not a non-negative integer/,
    },
    {
      name: "an empty file",
      text: () => "",
      status: 0,
      stdout: /chain verified: 0 records\n.*\n0 recorded decisions, 0 replayed/,
    },
    {
      name: "a line of 70 MB is refused as malformed, not held",
      text: () => `${runtimeLog}${"x".repeat(70 << 20)}\n`,
      status: 2,
      stdout: /chain NOT verified: line 6: line 6 is not an audit record: it is longer than 67108864 bytes/,
    },
    {
      name: "a line of 70 MB replayed anyway is skipped as unreadable",
      text: () => `${"x".repeat(70 << 20)}\n${runtimeLog}`,
      args: ["--no-verify"],
      status: 0,
      stdout: /1 line not a record \(first: line 1\)/,
    },
  ];

  it.each(logs)(
    "$name",
    ({ text, args, status, stdout, stderr }) => {
      const log = join(dir, "hostile.jsonl");
      writeFileSync(log, text());
      const r = armorc("replay", log, "--policy", policyFile, ...(args ?? []));
      expect(r.status, r.stderr).toBe(status);
      if (stdout) expect(r.stdout).toMatch(stdout);
      if (stderr) expect(r.stderr).toMatch(stderr);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    },
    120_000,
  );
});

describe("forged and hostile records", () => {
  it("replays a chain forged from scratch as what it records, no more: it verifies (hash chains have no key)", () => {
    const log = join(dir, "forged.jsonl");
    writeFileSync(log, chain([decision({ type: "pay", amount: 50 }), decision({ type: "pay", amount: 5_000 }, { decision: "deny", rules: [{ id: "no_big", effect: "deny", reason: "big" }] })]));
    const r = armorc("replay", log, "--policy", policyFile, "--format", "json");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).replay).toMatchObject({ decisions: 2, replayed: 2, changed: 0, pairs: { "allow->allow": 1, "deny->deny": 1 } });
  });

  it("a forged chain with a record edited after hashing is refused", () => {
    const text = chain([decision({ type: "pay", amount: 50 }), decision({ type: "pay", amount: 60 })]).replace('"amount":60', '"amount":6000');
    const log = join(dir, "edited.jsonl");
    writeFileSync(log, text);
    const r = armorc("replay", log, "--policy", policyFile);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain("chain NOT verified: line 2: record 1 (line 2) was edited");
  });

  // records whose fields are own `__proto__` keys or missing (a prototype would supply them)
  const records: { name: string; record: Record<string, unknown>; reason?: string; pairs?: Record<string, number> }[] = [
    {
      name: "`__proto__` as the action's type field",
      record: JSON.parse(
        '{"kind":"decision","mode":"run","time":"2026-03-02T10:00:00.000Z","session":"s","decision":"allow","rules":[],"approval":null,"action":{"__proto__":{"type":"pay","amount":1}}}',
      ),
      pairs: { "allow->deny": 1 },
    },
    {
      name: "a record without a session (none on the prototype either)",
      record: { kind: "decision", time: "2026-03-02T10:00:00.000Z", decision: "allow", action: { type: "pay", amount: 1 } },
      reason: "the record names no session",
    },
    { name: "a record without an action", record: { kind: "decision", time: "2026-03-02T10:00:00.000Z", session: "s", decision: "allow" }, reason: "the record holds no action (it was not JSON)" },
    {
      name: "a decision that is not one",
      record: { kind: "decision", time: "2026-03-02T10:00:00.000Z", session: "s", decision: "toString", action: { type: "pay", amount: 1 } },
      reason: "the record's decision is not allow, deny or require_approval",
    },
    {
      name: "a time that is no instant",
      record: { kind: "decision", time: "2026-02-30T10:00:00.000Z", session: "s", decision: "allow", action: { type: "pay", amount: 1 } },
      reason: "the record's time is not an ISO-8601 time",
    },
    {
      name: "rules that are not a list",
      record: { kind: "decision", time: "2026-03-02T10:00:00.000Z", session: "s", decision: "allow", rules: { __proto__: [] }, action: { type: "pay", amount: 1 } },
      pairs: { "allow->allow": 1 },
    },
  ];

  it.each(records)("$name", async ({ record, reason, pairs }) => {
    const c = compileSource("p.armor", POLICY);
    const replayer = new Replayer(await loadModule(emit(c).js));
    // as it comes from a file: JSON text, which gives `__proto__` as an own key
    const protoBefore = Object.keys(Object.prototype).length;
    replayer.line(1, JSON.stringify(record));
    const r = replayer.report();
    expect(Object.keys(Object.prototype).length).toBe(protoBefore);
    if (reason) expect(r.notReconstructed.reasons.map((g) => g.reason)).toEqual([reason]);
    if (pairs) expect(r.pairs).toEqual(pairs);
  });

  it("a record that repeats a rule id counts the rule once", async () => {
    const c = compileSource("p.armor", POLICY);
    const replayer = new Replayer(await loadModule(emit(c).js));
    const rules = Array.from({ length: 10 }, () => ({ id: "no_big", effect: "deny", reason: "big" }));
    replayer.line(1, JSON.stringify(decision({ type: "pay", amount: 1 }, { decision: "deny", rules })));
    const r = replayer.report();
    expect(r.pairs).toEqual({ "deny->allow": 1 });
    expect(r.rules).toEqual([expect.objectContaining({ rule: "no_big", newlyFires: 0, stopsFiring: 1 })]);
    expect(r.examples["deny->allow"]![0]!.old.rules).toEqual(["no_big"]);
  });

  it("an `Object.prototype` with record fields gives records none of them", async () => {
    const c = compileSource("p.armor", POLICY);
    const replayer = new Replayer(await loadModule(emit(c).js));
    const proto = Object.prototype as Record<string, unknown>;
    for (const [k, v] of Object.entries({ session: "s", action: { type: "pay", amount: 5000 }, decision: "allow", time: "2026-03-02T10:00:00.000Z" })) proto[k] = v;
    try {
      replayer.line(1, '{"kind":"decision"}');
    } finally {
      for (const k of ["session", "action", "decision", "time"]) delete proto[k];
    }
    expect(replayer.report()).toMatchObject({ decisions: 1, replayed: 0, notReconstructed: { count: 1, reasons: [{ reason: "the record names no session" }] } });
  });
});

const PAGE_TAGS = ["html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "code", "strong", "svg", "text", "rect", "table", "thead", "tbody", "tr", "th", "td"];

describe("markup and escapes from the log stay text", () => {
  const hostile = [`</td><script>alert(1)</script>`, `<img src=x onerror=alert(1)>`, `"><svg onload=alert(1)>`, "\u001b[31mred\u001b]0;title\u0007", "\u202eevil", "&lt;already&gt;"];

  it.each(hostile)("%j in a session, a rule id and an action field", (text) => {
    const log = join(dir, "markup.jsonl");
    writeFileSync(log, chain([decision({ type: text, amount: 5_000, note: text }, { session: text, decision: "deny", rules: [{ id: text, effect: "deny", reason: null }] })]));
    const out = join(dir, "markup.html");
    const r = armorc("replay", log, "--policy", policyFile, "--format", "html", "--out", out);
    expect(r.status, r.stderr).toBe(1);
    const html = readFileSync(out, "utf8");
    expect(html).not.toContain(text);
    // the page's own elements only, and no event handler inside any tag
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].filter((t) => !PAGE_TAGS.includes(t))).toEqual([]);
    expect(html).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
    expect(html).toContain("Content-Security-Policy");
    const plain = armorc("replay", log, "--policy", policyFile);
    // no escape or bidi character from the log reaches the terminal
    expect(plain.stdout).not.toMatch(/[\u001b\u0007\u202e]/);
  });
});
