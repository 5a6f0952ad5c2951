/**
 * Hostile imports (docs/language.md §18): cycles, self-imports, paths that climb out of the
 * project, absolute paths, symbolic links out of the project, a huge imported file, prototype
 * names as namespaces and parameters, packs that do not exist and a chain of 1,000 imports.
 * Each is a diagnostic with a location, read from a real directory through the compiler's own
 * host, never an exception or a hang.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CompilerHost, compileSource, emit, nodeHost } from "../../packages/compiler/src/compile.js";
import { loadModule } from "../../packages/compiler/src/load.js";

const root = mkdtempSync(join(tmpdir(), "armor-imports-"));
const outside = mkdtempSync(join(tmpdir(), "armor-outside-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

writeFileSync(join(outside, "evil.armor"), "rule evil when true allow\n");
function project(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const chain = (n: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.armor`, i === n - 1 ? 'rule r when action.type == "x" deny\n' : `import "./f${i + 1}.armor" as f\n`]));

interface Case {
  name: string;
  files: Record<string, string>;
  /** Extra setup in the project's directory. */
  setup?: (dir: string) => void;
  /** The error codes, and the file (relative to the project) the first is reported in. */
  codes: string[];
  file: string;
}

const CASES: Case[] = [
  { name: "self-import", files: { "main.armor": 'default allow\nimport "./main.armor" as me\n' }, codes: ["A703"], file: "main.armor" },
  {
    name: "a cycle of three files",
    files: { "main.armor": 'default allow\nimport "./a.armor" as a\n', "a.armor": 'import "./b.armor" as b\n', "b.armor": 'import "./c.armor" as c\n', "c.armor": 'import "./a.armor" as a\n' },
    codes: ["A703"],
    file: "c.armor",
  },
  { name: "../../etc/passwd", files: { "main.armor": 'default allow\nimport "../../../../../../etc/passwd.armor" as p\n' }, codes: ["A702"], file: "main.armor" },
  { name: "a path that is not .armor", files: { "main.armor": 'default allow\nimport "./../../etc/passwd" as p\n' }, codes: ["A702"], file: "main.armor" },
  { name: "an absolute path", files: { "main.armor": 'default allow\nimport "/etc/passwd.armor" as p\n' }, codes: ["A702"], file: "main.armor" },
  { name: "a bare path", files: { "main.armor": 'default allow\nimport "base.armor" as p\n' }, codes: ["A702"], file: "main.armor" },
  {
    name: "a symbolic link out of the project",
    files: { "main.armor": 'default allow\nimport "./link.armor" as l\n' },
    setup: (dir) => symlinkSync(join(outside, "evil.armor"), join(dir, "link.armor")),
    codes: ["A702"],
    file: "main.armor",
  },
  {
    name: "a directory linked out of the project",
    files: { "main.armor": 'default allow\nimport "./shared/evil.armor" as l\n' },
    setup: (dir) => symlinkSync(outside, join(dir, "shared")),
    codes: ["A702"],
    file: "main.armor",
  },
  {
    name: "a huge imported file (17 MiB)",
    files: { "main.armor": 'default allow\nimport "./huge.armor" as h\n', "huge.armor": `// ${"x".repeat(17 * 1024 * 1024)}\n` },
    codes: ["A701"],
    file: "main.armor",
  },
  { name: "a FIFO-free directory named like a policy", files: { "main.armor": 'default allow\nimport "./dir.armor" as d\n', "dir.armor/x": "" }, codes: ["A701"], file: "main.armor" },
  { name: "a pack that does not exist", files: { "main.armor": 'default allow\nimport "armor:does-not-exist" as p\n' }, codes: ["A701"], file: "main.armor" },
  { name: "a pack name that climbs", files: { "main.armor": 'default allow\nimport "armor:../../package" as p\n' }, codes: ["A701"], file: "main.armor" },
  { name: "a pack name with a prototype's name", files: { "main.armor": 'default allow\nimport "armor:__proto__" as p\n' }, codes: ["A701"], file: "main.armor" },
  {
    name: "prototype names as namespaces",
    files: {
      "main.armor": 'default allow\nimport "./a.armor" as __proto__\nimport "./a.armor" as constructor\nrule q when action.type == "y" and name in constructor.L deny\n',
      "a.armor": 'let L = ["n"]\nrule r when action.type == "x" deny\n',
    },
    codes: [],
    file: "main.armor",
  },
  {
    name: "prototype names as parameters",
    files: {
      "main.armor": 'default allow\nimport "./a.armor" as a with { __proto__: 1, constructor: 2, toString: "x" }\n',
      "a.armor": 'param limit: number = 1\nrule r when action.type == "x" and amount > limit deny\n',
    },
    codes: ["A706", "A706", "A706"],
    file: "main.armor",
  },
  {
    name: "a parameter declared with a prototype's name",
    files: {
      "main.armor": 'default allow\nimport "./a.armor" as a with { constructor: 5 }\n',
      "a.armor": 'param constructor: number = 1\nrule r when action.type == "x" and amount > constructor deny\n',
    },
    codes: [],
    file: "main.armor",
  },
  {
    name: "an unknown parameter type",
    files: { "main.armor": 'default allow\nimport "./a.armor" as a\n', "a.armor": 'param p: object = 1\nrule r when action.type == "x" and amount > p deny\n' },
    codes: ["A706"],
    file: "a.armor",
  },
  {
    name: "a namespace that is an input root",
    files: { "main.armor": 'default allow\nimport "./a.armor" as action\n', "a.armor": 'rule r when action.type == "x" deny\n' },
    codes: ["A705"],
    file: "main.armor",
  },
  { name: "an import chain 1,000 deep", files: { "main.armor": 'default allow\nimport "./f0.armor" as f\n', ...chain(1000) }, codes: ["A704"], file: "f31.armor" },
];

