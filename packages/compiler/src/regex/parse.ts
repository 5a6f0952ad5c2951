/**
 * The regex front end: parses the regex subset the policy language allows (`path matches /x/i`,
 * `redact body matching /x/`) and compiles it to a program for the linear-time matcher in
 * `vm-source.ts`.
 *
 * The subset is JavaScript's non-unicode RegExp syntax without the features that need
 * backtracking: literal characters, escapes, `.`, character classes, anchors, groups (captures are
 * not exposed), alternation and greedy or lazy quantifiers, with the flags `i`, `m` and `s`.
 * Every pattern this module accepts is also a valid JavaScript RegExp with the same meaning, so
 * the JavaScript engine can serve as a test oracle.
 *
 * A program is plain JSON data (a flat array of integers) so that code generation can embed it in
 * emitted JavaScript with `JSON.stringify`. Flags are compiled away: `i` widens every character
 * set to its case variants, `s` decides what `.` matches, and `m` picks the kind of `^`/`$`
 * assertion, so the matcher needs nothing but the program.
 *
 * Program layout. Word 0 is the number of thread-list entries the matcher needs (`states`, see
 * `Emitter`) and word 1 the deepest nesting of ENTER/CHECK loops (0 if there are none).
 * Instructions start at pc 2, the entry point, and end with the only MATCH; a pool of character
 * classes follows them.
 *
 *   [0]          MATCH          the match succeeds here
 *   [1, c]       CHAR c         consume the code unit c
 *   [2, at]      CLASS at       consume a code unit in the class stored at `at`:
 *                               [count, lo1, hi1, lo2, hi2, ...], sorted and disjoint
 *   [3, x]       JMP x          continue at x
 *   [4, x, y]    SPLIT x, y     continue at x, and with lower priority at y
 *   [5, k]       ASSERT k       continue if assertion k holds (see `Assertion`)
 *   [6, l]       ENTER l        start an iteration of the empty-checked loop at nesting level l
 *   [7, l]       CHECK l        continue only if that iteration consumed input
 *
 * ENTER and CHECK implement JavaScript's rule that an optional iteration matching the empty
 * string fails (see `Emitter.repeat`). Each thread carries the level of the outermost checked
 * loop whose current iteration has not consumed anything yet; that is the only state besides the
 * pc, and levels are small, so the matcher stays linear.
 */

/** A compiled regex: plain integers, safe to embed with `JSON.stringify`. */
export type RegexProgram = readonly number[];

export type RegexParseResult =
  | {
      ok: true;
      program: RegexProgram;
      /**
       * When the regex has no flags and matches exactly one fixed string (`/secret/`, `/a\.b/`),
       * that string, so callers can use `includes` instead of the matcher; otherwise null.
       */
      literal: string | null;
    }
  | {
      ok: false;
      /** One lowercase line without a final period; user text is in backticks. */
      message: string;
      /**
       * UTF-16 offset into the source where the problem is. Flag errors point past the closing
       * slash: `source.length + 1 + index in flags`.
       */
      offset: number;
      help?: string;
    };

/** Opcodes of a `RegexProgram`; `vm-source.ts` hard-codes the same numbers. */
export const Op = {
  Match: 0,
  Char: 1,
  Class: 2,
  Jmp: 3,
  Split: 4,
  Assert: 5,
  Enter: 6,
  Check: 7,
} as const;

/** Operands of `Op.Assert`. The multiline forms are what `^` and `$` compile to under `m`. */
export const Assertion = {
  /** `^`: at the start of the input. */
  Start: 0,
  /** `$`: at the end of the input. */
  End: 1,
  /** `^` with `m`: at the start of the input or after a line terminator. */
  LineStart: 2,
  /** `$` with `m`: at the end of the input or before a line terminator. */
  LineEnd: 3,
  /** `\b`: between a word character and a non-word character (or an edge). */
  WordBoundary: 4,
  /** `\B`: not at a word boundary. */
  NotWordBoundary: 5,
} as const;

/** The largest count allowed in `{n}`, `{n,}` and `{n,m}`. */
export const MAX_REPEAT = 1000;
/**
 * The largest program a regex may compile to, counted in matcher states: one per instruction, plus
 * one per level of empty-checked loops around each non-consuming instruction (so usually just the
 * instruction count). The matcher's work and memory per input character are proportional to it.
 */
