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
import { dirname, isAbsolute, resolve } from "node:path";
import { type EmitOptions, type EmitOutput, emitModule } from "./codegen/emit.js";
import { catalog } from "./diagnostics/catalog.js";
import { type Diagnostic, DiagnosticBag, hasErrors, reportedDiagnostics } from "./diagnostics/diagnostic.js";
import type * as IR from "./ir.js";
import { readRegularFile } from "./read-file.js";
import { analyzeRules } from "./semantic/analysis.js";
import { baseName, checkFile, type SemanticModel } from "./semantic/checker.js";
import { lineIds } from "./semantic/rule-id.js";
import { type ActionSchema, loadActionSchema } from "./semantic/schema.js";
import type { FileNode, TestDecl } from "./syntax/ast.js";
import { type ParseResult, parse } from "./syntax/parse.js";
import { SourceFile } from "./syntax/source.js";
import { buildTestCases, type TestCase } from "./testing/cases.js";
import { VERSION } from "./version.js";

/** How the compiler reads files other than the policy itself (the schema). */
export interface CompilerHost {
  /** Returns the file's text, or `undefined` when it cannot be read. */
  readFile(path: string): string | undefined;
  /**
   * Why this host will not read `path` at all (an editor reads a schema only inside its workspace
   * folders), or null; the reason becomes the diagnostic. Absent: every path may be read.
   */
  refuse?(path: string): string | null;
}

export const nodeHost: CompilerHost = {
  readFile(path) {
    const read = readRegularFile(path);
    return read !== undefined && "text" in read ? read.text : undefined;
  },
};

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
}

/**
 * Compiles a policy. `previous`, an earlier compilation of the same file (an editor re-checking
 * after an edit), lets the parser reuse the items whose text did not change; the result is the
 * same as without it.
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

  const checked = checkFile({ ast: parsed.ast, source, schema, bag });
  const errorsSoFar = hasErrors(parsed.diagnostics) || hasErrors(bag.items);
  if (!errorsSoFar) analyzeRules(checked.policy, bag);
  const diagnostics = reportedDiagnostics(fileName, [...parsed.diagnostics, ...bag.items]);
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
  };
}

export interface TestFileCompilation {
  readonly source: SourceFile;
  readonly ast: FileNode;
  readonly tests: readonly TestCase[];
  readonly diagnostics: readonly Diagnostic[];
  readonly ok: boolean;
  /** The syntax stage's result, which a later compilation of the same file can start from. */
  readonly syntax: ParseResult;
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
    if (item.kind !== "test") {
      bag.report(catalog.testInvalidStep, item.span, `a test file holds only tests, not \`${item.kind}\``, {
        help: `move it to ${policy.source.name}`,
      });
    }
  }
  const tests = buildTestCases(
    parsed.ast.items.filter((i): i is TestDecl => i.kind === "test"),
    fileName,
    {
      bag,
      rules: new Set(policy.model.rules.keys()),
      lineIds: lineIds(baseName(policy.source.name), policy.model.rules.values(), (offset) => policy.source.positionAt(offset).line + 1),
      schema: policy.schema,
      lineOf: (offset) => source.positionAt(offset).line + 1,
    },
  );
  const diagnostics = reportedDiagnostics(fileName, [...parsed.diagnostics, ...bag.items]);
  return { source, ast: parsed.ast, tests, diagnostics, ok: !hasErrors(diagnostics), syntax: parsed };
}

/** Emits the decision module of an error-free compilation. */
export function emit(compilation: Compilation, options: EmitOptions = {}): EmitOutput {
  if (!compilation.ok) throw new Error("cannot emit a policy with errors");
  return emitModule(compilation.policy, { compilerVersion: VERSION, ...options });
}
