/**
 * The language's facts, in one table: its keywords, the roots of the input, the `time` fields, the
 * built-in functions, the operators and the effects, each with a one-line doc after
 * docs/language.md. The tokens (syntax/tokens.ts), the checker (time fields, functions) and the
 * language server (completion, hover, signature help) read them from here, and a test holds the
 * VS Code extension's TextMate grammar to them. Data only: no imports, nothing computed.
 */

/**
 * How a word is a keyword:
 * - `reserved`: a token of its own, never a bare name (`rule`, `and`, ...);
 * - `soft`: a token of its own that is also a name where a name may go (`from == "x"`);
 * - `contextual`: a name that the parser or the test reader reads as a keyword in one place
 *   (`history {...} ago 1h`, `expect require_approval`).
 */
export type KeywordKind = "reserved" | "soft" | "contextual";

/**
 * Where a keyword is used: `item` starts an item at column 0; `clause` is part of an item;
 * `effect` is a rule's effect; `operator` combines or compares values; `literal` is a value;
 * `history` and `test` belong to history conditions and policy tests.
 */
export type KeywordRole = "item" | "clause" | "effect" | "operator" | "literal" | "history" | "test";

export interface KeywordFact {
  readonly word: string;
  readonly kind: KeywordKind;
  readonly role: KeywordRole;
  readonly doc: string;
}

const k = (word: string, kind: KeywordKind, role: KeywordRole, doc: string): KeywordFact => ({ word, kind, role, doc });

export const keywords: readonly KeywordFact[] = [
  k("policy", "reserved", "item", "`policy NAME [version \"V\"]`: the policy's name and version, copied into the compiled module's metadata."),
  k("version", "soft", "clause", '`version "V"` after `policy NAME`: any string, not checked as a version number.'),
  k("schema", "reserved", "item", '`schema "PATH"`: a JSON Schema of the actions, for static checks. `PATH` is relative to the policy file.'),
  k("default", "reserved", "item", "`default allow` or `default deny`: the decision when no rule fires. Without it, the policy denies (fail closed)."),
  k("timezone", "reserved", "item", '`timezone "ZONE"`: the IANA zone in which `time.hour`, `time.minute`, `time.weekday` and `time.date` are read (UTC when absent).'),
  k("let", "reserved", "item", "`let NAME = VALUE`: a named constant (a literal, a list of literals, or another let). Lets may be used before they are declared."),
  k("rule", "reserved", "item", '`rule ID when CONDITION EFFECT [because "REASON"]`: a named rule; the id is unique within the file.'),
  k("when", "reserved", "clause", "`when CONDITION`: the condition under which the rule fires."),
  k("allow", "reserved", "effect", "`allow`: the action is allowed, unless another rule denies it, requires approval or fails."),
  k("deny", "reserved", "effect", "`deny`: the action is denied."),
  k("require", "reserved", "effect", '`require approval [from "GROUP"] [timeout DURATION]`: the action waits for a human in `GROUP` to approve it.'),
  k("approval", "soft", "effect", '`require approval [from "GROUP"] [timeout DURATION]`: the action waits for a human approval. In tests: `expect approval from "GROUP"`.'),
  k("from", "soft", "clause", '`from "GROUP"`: the group whose approval is required.'),
  k("timeout", "soft", "clause", "`timeout DURATION`: without an approval within `DURATION`, the host treats the action as denied."),
  k("redact", "reserved", "effect", "`redact PATH [matching /RE/FLAGS]`: the action is rewritten before it runs; a redaction also counts as `allow`."),
  k("matching", "soft", "clause", "`matching /RE/`: redact only the parts of the field the regex matches."),
  k("because", "reserved", "clause", '`because "REASON"`: a reason attached to the effect, reported with the fired rule.'),
  k("and", "reserved", "operator", "`A and B`: both are true; left to right, short-circuit. A `null` operand counts as false."),
  k("or", "reserved", "operator", "`A or B`: either is true; left to right, short-circuit. A `null` operand counts as false."),
  k("not", "reserved", "operator", "`not C`: `C` is false (true when `C` is `null`). `A not in L` is exactly `not (A in L)`."),
  k("in", "reserved", "operator", "`A in L`: `L` is a list with an element equal (`==`) to `A`. False when `A` is `null`."),
  k("between", "reserved", "operator", "`V between L and H`: `L <= V` and `V <= H` (inclusive), all three numbers or all three strings."),
  k("matches", "reserved", "operator", "`S matches /re/`: `S` is a string in which the regex matches somewhere (linear-time regexes)."),
  k("contains", "reserved", "operator", "`S contains X`: `X` is a substring of the string `S`, or an element of the list `S`."),
  k("starts_with", "reserved", "operator", "`S starts_with X`: both strings, and `S` starts with `X`."),
  k("ends_with", "reserved", "operator", "`S ends_with X`: both strings, and `S` ends with `X`."),
  k("within", "reserved", "history", "`within DURATION`: limits a history condition to the entries younger than `DURATION`."),
  k("true", "reserved", "literal", "The boolean `true`."),
  k("false", "reserved", "literal", "The boolean `false`."),
  k("null", "reserved", "literal", "`null`: the value of a missing field. `null == null` is true."),
  k("test", "reserved", "item", '`test "NAME" { ... }`: a policy test: an action, optional user, context, time and history, and expectations.'),
  k("expect", "reserved", "test", '`expect allow | deny | require_approval [by RULE, ...]`, `expect error`, `expect approval from "GROUP"`, `expect action.FIELD == VALUE`.'),
  k("by", "soft", "test", "`by RULE, ...`: exactly the rules the decision was made by."),
  k("of", "soft", "test", "`history N of { ... }`: N earlier actions."),
  k("history", "reserved", "test", '`history N of { ... } within D`, `history { ... } ago D`, `history { ... } at "ISO"`: earlier actions of the session.'),
  k("error", "reserved", "test", "`expect error`: the decision has an evaluation error."),
  k("ago", "contextual", "test", "`history { ... } ago D`: one earlier action, `D` before the test's time."),
  k("at", "contextual", "test", '`history { ... } at "ISO"`: one earlier action at the given time.'),
  k("require_approval", "contextual", "test", "`expect require_approval`: the decision requires an approval."),
];