export const MAX_PROGRAM_SIZE = 20_000;
/** The largest program, in array elements (instructions, operands and the class pool). */
export const MAX_PROGRAM_WORDS = 200_000;
/** The deepest nesting of groups; it bounds recursion in the parser and the emitter. */
const MAX_GROUP_DEPTH = 200;

const SUPPORTED_FLAGS = "ims";
const FLAG_HELP =
  "remove it: `matches` only asks whether there is a match, and redaction replaces every match anyway";

/** Parses `source` (the text between the slashes) with `flags` and compiles it. */
export function parseRegex(source: string, flags: string): RegexParseResult {
  try {
    const parsedFlags = parseFlags(source, flags);
    const root = new Parser(source, parsedFlags).parse();
    const program = emitProgram(root);
    return { ok: true, program, literal: flags === "" ? literalOf(root) : null };
  } catch (error) {
    if (error instanceof RegexError) {
      return error.help === undefined
        ? { ok: false, message: error.message, offset: error.offset }
        : { ok: false, message: error.message, offset: error.offset, help: error.help };
    }
    throw error;
  }
}

class RegexError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly help?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Flags

interface Flags {
  readonly ignoreCase: boolean;
  readonly multiline: boolean;
  readonly dotAll: boolean;
}

/** Flag errors point past the closing slash: `source.length + 1 + index in flags`. */
function parseFlags(source: string, flags: string): Flags {
  const seen = new Set<string>();
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i] ?? "";
    const offset = source.length + 1 + i;
    if (seen.has(flag)) throw new RegexError(`duplicate regex flag \`${flag}\``, offset, "write each flag once");
    seen.add(flag);
    if (SUPPORTED_FLAGS.includes(flag)) continue;
    if (flag === "u" || flag === "v") {
      throw new RegexError(
        `the regex flag \`${flag}\` is not supported`,
        offset,
        "remove it: regexes use JavaScript's non-unicode syntax and match UTF-16 code units; every match is found anyway for redaction",
      );
    }
    if ("gyd".includes(flag)) throw new RegexError(`the regex flag \`${flag}\` is not supported`, offset, FLAG_HELP);
    throw new RegexError(`unknown regex flag \`${flag}\``, offset, "the supported flags are `i`, `m` and `s`");
  }
  return { ignoreCase: seen.has("i"), multiline: seen.has("m"), dotAll: seen.has("s") };
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

/**
 * A parsed regex. Character sets are already case-folded and complemented, so the tree no longer
 * depends on flags. `size` is the number of instructions the node compiles to.
 */
type Node =
  | { readonly kind: "empty"; readonly size: number }
  /** A set of UTF-16 code units as sorted, disjoint, non-adjacent pairs `[lo, hi, lo, hi, ...]`. */
  | { readonly kind: "set"; readonly ranges: readonly number[]; readonly size: number }
  | { readonly kind: "assert"; readonly assertion: number; readonly size: number }
  | { readonly kind: "concat"; readonly items: readonly Node[]; readonly size: number }
  | { readonly kind: "alt"; readonly items: readonly Node[]; readonly size: number }
  | {
      readonly kind: "repeat";
      readonly body: Node;
      readonly min: number;
      /** `Infinity` for `*`, `+` and `{n,}`. */
      readonly max: number;
      readonly greedy: boolean;
      readonly size: number;
    };

const EMPTY: Node = { kind: "empty", size: 0 };

function setNode(ranges: readonly number[]): Node {
  return { kind: "set", ranges, size: 1 };
}

function concatNode(items: readonly Node[]): Node {
  if (items.length === 0) return EMPTY;
  if (items.length === 1) return items[0] ?? EMPTY;
  return { kind: "concat", items, size: items.reduce((sum, item) => sum + item.size, 0) };
}

function altNode(items: readonly Node[]): Node {
  if (items.length === 1) return items[0] ?? EMPTY;
  // SPLIT before and JMP after every alternative but the last.
  const size = items.reduce((sum, item) => sum + item.size, 0) + 2 * (items.length - 1);
  return { kind: "alt", items, size };
}

/** Whether the node can match without consuming input (assertions count as empty). */
function nullable(node: Node): boolean {
  switch (node.kind) {
    case "empty":
    case "assert":
      return true;
    case "set":
      return false;
    case "concat":
      return node.items.every(nullable);
    case "alt":
      return node.items.some(nullable);
    case "repeat":
      return node.min === 0 || nullable(node.body);
  }
}

