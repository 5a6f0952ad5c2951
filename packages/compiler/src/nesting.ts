/**
 * The nesting limit: how deep a policy, the data of its tests, a schema and a JSON input may nest
 * (docs/language.md §3.8, diagnostic A109). Every stage after the lexer walks its trees
 * recursively, so a limit checked before any of them runs is what keeps them from exhausting the
 * stack; the checks here are loops, never recursion.
 */

/** The deepest nesting accepted anywhere: parentheses, lists, calls, `not`, arithmetic chains, objects, let chains. */
export const MAX_NESTING = 64;

/** The token kinds the nesting count needs, so that the check does not depend on Chevrotain. */
export interface NestingToken {
  readonly image: string;
  readonly tokenType: { readonly name: string };
}

const openers = new Set(["LParen", "LBracket", "LBrace"]);
const closers = new Set(["RParen", "RBracket", "RBrace"]);

/** Arithmetic operators: each in a chain is one more level of the tree (`a + b + c` is `(a + b) + c`). */
const arithmetic = new Set(["Plus", "Minus", "Star", "Slash"]);
/** Tokens that end an arithmetic chain: what separates operands of something other than arithmetic. */
const chainEnds = new Set(["And", "Or", "Eq", "NotEq", "Lt", "Gt", "LtEq", "GtEq", "In", "Between", "Matches", "Contains", "StartsWith", "EndsWith", "Comma", "Colon", "Assign", "When", "Within"]);

/**
 * The index of the first token that nests deeper than `limit`, or -1. Each `(`, `[` and `{` opens
 * a level until its closer; a run of `not`s adds one level per `not` to what follows it (the
 * parser recurses once for each), and each arithmetic operator of a chain one level to the rest of
 * the chain (every `-` counts, a negative number's too). Unbalanced closers are left to the parser.
 */
export function firstTooDeep(tokens: readonly NestingToken[], limit = MAX_NESTING): number {
  const open: number[] = [];
  // the arithmetic chain of each enclosing level, and of this one
  const chains: number[] = [];
  let chain = 0;
  let depth = 0;
  let nots = 0;
  for (let i = 0; i < tokens.length; i++) {
    const kind = tokens[i]!.tokenType.name;
    if (kind === "Not") {
      nots++;
      if (depth + chain + nots > limit) return i;
      continue;
    }
    if (arithmetic.has(kind)) {
      if (depth + ++chain > limit) return i;
      continue;
    }
    if (openers.has(kind)) {
      const levels = nots + 1 + chain;
      depth += levels;
      open.push(levels);
      chains.push(chain);
      chain = 0;
      if (depth > limit) return i;
    } else if (closers.has(kind) && open.length > 0) {
      depth -= open.pop()!;
      chain = chains.pop()!;
    } else if (chainEnds.has(kind)) {
      chain = 0;
    }
    nots = 0;
  }
  return -1;
}

/**
 * The offset in JSON text of the first `[` or `{` that nests deeper than `limit`, or -1. Strings
 * are skipped, so brackets inside them do not count; the text need not be valid JSON.
 */
export function jsonTooDeepAt(text: string, limit = MAX_NESTING): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: skip to its closing quote, past escapes
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return -1;
}

/**
 * Whether a value built from policy literals nests deeper than `limit` or holds more than
 * `maxNodes` values in all (lets can repeat a list inside another, so a short policy can describe
 * a value too large to emit). Iterative, and it stops as soon as either bound is passed.
 */
export function valueTooLarge(value: unknown, limit = MAX_NESTING, maxNodes = MAX_LITERAL_VALUES): "deep" | "large" | null {
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++nodes > maxNodes) return "large";
    if (!Array.isArray(v)) continue;
    if (depth + 1 > limit) return "deep";
    for (const x of v) stack.push([x, depth + 1]);
  }
  return null;
}

/** The most values (list elements, counted at every level) one let or literal may hold. */
export const MAX_LITERAL_VALUES = 100_000;
