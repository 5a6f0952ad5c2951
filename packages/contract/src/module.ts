/**
 * The contract of a compiled policy module: what `armorc compile` emits (its `.d.ts` declares
 * exactly these types, `test/contract.test.ts`) and what the runtime enforces.
 */

/** A JSON value. */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

/** What `decide` reads; any other input is denied. */
export interface DecisionInput {
  action: { type: string; [field: string]: unknown };
  user?: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** ISO-8601; the current time when absent. */
  time?: string;
  /** Earlier executed actions of this session, for count(...) and seen(...), with the labels each was given. */
  history?: { action: { type: string; [field: string]: unknown }; time?: string; labels?: string[] }[];
  /** The session's labels so far (`session.labels`); none when absent. Its `id` is what `grant session` grants are compared with. */
  session?: { labels?: string[]; id?: string };
  /** Grants approvers gave (`require approval ... grant`), at most 1,000; read only for an action that would ask for approval. */
  grants?: GrantInput[];
}

/** What `decideResult` reads: a call's input and what the tool returned. */
export interface ResultDecisionInput extends DecisionInput {
  result: unknown;
}

/** What `decideOutput` reads: a call's input (the action optional) and the model's message. */
export interface OutputDecisionInput extends Omit<DecisionInput, "action"> {
  action?: { type: string; [field: string]: unknown };
  output: { text: string; [field: string]: unknown };
}

/** The stages a policy decides: tool calls, tool results, model output. */
export type Stage = "call" | "result" | "output";

/** What a decision says should happen to the action. */
export type DecisionKind = "allow" | "deny" | "require_approval";

/** What a rule does when it fires. */
export type EffectKind = "allow" | "deny" | "require_approval" | "redact" | "label";

/** A rule that fired, with the effect it asked for. */
export interface FiredRule {
  id: string;
  effect: EffectKind;
  reason: string | null;
}

/** A rule, or the input itself (`rule: null`), that could not be evaluated; the decision denies. */
export interface DecisionError {
  rule: string | null;
  message: string;
}

/**
 * What an approver of a `require approval ... grant` rule may grant besides approving once: the
 * later actions the rule `rule` sends for approval, for `durationMs`, in the same session
 * (`scope: "session"`) or with the same value of a field (`scope: "action.to"`), and with
 * `upTo`, while the amounts (`of`, a field of the action) they use add up to at most `upTo`.
 */
export interface GrantOffer {
  rule: string;
  scope: string;
  durationMs: number;
  upTo: number | null;
  of: string | null;
}

/** The approval a decision asks for: the group, the timeout, and when the rule says so, the quorum and the grant it offers. */
export interface ApprovalAsk {
  from: string | null;
  timeoutMs: number | null;
  /** `quorum N`: the distinct approvers needed; absent for one. */
  quorum?: number;
  /** `grant ...`: what an approver may grant; absent without `grant`. */
  grant?: GrantOffer;
}

/**
 * A grant an approver gave, as `decide` reads it in `input.grants`: the rule it covers, its scope
 * (`session`, compared with `input.session.id`, or a field of the action, compared with the
 * field's value), when it expires and, for `up to`, the amount still left.
 */
export interface GrantInput {
  id: string;
  rule: string;
  scope: string;
  /** The session id or the field's value the grant was given for (a string, number or boolean). */
  value: string | number | boolean;
  /** ISO-8601; the grant covers actions decided before it. */
  expiresAt: string;
  /** With `up to`: the amount left (an action is covered when its amount is at most this). */
  remaining?: number | null;
}

/** The grant that allowed a decision that would otherwise have asked for approval. */
export interface GrantUse {
  id: string;
  rule: string;
  expiresAt: string;
}

/** The decision as data, what every `decide` returns (docs/language.md, "The decision"). */
export interface PolicyDecision {
  decision: DecisionKind;
  rules: FiredRule[];
  approval: ApprovalAsk | null;
  /** Present when a live grant in `input.grants` covered an action that would ask for approval: the decision is then `allow`. */
  grant?: GrantUse;
  action: unknown;
  errors: DecisionError[];
  /**
   * The labels the fired rules added, in rule order, without repeats. Compiled modules and the
   * interpreter always set it; optional so that decisions made elsewhere (a runtime's own denials)
   * need not.
   */
  labels?: string[];
  /** `decideResult`: the result as the policy rewrote it (redactions applied), or the input's. */
  result?: unknown;
  /** `decideOutput`: the message as the policy rewrote it, or the input's. */
  output?: unknown;
}