/** The instruction count of `body{min,max}`, matching `Emitter.repeat`. */
function repeatSize(body: Node, min: number, max: number): number {
  if (max === 0) return 0;
  const checks = nullable(body) ? 2 : 0;
  if (max === Infinity) {
    if (min > 0 && checks === 0) return min * body.size + 1;
    return (min + 1) * body.size + 2 + checks;
  }
  return min * body.size + (max - min) * (body.size + 1 + checks);
}

/** The fixed string the node matches, if it is a plain sequence of single characters. */
function literalOf(node: Node): string | null {
  switch (node.kind) {
    case "empty":
      return "";
    case "set":
      return node.ranges.length === 2 && node.ranges[0] === node.ranges[1]
        ? String.fromCharCode(node.ranges[0] ?? 0)
        : null;
    case "concat": {
      let text = "";
      for (const item of node.items) {
        const part = literalOf(item);
        if (part === null) return null;
        text += part;
      }
      return text;
    }
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Character sets

const MAX_UNIT = 0xffff;
const DIGIT: readonly number[] = [0x30, 0x39];
const WORD: readonly number[] = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
/** JavaScript's WhiteSpace and LineTerminator code points, as `\s` matches them. */
const SPACE: readonly number[] = [
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f,
  0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
];
const LINE_TERMINATOR: readonly number[] = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];
const ALL: readonly number[] = [0, MAX_UNIT];

/** Sorts and merges arbitrary `[lo, hi, ...]` pairs into a canonical range list. */
function normalize(pairs: readonly number[]): number[] {
  const list: [number, number][] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) list.push([pairs[i] ?? 0, pairs[i + 1] ?? 0]);
  list.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of list) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] ?? 0) + 1) out[last] = Math.max(out[last] ?? 0, hi);
    else out.push(lo, hi);
  }
  return out;
}

function complement(ranges: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    const lo = ranges[i] ?? 0;
    if (lo > next) out.push(next, lo - 1);
    next = (ranges[i + 1] ?? 0) + 1;
  }
  if (next <= MAX_UNIT) out.push(next, MAX_UNIT);
  return out;
}

/**
 * Case-insensitive matching without the `u` flag (ECMA-262 Canonicalize): two code units match if
 * their canonical forms are equal, where the canonical form is the single-unit upper case of the
 * unit, except that a non-ASCII unit never maps to ASCII. `orbit` links every unit to the next
 * unit with the same canonical form (a cycle; a unit alone points to itself), and `folding` lists
 * the units whose cycle has more than one member, in ascending order. The table comes from the
 * compiler's `toUpperCase`; programs carry the folded sets, so matching never depends on the
 * runtime's Unicode data.
 */
interface CaseTable {
  readonly orbit: Uint16Array;
  readonly folding: readonly number[];
}

let caseTable: CaseTable | null = null;

function getCaseTable(): CaseTable {
  if (caseTable !== null) return caseTable;
  const canon = new Uint16Array(MAX_UNIT + 1);
  for (let c = 0; c <= MAX_UNIT; c++) {
    const upper = String.fromCharCode(c).toUpperCase();
    const u = upper.length === 1 ? upper.charCodeAt(0) : c;
    canon[c] = c >= 128 && u < 128 ? c : u;
  }
  // Link the members of each class into a cycle, in ascending order.
  const orbit = new Uint16Array(MAX_UNIT + 1);
  const first = new Int32Array(MAX_UNIT + 1).fill(-1);
  const last = new Int32Array(MAX_UNIT + 1).fill(-1);
  for (let c = 0; c <= MAX_UNIT; c++) {
    const k = canon[c] ?? c;
    const tail = last[k] ?? -1;
    if (tail < 0) first[k] = c;
    else orbit[tail] = c;
    last[k] = c;
  }
  const folding: number[] = [];
  for (let c = 0; c <= MAX_UNIT; c++) {
    const k = canon[c] ?? c;
    if (last[k] === c) orbit[c] = first[k] ?? c;
    if (first[k] !== last[k]) folding.push(c);
  }
  caseTable = { orbit, folding };
  return caseTable;
}

/** Closed sets by key: classes such as `\W` or `.` recur and are costly to close. */
const closedSets = new Map<string, readonly number[]>();
const MAX_CLOSED_SETS = 1000;

/** Adds to a set every code unit that matches one of its members case-insensitively. */
function caseClose(ranges: readonly number[]): readonly number[] {
  const key = ranges.join(",");
  let closed = closedSets.get(key);
  if (closed === undefined) {
    closed = computeCaseClose(ranges);
    if (closedSets.size >= MAX_CLOSED_SETS) closedSets.clear();
    closedSets.set(key, closed);
  }
  return closed;
}

