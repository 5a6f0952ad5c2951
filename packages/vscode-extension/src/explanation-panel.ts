/**
 * The explanation beside the editor: what the server's `armor.explainTest` (a test's lens) or
 * `armor.evaluate` (an input JSON file or a selection of it) answers, as a read-only document:
 * the decision, the rules that fired and why, and the conditions of the rules that did not fire.
 * It is asked again when the policy, the test or the input is edited, so it follows the text.
 */
import type { Explanation } from "@agent-armor/lsp";
import * as vscode from "vscode";
import type { ServerCommand } from "./test-explorer.js";

export const SCHEME = "armor-explanation";

/** What an explanation was asked for, to ask again: a test, or an input (its document and selection). */
type Target =
  | { readonly command: "armor.explainTest"; readonly args: unknown[] }
  | { readonly command: "armor.evaluate"; readonly policy: string; readonly input: vscode.Uri; readonly range: vscode.Range | null };

export class ExplanationPanel implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly texts = new Map<string, string>();
  private readonly targets = new Map<string, Target>();
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly server: ServerCommand) {
    this.disposables = [
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(SCHEME, this),
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (d.uri.scheme === SCHEME) this.targets.delete(d.uri.toString());
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.scheme === SCHEME || e.contentChanges.length === 0 || this.targets.size === 0) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.refresh(), 300);
      }),
    ];
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? "Nothing explained yet: click a test's decision lens, or run “Agent Armor: Decide This Input”.";
  }

  /** Shows the explanation a lens's command got (the middleware calls this with the server's answer). */
  async showTest(args: unknown[], e: Explanation): Promise<void> {
    await this.show({ command: "armor.explainTest", args }, e);
  }

  /** Decides an input document (or its selection) with a policy and shows the explanation. */
  async evaluate(policy: string, input: vscode.Uri, range: vscode.Range | null): Promise<Explanation | undefined> {
    const target: Target = { command: "armor.evaluate", policy, input, range };
    const e = await this.ask(target);
    if (e !== undefined) await this.show(target, e);
    return e;
  }

  private async ask(t: Target): Promise<Explanation | undefined> {
    if (t.command === "armor.explainTest") return this.server<Explanation>(t.command, t.args);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === t.input.toString()) ?? (await vscode.workspace.openTextDocument(t.input));
    const range = t.range ? { start: { line: t.range.start.line, character: t.range.start.character }, end: { line: t.range.end.line, character: t.range.end.character } } : undefined;
    return this.server<Explanation>(t.command, [t.policy, t.input.toString(), { text: doc.getText(), ...(range ? { range } : {}) }]);
  }

  private async show(target: Target, e: Explanation): Promise<void> {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${e.subject.replace(/[\\/:*?"<>|]/g, "_")}.explanation` });
    this.texts.set(uri.toString(), render(e));
    this.targets.set(uri.toString(), target);
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
  }

  /** Asks again for every explanation shown, after an edit. */
  private async refresh(): Promise<void> {
    for (const [key, target] of this.targets) {
      const e = await this.ask(target);
      if (e === undefined) continue;
      this.texts.set(key, render(e));
      this.changed.fire(vscode.Uri.parse(key));
    }
  }
}

function render(e: Explanation): string {
  const header = "Decided by the policy's reference interpreter in the language server; updated as you edit.\n\n";
  return `${header}${e.text}`;
}
