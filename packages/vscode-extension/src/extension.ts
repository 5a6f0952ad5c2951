/**
 * The Agent Armor extension: a thin client. Everything about the language (diagnostics,
 * completion, hover, formatting, ...) comes from the language server, bundled as dist/server.js
 * or named by `armor.server.path`. The two commands ask the server too (`armor.compile`,
 * `armor.runTests`): the extension writes the module it gets back as NAME.js and NAME.d.ts
 * beside the policy, and shows the report of the same runner as `armorc test`. Policy tests are
 * listed in the Test Explorer (test-explorer.ts), and the explanations of decisions open beside
 * the editor (explanation-panel.ts): a test's decision lens, or "Decide This Input" on a JSON file.
 */
import { writeFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, sep } from "node:path";
import type { CompileResult, Explanation, SuiteReport } from "@agent-armor/lsp";
import * as vscode from "vscode";
import { LanguageClient, type LanguageClientOptions, type ServerOptions, TransportKind } from "vscode-languageclient/node";
import { ExplanationPanel } from "./explanation-panel.js";
import { PolicyTests, type ServerSymbol } from "./test-explorer.js";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let compileDiagnostics: vscode.DiagnosticCollection;
let panel: ExplanationPanel;
/** The policy each input file was last decided with. */
const policyOfInput = new Map<string, string>();

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Agent Armor");
  compileDiagnostics = vscode.languages.createDiagnosticCollection("armor-compile");
  panel = new ExplanationPanel(runCommand);
  const tests = new PolicyTests(runCommand, documentSymbols, (line) => output.appendLine(line));
  context.subscriptions.push(
    panel,
    tests,
    vscode.commands.registerCommand("agentArmor.evaluateInput", (uri?: vscode.Uri) => evaluateInput(uri)),
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
      if (e.affectsConfiguration("armor.server.path") || e.affectsConfiguration("armor.diagnostics.docsBaseUrl")) {
        const choice = await vscode.window.showInformationMessage("The Agent Armor language server settings changed.", "Restart Server");
        if (choice === "Restart Server") await vscode.commands.executeCommand("agentArmor.restartServer");
      }
    }),
  );
  await startClient(context);
  void tests.discoverAll();
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

/**
 * The server's settings: where diagnostic codes link to (`armor.diagnostics.docsBaseUrl`; empty
 * leaves it to the server, which links to the docs shipped in the extension's dist/docs/).
 */
function initializationOptions(): { docsBaseUrl?: string } {
  const base = vscode.workspace.getConfiguration("armor").get<string>("diagnostics.docsBaseUrl", "").trim();
  return base === "" ? {} : { docsBaseUrl: base };
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
    initializationOptions: initializationOptions(),
    middleware: {
      // a test's decision lens runs armor.explainTest: its answer opens beside the editor
      executeCommand: async (command, args, next) => {
        const result = await next(command, args);
        if (command === "armor.explainTest" && result && typeof result === "object") await panel.showTest(args, result as Explanation);
        return result;
      },
    },
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
  if (c?.isRunning()) await c.stop();
}

// ---- Commands ----

/** The policy to act on: the given file, or the active editor's. Its unsaved text is what the server has. */
async function target(uri: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
  const doc = uri ? (vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString()) ?? (await vscode.workspace.openTextDocument(uri))) : vscode.window.activeTextEditor?.document;
  if (doc === undefined || !(doc.languageId === "armor" || doc.uri.fsPath.endsWith(".armor"))) {
    void vscode.window.showWarningMessage("Agent Armor: open a .armor policy first.");
    return undefined;
  }
  if (doc.uri.scheme !== "file") {
    void vscode.window.showWarningMessage("Agent Armor: save the policy to a file first.");
    return undefined;
  }
  return doc.uri;
}

