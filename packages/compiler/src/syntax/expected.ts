/**
 * What the grammar allows at a cursor, for completion: the tokens before the cursor (from the
 * item line that begins its stretch, see parse.ts) are given to Chevrotain's content assist over
 * the parser's own grammar, which answers with every token that may come next and the grammar
 * rules it would belong to. The language server maps those to suggestions; it has no grammar of
 * its own.
 */
import type { IToken } from "chevrotain";
import { firstTooDeep } from "../nesting.js";
import { closedString, lexerInstance, stretchStartBefore } from "./parse.js";
import { parserInstance } from "./parser.js";
import * as T from "./tokens.js";

/** A token that may come next, by its token name (`Identifier`, `Rule`, `Eq`, ...), and where. */
export interface NextToken {
  readonly token: string;
  /** The grammar rules it would be consumed in, outermost first (`file`, `item`, `ruleDecl`, ...). */
  readonly rules: readonly string[];
}

export interface Expected {
  /** A literal or comment the cursor is inside (an unterminated string or regex runs to the cursor). */
  readonly inside: "string" | "regex" | "comment" | null;
  /** Where the word being typed begins (the cursor itself when none is). */
  readonly wordStart: number;
  /**
   * The tokens that may follow the ones before the word being typed; empty when those tokens are
   * no prefix of anything the grammar accepts, or are too many to look at (more than
   * `MAX_ASSIST_TOKENS` tokens, or `MAX_ASSIST_TEXT` characters, from the item line).
   */
  readonly next: readonly NextToken[];
  /** The tokens before the word or literal being typed (the last few, in order), with their offsets. */
  readonly before: readonly { readonly image: string; readonly start: number }[];
}

/** Content assist walks the grammar along the tokens: past this many in one stretch it is not asked. */
export const MAX_ASSIST_TOKENS = 2000;
/** Past this many characters between the item line and the cursor, the stretch is not lexed. */
export const MAX_ASSIST_TEXT = 32 * 1024;
/** How many tokens `before` keeps. */
const BEFORE = 16;

const wordLike = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What may be written at `offset` of `text` (docs/language.md's grammar, through the parser). */
export function expectedAt(text: string, offset: number): Expected {
  const at = Math.max(0, Math.min(offset, text.length));
  const start = stretchStartBefore(text, at, MAX_ASSIST_TEXT);
  if (start < 0) return { inside: null, wordStart: at, next: [], before: [] };
  const lexed = lexerInstance().tokenize(text.slice(start, at));
  const end = at - start;
  const comments = lexed.groups.comments ?? [];
  const lastComment = comments[comments.length - 1];
  const tokens = lexed.tokens.filter((t) => t.tokenType !== T.Unknown);
  const last = tokens[tokens.length - 1];
  const none = (inside: Expected["inside"], wordStart: number, upTo: number): Expected => ({ inside, wordStart, next: [], before: images(tokens, upTo, start) });
  if (lastComment !== undefined && commentReaches(lastComment, end) && (last === undefined || last.startOffset < lastComment.startOffset)) return none("comment", at, tokens.length);
  if (last !== undefined && last.startOffset + last.image.length === end) {
    if (T.StringLiteral === last.tokenType || last.tokenType === T.SingleQuotedString) {
      if (!closedString(last.image) || last.image.length === 1) return none("string", start + last.startOffset, tokens.length - 1);
    } else if (last.tokenType === T.RegexLiteral) return none("regex", start + last.startOffset, tokens.length - 1);
  }
  // the word being typed is not yet a token the grammar reads
  const typing = last !== undefined && last.startOffset + last.image.length === end && /^[A-Za-z0-9_]/.test(last.image);
  const preceding = typing ? tokens.slice(0, -1) : tokens;
  const wordStart = typing ? start + last.startOffset : at;
  if (typing && !wordLike.test(last.image)) return none(null, wordStart, preceding.length); // a number being typed
  // content assist recurses along the grammar: past the nesting limit (A109) it is not asked
  if (preceding.length > MAX_ASSIST_TOKENS || firstTooDeep(preceding) >= 0) return none(null, wordStart, preceding.length);
  const paths = parserInstance().computeContentAssist("file", preceding as IToken[]);
  const seen = new Set<string>();
  const next: NextToken[] = [];
  for (const p of paths) {
    const key = `${p.nextTokenType.name} ${p.ruleStack.join(" ")}`;
    if (seen.has(key)) continue;
    seen.add(key);
    next.push({ token: p.nextTokenType.name, rules: p.ruleStack });
  }
  return { inside: null, wordStart, next, before: images(tokens, preceding.length, start) };
}

/** Whether a comment runs up to the cursor: a line comment to its end, a block comment not closed. */
function commentReaches(c: IToken, end: number): boolean {
  if (c.startOffset + c.image.length !== end) return false;
  return c.tokenType !== T.BlockComment || !c.image.endsWith("*/") || c.image.length < 4;
}

function images(tokens: readonly IToken[], upTo: number, base: number): Expected["before"] {
  return tokens.slice(Math.max(0, upTo - BEFORE), upTo).map((t) => ({ image: t.image, start: base + t.startOffset }));
}
