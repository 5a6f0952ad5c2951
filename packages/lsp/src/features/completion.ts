/**
 * Completion from the analysis: the cursor's context is read from the text just before it (what
 * is being typed, which the tree of a half-typed file cannot yet hold) and everything offered
 * comes from the compiler: the schema's action types and fields, narrowed to the action types
 * the checker knows at the cursor (`actionTypesAt`); lets; rules; the language's words and the
 * members of `time` (language facts); `current` only where the checker accepts it (`currentAllowedAt`).
 */
import { type AST, actionTypesAt, currentAllowedAt, currentTypesAt, type FieldInfo, facts, type LocalSymbol, parse, typeName } from "@agent-armor/compiler";
import { type CompletionItem, CompletionItemKind, InsertTextFormat, MarkupKind } from "vscode-languageserver";
import type { Analysis, PolicyAnalysis, Project } from "../analysis.js";
import { itemAt } from "./locate.js";

const wordsOf = (role: facts.KeywordRole): string[] => facts.keywords.filter((k) => k.role === role && k.kind !== "contextual").map((k) => k.word);
/** At the start of a line: the items, and `when` on the line after `rule NAME`. */
const itemKeywords = [...wordsOf("item"), "when"];
/** After a rule's condition: the operators go on, `within` closes a history condition. */
const operators = [...wordsOf("operator"), "not in", "within"];
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

// ---- narrowing ------------------------------------------------------------------------------

/** The action types in scope at `offset`, as the checker narrowed them (`action.type` tests before it). */
function typesInScope(policy: PolicyAnalysis, item: AST.Item | null, offset: number): ReadonlySet<string> | null {
  return actionTypesAt(policy.compilation.model, item, offset);
}

