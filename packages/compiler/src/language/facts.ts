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
  k(
    "default",
    "reserved",
    "item",
    '`default allow`, `default deny` or `default require approval [from "GROUP"] [timeout D]`: the decision when no rule fires. Without it, the policy denies (fail closed).',
  ),
  k("timezone", "reserved", "item", '`timezone "ZONE"`: the IANA zone in which `time.hour`, `time.minute`, `time.weekday` and `time.date` are read (UTC when absent).'),
  k("let", "reserved", "item", "`let NAME = VALUE`: a named constant (a literal, a list of literals, or another let). Lets may be used before they are declared."),
  k("rule", "reserved", "item", '`rule ID [on STAGE] when CONDITION EFFECT [because "REASON"]`: a named rule; the id is unique within the file.'),
  k(
    "on",
    "soft",
    "clause",
    "`rule ID on call|result|output`: the stage the rule decides (`call` when absent): a tool call before it runs, a tool's result before the model reads it, or a message of the model before the user reads it.",
  ),
  k(
    "import",
    "soft",
    "item",
    '`import "PATH" as NAME [with { PARAM: VALUE, ... }]`: the lets and rules of another file (relative to this one, or a pack `armor:NAME`) become part of the policy under `NAME.` (docs/language.md §18).',
  ),
  k("as", "soft", "clause", '`import "PATH" as NAME`: the namespace of the imported file\'s rules and lets (`NAME.rule_id`).'),
  k("param", "soft", "item", "`param NAME: TYPE = DEFAULT`: a value an importer may set (`with { NAME: VALUE }`); TYPE is `number`, `string`, `bool`, `[number]` or `[string]`."),
  k("disable", "soft", "item", "`disable NAME.RULE`: an imported rule that this policy does not use."),
  k("override", "soft", "item", "`override NAME.RULE [on STAGE] when CONDITION EFFECT`: this policy's rule in place of an imported one, under its id."),
  k("when", "reserved", "clause", "`when CONDITION`: the condition under which the rule fires."),
  k("allow", "reserved", "effect", "`allow`: the action is allowed, unless another rule denies it, requires approval or fails."),
  k("deny", "reserved", "effect", "`deny`: the action is denied."),
  k(
    "require",
    "reserved",
    "effect",
    '`require approval [from "GROUP"] [quorum N] [timeout DURATION] [grant SCOPE DURATION [up to N of action.AMOUNT]]`: the action waits for a human in `GROUP` to approve it.',
  ),
  k(
    "approval",
    "soft",
    "effect",
    '`require approval [from "GROUP"] [quorum N] [timeout DURATION] [grant SCOPE DURATION]`: the action waits for a human approval. In tests: `expect approval from "GROUP"`.',
  ),
  k("from", "soft", "clause", '`from "GROUP"`: the group whose approval is required; `from NAME` reads it from a `param` or let that holds a string, when the policy is compiled.'),
  k("timeout", "soft", "clause", "`timeout DURATION`: without an approval within `DURATION`, the host treats the action as denied."),
  k("quorum", "soft", "clause", '`require approval from "GROUP" quorum N`: N distinct approvers of `GROUP` must approve (the same approver twice counts once); 1 when absent.'),
  k(
    "grant",
    "soft",
    "clause",
    "`grant session DURATION` or `grant action.FIELD DURATION [up to N of action.AMOUNT]`: an approver may approve this action and grant, for `DURATION`, the later actions this rule sends for approval in the same session, or with the same value of `FIELD` (up to an amount in all).",
  ),
  k("up", "soft", "clause", "`grant ... up to N of action.AMOUNT`: the grant covers actions while the amounts they use add up to at most `N`."),
  k("to", "soft", "clause", "`grant ... up to N of action.AMOUNT`: the grant covers actions while the amounts they use add up to at most `N`."),
  k("redact", "reserved", "effect", '`redact PATH [matching PATTERN] [with "TEXT"]`: the action is rewritten before it runs; a redaction also counts as `allow`.'),
  k("label", "soft", "effect", '`label "L"`: adds `L` to the session\'s labels (`session.labels`) and to the history entry of this action; the decision does not change.'),
  k("matching", "soft", "clause", '`matching PATTERN`: redact only the parts of the field the pattern (a regex, `std.NAME` or `glob("...")`) matches.'),
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
  k(
    "property",
    "soft",
    "item",
    "`property NAME: always|never OUTCOME [or OUTCOME ...] [when CONDITION]`: what must hold for every input that meets the condition (`armorc test` proves it); not a rule, so the compiled module does not change.",
  ),
  k("always", "soft", "clause", "`property NAME: always OUTCOME ... when C`: every input that meets `C` is decided with one of the outcomes."),
  k("never", "soft", "clause", "`property NAME: never OUTCOME ... when C`: no input that meets `C` is decided with any of the outcomes."),
  k("redacted", "soft", "clause", "`redacted` in a property's outcomes: a redaction rule fired on the action."),
  k("test", "reserved", "item", '`test "NAME" { ... }`: a policy test: an action, optional user, context, time and history, and expectations.'),
  k(
    "expect",
    "reserved",
    "test",
    '`expect allow | deny | require_approval [by RULE, ...]`, `expect error`, `expect approval from "GROUP"`, `expect action.FIELD == VALUE`, `expect result.FIELD == VALUE`, `expect output.FIELD == VALUE`, `expect labels == ["L", ...]`.',
  ),
  k("by", "soft", "test", "`by RULE, ...`: exactly the rules the decision was made by."),
  k("of", "soft", "test", "`history N of { ... }`: N earlier actions."),
  k("history", "reserved", "test", '`history N of { ... } within D`, `history { ... } ago D`, `history { ... } at "ISO"`: earlier actions of the session.'),
  k("error", "reserved", "test", "`expect error`: the decision has an evaluation error."),
  k("ago", "contextual", "test", "`history { ... } ago D`: one earlier action, `D` before the test's time."),
  k("at", "contextual", "test", '`history { ... } at "ISO"`: one earlier action at the given time.'),
  k("require_approval", "contextual", "test", "`expect require_approval`: the decision requires an approval."),
  k("with", "soft", "clause", '`with "TEXT"` after `redact PATH [matching P]`: the replacement text (a string or a string let); `"[REDACTED]"` without it.'),
  k("std", "contextual", "clause", "`std.NAME`: a detector, a pattern usable wherever a regex is (`S matches std.iban`, `redact body matching std.card_number`)."),
  k("where", "soft", "history", "`sum(EXPR where CONDITION [within D])`: the earlier actions whose values `sum`, `max` and `min` take."),
  k("since", "soft", "history", "`seen(A since B [within D])`: an earlier action matching `A` after the last one matching `B`."),
  k(
    "per",
    "soft",
    "history",
    "`count(C [within D] per user.F)`: the history of every session whose decision has the same `user.F` (or `context.F`, `action.F`); `per deployment`: of every session. Without it, the session's.",
  ),
  k("deployment", "contextual", "history", "`per deployment`: a history predicate over every session of the deployment, not only the current one."),
];