/** Runs a command of the language server; `undefined` (with a message) when it is not running or fails. */
async function runCommand<T>(command: string, args: unknown[]): Promise<T | undefined> {
  if (client === undefined || !client.isRunning()) {
    void vscode.window.showErrorMessage('Agent Armor: the language server is not running; run "Agent Armor: Restart Language Server".');
    return undefined;
  }
  try {
    return await client.sendRequest<T>("workspace/executeCommand", { command, arguments: args });
  } catch (e) {
    void vscode.window.showErrorMessage(`Agent Armor: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/** The server's document symbols of a file, open or not (the server reads it from disk); `undefined` when it is not running. */
async function documentSymbols(uri: vscode.Uri): Promise<readonly ServerSymbol[] | undefined> {
  if (client === undefined || !client.isRunning()) return undefined;
  try {
    return (await client.sendRequest<ServerSymbol[] | null>("textDocument/documentSymbol", { textDocument: { uri: client.code2ProtocolConverter.asUri(uri) } })) ?? [];
  } catch (e) {
    output.appendLine(`test discovery: ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

async function serverCommand<T>(command: string, uri: vscode.Uri): Promise<T | undefined> {
  return runCommand<T>(command, [client ? client.code2ProtocolConverter.asUri(uri) : uri.toString()]);
}

/**
 * "Decide This Input": the active JSON document (or its selection) decided with a policy: the
 * one it was decided with before, the only policy in its folder, or one picked from the
 * workspace's policies.
 */
async function evaluateInput(uri: vscode.Uri | undefined): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const doc = uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
  if (doc === undefined || !(doc.languageId === "json" || doc.uri.path.endsWith(".json"))) {
    void vscode.window.showWarningMessage("Agent Armor: open an input JSON file first.");
    return;
  }
  const policy = policyOfInput.get(doc.uri.toString()) ?? (await pickPolicy(doc.uri));
  if (policy === undefined) return;
  policyOfInput.set(doc.uri.toString(), policy);
  const selection = editor && editor.document === doc && !editor.selection.isEmpty ? editor.selection : null;
  const e = await panel.evaluate(policy, doc.uri, selection);
  if (e?.problemAt && e.problemAt.uri === doc.uri.toString()) {
    const { start, end } = e.problemAt.range;
    if (editor && editor.document === doc) editor.selection = new vscode.Selection(start.line, start.character, end.line, end.character);
  }
}

async function pickPolicy(input: vscode.Uri): Promise<string | undefined> {
  const policies = (await vscode.workspace.findFiles("**/*.armor", "**/{node_modules,dist,.git}/**")).filter((u) => !u.path.endsWith(".test.armor"));
  const folder = dirname(input.path);
  const beside = policies.filter((u) => dirname(u.path) === folder);
  if (beside.length === 1) return beside[0]!.toString();
  if (policies.length === 0) {
    void vscode.window.showWarningMessage("Agent Armor: there is no .armor policy in the workspace to decide this input with.");
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    policies.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
    { placeHolder: "The policy to decide this input with" },
  );
  return picked?.uri.toString();
}

async function compilePolicy(uri: vscode.Uri | undefined): Promise<void> {
  const t = await target(uri);
  if (t === undefined) return;
  const file = t.fsPath;
  if (file.endsWith(".test.armor")) {
    void vscode.window.showWarningMessage("Agent Armor: a .test.armor file holds tests, not a policy; run its tests instead.");
    return;
  }
  const result = await serverCommand<CompileResult>("armor.compile", t);
  if (result === undefined) return;
  compileDiagnostics.set(t, await client!.protocol2CodeConverter.asDiagnostics([...result.diagnostics]));
  if (result.rendered !== "") {
    output.appendLine(result.rendered.trimEnd());
  }
  if (!result.ok || result.js === null || result.dts === null) {
    const errors = result.errors;
    output.appendLine(`${basename(file)}: not compiled (${errors} error${errors === 1 ? "" : "s"})`);
    const choice = await vscode.window.showErrorMessage(`Agent Armor: ${basename(file)} has ${errors} error${errors === 1 ? "" : "s"} and was not compiled.`, "Show Problems", "Show Output");
    if (choice === "Show Problems") await vscode.commands.executeCommand("workbench.actions.view.problems");
    if (choice === "Show Output") output.show(true);
    return;
  }
  const stem = basename(file).replace(/\.armor$/, "");
  const jsPath = join(dirname(file), `${stem}.js`);
  const dtsPath = join(dirname(file), `${stem}.d.ts`);
  writeFileSync(jsPath, result.js);
  writeFileSync(dtsPath, result.dts);
  const warnings = result.warnings;
  const summary = `compiled ${basename(file)} -> ${stem}.js, ${stem}.d.ts (${result.rules} rules${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""})`;
  output.appendLine(summary);
  const choice = await vscode.window.showInformationMessage(`Agent Armor: ${summary}`, "Open Module");
  if (choice === "Open Module") await vscode.window.showTextDocument(vscode.Uri.file(jsPath), { preview: true });
}

async function runPolicyTests(uri: vscode.Uri | undefined): Promise<void> {
  const t = await target(uri);
  if (t === undefined) return;
  const suite = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "Agent Armor: running policy tests" }, () => serverCommand<SuiteReport>("armor.runTests", t));
  if (suite === undefined) return;
  if (suite.problem !== null) {
    void vscode.window.showErrorMessage(`Agent Armor: ${suite.problem}.`);
    return;
  }
  output.clear();
  // Paths as the user sees them: relative to the workspace folder.
  const folder = vscode.workspace.getWorkspaceFolder(t)?.uri.fsPath;
  const relative = (text: string): string => (folder === undefined ? text : text.split(folder + sep).join(""));
  if (suite.errors > 0) output.appendLine(relative(suite.diagnosticsText.trimEnd()));
  output.appendLine(relative(suite.report.trimEnd()));
  output.show(true);
  const failed = suite.results.filter((r) => !r.passed).length;
  const passed = suite.results.length - failed;
  const policy = basename(suite.policyFile);
  if (suite.errors > 0) {
    void vscode.window.showErrorMessage(`Agent Armor: ${policy} or its tests have ${suite.errors} error${suite.errors === 1 ? "" : "s"}; no test ran.`);
  } else if (suite.results.length === 0) {
    void vscode.window.showWarningMessage(`Agent Armor: ${policy} has no tests.`);
  } else if (failed > 0) {
    void vscode.window.showErrorMessage(`Agent Armor: ${failed} of ${suite.results.length} policy tests failed.`);
  } else {
    void vscode.window.showInformationMessage(`Agent Armor: all ${passed} policy tests passed.`);
  }
}
