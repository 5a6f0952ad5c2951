/**
 * The syntax stage: text → tokens → CST → AST, with every lexical and syntax error of the file
 * as diagnostics. It never throws on any input.
 *
 * A file is parsed item by item. A line that starts, at column 0, with `policy`, `schema`,
 * `default`, `timezone`, `let`, `rule`, `test`, `import`, `param`, `disable`, `override` or `property` begins a new top-level item (docs/language.md
 * §3.1, item lines), so the text between two such lines is lexed and parsed on its own: a syntax error
 * never reaches past the next item, and re-parsing after an edit (`previous`) only lexes and
 * parses the stretches whose text changed. Unchanged stretches keep their AST, moved by the
 * length the edit added or removed before them.
 */
import { type ILexingError, type IRecognitionException, type IToken, Lexer } from "chevrotain";
import { catalog } from "../diagnostics/catalog.js";
import { type Diagnostic, DiagnosticBag } from "../diagnostics/diagnostic.js";
import { firstTooDeep, MAX_NESTING } from "../nesting.js";
import type { Comment, FileNode, Item } from "./ast.js";
import { AstBuilder } from "./cst-to-ast.js";
import { ArmorParser, parseItemTokens } from "./parser.js";
import { type Span, span } from "./source.js";
import * as T from "./tokens.js";

/** The lexer; `validate` runs Chevrotain's checks of the token patterns (see `ArmorParser`). */
function createLexer(validate = false): Lexer {
  return new Lexer(T.allTokens, { positionTracking: "full", ensureOptimizations: false, recoveryEnabled: true, skipValidations: !validate });
}

let lexer: Lexer | undefined;
/** The shared lexer (also read by `expected.ts`, which lexes the text before a cursor). */
export function lexerInstance(): Lexer {
  lexer ??= createLexer();
  return lexer;
}

/**
 * Builds the lexer and the parser with Chevrotain's validations, which the compiler skips at
 * run time: they throw on a token pattern or a grammar rule that Chevrotain cannot use.
 */
export function validateGrammar(): void {
  createLexer(true);
  new ArmorParser(true);
}

/** A token of the file. Only offsets are kept: lines and columns come from a `SourceFile`. */
export interface Token {
  readonly image: string;
  readonly startOffset: number;
  readonly endOffset?: number | undefined;
  readonly tokenType: IToken["tokenType"];
}

export interface ParseResult {
  readonly fileName: string;
  readonly ast: FileNode;
  /** Every token of the file, comments excluded, in order (computed on first use). */
  readonly tokens: readonly Token[];
  readonly diagnostics: readonly Diagnostic[];
  /** The file as separately parsed stretches, for re-parsing after an edit (`parse`'s `previous`). */
  readonly chunks: readonly Chunk[];
}

/**
 * A stretch of the file from one item-starting line to the next (or from the start of the file
 * to the first one), parsed on its own. Everything in it is a function of `text` and `next`,
 * with spans at `start`.
 */
export interface Chunk {
  readonly start: number;
  readonly text: string;
  /** The item keyword that follows the stretch, `null` at the end of the file. */
  readonly next: string | null;
  readonly items: readonly Item[];
  readonly comments: readonly Comment[];
  readonly diagnostics: readonly Diagnostic[];
  /** Tokens with offsets at `tokenStart`, moved to `start` only when `ParseResult.tokens` is read. */
  readonly tokens: readonly IToken[];
  readonly tokenStart: number;
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
const itemStarts = new Set([T.Policy, T.Schema, T.Default, T.Timezone, T.Let, T.Rule, T.Test, T.Property]);

/** A line that begins a top-level item: one of these keywords at column 0. */
const itemLine = /^(?:policy|schema|default|timezone|let|rule|test|import|param|disable|override|property)(?![A-Za-z0-9_])/gm;

/**
 * Parses `text`. With `previous` (the result for an earlier text of the same file), stretches
 * whose text is unchanged are taken from it instead of being lexed and parsed again; the result
 * is the same as without it.
 */
export function parse(fileName: string, text: string, previous?: ParseResult): ParseResult {
  const reusable = new Map<string, Chunk>();
  if (previous !== undefined && previous.fileName === fileName) {
    for (const c of previous.chunks) if (!reusable.has(c.text)) reusable.set(c.text, c);
  }
  const starts = itemLineStarts(text);
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < starts.length - 1) {
    const start = starts[i]!;
    let j = i + 1;
    const old = reusable.get(text.slice(start, starts[j]));
    let chunk: Chunk;
    if (old !== undefined && old.next === keywordAt(text, starts[j]!)) {
      chunk = moveChunk(old, start);
    } else {
      let parsed = parseChunk(fileName, text, start, starts[j]!);
      // a block comment left open runs on to its `*/`: the stretch goes on to the first item line after it
      while (parsed === "open-comment") {
        const close = text.indexOf("*/", starts[j]!);
        j++;
        while (j < starts.length - 1 && (close < 0 || starts[j]! < close + 2)) j++;
        parsed = parseChunk(fileName, text, start, starts[j]!);
      }
      chunk = parsed;
    }
    chunks.push(chunk);
    i = j;
  }
  return assemble(fileName, text, chunks);
}

