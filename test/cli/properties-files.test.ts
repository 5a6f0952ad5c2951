/**
 * `armorc test` proving the properties of a policy's `.test.armor` file and of the files it
 * imports, run as a user runs it: each verdict labelled with the file that states the property,
 * a counterexample naming the importer's replacement that breaks it, and the exit code.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/baseline.js";

const bin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
let work = "";

function armorc(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const BASE = `default deny
param wire_limit: number = 10000
let SANCTIONED = ["evil-corp"]
rule no_sanctioned when action.type == "wire" and recipient in SANCTIONED deny
rule big_wires when action.type == "wire" and amount > wire_limit require approval
property sanctioned_denied: always deny when action.type == "wire" and recipient in SANCTIONED
`;

const files: Record<string, string> = {
  "pay.armor": 'default allow\nlet LIMIT = 10000\nrule review when action.type == "wire" and amount > LIMIT require approval\n',
  "pay.test.armor": 'test "big" {\n  action { type: "wire", amount: 20000 }\n  expect require_approval by review\n}\n\nproperty reviewed: never allow when action.type == "wire" and amount > LIMIT\n',
  "loose.armor": "default allow\n",
  "loose.test.armor": 'property reviewed: never allow when action.type == "wire" and amount > 10000\n',
  "bad.armor": "default allow\n",
  "bad.test.armor": "property p: never allow when action.amount > lenght(action.to)\n",
  "base.armor": BASE,
  "keeps.armor": 'default allow\nimport "./base.armor" as base\n',
  "disables.armor": 'default allow\nimport "./base.armor" as base\ndisable base.no_sanctioned\n',
};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "armorc-property-files-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(work, name), text);
});

describe("armorc test: properties of test files and imported files", () => {
  it.each([
    ["a test file's property that holds, beside its tests", ["test", "pay.armor"], 0, [/✓ big/, /property reviewed \(pay\.test\.armor:6\): holds for every input \(proved\)/]],
    [
      "a test file's property that fails, with no tests",
      ["test", "loose.armor"],
      1,
      [/property reviewed \(loose\.test\.armor:1\): FAILS\n {4}counterexample: \{"action":\{"amount":10001,"type":"wire"\}\}/],
    ],
    ["a test file's property with an unknown name", ["test", "bad.armor"], 1, [/error\[A209\]: `lenght` is not a function\n --> bad\.test\.armor:1:46/]],
    [
      "an imported file's property, proved against the importer",
      ["test", "keeps.armor"],
      0,
      [/property base\.sanctioned_denied \(base\.armor:6\): holds for every input \(proved\)/, /property sanctioned_denied \(base\.armor:6\): holds/],
    ],
    [
      "an imported file's property broken by the importer's disable",
      ["test", "disables.armor"],
      1,
      [
        /property base\.sanctioned_denied \(base\.armor:6\): FAILS/,
        /replaced: base\.no_sanctioned \(base\.armor:4\) would deny this input; it is disabled at disables\.armor:3:1/,
        /property sanctioned_denied \(base\.armor:6\): holds/,
      ],
    ],
  ])(
    "%s",
    (_name, args, status, outputs) => {
      const r = armorc(args as string[]);
      expect(r.status, r.stdout + r.stderr).toBe(status);
      for (const o of outputs as RegExp[]) expect(r.stdout + r.stderr).toMatch(o);
    },
    120_000,
  );

  it("names the file of each property in JSON, and the replacements of a counterexample", () => {
    const r = armorc(["test", "disables.armor", "--reporter", "json"]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { properties: { name: string; file: string; status: string; replacements: string[] }[] };
    expect(report.properties.map((p) => [p.name, p.file, p.status])).toEqual([
      ["base.sanctioned_denied", "base.armor", "fails"],
      ["sanctioned_denied", "base.armor", "holds"],
    ]);
    expect(report.properties[0]!.replacements).toEqual(["base.no_sanctioned (base.armor:4) would deny this input; it is disabled at disables.armor:3:1"]);
  }, 120_000);
});
