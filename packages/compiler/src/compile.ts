/**
 * The pipeline, as an ordered list of stages. Every tool (the CLI, the test runner, the language
 * server, the runtime's on-load compilation) goes through `compileSource`; there is no other path
 * from text to a decision function.
 *
 *   parse      text → tokens → CST → AST                 (syntax/parse.ts)
 *   schema     `schema "file.json"` → action types        (semantic/schema.ts; needs the AST)
 *   check      AST → checked IR, names and types          (semantic/checker.ts; needs the schema)
 *   analyze    IR → never-firing and shadowed rules       (semantic/analysis.ts; only on error-free IR)
 *   emit       IR → JavaScript module                     (codegen/emit.ts; only without errors)
 */
import { createHash } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type EmitOptions, type EmitOutput, emitModule } from "./codegen/emit.js";
import { catalog } from "./diagnostics/catalog.js";
import { type Diagnostic, DiagnosticBag, hasErrors, reportedDiagnostics } from "./diagnostics/diagnostic.js";
import { type ImportHost, type PolicyFile, type ResolvedImport, resolveImports } from "./imports.js";
import type * as IR from "./ir.js";
import { renumberProperty, renumberRegex, renumberTracker } from "./ir-renumber.js";
import { readRegularFile, readRegularFileReal } from "./read-file.js";
import { analyzeRules } from "./semantic/analysis.js";
import { baseName, type CheckInput, checkFile, type SemanticModel } from "./semantic/checker.js";
import type { RuleCache } from "./semantic/rule-cache.js";
import { lineIds } from "./semantic/rule-id.js";
import { type ActionSchema, loadActionSchema } from "./semantic/schema.js";
import type { FileNode, PropertyDecl, TestDecl } from "./syntax/ast.js";
import { type ParseResult, parse } from "./syntax/parse.js";
import { SourceFile } from "./syntax/source.js";
import { buildTestCases, type TestCase } from "./testing/cases.js";
import { VERSION } from "./version.js";

/**
 * How the compiler reads files other than the policy itself (the schema, imported files and
 * packs): the one interface through which the CLI, the runtime and the language server (with
 * unsaved text) supply them.
 */
export interface CompilerHost extends ImportHost {
  /** Returns the file's text, or `undefined` when it cannot be read. */
  readFile(path: string): string | undefined;
  /**
   * Why this host will not read `path` at all (an editor reads a schema only inside its workspace
   * folders), or null; the reason becomes the diagnostic. Absent: every path may be read.
   */
  refuse?(path: string): string | null;
}

/**
 * The packs that ship with the compiler: `packs/NAME.armor` beside `dist/`, found from this
 * module, or through the package's `./packs/*` export when this code runs from a bundle.
 */
function packFile(name: string): string | undefined {
  const beside = fileURLToPath(new URL(`../packs/${name}.armor`, import.meta.url));
  if (existsSync(beside)) return beside;
  try {
    return createRequire(import.meta.url).resolve(`@agent-armor/compiler/packs/${name}.armor`);
  } catch {
    return beside;
  }
}

export const nodeHost: CompilerHost = {
  readFile(path) {
    const read = readRegularFile(path);
    return read !== undefined && "text" in read ? read.text : undefined;
  },
  packFile,
  realPath(path) {
    try {
      return realpathSync(path);
    } catch {
      return undefined;
    }
  },
};
// Not enumerable: a host made as `{ ...nodeHost, readFile }` reads imported files through its
// own `readFile`, not through this one, which would bypass it.
Object.defineProperty(nodeHost, "readReal", {
  enumerable: false,
  value: (path: string) => {
    const read = readRegularFileReal(path);
    return read !== undefined && "text" in read ? read : undefined;
  },
});

/**
 * The source hash of a policy in many files: SHA-256 over one line per file, in import order
 * (the root first), `SHA256(CONTENT) NAME\n`, where NAME is the file's path relative to the root
 * policy's directory (`armor:NAME` for a pack). A policy in one file keeps SHA256(CONTENT).
 */
