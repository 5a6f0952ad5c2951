/**
 * The approval console in a real browser: headless Chromium (Debian's, driven by playwright-core)
 * against the console that `armor mcp --approvals web` serves, with a runtime enforcer as the
 * agent waiting on the approval queue. An approver signs in, sees a request arrive live (no
 * reload), approves it, and the agent proceeds; a rejection with a note reaches the agent;
 * everything works by keyboard alone and at a phone's 375 px; a page of another origin cannot
 * approve; text from the action is shown as text, never run as markup.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type ApprovalEndpoint, approversFrom, serveApprovals, startDecisionService } from "@agent-armor/gateway";
import { type ApprovalQueue, createApprovalQueue, createEnforcer, type Enforcer } from "@agent-armor/runtime";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OUTPUT_DIR, ROOT, skipUnlessReady } from "./support.js";

const CHROMIUM = process.env.ARMOR_CHROMIUM ?? "/usr/bin/chromium";
const missing = [
  ...(existsSync(CHROMIUM) ? [] : [`chromium is not installed (${CHROMIUM})`]),
  ...(existsSync(join(ROOT, "packages", "gateway", "dist", "approvals-http.js")) ? [] : ["the gateway is not built (npm run build)"]),
];
const skip = skipUnlessReady("the approval console e2e test", missing);

const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
const ANN = "ann-console-token-5d1e";
const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" timeout 2m because "wires need finance"
rule hide_card when action.type == "wire" redact memo matching /\\d{4}-\\d{4}-\\d{4}-\\d{4}/ with "[card]"
`;

describe.skipIf(skip)("the approval console in Chromium", () => {
  let queue: ApprovalQueue;
  let endpoint: ApprovalEndpoint;
  let enforcer: Enforcer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let evil: Server;
  /** Every request the console's endpoint answered: method, path and status. */
  const answered: { method: string; path: string; status: number }[] = [];
  let n = 0;

  beforeAll(async () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    queue = createApprovalQueue();
    endpoint = await serveApprovals(queue, { approvers: approversFrom([{ name: "ann", groups: ["finance"], tokenSha256: sha(ANN) }]), console: true });
    endpoint.server.on("request", (req, res) => res.on("finish", () => answered.push({ method: req.method ?? "", path: req.url ?? "", status: res.statusCode })));
    enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "wires.armor" }, approvals: queue, throwOnDeny: false });
    // a page of another origin (another port) that tries to approve with the approver's cookie
    evil = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>evil</title>");
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"] });
  }, 60_000);

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await context.newPage();
  });

  afterEach(async (ctx) => {
    if (page && ctx.task.result?.state === "fail") await page.screenshot({ path: join(OUTPUT_DIR, `approval-console-failure-${ctx.task.id}.png`), fullPage: true }).catch(() => {});
    await context?.close();
    for (const p of queue.pending()) queue.reject(p.id, "cleanup");
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await endpoint?.close();
    await enforcer?.close();
    await new Promise<void>((r) => (evil ? evil.close(() => r()) : r()));
  });

  /** The agent: a wire that waits for approval; resolves with the decision and when the tool ran. */
  function agentWire(extra: Record<string, unknown> = {}) {
    n++;
    let ranAt = 0;
    const action = { type: "wire", to: `acme-${n}`, amount: 5000 + n, memo: "card 4111-1111-1111-1111", ...extra };
    const running = enforcer.run(action, { session: `agent-${n}`, user: { id: `u${n}`, name: "Dana" } }, (a) => {
      ranAt = performance.now();
      return a;
    });
    return { to: action.to, running, ranAt: () => ranAt };
  }

  async function signIn(viaKeyboard = false): Promise<void> {
    await page.goto(endpoint.consoleUrl!);
    if (viaKeyboard) {
      // the token field has focus when the page opens
      await page.keyboard.type(ANN);
      await page.keyboard.press("Enter");
    } else {
      await page.getByLabel("Approver token").fill(ANN);
      await page.getByRole("button", { name: "Sign in" }).click();
    }
    await page.getByText("Signed in as ann").waitFor();
    await page.getByText(/^Connected\./).waitFor();
  }

  it("shows a request live, approves it on a click, and the agent proceeds within a second", async () => {
    const navigations: string[] = [];
    page.on("framenavigated", (f) => void (f === page.mainFrame() && navigations.push(f.url())));
    await signIn();
    const wire = agentWire({ note: '</script><img src=x onerror="window.__pwned=1"><b>bold</b>' });
    const card = page.getByRole("article").filter({ hasText: wire.to });
    await card.waitFor();
    // the action as it would run: redacted as the policy redacts it; its text as text
    await expect(card.locator("pre").textContent()).resolves.toContain('"memo": "card [card]"');
    await expect(card.locator("pre").textContent()).resolves.toContain('</script><img src=x onerror=\\"window.__pwned=1\\"><b>bold</b>');
    expect(await card.locator("img, b").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    // the rule and its reason, the requester's session and user, and the time left counting down
    await expect(card.textContent()).resolves.toMatch(/wires — wires need finance/);
    await expect(card.textContent()).resolves.toContain(`agent-${n}`);
    await expect(card.textContent()).resolves.toContain(`u${n}`);
    const left1 = await card.locator(".left").textContent();
    expect(left1).toMatch(/^1:5\d$|^2:00$/);
    // it counts down once a second (a loaded machine may run a tick late)
    await expect.poll(() => card.locator(".left").textContent(), { timeout: 5_000 }).not.toBe(left1);

    const clicked = performance.now();
    await card.getByRole("button", { name: /^Approve/ }).click();
    const { decision } = await wire.running;
    const ms = wire.ranAt() - clicked;
    console.log(`[e2e] approval console: the agent proceeded ${ms.toFixed(0)} ms after the click`);
    expect(decision.decision).toBe("allow");
    expect(ms).toBeGreaterThan(0);
    // a sanity bound, not a performance target: the figure is reported above
    expect(ms).toBeLessThan(1_000);
    await card.waitFor({ state: "detached" });
    // the request arrived and left without the page reloading
    expect(navigations).toHaveLength(1);
  });

  it("rejects with a note, which reaches the agent", async () => {
    await signIn();
    const wire = agentWire();
    const card = page.getByRole("article").filter({ hasText: wire.to });
    await card.getByLabel("Note (optional)").fill("not this vendor");
    await card.getByRole("button", { name: /^Reject/ }).click();
    const { decision } = await wire.running;
    expect(decision.decision).toBe("deny");
    expect(decision.errors.map((e) => e.message)).toContain("approval rejected by ann: not this vendor");
    expect(wire.ranAt()).toBe(0);
  });

  it("approves by keyboard alone, with focus visible on each control", async () => {
    await signIn(true);
    const wire = agentWire();
    const card = page.getByRole("article").filter({ hasText: wire.to });
    await card.waitFor();
    // Tab from the queue's heading: the note, then Approve
    const stops: string[] = [];
    for (let i = 0; i < 6 && !stops.at(-1)?.startsWith("Approve"); i++) {
      await page.keyboard.press("Tab");
      stops.push(
        await page.evaluate(() => {
          const e = document.activeElement as HTMLElement;
          const outline = getComputedStyle(e).outlineStyle;
          return `${e.getAttribute("aria-label") ?? e.id ?? e.tagName}|${e.matches(":focus-visible") && outline !== "none" ? "visible" : "hidden"}`;
        }),
      );
    }
    const approve = stops.at(-1)!;
    expect(approve.startsWith("Approve")).toBe(true);
    expect(stops.every((s) => s.endsWith("|visible"))).toBe(true);
    // Escape in the request clears the note and takes focus to its heading
    await card.getByLabel("Note (optional)").focus();
    await page.keyboard.type("draft");
    await page.keyboard.press("Escape");
    await expect(card.getByLabel("Note (optional)").inputValue()).resolves.toBe("");
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe("H3");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? "")).toMatch(/^Approve/);
    await page.keyboard.press("Enter");
    expect((await wire.running).decision.decision).toBe("allow");
  });

  it("is readable at 375 px: nothing scrolls sideways, the buttons are in reach", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await signIn();
    const wire = agentWire({ memo: `a very long memo ${"x".repeat(400)} and an unbroken ${"https://example.com/".repeat(10)}` });
    const card = page.getByRole("article").filter({ hasText: wire.to });
    await card.waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(375);
    for (const name of [/^Approve/, /^Reject/]) {
      const box = (await card.getByRole("button", { name }).boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(375);
      expect(box.height).toBeGreaterThanOrEqual(44);
    }
    await page.screenshot({ path: join(OUTPUT_DIR, "approval-console-375.png"), fullPage: true });
    await card.getByRole("button", { name: /^Approve/ }).click();
    expect((await wire.running).decision.decision).toBe("allow");
  });

  it("refuses a POST from a page of another origin, though the approver is signed in", async () => {
    await signIn();
    const wire = agentWire();
    const card = page.getByRole("article").filter({ hasText: wire.to });
    await card.waitFor();
    const id = queue.pending().find((p) => (p.action as { to?: string }).to === wire.to)!.id;
    const target = `${endpoint.consoleUrl!.replace(/\/console$/, "")}/approvals/${encodeURIComponent(id)}`;
    const other = await context.newPage();
    await other.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    // a form-like simple request and a JSON request with credentials: neither may approve
    const outcome = await other.evaluate(async (url) => {
      const tries: string[] = [];
      for (const init of [
        { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: '{"approved":true}' },
        { method: "POST", mode: "cors", credentials: "include", headers: { "content-type": "application/json" }, body: '{"approved":true}' },
      ] as RequestInit[]) {
        try {
          const r = await fetch(url, init);
          tries.push(`answered ${r.status}`);
        } catch (e) {
          tries.push(`failed ${(e as Error).name}`);
        }
      }
      return tries;
    }, target);
    expect(outcome).toHaveLength(2);
    // still pending, and the endpoint refused every cross-origin attempt with 403
    expect(queue.get(id)).toBeDefined();
    const posts = answered.filter((a) => a.path.endsWith(encodeURIComponent(id)) && a.method !== "GET");
    expect(posts.length).toBeGreaterThan(0);
    expect(posts.every((a) => a.status === 403)).toBe(true);
    await other.close();
    await card.getByRole("button", { name: /^Approve/ }).click();
    expect((await wire.running).decision.decision).toBe("allow");
  });
  it("shows bidi overrides and other control characters escaped, visibly, never as they would reorder text", async () => {
    await signIn();
    const wire = agentWire({ payee: "\u202Eemca", note: "acme\u2067\u202E.evil\u2069", "\u202Eto": "x", zw: "a\u200Bb\u0007" });
    const card = page.getByRole("article").filter({ hasText: wire.to });
    await card.waitFor();
    const text = (await card.textContent()) ?? "";
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    const pre = (await card.locator("pre").textContent()) ?? "";
    for (const shown of ['"payee": "\\u202eemca"', '"note": "acme\\u2067\\u202e.evil\\u2069"', '"\\u202eto": "x"', '"zw": "a\\u200bb\\u0007"']) expect(pre).toContain(shown);
    await card.getByRole("button", { name: /^Reject/ }).click();
    await wire.running;
  });

  it("shows quorum, votes and a grant offer when a request has them, and sends the grant choice", async () => {
    // a queue whose requests carry the fields quorum and grants add (absent fields show nothing)
    const extra = { quorum: 2, approvers: ["bob"], grant: { rule: "wires", scope: "session", durationMs: 3_600_000, upTo: 50000, of: "action.amount" } };
    const withGrant = {
      ...queue,
      pending: () => queue.pending().map((p) => ({ ...p, ...extra })),
      get: (id: string) => {
        const p = queue.get(id);
        return p && { ...p, ...extra };
      },
    };
    const other = await serveApprovals(withGrant, { approvers: approversFrom([{ name: "ann", groups: ["finance"], tokenSha256: sha(ANN) }]), console: true });
    try {
      const bodies: string[] = [];
      page.on("request", (r) => void (r.method() === "POST" && r.url().includes("/approvals/") && bodies.push(r.postData() ?? "")));
      await page.goto(other.consoleUrl!);
      await page.getByLabel("Approver token").fill(ANN);
      await page.keyboard.press("Enter");
      await page.getByText(/^Connected\./).waitFor();
      const wire = agentWire();
      const card = page.getByRole("article").filter({ hasText: wire.to });
      await card.waitFor();
      await expect(card.textContent()).resolves.toContain("1 of 2 approvals: bob");
      await card.getByLabel("Also grant: session for 1h up to 50000 of action.amount").check();
      await card.getByRole("button", { name: /^Approve/ }).click();
      expect((await wire.running).decision.decision).toBe("allow");
      expect(JSON.parse(bodies[0]!)).toMatchObject({ approved: true, grant: true });
      // a request without them shows no quorum or grant
      const plain = agentWire();
      await page.goto(endpoint.consoleUrl!);
      await page.getByLabel("Approver token").fill(ANN);
      await page.keyboard.press("Enter");
      const card2 = page.getByRole("article").filter({ hasText: plain.to });
      await card2.waitFor();
      expect(await card2.getByText(/Quorum|Also grant/).count()).toBe(0);
      await card2.getByRole("button", { name: /^Reject/ }).click();
      await plain.running;
    } finally {
      await other.close();
    }
  });

  it("serves armor serve's console: an HTTP client waiting on its decision's approval gets the answer within a second of the click", async () => {
    const work = mkdtempSync(join(tmpdir(), "armor-console-e2e-"));
    writeFileSync(join(work, "wires.armor"), POLICY);
    const SERVICE = "e2e-service-token-77";
    const svc = await startDecisionService({
      policy: join(work, "wires.armor"),
      port: 0,
      log: () => undefined,
      access: { token: SERVICE },
      approvers: approversFrom([{ name: "ann", groups: ["finance"], tokenSha256: sha(ANN) }]),
    });
    const agent = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${svc.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${SERVICE}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await r.json()) as Record<string, unknown>;
    };
    try {
      await page.goto(`${svc.url}/console`);
      await page.getByLabel("Approver token").fill(ANN);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByText(/^Connected\./).waitFor();
      const decided = await agent("POST", "/v1/decide", { action: { type: "wire", to: "serve-client", amount: 7, memo: "card 4111-1111-1111-1111" }, session: "py-agent", user: { id: "svc-user" } });
      expect(decided.decision).toBe("require_approval");
      await agent("POST", "/v1/approvals", { decisionId: decided.id });
      let answeredAt = 0;
      const waiting = agent("GET", `/v1/approvals/${encodeURIComponent(decided.id as string)}?wait=60`).then((s) => {
        answeredAt = performance.now();
        return s;
      });
      const card = page.getByRole("article").filter({ hasText: "serve-client" });
      await card.waitFor();
      await expect(card.locator("pre").textContent()).resolves.toContain('"memo": "card [card]"');
      await expect(card.textContent()).resolves.toContain("svc-user");
      const clicked = performance.now();
      await card.getByRole("button", { name: /^Approve/ }).click();
      const state = await waiting;
      const ms = answeredAt - clicked;
      console.log(`[e2e] approval console (armor serve): the waiting client got the answer ${ms.toFixed(0)} ms after the click`);
      expect(state).toMatchObject({ status: "approved", approver: "ann" });
      expect(ms).toBeLessThan(1_000);
    } finally {
      await svc.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
