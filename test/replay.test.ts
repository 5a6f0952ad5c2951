/**
 * `armorc replay`: logs written by the runtime, `armor mcp` and `armor serve` (each made by
 * running it) decided again by a candidate policy: the chain verified first, sessions replayed
 * with the history they had (windows at the recorded times, scopes over the whole log,
 * reservations released), what the log lacks counted as not reconstructed, and the report in
 * text, JSON and HTML with the documented exit codes.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { createApprovalQueue, createEnforcer, Replayer, type ReplayReport, replayAuditLogFile } from "@agent-armor/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { outputPattern } from "./docs/run.js";
import { armorcBin, assertBuilt, connectGateway, everything, repoRoot, startServe } from "./gateway/support.js";

const dir = mkdtempSync(join(tmpdir(), "armor-replay-"));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

function armorc(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [armorcBin, ...args], { cwd: repoRoot, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function moduleOf(source: string) {
  const c = compileSource("candidate.armor", source);
  expect(c.ok, JSON.stringify(c.diagnostics)).toBe(true);
  return loadModule(emit(c).js);
}

async function replay(log: string, source: string): Promise<ReplayReport> {
  const r = await replayAuditLogFile(log, await moduleOf(source), { examples: 10 });
  expect(r.verification.ok).toBe(true);
  return r.replay!;
}

const RECORDED = `policy mail version "1"
default allow
rule per_session
  when action.type == "send" and count(type == "send" within 1h) >= 3
  deny because "three an hour"
`;

/** A log written by the runtime: sessions a, b and c's z2 of user u1, a reservation of u2 released, times set by a clock. */
async function runtimeLog(): Promise<string> {
  const log = join(dir, "runtime.jsonl");
  let now = Date.parse("2026-01-05T10:00:00.000Z");
  const e = await createEnforcer({ policy: { source: RECORDED, fileName: "mail.armor" }, audit: { file: log, fsync: false }, clock: () => now, throwOnDeny: false });
  const send = (session: string, to: string) => e.run({ type: "send", to }, { session, user: { id: "u1" } }, () => "sent");
  const minute = 60_000;
  await send("a", "x1");
  now += minute;
  await send("a", "x2");
  now += minute;
  await send("a", "x3");
  now += minute;
  await send("b", "y1");
  // a reservation taken back: the action never ran, so it is in no history
  now += minute;
  const reserved = await e.decide({ type: "send", to: "z1" }, { session: "c", user: { id: "u2" } }, { reserve: true });
  expect(await e.release(reserved.id, { session: "c" })).toBe(true);
  now += minute;
  await send("c", "z2");
  // two hours later every window is empty again
  now += 2 * 60 * minute;
  await send("a", "x4");
  await e.close();
  return log;
}