/** The roots of the decision input that a condition reads. */
export const roots: readonly { readonly name: "action" | "user" | "context" | "time"; readonly doc: string }[] = [
  { name: "action", doc: "`action`: the action to decide. `action.type` is its type; `action.F` (or bare `F`) reads a field." },
  { name: "user", doc: "`user.F`: a field of the input's `user` (any value; not checked against the schema)." },
  { name: "context", doc: "`context.F`: a field of the input's `context` (any value; not checked against the schema)." },
  { name: "time", doc: '`time.hour` (0..23), `time.minute` (0..59), `time.weekday` ("mon".."sun"), `time.date` ("YYYY-MM-DD"), in the policy\'s timezone.' },
];

export type TimeFieldName = "hour" | "minute" | "weekday" | "date";

/** The members of `time`, read in the policy's timezone. */
export const timeFields: readonly { readonly name: TimeFieldName; readonly type: "number" | "string"; readonly doc: string }[] = [
  { name: "hour", type: "number", doc: "the hour of the decision time, 0..23, in the policy's timezone" },
  { name: "minute", type: "number", doc: "the minute of the decision time, 0..59" },
  { name: "weekday", type: "string", doc: 'the weekday of the decision time, "mon".."sun"' },
  { name: "date", type: "string", doc: 'the date of the decision time, "YYYY-MM-DD"' },
];

export interface ParameterFact {
  /** As the signature shows it: `CONDITION`, `within DURATION`. */
  readonly label: string;
  readonly type: "condition" | "duration" | "field" | "name" | "list";
  readonly optional: boolean;
  readonly doc: string;
}

export interface FunctionFact {
  readonly name: "count" | "seen" | "exists" | "any" | "all";
  /** The signature in short, as messages show it: `count(COND within D)`. */
  readonly usage: string;
  readonly parameters: readonly ParameterFact[];
  readonly result: "number" | "boolean";
  readonly doc: string;
  readonly example: string;
}

