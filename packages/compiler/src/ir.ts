/**
 * The checked intermediate representation: what the checker produces and what codegen and the
 * reference interpreter consume. It carries no syntax: no tokens, no CST, no AST nodes; spans
 * are kept only to name rules and conditions in decisions, errors and explanations.
 *
 * Every name is resolved (lets are folded into literals), every regex is validated and hoisted,
 * and every history predicate is hoisted into a tracker.
 */
import type { RegexProgram } from "./regex/index.js";
import type { Span } from "./syntax/source.js";

/** A JSON value as the language sees it. A missing field reads as `null`. */
export type Value = null | boolean | number | string | readonly Value[] | { readonly [key: string]: Value };

// the decision's shapes are the compiled module's contract; re-exported for the compiler's users
export type { ApprovalAsk, DecisionError, DecisionKind, EffectKind, FiredRule, GrantInput, GrantOffer, GrantUse, PolicyDecision } from "@agent-armor/contract";

import type { ApprovalAsk, GrantOffer } from "@agent-armor/contract";

export { REDACTED } from "@agent-armor/contract";

/**
 * Where a path starts. `item` is the earlier action inside `count(...)` and `seen(...)`;
 * `current` is the current action read inside them (`ticker == current.ticker`); `local` is a
 * name bound by `any(x in L: C)` / `all(...)`, whose path's first field is the name.
 */
export type PathRoot = "action" | "user" | "context" | "item" | "current" | "local" | "result" | "output" | "session" | "itemLabels";

/**
 * The stage a rule decides: a tool call before it runs (`call`), what the tool returned before the
 * model reads it (`result`), or a message of the model before the user reads it (`output`).
 */
export type Stage = "call" | "result" | "output";
export const STAGES: readonly Stage[] = ["call", "result", "output"];

export type TimeField = "hour" | "minute" | "weekday" | "date";
export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";
export type StringOp = "contains" | "starts_with" | "ends_with";
export type ArithOp = "+" | "-" | "*" | "/";

interface Node {
  /** The source text this condition came from, for explanations and errors. */
  readonly span: Span;
}

export type Expr =
  | LiteralExpr
  | PathExpr
  | TimeExpr
  | AndExpr
  | OrExpr
  | NotExpr
  | CompareExpr
  | InExpr
  | BetweenExpr
  | MatchesExpr
  | StringOpExpr
  | ExistsExpr
  | CountExpr
  | SeenExpr
  | QuantifierExpr
  | ArithExpr
  | FnExpr
  | AggregateExpr;

export interface LiteralExpr extends Node {
  readonly kind: "literal";
  readonly value: Value;
}
export interface PathExpr extends Node {
  readonly kind: "path";
  readonly root: PathRoot;
  /**
   * Never empty for `action`/`item` paths, except as the argument of `strings(action)`; may be
   * empty for `user`/`context` (the whole object).
   * For `local`, the first field is the local's name (`x` in `any(x in L: C)`), the rest its fields.
   * `result` and `output` read the stage's value (fields may be empty: the whole value);
   * `session` reads the input's `session` (`session.labels`); `itemLabels`, inside a history
   * condition, is the earlier entry's `labels` (fields always empty).
   */
  readonly fields: readonly string[];
}
export interface TimeExpr extends Node {
  readonly kind: "time";
  readonly field: TimeField;
}
export interface AndExpr extends Node {
  readonly kind: "and";
  readonly args: readonly Expr[];
}
export interface OrExpr extends Node {
  readonly kind: "or";
  readonly args: readonly Expr[];
}
export interface NotExpr extends Node {
  readonly kind: "not";
  readonly arg: Expr;
}
export interface CompareExpr extends Node {
  readonly kind: "compare";
  readonly op: CompareOp;
  readonly left: Expr;
  readonly right: Expr;
}
/** `left in list`; `not in` is `not` around it. */
export interface InExpr extends Node {
  readonly kind: "in";
  readonly left: Expr;
  readonly list: Expr;
}
/** `value between low and high`, inclusive. */
export interface BetweenExpr extends Node {
  readonly kind: "between";
  readonly value: Expr;
  readonly low: Expr;
  readonly high: Expr;
}
export interface MatchesExpr extends Node {
  readonly kind: "matches";
  readonly value: Expr;
  /** Index into `Policy.regexes`. */
  readonly regex: number;
}
export interface StringOpExpr extends Node {
  readonly kind: "stringOp";
  readonly op: StringOp;
  readonly left: Expr;
  readonly right: Expr;
}
export interface ExistsExpr extends Node {
  readonly kind: "exists";
  readonly path: PathExpr;
}
export interface CountExpr extends Node {
  readonly kind: "count";
  /** Index into `Policy.trackers`. */
  readonly tracker: number;
}
export interface SeenExpr extends Node {
  readonly kind: "seen";
  /** Index into `Policy.trackers`. */
  readonly tracker: number;
}

/** A value function applied to one argument: `host(url)`, `lower(s)`, `upper(s)`, `length(x)`, `strings(v)`. */
export interface FnExpr extends Node {
  readonly kind: "fn";
  readonly name: "host" | "lower" | "upper" | "length" | "strings";
  readonly arg: Expr;
}

