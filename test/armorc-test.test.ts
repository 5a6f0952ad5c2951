/**
 * `armorc test` as users run it: the built binary on fixture folders, and on every example.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./support/baseline.js";

const bin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
function armorc(args: string[], cwd = repoRoot) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const POLICY = `policy mail version "1.0.0"
default allow
rule rate when action.type == "send_email" and count(type == "send_email" within 1h) >= 2 deny because "rate"
rule never when action.type == "nothing" deny
`;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "armorc-test-"));
  mkdirSync(join(dir, "ok"));
  writeFileSync(join(dir, "ok", "mail.armor"), POLICY);
  writeFileSync(
    join(dir, "ok", "mail.test.armor"),
    `test "one email is fine" {\n  action { type: "send_email" }\n  expect allow\n}\n\ntest "the third email in an hour is refused" {\n  history 2 of { type: "send_email" } within 1h\n  action { type: "send_email" }\n  expect deny by rate\n}\n`,
  );
  mkdirSync(join(dir, "failing"));
  writeFileSync(join(dir, "failing", "mail.armor"), `${POLICY}\ntest "wrong on purpose" {\n  history { type: "send_email" } ago 30m\n  action { type: "send_email" }\n  expect deny by rate\n}\n`);
  mkdirSync(join(dir, "orphan"));
  writeFileSync(join(dir, "orphan", "lonely.test.armor"), `test "t" {\n  action { type: "x" }\n  expect allow\n}\n`);
  mkdirSync(join(dir, "broken"));
  writeFileSync(join(dir, "broken", "p.armor"), `rule r when amount > deny\ntest "t" {\n  action { type: "x" }\n  expect allow\n}\n`);
});

describe("armorc test", () => {
  it("passes a passing suite with a closing count line", () => {
    const r = armorc(["test", "ok"], dir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("ok/mail.armor + ok/mail.test.armor");
    expect(r.stdout).toContain("✓ the third email in an hour is refused");
    expect(r.stdout.trim().split("\n").pop()).toBe("2 passed, 0 failed");
  });

  it("fails with the expected and actual decision and the rule's values", () => {
    const r = armorc(["test", "failing"], dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("✗ wrong on purpose  failing/mail.armor:6");
    expect(r.stdout).toContain("expected deny by rate, got allow (the default; no rule fired)");
    expect(r.stdout).toContain('count(type == "send_email" within 1h) >= 2  ->  false  with 1, 2');
    expect(r.stdout.trim().split("\n").pop()).toBe("0 passed, 1 failed");
  });

  it("reports coverage, even when tests fail, and enforces a threshold", () => {
    const r = armorc(["test", "ok", "failing", "--coverage"], dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/rate\s+deny\s+1\s+1/);
    expect(r.stdout).toContain("never fired: failing/mail.armor: rate, failing/mail.armor: never, ok/mail.armor: never");
    expect(r.stdout).toContain("rules fired in a test: 1/4 (25%)");
    const low = armorc(["test", "ok", "--coverage-threshold", "80"], dir);
    expect(low.status).toBe(1);
    expect(low.stderr).toContain("coverage 50% is below the threshold of 80%");
    expect(armorc(["test", "ok", "--coverage-threshold", "50"], dir).status).toBe(0);
  });

  it("filters tests by name", () => {
    const r = armorc(["test", "ok", "--filter", "third"], dir);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("one email is fine");
    expect(r.stdout).toContain("(1 filtered out)");
    expect(armorc(["test", "ok", "--filter", "/^ONE/i"], dir).stdout).toContain("1 passed, 0 failed");
  });

  it("writes JUnit XML and JSON", () => {
    const junit = armorc(["test", "ok", "failing", "--reporter", "junit"], dir);
    expect(junit.status).toBe(1);
    expect(junit.stdout).toMatch(/^<\?xml/);
    expect(junit.stdout).toContain('<testsuites name="armorc test" tests="3" failures="1" errors="0">');
    const json = JSON.parse(armorc(["test", "ok", "--reporter", "json"], dir).stdout) as { summary: { passed: number } };
    expect(json.summary.passed).toBe(2);
  });

  it("reports a test file without its policy, and a policy that does not compile", () => {
    const orphan = armorc(["test", "orphan"], dir);
    expect(orphan.status).toBe(1);
    expect(orphan.stderr).toContain("A605");
    const broken = armorc(["test", "broken"], dir);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain("A101");
    expect(broken.stdout).toContain("no test of it ran");
    expect(armorc(["test", "nowhere"], dir).status).toBe(2);
  });

  it("runs again on change with --watch", async () => {
    const child = spawn(process.execPath, [bin, "test", "ok", "--watch"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    try {
      await expect.poll(() => out, { timeout: 20_000 }).toContain("2 passed, 0 failed");
      await expect.poll(() => err, { timeout: 20_000 }).toContain("watching for changes");
      // a recursive fs.watch may still be registering its folders after the announcement (Node 20
      // walks them asynchronously): write again until a re-run shows the change was seen
      const changed = `test "changed" {\n  action { type: "send_email" }\n  expect deny\n}\n`;
      for (let i = 0; i < 20 && !out.includes("change detected"); i++) {
        writeFileSync(join(dir, "ok", "mail.test.armor"), changed);
        await new Promise((r) => setTimeout(r, 500));
      }
      await expect.poll(() => out, { timeout: 20_000 }).toContain("0 passed, 1 failed");
      expect(out).toContain("change detected, running again");
    } finally {
      child.kill("SIGINT");
    }
  });
});

describe("a bare armorc test", () => {
  it("skips fixture trees (folders holding .armor-fixtures) but reads them when named", () => {
    const root = mkdtempSync(join(tmpdir(), "armorc-test-bare-"));
    mkdirSync(join(root, "suite"));
    writeFileSync(join(root, "suite", "mail.armor"), `${POLICY}\ntest "one email" {\n  action { type: "send_email" }\n  expect allow\n}\n`);
    mkdirSync(join(root, "fixtures", "deeper"), { recursive: true });
    writeFileSync(join(root, "fixtures", ".armor-fixtures"), "");
    writeFileSync(join(root, "fixtures", "broken.armor"), "rule r when amount > deny\n");
    writeFileSync(join(root, "fixtures", "deeper", "broken.armor"), "rule r when amount > deny\n");
    const cases = [
      { args: [], status: 0, shows: "suite/mail.armor", hides: "broken.armor" },
      { args: ["."], status: 0, shows: "1 passed, 0 failed", hides: "broken.armor" },
      { args: ["fixtures"], status: 1, shows: "fixtures/broken.armor", hides: "suite/mail.armor" },
    ];
    for (const c of cases) {
      const r = armorc(["test", ...c.args], root);
      const out = r.stdout + r.stderr;
      expect(out, `armorc test ${c.args.join(" ")}`).toContain(c.shows);
      expect(out, `armorc test ${c.args.join(" ")}`).not.toContain(c.hides);
      expect(r.status, `armorc test ${c.args.join(" ")}`).toBe(c.status);
    }
  });

  it("from the repository root runs the examples' suites and no fixtures", () => {
    const r = armorc(["test"]);
    expect(r.stderr).not.toContain("with errors");
    expect(r.stdout).not.toMatch(/test\/(cases|lsp)\//);
    expect(r.stdout).toContain("examples/payments/policy.armor + examples/payments/policy.test.armor");
    expect(r.stdout.trim().split("\n").pop()).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.status).toBe(0);
  });
});

describe("the examples' test suites", () => {
  it("pass, and every rule fires in some test and is seen not firing in another", () => {
    const r = armorc(["test", "examples", "--coverage", "--coverage-threshold", "100"]);
    expect(r.stdout).toMatch(/\d+ passed, 0 failed/);
    expect(r.stdout).toContain("rules also seen not firing");
    expect(r.stdout).not.toContain("never fired:");
    expect(r.stdout).not.toContain("never seen not firing:");
    expect(r.status, r.stderr).toBe(0);
    for (const name of ["payments", "email", "coding-agent", "data-access", "agent", "support-agent", "data-analysis"])
      expect(r.stdout).toContain(`examples/${name}/policy.armor + examples/${name}/policy.test.armor`);
  });
});