function computeCaseClose(ranges: readonly number[]): readonly number[] {
  const { orbit, folding } = getCaseTable();
  const extra: number[] = [];
  const addOrbit = (c: number): void => {
    for (let d = orbit[c] ?? c; d !== c; d = orbit[d] ?? c) extra.push(d, d);
  };
  let units = 0;
  for (let i = 0; i + 1 < ranges.length; i += 2) units += (ranges[i + 1] ?? 0) - (ranges[i] ?? 0) + 1;
  if (units <= folding.length) {
    // Small sets (single characters, most classes): walk their members.
    for (let i = 0; i + 1 < ranges.length; i += 2) {
      for (let c = ranges[i] ?? 0; c <= (ranges[i + 1] ?? 0); c++) addOrbit(c);
    }
  } else {
    // Large sets: walk the units that have case variants, in step with the ranges.
    let r = 0;
    for (const c of folding) {
      while (r + 1 < ranges.length && (ranges[r + 1] ?? 0) < c) r += 2;
      if (r + 1 >= ranges.length) break;
      if ((ranges[r] ?? 0) <= c) addOrbit(c);
    }
  }
  return extra.length === 0 ? [...ranges] : normalize([...ranges, ...extra]);
}

// ---------------------------------------------------------------------------------------------
// Parser

/** A class atom: a single code unit (which may bound a range) or a class escape such as `\d`. */
type ClassAtom = { readonly unit: number } | { readonly set: readonly number[] };

interface Quantifier {
  readonly min: number;
  readonly max: number;
  /** Offset just past the quantifier, before any lazy `?`. */
  readonly end: number;
}

class Parser {
  private pos = 0;
  private depth = 0;
  private readonly groupNames = new Set<string>();

  constructor(
    private readonly src: string,
    private readonly flags: Flags,
  ) {}

  parse(): Node {
    const root = this.disjunction();
    if (this.pos < this.src.length) {
      // Only an unmatched `)` stops the top-level disjunction early.
      throw new RegexError("unmatched `)`", this.pos, "remove it, or write `\\)` to match a parenthesis");
    }
    if (root.size + 1 > MAX_PROGRAM_SIZE) throw tooLarge(root.size + 1, 0);
    return root;
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  private disjunction(): Node {
    const items = [this.alternative()];
    while (this.peek() === "|") {
      this.pos++;
      items.push(this.alternative());
    }
    return altNode(items);
  }

  private alternative(): Node {
    const items: Node[] = [];
    for (let ch = this.peek(); ch !== undefined && ch !== "|" && ch !== ")"; ch = this.peek()) {
      items.push(this.term());
    }
    return concatNode(items);
  }

  private term(): Node {
    const start = this.pos;
    const ch = this.peek();
    let assertion: number | null = null;
    if (ch === "^") assertion = this.flags.multiline ? Assertion.LineStart : Assertion.Start;
    else if (ch === "$") assertion = this.flags.multiline ? Assertion.LineEnd : Assertion.End;
    else if (ch === "\\" && this.peek(1) === "b") assertion = Assertion.WordBoundary;
    else if (ch === "\\" && this.peek(1) === "B") assertion = Assertion.NotWordBoundary;
    if (assertion !== null) {
      this.pos += ch === "\\" ? 2 : 1;
      if (this.quantifierAt(this.pos) !== null) {
        const text = this.src.slice(start, this.pos);
        throw new RegexError(
          `\`${text}\` cannot be repeated`,
          this.pos,
          `\`${text}\` matches a position, not text; escape the quantifier to match it literally`,
        );
      }
      return { kind: "assert", assertion, size: 1 };
    }
    const atom = this.atom();
    return this.quantified(atom);
  }

  /** Parses an optional quantifier after `atom`. */
  private quantified(atom: Node): Node {
    const start = this.pos;
    const q = this.quantifierAt(start);
    if (q === null) return atom;
    this.pos = q.end;
    let greedy = true;
    if (this.peek() === "?") {
      greedy = false;
      this.pos++;
    }
    const text = this.src.slice(start, this.pos);
    if (q.min > MAX_REPEAT || (q.max !== Infinity && q.max > MAX_REPEAT)) {
      throw new RegexError(
        `the repetition count in \`${text}\` is above the limit of ${MAX_REPEAT}`,
        start,
        "use `*` or `+` for unbounded repetition, or a smaller count",
      );
    }
    if (q.min > q.max) {
      throw new RegexError(
        `the numbers in the quantifier \`${text}\` are out of order`,
        start,
        "write the smaller number first",
      );
    }
    const next = this.quantifierAt(this.pos);
    if (next !== null) {
      throw new RegexError(
        `the quantifier \`${this.src.slice(this.pos, next.end)}\` has nothing to repeat`,
        this.pos,
        "a quantifier cannot follow another; wrap the repeated part in `(?: )` to repeat it again",
      );
    }
    const size = repeatSize(atom, q.min, q.max);
    if (size + 1 > MAX_PROGRAM_SIZE) throw tooLarge(size + 1, start);
    return { kind: "repeat", body: atom, min: q.min, max: q.max, greedy, size };
  }

  /** Reads `*`, `+`, `?`, `{n}`, `{n,}` or `{n,m}` at `at`, or returns null. */
  private quantifierAt(at: number): Quantifier | null {
    const ch = this.src[at];
    if (ch === "*") return { min: 0, max: Infinity, end: at + 1 };
    if (ch === "+") return { min: 1, max: Infinity, end: at + 1 };
    if (ch === "?") return { min: 0, max: 1, end: at + 1 };
    if (ch !== "{") return null;
    const match = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(at));
    if (match === null) return null;
    const min = Number(match[1]);
    const max = match[2] === undefined ? min : match[3] === "" ? Infinity : Number(match[3]);
    return { min, max, end: at + match[0].length };
  }

