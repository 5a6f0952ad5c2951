/**
 * The diagnostic catalog: every diagnostic the compiler can report, with a stable code.
 *
 * Codes are grouped by the stage that reports them:
 *   A1xx syntax, A2xx names, A3xx types and schema, A4xx rule analysis, A5xx files and inputs,
 *   A6xx policy tests.
 * A code is never reused for a different meaning. Messages follow one style: lowercase, no final
 * period, user input in backticks, one line; advice goes in `help`.
 * Each entry's anchor is the heading for the code in docs/diagnostics.md.
 */

import type { Severity } from "@agent-armor/contract";

export type { Severity };

/**
 * What a diagnostic says about its code or place, for tools to show it:
 * - `unnecessary`: the code it points at can be removed (editors fade it);
 * - `file`: it is about the file as a whole, so its fixes apply wherever the cursor is.
 */
export type DiagnosticTag = "unnecessary" | "file";

export interface CatalogEntry {
  readonly code: string;
  /** A short kebab-case name, stable like the code. */
  readonly name: string;
  readonly severity: Severity;
  /** One line describing the diagnostic, used in docs and SARIF rule metadata. */
  readonly summary: string;
  /** Tags every diagnostic of this kind carries. */
  readonly tags?: readonly DiagnosticTag[];
}

function entry(code: string, name: string, severity: Severity, summary: string, tags?: readonly DiagnosticTag[]): CatalogEntry {
  return { code, name, severity, summary, ...(tags !== undefined ? { tags } : {}) };
}