export function policySourceHash(files: readonly { readonly name: string; readonly source: SourceFile }[]): string {
  if (files.length === 1) return sha256(files[0]!.source.text);
  return sha256(files.map((f) => `${sha256(f.source.text)} ${f.name}\n`).join(""));
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export interface Compilation {
  readonly source: SourceFile;
  readonly ast: FileNode;
  readonly schema: ActionSchema | null;
  /** Absolute or host path of the schema file, when the policy names one. */
  readonly schemaPath: string | null;
  readonly model: SemanticModel;
  /** The checked IR; present even with errors (for tools), but only emit it without errors. */
  readonly policy: IR.Policy;
  readonly diagnostics: readonly Diagnostic[];
  readonly ok: boolean;
  /** The policy file's own tests (tests in a `.test.armor` file come from `compileTests`). */
  readonly tests: readonly TestCase[];
  /** The syntax stage's result, which a later compilation of the same file can start from. */
  readonly syntax: ParseResult;
  /** Every file of the policy: the root first, then the imported files in import order, each once. */
  readonly files: readonly PolicyFile[];
  /** The imports of every file, resolved. */
  readonly imports: readonly ResolvedImport[];
  /** The text of every file, by path, for rendering diagnostics that belong to imported files. */
  readonly sources: ReadonlyMap<string, SourceFile>;
  /** What the root file was checked with from its imports, so that a test file's properties are checked with the same names. */
  readonly rootScope: RootScope;
  /** What checking each rule did, which a later compilation of the same file takes over for the rules that did not change; null for a file that imports. */
  readonly ruleCache: RuleCache | null;
}

/** The lets and rule ids of a root's imports, as its checker saw them. */
export interface RootScope {
  readonly imported: NonNullable<CheckInput["imported"]>;
  readonly importedRules: ReadonlySet<string>;
}

/**
 * Compiles a policy. `previous`, an earlier compilation of the same file (an editor re-checking
 * after an edit), lets the parser reuse the items whose text did not change and the checker take
 * over the rules among them that read nothing that changed; the result is the same as without it.
 */
export function compileSource(fileName: string, text: string, host: CompilerHost = nodeHost, previous?: Compilation): Compilation {
  const source = new SourceFile(fileName, text);
  const parsed = parse(fileName, text, previous?.syntax);
  const bag = new DiagnosticBag(fileName);

  let schema: ActionSchema | null = null;
  let schemaPath: string | null = null;
  const schemaDecl = parsed.ast.items.find((i) => i.kind === "schema");
  if (schemaDecl?.kind === "schema" && schemaDecl.path) {
    const named = schemaDecl.path.value;
    schemaPath = isAbsolute(named) ? named : resolve(dirname(fileName), named);
    const refused = host.refuse?.(schemaPath) ?? null;
    const schemaText = refused === null ? host.readFile(schemaPath) : undefined;
    if (refused !== null) {
      bag.report(catalog.schemaNotFound, schemaDecl.path.span, `the schema \`${named}\` is not read: ${refused}`, {
        help: "move the schema inside the workspace, or open the folder that holds both the policy and its schema",
      });
    } else if (schemaText === undefined) {
      bag.report(catalog.schemaNotFound, schemaDecl.path.span, `cannot read the schema \`${named}\``, {
        help: "the path is relative to the policy file; check that the file exists",
      });
    } else {
      const loaded = loadActionSchema(named, schemaText);
      if (loaded.ok) {
        schema = loaded.schema;
        if (schema.types.size === 0) {
          bag.report(catalog.schemaNoActionTypes, schemaDecl.path.span, `the schema \`${named}\` names no action types`, {
            help: 'describe each action as an object schema with `"properties": { "type": { "const": "name" } }`, under `oneOf`',
          });
        }
      } else {
        bag.report(loaded.problem === "invalid-json" ? catalog.schemaInvalidJson : catalog.schemaInvalid, schemaDecl.path.span, loaded.message, { help: loaded.help });
      }
    }
  }

  const rootFile: PolicyFile = { path: fileName, name: baseName(fileName), source, syntax: parsed };
  if (!parsed.ast.items.some((i) => i.kind === "import" || i.kind === "override" || i.kind === "disable")) {
    const checked = checkFile({ ast: parsed.ast, source, schema, bag, previous: previous?.ruleCache ?? null });
    const errorsSoFar = hasErrors(parsed.diagnostics) || hasErrors(bag.items);
    if (!errorsSoFar) analyzeRules(checked.policy, bag);
    const diagnostics = reportedDiagnostics(fileName, [...parsed.diagnostics, ...bag.items]);
    const sources = new Map([[fileName, source]]);
    return {
      source,
      ast: parsed.ast,
      schema,
      schemaPath,
      model: checked.model,
      policy: checked.policy,
      diagnostics,
      ok: !hasErrors(diagnostics),
      tests: checked.tests,
      syntax: parsed,
      files: [rootFile],
      imports: [],
      sources,
      rootScope: { imported: new Map(), importedRules: new Set() },
      ruleCache: checked.ruleCache,
    };
  }
  let rootScope: RootScope = { imported: new Map(), importedRules: new Set() };
  const resolved = resolveImports({ path: fileName, source, syntax: parsed }, host, schema, (imported, importedRules) => {
    rootScope = { imported, importedRules };
    return checkFile({ ast: parsed.ast, source, schema, bag, imported, importedRules });
  });
  const policy: IR.Policy = { ...resolved.policy, sourceHash: policySourceHash(resolved.files) };
  const all = [...parsed.diagnostics, ...bag.items, ...resolved.diagnostics];
  if (!hasErrors(all)) analyzeByFile(policy, fileName, all);
  const diagnostics = reportedDiagnostics(fileName, all);
  return {
    source,
    ast: parsed.ast,
    schema,
    schemaPath,
    model: resolved.root.model,
    policy,
    diagnostics,
    ok: !hasErrors(diagnostics),
    tests: resolved.root.tests,
    syntax: parsed,
    files: resolved.files,
    imports: resolved.imports,
    sources: new Map(resolved.files.map((f) => [f.path, f.source])),
    rootScope,
    ruleCache: null,
  };
}

/** Rule analysis of a policy in many files, each file's rules on their own, reported in their file. */
function analyzeByFile(policy: IR.Policy, root: string, into: Diagnostic[]): void {
  const byFile = new Map<string, IR.Rule[]>();
  for (const r of policy.rules) {
    const file = r.file ?? root;
    // appended in place: copying the list per rule made a policy of many imported rules quadratic
    const rules = byFile.get(file);
    if (rules === undefined) byFile.set(file, [r]);
    else rules.push(r);
  }
  for (const [file, rules] of byFile) {
    const fileBag = new DiagnosticBag(file);
    analyzeRules({ ...policy, rules }, fileBag);
    // a file whose every rule was disabled has no rules here; that is the importer's choice
    into.push(...fileBag.items.filter((d) => d.code !== catalog.noRules.code || file === root));
  }
}

export interface TestFileCompilation {
  readonly source: SourceFile;
  readonly ast: FileNode;
  readonly tests: readonly TestCase[];
  readonly diagnostics: readonly Diagnostic[];
  readonly ok: boolean;
  /** The syntax stage's result, which a later compilation of the same file can start from. */
  readonly syntax: ParseResult;
  /**
   * The policy under test with this file's `property` items as its properties (their trackers and
   * regexes numbered after the policy's), to be proved against it; null when the file states
   * none or they do not check. Its rules, trackers and module are the policy's.
   */
  readonly propertyPolicy: IR.Policy | null;
}

/**
 * Checks a `.test.armor` file against the policy it tests: its `by` names resolve to the
 * policy's rules, its actions are checked against the policy's schema. A test file holds only
 * tests (and comments); anything else in it is reported. `previous`, as for `compileSource`.
 */
export function compileTests(fileName: string, text: string, policy: Compilation, previous?: TestFileCompilation): TestFileCompilation {
  const source = new SourceFile(fileName, text);
  const parsed = parse(fileName, text, previous?.syntax);
  const bag = new DiagnosticBag(fileName);
  for (const item of parsed.ast.items) {
    if (item.kind !== "test" && item.kind !== "property") {
      bag.report(catalog.testInvalidStep, item.span, `a test file holds only tests and properties, not \`${item.kind}\``, {
        help: `move it to ${policy.source.name}`,
      });
    }
  }
  const tests = buildTestCases(
    parsed.ast.items.filter((i): i is TestDecl => i.kind === "test"),
    fileName,
    {
      bag,
      rules: new Set([...policy.model.rules.keys(), ...policy.policy.rules.map((r) => r.id)]),
      lineIds: lineIds(baseName(policy.source.name), policy.model.rules.values(), (offset) => policy.source.positionAt(offset).line + 1),
      schema: policy.schema,
      lineOf: (offset) => source.positionAt(offset).line + 1,
    },
  );
  const properties = parsed.ast.items.filter((i): i is PropertyDecl => i.kind === "property");
  const propertyPolicy = properties.length > 0 ? testFileProperties(policy, properties, source, bag) : null;
  const diagnostics = reportedDiagnostics(fileName, [...parsed.diagnostics, ...bag.items]);
  const ok = !hasErrors(diagnostics);
  return { source, ast: parsed.ast, tests, diagnostics, ok, syntax: parsed, propertyPolicy: ok && policy.ok ? propertyPolicy : null };
}

/**
 * A test file's properties, checked with the names of the policy under test (its root file
 * checked again, with the same imports' names, and the properties after its own), joined to the
 * policy: the root's own numbering mapped into the merged policy's, where the root's rule
 * trackers come first, its property trackers first after every rule tracker, and its regexes first.
 */
function testFileProperties(c: Compilation, items: readonly PropertyDecl[], source: SourceFile, bag: DiagnosticBag): IR.Policy | null {
  const again = checkFile({ ast: c.ast, source: c.source, schema: c.schema, bag: new DiagnosticBag(c.source.name), ...c.rootScope, extraProperties: { items, source, bag } });
  const extra = again.extra;
  if (extra === null) return null;
  const ownRules = again.policy.trackers.length;
  const merged = c.policy;
  const ruleTrackers = merged.trackers.length;
  const mergedTrackers = ruleTrackers + merged.propertyTrackers.length;
  const n = {
    regex: (i: number) => (i < extra.regexesFrom ? i : merged.regexes.length + i - extra.regexesFrom),
    tracker: (i: number) => (i < ownRules ? i : i < extra.trackersFrom ? ruleTrackers + i - ownRules : mergedTrackers + i - extra.trackersFrom),
  };
  return {
    ...merged,
    properties: extra.properties.map((p) => renumberProperty(p, n)),
    regexes: [...merged.regexes, ...extra.regexes.map((r) => renumberRegex(r, n))],
    propertyTrackers: [...merged.propertyTrackers, ...extra.trackers.map((t) => renumberTracker(t, n))],
  };
}

/** Emits the decision module of an error-free compilation. */
export function emit(compilation: Compilation, options: EmitOptions = {}): EmitOutput {
  if (!compilation.ok) throw new Error("cannot emit a policy with errors");
  return emitModule(compilation.policy, { compilerVersion: VERSION, ...options });
}
