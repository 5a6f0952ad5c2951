/**
 * Semantic tokens: the compiler's lexer tokens (from `parse`), classified with the semantic
 * model: lets, rules, fields, roots and functions; comments from the AST. Effects (`allow`,
 * `deny`, `require approval`, `redact`, `label`) have a token type of their own, `effect` (a
 * `keyword` to clients that do not know it; the VS Code extension maps it to the TextMate scope
 * `keyword.control.effect.armor`), so that themes colour them apart from other keywords.
 */
import { type AST, facts } from "@agent-armor/compiler";
import { type Range, type SemanticTokens, SemanticTokensBuilder, type SemanticTokensDelta, type SemanticTokensLegend } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { toOffset } from "../positions.js";
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

/** The file's tokens, classified and in order: computed once per analysis, for full requests. */
const classifiedOf = new WeakMap<Analysis, readonly Classified[]>();

function classified(a: Analysis): readonly Classified[] {
  let out = classifiedOf.get(a);
  if (out === undefined) {
    out = classify(a, 0, a.text.length);
    classifiedOf.set(a, out);
  }
  return out;
}

/** The roles the semantic model gives names: lets, rules, `by` references. */
function rolesOf(a: Analysis, ast: AST.FileNode): Map<number, { type: TokenType; modifiers: number }> {
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
    // a bare field named like a soft keyword (`label == "x"`, `from == "a"`) is a field there
    for (const ref of model.fieldReferences) {
      const head = /^[A-Za-z_]\w*/.exec(a.text.slice(ref.span.start, ref.span.start + 64))?.[0];
      if (head !== undefined && ref.path[0] === head && ref.root !== "result") roles.set(ref.span.start, { type: "property", modifiers: 0 });
    }
  }
  for (const id of byReferences(ast)) roles.set(id.span.start, { type: "function", modifiers: 0 });
  return roles;
}

/** The index of the first element whose end (`endOf`) is after `offset`, in a list ordered by position. */
function firstEndingAfter<T>(list: readonly T[], offset: number, endOf: (x: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (endOf(list[mid]!) <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The tokens and comments that overlap `[from, to)`, classified, in order. */
function classify(a: Analysis, from: number, to: number): Classified[] {
  const tokens = a.syntax.tokens as readonly LexToken[];
  const ast = a.kind === "policy" ? a.compilation.ast : a.ast;
  const roles = rolesOf(a, ast);
  const labels = labelEffects(ast);
  const text = a.text;
  const out: Classified[] = [];
  const first = firstEndingAfter(tokens, from, (t) => t.startOffset + t.image.length);
  let previous: LexToken | undefined = tokens[first - 1];
  for (let i = first; i < tokens.length && tokens[i]!.startOffset < to; i++) {
    const t = tokens[i]!;
    const name = t.tokenType.name;
    const start = t.startOffset;
    const length = t.image.length;
    const role = roles.get(start);
    const afterDot = text.charCodeAt(start - 1) === 46;
    const effect =
      !afterDot &&
      (effectTokens.has(name) ||
        (name === "Approval" && previous?.tokenType.name === "Require") ||
        (name === "Label" && labels.has(start)) ||
        (t.image === "require_approval" && previous?.tokenType.name === "Expect"));
    // `std.NAME` where a pattern goes: a namespace and its detector
    const std = (k: number): boolean => {
      const head = tokens[k];
      const before = tokens[k - 1]?.tokenType.name;
      return head?.image === "std" && text.charCodeAt(head.startOffset - 1) !== 46 && (before === "Matches" || before === "Matching");
    };
    previous = t;
    let type: TokenType | null = null;
    let modifiers = 0;
    if (role) ({ type, modifiers } = role);
    else if (effect) type = "effect";
    else if (std(i) && tokens[i + 1]?.image === ".") type = "namespace";
    else if (afterDot && tokens[i - 1]?.image === "." && std(i - 2) && facts.detectorFact(t.image)) type = "enumMember";
    else if (name === "StringLiteral" || name === "SingleQuotedString") type = "string";
    else if (name === "NumberLiteral" || name === "DurationLiteral" || name === "MalformedNumber") type = "number";
    else if (name === "RegexLiteral") type = "regexp";
    else if (operatorTokens.has(name)) type = "operator";
    else if (/^[A-Za-z_]/.test(t.image)) {
      const beforeColon = /^\s*:/.test(text.slice(start + length, start + length + 8));
      if (afterDot || beforeColon) type = "property";
      else if (name !== "Identifier") type = "keyword";
      else if (facts.roots.some((r) => r.name === t.image)) type = "namespace";
      else if (facts.functionFact(t.image) && text[start + length] === "(") type = "function";
      else type = "property"; // a bare field
    }
    if (type) out.push({ start, length, type, modifiers });
  }
  const comments = ast.comments;
  for (let i = firstEndingAfter(comments, from, (c) => c.span.end); i < comments.length && comments[i]!.span.start < to; i++) {
    const c = comments[i]!;
    // one token per line: multi-line tokens are not assumed
    let s = c.span.start;
    for (const line of c.text.split("\n")) {
      const length = line.replace(/\r$/, "").length;
      if (length > 0 && s + length > from && s < to) out.push({ start: s, length, type: "comment", modifiers: 0 });
      s += line.length + 1;
    }
  }
  return out.sort((x, y) => x.start - y.start);
}

const typeIndex = new Map<TokenType, number>(tokenTypes.map((t, i) => [t, i]));

function push(builder: SemanticTokensBuilder, a: Analysis, tokens: readonly Classified[], from = 0, to = tokens.length): void {
  for (let i = from; i < to; i++) {
    const t = tokens[i]!;
    const p = a.source.positionAt(t.start);
    builder.push(p.line, p.column, t.length, typeIndex.get(t.type)!, t.modifiers);
  }
}

/** `textDocument/semanticTokens/full`. */
export function semanticTokens(a: Analysis): SemanticTokens {
  const builder = new SemanticTokensBuilder();
  push(builder, a, classified(a));
  return builder.build();
}

/**
 * `textDocument/semanticTokens/range`: the tokens that overlap the range (a range outside the
 * document is clamped to it, and may hold none).
 */
export function semanticTokensRange(a: Analysis, range: Range): SemanticTokens {
  const start = toOffset(a.source, range.start);
  const end = toOffset(a.source, range.end);
  const builder = new SemanticTokensBuilder();
  const all = classifiedOf.get(a);
  if (all === undefined) push(builder, a, classify(a, start, end));
  else {
    const from = firstEndingAfter(all, start, (t) => t.start + t.length);
    let to = from;
    while (to < all.length && all[to]!.start < end) to++;
    push(builder, a, all, from, to);
  }
  return builder.build();
}

/**
 * Full results with ids, per document, so that `textDocument/semanticTokens/full/delta` can
 * answer with the edits from the client's last result (vscode-languageserver's builder diffs the
 * two arrays); a result id it no longer has gets a full answer.
 */
export class SemanticTokenResults {
  private readonly builders = new Map<string, SemanticTokensBuilder>();

  full(a: Analysis): SemanticTokens {
    const builder = new SemanticTokensBuilder();
    this.builders.set(a.uri, builder);
    push(builder, a, classified(a));
    return builder.build();
  }

  delta(a: Analysis, previousResultId: string): SemanticTokens | SemanticTokensDelta {
    const builder = this.builders.get(a.uri);
    if (builder === undefined) return this.full(a);
    builder.previousResult(previousResultId);
    push(builder, a, classified(a));
    return builder.buildEdits();
  }

  forget(uri: string): void {
    this.builders.delete(uri);
  }
}
