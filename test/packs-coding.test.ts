/**
 * armor:coding (docs/packs/coding.md): the pack's own suite (coding.test.armor) passes and covers
 * every rule, run as `armorc test` runs it for the pack and for an importer; its parameters, as a
 * table of importers and decisions on which the compiled module and the interpreter agree; and
 * its generated list of near-miss package names is the generator's output.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileSource, emit, nodeHost } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { runSuite } from "../packages/compiler/src/testing/runner.js";

const { alternation, nearMisses, withList } = (await import("../scripts/pack-typosquats.mjs")) as {
  alternation: (names: string[]) => string;
  nearMisses: () => string[];
  withList: (text: string) => string;
};

const PACK = nodeHost.packFile!("coding")!;
const TESTS = PACK.replace(/\.armor$/, ".test.armor");

interface Case {
  importer: string;
  action: Record<string, unknown>;
  decision: string;
  rules: string[];
}

const CASES: Case[] = [
  { importer: "", action: { type: "write_file", path: "/workspace/a.ts" }, decision: "allow", rules: [] },
  { importer: 'with { workspace: "/srv/app/" }', action: { type: "write_file", path: "/workspace/a.ts" }, decision: "deny", rules: ["coding.write_outside_workspace"] },
  { importer: 'with { workspace: "/srv/app/" }', action: { type: "write_file", path: "/srv/app/a.ts" }, decision: "allow", rules: [] },
  // a workspace without its trailing slash would let /srv/application/ in: every write is refused instead
  { importer: 'with { workspace: "/srv/app" }', action: { type: "write_file", path: "/srv/app/a.ts" }, decision: "deny", rules: ["coding.write_outside_workspace"] },
  { importer: 'with { workspace: "srv/app/" }', action: { type: "write_file", path: "a.ts" }, decision: "deny", rules: ["coding.write_outside_workspace"] },
  { importer: 'with { protected_branches: ["trunk"] }', action: { type: "git_push", branch: "trunk", force: true }, decision: "deny", rules: ["coding.force_push_protected"] },
  { importer: 'with { protected_branches: ["trunk"] }', action: { type: "git_push", branch: "main", force: true }, decision: "allow", rules: [] },
  { importer: 'with { protected_prefixes: ["prod-"] }', action: { type: "git_push", branch: "PROD-eu", force: 1 }, decision: "deny", rules: ["coding.force_push_protected"] },
  { importer: 'with { allowed_packages: ["axois"] }', action: { type: "install_package", name: "axois" }, decision: "allow", rules: [] },
  { importer: "", action: { type: "install_package", name: "axois" }, decision: "require_approval", rules: ["coding.typosquat_package"] },
  { importer: 'with { shell_tools: ["terminal"] }', action: { type: "terminal", command: "rm -rf /" }, decision: "deny", rules: ["coding.destructive_shell"] },
  { importer: 'with { shell_tools: ["terminal"] }', action: { type: "shell", command: "rm -rf /" }, decision: "allow", rules: [] },
  { importer: 'with { git_push_tools: ["push"] }', action: { type: "push", branch: "master", force: true }, decision: "deny", rules: ["coding.force_push_protected"] },
  // a command that is not a string cannot be read: the rule errs and the decision denies
  { importer: "", action: { type: "shell", command: ["rm", "-rf", "/"] }, decision: "deny", rules: [] },
];

async function decideWith(importer: string, action: Record<string, unknown>) {
  const text = `default allow\nimport "armor:coding" as coding ${importer}\n`;
  const compilation = compileSource("/project/main.armor", text, { readFile: nodeHost.readFile, packFile: nodeHost.packFile });
  expect(compilation.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const module = await loadModule(emit(compilation).js);
  const compiled = module.decide({ action });
  const interpreted = evaluatePolicy(compilation.policy, { action }).result;
  expect(interpreted.decision).toBe(compiled.decision);
  expect(interpreted.rules.map((r) => r.id)).toEqual(compiled.rules.map((r) => r.id));
  return compiled;
}

describe("armor:coding", () => {
  it("passes its own suite, which fires and misses every rule", async () => {
    const suite = await runSuite({ policyFile: PACK, policyText: readFileSync(PACK, "utf8"), testFiles: [{ name: TESTS, text: readFileSync(TESTS, "utf8") }] });
    expect(suite.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    expect(suite.results.length).toBeGreaterThanOrEqual(30);
    expect(suite.results.filter((r) => !r.passed).map((r) => r.test.name)).toEqual([]);
    expect(suite.coverage.length).toBe(15);
    for (const c of suite.coverage) expect({ id: c.id, fired: c.fired > 0, notFired: c.notFired > 0 }).toEqual({ id: c.id, fired: true, notFired: true });
  });

  it("lists the pack among an importer's imports, so `armorc test` runs the pack's suite for it", async () => {
    const suite = await runSuite(
      { policyFile: "/project/main.armor", policyText: 'default deny\nimport "armor:coding" as coding\n', testFiles: [] },
      { host: { ...nodeHost, readFile: (p) => (p === "/project/main.armor" ? 'default deny\nimport "armor:coding" as coding\n' : nodeHost.readFile(p)) } },
    );
    expect(suite.imports).toEqual([PACK]);
  });

  it.each(CASES.map((c) => [`${c.importer || "defaults"}: ${JSON.stringify(c.action)}`, c] as const))("%s", async (_name, c) => {
    const d = await decideWith(c.importer, c.action);
    expect({ decision: d.decision, rules: d.rules.map((r) => r.id) }).toEqual({ decision: c.decision, rules: c.rules });
    if (c.rules.length === 0 && c.decision === "deny") expect(d.errors.map((e) => e.rule)).toContain("coding.destructive_shell");
  });

  it("ships the near-miss names its generator makes, none of them a popular name itself", () => {
    const text = readFileSync(PACK, "utf8");
    expect(withList(text)).toBe(text);
    const names = nearMisses();
    expect(names).toContain("lodahs");
    expect(names).not.toContain("lodash");
    expect(names).not.toContain("python_dateutil"); // PyPI's spelling of the same package
  });

  it("writes the names as one alternation with shared prefixes that matches exactly those names", () => {
    const names = [...new Set(nearMisses().map((n) => n.replace(/[-_.]+/g, "-")))];
    const listed = new Set(names);
    const pattern = new RegExp(`^(${alternation(names)})$`);
    const probes = names.flatMap((n) => [n, n.slice(0, -1), `${n}x`, n.slice(1), n.replaceAll("-", "_.")]);
    const wrong = probes.filter((p) => pattern.test(p) !== listed.has(p.replace(/[-_.]+/g, "-")));
    expect(wrong).toEqual([]);
    expect(alternation(["axios2", "axois", "axios3"])).toBe("ax(?:ios(?:2|3)|ois)");
  });
});
