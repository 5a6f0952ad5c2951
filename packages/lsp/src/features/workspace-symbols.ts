/**
 * Workspace symbols: the rules, lets and tests of every policy and test file in the workspace
 * folders, found as `armorc test` finds suites (the compiler's `discover`: node_modules, dist,
 * hidden folders and fixture trees are skipped). Open documents are read with their current
 * text, other files from disk. The index (the files under the folders, and each file's names,
 * parsed once per text) is built on the first query and kept: a file's entry is dropped when the
 * client says it changed on disk, and the list of files is walked again only when one is created
 * or deleted, so a query costs a filter over names in memory (and a re-parse of open documents
 * whose text changed). At most 10,000 files are indexed.
 */

import { resolve } from "node:path";
import { type AST, parse } from "@agent-armor/compiler";
import { discover } from "@agent-armor/compiler/testing";
import { type SymbolInformation, SymbolKind } from "vscode-languageserver";
import { type Documents, pathToUri } from "../documents.js";
import { SourceFile, toRange } from "../positions.js";

/** At most this many symbols are answered: a client filters further as the query grows. */
const MAX_SYMBOLS = 1000;
/** At most this many files are indexed. */
const MAX_FILES = 10_000;

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
  /** Each file's names, by URI, for the text they were read from. */
  private readonly cache = new Map<string, FileSymbols>();
  /** The files under the folders, as URIs; null until walked, and again after a file is created or deleted. */
  private files: { readonly folders: string; readonly uris: readonly string[] } | null = null;

  constructor(private readonly documents: Documents) {}

  query(folders: readonly string[], query: string): SymbolInformation[] {
    const out: SymbolInformation[] = [];
    for (const uri of this.filesIn(folders)) {
      for (const s of this.fileSymbols(uri)) {
        if (!matches(s.name, query)) continue;
        out.push(s);
        if (out.length >= MAX_SYMBOLS) return out;
      }
    }
    return out;
  }

  /** A file changed on disk (`created`/`deleted`: the list of files changes too). */
  changed(uri: string, created: boolean, deleted: boolean): void {
    this.cache.delete(uri);
    if (created || deleted) this.files = null;
  }

  /** The policies and test files under the folders, as URIs (walked once, as for `query`). */
  uris(folders: readonly string[]): readonly string[] {
    return this.filesIn(folders);
  }

  private filesIn(folders: readonly string[]): readonly string[] {
    const key = folders.join("\u0000");
    if (this.files?.folders === key) return this.files.uris;
    const uris = [...new Set(folders.flatMap(armorFilesIn))].slice(0, MAX_FILES).map(pathToUri);
    this.files = { folders: key, uris };
    return uris;
  }

  private fileSymbols(uri: string): readonly SymbolInformation[] {
    const cached = this.cache.get(uri);
    // an open document's text is in memory; a closed file's entry holds until the client says it changed
    if (cached !== undefined && !this.documents.isOpen(uri)) return cached.symbols;
    const text = this.documents.get(uri)?.text;
    if (text === undefined) return [];
    if (cached?.text === text) return cached.symbols;
    const symbols = symbolsOf(uri, text);
    this.cache.set(uri, { text, symbols });
    return symbols;
  }
}
