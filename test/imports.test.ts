/**
 * Policies in many files (docs/language.md §18): imports, params, disable and override, as a
 * table of file sets (read through an in-memory host), with the diagnostics each must give (and
 * in which file), and decisions that the compiled module and the interpreter agree on.
 */
import { describe, expect, it } from "vitest";
import { type CompilerHost, compileSource, emit, nodeHost } from "../packages/compiler/src/compile.js";
import { explainRules } from "../packages/compiler/src/explain.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { runSuite } from "../packages/compiler/src/testing/runner.js";

const DIR = "/project";

function hostOf(files: Record<string, string>): CompilerHost {
  return {
    readFile: (p) => (Object.hasOwn(files, p.slice(DIR.length + 1)) ? files[p.slice(DIR.length + 1)] : nodeHost.readFile(p)),
    packFile: nodeHost.packFile,
  };
}

function compile(files: Record<string, string>) {
  return compileSource(`${DIR}/main.armor`, files["main.armor"]!, hostOf(files));
}

const BASE = `policy base version "1.0.0"
default deny
param threshold: number = 10000
param blocked: [string] = ["acme-shell-co"]
let SANCTIONED = ["evil-corp"]

rule no_sanctioned
  when action.type == "wire" and (recipient in SANCTIONED or recipient in blocked)
  deny because "sanctioned"

rule big
  when action.type == "wire" and amount > threshold
  require approval from "finance"
`;

interface Case {
  name: string;
  files: Record<string, string>;
  /** `CODE@FILE` of every error, in any order; FILE relative to the project. */
  errors: string[];
  decisions?: { action: Record<string, unknown>; decision: string; rules: string[] }[];
}

const STAGED = 'default deny\nrule r1 when action.type == "w" deny because "b1"\nrule r2 on result when result.text contains "secret" deny because "leak"\n';

