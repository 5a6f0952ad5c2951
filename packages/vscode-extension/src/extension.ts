/**
 * The Agent Armor extension: a thin client. Everything about the language (diagnostics,
 * completion, hover, formatting, ...) comes from the language server, bundled as dist/server.js
 * or named by `armor.server.path`. The two commands run the compiler's own API in the
 * extension host: compiling writes NAME.js and NAME.d.ts beside the policy, running tests uses
 * the same runner as `armorc test`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, sep } from "node:path";
import * as vscode from "vscode";
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import { compileSource, emit, renderText, SourceFile, type Diagnostic as ArmorDiagnostic } from "@agent-armor/compiler";
import { humanReport, runSuite } from "@agent-armor/compiler/testing";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let compileDiagnostics: vscode.DiagnosticCollection;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Agent Armor");
  compileDiagnostics = vscode.languages.createDiagnosticCollection("armor-compile");
  context.subscriptions.push(
    output,
    compileDiagnostics,
    vscode.commands.registerCommand("agentArmor.compilePolicy", (uri?: vscode.Uri) => compilePolicy(uri)),
    vscode.commands.registerCommand("agentArmor.runPolicyTests", (uri?: vscode.Uri) => runPolicyTests(uri)),
    vscode.commands.registerCommand("agentArmor.restartServer", async () => {
      await stopClient();
      await startClient(context);
    }),
    // A compile's diagnostics describe the text that was compiled: drop them on the first edit.
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0) compileDiagnostics.delete(e.document.uri);
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("armor.server.path")) {
        const choice = await vscode.window.showInformationMessage("The Agent Armor language server path changed.", "Restart Server");
        if (choice === "Restart Server") await vscode.commands.executeCommand("agentArmor.restartServer");
      }
    }),
  );
  await startClient(context);
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

// ---- The language server ----

function serverOptions(context: vscode.ExtensionContext): ServerOptions {
  const configured = vscode.workspace.getConfiguration("armor").get<string>("server.path", "").trim();
  if (configured === "") {
    const module = context.asAbsolutePath(join("dist", "server.js"));
    return {
      run: { module, transport: TransportKind.stdio },
      debug: { module, transport: TransportKind.stdio, options: { execArgv: ["--nolazy", "--inspect=6010"] } },
    };
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const path = isAbsolute(configured) || folder === undefined ? configured : join(folder, configured);
  if ([".js", ".mjs", ".cjs"].includes(extname(path))) {
    // A Node.js module (e.g. packages/lsp/bin/armor-lsp.js): forked with the editor's Node.js.
    return { module: path, transport: TransportKind.stdio };
  }
  return { command: path, args: ["--stdio"], transport: TransportKind.stdio, options: { shell: process.platform === "win32" } };
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "armor" },
      { scheme: "untitled", language: "armor" },
    ],
    synchronize: {
      // Policies read their action schemas: the server hears when one changes.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{armor,json}"),
    },
    outputChannelName: "Agent Armor Language Server",
  };
  client = new LanguageClient("armor", "Agent Armor Language Server", serverOptions(context), clientOptions);
  try {
    await client.start();
  } catch (e) {
    void vscode.window.showErrorMessage(`Agent Armor: the language server did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function stopClient(): Promise<void> {
  const c = client;
  client = undefined;
  if (c !== undefined && c.isRunning()) await c.stop();
}

// ---- Commands ----

interface Target {
  readonly uri: vscode.Uri;
  readonly text: string;
}

/** The policy to act on: the given file, or the active editor's (unsaved text included). */
async function target(uri: vscode.Uri | undefined): Promise<Target | undefined> {
  const doc = uri
    ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString()) ?? (await vscode.workspace.openTextDocument(uri))
    : vscode.window.activeTextEditor?.document;
  if (doc === undefined || !(doc.languageId === "armor" || doc.uri.fsPath.endsWith(".armor"))) {
    void vscode.window.showWarningMessage("Agent Armor: open a .armor policy first.");
    return undefined;
  }
  if (doc.uri.scheme !== "file") {
    void vscode.window.showWarningMessage("Agent Armor: save the policy to a file first.");
    return undefined;
  }
  return { uri: doc.uri, text: doc.getText() };
}

function toSeverity(s: ArmorDiagnostic["severity"]): vscode.DiagnosticSeverity {
  switch (s) {
    case "error":
      return vscode.DiagnosticSeverity.Error;
    case "warning":
      return vscode.DiagnosticSeverity.Warning;
    case "info":
      return vscode.DiagnosticSeverity.Information;
    default:
      return vscode.DiagnosticSeverity.Hint;
  }
}

/** Spans are half-open UTF-16 offsets into the text they came from; the compiler's SourceFile maps them. */
function toVscodeDiagnostics(text: string, diagnostics: readonly ArmorDiagnostic[]): vscode.Diagnostic[] {
  const source = new SourceFile("", text);
  const position = (offset: number): vscode.Position => {
    const p = source.positionAt(offset);
    return new vscode.Position(p.line, p.column);
  };
  return diagnostics.map((d) => {
    const v = new vscode.Diagnostic(new vscode.Range(position(d.span.start), position(d.span.end)), d.message + (d.help ? `\n${d.help}` : ""), toSeverity(d.severity));
    v.code = d.code;
    v.source = "armorc";
    return v;
  });
}