/** Offsets where stretches begin: 0, every item line, and the end of the text. */
function itemLineStarts(text: string): number[] {
  // `itemLine` after each line break, by hand: a whole-text regex made a match object per item
  // line on every keystroke (`^` would also match after U+2028/U+2029, which are not line breaks here)
  const starts = [0];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c !== 10 && c !== 13) continue;
    const at = i + 1;
    let end = at;
    while (end < n && end - at <= LONGEST_ITEM_KEYWORD) {
      const k = text.charCodeAt(end);
      if (k < 97 || k > 122) break;
      end++;
    }
    if (end - at < SHORTEST_ITEM_KEYWORD || end - at > LONGEST_ITEM_KEYWORD || (end < n && isWordChar(text.charCodeAt(end)))) continue;
    if (itemKeywords.has(text.slice(at, end))) starts.push(at);
  }
  starts.push(n);
  return starts;
}

/** The words of `itemLine`, read from it. */
const itemKeywords: ReadonlySet<string> = new Set(/\(\?:([^)]*)\)/.exec(itemLine.source)![1]!.split("|"));
const SHORTEST_ITEM_KEYWORD = Math.min(...[...itemKeywords].map((k) => k.length));
const LONGEST_ITEM_KEYWORD = Math.max(...[...itemKeywords].map((k) => k.length));

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/**
 * Where the stretch holding `offset` begins: the last item line at or before it (0 when there is
 * none), found by walking back character by character, at most `limit` characters (-1 past it).
 */
export function stretchStartBefore(text: string, offset: number, limit = Number.POSITIVE_INFINITY): number {
  const end = Math.min(offset, text.length);
  for (let i = end - 1; i >= 0; i--) {
    if (end - i > limit) return -1;
    const c = text.charCodeAt(i);
    if ((c === 10 || c === 13) && i + 1 < end && itemLineHead.test(text.slice(i + 1, i + 11))) return i + 1;
  }
  return end > limit ? -1 : 0;
}

/** `itemLine` at the start of a string only. */
const itemLineHead = new RegExp(itemLine.source);

/** The item keyword at an item line's start; `null` at the end of the text. */
function keywordAt(text: string, at: number): string | null {
  if (at >= text.length) return null;
  let end = at;
  while (end < text.length && text.charCodeAt(end) >= 97 && text.charCodeAt(end) <= 122) end++;
  return text.slice(at, end);
}

/**
 * Lexes and parses `text[start, end)`. Returns "open-comment" when the stretch ends inside a
 * block comment that the rest of the file may close.
 */
function parseChunk(fileName: string, text: string, start: number, end: number): Chunk | "open-comment" {
  const chunkText = text.slice(start, end);
  const lexed = lexerInstance().tokenize(chunkText);
  const rawComments = lexed.groups.comments ?? [];
  const last = rawComments[rawComments.length - 1];
  if (end < text.length && last?.tokenType === T.BlockComment && !last.image.endsWith("*/")) return "open-comment";

  const { tokens, errors: lexErrors } = withoutUnknown(lexed.tokens, lexed.errors);
  for (const t of tokens) moveToken(t, start);
  const bag = new DiagnosticBag(fileName);
  reportLexErrors(bag, chunkText, start, lexErrors);
  const next = keywordAt(text, end);
  const comments: Comment[] = rawComments.map((t) => ({
    text: t.image,
    span: span(t.startOffset + start, t.startOffset + start + t.image.length),
    block: t.tokenType === T.BlockComment,
  }));
  // the parser and every stage after it recurse on nesting: a stretch that nests too deep is not parsed
  const tooDeep = firstTooDeep(tokens);
  if (tooDeep >= 0) {
    const t = tokens[tooDeep]!;
    bag.report(catalog.nestingTooDeep, span(t.startOffset, t.startOffset + t.image.length), `this nests deeper than ${MAX_NESTING} levels`, {
      help: "parentheses, lists, calls, `not`, chains of `+ - * /` and test objects may nest at most 64 deep; split the condition into several rules or lets",
    });
    return { start, text: chunkText, next, items: [], comments, diagnostics: bag.items, tokens, tokenStart: start };
  }
  const { cst, errors } = parseItemTokens(tokens, next);
  // offsets where the lexer already found a problem: parse errors they cause are not reported again
  const lexProblems = [...lexErrors.map((e) => e.offset + start), ...tokens.filter((t) => t.tokenType === T.StringLiteral && !closedString(t.image)).map((t) => t.startOffset)].sort((a, b) => a - b);
  // an error at the end of the stretch is at the next item's keyword, or at the end of the file
  const endSpan = next === null ? span(end, end) : span(end, end + next.length);
  reportSyntaxErrors(bag, tokens, errors, endSpan, lexProblems);

  for (const c of comments) {
    if (c.block && !c.text.endsWith("*/")) {
      bag.report(catalog.unexpectedToken, span(c.span.start, c.span.start + 2), "block comment has no closing `*/`", {
        help: "end the comment with `*/`",
      });
    }
  }
  const items = new AstBuilder(bag, start).items(cst);
  return { start, text: chunkText, next, items, comments, diagnostics: bag.items, tokens, tokenStart: start };
}