/** The roots of the decision input that a condition reads. */
export const roots: readonly { readonly name: "action" | "user" | "context" | "time" | "current" | "result" | "output" | "session"; readonly doc: string }[] = [
  { name: "action", doc: "`action`: the action to decide. `action.type` is its type; `action.F` (or bare `F`) reads a field." },
  { name: "user", doc: "`user.F`: a field of the input's `user` (any value; not checked against the schema)." },
  { name: "context", doc: "`context.F`: a field of the input's `context` (any value; not checked against the schema)." },
  { name: "time", doc: '`time.hour` (0..23), `time.minute` (0..59), `time.weekday` ("mon".."sun"), `time.date` ("YYYY-MM-DD"), in the policy\'s timezone.' },
  {
    name: "current",
    doc: "`current.F`: inside `count`, `seen`, `sum`, `max` and `min`, a field of the current action, as one side of a top-level `==` of the history condition (`ticker == current.ticker`).",
  },
  {
    name: "result",
    doc: "`result`: in a rule `on result`, what the tool returned (any JSON); `result.F` reads a field, typed by the `result` schema of the action type when the schema has one.",
  },
  { name: "output", doc: "`output`: in a rule `on output`, the message the model is about to send: `output.text` is its text; other fields as the host gives them." },
  { name: "session", doc: '`session.labels`: the labels the session has collected so far (by `label "L"` effects), a list of strings; read at every stage.' },
];