export const functions: readonly FunctionFact[] = [
  {
    name: "count",
    usage: "count(COND within D)",
    parameters: [
      { label: "CONDITION", type: "condition", optional: false, doc: "a condition on an earlier action of the session" },
      { label: "within DURATION", type: "duration", optional: false, doc: "the window: entries younger than this" },
    ],
    result: "number",
    doc: "`count(CONDITION within DURATION)`: the number of earlier actions in the window for which the condition holds; the window is required.",
    example: 'count(type == "send_email" within 1h) >= 20',
  },
  {
    name: "seen",
    usage: "seen(COND [within D])",
    parameters: [
      { label: "CONDITION", type: "condition", optional: false, doc: "a condition on an earlier action of the session" },
      { label: "within DURATION", type: "duration", optional: true, doc: "the window: entries younger than this (the whole session without it)" },
    ],
    result: "boolean",
    doc: "`seen(CONDITION [within DURATION])`: whether an earlier action (in the window) matches the condition.",
    example: 'seen(type == "read_file" and path starts_with "/secrets" within 10m)',
  },
  {
    name: "exists",
    usage: "exists(PATH)",
    parameters: [{ label: "PATH", type: "field", optional: false, doc: "a field of the action, e.g. `action.memo`" }],
    result: "boolean",
    doc: "`exists(P)`: `P` is not `null`.",
    example: "exists(action.memo)",
  },
  {
    name: "any",
    usage: "any(NAME in LIST: COND)",
    parameters: [
      { label: "NAME in", type: "name", optional: false, doc: "a local name for each element, visible only in the condition" },
      { label: "LIST:", type: "list", optional: false, doc: "a list, e.g. a field of the action" },
      { label: "CONDITION", type: "condition", optional: false, doc: "a condition on one element, read as `NAME` or `NAME.FIELD`" },
    ],
    result: "boolean",
    doc: "`any(x in LIST: CONDITION)`: the condition holds for some element of the list; false for an empty or missing list.",
    example: 'any(r in recipients: r ends_with "@example.com")',
  },
  {
    name: "all",
    usage: "all(NAME in LIST: COND)",
    parameters: [
      { label: "NAME in", type: "name", optional: false, doc: "a local name for each element, visible only in the condition" },
      { label: "LIST:", type: "list", optional: false, doc: "a list, e.g. a field of the action" },
      { label: "CONDITION", type: "condition", optional: false, doc: "a condition on one element, read as `NAME` or `NAME.FIELD`" },
    ],
    result: "boolean",
    doc: "`all(x in LIST: CONDITION)`: the condition holds for every element of the list; true for an empty list, false for a missing one.",
    example: 'all(r in recipients: r ends_with "@example.com")',
  },
];

/** The comparison operators, written with symbols; the word operators are keywords. */
export const comparisons: readonly { readonly symbol: "==" | "!=" | "<" | "<=" | ">" | ">="; readonly doc: string }[] = [
  { symbol: "==", doc: '`A == B`: the same JSON value (no conversions: `1 == "1"` is false; `null == null` is true).' },
  { symbol: "!=", doc: "`A != B`: not `A == B` (true for a missing field)." },
  { symbol: "<=", doc: "`A <= B`: both numbers, or both strings; false with `null`." },
  { symbol: ">=", doc: "`A >= B`: both numbers, or both strings; false with `null`." },
  { symbol: "<", doc: "`A < B`: both numbers, or both strings compared by UTF-16 code units; false with `null`." },
  { symbol: ">", doc: "`A > B`: both numbers, or both strings; false with `null`." },
];

/** The units of a duration literal (`250ms`, `30s`, `15m`, `1h`, `7d`). */
export const durationUnits: readonly string[] = ["ms", "s", "m", "h", "d"];

/** A rule's effects as written (`require approval` is two keywords). */
export const effects: readonly string[] = ["allow", "deny", "require approval", "redact"];

/** The decisions a test expects (`expect require_approval`). */
export const decisions: readonly string[] = ["allow", "deny", "require_approval"];

/** The fact of a keyword, or undefined when `word` is not one. */
export function keywordFact(word: string): KeywordFact | undefined {
  return keywords.find((f) => f.word === word);
}

/** The fact of a built-in function, or undefined when `name` is not one. */
export function functionFact(name: string): FunctionFact | undefined {
  return functions.find((f) => f.name === name);
}

/** The doc of any word the language gives a meaning: a keyword, a root or a function. */
export function wordDoc(word: string): string | undefined {
  return keywordFact(word)?.doc ?? roots.find((r) => r.name === word)?.doc ?? functionFact(word)?.doc;
}
