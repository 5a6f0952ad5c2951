/**
 * Imports in the editor (docs/language.md §18): go to definition from an import's path, a
 * namespaced name (`base.SANCTIONED`) or an `override`/`disable` target into the imported file or
 * pack; completion of an import's lets, params and rules after `NAMESPACE.`; hover on a
 * namespace; and, in the importer, one diagnostic on an import whose file has errors (the
 * errors themselves are published in that file when it is open). Every answer reads the
 * compilation: its resolved imports and the imported files' syntax trees.
 */
import type { AST, Compilation, Diagnostic, PolicyFile, ResolvedImport, SourceFile, Span } from "@agent-armor/compiler";
import { type CompletionItem, CompletionItemKind, DiagnosticSeverity, type Hover, type Location, type Diagnostic as LspDiagnostic, MarkupKind } from "vscode-languageserver";
import type { PolicyAnalysis } from "../analysis.js";
import { pathToUri } from "../documents.js";
import { toRange } from "../positions.js";

/** The imports written in the analysed file itself, by namespace. */
export function ownImports(c: Compilation): Map<string, { imp: ResolvedImport; file: PolicyFile }> {
  const out = new Map<string, { imp: ResolvedImport; file: PolicyFile }>();
  for (const imp of c.imports) {
    if (imp.from !== c.source.name) continue;
    const file = c.files.find((f) => f.path === imp.path);
    if (file !== undefined && !out.has(imp.namespace)) out.set(imp.namespace, { imp, file });
  }
  return out;
}

const inside = (s: Span, offset: number): boolean => s.start <= offset && offset <= s.end;

function locationOf(file: PolicyFile, s: Span): Location {
  return { uri: pathToUri(file.path), range: toRange(file.source as unknown as SourceFile, s) };
}

/** The let, param or rule named `name` in an imported file's syntax tree. */
function declIn(file: PolicyFile, name: string): AST.Ident | null {
  for (const item of file.syntax.ast.items) {
    if ((item.kind === "let" || item.kind === "param" || item.kind === "rule") && item.name?.name === name) return item.name;
  }
  return null;
}

/** `NS.NAME` ending at or around `offset` in the text: the namespace and the name's span. */
export function qualifiedAt(text: string, offset: number): { ns: string; name: string; span: Span } | null {
  let end = offset;
  while (end < text.length && /[A-Za-z0-9_]/.test(text[end]!)) end++;
  const before = text.slice(Math.max(0, offset - 200), end);
  const m = /([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(before);
  if (!m) return null;
  return { ns: m[1]!, name: m[2]!, span: { start: end - m[2]!.length, end } };
}

export function importDefinition(a: PolicyAnalysis, offset: number): Location[] | null {
  const c = a.compilation;
  const imports = ownImports(c);
  if (imports.size === 0) return null;
  for (const item of c.ast.items) {
    if (item.kind === "import" && item.path && inside(item.path.span, offset) && item.name) {
      const found = imports.get(item.name.name);
      return found ? [locationOf(found.file, { start: 0, end: 0 })] : [];
    }
    if ((item.kind === "override" || item.kind === "disable") && item.target.length >= 2 && inside({ start: item.target[0]!.span.start, end: item.target[item.target.length - 1]!.span.end }, offset)) {
      const found = imports.get(item.target[0]!.name);
      const decl = found ? declIn(found.file, item.target[item.target.length - 1]!.name) : null;
      return found && decl ? [locationOf(found.file, decl.span)] : [];
    }
  }
  const q = qualifiedAt(a.text, offset);
  const found = q ? imports.get(q.ns) : undefined;
  if (!q || !found || offset < q.span.start) return null;
  const decl = declIn(found.file, q.name);
  return decl ? [locationOf(found.file, decl.span)] : [];
}

/** After `NAMESPACE.`: the imported file's lets and params, and its rules where a rule is named (`override`, `disable`). */
export function importCompletion(a: PolicyAnalysis, offset: number): CompletionItem[] | null {
  const m = /(?:^|[^A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z0-9_]*)$/.exec(a.text.slice(Math.max(0, offset - 200), offset));
  if (!m) return null;
  const found = ownImports(a.compilation).get(m[1]!);
  if (!found) return null;
  const lineStart = a.text.lastIndexOf("\n", offset - 1) + 1;
  const naming = /^(override|disable)\s/.test(a.text.slice(lineStart, offset));
  const items: CompletionItem[] = [];
  for (const item of found.file.syntax.ast.items) {
    if ((item.kind !== "rule" && item.kind !== "let" && item.kind !== "param") || !item.name) continue;
    if (naming ? item.kind === "rule" : item.kind !== "rule") {
      items.push({
        label: item.name.name,
        kind: item.kind === "rule" ? CompletionItemKind.Function : CompletionItemKind.Constant,
        detail: `${item.kind} of ${found.imp.namespace} (${found.file.name})`,
      });
    }
  }
  return items;
}

export function importHover(a: PolicyAnalysis, offset: number): Hover | null {
  for (const item of a.compilation.ast.items) {
    if (item.kind !== "import" || !item.name || !inside(item.name.span, offset)) continue;
    const found = ownImports(a.compilation).get(item.name.name);
    if (!found) return null;
    const rules = a.compilation.policy.rules.filter((r) => r.id.startsWith(`${found.imp.namespace}.`)).map((r) => `\`${r.id}\``);
    const params = found.file.syntax.ast.items.flatMap((i) => (i.kind === "param" && i.name ? [`\`${i.name.name}\``] : []));
    const lines = [`imports \`${found.file.name}\``, `rules: ${rules.join(", ") || "none"}`, ...(params.length > 0 ? [`params: ${params.join(", ")}`] : [])];
    return { contents: { kind: MarkupKind.Markdown, value: lines.join("\n\n") }, range: toRange(a.source, item.name.span) };
  }
  return null;
}

/** In the importer: one error on each import whose file (or a file it imports) has errors, pointing at the first. */
export function importDiagnostics(a: PolicyAnalysis): LspDiagnostic[] {
  const c = a.compilation;
  const out: LspDiagnostic[] = [];
  const errors = c.diagnostics.filter((d) => d.severity === "error" && d.file !== c.source.name);
  if (errors.length === 0) return out;
  for (const [, { imp }] of ownImports(c)) {
    const below = c.imports.filter((i) => i === imp || i.namespace.startsWith(`${imp.namespace}.`)).map((i) => i.path);
    const mine: Diagnostic[] = errors.filter((d) => below.includes(d.file));
    if (mine.length === 0) continue;
    const first = mine[0]!;
    const source = c.sources.get(first.file);
    out.push({
      range: toRange(a.source, imp.span),
      severity: DiagnosticSeverity.Error,
      source: "armor",
      message: `the imported file has ${mine.length} error${mine.length === 1 ? "" : "s"}: ${first.code} ${first.message}`,
      ...(source ? { relatedInformation: [{ location: { uri: pathToUri(first.file), range: toRange(source as unknown as SourceFile, first.span) }, message: first.message }] } : {}),
    });
  }
  return out;
}