  private atom(): Node {
    const start = this.pos;
    const ch = this.peek() ?? "";
    switch (ch) {
      case "(":
        return this.group();
      case "[":
        return this.charClass();
      case ".":
        this.pos++;
        return this.set(this.flags.dotAll ? ALL : complement(LINE_TERMINATOR));
      case "\\":
        return this.atomEscape();
      case "*":
      case "+":
      case "?":
        throw nothingToRepeat(ch, start);
      case "{": {
        const q = this.quantifierAt(start);
        if (q !== null) throw nothingToRepeat(this.src.slice(start, q.end), start);
        const broken = /^\{,\d+\}/.exec(this.src.slice(start));
        if (broken !== null) {
          throw new RegexError(
            `\`${broken[0]}\` is not a quantifier`,
            start,
            `write \`{0,${broken[0].slice(2, -1)}}\` to repeat up to that many times, or \`\\{\` to match a brace`,
          );
        }
        break;
      }
    }
    // Any other character, including a lone `]`, `{` or `}`, matches itself.
    this.pos++;
    return this.unit(ch.charCodeAt(0));
  }

  /** A node matching one code unit (and its case variants under `i`). */
  private unit(code: number): Node {
    return this.set([code, code]);
  }

  private set(ranges: readonly number[]): Node {
    return setNode(this.flags.ignoreCase ? caseClose(ranges) : ranges);
  }

  private group(): Node {
    const open = this.pos;
    this.pos++;
    if (this.peek() === "?") {
      const kind = this.src.slice(this.pos, this.pos + 3);
      if (kind.startsWith("?:")) {
        this.pos += 2;
      } else if (kind.startsWith("?=") || kind.startsWith("?!")) {
        throw new RegexError(
          `lookahead \`(${kind.slice(0, 2)}\` is not supported`,
          open,
          "the matcher runs in linear time without lookaround; combine several conditions instead, e.g. `x matches /a/ and not x matches /b/`",
        );
      } else if (kind === "?<=" || kind === "?<!") {
        throw new RegexError(
          `lookbehind \`(${kind}\` is not supported`,
          open,
          "the matcher runs in linear time without lookaround; combine several conditions instead, e.g. `x matches /a/ and not x matches /b/`",
        );
      } else if (kind.startsWith("?<")) {
        this.groupName(open);
      } else {
        throw new RegexError(
          `unsupported group syntax \`(${kind.slice(0, 2)}\``,
          open,
          "groups are written `( )`, `(?: )` or `(?<name> )`; write `\\(` to match a parenthesis",
        );
      }
    }
    if (++this.depth > MAX_GROUP_DEPTH) {
      throw new RegexError(`groups are nested more than ${MAX_GROUP_DEPTH} deep`, open, "simplify the regex");
    }
    const body = this.disjunction();
    this.depth--;
    if (this.peek() !== ")") {
      throw new RegexError("unclosed group", open, "add a matching `)`, or write `\\(` to match a parenthesis");
    }
    this.pos++;
    return body;
  }