function assemble(fileName: string, text: string, chunks: Chunk[]): ParseResult {
  const items: Item[] = [];
  const comments: Comment[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const c of chunks) {
    for (const item of c.items) items.push(item);
    for (const comment of c.comments) comments.push(comment);
    for (const d of c.diagnostics) diagnostics.push(d);
  }
  let tokens: Token[] | undefined;
  return {
    fileName,
    ast: { kind: "file", items, comments, span: span(0, text.length) },
    get tokens(): readonly Token[] {
      tokens ??= chunks.flatMap((c): readonly Token[] => {
        const delta = c.start - c.tokenStart;
        return delta === 0 ? c.tokens : c.tokens.map((t) => ({ image: t.image, startOffset: t.startOffset + delta, endOffset: (t.endOffset ?? t.startOffset) + delta, tokenType: t.tokenType }));
      });
      return tokens;
    },
    diagnostics,
    chunks,
  };
}

// ---- moving a parsed stretch --------------------------------------------------------------------

function moveToken(t: IToken, delta: number): void {
  if (delta === 0) return;
  t.startOffset += delta;
  if (t.endOffset !== undefined) t.endOffset += delta;
}

/**
 * The item each moved item was copied from, and by how much it moved: a later stage that kept
 * something for the original (the checker's rule records, semantic/rule-cache.ts) can move it too.
 */
export const movedFrom = new WeakMap<Item, { readonly item: Item; readonly delta: number }>();

/** The chunk at a new offset: the same text, so the same tree with every span moved. */
function moveChunk(c: Chunk, start: number): Chunk {
  const delta = start - c.start;
  if (delta === 0) return c;
  return {
    start,
    text: c.text,
    next: c.next,
    items: c.items.map((item) => {
      const copy = moved(item, delta);
      movedFrom.set(copy, { item, delta });
      return copy;
    }),
    comments: c.comments.map((comment) => moved(comment, delta)),
    diagnostics: c.diagnostics.map((d) => moved(d, delta)),
    tokens: c.tokens,
    tokenStart: c.tokenStart,
  };
}

/**
 * A copy of a syntax tree (or diagnostic) with every offset moved by `delta`. Offsets are the
 * `start`/`end` of spans (`span` and every `...Span`: `opSpan`, a detector's `nameSpan`) and a
 * regex's `sourceStart`; everything else is data.
 */
function moved<T>(node: T, delta: number): T {
  if (node === null || typeof node !== "object") return node;
  // plain loops: this copies every item after an edit, and the copies survive into the new
  // compilation, so every temporary here (entry pairs, closures) is garbage the collector sees
  if (Array.isArray(node)) {
    const copy: unknown[] = new Array(node.length);
    for (let i = 0; i < node.length; i++) copy[i] = moved(node[i] as unknown, delta);
    return copy as T;
  }
  const source = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = source[k];
    if (k === "span" || k.endsWith("Span")) out[k] = movedSpan(v as Span, delta);
    else if (k === "sourceStart") out[k] = (v as number) + delta;
    else out[k] = typeof v === "object" && v !== null ? moved(v, delta) : v;
  }
  return out as T;
}

function movedSpan(s: Span, delta: number): Span {
  return span(s.start + delta, s.end + delta);
}

/** The tokens without the runs of characters that start no token, which become lexing errors. */
function withoutUnknown(all: IToken[], errors: ILexingError[]): { tokens: IToken[]; errors: { offset: number; length: number }[] } {
  const tokens: IToken[] = [];
  const unknown: { offset: number; length: number }[] = [];
  for (const t of all) {
    if (t.tokenType === T.Unknown) unknown.push({ offset: t.startOffset, length: t.image.length });
    else tokens.push(t);
  }
  if (unknown.length === 0) return { tokens, errors };
  return { tokens, errors: [...errors, ...unknown].sort((a, b) => a.offset - b.offset) };
}

function reportLexErrors(bag: DiagnosticBag, text: string, base: number, errors: readonly { offset: number; length: number }[]): void {
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
    // a long run (binary input) is shown by its start
    const shown = chars.length > 40 ? `${chars.slice(0, 40)}…` : chars;
    bag.report(catalog.unexpectedCharacter, span(base + first.offset, base + end), `unexpected character${chars.length > 1 ? "s" : ""} \`${shown}\``, help ? { help } : {});
    i++;
  }
}

function reportSyntaxErrors(bag: DiagnosticBag, tokens: IToken[], errors: IRecognitionException[], endSpan: Span, lexErrorOffsets: number[]): void {
  const eof = endSpan.start;
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
    const s = isEof ? endSpan : span(t.startOffset, (t.endOffset ?? t.startOffset) + 1);
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