/** The policy a module was compiled from: its identity and, per rule, where it is and what it does. */
export interface PolicyMetadata {
  readonly name: string;
  readonly version: string | null;
  readonly sourceHash: string;
  readonly file: string;
  /** The decision when no rule fires; `require_approval` with `defaultApproval`. */
  readonly default: "allow" | "deny" | "require_approval";
  /** With `default require approval`: the approval's group and timeout; null otherwise. */
  readonly defaultApproval: { readonly from: string | null; readonly timeoutMs: number | null; readonly quorum?: number } | null;
  readonly timezone: string | null;
  readonly schema: string | null;
  readonly compiler: string | null;
  readonly rules: readonly {
    readonly id: string;
    readonly effect: EffectKind;
    readonly reason: string | null;
    readonly line: number;
    readonly column: number;
    readonly span: { readonly start: number; readonly end: number };
    readonly actionTypes: readonly string[] | null;
    /** Whether the condition is only a test of the action type (the rule fires for every action of its types). */
    readonly typeOnly: boolean;
    /** The stage the rule decides; absent in modules compiled before stages (`call`). */
    readonly stage?: Stage;
    /** `label "L"`: the label; absent for other effects. */
    readonly label?: string;
    /** `require approval ... grant`: the grant the rule offers; absent without one. */
    readonly grant?: Readonly<GrantOffer>;
  }[];
  readonly trackers: readonly { readonly kind: "count" | "seen" | "sum" | "max" | "min"; readonly withinMs: number | null }[];
  /**
   * Whether a rule, at any stage, reads `session.labels`: a runtime that keeps the session's labels
   * elsewhere may skip reading them when no rule does (and none adds them). Absent in modules
   * compiled before it: read as true.
   */
  readonly readsSessionLabels?: boolean;
}

/**
 * A history predicate (`count(...)`, `seen(...)`, `sum`/`max`/`min(... where ...)`), so that a
 * runtime can keep its state: `matches` says whether an executed action counts, `since` (for
 * `seen(A since B)` only) whether it is a B, and `value` (for `sum`, `max` and `min` only) the
 * number it contributes.
 */
export interface PolicyTracker {
  readonly kind: "count" | "seen" | "sum" | "max" | "min";
  readonly withinMs: number | null;
  /** Identity of the predicate (kind, window, condition, since, value) across policy versions. */
  readonly key: string;
  /** `labels`: the labels of the history entry, for a predicate that reads them (`seen(labels contains "pii")`). */
  matches(action: unknown, labels?: readonly string[]): boolean;
  /** `seen(A since B)`: whether the action matches B; absent for other trackers. */
  readonly since?: (action: unknown, labels?: readonly string[]) => boolean;
  /** `sum`, `max`, `min`: the action's number; throws when it is not a finite number. Absent for other trackers. */
  readonly value?: (action: unknown, labels?: readonly string[]) => number;
  /**
   * With `ENTRY == current.F` conditions: the keys an executed action is filed under (none when its
   * values equal nothing); `matches` then tests the rest of the condition. Two actions' keys are
   * equal exactly when the values are `==`. Through `any(x in LIST: x == current.F)`, one key per
   * distinct element value (combined with the other keys). Throws past the size limits (1,000 keys
   * per action among them). Absent without `current`. `null` when, without `any`, the values
   * cannot be made a key (nested 1,000 deep, more than 100,000 values): such values are `==` to
   * no current action's values that have a key, and comparing them with those is no error.
   */
  readonly entryKeys?: (action: unknown) => readonly string[] | null;
  /** The key the current action looks up (`null`: its values equal nothing, so no entry matches). Absent without `current`. */
  readonly currentKey?: (action: unknown) => string | null;
  /**
   * `per ...`: whose history the predicate reads; absent for the session's. `"deployment"` (every
   * session), or the field whose value keys it (`"user.id"`, `"context.tenant"`, `"action.account"`).
   */
  readonly scope?: string;
  /**
   * With `scope`: the key of the scope an action decided with `user` and `context` belongs to (`""`
   * for the deployment). Throws, saying why, when the value cannot key a scope (missing, not a
   * string or a finite number, longer than 1,024 characters): for a decision, the predicate's
   * value is that error; a recorded action is then in no scope.
   */
  readonly scopeKey?: (action: unknown, user: unknown, context: unknown) => string;
}

