/**
 * The regex program compiler: a syntax tree (`ast.ts`) to a program for the linear-time matcher
 * in `vm-source.ts`, and `parseRegex`, the regex front end's one entry point (flags, parser,
 * compiler).
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
import { literalOf, MAX_PROGRAM_SIZE, type Node, nullable, RegexError, tooLarge } from "./ast.js";
import { parseRegexTree } from "./parser.js";

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

/** The largest program, in array elements (instructions, operands and the class pool). */
export const MAX_PROGRAM_WORDS = 200_000;

/** Parses `source` (the text between the slashes) with `flags` and compiles it. */
export function parseRegex(source: string, flags: string): RegexParseResult {
  try {
    const root = parseRegexTree(source, flags);
    const program = emitProgram(root);
    return { ok: true, program, literal: flags === "" ? literalOf(root) : null };
  } catch (error) {
    if (error instanceof RegexError) {
      return error.help === undefined ? { ok: false, message: error.message, offset: error.offset } : { ok: false, message: error.message, offset: error.offset, help: error.help };
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Emitting the program

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
        this.set(node.ranges);
        return;
      case "assert":
        this.emit(Op.Assert, node.assertion);
        return;
      case "concat":
        for (const item of node.items) this.node(item);
        return;
      case "alt":
        this.alt(node.items);
        return;
      case "repeat":
        this.repeat(node.body, node.min, node.max, node.greedy);
        return;
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
    const split = (first: number, second: number): number => (greedy ? this.emit(Op.Split, first, second) : this.emit(Op.Split, second, first));
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