/** `sum(...)`, `max(...)`, `min(...)`: a number (`max`/`min`: or `null`) over the history. */
export interface AggregateExpr extends Node {
  readonly kind: "aggregate";
  readonly aggregate: "sum" | "max" | "min";
  /** Index into `Policy.trackers`. */
  readonly tracker: number;
}

/**
 * `any(variable in list: condition)` / `all(...)`: whether the condition holds for some / every
 * element of `list`. Inside `condition`, `{ kind: "path", root: "local", fields: [variable, ...] }`
 * reads the element (the innermost quantifier binding the name wins). An empty list: `any` false,
 * `all` true; `null`: false for both; anything else not a list: an evaluation error.
 */
export interface QuantifierExpr extends Node {
  readonly kind: "quantifier";
  readonly quantifier: "any" | "all";
  readonly variable: string;
  readonly list: Expr;
  readonly condition: Expr;
}
/** `left op right` on two finite numbers; anything else, `/` by zero or a non-finite result is an evaluation error. */
export interface ArithExpr extends Node {
  readonly kind: "arith";
  readonly op: ArithOp;
  readonly left: Expr;
  readonly right: Expr;
}

export interface RegexDef {
  readonly index: number;
  /** The pattern as written between the slashes. */
  readonly source: string;
  readonly flags: string;
  readonly span: Span;
  /** The linear-time matcher program; `null` when the pattern was rejected (an error was reported). */
  readonly program: RegexProgram | null;
  /** The pattern as a plain string when it has no metacharacters, so `includes` can test it. */
  readonly literal: string | null;
  /** `std.NAME`: the detector's name (`source` is its pattern); null for a regex or a glob. */
  readonly detector: string | null;
  /** A detector's check run on each candidate match (regex/detector-source.ts), or null. */
  readonly check: string | null;
  /** `glob("...")`: the glob as written (`source` is its regex); null otherwise. */
  readonly glob: string | null;
}

export type TrackerKind = "count" | "seen" | "sum" | "max" | "min";

/**
 * A correlation: an entry counts for the current action when `entry` (read from the entry) `==`
 * `current` (a field of the current action). With `list` (`any(x in LIST: x.G == current.F)`),
 * `entry` reads the local `list.variable` (`x` or `x.G`), and the entry counts when that value of
 * some element of `list.expr` (read from the entry) equals `current`: it is filed under each.
 */
export interface TrackerKey {
  readonly entry: Expr;
  readonly current: PathExpr;
  readonly list?: { readonly expr: Expr; readonly variable: string };
}

/**
 * Whose history a predicate reads (`per ...`, docs/language.md §7.1): the current session's
 * entries (the default), every entry of the deployment (`per deployment`), or the entries whose
 * value at `root.fields` equals the decision's (`per user.id`): an entry's `user`/`context` as
 * recorded with it, or a field of its action.
 */
export type TrackerScope =
  | { readonly kind: "session" }
  | { readonly kind: "deployment" }
  | {
      readonly kind: "path";
      readonly root: "action" | "user" | "context";
      /** Never empty. */
      readonly fields: readonly string[];
    };

/** How a scope is written after `per`: `user.id`, `deployment`; `session` for the default. */
export function scopeText(s: TrackerScope): string {
  return s.kind === "path" ? `${s.root}.${s.fields.join(".")}` : s.kind;
}

/**
 * A history predicate: how many (or whether any) earlier actions satisfy `condition`; for `sum`,
 * `max` and `min`, the sum, largest or smallest `value` of those actions.
 */
export interface Tracker {
  readonly index: number;
  readonly kind: TrackerKind;
  /**
   * Reads only `item` paths and literals (and `current` in `keys`). With keys, the conjuncts of
   * `rest` first, then those of `keys`, each in the order written: the order a scan tests them in.
   */
  readonly condition: Expr;
  /** `seen(A since B)`: B, which restarts the search for A (an entry matching both is a B); null otherwise. */
  readonly since: Expr | null;
  /** `sum`/`max`/`min`: the number read from each matching entry; null for `count` and `seen`. */
  readonly value: Expr | null;
  /** The top-level `ENTRY == current.F` conjuncts of `condition`, in order; empty when it does not read the current action. */
  readonly keys: readonly TrackerKey[];
  /** `condition` without the conjuncts in `keys` (`condition` itself without keys). */
  readonly rest: Expr;
  /** The window in milliseconds; `null` means the whole session. */
  readonly withinMs: number | null;
  /** Whose history it reads: the session's by default. */
  readonly scope: TrackerScope;
  readonly span: Span;
}

