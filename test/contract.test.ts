/**
 * The contract (@agent-armor/contract) is the one definition of the compiled module's types and
 * of the compiler interface the runtime loads `.armor` files through:
 * - the `.d.ts` that `armorc compile` writes declares exactly the contract's module types (same
 *   names, identical types) and module exports of exactly `PolicyModule`'s types;
 * - `@agent-armor/compiler` implements `CompilerApi`, and `loadPolicy` takes it as it is.
 * Both are checked by type-checking a small program with the TypeScript compiler (the package
 * builds first: `npm test` does).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/index.js";
import { repoRoot } from "./support/baseline.js";

const contractModule = join(repoRoot, "packages/contract/src/module.ts");
const dir = mkdtempSync(join(tmpdir(), "armor-contract-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The names a file exports as types (`export interface X`, `export type X`). */
function typeNames(text: string): string[] {
  return [...text.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]!).sort();
}

/** The names a declaration file exports as values (`export declare const|function X`). */
function valueNames(text: string): string[] {
  return [...text.matchAll(/^export declare (?:const|function) (\w+)/gm)].map((m) => m[1]!).sort();
}

/** Type-checks `files` (name -> text, in `dir`) and returns the diagnostics as text, `file(line): message`. */
function typeErrors(files: Record<string, string>): string[] {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const program = ts.createProgram(
    Object.keys(files).map((name) => join(dir, name)),
    options,
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName.slice(dir.length + 1)}(${d.file.getLineAndCharacterOfPosition(d.start).line + 1})` : "";
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

const policy = `policy p version "1"\ndefault deny\nrule r when action.type == "a" allow\n`;
const compilation = compileSource("p.armor", policy);
const dts = emit(compilation).dts;
const contractText = readFileSync(contractModule, "utf8");

/** `Equal<A, B>` is `true` only when A and B are identical (readonly and optional modifiers included). */
const EQUAL = "type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;";

describe("the emitted .d.ts is the contract", () => {
  it("declares the contract's module types, by the same names", () => {
    expect(compilation.ok).toBe(true);
    expect(typeNames(dts)).toEqual(typeNames(contractText).filter((n) => n !== "PolicyModule"));
    expect(valueNames(dts)).toEqual(["actionBranches", "actionSchema", "decide", "decideOutput", "decideResult", "policy", "trackers"]);
  });

  it("declares each of them identically, and exports exactly PolicyModule's members", () => {
    const names = typeNames(dts);
    const values = valueNames(dts);
    const check = [
      `import type * as C from ${JSON.stringify(contractModule.replace(/\.ts$/, ".js"))};`,
      'import type * as M from "./policy.js";',
      EQUAL,
      ...names.map((n) => `export const type_${n}: Equal<M.${n}, C.${n}> = true;`),
      // a module compiled before actionBranches existed lacks it: the contract has it optional
      ...values.map((v) => `export const value_${v}: Equal<typeof M.${v}, Exclude<C.PolicyModule["${v}"], undefined>> = true;`),
      `export const members: Equal<keyof C.PolicyModule, ${values.map((v) => JSON.stringify(v)).join(" | ")}> = true;`,
    ].join("\n");
    expect(typeErrors({ "policy.ts": dts, "check.ts": check })).toEqual([]);
  });

  it("fails the check when a declaration differs (the check can fail)", () => {
    const changed = dts.replace("matches(action: unknown, labels?: readonly string[]): boolean;", "matches(action: Record<string, unknown>, labels?: readonly string[]): boolean;");
    expect(changed).not.toBe(dts);
    const check = [
      `import type * as C from ${JSON.stringify(contractModule.replace(/\.ts$/, ".js"))};`,
      'import type * as M from "./policy.js";',
      EQUAL,
      "export const t: Equal<M.PolicyTracker, C.PolicyTracker> = true;",
    ].join("\n");
    expect(typeErrors({ "policy.ts": changed, "check.ts": check })).toEqual([expect.stringMatching(/^check\.ts\(4\): Type 'true' is not assignable to type 'false'/)]);
  });
});

describe("the compiler implements the contract's compiler interface", () => {
  it("is a CompilerApi as it is, and loadPolicy takes it", () => {
    const dist = (p: string) => JSON.stringify(join(repoRoot, p));
    const check = [
      `import * as compiler from ${dist("packages/compiler/dist/index.js")};`,
      `import type { CompilerApi } from ${dist("packages/contract/dist/index.js")};`,
      `import { loadPolicy } from ${dist("packages/runtime/dist/index.js")};`,
      "export const exact: CompilerApi<compiler.Compilation> = compiler;",
      "export const any: CompilerApi = compiler;",
      'export const loaded = loadPolicy({ source: "" }, { compiler });',
    ].join("\n");
    expect(typeErrors({ "compiler-api.ts": check })).toEqual([]);
  });
});
