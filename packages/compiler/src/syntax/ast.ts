/**
 * The abstract syntax tree. Every node has a half-open span. Where the input is broken the tree
 * has holes: a `missing` expression, or a `null` name, so that later stages can still work on the
 * rest of the file (the language server answers hover and completion in broken files).
 */
import type { Span } from "./source.js";

export interface Ident {
  readonly name: string;
  readonly span: Span;
}

export interface StringNode {
  readonly value: string;
  readonly span: Span;
}

/** A number written where a literal number is required (`quorum 2`). */
export interface NumberNode {
  readonly value: number;
  readonly raw: string;
  readonly span: Span;
}

/** `grant SCOPE DURATION [up to LIMIT of AMOUNT]` after `require approval`. */
export interface GrantNode {
  /** `session`, or a path of the action (`action.to`). */
  readonly scope: PathExpr;
  readonly duration: DurationNode | null;
  readonly limit: NumberNode | null;
  readonly amount: PathExpr | null;
  readonly span: Span;
}

export interface DurationNode {
  readonly ms: number;
  readonly raw: string;
  readonly span: Span;
}

export interface RegexNode {
  readonly kind: "regex";
  /** The pattern between the slashes, exactly as written. */
  readonly source: string;
  readonly flags: string;
  readonly span: Span;
  /** Offset of the pattern's first character in the file (after the opening slash). */
  readonly sourceStart: number;
}

/** `std.NAME`; `head` is what was written before the dot (the checker wants `std`). */
export interface DetectorNode {
  readonly kind: "detector";
  readonly head: string;
  readonly name: string;
  readonly nameSpan: Span;
  readonly span: Span;
}
/** `glob("...")`; `head` is the function name as written (the checker wants `glob`). */
export interface GlobNode {
  readonly kind: "glob";
  readonly head: string;
  readonly glob: StringNode;
  readonly span: Span;
}
export type PatternNode = RegexNode | DetectorNode | GlobNode;

/** The replacement text of `redact ... with`: a string, or the name of a string let. */
export type RedactText = { readonly kind: "string"; readonly value: string; readonly span: Span } | { readonly kind: "name"; readonly name: string; readonly span: Span };

export type Expr = MissingExpr | LiteralExpr | ListExpr | PathExpr | CallExpr | NotExpr | LogicalExpr | CompareExpr | BetweenExpr | MatchesExpr | ParenExpr | QuantifierExpr | ArithExpr;

export interface MissingExpr {
  readonly kind: "missing";
  readonly span: Span;
}
export interface LiteralExpr {
  readonly kind: "literal";
  readonly value: string | number | boolean | null;
  readonly raw: string;
  readonly span: Span;
}
export interface ListExpr {
  readonly kind: "list";
  readonly elements: readonly Expr[];
  readonly span: Span;
}
/** A dotted name: `action.type`, `user.role`, `time.hour`, a bare field, or a let. */
export interface PathExpr {
  readonly kind: "path";
  readonly segments: readonly Ident[];
  readonly span: Span;
}
export interface CallExpr {
  readonly kind: "call";
  readonly callee: Ident;
  readonly argument: Expr;
  /** `where COND` of `sum`/`max`/`min`, `since B` of `seen`; null without one. */
  readonly clause: CallClause | null;
  readonly window: DurationNode | null;
  /** `per PATH` of a history function (`per user.id`, `per deployment`); null without one. */
  readonly scope: CallScope | null;
  readonly span: Span;
}
export interface CallScope {
  readonly path: PathExpr;
  /** The `per` keyword's span. */
  readonly span: Span;
}
export interface CallClause {
  readonly keyword: "where" | "since";
  readonly expr: Expr;
  /** The keyword's span. */
  readonly span: Span;
}
export interface NotExpr {
  readonly kind: "not";
  readonly operand: Expr;
  readonly span: Span;
}
export interface LogicalExpr {
  readonly kind: "and" | "or";
  readonly operands: readonly Expr[];
  readonly span: Span;
}
export type CompareOperator = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in" | "contains" | "starts_with" | "ends_with";
export interface CompareExpr {
  readonly kind: "compare";
  readonly op: CompareOperator;
  readonly opSpan: Span;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}
