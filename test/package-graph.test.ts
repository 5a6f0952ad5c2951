/**
 * The package graph: every package another package's source imports (statically, with
 * `import(...)`, or through a constant holding its name) is declared in that package's
 * package.json, and the workspace packages' declared dependencies only point down (no cycle).
 *
 * KNOWN lists the edges that break this, each with what removes it (none today). An entry that
 * no longer occurs fails the test, so the list only shrinks.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./support/baseline.js";

/** `package -> imported package` edges that are known to be wrong, and why they still exist. */
const KNOWN: Record<string, string> = {};

/** Modules a package may import without declaring them: Node's own, and the editor's API. */
const PROVIDED = new Set(["vscode"]);

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const packagesDir = join(repoRoot, "packages");
const ADAPTERS = ["@agent-armor/ai-sdk", "@agent-armor/langchain", "@agent-armor/openai-agents"];
const packages = readdirSync(packagesDir)
  .filter((d) => statSync(join(packagesDir, d, "package.json"), { throwIfNoEntry: false }) !== undefined)
  .map((d) => ({ dir: join(packagesDir, d), manifest: JSON.parse(readFileSync(join(packagesDir, d, "package.json"), "utf8")) as Manifest }));
const workspaceNames = new Set(packages.map((p) => p.manifest.name));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(?:ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or null for relative and `node:` ones. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return null;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** Every module specifier a file imports: import/export declarations, `import(...)`, `require(...)`, with constants resolved. */
export function importsOf(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const constants = new Map<string, string>();
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && ts.isStringLiteral(node.initializer)) constants.set(node.name.text, node.initializer.text);
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === "require"))) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg)) found.push(arg.text);
      else if (arg && ts.isIdentifier(arg)) found.push(`\0${arg.text}`);
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) found.push(node.argument.literal.text);
    ts.forEachChild(node, visit);
  };
  visit(file);
  // an identifier passed to import() is resolved to the string constant of that name, when there is one
  return found.flatMap((s) => (s.startsWith("\0") ? (constants.has(s.slice(1)) ? [constants.get(s.slice(1))!] : []) : [s]));
}

function violations(): string[] {
  const out = new Set<string>();
  for (const { dir, manifest } of packages) {
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})]);
    for (const path of sourceFiles(join(dir, "src"))) {
      for (const specifier of importsOf(path, readFileSync(path, "utf8"))) {
        const target = packageOf(specifier);
        if (target === null || target === manifest.name || PROVIDED.has(target) || declared.has(target)) continue;
        out.add(`${manifest.name} -> ${target} (undeclared)`);
      }
    }
  }
  // cycles among the workspace packages' declared dependencies
  const edges = new Map(
    packages.map(({ manifest }) => [manifest.name, Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies }).filter((d) => workspaceNames.has(d))]),
  );
  for (const start of workspaceNames) {
    const walk = (name: string, path: string[]): void => {
      for (const next of edges.get(name) ?? []) {
        if (next === start) out.add(`cycle ${[...path, next].join(" -> ")}`);
        else if (!path.includes(next) && next > start) walk(next, [...path, next]);
      }
    };
    walk(start, [start]);
  }
  return [...out].sort();
}