  /** Reads `<name>` of a named group; the name is checked but otherwise ignored. */
  private groupName(open: number): void {
    const match = /^\?<([A-Za-z_$][\w$]*)>/.exec(this.src.slice(this.pos));
    if (match === null) {
      throw new RegexError(
        "invalid group name",
        open,
        "a group name is made of ASCII letters, digits, `_` and `$`, does not start with a digit, and ends with `>`",
      );
    }
    const name = match[1] ?? "";
    if (this.groupNames.has(name)) {
      throw new RegexError(`duplicate group name \`${name}\``, open, "give each named group a different name");
    }
    this.groupNames.add(name);
    this.pos += match[0].length;
  }

  private charClass(): Node {
    const open = this.pos;
    this.pos++;
    const negated = this.peek() === "^";
    if (negated) this.pos++;
    const pairs: number[] = [];
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        throw new RegexError(
          "unclosed character class",
          open,
          "add a closing `]`, or write `\\[` to match a bracket",
        );
      }
      if (ch === "]") {
        this.pos++;
        break;
      }
      const atomStart = this.pos;
      const first = this.classAtom();
      if (this.peek() === "-" && this.peek(1) !== undefined && this.peek(1) !== "]") {
        const dash = this.pos;
        this.pos++;
        const second = this.classAtom();
        if (!("unit" in first) || !("unit" in second)) {
          throw new RegexError(
            "a class escape such as `\\d` cannot bound a range",
            dash,
            "write `\\-` to include a literal `-`",
          );
        }
        if (first.unit > second.unit) {
          throw new RegexError(
            `the range \`${this.src.slice(atomStart, this.pos)}\` is out of order`,
            atomStart,
            "write the lower character first, as in `a-z`",
          );
        }
        pairs.push(first.unit, second.unit);
      } else if ("unit" in first) {
        pairs.push(first.unit, first.unit);
      } else {
        pairs.push(...first.set);
      }
    }
    let ranges: readonly number[] = normalize(pairs);
    // Case folding applies to the members before a class is negated, as in JavaScript.
    if (this.flags.ignoreCase) ranges = caseClose(ranges);
    return setNode(negated ? complement(ranges) : ranges);
  }

  private classAtom(): ClassAtom {
    const ch = this.peek() ?? "";
    if (ch !== "\\") {
      this.pos++;
      return { unit: ch.charCodeAt(0) };
    }
    const start = this.pos;
    const next = this.peek(1);
    if (next === "b") {
      this.pos += 2;
      return { unit: 0x08 };
    }
    if (next === "B") {
      throw new RegexError("`\\B` cannot be used inside a character class", start, "move it outside the brackets");
    }
    if (next !== undefined && next >= "1" && next <= "9") {
      throw octalEscape(start, this.src.slice(start, start + 2));
    }
    return this.escape(start);
  }

  /** An escape outside a class: an assertion was already handled, so this is a set or a unit. */
  private atomEscape(): Node {
    const start = this.pos;
    const next = this.peek(1);
    if ((next !== undefined && next >= "1" && next <= "9") || (next === "k" && this.peek(2) === "<")) {
      throw new RegexError(
        `backreference \`${this.src.slice(start, start + 2)}\` is not supported`,
        start,
        "the linear-time matcher cannot compare with earlier text; repeat the pattern itself instead",
      );
    }
    const atom = this.escape(start);
    return "unit" in atom ? this.unit(atom.unit) : this.set(atom.set);
  }

  /** An escape valid both inside and outside classes, starting at the backslash at `start`. */
  private escape(start: number): ClassAtom {
    const next = this.src[start + 1];
    this.pos = start + 2;
    switch (next) {
      case undefined:
        throw new RegexError("the regex ends with a lone backslash", start, "write `\\\\` to match a backslash");
      case "d":
        return { set: DIGIT };
      case "D":
        return { set: complement(DIGIT) };
      case "w":
        return { set: WORD };
      case "W":
        return { set: complement(WORD) };
      case "s":
        return { set: SPACE };
      case "S":
        return { set: complement(SPACE) };
      case "n":
        return { unit: 0x0a };
      case "r":
        return { unit: 0x0d };
      case "t":
        return { unit: 0x09 };
      case "v":
        return { unit: 0x0b };
      case "f":
        return { unit: 0x0c };
      case "0": {
        const after = this.src[start + 2];
        if (after !== undefined && after >= "0" && after <= "9") throw octalEscape(start, this.src.slice(start, start + 3));
        return { unit: 0 };
      }
      case "x":
        return { unit: this.hexEscape(start, 2, "`\\x` must be followed by two hex digits", "as in `\\x41`") };
      case "u":
        if (this.src[start + 2] === "{") {
          throw new RegexError(
            "`\\u{...}` escapes are not supported",
            start,
            "they need the `u` flag; write `\\uHHHH` with four hex digits, using a surrogate pair above U+FFFF",
          );
        }
        return { unit: this.hexEscape(start, 4, "`\\u` must be followed by four hex digits", "as in `\\u00e9`") };
      case "c": {
        const letter = this.src[start + 2] ?? "";
        if (!/^[A-Za-z]$/.test(letter)) {
          throw new RegexError("`\\c` must be followed by a letter", start, "write the control character as `\\xHH`");
        }
        this.pos++;
        return { unit: letter.charCodeAt(0) % 32 };
      }
      case "p":
      case "P":
        if (this.src[start + 2] === "{") {
          throw new RegexError(
            "unicode property escapes are not supported",
            start,
            "they need the `u` flag, which is not supported; list the characters in a class such as `[a-zA-Z]`",
          );
        }
        break;
    }
    if (/^[A-Za-z0-9]$/.test(next)) {
      throw new RegexError(
        `unknown escape \`\\${next}\``,
        start,
        `to match \`${next}\`, write it without the backslash`,
      );
    }
    // Escaped punctuation (and any other character) matches itself, as in JavaScript.
    return { unit: next.charCodeAt(0) };
  }

  private hexEscape(start: number, digits: number, message: string, example: string): number {
    const hex = this.src.slice(start + 2, start + 2 + digits);
    if (hex.length !== digits || !/^[0-9A-Fa-f]+$/.test(hex)) {
      throw new RegexError(message, start, `write exactly ${digits} hex digits, ${example}`);
    }
    this.pos = start + 2 + digits;
    return parseInt(hex, 16);
  }
}