export type Effect =
  | { readonly kind: "allow" }
  | { readonly kind: "deny" }
  | {
      readonly kind: "require_approval";
      readonly from: string | null;
      readonly timeoutMs: number | null;
      /** `quorum N`: the distinct approvers needed (1 without it). */
      readonly quorum: number;
      /** `grant ...`: what an approver may grant, with the rule's id; null without it. */
      readonly grant: GrantOffer | null;
    }
  | {
      readonly kind: "label";
      /** The label added to the decision, the session and the action's history entry. */
      readonly label: string;
    }
  | {
      readonly kind: "redact";
      /** What the path is in: the action (call stage), the result or the output (their stages). */
      readonly root: "action" | "result" | "output";
      /** Field path inside the root, never empty. */
      readonly path: readonly string[];
      /** Index into `Policy.regexes`; `null` redacts the whole field. */
      readonly regex: number | null;
      /** The replacement text (`with "TEXT"`), `"[REDACTED]"` by default. */
      readonly text: string;
    };

export interface Rule {
  readonly index: number;
  readonly id: string;
  /** The file the rule is written in when it is not the policy's own (an imported rule): its span, line and column are that file's. */
  readonly file?: string;
  /** Anonymous rules get an id made from their content (`semantic/rule-id.ts`). */
  readonly anonymous: boolean;
  /** The stage the rule decides (`on STAGE`; `call` when absent). */
  readonly stage: Stage;
  readonly condition: Expr;
  readonly effect: Effect;
  readonly reason: string | null;
  readonly span: Span;
  /** 1-based line and column of the rule, for metadata. */
  readonly line: number;
  readonly column: number;
  /**
   * The action types for which the rule can fire, derived from top-level conjuncts such as
   * `action.type == "x"` or `action.type in [...]`; `null` when the rule applies to any type.
   * Codegen dispatches on these.
   */
  readonly actionTypes: readonly string[] | null;
}

export interface Policy {
  readonly name: string;
  readonly version: string | null;
  readonly file: string;
  /** SHA-256 of the source text, hex. */
  readonly sourceHash: string;
  readonly defaultDecision: "allow" | "deny" | "require_approval";
  /** With `default require approval`: its `from` and `timeout`; null otherwise. */
  readonly defaultApproval: { readonly from: string | null; readonly timeoutMs: number | null; readonly quorum?: number } | null;
  /** Whether the policy states its default. */
  readonly defaultExplicit: boolean;
  /** IANA zone for `time.*`; `null` means UTC. */
  readonly timezone: string | null;
  readonly rules: readonly Rule[];
  readonly regexes: readonly RegexDef[];
  readonly trackers: readonly Tracker[];
  /** Whether a rule offers a grant (`require approval ... grant`): decisions then read `input.grants`. */
  readonly grants: boolean;
  /** The schema file as named in the policy, if any. */
  readonly schema: string | null;
  /** The schema document itself (JSON), so that runtimes can validate actions; `null` without one. */
  readonly actionSchema: unknown;
  /**
   * For each action type of the schema, the JSON pointer (within `actionSchema`) of the union
   * alternative that alone decides whether an action of that type is valid, or null when the whole
   * schema must be checked; `null` without a schema.
   */
  readonly actionBranches: Readonly<Record<string, string | null>> | null;
  /** The policy's properties (`property NAME: ...`): checked, never decided, not in the module. */
  readonly properties: readonly Property[];
  /**
   * The history predicates only properties read, numbered after `trackers` (a property's
   * condition indexes `[...trackers, ...propertyTrackers]`); the compiled module has only `trackers`.
   */
  readonly propertyTrackers: readonly Tracker[];
  /**
   * The imported rules the policy's files `disable` or `override`, as imported (numbered like the
   * policy's rules), with where the replacement is written: a counterexample to an imported
   * file's property names the replacement that breaks it. Absent without imports; never emitted.
   */
  readonly replacedRules?: readonly ReplacedRule[];
}

/** An imported rule that `disable` dropped or `override` replaced. */
export interface ReplacedRule {
  readonly rule: Rule;
  readonly how: "disable" | "override";
  /** The file of the `disable` or `override`, and its 1-based line and column. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** What a property says of a decision: its kind, or that a redaction fired. */
export type PropertyOutcome = "allow" | "deny" | "require_approval" | "redacted";

/**
 * `property NAME: always|never OUTCOMES when CONDITION`: for every call input on which the
 * condition holds (is true without an error), the decision is one of the outcomes (`always`) or
 * none of them (`never`).
 */
export interface Property {
  readonly name: string;
  readonly mode: "always" | "never";
  readonly outcomes: readonly PropertyOutcome[];
  /** `true` when the property has no `when`. */
  readonly condition: Expr;
  readonly span: Span;
  readonly line: number;
  readonly column: number;
  /**
   * The file the property is written in when it is not the policy's own (an imported file, or the
   * policy's `.test.armor` file): its span, line and column are that file's.
   */
  readonly file?: string;
}

/**
 * The approval a decision asks for by an approval effect: the group and timeout, and `quorum` and
 * `grant` only when the rule names them (so that decisions of rules without them keep their shape).
 */
export function approvalAsk(e: { readonly from: string | null; readonly timeoutMs: number | null; readonly quorum: number; readonly grant: GrantOffer | null }): ApprovalAsk {
  const ask: ApprovalAsk = { from: e.from, timeoutMs: e.timeoutMs };
  if (e.quorum !== 1) ask.quorum = e.quorum;
  if (e.grant !== null) ask.grant = { ...e.grant };
  return ask;
}
