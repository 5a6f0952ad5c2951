/**
 * Workspace symbols: the rules, lets and tests of every policy and test file in the workspace
 * folders, found as `armorc test` finds suites (the compiler's `discover`: node_modules, dist,
 * hidden folders and fixture trees are skipped). Open documents are read with their current
 * text, other files from disk; each file is parsed (syntax only) once per text and the
 * names kept, so a query after the first costs a walk of the folders and a filter.
 */

import { resolve } from "node:path";
import { type AST, parse } from "@agent-armor/compiler";
import { discover } from "@agent-armor/compiler/testing";
import { type SymbolInformation, SymbolKind } from "vscode-languageserver";
import { type Documents, pathToUri } from "../documents.js";
import { SourceFile, toRange } from "../positions.js";

/** At most this many symbols are answered: a client filters further as the query grows. */
const MAX_SYMBOLS = 1000;

interface FileSymbols {
  readonly text: string;
  readonly symbols: readonly SymbolInformation[];
}

function symbolsOf(uri: string, text: string): SymbolInformation[] {
  const source = new SourceFile(uri, text);
  const out: SymbolInformation[] = [];
  const add = (name: string, kind: SymbolKind, item: AST.Item, detail: string): void => {
    out.push({ name, kind, location: { uri, range: toRange(source, item.span) }, containerName: detail });
  };
  for (const item of parse(uri, text).ast.items) {
    if (item.kind === "rule" && item.name) add(item.name.name, SymbolKind.Function, item, `rule, ${item.effect?.kind.replace("_", " ") ?? "no effect"}`);
    else if (item.kind === "let" && item.name) add(item.name.name, SymbolKind.Constant, item, "let");
    else if (item.kind === "test" && item.name) add(item.name.value, SymbolKind.Event, item, "test");
  }
  return out;
}

/** Whether every character of `query` appears in `name` in order, ignoring case (as editors filter). */
function matches(name: string, query: string): boolean {
  let i = 0;
  const n = name.toLowerCase();
  for (const c of query.toLowerCase()) {
    i = n.indexOf(c, i) + 1;
    if (i === 0) return false;
  }
  return true;
}

/** The policies and test files under a folder, as absolute paths; none when it cannot be read. */
function armorFilesIn(folder: string): string[] {
  try {
    const found = discover([folder], folder);
    const files = [...found.targets.flatMap((t) => (t.testFile === null ? [t.policy] : [t.policy, t.testFile])), ...found.orphans];
    return files.map((f) => resolve(folder, f));
  } catch {
    return [];
  }
}

export class WorkspaceSymbols {
  private readonly cache = new Map<string, FileSymbols>();

  constructor(private readonly documents: Documents) {}

  query(folders: readonly string[], query: string): SymbolInformation[] {
    const out: SymbolInformation[] = [];
    const seen = new Set<string>();
    for (const path of folders.flatMap(armorFilesIn)) {
      if (seen.has(path)) continue;
      seen.add(path);
      for (const s of this.fileSymbols(pathToUri(path))) {
        if (!matches(s.name, query)) continue;
        out.push(s);
        if (out.length >= MAX_SYMBOLS) return out;
      }
    }
    return out;
  }

  private fileSymbols(uri: string): readonly SymbolInformation[] {
    const text = this.documents.get(uri)?.text;
    if (text === undefined) return [];
    const cached = this.cache.get(uri);
    if (cached?.text === text) return cached.symbols;
    const symbols = symbolsOf(uri, text);
    this.cache.set(uri, { text, symbols });
    return symbols;
  }
}