function nothingToRepeat(quantifier: string, offset: number): RegexError {
  return new RegexError(
    `the quantifier \`${quantifier}\` has nothing to repeat`,
    offset,
    `write \`\\${quantifier.charAt(0)}\` to match the character itself`,
  );
}

function octalEscape(offset: number, text: string): RegexError {
  return new RegexError(
    `\`${text}\` is not supported: it is a backreference or a legacy octal escape`,
    offset,
    "write a character code as `\\xHH`; backreferences cannot be matched in linear time",
  );
}

function tooLarge(size: number, offset: number): RegexError {
  return new RegexError(
    `the regex is too large: it compiles to a program of size ${size}, above the limit of ${MAX_PROGRAM_SIZE}`,
    offset,
    "simplify it: use smaller counts in `{n,m}` or fewer nested repetitions, or split it into several conditions",
  );
}

// ---------------------------------------------------------------------------------------------
// Code generation

/** Emits the program for `root`: the state count, the code ending with MATCH, the class pool. */
function emitProgram(root: Node): RegexProgram {
  const emitter = new Emitter();
  emitter.node(root);
  const { program, states } = emitter.finish();
  if (states > MAX_PROGRAM_SIZE) throw tooLarge(states, 0);
  if (program.length > MAX_PROGRAM_WORDS) {
    throw new RegexError(
      `the regex is too large: its program has ${program.length} elements, above the limit of ${MAX_PROGRAM_WORDS}`,
      0,
      "simplify it: use fewer or smaller character classes, especially with the `i` flag",
    );
  }
  return program;
}

class Emitter {
  /** Words 0 and 1 are patched with the state count and the deepest level by `finish`. */
  private readonly code: number[] = [0, 0];
  /** Class pool: ranges by key, with the operand slots that must point at them. */
  private readonly classes = new Map<string, { ranges: readonly number[]; uses: number[] }>();
  /** How many empty-checked loop iterations enclose the code being emitted. */
  private level = 0;
  private maxLevel = 0;
  /**
   * Thread-list entries the matcher may need at one input position: a consuming instruction or
   * MATCH is held once, a non-consuming one once per possible level (0..`level`) of its thread.
   */
  private states = 0;

