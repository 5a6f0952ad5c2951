/**
 * The syntax stage: text → tokens → CST → AST, with every lexical and syntax error of the file
 * as diagnostics. It never throws on any input.
 */
import { Lexer, type ILexingError, type IRecognitionException, type IToken } from "chevrotain";
import { catalog } from "../diagnostics/catalog.js";
import { type Diagnostic, DiagnosticBag } from "../diagnostics/diagnostic.js";
import type { Comment, FileNode } from "./ast.js";
import { AstBuilder } from "./cst-to-ast.js";
import { parserInstance } from "./parser.js";
import { span } from "./source.js";
import * as T from "./tokens.js";

let lexer: Lexer | undefined;
function lexerInstance(): Lexer {
  lexer ??= new Lexer(T.allTokens, { positionTracking: "full", ensureOptimizations: false, recoveryEnabled: true });
  return lexer;
}

export interface ParseResult {
  readonly ast: FileNode;
  readonly tokens: readonly IToken[];
  readonly diagnostics: readonly Diagnostic[];
}

const characterHelp: Record<string, string> = {
  "#": "comments start with `//`",
  "'": 'strings use double quotes: `"text"`',
  "&": "write `and`",
  "|": "write `or`",
  "!": "write `not`, or `!=` for inequality",
  ";": "statements need no `;`",
  "`": 'strings use double quotes: `"text"`',
};

/** Tokens that can only start a top-level item: an error before one does not hide errors after it. */
const itemStarts = new Set([T.Policy, T.Schema, T.Default, T.Timezone, T.Let, T.Rule, T.Test]);

export function parse(fileName: string, text: string): ParseResult {
  const bag = new DiagnosticBag(fileName);
  const lexed = lexerInstance().tokenize(text);
  reportLexErrors(bag, text, lexed.errors);

  const parser = parserInstance();
  parser.input = lexed.tokens;
  const cst = parser.file();
  // offsets where the lexer already found a problem: parse errors they cause are not reported again
  const lexProblems = [
    ...lexed.errors.map((e) => e.offset),
    ...lexed.tokens.filter((t) => t.tokenType === T.StringLiteral && !closedString(t.image)).map((t) => t.startOffset),
  ].sort((a, b) => a - b);
  reportSyntaxErrors(bag, lexed.tokens, parser.errors, text.length, lexProblems);

  const comments: Comment[] = (lexed.groups["comments"] ?? []).map((t) => ({
    text: t.image,
    span: span(t.startOffset, t.startOffset + t.image.length),
    block: t.tokenType === T.BlockComment,
  }));
  for (const c of comments) {
    if (c.block && !c.text.endsWith("*/")) {
      bag.report(catalog.unexpectedToken, span(c.span.start, c.span.start + 2), "block comment has no closing `*/`", {
        help: "end the comment with `*/`",
      });
    }
  }
  const ast = new AstBuilder(bag).file(cst, text, comments);
  return { ast, tokens: lexed.tokens, diagnostics: bag.items };
}

function reportLexErrors(bag: DiagnosticBag, text: string, errors: ILexingError[]): void {
  // the lexer reports each bad character; join runs of adjacent ones into one diagnostic
  let i = 0;
  while (i < errors.length) {
    const first = errors[i]!;
    let end = first.offset + first.length;
    while (i + 1 < errors.length && errors[i + 1]!.offset === end) {
      i++;
      end = errors[i]!.offset + errors[i]!.length;
    }
    const chars = text.slice(first.offset, end);
    const help = characterHelp[chars.charAt(0)];
    bag.report(catalog.unexpectedCharacter, span(first.offset, end), `unexpected character${chars.length > 1 ? "s" : ""} \`${chars}\``, help ? { help } : {});
    i++;
  }
}

function reportSyntaxErrors(bag: DiagnosticBag, tokens: IToken[], errors: IRecognitionException[], eof: number, lexErrorOffsets: number[]): void {
  // One diagnostic per broken item: recovery may report follow-on errors inside the same item,
  // and those cascades say nothing new. A bad character counts as the item's error.
  const sorted = [...errors].sort((a, b) => offsetOf(a.token, eof) - offsetOf(b.token, eof));
  let lastOffset = -1;
  for (const e of sorted) {
    const at = offsetOf(e.token, eof);
    if (lastOffset >= 0 && !itemStartBetween(tokens, lastOffset, at)) continue;
    const lexBefore = lexErrorOffsets.filter((o) => o < at).pop();
    if (lexBefore !== undefined && !itemStartBetween(tokens, lexBefore, at)) continue;
    lastOffset = at;
    const t = e.token;
    const isEof = Number.isNaN(t.startOffset) || t.tokenType.name === "EOF";
    const s = isEof ? span(eof, eof) : span(t.startOffset, (t.endOffset ?? t.startOffset) + 1);
    const ruleStack = e.context?.ruleStack ?? [];
    bag.report(catalog.unexpectedToken, s, e.message, helpFor(ruleStack, t));
  }
}

function helpFor(ruleStack: string[], t: IToken): { help?: string } {
  const rule = ruleStack[ruleStack.length - 1] ?? "";
  if (t.image === "=") return { help: "compare with `==`; `=` only appears in `let NAME = VALUE`" };
  if (T.keywordNames.has(t.image) && (rule === "ruleDecl" || rule === "letDecl") && !ruleStack.includes("expression")) {
    return { help: `\`${t.image}\` is a keyword, so it cannot name a ${rule === "ruleDecl" ? "rule" : "let"}; choose another name` };
  }
  if ((rule === "ruleDecl" || rule === "anonymousRule" || rule === "effect") && !ruleStack.includes("expression")) {
    return { help: 'a rule reads `rule NAME when CONDITION EFFECT`, e.g. `rule big when amount > 100 deny because "too large"`' };
  }
  if (T.keywordNames.has(t.image) && rule === "path") {
    return { help: `\`${t.image}\` is a keyword; a field with that name is read as \`action.${t.image}\`` };
  }
  if (rule === "approvalEffect") return { help: 'write `require approval [from "group"] [timeout 15m]`' };
  if (rule === "call") return { help: "write `count(CONDITION within 1h)`, `seen(CONDITION [within 30m])` or `exists(PATH)`" };
  return {};
}

/** Whether a string token ends with its (unescaped) opening quote. */
export function closedString(image: string): boolean {
  if (image.length < 2 || image[image.length - 1] !== image[0]) return false;
  let backslashes = 0;
  for (let i = image.length - 2; i >= 1 && image[i] === "\\"; i--) backslashes++;
  return backslashes % 2 === 0;
}

function offsetOf(t: IToken, eof: number): number {
  return Number.isNaN(t.startOffset) || t.tokenType.name === "EOF" ? eof : t.startOffset;
}

function itemStartBetween(tokens: IToken[], from: number, to: number): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.startOffset <= from) continue;
    if (t.startOffset >= to) break;
    if (itemStarts.has(t.tokenType)) return true;
    if (t.tokenType === T.When && tokens[i - 2]?.tokenType !== T.Rule) return true;
  }
  return false;
}
