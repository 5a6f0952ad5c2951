/**
 * The regex syntax tree: what `parser.ts` builds and `compile-program.ts` compiles, with the
 * instruction count of each node (so the parser can refuse a regex whose program would be too
 * large before building it), and the error every stage of the regex front end reports.
 *
 * Character sets in the tree are already case-folded and complemented (`char-set.ts`), so the
 * tree no longer depends on flags.
 */

/**
 * What an `assert` node tests, and the operand of the program's ASSERT instruction. The multiline
 * forms are what `^` and `$` compile to under `m`.
 */
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

/**
 * The largest program a regex may compile to, counted in matcher states: one per instruction, plus
 * one per level of empty-checked loops around each non-consuming instruction (so usually just the
 * instruction count). The matcher's work and memory per input character are proportional to it.
 */
export const MAX_PROGRAM_SIZE = 20_000;

/**
 * A regex the policy language does not accept. `offset` is a UTF-16 offset into the source;
 * `parseRegex` turns it into a result, so it never escapes the regex front end.
 */
export class RegexError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly help?: string,
  ) {
    super(message);
  }
}

export function tooLarge(size: number, offset: number): RegexError {
  return new RegexError(
    `the regex is too large: it compiles to a program of size ${size}, above the limit of ${MAX_PROGRAM_SIZE}`,
    offset,
    "simplify it: use smaller counts in `{n,m}` or fewer nested repetitions, or split it into several conditions",
  );
}

/**
 * A parsed regex. Character sets are already case-folded and complemented, so the tree no longer
 * depends on flags. `size` is the number of instructions the node compiles to.
 */
export type Node =
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

export function setNode(ranges: readonly number[]): Node {
  return { kind: "set", ranges, size: 1 };
}

export function concatNode(items: readonly Node[]): Node {
  if (items.length === 0) return EMPTY;
  if (items.length === 1) return items[0] ?? EMPTY;
  return { kind: "concat", items, size: items.reduce((sum, item) => sum + item.size, 0) };
}

export function altNode(items: readonly Node[]): Node {
  if (items.length === 1) return items[0] ?? EMPTY;
  // SPLIT before and JMP after every alternative but the last.
  const size = items.reduce((sum, item) => sum + item.size, 0) + 2 * (items.length - 1);
  return { kind: "alt", items, size };
}

/** Whether the node can match without consuming input (assertions count as empty). */
export function nullable(node: Node): boolean {
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

/** The instruction count of `body{min,max}`, matching `Emitter.repeat` in compile-program.ts. */
export function repeatSize(body: Node, min: number, max: number): number {
  if (max === 0) return 0;
  const checks = nullable(body) ? 2 : 0;
  if (max === Infinity) {
    if (min > 0 && checks === 0) return min * body.size + 1;
    return (min + 1) * body.size + 2 + checks;
  }
  return min * body.size + (max - min) * (body.size + 1 + checks);
}

/** The fixed string the node matches, if it is a plain sequence of single characters. */
export function literalOf(node: Node): string | null {
  switch (node.kind) {
    case "empty":
      return "";
    case "set":
      return node.ranges.length === 2 && node.ranges[0] === node.ranges[1] ? String.fromCharCode(node.ranges[0] ?? 0) : null;
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