const CASES: Case[] = [
  {
    name: "a base file's rules under its namespace, with its defaults",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base\n', "base.armor": BASE },
    errors: [],
    decisions: [
      { action: { type: "wire", amount: 20000, recipient: "x" }, decision: "require_approval", rules: ["base.big"] },
      { action: { type: "wire", amount: 1, recipient: "evil-corp" }, decision: "deny", rules: ["base.no_sanctioned"] },
      { action: { type: "wire", amount: 1, recipient: "x" }, decision: "allow", rules: [] },
    ],
  },
  {
    name: "params set by the importer",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base with { threshold: 100, blocked: ["bad"] }\n', "base.armor": BASE },
    errors: [],
    decisions: [
      { action: { type: "wire", amount: 200, recipient: "x" }, decision: "require_approval", rules: ["base.big"] },
      { action: { type: "wire", amount: 1, recipient: "bad" }, decision: "deny", rules: ["base.no_sanctioned"] },
      { action: { type: "wire", amount: 1, recipient: "acme-shell-co" }, decision: "allow", rules: [] },
    ],
  },
  {
    name: "only the root's default counts",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base\n', "base.armor": BASE },
    errors: [],
    decisions: [{ action: { type: "read" }, decision: "allow", rules: [] }],
  },
  {
    name: "override replaces an imported rule under its id; disable drops one",
    files: {
      "main.armor": 'default allow\nimport "./base.armor" as base\noverride base.big when action.type == "wire" and amount > 5 deny because "no wires above 5"\ndisable base.no_sanctioned\n',
      "base.armor": BASE,
    },
    errors: [],
    decisions: [
      { action: { type: "wire", amount: 6, recipient: "x" }, decision: "deny", rules: ["base.big"] },
      { action: { type: "wire", amount: 1, recipient: "evil-corp" }, decision: "allow", rules: [] },
    ],
  },
  {
    name: "the importer reads an imported let as NS.LET",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base\nrule mail when action.type == "email" and to in base.SANCTIONED deny\n', "base.armor": BASE },
    errors: [],
    decisions: [{ action: { type: "email", to: "evil-corp" }, decision: "deny", rules: ["mail"] }],
  },
  {
    name: "nested imports keep every namespace",
    files: {
      "main.armor": 'default allow\nimport "./agents/agent.armor" as agent\n',
      "agents/agent.armor": 'default deny\nimport "../base.armor" as base with { threshold: 1 }\nrule no_shell when action.type == "shell" deny\n',
      "base.armor": BASE,
    },
    errors: [],
    decisions: [
      { action: { type: "wire", amount: 2, recipient: "x" }, decision: "require_approval", rules: ["agent.base.big"] },
      { action: { type: "shell" }, decision: "deny", rules: ["agent.no_shell"] },
    ],
  },
  {
    name: "a pack with a parameter",
    files: { "main.armor": 'default allow\nimport "armor:secrets" as secrets with { exempt_tools: ["vault_put"] }\n' },
    errors: [],
    decisions: [
      { action: { type: "http_post", body: "AKIAIOSFODNN7EXAMPLE" }, decision: "deny", rules: ["secrets.no_secret_in_arguments"] },
      { action: { type: "vault_put", value: "AKIAIOSFODNN7EXAMPLE" }, decision: "allow", rules: [] },
    ],
  },
  {
    name: "history and regexes of imported rules are renumbered after the importer's",
    files: {
      "main.armor": 'default allow\nimport "./h.armor" as h\nrule local when action.type == "b" and note matches /x+/ and count(type == "b" within 1h) > 1 deny\n',
      "h.armor": 'default allow\nrule burst when action.type == "a" and path matches /secret/ and count(type == "a" within 1h) >= 2 deny\n',
    },
    errors: [],
    decisions: [
      { action: { type: "a", path: "/secret" }, decision: "allow", rules: [] },
      { action: { type: "b", note: "xx" }, decision: "allow", rules: [] },
    ],
  },
  { name: "a missing file", files: { "main.armor": 'default allow\nimport "./nope.armor" as nope\n' }, errors: ["A701@main.armor"] },
  { name: "a pack that does not exist", files: { "main.armor": 'default allow\nimport "armor:nope" as nope\n' }, errors: ["A701@main.armor"] },
  {
    name: "a cycle through two files, reported with the other file's import",
    files: { "main.armor": 'default allow\nimport "./a.armor" as a\n', "a.armor": 'import "./b.armor" as b\n', "b.armor": 'import "./a.armor" as a\n' },
    errors: ["A703@b.armor"],
  },
  { name: "two imports under one namespace", files: { "main.armor": 'default allow\nimport "./base.armor" as b\nimport "./base.armor" as b\n', "base.armor": BASE }, errors: ["A705@main.armor"] },
  {
    name: "a local rule with an imported rule's name, without override",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base\nrule big when action.type == "wire" deny\n', "base.armor": BASE },
    errors: ["A705@main.armor"],
  },
  { name: "a parameter the file does not declare", files: { "main.armor": 'default allow\nimport "./base.armor" as base with { treshold: 1 }\n', "base.armor": BASE }, errors: ["A706@main.armor"] },
  { name: "a parameter of the wrong type", files: { "main.armor": 'default allow\nimport "./base.armor" as base with { threshold: "ten" }\n', "base.armor": BASE }, errors: ["A706@main.armor"] },
  {
    name: "a list parameter with an element of the wrong type",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base with { blocked: ["a", 1] }\n', "base.armor": BASE },
    errors: ["A706@main.armor"],
  },
  {
    name: "an override of a rule that is not imported",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base\noverride base.bigg when true deny\n', "base.armor": BASE },
    errors: ["A707@main.armor"],
  },
  {
    name: "an override that moves a result rule to the call stage",
    files: { "main.armor": 'default allow\nimport "./b.armor" as b\noverride b.r2 when action.type == "w" allow\n', "b.armor": STAGED },
    errors: ["A707@main.armor"],
  },
  {
    name: "an override that moves a call rule to the result stage",
    files: { "main.armor": 'default allow\nimport "./b.armor" as b\noverride b.r1 on result when result.text contains "q" deny\n', "b.armor": STAGED },
    errors: ["A707@main.armor"],
  },
  {
    name: "an override in the imported rule's stage",
    files: {
      "main.armor": 'default allow\nimport "./b.armor" as b\noverride b.r2 on result when result.text contains "key" deny because "leak"\noverride b.r1 on call when action.type == "v" deny\n',
      "b.armor": STAGED,
    },
    errors: [],
  },
  { name: "a disable without an import", files: { "main.armor": "default allow\ndisable base.big\n" }, errors: ["A707@main.armor"] },
  {
    name: "two versions of one policy",
    files: {
      "main.armor": 'default allow\nimport "./v1/base.armor" as old\nimport "./v2/base.armor" as new\n',
      "v1/base.armor": 'policy base version "1.0.0"\nrule r when action.type == "x" deny\n',
      "v2/base.armor": 'policy base version "2.0.0"\nrule r when action.type == "x" deny\n',
    },
    errors: ["A708@v2/base.armor"],
  },
  {
    name: "an imported file's error is reported in that file",
    files: { "main.armor": 'default allow\nimport "./bad.armor" as bad\n', "bad.armor": "rule r when amount > deny\n" },
    errors: ["A101@bad.armor"],
  },
  {
    name: "an imported file in another timezone",
    files: { "main.armor": 'default allow\nimport "./tz.armor" as tz\n', "tz.armor": 'timezone "Europe/Zurich"\nrule r when time.hour > 20 deny\n' },
    errors: ["A709@main.armor"],
  },
];

