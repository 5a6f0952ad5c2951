/**
 * The approval console's HTTP surface, attacked without a browser: sign-in with forged, expired
 * and wrong-group tokens (and the service's own token), cookies without the CSRF token or from
 * another origin, replayed approvals, approvals of another action hash or after the timeout,
 * request text with `</script>` and markup, oversized bodies, and a flood of event streams.
 * Each is refused with a clear JSON error, and a refused answer settles nothing.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApprovalEndpoint, approvalRoutes, approversFrom, type DecisionService, serveApprovals, startDecisionService } from "@agent-armor/gateway";
import { type ApprovalQueue, createApprovalQueue, createEnforcer, type Enforcer } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt } from "../gateway/support.js";

const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
const TOKENS = { ann: "ann-console-8f2c91", bob: "bob-console-41aa07", eve: "eve-forged-000000" };
const APPROVERS = [
  { name: "ann", groups: ["finance"], tokenSha256: sha(TOKENS.ann) },
  { name: "bob", groups: ["support"], tokenSha256: sha(TOKENS.bob) },
];
const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" timeout 1m because "wires need finance"
rule quick when action.type == "quick" require approval from "finance" timeout 1s because "answer fast"
`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

/** One request with exactly these headers (fetch would add an Origin of its own to none). */
function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers: { ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON (the page)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const JSON_TYPE = { "content-type": "application/json" };
const code = (a: Answer) => (a.json.error as { code?: string } | undefined)?.code;

let queue: ApprovalQueue;
let endpoint: ApprovalEndpoint;
let enforcer: Enforcer;
let base: string;
let origin: string;

beforeAll(async () => {
  assertBuilt();
  queue = createApprovalQueue();
  endpoint = await serveApprovals(queue, { approvers: approversFrom(APPROVERS), console: true, streams: { maxStreams: 4, maxPerApprover: 2 } });
  base = endpoint.consoleUrl!.replace(/\/console$/, "");
  origin = base;
  enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "wires.armor" }, approvals: queue, throwOnDeny: false });
});

afterAll(async () => {
  for (const p of queue?.pending() ?? []) queue.reject(p.id, "cleanup");
  await endpoint?.close();
  await enforcer?.close();
});

/** A signed-in console session: its cookie and CSRF token. */
async function signIn(token: string, at = base): Promise<{ cookie: string; csrf: string }> {
  const r = await call(at, "POST", "/console/session", { ...JSON_TYPE, origin: at }, JSON.stringify({ token }));
  expect(r.status).toBe(200);
  const set = String(r.headers["set-cookie"]);
  return { cookie: set.split(";")[0]!, csrf: r.json.csrf as string };
}

let n = 0;
async function pendingWire(extra: Record<string, unknown> = {}, type = "wire") {
  const to = `acme-${++n}`;
  const running = enforcer.run({ type, to, amount: n, ...extra }, { session: `s${n}` }, () => "ran");
  const p = await queue.waitFor((x) => (x.action as { to?: string }).to === to);
  return { p, running };
}

