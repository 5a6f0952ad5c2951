/**
 * Completion from the analysis: the cursor's context is what the compiler's grammar allows after
 * the tokens before it (`expectedAt`, Chevrotain's content assist over the parser), so a
 * half-typed file that has no tree yet still has one, and everything offered comes from the
 * compiler: the schema's action types and fields, narrowed to the action types
 * the checker knows at the cursor (`actionTypesAt`); lets; rules; the language's words and the
 * members of `time` (language facts); `current` only where the checker accepts it (`currentAllowedAt`).
 */

import {
  type AST,
  actionTypesAt,
  currentAllowedAt,
  currentTypesAt,
  type Expected,
  expectedAt,
  type FieldInfo,
  facts,
  keywordOfToken,
  type LocalSymbol,
  type NextToken,
  parse,
  typeName,
} from "@agent-armor/compiler";
import { type CompletionItem, CompletionItemKind, InsertTextFormat, MarkupKind } from "vscode-languageserver";
import type { Analysis, PolicyAnalysis, Project } from "../analysis.js";
import { importCompletion } from "./imports.js";
import { itemAt, pathsIn } from "./locate.js";

/** The roots a test gives: every root of the input but `current`, which only a history condition reads. */
const testSteps = [...facts.roots.filter((r) => r.name !== "current").map((r) => r.name), "history", "expect"];
/** What follows `expect`: a decision, or a value the decision carries (docs/language.md §13). */
const expectations = [...facts.decisions, "error", "approval from", "action", "result", "output", "labels"];

/** The stages after `rule NAME on` (language facts). */
function stageItems(): CompletionItem[] {
  return facts.stages.map((s, i) => ({ label: s.name, kind: CompletionItemKind.EnumMember, sortText: `${i}${s.name}`, documentation: { kind: MarkupKind.Markdown, value: s.doc } }));
}

/** The stage of a rule as written (`call` without `on`, or with an unknown stage). */
function ruleStage(item: AST.Item | null): "call" | "result" | "output" {
  const name = item?.kind === "rule" ? item.stage?.name : undefined;
  return name === "result" || name === "output" ? name : "call";
}

/** Whether a root is read in a rule of `stage`: `result` and `output` only in their own stages. */
function rootInStage(root: string, stage: "call" | "result" | "output"): boolean {
  if (root === "result" || root === "output") return root === stage;
  return stage !== "output" || root !== "action";
}

/** The fields under `path` of what the action types in scope return, from their `result` schemas. */
function resultFieldsOf(policy: PolicyAnalysis, types: ReadonlySet<string> | null, path: readonly string[]): CompletionItem[] {
  const found = new Map<string, { info: FieldInfo; types: string[] }>();
  for (const t of policy.compilation.schema?.types.values() ?? []) {
    if ((types && !types.has(t.name)) || t.result === null) continue;
    let map: ReadonlyMap<string, FieldInfo> | null = t.result.fields;
    for (const seg of path) map = map?.get(seg)?.fields ?? null;
    for (const [name, info] of map ?? []) {
      const entry = found.get(name) ?? { info, types: [] };
      entry.types.push(t.name);
      found.set(name, entry);
    }
  }
  return [...found].map(([name, e]) => fieldItem(name, e.info, e.types));
}

function keyword(label: string, sortText = "2"): CompletionItem {
  const doc = facts.wordDoc(label.split(" ")[0]!);
  return { label, kind: CompletionItemKind.Keyword, sortText: `${sortText}${label}`, ...(doc ? { documentation: { kind: MarkupKind.Markdown, value: doc } } : {}) };
}

