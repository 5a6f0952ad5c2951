/**
 * The packaged extension in real VS Code: code-server (installed by test/e2e/setup.sh into
 * ~/.cache/armor-e2e/code-server) with the .vsix installed, driven by Debian's headless Chromium
 * through playwright-core. Checks that a .armor file opens in the Armor language mode with the
 * grammar's colours, that an error shows a squiggle and a Problems entry, that completion after
 * `action.` offers the schema's fields, that the two commands compile and test a policy, that a
 * test's decision lens explains it, that the Test Explorer runs the tests (and with rule
 * coverage: each rule's line hit or missed), and that "Decide This Input" decides an input JSON
 * file with the policy beside it, again as the input is edited.
 * Screenshots go to test-output/e2e/. Skipped (with the reason printed) only when a tool is
 * missing and ARMOR_E2E is not "1". Everything listens on 127.0.0.1.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanPayments, codeServerDir, EXTENSION_DIR, killTree, OUTPUT_DIR, paymentsFixture, ROOT, skipUnlessReady } from "./support.js";

const CHROMIUM = process.env.ARMOR_CHROMIUM ?? "/usr/bin/chromium";
const CODE_SERVER = join(codeServerDir(), "node_modules", ".bin", "code-server");
const VSIX = join(EXTENSION_DIR, "agent-armor.vsix");
const BUILT = join(EXTENSION_DIR, "dist", "extension.js");

const missing = [
  ...(existsSync(CHROMIUM) ? [] : [`chromium is not installed (${CHROMIUM})`]),
  ...(existsSync(CODE_SERVER) ? [] : [`code-server is not installed (${CODE_SERVER})`]),
  ...(existsSync(VSIX) || existsSync(BUILT) ? [] : ["the extension is neither packaged nor built (npm run build -w agent-armor && npm run package -w agent-armor)"]),
];
const skip = skipUnlessReady("the code-server e2e test", missing);

const t0 = Date.now();
const log = (...a: unknown[]): void => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The .vsix, packaged again when it is missing or older than the build. */
function freshVsix(): string {
  const stale = !existsSync(VSIX) || (existsSync(BUILT) && statSync(BUILT).mtimeMs > statSync(VSIX).mtimeMs);
  if (stale) {
    log("packaging the extension (the .vsix is missing or older than dist/)");
    const r = spawnSync("npm", ["run", "package", "-w", "agent-armor"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`npm run package failed:\n${r.stdout}\n${r.stderr}`);
  }
  return VSIX;
}

let work = "";
let server: ChildProcess | undefined;
let browser: Browser | undefined;
let page: Page;
let serverLog = "";
let url = "";
const shots: string[] = [];

async function shot(name: string): Promise<void> {
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path });
  shots.push(path);
}

async function runCommand(title: string): Promise<void> {
  await page.keyboard.press("F1");
  await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 20_000 });
  await page.keyboard.type(title);
  const row = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: title }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

async function goToLine(line: number | string): Promise<void> {
  await page.keyboard.press("Control+G");
  await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 20_000 });
  await page.keyboard.type(String(line));
  await page.keyboard.press("Enter");
  await page.waitForTimeout(300);
}

async function openFile(name: string, text: string): Promise<void> {
  await page.keyboard.press("Control+P");
  await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 20_000 });
  await page.keyboard.type(name);
  // the row of that file (Enter would open the first row, which may be a recently opened file whose name is a prefix)
  const row = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: name }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
  await page.waitForSelector(`.tab.active:has-text(${JSON.stringify(name)})`, { timeout: 30_000 });
  await page.waitForSelector(`.editor-instance .view-lines:has-text(${JSON.stringify(text)})`, { timeout: 30_000 });
}