describe("sign-in", () => {
  it("gives an HttpOnly, SameSite=Strict cookie on loopback (not Secure there), and a CSRF token in the body only", async () => {
    const r = await call(base, "POST", "/console/session", { ...JSON_TYPE, origin }, JSON.stringify({ token: TOKENS.ann }));
    expect(r.status).toBe(200);
    const cookie = String(r.headers["set-cookie"]);
    expect(cookie).toMatch(/^armor_console=[A-Za-z0-9_-]{43}; Max-Age=900; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(r.json).toMatchObject({ approver: { name: "ann", groups: ["finance"] } });
    expect(r.json.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie).not.toContain(r.json.csrf as string);
  });

  // [what, body, status, code]
  const REFUSED: [string, string, number, string][] = [
    ["a forged token", JSON.stringify({ token: TOKENS.eve }), 401, "unauthorized"],
    ["an approver's token digest sent as the token", JSON.stringify({ token: sha(TOKENS.ann) }), 401, "unauthorized"],
    ["no token", "{}", 400, "invalid_request"],
    ["a token that is not a string", JSON.stringify({ token: ["x"] }), 400, "invalid_request"],
    ["a token of 5,000 characters", JSON.stringify({ token: "x".repeat(5000) }), 400, "invalid_request"],
    ["a body over the endpoint's 64 KiB", JSON.stringify({ token: "x".repeat(70_000) }), 413, "payload_too_large"],
    ["a __proto__ token", '{"__proto__": {"token": "ann-console-8f2c91"}}', 400, "invalid_request"],
  ];
  it.each(REFUSED)("refuses %s", async (_what, body, status, errorCode) => {
    const r = await call(base, "POST", "/console/session", { ...JSON_TYPE, origin }, body);
    expect(r.status).toBe(status);
    expect(code(r)).toBe(errorCode);
    expect(r.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses a sign-in posted by another origin's page, or as a form", async () => {
    const evil = await call(base, "POST", "/console/session", { ...JSON_TYPE, origin: "http://evil.example" }, JSON.stringify({ token: TOKENS.ann }));
    expect([evil.status, code(evil)]).toEqual([403, "origin_not_allowed"]);
    const form = await call(base, "POST", "/console/session", { "content-type": "application/x-www-form-urlencoded" }, `token=${TOKENS.ann}`);
    expect([form.status, code(form)]).toEqual([415, "unsupported_media_type"]);
  });

  it("an expired session's cookie is refused, on reads, changes and the event stream", async () => {
    const q = createApprovalQueue();
    const short = await serveApprovals(q, { approvers: approversFrom(APPROVERS), console: true, sessionTtlMs: 300 });
    try {
      const at = short.consoleUrl!.replace(/\/console$/, "");
      const s = await signIn(TOKENS.ann, at);
      expect((await call(at, "GET", "/approvals", { cookie: s.cookie })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 400));
      for (const [method, path] of [
        ["GET", "/approvals"],
        ["GET", "/console/events"],
        ["POST", "/approvals/x"],
      ] as const) {
        const r = await call(at, method, path, { cookie: s.cookie, ...JSON_TYPE, origin: at, "x-csrf-token": s.csrf }, method === "POST" ? '{"approved":true}' : undefined);
        expect([method, path, r.status, code(r)]).toEqual([method, path, 401, "unauthorized"]);
      }
    } finally {
      await short.close();
    }
  });
});

describe("answers with the console's cookie", () => {
  // [what, headers beyond the cookie and JSON, status, code]
  const REFUSED: [string, (s: { csrf: string }) => Record<string, string>, number, string][] = [
    ["no CSRF token", () => ({ origin }), 403, "csrf"],
    ["a wrong CSRF token", () => ({ origin, "x-csrf-token": "A".repeat(43) }), 403, "csrf"],
    ["another session's CSRF token shape, non-ASCII", () => ({ origin, "x-csrf-token": "ä".repeat(10) }), 403, "csrf"],
    ["another origin", (s) => ({ origin: "http://evil.example", "x-csrf-token": s.csrf }), 403, "origin_not_allowed"],
    ["the opaque origin", (s) => ({ origin: "null", "x-csrf-token": s.csrf }), 403, "origin_not_allowed"],
    ["no Origin at all", (s) => ({ "x-csrf-token": s.csrf }), 403, "cross_origin"],
    ["same Origin but Sec-Fetch-Site cross-site", (s) => ({ origin, "sec-fetch-site": "cross-site", "x-csrf-token": s.csrf }), 403, "cross_origin"],
    ["same Origin but Sec-Fetch-Site same-site", (s) => ({ origin, "sec-fetch-site": "same-site", "x-csrf-token": s.csrf }), 403, "cross_origin"],
  ];
  it.each(REFUSED)("refuses an approval with %s, and the request stays pending", async (_what, extra, status, errorCode) => {
    const s = await signIn(TOKENS.ann);
    const { p, running } = await pendingWire();
    const r = await call(base, "POST", `/approvals/${encodeURIComponent(p.id)}`, { cookie: s.cookie, ...JSON_TYPE, ...extra(s) }, JSON.stringify({ approved: true }));
    expect([r.status, code(r)]).toEqual([status, errorCode]);
    expect(queue.get(p.id)).toBeDefined();
    queue.reject(p.id, "cleanup");
    await running;
  });

  it("takes an approval from the console's own origin with the CSRF token, once: a replay finds nothing", async () => {
    const s = await signIn(TOKENS.ann);
    const { p, running } = await pendingWire();
    const headers = { cookie: s.cookie, ...JSON_TYPE, origin, "sec-fetch-site": "same-origin", "x-csrf-token": s.csrf };
    const body = JSON.stringify({ approved: true, actionHash: p.actionHash, note: "ok" });
    const first = await call(base, "POST", `/approvals/${encodeURIComponent(p.id)}`, headers, body);
    expect(first.status).toBe(200);
    expect((await running).decision.decision).toBe("allow");
    const replay = await call(base, "POST", `/approvals/${encodeURIComponent(p.id)}`, headers, body);
    expect([replay.status, code(replay)]).toEqual([404, "not_found"]);
  });

  it("refuses another action hash (409), another group's member (403), and an approval after the timeout (404)", async () => {
    const ann = await signIn(TOKENS.ann);
    const bob = await signIn(TOKENS.bob);
    const post = (s: { cookie: string; csrf: string }, id: string, body: unknown) =>
      call(base, "POST", `/approvals/${encodeURIComponent(id)}`, { cookie: s.cookie, ...JSON_TYPE, origin, "x-csrf-token": s.csrf }, JSON.stringify(body));
    const { p, running } = await pendingWire();
    const other = await post(ann, p.id, { approved: true, actionHash: "0".repeat(64) });
    expect([other.status, code(other)]).toEqual([409, "hash_mismatch"]);
    const wrongGroup = await post(bob, p.id, { approved: true });
    expect([wrongGroup.status, code(wrongGroup)]).toEqual([403, "forbidden"]);
    expect((await call(base, "GET", "/approvals", { cookie: bob.cookie })).json.pending).toEqual([]);
    queue.reject(p.id, "cleanup");
    await running;

    const quick = await pendingWire({}, "quick");
    const { decision } = await quick.running;
    expect(decision.decision).toBe("deny");
    const late = await post(ann, quick.p.id, { approved: true });
    expect([late.status, code(late)]).toEqual([404, "not_found"]);
  });

  it("refuses an answer body over 64 KiB with 413, settling nothing", async () => {
    const s = await signIn(TOKENS.ann);
    const { p, running } = await pendingWire();
    const r = await call(
      base,
      "POST",
      `/approvals/${encodeURIComponent(p.id)}`,
      { cookie: s.cookie, ...JSON_TYPE, origin, "x-csrf-token": s.csrf },
      JSON.stringify({ approved: true, note: "n".repeat(70_000) }),
    );
    expect([r.status, code(r)]).toEqual([413, "payload_too_large"]);
    expect(queue.get(p.id)).toBeDefined();
    queue.reject(p.id, "cleanup");
    await running;
  });

  it("signs out only from its own page with the CSRF token; the cookie then opens nothing", async () => {
    const s = await signIn(TOKENS.ann);
    const foreign = await call(base, "DELETE", "/console/session", { cookie: s.cookie });
    expect([foreign.status, code(foreign)]).toEqual([403, "cross_origin"]);
    const out = await call(base, "DELETE", "/console/session", { cookie: s.cookie, origin, "x-csrf-token": s.csrf });
    expect(out.status).toBe(200);
    expect(String(out.headers["set-cookie"])).toMatch(/^armor_console=; Max-Age=0;/);
    expect((await call(base, "GET", "/approvals", { cookie: s.cookie })).status).toBe(401);
  });
});

describe("the page and the event stream", () => {
  /** The page's text helpers, as served: the script between its markers, run without a DOM. */
  async function pageHelpers(): Promise<{ safe(t: string): string; quorumText(p: unknown): string | null; grantText(g: unknown): string }> {
    const page = (await call(base, "GET", "/console")).text;
    const begin = page.indexOf("// text helpers (no DOM): begin");
    const end = page.indexOf("// text helpers (no DOM): end");
    expect(begin).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(begin);
    return new Function(`${page.slice(begin, end)}; return { safe: safe, quorumText: quorumText, grantText: grantText };`)();
  }

  // [agent text, as the console shows it]
  const SHOWN: [string, string][] = [
    ["acme", "acme"],
    ["\u202Eemca", "\\u202eemca"],
    ["acme\u2067\u202E.evil\u2069", "acme\\u2067\\u202e.evil\\u2069"],
    ["a\u202Ab\u202Bc\u202Cd\u202De\u2066f\u2068g", "a\\u202ab\\u202bc\\u202cd\\u202de\\u2066f\\u2068g"],
    ["zero\u200Bwidth\u200Fmark\uFEFF", "zero\\u200bwidth\\u200fmark\\ufeff"],
    ["bell\u0007 esc\u001b[31m del\u007f c1\u0085", "bell\\u0007 esc\\u001b[31m del\\u007f c1\\u0085"],
    ["line\u2028sep\u2029para", "line\\u2028sep\\u2029para"],
    ["two\nlines\tand a tab", "two\nlines\tand a tab"],
    ["not \\u202e itself", "not \\u202e itself"],
  ];
  it.each(SHOWN)("the page escapes control and bidi characters visibly in every text node: %j", async (text, shown) => {
    const h = await pageHelpers();
    expect(h.safe(text)).toBe(shown);
    // escaping is idempotent: text shown twice (a title in a status line) reads the same
    expect(h.safe(h.safe(text))).toBe(shown);
  });

  it("every string the page puts in a text node goes through the escaping", async () => {
    const page = (await call(base, "GET", "/console")).text;
    const script = page.slice(page.indexOf("<script"), page.indexOf("</script>"));
    expect(script).toContain('e.append(typeof arguments[i] === "string" ? safe(arguments[i]) : arguments[i])');
    // every textContent is a fixed string, a clock, a count, or escaped
    for (const [, value] of script.matchAll(/textContent = ([^;]+);/g)) expect(value, value).toMatch(/^(safe\(|"[^"]*"$|clock\(|"\(" \+ cards\.size)/);
  });

  // [request fields, the quorum line, the grant label]
  const LABELS: [Record<string, unknown>, string | null, string | null][] = [
    [{ quorum: 2, approvers: [] }, "0 of 2 approvals", null],
    [{ quorum: 3, approvers: ["ann", "bob"] }, "2 of 3 approvals: ann, bob", null],
    [{ quorum: 2, votes: ["eve", "mallory"] }, "0 of 2 approvals", null],
    [{}, null, null],
    [{ quorum: 1, approvers: [] }, null, null],
    [{ grant: { rule: "r", scope: "session", durationMs: 3_600_000, upTo: null, of: null } }, null, "session for 1h"],
    [{ grant: { rule: "r", scope: "action.to", durationMs: 7 * 86_400_000, upTo: 1000, of: "action.amount" } }, null, "action.to for 7d up to 1000 of action.amount"],
    [{ grant: { rule: "r", scope: "action.to", durationMs: 5_400_000, upTo: 0.3, of: "action.amount" } }, null, "action.to for 1h 30m up to 0.3 of action.amount"],
  ];
  it.each(LABELS)("the quorum line reads approvers and the grant label durationMs and of: %j", async (p, quorum, grant) => {
    const h = await pageHelpers();
    expect(h.quorumText(p)).toBe(quorum);
    if (grant !== null) expect(h.grantText(p.grant)).toBe(grant);
  });

  it("serves the page under a nonce CSP, a new nonce each time, with no way to insert markup", async () => {
    const a = await call(base, "GET", "/console");
    const b = await call(base, "GET", "/console");
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toBe("text/html; charset=utf-8");
    const csp = String(a.headers["content-security-policy"]);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(String(b.headers["content-security-policy"])).not.toContain(nonce!);
    // exactly one script and one style, both with the nonce; no external asset
    expect(a.text.match(/<script\b[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    expect(a.text.match(/<style\b[^>]*>/g)).toEqual([`<style nonce="${nonce}">`]);
    expect(a.text).not.toMatch(/\b(src|href)=/);
    expect(a.text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    // the script parses
    const script = a.text.slice(a.text.indexOf(">", a.text.indexOf("<script")) + 1, a.text.indexOf("</script>"));
    expect(() => new Function(script)).not.toThrow();
    expect(a.headers["x-frame-options"]).toBe("DENY");
    expect(a.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("carries `</script>`, markup and line breaks in action text as one JSON line per event, and only to the groups asked", async () => {
    const ann = await signIn(TOKENS.ann);
    const bob = await signIn(TOKENS.bob);
    const hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>\n\ndata: {"forged":true}\r\nevent: settled\u2028';
    const annEvents = openStream(ann.cookie);
    const bobEvents = openStream(bob.cookie);
    await annEvents.until((e) => e.some((x) => x.event === "snapshot"));
    await bobEvents.until((e) => e.some((x) => x.event === "snapshot"));
    const { p, running } = await pendingWire({ memo: hostile });
    const got = await annEvents.until((e) => e.some((x) => x.event === "requested"));
    const requested = got.find((x) => x.event === "requested")!;
    expect((requested.data as { action: { memo: string } }).action.memo).toBe(hostile);
    expect((requested.data as { id: string }).id).toBe(p.id);
    queue.reject(p.id, "cleanup");
    await running;
    const after = await annEvents.until((e) => e.some((x) => x.event === "settled"));
    expect(after.filter((x) => x.event === "settled").map((x) => x.data)).toEqual([{ id: p.id }]);
    // bob (support) was never shown the finance request, nor its settlement
    expect(bobEvents.events().map((x) => x.event)).toEqual(["snapshot"]);
    // no forged event or field: every frame is an event and one data line
    expect(annEvents.events().map((x) => x.event)).toEqual(["snapshot", "requested", "settled"]);
    annEvents.close();
    bobEvents.close();
  });

  it("bounds event streams per approver and overall (429 with Retry-After), and frees a slot when one closes", async () => {
    await new Promise((r) => setTimeout(r, 100));
    const ann = await signIn(TOKENS.ann);
    const bob = await signIn(TOKENS.bob);
    const open: ReturnType<typeof openStream>[] = [];
    for (let i = 0; i < 2; i++) open.push(openStream(ann.cookie));
    for (const s of open) await s.until((e) => e.length > 0);
    const third = await call(base, "GET", "/console/events", { cookie: ann.cookie });
    expect([third.status, code(third)]).toEqual([429, "too_many_streams"]);
    expect(third.headers["retry-after"]).toBe("5");
    for (let i = 0; i < 2; i++) open.push(openStream(bob.cookie));
    for (const s of open) await s.until((e) => e.length > 0);
    const carol = await call(base, "GET", "/console/events", { cookie: bob.cookie });
    expect([carol.status, code(carol)]).toEqual([429, "too_many_streams"]);
    open.shift()!.close();
    await new Promise((r) => setTimeout(r, 100));
    const again = openStream(ann.cookie);
    await again.until((e) => e.length > 0);
    expect(again.status()).toBe(200);
    again.close();
    for (const s of open) s.close();
  });

  it("takes no event stream without a session", async () => {
    const r = await call(base, "GET", "/console/events");
    expect([r.status, code(r)]).toEqual([401, "unauthorized"]);
    const forged = await call(base, "GET", "/console/events", { cookie: "armor_console=forged" });
    expect([forged.status, code(forged)]).toEqual([401, "unauthorized"]);
  });
});

describe("the service's own token", () => {
  it("is refused at start when an approver has it, and per request as an approver's token", async () => {
    const q = createApprovalQueue();
    expect(() => approvalRoutes(q, { approvers: approversFrom(APPROVERS), secureCookies: false, serviceToken: TOKENS.ann })).toThrow(/service's own token.*can never approve/);
    const routes = approvalRoutes(q, { approvers: approversFrom(APPROVERS), console: true, secureCookies: false, serviceToken: "service-secret-1234" });
    expect(routes.find("/console/session")).toBeDefined();
    routes.close();
  });
});

/** An event stream read as it arrives: its events, parsed, with a helper that waits for a condition. */
function openStream(cookie: string) {
  const events: { event: string; data: unknown }[] = [];
  let status = 0;
  let buffer = "";
  const req = httpRequest(`${base}/console/events`, { headers: { cookie } }, (res) => {
    status = res.statusCode ?? 0;
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buffer += chunk;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = frame.split("\n");
        const event = lines.find((l) => l.startsWith("event: "));
        const data = lines.filter((l) => l.startsWith("data: "));
        if (event !== undefined) {
          // one data line per event, whatever the request's text holds
          expect(data).toHaveLength(1);
          expect(lines).toHaveLength(2);
          events.push({ event: event.slice(7), data: JSON.parse(data[0]!.slice(6)) });
        }
        end = buffer.indexOf("\n\n");
      }
    });
  });
  req.on("error", () => undefined);
  req.end();
  return {
    events: () => events,
    status: () => status,
    close: () => req.destroy(),
    async until(done: (e: typeof events) => boolean) {
      for (let i = 0; i < 200 && !done(events); i++) await new Promise((r) => setTimeout(r, 10));
      expect(done(events)).toBe(true);
      return events;
    },
  };
}

describe("armor serve's approvals", () => {
  const SERVICE = "service-token-0f3a9c";
  const SERVE_POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" timeout 1m because "wires need finance"
rule quick when action.type == "quick" require approval from "finance" timeout 1s because "answer fast"
`;
  let svc: DecisionService;
  let work: string;
  const agent = (method: string, path: string, body?: unknown) =>
    call(svc.url, method, path, { authorization: `Bearer ${SERVICE}`, ...(body === undefined ? {} : JSON_TYPE) }, body === undefined ? undefined : JSON.stringify(body));
  const approver = (token: string, method: string, path: string, body?: unknown) =>
    call(svc.url, method, path, { authorization: `Bearer ${token}`, ...(body === undefined ? {} : JSON_TYPE) }, body === undefined ? undefined : JSON.stringify(body));
  async function decided(session: string, type = "wire"): Promise<{ id: string; action: unknown; actionHash: string }> {
    const r = await agent("POST", "/v1/decide", { action: { type, to: session, amount: 1 }, session });
    expect(r.json.decision).toBe("require_approval");
    return { id: r.json.id as string, action: r.json.action, actionHash: r.json.actionHash as string };
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "armor-console-serve-"));
    writeFileSync(join(work, "wires.armor"), SERVE_POLICY);
    svc = await startDecisionService({
      policy: join(work, "wires.armor"),
      port: 0,
      log: () => undefined,
      access: { token: SERVICE },
      approvers: approversFrom(APPROVERS),
      approvalLimits: { maxPendingPerSession: 2, maxPending: 3, maxWaiting: 2 },
    });
  });
  afterAll(async () => {
    await svc?.close();
  });

  it("refuses to start when an approver's token is the service's own", async () => {
    await expect(startDecisionService({ policy: join(work, "wires.armor"), port: 0, log: () => undefined, access: { token: TOKENS.ann }, approvers: approversFrom(APPROVERS) })).rejects.toThrow(
      /service's own token \(--token-file\): the agent's credentials can never approve/,
    );
  });

  // [what, token, method, path, body, status, code]: the service's token where an approver's goes
  const SERVICE_TOKEN: [string, string, string, unknown, number, string][] = [
    ["answers an approval", "POST", "/approvals/ID", { approved: true }, 403, "service_token"],
    ["lists approvals", "GET", "/approvals", undefined, 403, "service_token"],
    ["opens the event stream", "GET", "/console/events", undefined, 403, "service_token"],
  ];
  it.each(SERVICE_TOKEN)("the service's own token never %s", async (_what, method, path, body, status, errorCode) => {
    const d = await decided("svc-token");
    await agent("POST", "/v1/approvals", { decisionId: d.id });
    const r = await agent(method, path.replace("ID", encodeURIComponent(d.id)), body);
    expect([r.status, code(r)]).toEqual([status, errorCode]);
    const signIn = await call(svc.url, "POST", "/console/session", JSON_TYPE, JSON.stringify({ token: SERVICE }));
    expect([signIn.status, code(signIn)]).toEqual([403, "service_token"]);
    expect((await agent("GET", `/v1/approvals/${encodeURIComponent(d.id)}`)).json.status).toBe("pending");
    await approver(TOKENS.ann, "POST", `/approvals/${encodeURIComponent(d.id)}`, { approved: false });
  });

  it("an approver's token cannot open or read the agent's approvals", async () => {
    const d = await decided("approver-as-agent");
    const r = await approver(TOKENS.ann, "POST", "/v1/approvals", { decisionId: d.id });
    expect([r.status, code(r)]).toEqual([401, "unauthorized"]);
  });

  // [what, body, status, code]
  const OPEN_REFUSED: [string, (d: { id: string }) => unknown, number, string][] = [
    ["an id the service never gave", () => ({ decisionId: "mxd-forged-1" }), 404, "unknown_decision"],
    ["another session's decision", (d) => ({ decisionId: d.id, session: "someone-else" }), 404, "unknown_decision"],
    ["no id", () => ({}), 400, "invalid_request"],
    ["an id that is not a string", () => ({ decisionId: 7 }), 400, "invalid_request"],
    ["a __proto__ id", () => JSON.parse('{"__proto__": {"decisionId": "x"}}'), 400, "invalid_request"],
  ];
  it.each(OPEN_REFUSED)("opening an approval refuses %s", async (_what, body, status, errorCode) => {
    const d = await decided("open-refused");
    const r = await agent("POST", "/v1/approvals", body(d));
    expect([r.status, code(r)]).toEqual([status, errorCode]);
  });

  it("an allowed decision has no approval to open", async () => {
    const r = await agent("POST", "/v1/decide", { action: { type: "read" }, session: "allowed" });
    const open = await agent("POST", "/v1/approvals", { decisionId: r.json.id });
    expect([open.status, code(open)]).toEqual([404, "unknown_decision"]);
  });

  it("refuses an approval of another action hash, and a replayed approval", async () => {
    const d = await decided("replay");
    await agent("POST", "/v1/approvals", { decisionId: d.id });
    const other = await approver(TOKENS.ann, "POST", `/approvals/${encodeURIComponent(d.id)}`, { approved: true, actionHash: "f".repeat(64) });
    expect([other.status, code(other)]).toEqual([409, "hash_mismatch"]);
    const ok = await approver(TOKENS.ann, "POST", `/approvals/${encodeURIComponent(d.id)}`, { approved: true, actionHash: d.actionHash });
    expect(ok.status).toBe(200);
    const replay = await approver(TOKENS.ann, "POST", `/approvals/${encodeURIComponent(d.id)}`, { approved: true, actionHash: d.actionHash });
    expect([replay.status, code(replay)]).toEqual([404, "not_found"]);
    expect((await agent("GET", `/v1/approvals/${encodeURIComponent(d.id)}?wait=5`)).json).toMatchObject({ status: "approved", approver: "ann" });
  });

  it("an approval after the timeout is refused, the agent's long poll ends at the timeout, and the action may not be reported", async () => {
    const d = await decided("late", "quick");
    await agent("POST", "/v1/approvals", { decisionId: d.id });
    const started = Date.now();
    const state = await agent("GET", `/v1/approvals/${encodeURIComponent(d.id)}?wait=600`);
    expect(state.json.status).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(5_000);
    const late = await approver(TOKENS.ann, "POST", `/approvals/${encodeURIComponent(d.id)}`, { approved: true });
    expect([late.status, code(late)]).toEqual([404, "not_found"]);
    const ran = await agent("POST", "/v1/record", { action: d.action, session: "late", decisionId: d.id });
    expect([ran.status, code(ran)]).toEqual([409, "not_approved"]);
  });

  it("bounds pending approvals per session and overall, and waiting requests (429 saying which)", async () => {
    const a = [await decided("flood-a"), await decided("flood-a"), await decided("flood-a")];
    const b = [await decided("flood-b"), await decided("flood-b")];
    expect((await agent("POST", "/v1/approvals", { decisionId: a[0]!.id })).status).toBe(202);
    expect((await agent("POST", "/v1/approvals", { decisionId: a[1]!.id })).status).toBe(202);
    const third = await agent("POST", "/v1/approvals", { decisionId: a[2]!.id });
    expect([third.status, code(third)]).toEqual([429, "too_many_pending"]);
    expect((third.json.error as { message: string }).message).toContain("session flood-a");
    expect((await agent("POST", "/v1/approvals", { decisionId: b[0]!.id })).status).toBe(202);
    const overall = await agent("POST", "/v1/approvals", { decisionId: b[1]!.id });
    expect([overall.status, code(overall)]).toEqual([429, "too_many_pending"]);
    expect((overall.json.error as { message: string }).message).toContain("3 approvals are pending");
    // two long polls wait; a third is refused at once
    const polls = [agent("GET", `/v1/approvals/${encodeURIComponent(a[0]!.id)}?wait=30`), agent("GET", `/v1/approvals/${encodeURIComponent(a[1]!.id)}?wait=30`)];
    await new Promise((r) => setTimeout(r, 150));
    const waiting = await agent("GET", `/v1/approvals/${encodeURIComponent(b[0]!.id)}?wait=30`);
    expect([waiting.status, code(waiting)]).toEqual([429, "too_many_waiting"]);
    for (const d of [a[0]!, a[1]!, b[0]!]) await approver(TOKENS.ann, "POST", `/approvals/${encodeURIComponent(d.id)}`, { approved: false });
    expect((await Promise.all(polls)).map((p) => p.json.status)).toEqual(["rejected", "rejected"]);
  });

  it.each(["-1", "601", "1.5", "abc", "99999999999"])("refuses ?wait=%s with 400", async (wait) => {
    const d = await decided("wait");
    await agent("POST", "/v1/approvals", { decisionId: d.id });
    const r = await agent("GET", `/v1/approvals/${encodeURIComponent(d.id)}?wait=${wait}`);
    expect([r.status, code(r)]).toEqual([400, "invalid_request"]);
    await approver(TOKENS.ann, "POST", `/approvals/${encodeURIComponent(d.id)}`, { approved: false });
  });
});
