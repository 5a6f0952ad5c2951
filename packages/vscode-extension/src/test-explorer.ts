/**
 * Policy tests in VS Code's Test Explorer (the testing API). Tests are discovered from the
 * language server's document symbols (every `test` block of a `.armor` or `.test.armor` file;
 * the server reads a file that is not open from disk, so discovery opens no documents),
 * grouped under the policy they test, and found again when a file changes on disk or in an
 * editor. A run asks the server's `armor.runTests` for the suite of each policy involved (the
 * runner of `armorc test`, on the editors' unsaved text) and reports each test: passed, or
 * failed with its expectations against the decision it got as a diff, the explanation, and the
 * test's location. The coverage profile shows, on each rule's line, in how many tests it fired.
 */
import type { SuiteReport } from "@agent-armor/lsp";
import * as vscode from "vscode";

/** Runs a command of the language server; `undefined` when it is not running or fails (after saying why). */
export type ServerCommand = <T>(command: string, args: unknown[]) => Promise<T | undefined>;

/** A document symbol as the server sends it (LSP positions). */
export interface ServerSymbol {
  readonly name: string;
  readonly kind: number;
  readonly detail?: string;
  readonly range: { readonly start: { line: number; character: number }; readonly end: { line: number; character: number } };
}

/** The server's document symbols of a file (open or on disk); `undefined` when the server is not running. */
export type ServerSymbols = (uri: vscode.Uri) => Promise<readonly ServerSymbol[] | undefined>;

/** LSP's SymbolKind.Event, which the server gives tests. */
const EVENT = 24;

const TEST_FILE = /\.test\.armor$/;

function policyUriOf(uri: vscode.Uri): vscode.Uri {
  return uri.with({ path: uri.path.replace(TEST_FILE, ".armor") });
}

/** A test's id: its file and its name (VS Code refuses ids with U+0000, which it uses itself). */
function testId(file: vscode.Uri, name: string): string {
  return `${file.toString()}#${encodeURIComponent(name)}`;
}

export class PolicyTests implements vscode.Disposable {
  private readonly controller = vscode.tests.createTestController("agentArmor.policyTests", "Agent Armor policy tests");
  private readonly disposables: vscode.Disposable[] = [this.controller];
  private readonly details = new WeakMap<vscode.FileCoverage, vscode.StatementCoverage[]>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly parents = new Map<string, vscode.TestItem>();