/** The values a compiled module exports. */
export interface PolicyModule {
  /**
   * Decides one input, a `DecisionInput`. Takes any value and never throws: an input or rule that
   * cannot be evaluated yields deny.
   */
  decide(input: unknown, trackerValues?: readonly (number | boolean | null | { readonly error: string } | undefined)[]): PolicyDecision;
  /**
   * Decides what a tool returned (`input.result`, with the call's input), by the rules `on result`;
   * the decision's `result` is the result as rewritten. Absent in modules compiled before stages.
   */
  decideResult?(input: unknown, trackerValues?: readonly (number | boolean | null | { readonly error: string } | undefined)[]): PolicyDecision;
  /** Decides a message of the model (`input.output`), by the rules `on output`; the decision's `output` is the message as rewritten. */
  decideOutput?(input: unknown, trackerValues?: readonly (number | boolean | null | { readonly error: string } | undefined)[]): PolicyDecision;
  readonly policy: PolicyMetadata;
  readonly trackers: readonly PolicyTracker[];
  /** The JSON Schema of the actions named by the policy's `schema`, or null. */
  readonly actionSchema: Readonly<Record<string, unknown>> | null;
  /**
   * For each action type of `actionSchema`, the JSON pointer of the union branch (`oneOf`/`anyOf`
   * alternative) that alone decides whether an action of that type is valid, or null when the
   * whole schema must be checked; null without a schema. Modules compiled before it existed lack
   * it, and a runtime checks their actions against the whole schema.
   */
  readonly actionBranches?: Readonly<Record<string, string | null>> | null;
}

/** The text a redaction writes in place of what it removes. */
export const REDACTED = "[REDACTED]";

/**
 * The limits of a value the result and output stages decide (a tool's result, a model's message),
 * which the compiler's check and a runtime's snapshot share: how deep it may nest, how many values
 * it may hold, and how many UTF-16 code units its strings (values and keys) may hold in all.
 */
export const MAX_STAGE_DEPTH = 64;
export const MAX_STAGE_VALUES = 100_000;
export const MAX_STAGE_TEXT = 16 * 1024 * 1024;

/**
 * How an error names the field `k` (the `i`th key of its object) of a result or output: `.name`
 * for a short plain name, otherwise its position (`[key 3]`), so that no key text the tool or the
 * model chose (a credential, an instruction, megabytes) reaches an error, a decision, an audit
 * record or the agent. Emitted modules carry the same rule in `$stageValue`.
 */
export function keyPlace(k: string, i: number): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]{0,15}$/.test(k) ? `.${k}` : `[key ${i}]`;
}

/**
 * Built-in objects whose content is not in their own enumerable fields, so that a copy field by
 * field would lose it (a Map, a Date: `{}`) or spell it in numbers that no text rule reads (the
 * bytes of a Buffer as `{"0": 65, ...}`). Bytes are told by `ArrayBuffer.isView` whatever their
 * prototype; the others, when their prototype chain says what they may be, by the brand check of
 * one of their methods, which throws for anything else (so a plain object or a class instance
 * costs no exception).
 */
const BRANDS: readonly (readonly [string, object, (this: unknown) => unknown])[] = [
  ["bytes (an ArrayBuffer or a view of one)", ArrayBuffer.prototype, Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength")!.get!],
  ["a Map", Map.prototype, Map.prototype.has as (this: unknown) => unknown],
  ["a Set", Set.prototype, Set.prototype.has as (this: unknown) => unknown],
  ["a WeakMap", WeakMap.prototype, WeakMap.prototype.has as (this: unknown) => unknown],
  ["a WeakSet", WeakSet.prototype, WeakSet.prototype.has as (this: unknown) => unknown],
  ["a Date", Date.prototype, Date.prototype.getTime],
  ["a String object", String.prototype, String.prototype.valueOf],
  ["a Number object", Number.prototype, Number.prototype.valueOf],
  ["a Boolean object", Boolean.prototype, Boolean.prototype.valueOf],
];

/**
 * What kind of built-in object `x` is when its content is not its own fields, or null for a plain
 * or class object: the compiler's check and a runtime's snapshot refuse such a value alike.
 * Emitted modules carry the same rule in `$stageValue`.
 */
export function builtInKind(x: object): string | null {
  if (ArrayBuffer.isView(x)) return BRANDS[0]![0];
  const proto = Object.getPrototypeOf(x);
  if (proto === Object.prototype || proto === null) return null;
  for (const [name, prototype, method] of BRANDS) {
    if (!Object.prototype.isPrototypeOf.call(prototype, x)) continue;
    try {
      method.call(x);
      return name;
    } catch {
      // not this kind
    }
  }
  return null;
}