describe("armorc replay: the runtime's log", () => {
  let log: string;
  beforeAll(async () => {
    assertBuilt();
    log = await runtimeLog();
  });

  // each candidate, and what replaying the log with it must report
  const cases: { name: string; candidate: string; pairs: Record<string, number>; flips: { session: string; to: string; rules: string[] }[]; rules?: Record<string, [number, number]> }[] = [
    {
      name: "the same policy changes nothing",
      candidate: RECORDED,
      pairs: { "allow->allow": 7 },
      flips: [],
    },
    {
      name: "a lower limit flips the third send of session a, and only while it is in the window",
      candidate: RECORDED.replace(">= 3", ">= 2"),
      pairs: { "allow->allow": 6, "allow->deny": 1 },
      flips: [{ session: "a", to: "x3", rules: ["per_session"] }],
      rules: { per_session: [1, 0] },
    },
    {
      name: "a per-user limit counts the user's actions over every session of the log",
      candidate: `${RECORDED}rule per_user\n  when action.type == "send" and count(type == "send" within 1h per user.id) >= 3\n  deny because "three per user"\n`,
      pairs: { "allow->allow": 5, "allow->deny": 2 },
      flips: [
        { session: "b", to: "y1", rules: ["per_user"] },
        { session: "c", to: "z2", rules: ["per_user"] },
      ],
    },
    {
      name: "a released reservation is in no history",
      candidate: `${RECORDED}rule once_in_c\n  when action.type == "send" and count(type == "send" within 1h) >= 1 and to == "z2"\n  deny because "one"\n`,
      pairs: { "allow->allow": 7 },
      flips: [],
    },
    {
      name: "decisions are made at their recorded time",
      candidate: `${RECORDED}rule afternoon\n  when action.type == "send" and time.hour >= 12\n  deny because "mornings only"\n`,
      pairs: { "allow->allow": 6, "allow->deny": 1 },
      flips: [{ session: "a", to: "x4", rules: ["afternoon"] }],
    },
    {
      name: "a new approval rule",
      candidate: `${RECORDED}rule review_z\n  when action.type == "send" and to matches /^z/\n  require approval from "ops" timeout 1m because "z"\n`,
      pairs: { "allow->allow": 5, "allow->require_approval": 2 },
      flips: [
        { session: "c", to: "z1", rules: ["review_z"] },
        { session: "c", to: "z2", rules: ["review_z"] },
      ],
    },
  ];

  it.each(cases)("$name", async ({ candidate, pairs, flips, rules }) => {
    const r = await replay(log, candidate);
    expect(r.decisions).toBe(7);
    expect(r.notReconstructed.count).toBe(0);
    expect(r.pairs).toEqual(pairs);
    const examples = Object.values(r.examples).flat();
    expect(examples.map((x) => ({ session: x.session, to: JSON.parse(x.action).to, rules: x.new.rules }))).toEqual(flips);
    expect(r.changed).toBe(flips.length);
    if (rules) for (const [id, [fires, stops]] of Object.entries(rules)) expect(r.rules.find((c) => c.rule === id)).toMatchObject({ newlyFires: fires, stopsFiring: stops });
  });

  it("counts a decision that would read the context, which records do not keep, as not reconstructed, naming the fields read", async () => {
    const r = await replay(log, `${RECORDED}rule tenant\n  when action.type == "send" and context.tenant == "acme"\n  deny because "t"\n`);
    expect(r.replayed).toBe(0);
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .flatMap((l, i) => (JSON.parse(l).kind === "decision" ? [i + 1] : []));
    expect(r.notReconstructed).toEqual({
      count: 7,
      reasons: [{ reason: "the candidate reads context.tenant, which audit records do not keep", count: 7, firstLine: lines[0], lines, rules: [] }],
    });
  });

  // candidates that read the context, and the reasons (with the rules that read each field) `armorc replay` gives
  const contextCases: { name: string; candidate: string; reasons: { reason: string; count: number; rules: string[] }[]; replayed: number }[] = [
    {
      name: "a rule that reads a field only for some actions leaves the others compared",
      candidate: `${RECORDED}rule tenant\n  when action.type == "send" and action.to == "x1" and context.tenant == "acme"\n  deny\n`,
      reasons: [{ reason: "the candidate reads context.tenant (rule `tenant`), which audit records do not keep", count: 1, rules: ["tenant"] }],
      replayed: 6,
    },
    {
      name: "two rules reading one field are both named; another field is a reason of its own",
      candidate: `${RECORDED}rule t1 when action.to == "x1" and context.tenant == "a" deny\nrule t2 when action.to == "x1" and context.tenant == "b" deny\nrule r when action.to == "y1" and context.region == "eu" deny\n`,
      reasons: [
        { reason: "the candidate reads context.tenant (rules `t1`, `t2`), which audit records do not keep", count: 1, rules: ["t1", "t2"] },
        { reason: "the candidate reads context.region (rule `r`), which audit records do not keep", count: 1, rules: ["r"] },
      ],
      replayed: 5,
    },
    {
      name: "a history predicate counted per a context field names its rule",
      candidate: `${RECORDED}rule team when action.type == "send" and count(type == "send" within 1h per context.team) >= 100 deny\n`,
      reasons: [{ reason: "the candidate reads context.team (rule `team`), which audit records do not keep", count: 7, rules: ["team"] }],
      replayed: 0,
    },
  ];

  it("counts result records, naming the candidate's rules of that stage that would need the value", async () => {
    const path = join(dir, "stages.jsonl");
    const recorded = 'default allow\nrule digits on result when action.type == "read" redact result.text matching /\\d{4}/ with "#"\n';
    const e = await createEnforcer({ policy: { source: recorded, fileName: "s.armor" }, audit: { file: path, fsync: false }, throwOnDeny: false });
    await e.run({ type: "read" }, { session: "s" }, () => ({ text: "card 1234" }));
    await e.close();
    const candidate = `${recorded}rule hide on result when action.type == "read" deny\n`;
    const r = await replay(path, candidate);
    expect(r.stagesNotReplayed).toEqual({ result: 1, output: 0 });
    expect(r.stageRules).toEqual({ result: ["digits", "hide"], output: [] });
    const text = armorc("replay", path, "--policy", file("stages.armor", candidate)).stdout;
    expect(text).toContain("  result: the candidate's `on result` rules `digits`, `hide` would need the value");
    const none = armorc("replay", path, "--policy", file("none.armor", "default allow\n")).stdout;
    expect(none).toContain("  result: the candidate has no `on result` rule");
  });

  it.each(contextCases)("armorc replay: $name", ({ candidate, reasons, replayed }) => {
    const out = armorc("replay", log, "--policy", file("context.armor", candidate), "--format", "json");
    const r = JSON.parse(out.stdout).replay as ReplayReport;
    expect(r.replayed, out.stderr).toBe(replayed);
    expect(r.notReconstructed.reasons.map(({ reason, count, rules }) => ({ reason, count, rules }))).toEqual(reasons);
    const text = armorc("replay", log, "--policy", file("context.armor", candidate)).stdout;
    for (const g of r.notReconstructed.reasons) expect(text).toContain(`  ${g.count}  ${g.reason} (${g.lines.length === 1 ? "line" : "lines"} ${g.lines.join(", ")})`);
  });

  it("counts decisions whose history lost a record as not reconstructed while the candidate's windows could see the loss", async () => {
    const lines = readFileSync(log, "utf8").trim().split("\n");
    // line 3 (a's second send, seq 2) is gone: seq skips from 1 to 3
    const cut = lines.filter((_, i) => i !== 2);
    const windowed = new Replayer(await moduleOf(RECORDED.replace(">= 3", ">= 2")));
    for (const [i, l] of cut.entries()) windowed.line(i + 1, l);
    const r = windowed.report();
    // the four decisions within the hour after the loss are not compared; a's send two hours later is
    expect(r.lost).toBe(1);
    expect(r.notReconstructed).toEqual({
      count: 4,
      reasons: [{ reason: "records the session's history needs are missing (the log lost records before line 3)", count: 4, firstLine: 4, lines: [4, 6, 8, 10], rules: [] }],
    });
    expect(r.pairs).toEqual({ "allow->allow": 2 });
    // a candidate without history predicates needs no history: every decision is compared
    const stateless = new Replayer(await moduleOf(`policy p version "1"\ndefault allow\n`));
    for (const [i, l] of cut.entries()) stateless.line(i + 1, l);
    expect(stateless.report()).toMatchObject({ replayed: 6, notReconstructed: { count: 0 } });
  });

  it("takes an allow under a grant, or after an approval, as the recorded policy's require_approval", async () => {
    const source = `policy g version "1"\ndefault allow\nrule sends\n  when action.type == "send"\n  require approval grant session 30m\n`;
    const grantLog = join(dir, "grants.jsonl");
    const q = createApprovalQueue();
    const e = await createEnforcer({ policy: { source, fileName: "g.armor" }, approvals: q, audit: { file: grantLog, fsync: false }, throwOnDeny: false });
    const first = e.run({ type: "send", to: "a" }, { session: "s" }, () => "sent");
    const asked = await q.waitFor(() => true);
    q.resolve(asked.id, { approved: true, approver: "ann", grant: true });
    expect((await first).decision.decision).toBe("allow");
    // covered by the grant: allowed without asking
    expect((await e.run({ type: "send", to: "b" }, { session: "s" }, () => "sent")).decision.decision).toBe("allow");
    await e.close();
    const r = await replay(grantLog, source);
    expect(r.pairs).toEqual({ "require_approval->require_approval": 2 });
    const tighter = await replay(grantLog, source.replace("require approval grant session 30m", "deny"));
    expect(tighter.pairs).toEqual({ "require_approval->deny": 2 });
  });

  it("runs from the command line: text, JSON and HTML, exit 1 on changes and 0 on none", () => {
    const lower = file("lower.armor", RECORDED.replace(">= 3", ">= 2"));
    const text = armorc("replay", log, "--policy", lower);
    expect(text.status, text.stderr).toBe(1);
    expect(text.stdout).toContain("chain verified: ");
    expect(text.stdout).toContain("7 recorded decisions, 7 replayed: 1 changed, 6 unchanged");
    expect(text.stdout).toMatch(/allow -> deny: first 1 of 1\n {4}line \d+ {2}2026-01-05T10:02:00.000Z {2}session a {2}send \{"to":"x3","type":"send"\}/);
    const json = JSON.parse(armorc("replay", log, "--policy", lower, "--format", "json").stdout);
    expect(json).toMatchObject({ version: 1, chain: { verified: true, noVerify: false }, exitCode: 1, replay: { changed: 1, pairs: { "allow->deny": 1 } } });
    const out = join(dir, "report.html");
    expect(armorc("replay", log, "--policy", lower, "--format", "html", "--out", out).status).toBe(1);
    const html = readFileSync(out, "utf8");
    expect(html).toContain("<svg");
    expect(html).not.toMatch(/<script|<link|src=/i);
    expect(armorc("replay", log, "--policy", file("same.armor", RECORDED)).status).toBe(0);
  });

  it("refuses a log whose chain does not verify, naming the first bad line, unless --no-verify", () => {
    const lines = readFileSync(log, "utf8").split("\n");
    lines[2] = lines[2]!.replace('"to":"x2"', '"to":"x9"');
    const forged = file("forged.jsonl", lines.join("\n"));
    const policy = file("lower2.armor", RECORDED.replace(">= 3", ">= 2"));
    const refused = armorc("replay", forged, "--policy", policy);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toContain("chain NOT verified: line 3: record 2 (line 3) was edited");
    expect(refused.stderr).toContain("not replayed");
    const anyway = armorc("replay", forged, "--policy", policy, "--no-verify");
    expect(anyway.status).toBe(1);
    expect(anyway.stdout).toContain("replayed anyway (--no-verify)");
  });
});