function snippet(label: string, body: string, detail: string): CompletionItem {
  return { label, kind: CompletionItemKind.Snippet, insertText: body, insertTextFormat: InsertTextFormat.Snippet, detail, sortText: `0${label}` };
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: `${1:name}` is LSP snippet syntax, not a template
const ruleSnippet = snippet("rule", 'rule ${1:name}\n  when ${2:action.type == "${3:type}"}\n  ${4|deny,allow,require approval|} because "${5:reason}"', "a named rule");
// biome-ignore lint/suspicious/noTemplateCurlyInString: `${1:name}` is LSP snippet syntax, not a template
const testSnippet = snippet("test", 'test "${1:name}" {\n  action { type: "${2:type}" }\n  expect ${3|allow,deny,require_approval|}\n}', "a policy test");

/** The detectors `std.NAME` (language facts), with their docs. */
function detectorItems(): CompletionItem[] {
  return facts.detectors.map((d) => ({
    label: d.name,
    kind: CompletionItemKind.Constant,
    detail: `std.${d.name}`,
    documentation: { kind: MarkupKind.Markdown, value: `${d.doc}\n\n\`${d.example}\`` },
  }));
}

/** A function, inserted with a placeholder for each parameter that is not optional: `count(${1} within ${2:1h})`, `any(${1:x} in ${2}: ${3})`. */
function functionItem(fn: facts.FunctionFact): CompletionItem {
  let n = 0;
  const placeholder = (p: facts.ParameterFact): string => {
    if (p.type === "duration") return `within \${${++n}:1h}`;
    if (p.type === "name") return `\${${++n}:x} in`;
    if (p.type === "list") return `\${${++n}}:`;
    if (p.label.startsWith("where ")) return `where \${${++n}}`;
    if (p.type === "string") return `"\${${++n}}"`;
    return `\${${++n}}`;
  };
  const args = fn.parameters.filter((p) => !p.optional).map(placeholder);
  return {
    label: fn.name,
    kind: CompletionItemKind.Function,
    insertText: `${fn.name}(${args.join(" ")})`,
    insertTextFormat: InsertTextFormat.Snippet,
    sortText: `3${fn.name}`,
    documentation: { kind: MarkupKind.Markdown, value: `${fn.doc}\n\n\`\`\`armor\n${fn.example}\n\`\`\`` },
  };
}

/** A JSON-ish string of the value a let folds to, for details. */
function showValue(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "?" : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function fieldItem(name: string, info: FieldInfo | null, types: readonly string[]): CompletionItem {
  const lines: string[] = [];
  if (info?.description) lines.push(info.description);
  if (info?.values) lines.push(`values: ${info.values.map((v) => JSON.stringify(v)).join(", ")}`);
  if (types.length > 0) lines.push(`in ${types.map((t) => `\`${t}\``).join(", ")}`);
  return {
    label: name,
    kind: CompletionItemKind.Field,
    detail: info ? typeName(info.type) : "a string",
    sortText: `1${name}`,
    ...(lines.length > 0 ? { documentation: { kind: MarkupKind.Markdown, value: lines.join("\n\n") } } : {}),
  };
}

/** The fields under `path` of the given action types (all types when `null`). */
function fieldsOf(policy: PolicyAnalysis, types: ReadonlySet<string> | null, path: readonly string[]): CompletionItem[] {
  const schema = policy.compilation.schema;
  const found = new Map<string, { info: FieldInfo | null; types: string[] }>();
  if (path.length === 0) found.set("type", { info: null, types: [] });
  if (schema) {
    for (const t of schema.types.values()) {
      if (types && !types.has(t.name)) continue;
      let map: ReadonlyMap<string, FieldInfo> | null = t.fields;
      for (const seg of path) map = map?.get(seg)?.fields ?? null;
      for (const [name, info] of map ?? []) {
        if (path.length === 0 && name === "type") continue;
        const entry = found.get(name) ?? { info, types: [] };
        entry.types.push(t.name);
        found.set(name, entry);
      }
    }
  }
  const all = schema ? schema.types.size : 0;
  return [...found].map(([name, e]) => fieldItem(name, e.info, e.types.length === all && types === null ? [] : e.types));
}

function actionTypeItems(policy: PolicyAnalysis | null): CompletionItem[] {
  return [...(policy?.compilation.schema?.types.values() ?? [])].map((t) => ({
    label: t.name,
    kind: CompletionItemKind.EnumMember,
    detail: "action type",
    ...(t.description ? { documentation: t.description } : {}),
  }));
}

function letItems(policy: PolicyAnalysis): CompletionItem[] {
  return [...policy.compilation.model.lets.values()].map((l) => ({
    label: l.name,
    kind: CompletionItemKind.Constant,
    detail: `let ${l.name} = ${showValue(l.value)}`,
    sortText: `1${l.name}`,
  }));
}

/**
 * The locals of `any(x in L: C)` / `all(...)` whose condition is around `offset`, innermost last
 * (a half-typed condition, still a hole, counts from its colon to the end of the quantifier).
 */
function localsAt(policy: PolicyAnalysis, offset: number): LocalSymbol[] {
  return policy.compilation.model.locals.filter((l) => l.scope.start <= offset && offset <= Math.max(l.scope.end, l.within.end));
}

function localItems(locals: readonly LocalSymbol[]): CompletionItem[] {
  return locals.map((l) => ({
    label: l.name,
    kind: CompletionItemKind.Variable,
    detail: `an element of ${l.listText}${l.element ? `: ${typeName(l.type)}` : ""}`,
    sortText: `0${l.name}`,
  }));
}

/** The fields under `path` of a local's elements, when the schema describes them. */
function localFields(local: LocalSymbol, path: readonly string[]): CompletionItem[] {
  let info: FieldInfo | null = local.element;
  for (const seg of path) info = info?.fields?.get(seg) ?? null;
  return [...(info?.fields ?? [])].map(([name, f]) => fieldItem(name, f, []));
}

function ruleItems(policy: PolicyAnalysis | null): CompletionItem[] {
  const out: CompletionItem[] = [];
  for (const r of policy?.compilation.policy.rules ?? []) {
    if (r.anonymous) continue;
    out.push({ label: r.id, kind: CompletionItemKind.Function, detail: `${r.effect.kind}${r.reason ? ` because ${JSON.stringify(r.reason)}` : ""}` });
  }
  return out;
}

/** What may follow `per` in a history function: the roots a scope's field is read from, and `deployment`. */
function scopeItems(): CompletionItem[] {
  const roots = facts.roots.filter((r) => r.name === "user" || r.name === "context" || r.name === "action");
  return [
    ...roots.map((r) => ({ label: r.name, kind: CompletionItemKind.Module, sortText: `1${r.name}`, documentation: r.doc })),
    { label: "deployment", kind: CompletionItemKind.Keyword, sortText: "2deployment", documentation: { kind: MarkupKind.Markdown, value: facts.keywordFact("deployment")!.doc } },
  ];
}

// ---- narrowing ------------------------------------------------------------------------------

/** The action types in scope at `offset`, as the checker narrowed them (`action.type` tests before it). */
function typesInScope(policy: PolicyAnalysis, item: AST.Item | null, offset: number): ReadonlySet<string> | null {
  return actionTypesAt(policy.compilation.model, item, offset);
}

/** The names read after `user.` or `context.` elsewhere in the file. */
function membersOf(ast: AST.FileNode, root: string, path: readonly string[], offset: number): string[] {
  const found = new Set<string>();
  const visit = (e: AST.PathExpr): void => {
    const names = e.segments.map((s) => s.name);
    // not the path being typed (`user.` + the next line's word)
    if (e.span.start <= offset && offset <= e.span.end) return;
    if (names[0] === root && names.length > path.length + 1 && path.every((p, i) => names[i + 1] === p)) found.add(names[path.length + 1]!);
  };
  for (const item of ast.items) if (item.kind === "rule") pathsIn(item.condition, visit);
  return [...found].sort();
}

// ---- `current` ------------------------------------------------------------------------------

/**
 * Whether `current.F` may be written from `start` (where the word or path being typed begins) to
 * `offset`: the compiler decides it on the text with `current.x` in that place, parsed again (the
 * half-typed text around the cursor is what the tree of the file cannot yet hold).
 */
function currentAllowed(a: Analysis, start: number, offset: number): boolean {
  if (a.kind !== "policy") return false;
  const probe = `${a.text.slice(0, start)}current.x${a.text.slice(offset)}`;
  const parsed = parse(a.compilation.syntax.fileName, probe, a.compilation.syntax);
  const at = start + "current".length;
  return currentAllowedAt(itemAt(parsed.ast, at), at);
}

// ---- contexts -------------------------------------------------------------------------------

type Before = Expected["before"];

function memberCompletion(a: Analysis, policy: PolicyAnalysis | null, item: AST.Item | null, offset: number, path: string[], pathStart: number): CompletionItem[] {
  const root = path[0]!;
  if (root === "time" && path.length === 1) {
    return facts.timeFields.map((m) => ({ label: m.name, kind: CompletionItemKind.Property, detail: m.type, documentation: m.doc }));
  }
  if (root === "user" || root === "context") {
    return membersOf(a.kind === "policy" ? a.compilation.ast : (policy?.compilation.ast ?? a.ast), root, path.slice(1), offset).map((name) => ({
      label: name,
      kind: CompletionItemKind.Property,
      detail: `used in this policy`,
    }));
  }
  if (root === "session" && path.length === 1) return [{ label: "labels", kind: CompletionItemKind.Property, detail: "list of strings", documentation: facts.wordDoc("session") }];
  if (root === "output") {
    const used = membersOf(a.kind === "policy" ? a.compilation.ast : (policy?.compilation.ast ?? a.ast), root, path.slice(1), offset);
    const text: CompletionItem[] = path.length === 1 ? [{ label: "text", kind: CompletionItemKind.Property, detail: "string", documentation: facts.wordDoc("output") }] : [];
    return [...text, ...used.filter((n) => n !== "text").map((name) => ({ label: name, kind: CompletionItemKind.Property, detail: "used in this policy" }))];
  }
  if (!policy) return [];
  if (root === "result") return resultFieldsOf(policy, a.kind === "policy" ? typesInScope(policy, item, offset) : null, path.slice(1));
  // a local of `any`/`all` (the innermost of that name)
  const local = a.kind === "policy" ? [...localsAt(policy, offset)].reverse().find((l) => l.name === root) : undefined;
  if (local) return localFields(local, path.slice(1));
  // the current action inside a history condition, where the checker accepts it: the fields of the types the rule is narrowed to there
  if (root === "current") return a.kind === "policy" && currentAllowed(a, pathStart, offset) ? fieldsOf(policy, currentTypesAt(policy.compilation.model, item, offset), path.slice(1)) : [];
  if (root === "action") return fieldsOf(policy, a.kind === "policy" ? typesInScope(policy, item, offset) : null, path.slice(1));
  // a bare field with members (`beneficiary.`)
  return fieldsOf(policy, a.kind === "policy" ? typesInScope(policy, item, offset) : null, path);
}

/** The path before a trailing dot (`action.beneficiary.` → `action`, `beneficiary`), with where it starts; null without one. */
function memberPath(before: Before): { path: string[]; start: number } | null {
  let i = before.length - 1;
  if (before[i]?.image !== ".") return null;
  const path: string[] = [];
  let start = -1;
  while (i >= 1 && before[i]!.image === "." && /^[A-Za-z_]\w*$/.test(before[i - 1]!.image)) {
    path.unshift(before[i - 1]!.image);
    start = before[i - 1]!.start;
    i -= 2;
  }
  return path.length > 0 ? { path, start } : null;
}

/** Whether a string being typed is an action type: after `type ==`/`!=`, in `type [not] in [...]`, or as `type:` in test data. */
function actionTypeString(before: Before): boolean {
  const at = (k: number): string | undefined => before[before.length - k]?.image;
  if (at(2) === "type" && (at(1) === "==" || at(1) === "!=" || at(1) === ":")) return true;
  let i = before.length - 1;
  while (i >= 1 && before[i]!.image === "," && before[i - 1]!.image.startsWith('"')) i -= 2;
  if (before[i]?.image !== "[") return false;
  i--;
  if (before[i]?.image !== "in") return false;
  if (before[i - 1]?.image === "not") i--;
  return before[i - 1]?.image === "type";
}

/** Whether a grammar path is inside one of `rules`. */
const within = (n: NextToken, ...rules: string[]): boolean => n.rules.some((r) => rules.includes(r));
const isName = (n: NextToken): boolean => n.token === "Identifier" || n.token === "Name";
const innermost = (n: NextToken): string => n.rules[n.rules.length - 1] ?? "";

/** Item starts: the tokens that begin a top-level item (an anonymous rule's `when` too). */
const itemStarts = new Set(["Policy", "Schema", "Default", "Timezone", "Let", "Rule", "Test", "Import", "Param", "Disable", "Override", "Property"]);
function startsItem(n: NextToken): boolean {
  return itemStarts.has(n.token) || (n.token === "When" && innermost(n) === "anonymousRule");
}

/** What may start an operand in a rule's condition or a let's value. */
function operandItems(a: Analysis, policy: PolicyAnalysis, item: AST.Item | null, offset: number, wordStart: number): CompletionItem[] {
  const out: CompletionItem[] = [...letItems(policy)];
  if (item?.kind === "rule" && a.kind === "policy") {
    out.push(...localItems(localsAt(policy, offset)));
    const stage = ruleStage(item);
    if (stage !== "output") out.push(...fieldsOf(policy, typesInScope(policy, item, offset), []));
    const withCurrent = currentAllowed(a, wordStart, offset);
    for (const root of facts.roots) {
      if (rootInStage(root.name, stage) && (root.name !== "current" || withCurrent))
        out.push({ label: root.name, kind: CompletionItemKind.Module, sortText: `3${root.name}`, documentation: root.doc });
    }
    // a pattern function (`glob`) goes after `matches`, not where a value goes
    for (const fn of facts.functions) if (fn.result !== "pattern") out.push(functionItem(fn));
    out.push(keyword("not", "4"));
  }
  out.push(keyword("true", "4"), keyword("false", "4"), keyword("null", "4"));
  return out;
}

/** The word a keyword token offers where it may come next (`require approval` as one). */
function keywordWord(n: NextToken): string | null {
  if (n.token === "Require") return "require approval";
  if (n.token === "Not") return innermost(n) === "comparison" ? "not in" : "not";
  if (n.token === "Approval" && innermost(n) === "expectStep") return "approval from";
  return keywordOfToken.get(n.token) ?? null;
}

/** The order of keywords in a list: effects first, then clauses, then operators. */
function keywordRank(word: string): string {
  if (facts.effects.includes(word)) return "1";
  const role = facts.keywordFact(word.split(" ")[0]!)?.role;
  return role === "operator" ? "3" : "2";
}

/** Suggestions for what the grammar allows next (`next`), in the item around the cursor. */
function grammarCompletion(a: Analysis, policy: PolicyAnalysis | null, item: AST.Item | null, offset: number, ex: Expected): CompletionItem[] {
  const text = a.text;
  const lineStart = Math.max(text.lastIndexOf("\n", ex.wordStart - 1), text.lastIndexOf("\r", ex.wordStart - 1)) + 1;
  const atColumn0 = lineStart === ex.wordStart;
  const out: CompletionItem[] = [];
  const words = new Set<string>();
  const add = (items: CompletionItem[]): void => {
    for (const i of items) {
      if (words.has(i.label)) continue;
      words.add(i.label);
      out.push(i);
    }
  };
  // a line at column 0 may always begin a new item, whatever comes before it (parse.ts parses each
  // item line's stretch on its own): what may start a file
  const starts = atColumn0 ? expectedAt("", 0).next : [];
  // names first: where an operand may start, its words (`not`, `true`) are listed with the fields
  const next = [...ex.next, ...starts].sort((x, y) => Number(!isName(x)) - Number(!isName(y)));
  for (const n of next) {
    // test data (`action { ... }`) takes literals of its own: nothing to offer
    if (within(n, "value", "objectValue", "listValue")) continue;
    // a top-level item begins only on a line of its own, at column 0 (docs/language.md §3.1)
    if (startsItem(n)) {
      if (!atColumn0 || (a.kind === "tests" && n.token !== "Test")) continue;
      add([n.token === "Rule" ? ruleSnippet : n.token === "Test" ? testSnippet : keyword(keywordWord(n)!, "2")]);
      continue;
    }
    const where = innermost(n);
    if (n.token === "Expect" || n.token === "History") {
      add(testSteps.map((k) => keyword(k, "1")));
      continue;
    }
    if (within(n, "expectStep") && n.token !== "By" && n.token !== "Name" && n.token !== "StringLiteral") {
      add(expectations.map((k) => keyword(k, "1")));
      continue;
    }
    if (n.token === "Name" && where === "expectStep") {
      add(ruleItems(policy));
      continue;
    }
    if (n.token === "Identifier" || n.token === "Name") {
      if (where === "testStep") add(testSteps.map((s) => keyword(s, "1")));
      else if (where === "pattern") add([keyword("std", "1"), functionItem(facts.functionFact("glob")!)]);
      else if (where === "ruleDecl" && ex.before[ex.before.length - 1]?.image === "on") add(stageItems());
      else if (where === "path" && ex.before[ex.before.length - 1]?.image === "per") add(scopeItems());
      else if (policy && within(n, "operand") && within(n, "ruleDecl", "anonymousRule", "letDecl")) add(operandItems(a, policy, item, offset, ex.wordStart));
      else if (policy && where === "redactEffect") add(letItems(policy));
      // `require approval from NAME`: the params and lets that hold a string (a group)
      else if (policy && where === "path" && within(n, "approvalEffect") && !within(n, "grantClause"))
        add(letItems(policy).filter((i) => typeof policy.compilation.model.lets.get(i.label)?.value === "string"));
      continue;
    }
    const word = keywordWord(n);
    if (word !== null) add([keyword(word, keywordRank(word))]);
  }
  return out;
}

function stringCompletion(policy: PolicyAnalysis | null, ex: Expected): CompletionItem[] {
  return actionTypeString(ex.before) ? actionTypeItems(policy) : [];
}

export function completion(a: Analysis, project: Project, offset: number): CompletionItem[] {
  const imported = a.kind === "policy" ? importCompletion(a, offset) : null;
  if (imported !== null) return imported;
  const ex = expectedAt(a.text, offset);
  const policy = project.policyOf(a);
  if (ex.inside === "string") return stringCompletion(policy, ex);
  if (ex.inside !== null) return [];
  const ast = a.kind === "policy" ? a.compilation.ast : a.ast;
  // the item being edited: the one around the cursor, or the last one before it when the grammar
  // says the cursor is still in an item (a half-typed one ends before the cursor)
  let item = itemAt(ast, offset);
  const inItem = ex.next.some((n) => within(n, "ruleDecl", "anonymousRule", "letDecl", "testDecl"));
  if (!item && inItem) item = [...ast.items].reverse().find((i) => i.span.start <= offset) ?? null;

  const member = memberPath(ex.before);
  if (member) {
    // `std.`: the detectors, where a pattern goes
    if (member.path.length === 1 && member.path[0] === "std" && ex.next.some((n) => n.token === "Name" && n.rules.includes("pattern"))) return detectorItems();
    if (!ex.next.some((n) => n.token === "Name")) return [];
    return memberCompletion(a, policy, item, offset, member.path, member.start);
  }
  return grammarCompletion(a, policy, item, offset, ex);
}
