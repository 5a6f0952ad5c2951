/**
 * Rename across files (docs/language.md §18): a let, param or rule of a file that other policies
 * import, renamed from a use `NS.NAME` in an importer (or an `override`/`disable` target) or from
 * its definition, changes the definition, its uses in its own file and tests, and `NS.NAME` (and
 * a param's key in `import ... with { NAME: ... }`) in every workspace policy that imports the
 * file. A definition in a pack (`armor:...`) is read-only, and a name the defining file already
 * has is refused, as a rename inside one file is.
 */
import type { AST, Span } from "@agent-armor/compiler";
import { ResponseError, type TextEdit, type WorkspaceEdit } from "vscode-languageserver";
import type { Analysis, PolicyAnalysis, Project } from "../analysis.js";
import { isTestFile, pathToUri, uriToPath } from "../documents.js";
import { toRange } from "../positions.js";
import { ownImports, qualifiedAt } from "./imports.js";
import { targetAt } from "./locate.js";

export type Kind = "let" | "rule";

/** What a rename across files renames: a name declared in the file at `path`. */
interface Definition {
  readonly path: string;
  /** The file's name as the compiler gives it (`armor:NAME` for a pack). */
  readonly fileName: string;
  readonly name: string;
  /** Where the name is at the offset asked about. */
  readonly span: Span;
}

/** An occurrence to rewrite: a span in a document. */
export interface Occurrence {
  readonly a: Analysis;
  readonly span: Span;
}

const inside = (s: Span, offset: number): boolean => s.start <= offset && offset <= s.end;

/** In an importer: the imported file and name of `NS.NAME` or of an `override`/`disable` target at `offset`. */
export function importedAt(a: PolicyAnalysis, offset: number): Definition | null {
  const imports = ownImports(a.compilation);
  if (imports.size === 0) return null;
  const found = (ns: string, name: AST.Ident | { name: string; span: Span }): Definition | null => {
    const imp = imports.get(ns);
    return imp ? { path: imp.file.path, fileName: imp.file.name, name: name.name, span: name.span } : null;
  };
  for (const item of a.compilation.ast.items) {
    if ((item.kind === "override" || item.kind === "disable") && item.target.length === 2 && inside(item.target[1]!.span, offset)) {
      return found(item.target[0]!.name, item.target[1]!);
    }
    if (item.kind === "import" && item.name && item.params) {
      const key = item.params.entries.find((e) => inside(e.key.span, offset));
      if (key) return found(item.name.name, key.key);
    }
  }
  const q = qualifiedAt(a.text, offset);
  if (!q || offset < q.span.start) return null;
  return found(q.ns, { name: q.name, span: q.span });
}

/** The policies that import the file at `path`, each with the namespaces it gives it. */
function importers(project: Project, workspace: readonly string[], path: string): { a: PolicyAnalysis; namespaces: string[] }[] {
  const out: { a: PolicyAnalysis; namespaces: string[] }[] = [];
  for (const uri of workspace) {
    if (isTestFile(uri) || uriToPath(uri) === path) continue;
    const a = project.analysis(uri);
    if (a?.kind !== "policy") continue;
    const namespaces = [...ownImports(a.compilation)].filter(([, v]) => v.file.path === path).map(([ns]) => ns);
    if (namespaces.length > 0) out.push({ a, namespaces });
  }
  return out;
}

/** `NS.NAME` in a document's tokens (not `x.NS.NAME`): the spans of NAME. */
function qualifiedUses(a: Analysis, namespaces: readonly string[], name: string): Span[] {
  const tokens = a.syntax.tokens;
  const out: Span[] = [];
  for (let i = 0; i + 2 < tokens.length; i++) {
    const t = tokens[i]!;
    if (!namespaces.includes(t.image) || tokens[i + 1]!.image !== "." || tokens[i + 2]!.image !== name) continue;
    if (i > 0 && tokens[i - 1]!.image === ".") continue;
    const n = tokens[i + 2]!;
    out.push({ start: n.startOffset, end: n.startOffset + n.image.length });
  }
  return out;
}

