/**
 * The regex parser: the regex subset the policy language allows (`path matches /x/i`,
 * `redact body matching /x/`) and its flags, to a syntax tree (`ast.ts`).
 *
 * The subset is JavaScript's non-unicode RegExp syntax without the features that need
 * backtracking: literal characters, escapes, `.`, character classes, anchors, groups (captures are
 * not exposed), alternation and greedy or lazy quantifiers, with the flags `i`, `m` and `s`.
 * Every pattern this module accepts is also a valid JavaScript RegExp with the same meaning, so
 * the JavaScript engine can serve as a test oracle.
 */
import { Assertion, altNode, concatNode, MAX_PROGRAM_SIZE, type Node, RegexError, repeatSize, setNode, tooLarge } from "./ast.js";
import { ALL, caseClose, complement, DIGIT, LINE_TERMINATOR, normalize, SPACE, WORD } from "./char-set.js";

/** The largest count allowed in `{n}`, `{n,}` and `{n,m}`. */
export const MAX_REPEAT = 1000;
/** The deepest nesting of groups; it bounds recursion in the parser and the emitter. */
const MAX_GROUP_DEPTH = 200;

const SUPPORTED_FLAGS = "ims";
const FLAG_HELP = "remove it: `matches` only asks whether there is a match, and redaction replaces every match anyway";

/**
 * Parses `source` (the text between the slashes) with `flags` into a syntax tree; throws
 * `RegexError` for anything the subset does not allow.
 */
export function parseRegexTree(source: string, flags: string): Node {
  return new Parser(source, parseFlags(source, flags)).parse();
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
        throw new RegexError(`\`${text}\` cannot be repeated`, this.pos, `\`${text}\` matches a position, not text; escape the quantifier to match it literally`);
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
      throw new RegexError(`the repetition count in \`${text}\` is above the limit of ${MAX_REPEAT}`, start, "use `*` or `+` for unbounded repetition, or a smaller count");
    }
    if (q.min > q.max) {
      throw new RegexError(`the numbers in the quantifier \`${text}\` are out of order`, start, "write the smaller number first");
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
          throw new RegexError(`\`${broken[0]}\` is not a quantifier`, start, `write \`{0,${broken[0].slice(2, -1)}}\` to repeat up to that many times, or \`\\{\` to match a brace`);
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
        throw new RegexError(`unsupported group syntax \`(${kind.slice(0, 2)}\``, open, "groups are written `( )`, `(?: )` or `(?<name> )`; write `\\(` to match a parenthesis");
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
      throw new RegexError("invalid group name", open, "a group name is made of ASCII letters, digits, `_` and `$`, does not start with a digit, and ends with `>`");
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
        throw new RegexError("unclosed character class", open, "add a closing `]`, or write `\\[` to match a bracket");
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
          throw new RegexError("a class escape such as `\\d` cannot bound a range", dash, "write `\\-` to include a literal `-`");
        }
        if (first.unit > second.unit) {
          throw new RegexError(`the range \`${this.src.slice(atomStart, this.pos)}\` is out of order`, atomStart, "write the lower character first, as in `a-z`");
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
          throw new RegexError("`\\u{...}` escapes are not supported", start, "they need the `u` flag; write `\\uHHHH` with four hex digits, using a surrogate pair above U+FFFF");
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
          throw new RegexError("unicode property escapes are not supported", start, "they need the `u` flag, which is not supported; list the characters in a class such as `[a-zA-Z]`");
        }
        break;
    }
    if (/^[A-Za-z0-9]$/.test(next)) {
      throw new RegexError(`unknown escape \`\\${next}\``, start, `to match \`${next}\`, write it without the backslash`);
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
  return new RegexError(`the quantifier \`${quantifier}\` has nothing to repeat`, offset, `write \`\\${quantifier.charAt(0)}\` to match the character itself`);
}

function octalEscape(offset: number, text: string): RegexError {
  return new RegexError(`\`${text}\` is not supported: it is a backreference or a legacy octal escape`, offset, "write a character code as `\\xHH`; backreferences cannot be matched in linear time");
}
