/**
 * One analysis per (document, version): the compiler's result for the document, computed once
 * and shared by every feature. A policy is compiled with `compileSource`; a `.test.armor` file
 * with `compileTests` against its sibling policy (open or on disk). A broken file still has an
 * analysis: the compiler returns an AST with holes and a semantic model of what it understood.
 */
import { type Compilation, catalog, compileSource, compileTests, type Diagnostic, docsAnchor, type ParseResult, type SourceFile, type TestFileCompilation } from "@agent-armor/compiler";
import { type Documents, isTestFile, policyUriOf, testUriOf, uriToPath } from "./documents.js";

export interface PolicyAnalysis {
  readonly kind: "policy";
  readonly uri: string;
  readonly version: number | null;
  readonly text: string;
  readonly source: SourceFile;
  readonly compilation: Compilation;
  /** The syntax stage's result: the file's tokens, for semantic tokens. */
  readonly syntax: ParseResult;
  readonly ast: Compilation["ast"];
  readonly diagnostics: readonly Diagnostic[];
}

export interface TestAnalysis {
  readonly kind: "tests";
  readonly uri: string;
  readonly version: number | null;
  readonly text: string;
  readonly source: SourceFile;
  /** The policy under test; `null` when there is no `NAME.armor` beside the file. */
  readonly policy: PolicyAnalysis | null;
  /** `null` without a policy (the file is then only parsed). */
  readonly tests: TestFileCompilation | null;
  /** The syntax stage's result: the file's tokens, for semantic tokens. */
  readonly syntax: ParseResult;
  readonly ast: TestFileCompilation["ast"];
  readonly diagnostics: readonly Diagnostic[];
}

export type Analysis = PolicyAnalysis | TestAnalysis;

/** What a feature may ask about other files than its own document. */
export interface Project {
  analysis(uri: string): Analysis | undefined;
  /** The policy a document belongs to: itself, or the policy beside a test file. */
  policyOf(analysis: Analysis): PolicyAnalysis | null;
  /** The test file beside a policy, analysed against it, when it exists. */
  testsOf(policy: PolicyAnalysis): TestAnalysis | null;
  readonly docsBaseUrl: string | null;
}

/** `previous`: the document's last analysis, whose unchanged items the parser reuses. */
function policyAnalysis(uri: string, version: number | null, text: string, documents: Documents, previous: PolicyAnalysis | undefined): PolicyAnalysis {
  const compilation = compileSource(uriToPath(uri), text, documents.host(uriToPath(uri)), previous?.compilation);
  return { kind: "policy", uri, version, text, source: compilation.source, compilation, syntax: compilation.syntax, ast: compilation.ast, diagnostics: compilation.diagnostics };
}

function testAnalysis(uri: string, version: number | null, text: string, policy: PolicyAnalysis | null, previous: TestAnalysis | undefined): TestAnalysis {
  const path = uriToPath(uri);
  if (policy === null) {
    const empty = compileTests(path, text, compileSource(`${path}.policy.armor`, "default deny\n", { readFile: () => undefined }));
    const missing: Diagnostic = {
      code: catalog.testWithoutPolicy.code,
      name: catalog.testWithoutPolicy.name,
      severity: catalog.testWithoutPolicy.severity,
      message: `there is no policy \`${uriToPath(policyUriOf(uri)).split(/[\\/]/).pop()}\` beside this test file`,
      help: "a `NAME.test.armor` file tests the policy `NAME.armor` in the same folder",
      file: path,
      span: { start: 0, end: 0 },
      docs: docsAnchor(catalog.testWithoutPolicy),
    };
    const syntax = empty.diagnostics.filter((d) => d.code.startsWith("A1"));
    return { kind: "tests", uri, version, text, source: empty.source, policy, tests: null, syntax: empty.syntax, ast: empty.ast, diagnostics: [missing, ...syntax] };
  }
  const tests = compileTests(path, text, policy.compilation, previous?.tests ?? undefined);
  return { kind: "tests", uri, version, text, source: tests.source, policy, tests, syntax: tests.syntax, ast: tests.ast, diagnostics: tests.diagnostics };
}

/** The cache: one analysis per URI, replaced when the document's text (or its policy) changes. */
export class Analyses implements Project {
  private readonly cache = new Map<string, Analysis>();
  /** How long the last re-check took, for logging and the benchmark. */
  lastCheckMs = 0;

  constructor(
    private readonly documents: Documents,
    readonly docsBaseUrl: string | null,
  ) {}

  analysis(uri: string): Analysis | undefined {
    const doc = this.documents.get(uri);
    if (!doc) {
      this.cache.delete(uri);
      return undefined;
    }
    const cached = this.cache.get(uri);
    if (isTestFile(uri)) {
      const policy = this.policyAnalysis(policyUriOf(uri));
      if (cached && cached.kind === "tests" && cached.text === doc.text && cached.policy === policy) return this.sameText(uri, cached, doc.version);
      const fresh = testAnalysis(uri, doc.version, doc.text, policy, cached?.kind === "tests" ? cached : undefined);
      this.cache.set(uri, fresh);
      return fresh;
    }
    if (cached && cached.text === doc.text) return this.sameText(uri, cached, doc.version);
    const started = performance.now();
    const fresh = policyAnalysis(uri, doc.version, doc.text, this.documents, cached?.kind === "policy" ? cached : undefined);
    this.lastCheckMs = performance.now() - started;
    this.cache.set(uri, fresh);
    return fresh;
  }

  /** The same text under a new version (opened after being read from disk, or an edit undone): no re-check. */
  private sameText<T extends Analysis>(uri: string, cached: T, version: number | null): T {
    if (cached.version === version) return cached;
    const renewed = { ...cached, version };
    this.cache.set(uri, renewed);
    return renewed;
  }

  private policyAnalysis(uri: string): PolicyAnalysis | null {
    const a = this.analysis(uri);
    return a?.kind === "policy" ? a : null;
  }

  policyOf(analysis: Analysis): PolicyAnalysis | null {
    return analysis.kind === "policy" ? analysis : analysis.policy;
  }

  testsOf(policy: PolicyAnalysis): TestAnalysis | null {
    const a = this.analysis(testUriOf(policy.uri));
    return a?.kind === "tests" ? a : null;
  }

  /** The analysis computed last for `uri`, without computing one. */
  cached(uri: string): Analysis | undefined {
    return this.cache.get(uri);
  }

  forget(uri: string): void {
    this.cache.delete(uri);
  }
}