/** The stages a rule decides (`rule ID on STAGE`); `call`, the first, is the default. */
export const stages: readonly { readonly name: "call" | "result" | "output"; readonly doc: string }[] = [
  { name: "call", doc: "`on call` (the default): a tool call, before the tool runs; reads `action`, `user`, `context`, `time`, history and `session.labels`." },
  {
    name: "result",
    doc: "`on result`: what a tool returned, before the model reads it; reads `result` and everything a call reads. `deny` withholds the result, `redact result.PATH` rewrites it.",
  },
  {
    name: "output",
    doc: "`on output`: a message of the model, before the user reads it; reads `output` (`{ text, ... }`) and everything a call reads. `deny` withholds the message, `redact output.text` rewrites it.",
  },
];

/** Fields of an earlier entry beside its action, read inside `count`, `seen`, `sum`, `max` and `min`. */
export const entryFields: readonly { readonly name: "labels"; readonly doc: string }[] = [
  { name: "labels", doc: '`labels`: inside `count`, `seen`, `sum`, `max` and `min`, the labels the earlier entry was given (a list of strings): `seen(labels contains "pii" within 1h)`.' },
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
  /**
   * What the argument is: a condition, a window, a field path, or a value of a JSON kind
   * (`string`, `stringOrList`, `value`: any); the checker types a value function's argument by it.
   */
  readonly type: "condition" | "duration" | "field" | "string" | "stringOrList" | "value" | "number" | "name" | "list";
  readonly optional: boolean;
  readonly doc: string;
}

export interface FunctionFact {
  readonly name: "count" | "seen" | "exists" | "host" | "lower" | "upper" | "length" | "strings" | "glob" | "sum" | "max" | "min" | "any" | "all";
  /** The signature in short, as messages show it: `count(COND within D)`. */
  readonly usage: string;
  readonly parameters: readonly ParameterFact[];
  /**
   * The result's JSON kind; `null` too for the value functions given `null` (and `host` given a
   * non-URL). `number?`: a number, or `null` when no entry matched (`max`, `min`). `pattern`: usable only where a regex is (after `matches` and `matching`).
   */
  readonly result: "number" | "boolean" | "string" | "list" | "pattern" | "number?";
  readonly doc: string;
  readonly example: string;
}

