/**
 * Audit with many writers: each process keeps its own chain in its own file, and `armorc audit
 * verify` takes several files or a folder, checks each chain on its own and reports per file.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer } from "@agent-armor/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./gateway/support.js";

const armorcBin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
const armorc = (args: string[]) => {
  const r = spawnSync(process.execPath, [armorcBin, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

let work: string;
const folder = () => join(work, "audit");

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "armor-audit-many-"));
  mkdirSync(folder());
  mkdirSync(join(work, "empty"));
  // three writers, as three processes would be: a chain each
  for (const name of ["a", "b", "c"]) {
    const e = await createEnforcer({ policy: { source: "default allow", fileName: "p.armor" }, audit: { file: join(folder(), `serve-${name}.jsonl`), fsync: false } });
    for (let i = 0; i < 3; i++) await e.run({ type: "t", i }, { session: name }, () => i);
    await e.close();
  }
  writeFileSync(join(folder(), "notes.txt"), "not a log");
  const tampered = join(work, "tampered.jsonl");
  writeFileSync(tampered, readFileSync(join(folder(), "serve-b.jsonl"), "utf8").replace('"i":1', '"i":7'));
});

describe("armorc audit verify with many writers", () => {
  const cases: { name: string; args: () => string[]; status: number; stdout?: RegExp; stderr?: RegExp }[] = [
    {
      name: "a folder: its *.jsonl chains, each reported",
      args: () => [folder()],
      status: 0,
      stdout: /serve-a\.jsonl: ok: 6 records\n.*serve-b\.jsonl: ok: 6 records\n.*serve-c\.jsonl: ok: 6 records\n3 files: 3 verified\n$/,
    },
    {
      name: "several files",
      args: () => [join(folder(), "serve-a.jsonl"), join(folder(), "serve-c.jsonl")],
      status: 0,
      stdout: /serve-a\.jsonl: ok: 6 records\n.*serve-c\.jsonl: ok: 6 records\n2 files: 2 verified\n$/,
    },
    { name: "one file, as before", args: () => [join(folder(), "serve-a.jsonl")], status: 0, stdout: /^ok: 6 records\n$/ },
    {
      name: "a tampered chain among intact ones",
      args: () => [folder(), join(work, "tampered.jsonl")],
      status: 1,
      stdout: /4 files: 3 verified, 1 not\n$/,
      stderr: /tampered\.jsonl:\d+: record \d+ was edited/,
    },
    { name: "a missing file among others", args: () => [join(folder(), "serve-a.jsonl"), join(work, "missing.jsonl")], status: 2, stderr: /cannot read `.*missing\.jsonl`: no such file/ },
    { name: "a folder without logs", args: () => [join(work, "empty")], status: 2, stderr: /holds no audit log \(\*\.jsonl\)/ },
    { name: "--sink with several files", args: () => [folder(), "--sink", "file x"], status: 2, stderr: /--sink names the sink of one file/ },
  ];
  it.each(cases)("$name", ({ args, status, stdout, stderr }) => {
    const r = armorc(["audit", "verify", ...args()]);
    expect(r.status, r.stderr).toBe(status);
    if (stdout) expect(r.stdout).toMatch(stdout);
    if (stderr) expect(r.stderr).toMatch(stderr);
  });
});