/** A param's key in the importer's `import "..." as NS with { NAME: ... }`. */
function paramKeys(a: PolicyAnalysis, namespaces: readonly string[], name: string): Span[] {
  const out: Span[] = [];
  for (const item of a.compilation.ast.items) {
    if (item.kind !== "import" || !item.name || !namespaces.includes(item.name.name) || !item.params) continue;
    for (const e of item.params.entries) if (e.key.name === name) out.push(e.key.span);
  }
  return out;
}

function isParam(ast: AST.FileNode, name: string): boolean {
  return ast.items.some((i) => i.kind === "param" && i.name?.name === name);
}

export interface CrossFileRename {
  /** The policy that declares the name, and what it is there. */
  readonly definition: PolicyAnalysis;
  readonly kind: Kind;
  readonly name: string;
}

/**
 * Whether the rename at `offset` reaches other files: the name is imported there, or defined here
 * and imported elsewhere. Null for a rename that stays in one policy and its tests.
 */
export function crossFileTarget(a: Analysis, project: Project, workspace: readonly string[], offset: number): CrossFileRename | null {
  if (a.kind !== "policy") return null;
  const imported = importedAt(a, offset);
  if (imported !== null) {
    refusePack(imported);
    const definition = project.analysis(pathToUri(imported.path));
    if (definition?.kind !== "policy") throw new ResponseError(-32602, `cannot rename: \`${imported.path}\` cannot be read`);
    return defined(definition, imported.name);
  }
  const target = targetAt(a, offset);
  if (!target || (target.kind !== "let" && target.kind !== "rule")) return null;
  if (importers(project, workspace, uriToPath(a.uri)).length === 0) return null;
  return { definition: a, kind: target.kind, name: target.name };
}

/** A pack's names are read-only: the rename is refused, saying so. */
export function refusePack(d: Definition): void {
  if (d.fileName.startsWith("armor:")) throw new ResponseError(-32602, `cannot rename: \`${d.name}\` is defined in the pack \`${d.fileName}\`, which is read-only`);
}

function defined(definition: PolicyAnalysis, name: string): CrossFileRename {
  const model = definition.compilation.model;
  if (model.lets.has(name)) return { definition, kind: "let", name };
  if (model.rules.has(name)) return { definition, kind: "rule", name };
  throw new ResponseError(-32602, `cannot rename: the imported file declares no let, param or rule \`${name}\``);
}

/** Every occurrence in the files that import the definition's file: `NS.NAME`, and a param's keys. */
export function importerOccurrences(project: Project, workspace: readonly string[], target: CrossFileRename): Occurrence[] {
  const out: Occurrence[] = [];
  const param = target.kind === "let" && isParam(target.definition.ast, target.name);
  for (const { a, namespaces } of importers(project, workspace, uriToPath(target.definition.uri))) {
    for (const span of qualifiedUses(a, namespaces, target.name)) out.push({ a, span });
    if (param) for (const span of paramKeys(a, namespaces, target.name)) out.push({ a, span });
    const tests = project.testsOf(a);
    if (tests) for (const span of qualifiedUses(tests, namespaces, target.name)) out.push({ a: tests, span });
  }
  return out;
}

/** The edits, one per occurrence, by document (an occurrence met twice is edited once). */
export function editsOf(occurrences: readonly Occurrence[], newName: string): WorkspaceEdit {
  const changes: Record<string, TextEdit[]> = {};
  const seen = new Set<string>();
  for (const o of occurrences) {
    const key = `${o.a.uri}#${o.span.start}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const edits = changes[o.a.uri] ?? [];
    edits.push({ range: toRange(o.a.source, o.span), newText: newName });
    changes[o.a.uri] = edits;
  }
  return { changes };
}