async function compilePolicy(uri: vscode.Uri | undefined): Promise<void> {
  const t = await target(uri);
  if (t === undefined) return;
  const file = t.uri.fsPath;
  if (file.endsWith(".test.armor")) {
    void vscode.window.showWarningMessage("Agent Armor: a .test.armor file holds tests, not a policy; run its tests instead.");
    return;
  }
  const compilation = compileSource(file, t.text);
  const own = compilation.diagnostics.filter((d) => d.file === file);
  compileDiagnostics.set(t.uri, toVscodeDiagnostics(t.text, own));
  const rendered = renderText(compilation.diagnostics, new Map([[file, compilation.source]]), { color: false });
  if (rendered !== "") {
    output.appendLine(rendered.trimEnd());
  }
  if (!compilation.ok) {
    const errors = compilation.diagnostics.filter((d) => d.severity === "error").length;
    output.appendLine(`${basename(file)}: not compiled (${errors} error${errors === 1 ? "" : "s"})`);
    const choice = await vscode.window.showErrorMessage(`Agent Armor: ${basename(file)} has ${errors} error${errors === 1 ? "" : "s"} and was not compiled.`, "Show Problems", "Show Output");
    if (choice === "Show Problems") await vscode.commands.executeCommand("workbench.actions.view.problems");
    if (choice === "Show Output") output.show(true);
    return;
  }
  const { js, dts } = emit(compilation);
  const stem = basename(file).replace(/\.armor$/, "");
  const jsPath = join(dirname(file), `${stem}.js`);
  const dtsPath = join(dirname(file), `${stem}.d.ts`);
  writeFileSync(jsPath, js);
  writeFileSync(dtsPath, dts);
  const warnings = compilation.diagnostics.filter((d) => d.severity === "warning").length;
  const summary = `compiled ${basename(file)} -> ${stem}.js, ${stem}.d.ts (${compilation.policy.rules.length} rules${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""})`;
  output.appendLine(summary);
  const choice = await vscode.window.showInformationMessage(`Agent Armor: ${summary}`, "Open Module");
  if (choice === "Open Module") await vscode.window.showTextDocument(vscode.Uri.file(jsPath), { preview: true });
}

/** `NAME.test.armor` tests `NAME.armor` beside it; either may be the active file. */
function suiteFiles(file: string, text: string): { policyFile: string; policyText: string; testFile: string | null } | string {
  const read = (path: string): string => vscode.workspace.textDocuments.find((d) => d.uri.fsPath === path)?.getText() ?? readFileSync(path, "utf8");
  if (file.endsWith(".test.armor")) {
    const policyFile = join(dirname(file), `${basename(file, ".test.armor")}.armor`);
    if (!existsSync(policyFile)) return `${basename(file)} tests ${basename(policyFile)}, which does not exist`;
    return { policyFile, policyText: read(policyFile), testFile: file };
  }
  const testFile = join(dirname(file), `${basename(file, ".armor")}.test.armor`);
  return { policyFile: file, policyText: text, testFile: existsSync(testFile) ? testFile : null };
}

async function runPolicyTests(uri: vscode.Uri | undefined): Promise<void> {
  const t = await target(uri);
  if (t === undefined) return;
  const files = suiteFiles(t.uri.fsPath, t.text);
  if (typeof files === "string") {
    void vscode.window.showErrorMessage(`Agent Armor: ${files}.`);
    return;
  }
  const testText = files.testFile === null ? null : files.testFile === t.uri.fsPath ? t.text : vscode.workspace.textDocuments.find((d) => d.uri.fsPath === files.testFile)?.getText() ?? readFileSync(files.testFile, "utf8");
  const suite = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "Agent Armor: running policy tests" }, () =>
    runSuite({
      policyFile: files.policyFile,
      policyText: files.policyText,
      testFiles: files.testFile !== null && testText !== null ? [{ name: files.testFile, text: testText }] : [],
    }),
  );
  output.clear();
  // Paths as the user sees them: relative to the workspace folder.
  const folder = vscode.workspace.getWorkspaceFolder(t.uri)?.uri.fsPath;
  const relative = (text: string): string => (folder === undefined ? text : text.split(folder + sep).join(""));
  const broken = suite.diagnostics.filter((d) => d.severity === "error");
  if (broken.length > 0) output.appendLine(relative(renderText(suite.diagnostics, suite.sources, { color: false }).trimEnd()));
  output.appendLine(relative(humanReport([suite], { coverage: true }).trimEnd()));
  output.show(true);
  const failed = suite.results.filter((r) => !r.passed).length;
  const passed = suite.results.length - failed;
  if (broken.length > 0) {
    void vscode.window.showErrorMessage(`Agent Armor: ${basename(files.policyFile)} or its tests have ${broken.length} error${broken.length === 1 ? "" : "s"}; no test ran.`);
  } else if (suite.results.length === 0) {
    void vscode.window.showWarningMessage(`Agent Armor: ${basename(files.policyFile)} has no tests.`);
  } else if (failed > 0) {
    void vscode.window.showErrorMessage(`Agent Armor: ${failed} of ${suite.results.length} policy tests failed.`);
  } else {
    void vscode.window.showInformationMessage(`Agent Armor: all ${passed} policy tests passed.`);
  }
}