export const functions: readonly FunctionFact[] = [
  {
    name: "count",
    usage: "count(COND [within D] [per SCOPE])",
    parameters: [
      { label: "CONDITION", type: "condition", optional: false, doc: "a condition on an earlier action of the session" },
      { label: "within DURATION", type: "duration", optional: true, doc: "the window: entries younger than this (the whole session without it)" },
      {
        label: "per SCOPE",
        type: "field",
        optional: true,
        doc: "whose history: `user.F`, `context.F` or `action.F` (every session with the same value), or `deployment` (every session); the session's without it",
      },
    ],
    result: "number",
    doc: "`count(CONDITION [within DURATION])`: the number of earlier actions (in the window, or in the whole session) for which the condition holds.",
    example: 'count(type == "send_email" within 1h) >= 20',
  },
  {
    name: "seen",
    usage: "seen(COND [since COND] [within D] [per SCOPE])",
    parameters: [
      { label: "CONDITION", type: "condition", optional: false, doc: "a condition on an earlier action of the session" },
      { label: "since CONDITION", type: "condition", optional: true, doc: "only the entries after the last one for which this holds" },
      { label: "within DURATION", type: "duration", optional: true, doc: "the window: entries younger than this (the whole session without it)" },
      {
        label: "per SCOPE",
        type: "field",
        optional: true,
        doc: "whose history: `user.F`, `context.F` or `action.F` (every session with the same value), or `deployment` (every session); the session's without it",
      },
    ],
    result: "boolean",
    doc: "`seen(A [since B] [within DURATION])`: whether an earlier action (in the window, after the last action matching `B`) matches `A`.",
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
    name: "host",
    usage: "host(URL)",
    parameters: [{ label: "URL", type: "string", optional: false, doc: "a string holding an absolute URL, e.g. `url`" }],
    result: "string",
    doc: "`host(URL)`: the host of an absolute URL (WHATWG parsing), lower case, without port or user info; `null` when the string is not a URL with a host.",
    example: 'host(url) not in ["api.example.com", "uploads.example.com"]',
  },
  {
    name: "lower",
    usage: "lower(S)",
    parameters: [{ label: "S", type: "string", optional: false, doc: "a string" }],
    result: "string",
    doc: "`lower(S)`: the string in lower case, the same in every locale; `null` for `null`.",
    example: 'lower(recipient) ends_with "@example.com"',
  },
  {
    name: "upper",
    usage: "upper(S)",
    parameters: [{ label: "S", type: "string", optional: false, doc: "a string" }],
    result: "string",
    doc: "`upper(S)`: the string in upper case, the same in every locale; `null` for `null`.",
    example: 'upper(currency) == "CHF"',
  },
  {
    name: "length",
    usage: "length(X)",
    parameters: [{ label: "X", type: "stringOrList", optional: false, doc: "a string or a list" }],
    result: "number",
    doc: "`length(X)`: the number of Unicode code points of a string, or of elements of a list; `null` for `null`.",
    example: "length(recipients) > 10",
  },
  {
    name: "strings",
    usage: "strings(V)",
    parameters: [{ label: "V", type: "value", optional: false, doc: "any value, e.g. `action`" }],
    result: "list",
    doc: "`strings(V)`: every string inside `V` (itself, list elements, object keys and values; nested, depth first); past 64 levels, 10,000 strings or 100,000 values, an evaluation error. `contains` finds one exact string; `any(s in strings(V): s matches ...)` tests each.",
    example: 'strings(action) contains "AKIAIOSFODNN7EXAMPLE"',
  },
  {
    name: "glob",
    usage: 'glob("PATTERN")',
    parameters: [{ label: "PATTERN", type: "string", optional: false, doc: "`*` a run without `/`, `**` any run, `?` one character, `[abc]`, `[!abc]`, `\\` escapes" }],
    result: "pattern",
    doc: '`glob("PATTERN")`: a pattern, usable wherever a regex is, that matches the whole string like a path glob (`*` stops at `/`, `**` does not).',
    example: 'path matches glob("src/**/*.ts")',
  },
  ...(["sum", "max", "min"] as const).map(
    (name): FunctionFact => ({
      name,
      usage: `${name}(EXPR where COND [within D] [per SCOPE])`,
      parameters: [
        { label: "EXPR", type: "number", optional: false, doc: "a number read from the earlier action, e.g. `amount`" },
        { label: "where CONDITION", type: "condition", optional: false, doc: "which earlier actions of the session count" },
        { label: "within DURATION", type: "duration", optional: true, doc: "the window: entries younger than this (the whole session without it)" },
        {
          label: "per SCOPE",
          type: "field",
          optional: true,
          doc: "whose history: `user.F`, `context.F` or `action.F` (every session with the same value), or `deployment` (every session); the session's without it",
        },
      ],
      result: name === "sum" ? "number" : "number?",
      doc:
        name === "sum"
          ? "`sum(EXPR where CONDITION [within DURATION])`: the sum of `EXPR` over the earlier actions that match (0 when none does); `EXPR` must be a number on each."
          : `\`${name}(EXPR where CONDITION [within DURATION])\`: the ${name === "max" ? "largest" : "smallest"} \`EXPR\` of the earlier actions that match, \`null\` when none does; \`EXPR\` must be a number on each.`,
      example: name === "sum" ? 'sum(amount where type == "wire_transfer" within 24h) > 50_000' : `${name}(amount where type == "wire_transfer" within 1d) ${name === "max" ? ">" : "<"} 10_000`,
    }),
  ),
  ...(["any", "all"] as const).map(
    (name): FunctionFact => ({
      name,
      usage: `${name}(NAME in LIST: COND)`,
      parameters: [
        { label: "NAME in", type: "name", optional: false, doc: "a local name for each element, visible only in the condition" },
        { label: "LIST:", type: "list", optional: false, doc: "a list, e.g. a field of the action" },
        { label: "CONDITION", type: "condition", optional: false, doc: "a condition on one element, read as `NAME` or `NAME.FIELD`" },
      ],
      result: "boolean",
      doc:
        name === "any"
          ? "`any(x in LIST: CONDITION)`: the condition holds for some element of the list; false for an empty or missing list."
          : "`all(x in LIST: CONDITION)`: the condition holds for every element of the list; true for an empty list, false for a missing one.",
      example: `${name}(r in recipients: r ends_with "@example.com")`,
    }),
  ),
];