describe("hostile imports", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (name, c) => {
    const dir = project(name.replace(/[^a-z0-9]+/gi, "-"), c.files);
    c.setup?.(dir);
    const started = Date.now();
    const compilation = compileSource(join(dir, "main.armor"), c.files["main.armor"]!);
    expect(Date.now() - started).toBeLessThan(20_000);
    const errors = compilation.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.code)).toEqual(c.codes);
    if (errors.length > 0) {
      expect(errors[0]!.file).toBe(join(dir, c.file));
      expect(errors[0]!.span.end).toBeGreaterThan(errors[0]!.span.start);
      expect(errors[0]!.help).toBeTruthy();
    } else {
      const module = await loadModule(emit(compilation).js);
      expect(module.decide({ action: { type: "x", amount: 9 } }).decision).toBe("deny");
    }
  });
});

describe("a link swapped between the check and the read", () => {
  it("does not merge the file outside the tree that the link points to when it is read", () => {
    const files = { "main.armor": 'default allow\nimport "./link.armor" as b\n', "inside.armor": 'rule ok when action.type == "x" deny\n' };
    const dir = project("swap-race", files);
    const link = join(dir, "link.armor");
    symlinkSync(join(dir, "inside.armor"), link);
    // the host resolves the link while it points inside, then an attacker swaps it out of the tree
    const host: CompilerHost = {
      ...nodeHost,
      readReal: nodeHost.readReal,
      realPath(path) {
        const real = nodeHost.realPath!(path);
        if (path === link) {
          unlinkSync(link);
          symlinkSync(join(outside, "evil.armor"), link);
        }
        return real;
      },
    };
    const compilation = compileSource(join(dir, "main.armor"), files["main.armor"], host);
    expect(compilation.policy.rules.map((r) => r.id)).not.toContain("b.evil");
    expect(compilation.files.map((f) => f.source.text)).not.toContain("rule evil when true allow\n");
    const errors = compilation.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.code)).toEqual(["A702"]);
    expect(errors[0]!.file).toBe(join(dir, "main.armor"));
  });
});

describe("an import graph's work is bounded", () => {
  const rules = (n: number) => Array.from({ length: n }, (_, i) => `rule r${i} when action.type == "t${i}" and action.x > ${i} deny\n`).join("");

  it("refuses the import that passes 16 MiB of imported text in all, each import of a file counted (A704)", () => {
    // 1.5 MiB, most of it one comment: 11 imports stay under 16 MiB, the 11th passes it
    const big = `// ${"x".repeat(1536 * 1024)}\nrule r when action.type == "x" deny\n`;
    const imports = Array.from({ length: 12 }, (_, i) => `import "./big.armor" as b${i}\n`).join("");
    const files = { "main.armor": `default allow\n${imports}`, "big.armor": big };
    const dir = project("budget", files);
    const compilation = compileSource(join(dir, "main.armor"), files["main.armor"]);
    const errors = compilation.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.code)).toEqual(["A704", "A704"]);
    expect(errors[0]!.file).toBe(join(dir, "main.armor"));
    expect(compilation.source.text.slice(errors[0]!.span.start, errors[0]!.span.end)).toBe('"./big.armor"');
    expect(compilation.source.positionAt(errors[0]!.span.start).line).toBe(11);
    expect(errors[0]!.message).toContain("16 MiB");
    expect(errors[0]!.help).toBeTruthy();
  });

  it("parses and checks a file imported many times with the same values once: eight imports of 2,000 rules in seconds", async () => {
    const imports = Array.from({ length: 8 }, (_, i) => `import "./mid.armor" as n${i}\n`).join("");
    const files = { "main.armor": `default allow\n${imports}import "./mid.armor" as other with { }\n`, "mid.armor": `default allow\n${rules(2000)}` };
    const dir = project("many-times", files);
    const started = Date.now();
    const compilation = compileSource(join(dir, "main.armor"), files["main.armor"]);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(compilation.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(compilation.policy.rules).toHaveLength(18_000);
    const module = await loadModule(emit(compilation).js);
    expect(module.decide({ action: { type: "t5", x: 9 } }).decision).toBe("deny");
    expect(module.decide({ action: { type: "t5", x: 1 } }).decision).toBe("allow");
  }, 60_000);

  it("keeps each import's own values and its nested imports when a file is imported again", () => {
    const files = {
      "main.armor": 'default allow\nimport "./p.armor" as a with { n: 1 }\nimport "./p.armor" as b with { n: 5 }\nimport "./p.armor" as c with { n: 1 }\n',
      "p.armor": 'param n: number = 0\nimport "./leaf.armor" as leaf\nrule big when action.type == "x" and action.x > n deny\n',
      "leaf.armor": 'rule l when action.type == "leaf" deny\n',
    };
    const dir = project("params-cache", files);
    const compilation = compileSource(join(dir, "main.armor"), files["main.armor"]);
    expect(compilation.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(compilation.policy.rules.map((r) => r.id)).toEqual(["a.leaf.l", "a.big", "b.leaf.l", "b.big", "c.leaf.l", "c.big"]);
    expect(compilation.imports.map((i) => i.namespace)).toEqual(["a", "a.leaf", "b", "b.leaf", "c", "c.leaf"]);
    expect(compilation.files.map((f) => f.name)).toEqual(["main.armor", "p.armor", "leaf.armor"]);
    const limits = compilation.policy.rules.filter((r) => r.id.endsWith(".big")).map((r) => JSON.stringify(r.condition));
    expect(limits[0]).toBe(limits[2]);
    expect(limits[0]).not.toBe(limits[1]);
  });
});