describe.skipIf(skip)("the extension in code-server", () => {
  beforeAll(async () => {
    expect(missing, "e2e tools (ARMOR_E2E=1)").toEqual([]);
    mkdirSync(OUTPUT_DIR, { recursive: true });
    for (const f of readdirSync(OUTPUT_DIR)) if (f.startsWith("code-server-")) rmSync(join(OUTPUT_DIR, f));
    work = mkdtempSync(join(tmpdir(), "armor-e2e-vscode-"));
    const workspace = join(work, "workspace");
    paymentsFixture(workspace, "payments");
    cleanPayments(join(workspace, "tested"));
    // a small policy with one passing and one failing test, for the Test Explorer
    mkdirSync(join(workspace, "failing"));
    writeFileSync(
      join(workspace, "failing", "shop.armor"),
      'policy shop version "1.0.0"\ndefault allow\n\nrule no_refunds\n  when action.type == "refund" and amount > 100\n  deny because "large refunds go to a person"\n\nrule no_gift_cards\n  when action.type == "gift_card"\n  deny\n',
    );
    writeFileSync(
      join(workspace, "failing", "shop.test.armor"),
      'test "a large refund is refused" {\n  action { type: "refund", amount: 500 }\n  expect deny by no_refunds\n}\n\ntest "a small refund is refused too" {\n  action { type: "refund", amount: 5 }\n  expect deny by no_refunds\n}\n',
    );
    // an input to decide with the policy beside it ("Decide This Input")
    writeFileSync(join(workspace, "failing", "refund.json"), '{ "action": { "type": "refund", "amount": 500 } }\n');
    const userData = join(work, "user-data");
    const extensions = join(work, "extensions");
    mkdirSync(join(userData, "User"), { recursive: true });
    writeFileSync(
      join(userData, "User", "settings.json"),
      JSON.stringify(
        {
          "workbench.startupEditor": "none",
          "security.workspace.trust.enabled": false,
          "telemetry.telemetryLevel": "off",
          "update.mode": "none",
          "extensions.autoCheckUpdates": false,
          "extensions.autoUpdate": false,
          "workbench.enableExperiments": false,
          "window.commandCenter": false,
          "workbench.colorTheme": "Default Dark Modern",
          // the colours read below are the TextMate grammar's: the server's semantic tokens,
          // which colour every keyword alike, would replace them whenever they arrive first
          "editor.semanticHighlighting.enabled": false,
          "workbench.tips.enabled": false,
          "editor.minimap.enabled": false,
          "chat.commandCenter.enabled": false,
          "workbench.secondarySideBar.defaultVisibility": "hidden",
        },
        null,
        2,
      ),
    );
    const env = { ...process.env, XDG_CONFIG_HOME: join(work, "xdg-config"), XDG_DATA_HOME: join(work, "xdg-data"), HOME: process.env.HOME ?? work };
    const common = ["--user-data-dir", userData, "--extensions-dir", extensions];

    const install = spawnSync(CODE_SERVER, [...common, "--install-extension", freshVsix()], { env, encoding: "utf8", timeout: 120_000 });
    log("install-extension:", (install.stdout + install.stderr).trim().split("\n").slice(-2).join(" | "));
    expect(install.status, install.stderr).toBe(0);

    const port = await freePort();
    const config = join(work, "config.yaml");
    writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
    server = spawn(CODE_SERVER, ["--config", config, ...common, "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override", workspace], {
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout!.on("data", (d: Buffer) => (serverLog += d.toString()));
    server.stderr!.on("data", (d: Buffer) => (serverLog += d.toString()));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 240 || server.exitCode !== null) throw new Error(`code-server did not come up:\n${serverLog}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    log("code-server healthy on", base);
    url = `${base}/?folder=${encodeURIComponent(workspace)}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    page.on("pageerror", (e) => log("pageerror:", e.message));
    await page.goto(url, { waitUntil: "domcontentloaded" });
    await page.waitForSelector(".monaco-workbench", { timeout: 90_000 });
    await page.waitForSelector(".explorer-folders-view .monaco-list-row", { timeout: 90_000 });
    await page
      .locator(".monaco-workbench")
      .click({ position: { x: 700, y: 400 } })
      .catch(() => {});
    log("workbench loaded");
  }, 300_000);

  afterEach(async (ctx) => {
    if (page && ctx.task.result?.state === "fail") {
      const name = `code-server-failure-${ctx.task.name.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 40)}`;
      await page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`) }).catch(() => {});
      log(`failure screenshot: test-output/e2e/${name}.png`);
    }
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await killTree(server);
    if (serverLog && process.env.ARMOR_E2E_VERBOSE) console.log(serverLog);
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("opens a .armor file in the Armor language mode, coloured by the grammar", async () => {
    await openFile("payments.armor", "policy payments");
    const mode = await page.locator("#status\\.editor\\.mode").innerText();
    log("language mode:", JSON.stringify(mode));
    expect(mode).toBe("Agent Armor");

    // The grammar's scopes, seen through the theme: effects, keywords, comments and strings differ.
    await goToLine(45);
    const colour = async (text: string): Promise<string> =>
      page.evaluate((t) => {
        const span = Array.from(document.querySelectorAll(".editor-instance .view-line span span")).find((s) => s.textContent?.trim() === t || (t === "//" && s.textContent?.trim().startsWith("//")));
        return span ? getComputedStyle(span).color : "none";
      }, text);
    const colours = {
      deny: await colour("deny"),
      allow: await colour("allow"),
      when: await colour("when"),
      rule: await colour("rule"),
      let: await colour("let"),
      string: await colour('"get_balance"'),
      number: await colour("5"),
      comment: await colour("//"),
    };
    log("token colours:", JSON.stringify(colours));
    for (const [k, c] of Object.entries(colours)) expect(c, k).not.toBe("none");
    expect(colours.deny).toBe(colours.allow);
    expect(colours.deny).not.toBe(colours.when);
    expect(colours.string).not.toBe(colours.number);
    expect(colours.when).not.toBe(colours.string);
    expect(colours.comment).not.toBe(colours.string);

    // The scope of `deny` as VS Code's token inspector reports it.
    await page
      .locator(".editor-instance .view-line span span", { hasText: /^deny$/ })
      .first()
      .click();
    await runCommand("Developer: Inspect Editor Tokens and Scopes");
    const inspector = page.locator(".token-inspect-widget");
    await inspector.waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => /source\.armor/.test(document.querySelector(".token-inspect-widget")?.textContent ?? ""), undefined, { timeout: 20_000 });
    const scopes = (await inspector.innerText()).replace(/\s+/g, " ");
    log("token inspector:", scopes.slice(0, 300));
    expect(scopes).toContain("keyword.control.effect.deny.armor");
    expect(scopes).toContain("source.armor");
    await shot("code-server-scopes");
    await page.keyboard.press("Escape");
  }, 120_000);

  it("shows the language server's error as a squiggle and in the Problems panel", async () => {
    // the error is on line 69, below the first screen: go there (cursor inside `amout`)
    await goToLine("69:45");
    await page.locator(".editor-instance .squiggly-error").first().waitFor({ timeout: 90_000 });
    await page.keyboard.press("Control+Shift+M");
    const row = page.locator(".markers-panel .monaco-list-row").filter({ hasText: "amout" }).first();
    await row.waitFor({ timeout: 30_000 });
    const problem = (await row.innerText()).replace(/\s+/g, " ");
    log("problem:", problem);
    expect(problem).toContain("`amout` is not a field of `wire_transfer`");
    // back in the editor, show the hover at the cursor: it carries the diagnostic
    await page.keyboard.press("Control+1");
    await page.keyboard.press("Control+K");
    await page.keyboard.press("Control+I");
    await page
      .locator(".monaco-hover")
      .filter({ hasText: "amout" })
      .first()
      .waitFor({ timeout: 20_000 })
      .catch(() => log("no hover over the squiggle"));
    await page.waitForTimeout(1000); // let the hover settle
    await shot("code-server-diagnostic");
  }, 120_000);

  it("offers the schema's fields after `action.`", async () => {
    await page.locator(".editor-instance .view-lines").first().click();
    await page.keyboard.press("Control+End");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Shift+Home");
    await page.keyboard.press("Delete");
    await page.keyboard.type("rule probe");
    await page.keyboard.press("Enter");
    await page.keyboard.type('when action.type == "wire_transfer" and action.');
    await page.waitForTimeout(300);
    if (!(await page.locator(".suggest-widget.visible").count())) await page.keyboard.press("Control+Space");
    const rows = page.locator(".suggest-widget .monaco-list-row");
    await rows.filter({ hasText: "amount" }).first().waitFor({ timeout: 30_000 });
    const labels = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, " "));
    log("completions:", JSON.stringify(labels));
    expect(labels.some((l) => l.includes("amount"))).toBe(true);
    expect(labels.some((l) => l.includes("recipient"))).toBe(true);
    await shot("code-server-completion");
    await page.keyboard.press("Escape");
  }, 120_000);

  it("compiles a policy and runs its tests from the command palette", async () => {
    await openFile("policy.armor", "policy payments");
    await runCommand("Agent Armor: Run Policy Tests");
    const passed = page
      .locator(".notifications-toasts .notification-toast")
      .filter({ hasText: /policy tests passed/ })
      .first();
    await passed.waitFor({ timeout: 60_000 });
    const message = (await passed.innerText()).replace(/\s+/g, " ");
    log("tests:", message);
    expect(message).toMatch(/all \d+ policy tests passed/);
    await page.waitForTimeout(1000);
    await shot("code-server-tests");
    const panel = (
      await page
        .locator(".part.panel")
        .innerText()
        .catch(() => "")
    ).replace(/\s+/g, " ");
    log("panel:", panel.slice(0, 400));

    await runCommand("Agent Armor: Compile This Policy");
    const compiled = page
      .locator(".notifications-toasts .notification-toast")
      .filter({ hasText: /compiled policy\.armor/ })
      .first();
    await compiled.waitFor({ timeout: 60_000 });
    log("compile:", (await compiled.innerText()).replace(/\s+/g, " "));
    const workspace = join(work, "workspace");
    const js = readFileSync(join(workspace, "tested", "policy.js"), "utf8");
    expect(js).toContain("export function decide");
    expect(existsSync(join(workspace, "tested", "policy.d.ts"))).toBe(true);
  }, 120_000);

  it("shows each test's decision as a code lens, and its explanation beside the editor", async () => {
    await openFile("shop.test.armor", "a large refund is refused");
    const lens = page.locator(".codelens-decoration a").filter({ hasText: /explain/ });
    await lens.first().waitFor({ timeout: 60_000 });
    const titles = (await lens.allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
    log("decision lenses:", JSON.stringify(titles));
    expect(titles[0]).toBe("✓ deny by no_refunds · explain");
    expect(titles[1]).toMatch(/^✗ expected deny by no_refunds, got allow/);
    await lens.nth(1).click();
    await page.waitForSelector('.tab:has-text(".explanation")', { timeout: 30_000 });
    await page.waitForSelector('.editor-instance .view-lines:has-text("did not fire")', { timeout: 30_000 });
    const text = (await page.locator(".editor-instance .view-lines").filter({ hasText: "did not fire" }).first().innerText()).replace(/\s+/g, " ");
    log("explanation:", text.slice(0, 300));
    expect(text).toContain("rule no_refunds (deny, line 4): did not fire");
    expect(text).toContain("amount > 100 -> false");
    await shot("code-server-decision-lens");
  }, 120_000);

  it("lists the policies' tests in the Test Explorer and runs them, a failure with its expectation and decision", async () => {
    await openFile("shop.armor", "policy shop");
    await runCommand("Testing: Focus on Test Explorer View");
    const rows = page.locator(".test-explorer .monaco-list-row");
    await rows.filter({ hasText: "shop.armor" }).first().waitFor({ timeout: 60_000 });
    await rows.filter({ hasText: "policy.armor" }).first().waitFor({ timeout: 60_000 });
    log("test explorer:", JSON.stringify((await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, " "))));
    await runCommand("Test: Run All Tests");
    const failed = page.locator(".test-explorer .codicon-testing-failed-icon");
    await failed.first().waitFor({ timeout: 60_000 });
    await page.locator(".test-explorer .codicon-testing-passed-icon").first().waitFor({ timeout: 60_000 });
    // the failing test's item, expanded: its message is the expectation against the decision
    const shop = rows.filter({ hasText: "shop.armor" }).first();
    await shop.click();
    await page.keyboard.press("ArrowRight");
    await rows.filter({ hasText: "a small refund is refused too" }).first().waitFor({ timeout: 30_000 });
    const states = await page.evaluate(() =>
      Array.from(document.querySelectorAll(".test-explorer .monaco-list-row")).map(
        (r) => `${r.textContent?.trim()}: ${r.querySelector(".codicon-testing-failed-icon") ? "failed" : r.querySelector(".codicon-testing-passed-icon") ? "passed" : "?"}`,
      ),
    );
    log("after the run:", JSON.stringify(states));
    expect(states.some((s) => s.startsWith("a small refund is refused too") && s.endsWith("failed"))).toBe(true);
    expect(states.some((s) => s.startsWith("a large refund is refused") && s.endsWith("passed"))).toBe(true);
    expect(states.some((s) => s.startsWith("policy.armor") && s.endsWith("passed"))).toBe(true);
    await shot("code-server-test-explorer");
    // one editor, wide enough for the inline message (the explanation was open beside)
    await runCommand("View: Close All Editors");
    await openFile("shop.test.armor", "a large refund is refused");
    // the editor shows the diff at the test as `ACTUAL != EXPECTED` (in a decoration's CSS text, seen in the screenshot);
    // the Test Results panel lists the failure's message
    const results = page.locator(".part.panel .monaco-list-row").filter({ hasText: "a small refund is refused too" });
    await results.first().waitFor({ timeout: 20_000 });
    const failure = (await results.first().innerText()).replace(/\s+/g, " ");
    log("failure in the results:", failure);
    expect(failure).toContain("expected deny by no_refunds, got allow");
    await shot("code-server-test-failure");
  }, 120_000);

  it("decides an input JSON file with the policy beside it, and decides again as the input changes", async () => {
    await runCommand("View: Close All Editors");
    await openFile("refund.json", '"refund"');
    await runCommand("Agent Armor: Decide This Input");
    await page.waitForSelector('.tab:has-text(".explanation")', { timeout: 30_000 });
    const explanation = page.locator(".editor-instance .view-lines").filter({ hasText: "rule no_refunds" }).first();
    await explanation.waitFor({ timeout: 30_000 });
    const fired = (await explanation.innerText()).replace(/\s+/g, " ");
    log("input decided:", fired.slice(0, 300));
    expect(fired).toContain("rule no_refunds (deny, line 4): fired");
    expect(fired).toContain("amount > 100 -> true");
    await shot("code-server-decide-input");
    // the input edited (500 -> 5): the explanation beside follows
    await page.locator(".editor-instance .view-line span span", { hasText: /^500$/ }).first().dblclick();
    await page.keyboard.type("5");
    await page.locator(".editor-instance .view-lines").filter({ hasText: "rule no_refunds (deny, line 4): did not fire" }).first().waitFor({ timeout: 30_000 });
    const after = (await page.locator(".editor-instance .view-lines").filter({ hasText: "rule no_refunds" }).first().innerText()).replace(/\s+/g, " ");
    log("after the edit:", after.slice(0, 300));
    expect(after).toContain("amount > 100 -> false");
    await shot("code-server-decide-input-edited");
  }, 120_000);

  it("runs the tests with rule coverage: each rule's line with the tests it fired in", async () => {
    await runCommand("View: Close All Editors");
    await openFile("shop.armor", "policy shop");
    await runCommand("Test: Run All Tests with Coverage");
    await runCommand("Testing: Focus on Test Coverage View");
    const rows = page.locator(".monaco-list-row").filter({ hasText: "shop.armor" });
    await rows.filter({ hasText: "%" }).first().waitFor({ timeout: 60_000 });
    const listed = (await page.locator(".monaco-list-row").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim()).filter((t) => /\.armor \d/.test(t));
    log("coverage view:", JSON.stringify(listed));
    // shop.armor's two rules: no_refunds fired in a test, no_gift_cards in none
    expect(listed).toContain("shop.armor 50.00%");
    expect(listed).toContain("policy.armor 100.00%");
    // in the editor, the lines of the rule that fired and of the one that did not are marked apart
    const marks = await page.evaluate(() =>
      Array.from(document.querySelectorAll(".editor-instance .margin-view-overlays .coverage-deco-gutter")).map(
        (d) => `${d.textContent?.trim()}:${d.classList.contains("coverage-deco-hit") ? "hit" : d.classList.contains("coverage-deco-miss") ? "miss" : "?"}`,
      ),
    );
    log("gutter:", JSON.stringify(marks));
    expect(marks.sort()).toEqual(["4:hit", "8:miss"]);
    await shot("code-server-coverage");
  }, 120_000);
});
