/**
 * Semantic tokens: the compiler's lexer tokens (from `parse`), classified with the semantic
 * model: lets, rules, fields, roots and functions; comments from the AST. Effects (`allow`,
 * `deny`, `require approval`, `redact`, `label`) have a token type of their own, `effect` (a
 * `keyword` to clients that do not know it; the VS Code extension maps it to the TextMate scope
 * `keyword.control.effect.armor`), so that themes colour them apart from other keywords.
 */
import { type AST, facts, parse } from "@agent-armor/compiler";
import type { SemanticTokens, SemanticTokensLegend } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { byReferences } from "./locate.js";

export const tokenTypes = ["keyword", "string", "number", "regexp", "comment", "variable", "function", "property", "operator", "namespace", "enumMember", "effect"] as const;
export const tokenModifiers = ["declaration", "readonly"] as const;
export const legend: SemanticTokensLegend = { tokenTypes: [...tokenTypes], tokenModifiers: [...tokenModifiers] };

type TokenType = (typeof tokenTypes)[number];
const DECLARATION = 1;
const READONLY = 2;

interface Classified {
  start: number;
  length: number;
  type: TokenType;
  modifiers: number;
}

interface LexToken {
  readonly image: string;
  readonly startOffset: number;
  readonly tokenType: { readonly name: string };
}

const operatorTokens = new Set(["Eq", "NotEq", "LtEq", "GtEq", "Lt", "Gt", "Assign"]);
/** Tokens that are always an effect or a decision; `approval` after `require` and `label` as an effect are found in context. */
const effectTokens = new Set(["Allow", "Deny", "Require", "Redact"]);

/** The starts of `label` effects (a soft keyword, a field name elsewhere). */
function labelEffects(ast: AST.FileNode): Set<number> {
  const out = new Set<number>();
  for (const item of ast.items) if (item.kind === "rule" && item.effect?.kind === "label") out.add(item.effect.span.start);
  return out;
}

export function semanticTokens(a: Analysis): SemanticTokens {
  const tokens = parse(a.source.name, a.text).tokens as readonly LexToken[];
  const ast = a.kind === "policy" ? a.compilation.ast : a.ast;
  const roles = new Map<number, { type: TokenType; modifiers: number }>();
  if (a.kind === "policy") {
    const model = a.compilation.model;
    for (const sym of model.lets.values()) {
      if (sym.decl.name) roles.set(sym.decl.name.span.start, { type: "variable", modifiers: DECLARATION | READONLY });
      for (const r of sym.references) roles.set(r.start, { type: "variable", modifiers: READONLY });
    }
    for (const sym of model.rules.values()) {
      if (sym.decl.name) roles.set(sym.decl.name.span.start, { type: "function", modifiers: DECLARATION });
      for (const r of sym.references) roles.set(r.start, { type: "function", modifiers: 0 });
    }
  }
  for (const id of byReferences(ast)) roles.set(id.span.start, { type: "function", modifiers: 0 });

  const labels = labelEffects(ast);
  const out: Classified[] = [];
  let previous: LexToken | undefined;
  for (const t of tokens) {
    const name = t.tokenType.name;
    const start = t.startOffset;
    const length = t.image.length;
    const role = roles.get(start);
    let type: TokenType | null = null;
    let modifiers = 0;
    const effect =
      a.text[start - 1] !== "." &&
      (effectTokens.has(name) ||
        (name === "Approval" && previous?.tokenType.name === "Require") ||
        (name === "Label" && labels.has(start)) ||
        (t.image === "require_approval" && previous?.tokenType.name === "Expect"));
    previous = t;
    if (role) ({ type, modifiers } = role);
    else if (effect) type = "effect";
    else if (name === "StringLiteral" || name === "SingleQuotedString") type = "string";
    else if (name === "NumberLiteral" || name === "DurationLiteral" || name === "MalformedNumber") type = "number";
    else if (name === "RegexLiteral") type = "regexp";
    else if (operatorTokens.has(name)) type = "operator";
    else if (/^[A-Za-z_]/.test(t.image)) {
      const afterDot = a.text[start - 1] === ".";
      const beforeColon = /^\s*:/.test(a.text.slice(start + length, start + length + 8));
      if (afterDot || beforeColon) type = "property";
      else if (name !== "Identifier") type = "keyword";
      else if (facts.roots.some((r) => r.name === t.image)) type = "namespace";
      else if (facts.functionFact(t.image) && a.text[start + length] === "(") type = "function";
      else type = "property"; // a bare field
    }
    if (type) out.push({ start, length, type, modifiers });
  }
  for (const c of ast.comments) {
    // one token per line: multi-line tokens are not assumed
    let s = c.span.start;
    for (const line of c.text.split("\n")) {
      if (line.length > 0) out.push({ start: s, length: line.replace(/\r$/, "").length, type: "comment", modifiers: 0 });
      s += line.length + 1;
    }
  }
  out.sort((x, y) => x.start - y.start);
  const data: number[] = [];
  let prevLine = 0;
  let prevChar = 0;
  for (const t of out) {
    const p = a.source.positionAt(t.start);
    const dl = p.line - prevLine;
    data.push(dl, dl === 0 ? p.column - prevChar : p.column, t.length, tokenTypes.indexOf(t.type), t.modifiers);
    prevLine = p.line;
    prevChar = p.column;
  }
  return { data };
}
