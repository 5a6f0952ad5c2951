/**
 * Go to definition, find references, document highlight and rename, for lets and rules
 * (including `by` in tests), and definition of schema-backed fields in the schema file.
 */

import { facts, keywordNames, SourceFile, type Span } from "@agent-armor/compiler";
import { type DocumentHighlight, DocumentHighlightKind, type Location, ResponseError, type TextEdit, type WorkspaceEdit } from "vscode-languageserver";
import type { Analysis, PolicyAnalysis, Project } from "../analysis.js";
import { pathToUri } from "../documents.js";
import { toRange } from "../positions.js";
import { importDefinition } from "./imports.js";
import { jsonPointerSpan } from "./json-pointer.js";
import { byReferences, targetAt } from "./locate.js";
import { crossFileTarget, editsOf, importedAt, importerOccurrences, refusePack } from "./rename-imports.js";

export interface SchemaReader {
  readText(uri: string): string | undefined;
}

function at(a: Analysis, span: Span): Location {
  return { uri: a.uri, range: toRange(a.source, span) };
}

export function definition(a: Analysis, project: Project, offset: number, files: SchemaReader): Location[] {
  const imported = a.kind === "policy" ? importDefinition(a, offset) : null;
  if (imported !== null) return imported;
  const target = targetAt(a, offset);
  const policy = project.policyOf(a);
  if (!target || !policy) return [];
  switch (target.kind) {
    case "let": {
      const decl = policy.compilation.model.lets.get(target.name)?.decl.name;
      return decl ? [at(policy, decl.span)] : [];
    }
    case "rule": {
      const decl = policy.compilation.model.rules.get(target.name)?.decl.name;
      return decl ? [at(policy, decl.span)] : [];
    }
    case "field": {
      const pointer = target.ref.info?.pointer;
      const schemaPath = policy.compilation.schemaPath;
      if (!pointer || !schemaPath) return [];
      const uri = pathToUri(schemaPath);
      const text = files.readText(uri);
      if (text === undefined) return [];
      const found = jsonPointerSpan(text, pointer);
      if (!found) return [];
      const source = new SourceFile(schemaPath, text);
      return [{ uri, range: toRange(source, { start: found.start, end: found.start }) }];
    }
    case "word":
      return [];
  }
}

/** Every occurrence of a let or rule: the declaration first, then the uses, across the policy and its tests. */
function occurrences(policy: PolicyAnalysis, project: Project, kind: "let" | "rule", name: string): { a: Analysis; span: Span }[] {
  const out: { a: Analysis; span: Span }[] = [];
  const model = policy.compilation.model;
  if (kind === "let") {
    const sym = model.lets.get(name);
    if (!sym) return [];
    if (sym.decl.name) out.push({ a: policy, span: sym.decl.name.span });
    for (const r of sym.references) out.push({ a: policy, span: r });
    return out;
  }
  const sym = model.rules.get(name);
  if (sym?.decl.name) out.push({ a: policy, span: sym.decl.name.span });
  for (const r of sym?.references ?? []) out.push({ a: policy, span: r });
  const tests = project.testsOf(policy);
  if (tests) for (const id of byReferences(tests.ast)) if (id.name === name) out.push({ a: tests, span: id.span });
  return out;
}

export function references(a: Analysis, project: Project, offset: number, includeDeclaration: boolean): Location[] {
  const target = targetAt(a, offset);
  const policy = project.policyOf(a);
  if (!target || !policy || (target.kind !== "let" && target.kind !== "rule")) return [];
  const all = occurrences(policy, project, target.kind, target.name);
  return (includeDeclaration ? all : all.slice(1)).map((o) => at(o.a, o.span));
}

/**
 * The occurrences in this document of what is at `offset`: a let or rule (its declaration as a
 * write, its uses as reads), or a field of the action (every read of the same path, as the
 * checker resolved them).
 */