export const catalog = {
  // syntax
  unexpectedToken: entry("A101", "unexpected-token", "error", "the parser found a token it did not expect"),
  unexpectedCharacter: entry("A102", "unexpected-character", "error", "the lexer found a character that starts no token"),
  unterminatedString: entry("A103", "unterminated-string", "error", "a string literal has no closing quote"),
  invalidEscape: entry("A104", "invalid-escape", "error", "a string literal contains an unknown escape sequence"),
  invalidNumber: entry("A105", "invalid-number", "error", "a number literal is malformed"),
  invalidDuration: entry("A106", "invalid-duration", "error", "a duration literal is malformed or out of range"),
  invalidRegex: entry("A107", "invalid-regex", "error", "a regular expression is malformed or uses an unsupported feature"),
  duplicateHeader: entry("A108", "duplicate-header", "error", "a file-level declaration (policy, schema, default, timezone) appears twice"),
  nestingTooDeep: entry("A109", "nesting-too-deep", "error", "parentheses, lists, calls, `not`, objects or lets nest deeper than the limit of 64 levels"),
  valueTooLarge: entry("A110", "value-too-large", "error", "a constant holds more than 100,000 values"),
  tooManyDiagnostics: entry("A111", "too-many-diagnostics", "error", "a file has more than 1,000 diagnostics; the rest are not reported"),
  invalidGlob: entry("A116", "invalid-glob", "error", "a glob pattern is malformed"),

  // names
  unknownName: entry("A201", "unknown-name", "error", "a name refers to nothing in scope"),
  duplicateRule: entry("A202", "duplicate-rule", "error", "two rules have the same id"),
  duplicateLet: entry("A203", "duplicate-let", "error", "two lets have the same name"),
  letCycle: entry("A204", "let-cycle", "error", "a let refers to itself, directly or through other lets"),
  letShadowsField: entry("A205", "let-shadows-field", "warning", "a let has the name of an action field, so the bare name no longer reads the field"),
  unknownRoot: entry("A206", "unknown-root", "error", "a path starts with something other than action, user, context or time"),
  unknownTimeField: entry("A207", "unknown-time-field", "error", "a `time.` member is not one the language defines"),
  historyScope: entry("A208", "history-scope", "error", "a history condition reads something other than the earlier action"),
  unknownFunction: entry("A209", "unknown-function", "error", "a call names a function the language does not define"),
  historyClause: entry("A212", "history-clause", "error", "a history function is missing its `where`, or has a `where` or `since` it does not take"),
  currentScope: entry("A213", "current-scope", "error", "`current.F` is read outside a top-level `==` of a history condition"),
  historyResult: entry("A214", "history-result", "error", "`result` in a history condition names the earlier action's recorded result, which the language does not have yet"),
  unknownDetector: entry("A216", "unknown-detector", "error", "`std.NAME` names no detector"),
  unknownStage: entry("A217", "unknown-stage", "error", "`on STAGE` names no stage: the stages are `call`, `result` and `output`"),
  stageScope: entry("A218", "stage-scope", "error", "a name only one stage reads (`result`, `output`) is used in a rule of another stage"),
  redactStageRoot: entry("A219", "redact-stage-root", "error", "a redaction's path is not in what the rule's stage decides (`action.` on calls, `result.` on results, `output.` on output)"),
  invalidScope: entry("A220", "invalid-scope", "error", "the scope after `per` is not `deployment` or a field of `user`, `context` or `action` that can hold a string or a number"),
  duplicateProperty: entry("A230", "duplicate-property", "error", "two properties have the same name"),

  // types and schema
  typeMismatch: entry("A301", "type-mismatch", "error", "an operand has a type the operator cannot use"),
  unknownField: entry("A302", "unknown-field", "warning", "a field is not in the schema of the action types in scope"),
  unknownActionType: entry("A303", "unknown-action-type", "warning", "an action type is not in the schema"),
  schemaNotFound: entry("A304", "schema-not-found", "error", "the schema file cannot be read"),
  schemaInvalidJson: entry("A305", "schema-invalid-json", "error", "the schema file is not valid JSON"),
  schemaInvalid: entry("A306", "schema-invalid", "error", "the schema file is not a valid JSON Schema"),
  schemaNoActionTypes: entry("A307", "schema-no-action-types", "warning", "the schema names no action types"),
  nonConstantLet: entry("A308", "non-constant-let", "error", "a let's value is not a constant"),
  invalidTimezone: entry("A309", "invalid-timezone", "error", "the timezone is not a known IANA time zone"),
  invalidRedactPath: entry("A310", "invalid-redact-path", "error", "a redaction names a path that cannot be rewritten"),
  valueNotInEnum: entry("A311", "value-not-in-enum", "warning", "a comparison uses a value the schema does not allow for the field"),
  aggregateNotNumber: entry("A315", "aggregate-not-number", "error", "`sum`, `max` or `min` adds up or compares something that cannot be a number"),
  invalidRedactText: entry("A318", "invalid-redact-text", "error", "the text after `with` is not a string"),
  invalidLabel: entry("A319", "invalid-label", "error", "a label is empty, longer than 64 characters, or has characters other than letters, digits and `_ - . : /`"),
  fieldOfList: entry("A321", "field-of-list", "error", "a field is read through a list, which has no fields; test its elements with `any(...)`"),
  invalidQuorum: entry("A325", "invalid-quorum", "error", "`quorum N` is not a whole number from 1 to 100"),
  grantWithoutApproval: entry(
    "A326",
    "grant-without-approval",
    "error",
    "a `grant` clause where no rule's approval on calls could be granted (`default require approval`, a rule on results or output)",
  ),
  grantDuration: entry("A327", "grant-duration", "error", "a grant's duration is zero or longer than the longest grant, 7 days"),
  grantAmount: entry("A328", "grant-amount", "error", "`up to N of FIELD` needs a positive limit and a numeric field of the action"),
  grantScope: entry("A329", "grant-scope", "error", "a grant's scope is neither `session` nor a field of the action"),
  approvalGroup: entry("A330", "approval-group", "error", "`require approval from NAME` names something that is not a string known at compile time (a `param` or let)"),

  // analysis
  neverFires: entry("A401", "never-fires", "warning", "a rule's condition can never be true"),
  shadowedEffect: entry("A402", "shadowed-effect", "warning", "a rule's effect never matters because a broader rule always overrides it"),
  unusedLet: entry("A403", "unused-let", "warning", "a let is never used", ["unnecessary"]),
  missingDefault: entry("A404", "missing-default", "hint", "the policy has no `default`, so actions no rule decides are denied", ["file"]),
  alwaysTrue: entry("A405", "always-true", "info", "a condition is always true"),
  noRules: entry("A406", "no-rules", "warning", "the policy has no rules"),
  repeatedRule: entry("A407", "repeated-rule", "warning", "an anonymous rule repeats an earlier one: same condition, effect and reason"),
  propertyFails: entry("A408", "property-fails", "error", "a property does not hold: an input decided against it (its counterexample is in the message)"),

  // files and inputs
  fileNotFound: entry("A501", "file-not-found", "error", "a file named on the command line cannot be read"),
  inputInvalidJson: entry("A502", "input-invalid-json", "error", "an input is not valid JSON"),
  inputInvalid: entry("A503", "input-invalid", "error", "an input holds a value a decision input cannot have, such as a number with no finite value"),

  // policy tests
  testInvalidStep: entry("A601", "test-invalid-step", "error", "a test step is not one the test syntax defines, or is malformed"),
  testMissingAction: entry("A602", "test-missing-action", "error", "a test has no `action`, or more than one"),
  testInvalidTime: entry("A603", "test-invalid-time", "error", "a time in a test is not an ISO-8601 date-time with an offset"),
  testNoExpectation: entry("A604", "test-no-expectation", "error", "a test has no `expect` step"),
  testWithoutPolicy: entry("A605", "test-without-policy", "error", "a `.test.armor` file has no policy beside it"),
  testActionInvalid: entry("A606", "test-action-invalid", "error", "a test's action does not match the policy's schema"),
  duplicateTest: entry("A607", "duplicate-test", "error", "two tests of a policy have the same name"),

  // lists and arithmetic (docs/language.md §6.7, §6.5)
  malformedQuantifier: entry("A113", "malformed-quantifier", "error", "`any` or `all` is called without the form `any(NAME in LIST: CONDITION)`"),
  localShadowsRoot: entry("A210", "local-shadows-root", "error", "the local name of `any`/`all` is the name of an input root"),
  historyInQuantifier: entry("A211", "history-in-quantifier", "error", "a history condition is written inside the condition of `any`/`all`"),
  constantArithmetic: entry("A312", "constant-arithmetic", "error", "arithmetic on constants divides by zero or has no finite result"),

  // imports
  importNotFound: entry("A701", "import-not-found", "error", "an imported file or pack cannot be read"),
  importRefused: entry("A702", "import-refused", "error", "an import names a path outside the policy's directory tree, an absolute path, or a file that is not `.armor`"),
  importCycle: entry("A703", "import-cycle", "error", "a file imports itself, directly or through other files"),
  importTooDeep: entry("A704", "import-too-deep", "error", "imports nest deeper than 32 files, or a policy imports more than 256 files in all"),
  importName: entry("A705", "import-name", "error", "an import's namespace is taken, or a local rule has the name of an imported one without `override`"),
  importParam: entry("A706", "import-param", "error", "an import sets a parameter the file does not declare, or a value of the wrong type"),
  importTarget: entry("A707", "import-target", "error", "`override` or `disable` names no imported rule"),
  importVersion: entry("A708", "import-version", "error", "two imported files are versions of one policy with different versions"),
  importHeader: entry("A709", "import-header", "error", "an imported file sets something only the root policy may set (a different `timezone`)"),
} as const satisfies Record<string, CatalogEntry>;

export type CatalogKey = keyof typeof catalog;

export const allEntries: readonly CatalogEntry[] = Object.values(catalog);

export function docsAnchor(entry: CatalogEntry): string {
  return `docs/diagnostics.md#${entry.code.toLowerCase()}-${entry.name}`;
}