/** The names read after `user.` or `context.` elsewhere in the file. */
function membersOf(ast: AST.FileNode, root: string, path: readonly string[], offset: number): string[] {
  const found = new Set<string>();
  const visit = (e: AST.Expr): void => {
    switch (e.kind) {
      case "path": {
        const names = e.segments.map((s) => s.name);
        // not the path being typed (`user.` + the next line's word)
        if (e.span.start <= offset && offset <= e.span.end) break;
        if (names[0] === root && names.length > path.length + 1 && path.every((p, i) => names[i + 1] === p)) found.add(names[path.length + 1]!);
        break;
      }
      case "list":
        e.elements.forEach(visit);
        break;
      case "call":
        visit(e.argument);
        if (e.clause) visit(e.clause.expr);
        break;
      case "not":
        visit(e.operand);
        break;
      case "and":
      case "or":
        e.operands.forEach(visit);
        break;
      case "compare":
        visit(e.left);
        visit(e.right);
        break;
      case "between":
        visit(e.value);
        visit(e.low);
        visit(e.high);
        break;
      case "matches":
        visit(e.value);
        break;
      case "paren":
        visit(e.expr);
        break;
      case "quantifier":
        visit(e.list);
        visit(e.condition);
        break;
      case "arith":
        visit(e.left);
        visit(e.right);
        break;
    }
  };
  for (const item of ast.items) if (item.kind === "rule") visit(item.condition);
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

const operandBefore = /(?:\bwhen|\band|\bor|\bnot|\bin|\bcontains|\bstarts_with|\bends_with|\bbetween|==|!=|<=|>=|<|>|\(|\[|,|:|\+|-|\*|\/)\s*$/;

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

function testCompletion(a: Analysis, policy: PolicyAnalysis | null, before: string, lineBefore: string): CompletionItem[] {
  if (/\bexpect\s+(?:allow|deny|require_approval)\s+by\s+(?:\w+\s*,\s*)*\w*$/.test(before)) return ruleItems(policy);
  if (/\bexpect\s+(?:allow|deny|require_approval)\s+\w*$/.test(lineBefore)) return [keyword("by")];
  if (/\bexpect\s+\w*$/.test(lineBefore)) return expectations.map((k) => keyword(k, "1"));
  if (/^\s*\w*$/.test(lineBefore)) {
    const insideTest = a.ast.items.some((i) => i.kind === "test" && i.span.start < before.length && before.length <= i.span.end) || /^\s+\w*$/.test(lineBefore);
    return insideTest ? testSteps.map((s) => keyword(s, "1")) : [testSnippet, keyword("test")];
  }
  return [];
}

export function completion(a: Analysis, project: Project, offset: number): CompletionItem[] {
  const text = a.text;
  const before = text.slice(0, offset);
  const lineBefore = before.slice(before.lastIndexOf("\n") + 1);
  const policy = project.policyOf(a);
  const ast = a.kind === "policy" ? a.compilation.ast : a.ast;
  // the item being edited: the one around the cursor, or the last one before it on an indented line
  let item = itemAt(ast, offset);
  if (!item && /^\s/.test(lineBefore)) item = [...ast.items].reverse().find((i) => i.span.start <= offset) ?? null;

  // inside a string: action type names after `type ==`, `type in [`, `type:`
  const quotes = (lineBefore.replace(/\\./g, "").match(/"/g) ?? []).length;
  if (quotes % 2 === 1) {
    if (/\btype\s*(?:==|!=)\s*"[^"]*$/.test(lineBefore) || /\btype\s+(?:not\s+)?in\s*\[[^\]]*"[^"]*$/.test(lineBefore) || /\btype\s*:\s*"[^"]*$/.test(lineBefore)) {
      return actionTypeItems(policy);
    }
    return [];
  }
  if (/\/\/.*$/.test(lineBefore)) return [];

  // `std.`: the detectors, after `matches` or `matching`
  if (/\b(?:matches|matching)\s+std\.\w*$/.test(lineBefore)) return detectorItems();

  const member = /\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(\w*)$/.exec(lineBefore);
  if (member) return memberCompletion(a, policy, item, offset, member[1]!.split("."), offset - member[0].length);

  if (a.kind === "tests" || item?.kind === "test") return testCompletion(a, policy, before, lineBefore);
  if (!policy || a.kind !== "policy") return [];

  if (/^\w*$/.test(lineBefore)) return [ruleSnippet, testSnippet, ...itemKeywords.map((k) => keyword(k))];
  // `rule NAME on `: the stages; `rule NAME on STAGE `: `when` (the half-typed rule may not be an item yet)
  if (/^rule\s+\w+\s+\w*$/.test(lineBefore) && !/^rule\s+\w+\s+on\s/.test(lineBefore)) return [keyword("when", "1"), keyword("on", "2")];
  if (/^rule\s+\w+\s+on\s+\w*$/.test(lineBefore)) return stageItems();
  if (/^rule\s+\w+\s+on\s+\w+\s+\w*$/.test(lineBefore)) return [keyword("when", "1")];
  if (/\bdefault\s+\w*$/.test(lineBefore)) return [keyword("allow", "1"), keyword("deny", "1"), keyword("require approval", "1")];
  // after `matches` or `matching`: a pattern (`std.`, `glob(...)`)
  if (/\b(?:matches|matching)\s+\w*$/.test(lineBefore)) return [keyword("std", "1"), functionItem(facts.functionFact("glob")!)];
  if (/\brequire\s+\w*$/.test(lineBefore)) return [keyword("approval", "1")];

  const typed = /\w*$/.exec(before)![0];
  const head = before.slice(0, before.length - typed.length);
  if (item?.kind === "rule" || item?.kind === "let") {
    if (item.kind === "rule" && item.name && head.trimEnd().endsWith(item.name.name) && /^\s*rule\s+\w+\s*$/.test(text.slice(item.span.start, head.length)))
      return [keyword("when", "1"), keyword("on", "2")];
    if (item.kind === "let" || operandBefore.test(head)) {
      const out: CompletionItem[] = [...letItems(policy)];
      if (item.kind === "rule") {
        out.push(...localItems(localsAt(policy, offset)));
        const stage = ruleStage(item);
        if (stage !== "output") out.push(...fieldsOf(policy, typesInScope(policy, item, offset), []));
        const withCurrent = currentAllowed(a, head.length, offset);
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
    if (item.kind === "rule") {
      const afterEffect = item.effect !== null && item.effect.span.end <= head.length;
      if (afterEffect)
        return [
          keyword("because", "1"),
          ...(item.effect?.kind === "require_approval" ? [keyword("from"), keyword("timeout")] : []),
          ...(item.effect?.kind === "redact" ? [keyword("matching"), keyword("with")] : []),
        ];
      return [...facts.effects.map((e) => keyword(e, "1")), keyword("because", "2"), ...operators.map((o) => keyword(o, "3"))];
    }
  }
  return [ruleSnippet, testSnippet, ...itemKeywords.map((k) => keyword(k))];
}