export interface DetectorFact {
  readonly name: "card_number" | "iban" | "email" | "us_ssn" | "secret";
  readonly doc: string;
  readonly example: string;
}

/** The detectors `std.NAME` (their patterns and checks: patterns/detectors.ts). */
export const detectors: readonly DetectorFact[] = [
  {
    name: "card_number",
    doc: "`std.card_number`: 13 to 19 digits that pass the Luhn check and start with a card network's issuer range, with a length it issues (Visa, Mastercard, Amex, Discover, JCB, Diners Club, UnionPay, Maestro, Mir, RuPay), in groups joined by single spaces (any Unicode space), dashes or dots, from the start of a group to the end of one (a card followed by its CVV, or two cards in a row, are found); never part of a longer group of digits.",
    example: "body matches std.card_number",
  },
  { name: "iban", doc: "`std.iban`: an IBAN of a SEPA country, compact or in groups of four, of the country's registered length, mod-97 valid.", example: "iban matches std.iban" },
  { name: "email", doc: "`std.email`: an email address (WHATWG shape; a dot in the domain, a top-level label of letters).", example: "redact body matching std.email" },
  { name: "us_ssn", doc: "`std.us_ssn`: a US social security number AAA-GG-SSSS, without area 000, 666 or 9xx, group 00 or serial 0000.", example: "redact note matching std.us_ssn" },
  {
    name: "secret",
    doc: "`std.secret`: an AWS access key id, a GitHub, GitLab, Slack or Stripe token, a PEM private key (through its END line, or without one through its base64 block), or a JWT.",
    example: "body matches std.secret",
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
export const effects: readonly string[] = ["allow", "deny", "require approval", "redact", "label"];

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

/** The fact of a detector (`std.NAME`), or undefined. */
export function detectorFact(name: string): DetectorFact | undefined {
  return detectors.find((d) => d.name === name);
}

/** The doc of any word the language gives a meaning: a keyword, a root or a function. */
export function wordDoc(word: string): string | undefined {
  return keywordFact(word)?.doc ?? roots.find((r) => r.name === word)?.doc ?? functionFact(word)?.doc ?? entryFields.find((f) => f.name === word)?.doc ?? stages.find((st) => st.name === word)?.doc;
}