function errorsOf(c: ReturnType<typeof compile>): string[] {
  return c.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code}@${d.file.slice(DIR.length + 1)}`);
}

describe("imports", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const compilation = compile(c.files);
    expect(errorsOf(compilation).sort()).toEqual([...c.errors].sort());
    if (c.decisions === undefined) return;
    const module = await loadModule(emit(compilation).js);
    for (const d of c.decisions) {
      const compiled = module.decide({ action: d.action });
      const interpreted = evaluatePolicy(compilation.policy, { action: d.action }).result;
      expect({ decision: compiled.decision, rules: compiled.rules.map((r) => r.id) }, JSON.stringify(d.action)).toEqual({ decision: d.decision, rules: d.rules });
      expect(interpreted.decision).toBe(compiled.decision);
      expect(interpreted.rules.map((r) => r.id)).toEqual(compiled.rules.map((r) => r.id));
    }
  });

  it("names a cycle's other import as a related location in its file", () => {
    const c = compile({ "main.armor": 'default allow\nimport "./a.armor" as a\n', "a.armor": 'import "./b.armor" as b\n', "b.armor": 'import "./a.armor" as a\n' });
    const cycle = c.diagnostics.find((d) => d.code === "A703")!;
    expect(cycle.related?.map((r) => r.file)).toEqual([`${DIR}/a.armor`]);
  });

  it("gives a source hash over every file, in import order, that changes when an imported file does", () => {
    const files = { "main.armor": 'default allow\nimport "./base.armor" as base\n', "base.armor": BASE };
    const a = compile(files);
    const b = compile({ ...files, "base.armor": BASE.replace("10000", "10001") });
    expect(a.files.map((f) => f.name)).toEqual(["main.armor", "base.armor"]);
    expect(a.policy.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.policy.sourceHash).not.toBe(a.policy.sourceHash);
    expect(compile(files).policy.sourceHash).toBe(a.policy.sourceHash);
  });

  it("ships armor:secrets with its own tests, which pass, and cover each of its rules", async () => {
    const file = nodeHost.packFile!("secrets")!;
    const suite = await runSuite({ policyFile: file, policyText: nodeHost.readFile(file)!, testFiles: [] });
    expect(suite.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    expect(suite.results.length).toBeGreaterThanOrEqual(7);
    expect(suite.results.filter((r) => !r.passed).map((r) => r.test.name)).toEqual([]);
    for (const c of suite.coverage) expect({ id: c.id, fired: c.fired > 0, notFired: c.notFired > 0 }).toEqual({ id: c.id, fired: true, notFired: true });
  });

  it("explains an imported rule with its own file's text and line", () => {
    const c = compile({ "main.armor": 'default allow\nimport "./base.armor" as base\n', "base.armor": BASE });
    const { explanations } = evaluatePolicy(c.policy, { action: { type: "wire", amount: 20000, recipient: "x" } }, { explain: true });
    const text = explainRules(c.source, explanations, undefined, "", c.sources);
    expect(text).toContain(`rule base.big (require_approval, ${DIR}/base.armor:11): fired`);
    expect(text).toContain("amount > threshold  ->  true");
  });

  it("emits one self-contained module whose metadata names imported rules by their namespaced ids", () => {
    const c = compile({ "main.armor": 'default allow\nimport "./base.armor" as base\nimport "armor:secrets" as secrets\n', "base.armor": BASE });
    const { js } = emit(c);
    expect(js).not.toMatch(/\bimport\s*[("'{*]|require\(/);
    expect(js).toContain(JSON.stringify("secrets.no_secret_in_arguments"));
    expect(js).toContain(c.policy.sourceHash);
  });
});
