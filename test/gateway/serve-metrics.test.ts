/**
 * `GET /metrics` of `armor serve`: after a load run of concurrent requests (calls, results and
 * messages; allowed, denied, redacted, approval-required and malformed), the decision counts of a
 * scrape equal the counts of the audit log's records exactly, by stage, decision and action type;
 * the scrape is behind the service's token; it carries the process's default metrics.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, fixtures, type Served, startServe } from "./support.js";

let work: string;
let svc: Served;
let audit: string;

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "armor-serve-metrics-"));
  audit = join(work, "audit.jsonl");
  svc = await startServe(["--policy", join(fixtures, "serve.armor"), "--audit", audit]);
});

afterAll(async () => {
  await svc?.stop();
});

/** One sample line of the text format: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The requests of the load run: each a body for POST /v1/decide. */
function load(n: number): object[] {
  const bodies: object[] = [];
  for (let i = 0; i < n; i++) {
    const session = `s${i % 7}`;
    switch (i % 8) {
      case 0:
        bodies.push({ action: { type: "wire_transfer", amount: 50, recipient: "bob" }, user: { role: "clerk" }, session });
        break;
      case 1:
        bodies.push({ action: { type: "wire_transfer", amount: 5 }, user: { role: "intern" }, session });
        break;
      case 2:
        bodies.push({ action: { type: "wire_transfer", amount: 50_000 }, user: { role: "clerk" }, session });
        break;
      case 3:
        bodies.push({ action: { type: "send_email", body: "card 1234-5678-9012-3456" }, session });
        break;
      case 4:
        // a type the policy does not name, huge: counted as `other`
        bodies.push({ action: { type: `probe_${"x".repeat(2000)}_${i}` }, session });
        break;
      case 5:
        // not an action: denied (fail closed)
        bodies.push({ action: { amount: 1 }, session });
        break;
      case 6:
        bodies.push({ stage: "result", action: { type: "send_email", body: "hi" }, result: { ok: true }, session });
        break;
      default:
        bodies.push({ stage: "output", output: { text: "hello" }, session });
    }
  }
  return bodies;
}

const TYPES = new Set(["wire_transfer", "send_email"]);

describe("armor serve GET /metrics", () => {
  it("after a load run, the decision counts match the audit log's records exactly", async () => {
    const answers = await Promise.all(
      load(240).map((b) => fetch(`${svc.url}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b) }).then((r) => r.status)),
    );
    expect(new Set(answers)).toEqual(new Set([200]));

    const res = await fetch(`${svc.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseSamples(await res.text());

    const scraped = new Map<string, number>();
    for (const s of samples.filter((x) => x.name === "armor_decisions_total")) {
      const key = `${s.labels.stage} ${s.labels.decision} ${s.labels.action_type}`;
      scraped.set(key, (scraped.get(key) ?? 0) + s.value);
    }
    const logged = new Map<string, number>();
    for (const line of readFileSync(audit, "utf8").trim().split("\n")) {
      const r = JSON.parse(line) as { kind: string; decision?: string; action?: { type?: unknown } | null };
      const stage = r.kind === "decision" ? "call" : r.kind === "result" || r.kind === "output" ? r.kind : null;
      if (stage === null) continue;
      const type = r.kind === "output" ? "none" : typeof r.action?.type === "string" && TYPES.has(r.action.type) ? r.action.type : "other";
      const key = `${stage} ${r.decision} ${type}`;
      logged.set(key, (logged.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(scraped)).toEqual(Object.fromEntries(logged));
    // every kind of request was counted (a result is decided as its call: the policy has no rules on results)
    expect([...logged.keys()].sort()).toEqual(
      [
        "call allow other",
        "call allow send_email",
        "call allow wire_transfer",
        "call deny other",
        // the policy's mail limit (two an hour per session)
        "call deny send_email",
        "call deny wire_transfer",
        "call require_approval wire_transfer",
        "output allow none",
      ].sort(),
    );
    // bounded labels: the long type never became a label value
    expect(samples.every((s) => Object.values(s.labels).every((v) => v.length < 100))).toBe(true);

    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
    // the latency histogram counts each decision once; fail-closed errors: the malformed actions
    expect(value("armor_decision_duration_seconds_count")).toBe([...logged.values()].reduce((a, b) => a + b, 0));
    expect(value("armor_fail_closed_total", { cause: "input" })).toBe(30);
    expect(value("armor_audit_write_duration_seconds_count", { outcome: "ok" })).toBeGreaterThanOrEqual([...logged.values()].reduce((a, b) => a + b, 0));
    expect(value("armor_policy_reloads_total")).toBe(0);
    expect(samples.some((s) => s.name === "armor_approvals_pending")).toBe(true);
    // the process's default metrics
    expect(samples.some((s) => s.name === "process_cpu_user_seconds_total")).toBe(true);
    expect(samples.some((s) => s.name === "nodejs_eventloop_lag_seconds")).toBe(true);
  });

  it("is behind the service's token, as every route but /healthz", async () => {
    const tokenFile = join(work, "token");
    writeFileSync(tokenFile, "s3cret-token-for-metrics\n");
    const guarded = await startServe(["--policy", join(fixtures, "serve.armor"), "--token-file", tokenFile]);
    try {
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, { headers: { origin: "https://evil.example" } })).status).toBe(403);
      const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: "Bearer s3cret-token-for-metrics" } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain("armor_decisions_total");
      expect((await fetch(`${guarded.url}/metrics`, { method: "POST", headers: { authorization: "Bearer s3cret-token-for-metrics" } })).status).toBe(405);
    } finally {
      await guarded.stop();
    }
  });
});