describe("armorc replay: logs of armor mcp and armor serve", () => {
  it("replays a log `armor mcp` wrote", async () => {
    const policy = file("mcp.armor", `policy gw version "1"\ndefault allow\nrule big_sums\n  when action.type == "get-sum" and a > 100\n  deny because "big"\n`);
    const log = join(dir, "mcp.jsonl");
    const gw = await connectGateway(["--policy", policy, "--audit", log, "--", process.execPath, ...everything]);
    try {
      for (const a of [50, 150, 20]) await gw.client.callTool({ name: "get-sum", arguments: { a, b: 1 } });
      await gw.client.callTool({ name: "echo", arguments: { message: "hi" } });
    } finally {
      await gw.close();
    }
    const r = await replay(log, `policy gw version "2"\ndefault allow\nrule big_sums\n  when action.type == "get-sum" and a > 40\n  deny because "big"\n`);
    expect(r.decisions).toBe(4);
    expect(r.pairs).toEqual({ "allow->allow": 2, "allow->deny": 1, "deny->deny": 1 });
    expect(JSON.parse(r.examples["allow->deny"]![0]!.action)).toMatchObject({ type: "get-sum", a: 50 });
  }, 60_000);

  it("replays a log `armor serve` wrote: reserved, recorded and released actions in the history", async () => {
    const source = `policy svc version "1"\ndefault allow\nrule mail_limit\n  when action.type == "send_email" and count(type == "send_email" within 1h) >= 3\n  deny because "three"\n`;
    const log = join(dir, "serve.jsonl");
    const svc = await startServe(["--policy", file("svc.armor", source), "--audit", log]);
    const post = async (path: string, body: unknown) =>
      (await fetch(`${svc.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
    try {
      const mail = { type: "send_email", body: "hi" };
      const session = "s1";
      // one reserved and released (never ran), one reserved and recorded, one decided and recorded
      const released = await post("/v1/decide", { action: mail, session, reserve: true });
      await post("/v1/release", { decisionId: released.id, session });
      const kept = await post("/v1/decide", { action: mail, session, reserve: true });
      await post("/v1/record", { action: mail, session, decisionId: kept.id });
      await post("/v1/decide", { action: mail, session });
      await post("/v1/record", { action: mail, session });
      expect((await post("/v1/decide", { action: mail, session })).decision).toBe("allow");
    } finally {
      await svc.stop();
    }
    // with a limit of 2, only the last decision (after two actions that ran) flips
    const r = await replay(log, source.replace(">= 3", ">= 2"));
    expect(r.decisions).toBe(4);
    expect(r.pairs).toEqual({ "allow->allow": 3, "allow->deny": 1 });
    expect(r.examples["allow->deny"]![0]!.line).toBe(readFileSync(log, "utf8").trim().split("\n").length);
  }, 60_000);
});

describe("armorc replay: the worked example of docs/cli.md", () => {
  it("runs on a fresh log of examples/agent and prints what the docs show", () => {
    assertBuilt();
    const work = mkdtempSync(join(tmpdir(), "armor-replay-doc-"));
    const agent = spawnSync(process.execPath, [join(repoRoot, "examples", "agent", "agent.mjs"), join(work, "audit.jsonl")], { encoding: "utf8" });
    expect(agent.status, agent.stderr).toBe(0);
    copyFileSync(join(repoRoot, "test", "docs", "fixtures", "replay", "policy-v2.armor"), join(work, "policy-v2.armor"));
    const docs = readFileSync(join(repoRoot, "docs", "cli.md"), "utf8");
    const annotation = "<!-- docs-test: files replay; run armorc replay audit.jsonl --policy policy-v2.armor; exit 1 -->\n```text\n";
    const at = docs.indexOf(annotation);
    expect(at).toBeGreaterThan(0);
    const shown = docs.slice(at + annotation.length, docs.indexOf("```", at + annotation.length));
    const r = spawnSync(process.execPath, [armorcBin, "replay", "audit.jsonl", "--policy", "policy-v2.armor"], { cwd: work, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(outputPattern(shown));
  }, 60_000);
});

describe("armorc replay: memory follows the candidate's windows, not the sessions", () => {
  const RATE =
    'policy rate version "1"\ndefault allow\nrule email_rate\n  when action.type == "send_email" and count(type == "send_email" within 1m) >= 3\n  deny because "at most 3 emails a minute"\n';
  const WHOLE = 'policy whole version "1"\ndefault allow\nrule email_total\n  when action.type == "send_email" and count(type == "send_email") >= 3\n  deny because "at most 3 emails a session"\n';
  const NONE = 'policy none version "1"\ndefault allow\nrule no_big when action.type == "pay" and amount > 100 deny\n';
  const replayer = async (source: string) => new Replayer(await loadModule(emit(compileSource("p.armor", source)).js));
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  /** Sessions `s0…`: each sends four emails a second apart (the fourth is over a 1m rate), one session every 10 s. */
  function feed(r: Replayer, sessions: number): void {
    let n = 0;
    for (let i = 0; i < sessions; i++) {
      for (let k = 0; k < 4; k++) {
        const time = new Date(t0 + i * 10_000 + k * 1000).toISOString();
        r.line(
          ++n,
          JSON.stringify({
            kind: "decision",
            mode: "run",
            decisionId: `d${n}`,
            session: `s${i}`,
            time,
            decision: k === 3 ? "deny" : "allow",
            rules: k === 3 ? [{ id: "email_rate", effect: "deny" }] : [],
            action: { type: "send_email" },
            labels: i % 2 === 0 ? ["seen"] : undefined,
          }),
        );
      }
    }
  }

  it("a session idle longer than the longest window is forgotten, and decisions are the same", async () => {
    const r = await replayer(RATE);
    feed(r, 2000);
    const report = r.report();
    expect(report).toMatchObject({ decisions: 8000, replayed: 8000, changed: 0, pairs: { "allow->allow": 6000, "deny->deny": 2000 } });
    // the sessions of the last minute and a little more, not all 2,000
    expect(r.sessionsHeld()).toBeLessThan(20);
  });

  it("a predicate over the whole session keeps every session", async () => {
    const r = await replayer(WHOLE);
    feed(r, 200);
    expect(r.report()).toMatchObject({ decisions: 800, changed: 0 });
    expect(r.sessionsHeld()).toBe(200);
  });

  it("a candidate without history predicates keeps no history (only the labels sessions collected)", async () => {
    const r = await replayer(NONE);
    feed(r, 200);
    expect(r.report()).toMatchObject({ decisions: 800, pairs: { "allow->allow": 600, "deny->allow": 200 } });
    expect(r.sessionsHeld()).toBe(0);
  });
});