export interface BetweenExpr {
  readonly kind: "between";
  readonly value: Expr;
  readonly low: Expr;
  readonly high: Expr;
  readonly span: Span;
}
export interface MatchesExpr {
  readonly kind: "matches";
  readonly value: Expr;
  readonly regex: PatternNode | null;
  readonly span: Span;
}
export interface ParenExpr {
  readonly kind: "paren";
  readonly expr: Expr;
  readonly span: Span;
}

/** `any(x in LIST: COND)`, `all(x in LIST: COND)`. */
export interface QuantifierExpr {
  readonly kind: "quantifier";
  /** `any` or `all`, as written. */
  readonly callee: Ident;
  readonly variable: Ident | null;
  readonly list: Expr;
  readonly condition: Expr;
  readonly span: Span;
}
export type ArithOperator = "+" | "-" | "*" | "/";
/** `a + b`, `a - b`, `a * b`, `a / b`. */
export interface ArithExpr {
  readonly kind: "arith";
  readonly op: ArithOperator;
  readonly opSpan: Span;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export type EffectNode =
  | { readonly kind: "allow" | "deny"; readonly span: Span; readonly reason: StringNode | null }
  | {
      readonly kind: "require_approval";
      readonly from: StringNode | null;
      /** `from NAME`: a `param` or let holding the group (`from` is then null). */
      readonly fromName: PathExpr | null;
      readonly timeout: DurationNode | null;
      /** `quorum N`; null when absent (one approver). */
      readonly quorum: NumberNode | null;
      /** `grant SCOPE DURATION [up to N of PATH]`; null when absent. */
      readonly grant: GrantNode | null;
      readonly span: Span;
      readonly reason: StringNode | null;
    }
  | {
      readonly kind: "redact";
      readonly path: PathExpr | null;
      readonly regex: PatternNode | null;
      /** `with "TEXT"` (a string) or `with NAME` (a let); null without `with`. */
      readonly text: RedactText | null;
      readonly span: Span;
      readonly reason: StringNode | null;
    }
  | {
      readonly kind: "label";
      /** The label's text; null where the string is missing. */
      readonly label: StringNode | null;
      readonly span: Span;
      readonly reason: StringNode | null;
    };

export type Item = PolicyDecl | SchemaDecl | DefaultDecl | TimezoneDecl | LetDecl | RuleDecl | TestDecl | ImportDecl | ParamDecl | DisableDecl | OverrideDecl | PropertyDecl;

/** `import "PATH" as NAME [with { PARAM: VALUE, ... }]`. */
export interface ImportDecl {
  readonly kind: "import";
  readonly path: StringNode | null;
  readonly name: Ident | null;
  /** The `with { ... }` object; null without it. */
  readonly params: DataObject | null;
  readonly span: Span;
}
/** `param NAME: TYPE = DEFAULT`; `list` for `[TYPE]`. */
export interface ParamDecl {
  readonly kind: "param";
  readonly name: Ident | null;
  readonly type: Ident | null;
  readonly list: boolean;
  readonly value: DataValue | null;
  readonly span: Span;
}
/** `disable NAME.RULE`. */
export interface DisableDecl {
  readonly kind: "disable";
  /** The dotted name's parts; empty where it is broken. */
  readonly target: readonly Ident[];
  readonly span: Span;
}
/** `override NAME.RULE ... when CONDITION EFFECT`: `rule` is the replacement, named by the whole target. */
export interface OverrideDecl {
  readonly kind: "override";
  readonly target: readonly Ident[];
  readonly rule: RuleDecl;
  readonly span: Span;
}

/** What a property says of a decision: its kind, or that a redaction fired. */
export type PropertyOutcome = "allow" | "deny" | "require_approval" | "redacted";

/** `property NAME: always|never OUTCOME [or OUTCOME ...] [when CONDITION]`. */
export interface PropertyDecl {
  readonly kind: "property";
  readonly name: Ident | null;
  /** Null where the word is missing (a syntax error says so). */
  readonly mode: "always" | "never" | null;
  readonly outcomes: readonly { readonly outcome: PropertyOutcome; readonly span: Span }[];
  /** Null without `when`: the property is about every input. */
  readonly condition: Expr | null;
  readonly span: Span;
}

export interface PolicyDecl {
  readonly kind: "policy";
  readonly name: Ident | null;
  readonly version: StringNode | null;
  readonly span: Span;
}
export interface SchemaDecl {
  readonly kind: "schema";
  readonly path: StringNode | null;
  readonly span: Span;
}
export interface DefaultDecl {
  readonly kind: "default";
  readonly effect: "allow" | "deny" | "require_approval" | null;
  /** For `default require approval`: `from` and `timeout`, as in the effect. */
  readonly from: StringNode | null;
  readonly fromName: PathExpr | null;
  readonly timeout: DurationNode | null;
  readonly quorum: NumberNode | null;
  readonly grant: GrantNode | null;
  readonly span: Span;
}
export interface TimezoneDecl {
  readonly kind: "timezone";
  readonly zone: StringNode | null;
  readonly span: Span;
}
export interface LetDecl {
  readonly kind: "let";
  readonly name: Ident | null;
  readonly value: Expr;
  readonly span: Span;
}
export interface RuleDecl {
  readonly kind: "rule";
  /** `null` for an anonymous rule (`when ... deny`). */
  readonly name: Ident | null;
  readonly anonymous: boolean;
  /** `on STAGE` as written (the checker reads `call`, `result`, `output`); null without it (a call rule). */
  readonly stage: Ident | null;
  readonly condition: Expr;
  readonly effect: EffectNode | null;
  readonly span: Span;
}

export type DataValue = DataObject | DataList | DataLiteral;
export interface DataObject {
  readonly kind: "object";
  readonly entries: readonly { readonly key: Ident; readonly value: DataValue }[];
  readonly span: Span;
}
export interface DataList {
  readonly kind: "list";
  readonly elements: readonly DataValue[];
  readonly span: Span;
}
export interface DataLiteral {
  readonly kind: "literal";
  readonly value: string | number | boolean | null;
  readonly raw: string;
  readonly span: Span;
}

export type TestStep =
  | { readonly kind: "given"; readonly key: Ident; readonly value: DataValue | null; readonly span: Span }
  | {
      readonly kind: "history";
      readonly repeat: number | null;
      readonly entry: DataObject | null;
      /** `labels [...]`: the labels the entry was given, or null. */
      readonly labels: DataValue | null;
      /** `within D` spreads entries over the last D; `ago D` places one D before; `at "ISO"`. */
      readonly placement:
        | { readonly kind: "within" | "ago"; readonly duration: DurationNode | null; readonly span: Span }
        | { readonly kind: "at"; readonly time: StringNode | null; readonly span: Span }
        | null;
      readonly span: Span;
    }
  | {
      readonly kind: "expect";
      readonly outcome:
        | { readonly kind: "decision"; readonly decision: Ident }
        | { readonly kind: "error" }
        | { readonly kind: "approval"; readonly group: StringNode | null }
        | { readonly kind: "field"; readonly path: PathExpr; readonly expected: DataValue | null };
      readonly by: readonly Ident[];
      readonly span: Span;
    };

export interface TestDecl {
  readonly kind: "test";
  readonly name: StringNode | null;
  readonly steps: readonly TestStep[];
  readonly span: Span;
}

export interface Comment {
  readonly text: string;
  readonly span: Span;
  readonly block: boolean;
}

export interface FileNode {
  readonly kind: "file";
  readonly items: readonly Item[];
  readonly comments: readonly Comment[];
  readonly span: Span;
}
