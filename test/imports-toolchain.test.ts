/**
 * The toolchain over policies in many files: `createEnforcer({ policy, watch })` reloads when an
 * imported file changes and keeps the last good policy when an import breaks; the audit log's
 * source hash covers every file; `armorc check`, `test` and `fmt` on a policy with imports.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createEnforcer, type LoadResult } from "../packages/runtime/src/index.js";
import { repoRoot } from "./support/baseline.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "armor-imports-tools-"));
  dirs.push(dir);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const armorc = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [join(repoRoot, "packages/cli/bin/armorc.js"), ...args], { cwd, encoding: "utf8" });

const MAIN = 'default allow\nimport "./shared/base.armor" as base\n';
const BASE = (limit: number) => `default deny\nrule big when action.type == "wire" and amount > ${limit} deny\n`;

/** Resolves with the next reload the enforcer reports. */
function nextReload(reloads: LoadResult[], count: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (reloads.length >= count) resolve(reloads[count - 1]!);
      else if (Date.now() - started > 10_000) reject(new Error("no reload within 10 s"));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

describe("createEnforcer with watch", () => {
  it("reloads an imported file reached through a link, edited where it is and when a ConfigMap swaps its ..data link", async () => {
    const lib = (d: string) => `rule r when action.type == "w" ${d}\n`;
    const dir = project({
      "..v1/main.armor": 'default allow\nimport "./lib.armor" as lib\n',
      "..v1/lib.armor": lib("deny"),
      "..v2/main.armor": 'default allow\nimport "./lib.armor" as lib\n',
      "..v2/lib.armor": lib("allow"),
    });
    symlinkSync("..v1", join(dir, "..data"));
    symlinkSync("..data/main.armor", join(dir, "main.armor"));
    symlinkSync("..data/lib.armor", join(dir, "lib.armor"));
    const reloads: LoadResult[] = [];
    const enforcer = await createEnforcer({ policy: join(dir, "main.armor"), watch: { debounceMs: 20, onReload: (r) => reloads.push(r) } });
    try {
      expect((await enforcer.decide({ type: "w" })).decision).toBe("deny");
      // the file edited where it is (through no link): its folder is watched too
      writeFileSync(join(dir, "..v1/lib.armor"), lib('require approval from "ops"'));
      expect((await nextReload(reloads, 1)).ok).toBe(true);
      expect((await enforcer.decide({ type: "w" })).decision).toBe("require_approval");
      // the ConfigMap update: a new ..data link renamed over the old one
      symlinkSync("..v2", join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
      expect((await nextReload(reloads, 2)).ok).toBe(true);
      expect((await enforcer.decide({ type: "w" })).decision).toBe("allow");
    } finally {
      await enforcer.close();
    }
  });

  it("reloads when an imported file changes, and keeps the last good policy when an import breaks", async () => {
    const dir = project({ "main.armor": MAIN, "shared/base.armor": BASE(100) });
    const reloads: LoadResult[] = [];
    const errors: Error[] = [];
    const enforcer = await createEnforcer({ policy: join(dir, "main.armor"), watch: { debounceMs: 20, onReload: (r) => reloads.push(r) }, onError: (e) => errors.push(e) });
    try {
      expect((await enforcer.decide({ type: "wire", amount: 50 })).decision).toBe("allow");
      const firstHash = enforcer.policy.sourceHash;

      writeFileSync(join(dir, "shared/base.armor"), BASE(10));
      const ok = await nextReload(reloads, 1);
      expect(ok.ok).toBe(true);
      expect(ok.files).toEqual([join(dir, "main.armor"), join(dir, "shared/base.armor")]);
      expect((await enforcer.decide({ type: "wire", amount: 50 })).decision).toBe("deny");
      expect(enforcer.policy.sourceHash).not.toBe(firstHash);

      writeFileSync(join(dir, "main.armor"), `${MAIN}import "./shared/missing.armor" as missing\n`);
      const broken = await nextReload(reloads, 2);
      expect(broken.ok).toBe(false);
      expect(broken.diagnostics.map((d) => [d.code, d.line])).toEqual([["A701", 3]]);
      expect(errors.some((e) => e.message.includes("last good policy"))).toBe(true);
      // the last good policy stays in force
      expect((await enforcer.decide({ type: "wire", amount: 50 })).decision).toBe("deny");

      writeFileSync(join(dir, "shared/missing.armor"), 'rule small when action.type == "wire" and amount < 5 deny\n');
      const fixed = await nextReload(reloads, 3);
      expect(fixed.ok).toBe(true);
      expect((await enforcer.decide({ type: "wire", amount: 1 })).rules.map((r) => r.id)).toEqual(["missing.small"]);
    } finally {
      await enforcer.close();
    }
  });
});

describe("armorc over a policy with imports", () => {
  it("check reports an imported file's error in that file", () => {
    const dir = project({ "main.armor": MAIN, "shared/base.armor": "rule big when amount > deny\n" });
    const r = armorc(dir, "check", "main.armor");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("shared/base.armor:1:");
    expect(r.stderr).toContain("A101");
  });

  it("test runs the imported files' own tests as suites of their own, and fails on theirs", () => {
    const dir = project({
      "main.armor": `${MAIN}\ntest "big wires" {\n  action { type: "wire", amount: 500 }\n  expect deny by "base.big"\n}\n`,
      "shared/base.armor": `${BASE(100)}\ntest "a small wire falls to the default" {\n  action { type: "wire", amount: 5 }\n  expect allow\n}\n`,
    });
    const r = armorc(dir, "test", "main.armor", "--reporter", "json");
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { suites: { policy: string; results?: unknown[] }[]; summary: { passed: number; failed: number } };
    expect(report.suites.map((s) => s.policy)).toEqual(["main.armor", "shared/base.armor"]);
    expect(report.summary).toMatchObject({ passed: 1, failed: 1 });
  });

  it("fmt formats import, param, disable and override lines", () => {
    const dir = project({
      "main.armor": 'default   allow\nimport   "./b.armor"   as  b  with {limit:1}\ndisable   b.x\noverride  b.y when action.type=="a"  deny\n',
      "b.armor": 'param   limit :  number =  2\nrule x when action.type == "a" and amount > limit deny\nrule y when action.type == "b" deny\n',
    });
    expect(armorc(dir, "fmt", "--write", "main.armor", "b.armor").status).toBe(0);
    expect(armorc(dir, "fmt", "--check", "main.armor", "b.armor").status).toBe(0);
    expect(readFileSync(join(dir, "main.armor"), "utf8")).toBe('default allow\nimport "./b.armor" as b with { limit: 1 }\ndisable b.x\noverride b.y\n  when action.type == "a"\n  deny\n');
    expect(readFileSync(join(dir, "b.armor"), "utf8")).toMatch(/^param limit: number = 2\n/);
    expect(armorc(dir, "check", "main.armor").status).toBe(0);
  });
});