  finish(): { program: number[]; states: number } {
    this.emit(Op.Match);
    for (const { ranges, uses } of this.classes.values()) {
      const at = this.code.length;
      for (const use of uses) this.code[use] = at;
      this.code.push(ranges.length / 2, ...ranges);
    }
    this.code[0] = this.states;
    this.code[1] = this.maxLevel;
    return { program: this.code, states: this.states };
  }

  /** Appends one instruction; returns its pc. */
  private emit(op: number, ...operands: number[]): number {
    const pc = this.code.length;
    this.code.push(op, ...operands);
    this.states += op === Op.Match || op === Op.Char || op === Op.Class ? 1 : this.level + 1;
    return pc;
  }

  node(node: Node): void {
    switch (node.kind) {
      case "empty":
        return;
      case "set":
        return this.set(node.ranges);
      case "assert":
        this.emit(Op.Assert, node.assertion);
        return;
      case "concat":
        for (const item of node.items) this.node(item);
        return;
      case "alt":
        return this.alt(node.items);
      case "repeat":
        return this.repeat(node.body, node.min, node.max, node.greedy);
    }
  }

  private set(ranges: readonly number[]): void {
    if (ranges.length === 2 && ranges[0] === ranges[1]) {
      this.emit(Op.Char, ranges[0] ?? 0);
      return;
    }
    const key = ranges.join(",");
    let entry = this.classes.get(key);
    if (entry === undefined) {
      entry = { ranges, uses: [] };
      this.classes.set(key, entry);
    }
    entry.uses.push(this.emit(Op.Class, -1) + 1);
  }

  /** `a|b|c`: SPLIT L1, L2; L1: a; JMP end; L2: SPLIT L2a, L3; L2a: b; JMP end; L3: c; end: */
  private alt(items: readonly Node[]): void {
    const jumps: number[] = [];
    items.forEach((item, i) => {
      if (i === items.length - 1) {
        this.node(item);
        return;
      }
      const split = this.emit(Op.Split, -1, -1);
      this.code[split + 1] = this.code.length;
      this.node(item);
      jumps.push(this.emit(Op.Jmp, -1) + 1);
      this.code[split + 2] = this.code.length;
    });
    for (const jump of jumps) this.code[jump] = this.code.length;
  }

  /**
   * Repetition. JavaScript fails an optional iteration (one beyond `min`) that matches the empty
   * string and backtracks into the body for another way to match; a mandatory iteration may be
   * empty. When the body can match empty, each optional iteration is wrapped in ENTER/CHECK so
   * the matcher applies the same rule; otherwise no iteration can be empty and nothing is needed.
   *
   *   x{n,m}   n copies of x, then m-n times:   Li: SPLIT Bi, end; Bi: [ENTER l] x [CHECK l]
   *   x{n,}    n copies of x, then:             L: SPLIT B, end; B: [ENTER l] x [CHECK l] JMP L
   *   x{n,}    when x cannot match empty and n > 0: n-1 copies of x, then B: x; SPLIT B, end
   *
   * Lazy forms swap the SPLIT targets. Copies are emitted separately, so a program grows with
   * the counts; the parser bounds them.
   */
  private repeat(body: Node, min: number, max: number, greedy: boolean): void {
    if (max === 0) return;
    const checked = nullable(body);
    const split = (first: number, second: number): number =>
      greedy ? this.emit(Op.Split, first, second) : this.emit(Op.Split, second, first);
    if (max === Infinity && min > 0 && !checked) {
      for (let i = 1; i < min; i++) this.node(body);
      const start = this.code.length;
      this.node(body);
      split(start, this.code.length + 3);
      return;
    }
    for (let i = 0; i < min; i++) this.node(body);
    const exits: number[] = [];
    const count = max === Infinity ? 1 : max - min;
    for (let i = 0; i < count; i++) {
      const entry = split(-1, -1);
      this.code[entry + (greedy ? 1 : 2)] = this.code.length;
      exits.push(entry + (greedy ? 2 : 1));
      this.iteration(body, checked);
      if (max === Infinity) this.emit(Op.Jmp, entry);
    }
    for (const exit of exits) this.code[exit] = this.code.length;
  }

  /** One optional iteration of `body`, empty-checked if it can match empty. */
  private iteration(body: Node, checked: boolean): void {
    if (!checked) {
      this.node(body);
      return;
    }
    this.level++;
    this.maxLevel = Math.max(this.maxLevel, this.level);
    this.emit(Op.Enter, this.level);
    this.node(body);
    this.emit(Op.Check, this.level);
    this.level--;
  }
}