describe("the package graph", () => {
  const found = violations();
  it("has no undeclared import and no cycle beyond the known ones", () => {
    expect(found.filter((v) => !(v in KNOWN))).toEqual([]);
  });
  it.each(Object.keys(KNOWN))("still has the known violation %s (remove the entry once it is gone)", (v) => {
    expect(found).toContain(v);
  });
  it("keeps the contract free of dependencies of any kind", () => {
    const contract = packages.find((p) => p.manifest.name === "@agent-armor/contract")!.manifest as Manifest & { devDependencies?: Record<string, string> };
    expect({ ...contract.dependencies, ...contract.peerDependencies, ...contract.optionalDependencies, ...contract.devDependencies }).toEqual({});
    const imported = sourceFiles(join(packagesDir, "contract", "src")).flatMap((path) => importsOf(path, readFileSync(path, "utf8")));
    expect(imported.filter((s) => !s.startsWith("."))).toEqual([]);
  });
  // where each package sits: what it must never depend on (declared, or imported in its sources)
  const FORBIDDEN: [string, string[]][] = [
    ["@agent-armor/compiler", ["@agent-armor/runtime", "@agent-armor/analysis", "@agent-armor/gateway", "@agent-armor/lsp", "@agent-armor/cli"]],
    ["@agent-armor/runtime", ["@agent-armor/analysis", "@agent-armor/gateway", "@agent-armor/lsp", "@agent-armor/cli", "@agent-armor/store-redis", "@agent-armor/sandbox"]],
    // the solver's WebAssembly loads only for the commands that analyse
    ["@agent-armor/analysis", ["@agent-armor/runtime", "@agent-armor/gateway", "@agent-armor/lsp", "@agent-armor/cli"]],
    // a store sits beside the runtime: the runtime's core knows only its interface
    ["@agent-armor/store-redis", ["@agent-armor/compiler", "@agent-armor/analysis", "@agent-armor/gateway", "@agent-armor/lsp", "@agent-armor/cli"]],
    // the sandbox runs code under the runtime's public API; the WebAssembly engine loads only where code runs
    ["@agent-armor/sandbox", ["@agent-armor/compiler", "@agent-armor/analysis", "@agent-armor/gateway", "@agent-armor/lsp", "@agent-armor/cli", ...ADAPTERS]],
    ["@agent-armor/gateway", ["@agent-armor/lsp", "@agent-armor/cli"]],
    ["@agent-armor/lsp", ["@agent-armor/runtime", "@agent-armor/gateway", "@agent-armor/cli"]],
    // a framework adapter stands on the runtime's public API and its framework alone
    ...ADAPTERS.map((name): [string, string[]] => [
      name,
      ["@agent-armor/compiler", "@agent-armor/analysis", "@agent-armor/gateway", "@agent-armor/lsp", "@agent-armor/cli", ...ADAPTERS.filter((a) => a !== name)],
    ]),
  ];
  it.each(FORBIDDEN)("keeps %s off %j", (name, forbidden) => {
    const { dir, manifest } = packages.find((p) => p.manifest.name === name)!;
    const declared = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies });
    const imported = sourceFiles(join(dir, "src")).flatMap((path) => importsOf(path, readFileSync(path, "utf8")).map(packageOf));
    expect([...declared, ...imported].filter((d) => d !== null && forbidden.includes(d))).toEqual([]);
  });
  it("has nothing above the command line", () => {
    expect(packages.filter((p) => "@agent-armor/cli" in { ...p.manifest.dependencies, ...p.manifest.peerDependencies, ...p.manifest.optionalDependencies }).map((p) => p.manifest.name)).toEqual([]);
  });
  it("finds imports of every kind, through constants too", () => {
    const text = [
      'import a from "pkg-a";',
      'import type { B } from "@scope/b/sub.js";',
      'export { c } from "pkg-c";',
      'const NAME = "pkg-d";',
      "await import(NAME);",
      'await import("node:fs");',
      'require("pkg-e");',
      'type F = typeof import("pkg-f");',
      'const s = `rule r when x deny from "not-an-import"`;',
    ].join("\n");
    expect(importsOf("x.ts", text).map(packageOf)).toEqual(["pkg-a", "@scope/b", "pkg-c", "pkg-d", null, "pkg-e", "pkg-f"]);
  });
  it("reads the sources of every package", () => {
    expect(packages.map((p) => relative(repoRoot, p.dir)).sort()).toEqual([
      "packages/adapter-ai-sdk",
      "packages/adapter-langchain",
      "packages/adapter-openai-agents",
      "packages/analysis",
      "packages/cli",
      "packages/compiler",
      "packages/contract",
      "packages/gateway",
      "packages/lsp",
      "packages/runtime",
      "packages/sandbox",
      "packages/store-redis",
      "packages/vscode-extension",
    ]);
  });
});