export function documentHighlights(a: Analysis, project: Project, offset: number): DocumentHighlight[] {
  const target = targetAt(a, offset);
  const policy = project.policyOf(a);
  if (!target || !policy) return [];
  if (target.kind === "let" || target.kind === "rule") {
    return occurrences(policy, project, target.kind, target.name)
      .filter((o) => o.a.uri === a.uri)
      .map((o, i) => ({
        range: toRange(a.source, o.span),
        kind: i === 0 && o.a === policy && isDeclaration(policy, target.kind, target.name, o.span) ? DocumentHighlightKind.Write : DocumentHighlightKind.Read,
      }));
  }
  if (target.kind === "field" && a.kind === "policy") {
    const key = `${target.ref.root}:${target.ref.path.join(".")}`;
    return a.compilation.model.fieldReferences.filter((r) => `${r.root}:${r.path.join(".")}` === key).map((r) => ({ range: toRange(a.source, r.span), kind: DocumentHighlightKind.Read }));
  }
  return [];
}

function isDeclaration(policy: PolicyAnalysis, kind: "let" | "rule", name: string, span: Span): boolean {
  const decl = kind === "let" ? policy.compilation.model.lets.get(name)?.decl.name : policy.compilation.model.rules.get(name)?.decl.name;
  return decl?.span.start === span.start;
}

export function prepareRename(a: Analysis, project: Project, offset: number): { range: ReturnType<typeof toRange>; placeholder: string } | null {
  const imported = a.kind === "policy" ? importedAt(a, offset) : null;
  if (imported !== null) {
    refusePack(imported);
    return { range: toRange(a.source, imported.span), placeholder: imported.name };
  }
  const target = targetAt(a, offset);
  if (!target || (target.kind !== "let" && target.kind !== "rule")) return null;
  const policy = project.policyOf(a);
  if (!policy || (target.kind === "rule" && !policy.compilation.model.rules.has(target.name))) return null;
  return { range: toRange(a.source, target.span), placeholder: target.name };
}

/** Why a new name is refused, or `null` when it is fine. */
function renameProblem(policy: PolicyAnalysis, kind: "let" | "rule", oldName: string, newName: string): string | null {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(newName)) return `\`${newName}\` is not a name: use letters, digits and \`_\`, not starting with a digit`;
  if (keywordNames.has(newName) || facts.roots.some((r) => r.name === newName) || facts.functionFact(newName)) return `\`${newName}\` is a keyword`;
  if (newName === oldName) return null;
  const model = policy.compilation.model;
  if (kind === "let" && model.lets.has(newName)) return `there is already a let named \`${newName}\``;
  if (kind === "rule" && model.rules.has(newName)) return `there is already a rule named \`${newName}\``;
  if (kind === "let" && policy.compilation.schema && [...policy.compilation.schema.types.values()].some((t) => t.fields.has(newName))) {
    return `\`${newName}\` is the name of an action field; the let would hide it`;
  }
  return null;
}

/**
 * The edits of a rename. `workspace`: the policies that may import this one (URIs); a name that
 * is imported is renamed in them too (features/rename-imports.ts).
 */
export function rename(a: Analysis, project: Project, offset: number, newName: string, workspace: readonly string[] = []): WorkspaceEdit {
  const cross = crossFileTarget(a, project, workspace, offset);
  if (cross !== null) {
    const problem = renameProblem(cross.definition, cross.kind, cross.name, newName);
    if (problem) throw new ResponseError(-32602, `cannot rename: ${problem}`);
    return editsOf([...occurrences(cross.definition, project, cross.kind, cross.name), ...importerOccurrences(project, workspace, cross)], newName);
  }
  const target = targetAt(a, offset);
  const policy = project.policyOf(a);
  if (!target || !policy || (target.kind !== "let" && target.kind !== "rule")) throw new ResponseError(-32602, "only lets and rules can be renamed");
  const problem = renameProblem(policy, target.kind, target.name, newName);
  if (problem) throw new ResponseError(-32602, `cannot rename: ${problem}`);
  const changes: Record<string, TextEdit[]> = {};
  for (const o of occurrences(policy, project, target.kind, target.name)) {
    const edits = changes[o.a.uri] ?? [];
    edits.push({ range: toRange(o.a.source, o.span), newText: newName });
    changes[o.a.uri] = edits;
  }
  return { changes };
}