  constructor(
    private readonly server: ServerCommand,
    private readonly symbols: ServerSymbols,
    private readonly log: (line: string) => void,
  ) {
    this.controller.resolveHandler = async (item) => {
      if (item === undefined) await this.discoverAll();
    };
    this.controller.refreshHandler = () => this.discoverAll();
    this.controller.createRunProfile("Run", vscode.TestRunProfileKind.Run, (request, token) => this.run(request, token, false), true);
    const coverage = this.controller.createRunProfile("Run with Rule Coverage", vscode.TestRunProfileKind.Coverage, (request, token) => this.run(request, token, true), true);
    coverage.loadDetailedCoverage = async (_run, file) => this.details.get(file) ?? [];
    const watcher = vscode.workspace.createFileSystemWatcher("**/*.armor");
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.later(uri)),
      watcher.onDidChange((uri) => this.later(uri)),
      watcher.onDidDelete((uri) => this.forget(uri)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.path.endsWith(".armor") && e.contentChanges.length > 0) this.later(e.document.uri);
      }),
      vscode.workspace.onDidOpenTextDocument((d) => {
        if (d.uri.path.endsWith(".armor")) this.later(d.uri);
      }),
    );
  }

  dispose(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }

  async discoverAll(): Promise<void> {
    const files = await vscode.workspace.findFiles("**/*.armor", "**/{node_modules,dist,.git}/**");
    for (const f of files) await this.discover(f);
    let tests = 0;
    this.controller.items.forEach((p) => {
      tests += p.children.size;
    });
    this.log(`Test Explorer: ${tests} test${tests === 1 ? "" : "s"} in ${files.length} .armor file${files.length === 1 ? "" : "s"}`);
  }

  /** Finds a file's tests again after edits have settled. */
  private later(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.pending.get(key));
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        void this.discover(uri);
      }, 300),
    );
  }

  /**
   * The policy's item, made once and kept: it is in the tree while the policy or its test file has
   * tests. (Deleting an item and adding a new one with the same id in one turn can lose it.)
   */
  private policyItem(policy: vscode.Uri): vscode.TestItem {
    const id = policy.toString();
    let item = this.parents.get(id);
    if (item === undefined) {
      item = this.controller.createTestItem(id, policy.path.split("/").pop() ?? id, policy);
      this.parents.set(id, item);
    }
    return item;
  }

  /** The tests of one file, from the server's document symbols, under the item of the policy they test. */
  async discover(file: vscode.Uri): Promise<void> {
    try {
      const symbols = await this.symbols(file);
      if (symbols !== undefined)
        this.place(
          file,
          symbols.filter((s) => s.kind === EVENT && s.detail === "test"),
        );
    } catch (e) {
      this.log(`Test Explorer: ${file.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Puts a file's tests (none: takes them out) under their policy's item, which is in the tree while it has tests. */
  private place(file: vscode.Uri, tests: readonly ServerSymbol[]): void {
    const parent = this.policyItem(policyUriOf(file));
    const others: vscode.TestItem[] = [];
    parent.children.forEach((child) => {
      if (child.uri?.toString() !== file.toString()) others.push(child);
    });
    const mine = tests.map((s) => {
      const item = this.controller.createTestItem(testId(file, s.name), s.name, file);
      item.range = new vscode.Range(s.range.start.line, s.range.start.character, s.range.end.line, s.range.end.character);
      return item;
    });
    parent.children.replace([...others, ...mine]);
    const shown = this.controller.items.get(parent.id) !== undefined;
    if (parent.children.size > 0 && !shown) this.controller.items.add(parent);
    else if (parent.children.size === 0 && shown) this.controller.items.delete(parent.id);
  }

  private forget(file: vscode.Uri): void {
    this.place(file, []);
  }

  private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken, withCoverage: boolean): Promise<void> {
    const run = this.controller.createTestRun(request);
    const excluded = new Set((request.exclude ?? []).map((i) => i.id));
    // the tests asked for, by the policy they test
    const byPolicy = new Map<string, vscode.TestItem[]>();
    const add = (item: vscode.TestItem): void => {
      if (excluded.has(item.id)) return;
      if (item.children.size > 0) item.children.forEach(add);
      else if (item.parent) byPolicy.set(item.parent.id, [...(byPolicy.get(item.parent.id) ?? []), item]);
    };
    if (request.include) request.include.forEach(add);
    else this.controller.items.forEach(add);
    for (const [policy, tests] of byPolicy) {
      if (token.isCancellationRequested) break;
      for (const t of tests) run.started(t);
      const report = await this.server<SuiteReport>("armor.runTests", [policy]);
      this.report(run, tests, report, withCoverage);
    }
    run.end();
  }

  private report(run: vscode.TestRun, tests: readonly vscode.TestItem[], report: SuiteReport | undefined, withCoverage: boolean): void {
    const why = report === undefined ? "the language server did not answer" : (report.problem ?? (report.errors > 0 ? report.diagnosticsText : null));
    if (report === undefined || why !== null) {
      for (const t of tests) run.errored(t, new vscode.TestMessage(why ?? "not run"));
      return;
    }
    const results = new Map(report.results.map((r) => [testId(vscode.Uri.parse(r.uri), r.name), r]));
    for (const t of tests) {
      const r = results.get(t.id);
      if (r === undefined) run.skipped(t);
      else if (r.passed) run.passed(t);
      else {
        const message = vscode.TestMessage.diff(`${r.failures.join("\n")}${r.explanation ? `\n\n${r.explanation}` : ""}`, r.expected, r.actual);
        const { start, end } = r.range;
        message.location = new vscode.Location(vscode.Uri.parse(r.uri), new vscode.Range(start.line, start.character, end.line, end.character));
        run.failed(t, message);
      }
    }
    if (withCoverage) {
      // each rule's line: the tests of its stage in which it fired (0: never fired)
      const details = report.coverage.map((c) => new vscode.StatementCoverage(c.fired, new vscode.Position(c.line, 0)));
      const file = vscode.FileCoverage.fromDetails(vscode.Uri.file(report.policyFile), details);
      this.details.set(file, details);
      run.addCoverage(file);
    }
  }
}
