/**
 * Policy tests, checked and lowered: each `test "name" { ... }` block becomes a `TestCase` with
 * the decision input it builds and the expectations it states. Steps are checked like policy
 * code: unknown steps, malformed times, missing actions, unknown rules, and actions that do not
 * match the policy's schema are diagnostics with spans.
 *
 * Time in tests is fixed: without a `time` step a test runs at DEFAULT_TEST_TIME, so a test
 * never depends on when or where it runs.
 */

import type { ErrorObject } from "ajv";
import { scanTime } from "../decision-input.js";
import { catalog } from "../diagnostics/catalog.js";
import { type DiagnosticBag, replacement } from "../diagnostics/diagnostic.js";
import type { DecisionKind } from "../ir.js";
import { closest, identifierPattern } from "../semantic/names.js";
import type { ActionSchema } from "../semantic/schema.js";
import type * as A from "../syntax/ast.js";
import { type Span, span } from "../syntax/source.js";

/** A Monday at noon, UTC. */
export const DEFAULT_TEST_TIME = "2026-01-05T12:00:00Z";

export type Expectation =
  | { kind: "decision"; decision: DecisionKind; rules: string[] | null; span: Span }
  | { kind: "error"; span: Span }
  | { kind: "approval"; from: string; span: Span }
  | { kind: "field"; root: "action" | "result" | "output"; path: string[]; value: unknown; span: Span }
  | { kind: "labels"; labels: string[]; span: Span };

/** The stage a test decides: `call`, or `result`/`output` when it gives one (docs/language.md §13). */
export type TestStage = "call" | "result" | "output";

export interface TestCase {
  name: string;
  /** The file the test is written in (the policy, or its `.test.armor`). */
  file: string;
  span: Span;
  line: number;
  stage: TestStage;
  input: {
    action?: Record<string, unknown>;
    user?: unknown;
    context?: unknown;
    session?: unknown;
    result?: unknown;
    output?: unknown;
    time: string;
    history: { action: unknown; time: string; labels?: string[]; user?: unknown; context?: unknown }[];
  };
  expectations: Expectation[];
}

export interface TestContext {
  readonly bag: DiagnosticBag;
  /** Rule ids of the policy under test. */
  readonly rules: ReadonlySet<string>;
  readonly schema: ActionSchema | null;
  readonly lineOf: (offset: number) => number;
  /**
   * Old ids of anonymous rules (`FILE:LINE`, the form before ids were made from the rule's
   * content) → their ids now, so that a test naming one is told the new id.
   */
  readonly lineIds?: ReadonlyMap<string, string>;
  /** Called for each `by` reference to a rule, for find-references and rename. */
  readonly onRuleReference?: (rule: string, at: Span) => void;
}

function dataValue(v: A.DataValue): unknown {
  switch (v.kind) {
    case "literal":
      return v.value;
    case "list":
      return v.elements.map(dataValue);
    case "object": {
      const o: Record<string, unknown> = {};
      for (const e of v.entries) Object.defineProperty(o, e.key.name, { value: dataValue(e.value), enumerable: true, writable: true, configurable: true });
      return o;
    }
  }
}

const decisions = new Set(["allow", "deny", "require_approval"]);
const givenKeys = ["action", "user", "context", "session", "result", "output", "time"];

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Finds the span of the data at a JSON pointer-like path inside an object literal. */
function spanAt(value: A.DataValue, path: string[]): Span {
  let node: A.DataValue = value;
  for (const key of path) {
    if (node.kind === "object") {
      const e = node.entries.find((x) => x.key.name === key);
      if (!e) return node.span;
      node = e.value;
    } else if (node.kind === "list") {
      const el = node.elements[Number(key)];
      if (!el) return node.span;
      node = el;
    } else return node.span;
  }
  return node.span;
}

export function buildTestCases(tests: readonly A.TestDecl[], file: string, ctx: TestContext): TestCase[] {
  const out: TestCase[] = [];
  const names = new Map<string, Span>();
  for (const t of tests) {
    const test = buildOne(t, file, ctx);
    if (t.name) {
      const first = names.get(t.name.value);
      if (first) {
        ctx.bag.report(catalog.duplicateTest, t.name.span, `there is already a test named \`${t.name.value}\``, {
          help: "give each test its own name",
          related: [{ file, span: first, message: "the first test with this name" }],
        });
      } else names.set(t.name.value, t.name.span);
    }
    if (test) out.push(test);
  }
  return out;
}

function buildOne(t: A.TestDecl, file: string, ctx: TestContext): TestCase | null {
  const { bag } = ctx;
  let ok = true;
  const fail = (entry: (typeof catalog)[keyof typeof catalog], at: Span, message: string, help?: string): void => {
    bag.report(entry, at, message, help ? { help } : {});
    ok = false;
  };
  let action: { value: Record<string, unknown>; node: A.DataValue } | null = null;
  let user: unknown;
  let context: unknown;
  let session: unknown;
  let result: { value: unknown; span: Span; node: A.DataValue } | null = null;
  let output: { value: unknown; span: Span } | null = null;
  let time = DEFAULT_TEST_TIME;
  const historySteps: Extract<A.TestStep, { kind: "history" }>[] = [];
  const expectations: Expectation[] = [];

  for (const step of t.steps) {
    if (step.kind === "given") {
      const key = step.key.name;
      if (!givenKeys.includes(key)) {
        const suggestion = closest(key, [...givenKeys, "history", "expect"]);
        fail(
          catalog.testInvalidStep,
          step.key.span,
          `\`${key}\` is not a test step`,
          suggestion ? `did you mean \`${suggestion}\`?` : "the steps are action, user, context, session, result, output, time, history and expect",
        );
        continue;
      }
      if (step.value === null) continue;
      if (key === "time") {
        const text = step.value.kind === "literal" && typeof step.value.value === "string" ? step.value.value : null;
        const t = text === null ? "" : scanTime(text);
        if (t === "") fail(catalog.testInvalidTime, step.value.span, "`time` needs an ISO-8601 date-time with an offset", 'write e.g. `time "2026-03-02T10:00:00Z"`');
        else if (typeof t === "string") fail(catalog.testInvalidTime, step.value.span, `\`time\` is not a real date-time: ${t}`, "write a date and time that exist on a calendar and clock");
        else time = text!;
        continue;
      }
      if (key === "result") {
        // what a tool returned may be any JSON value
        if (result !== null) fail(catalog.testInvalidStep, step.span, "a test has one `result`", "split it into two tests");
        else result = { value: dataValue(step.value), span: step.span, node: step.value };
        continue;
      }
      if (step.value.kind !== "object") {
        // still an output test, so that it is not also told it lacks an action
        if (key === "output") output ??= { value: null, span: step.span };
        fail(catalog.testInvalidStep, step.value.span, `\`${key}\` needs an object`, `write e.g. \`${key} { ${exampleEntry[key] ?? 'role: "admin"'} }\``);
        continue;
      }
      const value = dataValue(step.value) as Record<string, unknown>;
      if (key === "action") {
        if (action !== null) fail(catalog.testMissingAction, step.span, "a test has one `action`", "split it into two tests");
        else action = { value, node: step.value };
      } else if (key === "output") {
        if (output !== null) fail(catalog.testInvalidStep, step.span, "a test has one `output`", "split it into two tests");
        else output = { value, span: step.span };
      } else if (key === "session") session = value;
      else if (key === "user") user = value;
      else context = value;
    } else if (step.kind === "history") historySteps.push(step);
    else {
      const e = expectation(step, ctx);
      if (e === null) ok = false;
      else expectations.push(e);
    }
  }

  const nameSpan = t.name?.span ?? t.span;
  if (result !== null && output !== null) fail(catalog.testInvalidStep, output.span, "a test decides one stage: it gives a `result` or an `output`, not both", "split it into two tests");
  const stage: TestStage = output !== null ? "output" : result !== null ? "result" : "call";
  if (stage === "output") {
    if (action !== null && result === null)
      fail(
        catalog.testInvalidStep,
        action.node.span,
        "an output test has no `action`: the output stage decides a message, not a tool call",
        "remove the `action`, or decide the call in a test of its own",
      );
  } else if (action === null) {
    if (stage === "result")
      fail(catalog.testMissingAction, nameSpan, "the test gives a `result` but no `action`", 'add the call that returned it, e.g. `action { type: "read_file", path: "notes.txt" }`');
    else fail(catalog.testMissingAction, nameSpan, "the test has no `action`", 'add `action { type: "...", ... }`: it is what the policy decides');
  } else if (typeof action.value.type !== "string") fail(catalog.testMissingAction, action.node.span, "the action needs a string `type`", 'add e.g. `type: "send_email"`');
  for (const e of expectations) {
    const problem = stageProblem(e, stage);
    if (problem) fail(catalog.testInvalidStep, e.span, problem.message, problem.help);
  }
  if (!t.steps.some((s) => s.kind === "expect")) fail(catalog.testNoExpectation, nameSpan, "the test has no `expect`", "add e.g. `expect deny by RULE`");

  const now = Date.parse(time);
  const history: { action: unknown; time: string; labels?: string[] }[] = [];
  for (const h of historySteps) {
    if (h.entry === null) continue;
    const entry = dataValue(h.entry);
    const labels = h.labels === null ? undefined : dataValue(h.labels);
    if (labels !== undefined && (!Array.isArray(labels) || !labels.every((l) => typeof l === "string"))) {
      fail(catalog.testInvalidStep, h.labels!.span, "an entry's `labels` is a list of strings", 'write e.g. `labels ["untrusted"]`');
      continue;
    }
    const push = (time: string): void => void history.push(labels === undefined ? { action: entry, time } : { action: entry, time, labels: labels as string[] });
    const n = h.repeat ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 100_000) {
      fail(catalog.testInvalidStep, h.span, "`history N of` needs a whole number from 1 to 100000");
      continue;
    }
    const p = h.placement;
    if (p === null) {
      for (let k = n; k >= 1; k--) push(iso(now - k * 1000));
    } else if (p.kind === "at") {
      const t = p.time === null ? "" : scanTime(p.time.value);
      if (p.time === null || typeof t === "string") {
        if (t !== "") fail(catalog.testInvalidTime, p.time!.span, `\`at\` is not a real date-time: ${t}`, "write a date and time that exist on a calendar and clock");
        else fail(catalog.testInvalidTime, p.time?.span ?? p.span, "`at` needs an ISO-8601 date-time with an offset", 'write e.g. `at "2026-03-02T09:00:00Z"`');
        continue;
      }
      for (let k = 0; k < n; k++) push(p.time.value);
    } else {
      if (p.duration === null) continue;
      const d = p.duration.ms;
      if (p.kind === "ago") for (let k = 0; k < n; k++) push(iso(now - d));
      else for (let k = n; k >= 1; k--) push(iso(now - Math.floor((k * d) / (n + 1))));
    }
  }
  history.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));

  if (action !== null && ctx.schema !== null) {
    const expectsError = expectations.some((e) => e.kind === "error");
    checkAgainstSchema(action, ctx.schema, bag, expectsError);
    for (const h of historySteps) if (h.entry) checkAgainstSchema({ value: dataValue(h.entry) as Record<string, unknown>, node: h.entry }, ctx.schema, bag, expectsError);
    if (result !== null) checkResultAgainstSchema(action.value.type, result, ctx.schema, bag, expectsError);
  }

  if (!ok || (action === null && stage !== "output") || t.name === null) return null;
  return {
    name: t.name.value,
    file,
    span: t.span,
    line: ctx.lineOf(t.span.start),
    stage,
    input: {
      ...(action !== null ? { action: action.value } : {}),
      ...(user !== undefined ? { user } : {}),
      ...(context !== undefined ? { context } : {}),
      ...(session !== undefined ? { session } : {}),
      ...(result !== null ? { result: result.value } : {}),
      ...(output !== null ? { output: output.value } : {}),
      time,
      // the test's earlier actions are the session's, made by its user in its context: scopes (`per user.id`) read them so
      history: user === undefined && context === undefined ? history : history.map((h) => ({ ...h, ...(user !== undefined ? { user } : {}), ...(context !== undefined ? { context } : {}) })),
    },
    expectations,
  };
}

/** An entry for the hint of a step that needs an object. */
const exampleEntry: Record<string, string> = { action: 'type: "send_email"', session: 'labels: ["untrusted"]', output: 'text: "Hello"' };

/** Why an expectation cannot hold at the test's stage: it reads a value the stage does not decide. */
function stageProblem(e: Expectation, stage: TestStage): { message: string; help: string } | null {
  if (e.kind !== "field" || e.root === stage) return null;
  if (e.root === "action") {
    if (stage !== "output") return null;
    return { message: "an output test decides no action, so it has no `action.FIELD` to expect", help: "expect `output.FIELD == VALUE`, the message as the policy rewrote it" };
  }
  const given = e.root === "result" ? "`result { ... }` (what the tool returned) beside the `action`" : '`output { text: "..." }` (the model\'s message)';
  return {
    message: `\`expect ${[e.root, ...e.path].join(".")}\` reads the ${e.root} as the policy rewrote it, and the test gives no \`${e.root}\``,
    help: `add ${given}, so that the test decides the ${e.root} stage`,
  };
}

function checkAgainstSchema(action: { value: Record<string, unknown>; node: A.DataValue }, schema: ActionSchema, bag: DiagnosticBag, expectsError: boolean): void {
  if (schema.validate(action.value)) return;
  const type = action.value.type;
  // a schema without action types is A307 already: only its own constraints are reported
  if (typeof type === "string" && schema.types.size > 0 && !schema.types.has(type)) {
    const suggestion = closest(type, schema.types.keys());
    // a warning, not an error: a test that an unknown tool is refused is a good test
    bag.report(catalog.testActionInvalid, spanAt(action.node, ["type"]), `\`${type}\` is not an action type in the schema`, {
      help: suggestion ? `did you mean \`${suggestion}\`?` : `the action types are ${[...schema.types.keys()].map((k) => `\`${k}\``).join(", ")}`,
      severity: "warning",
    });
    return;
  }
  // only the complaints of the type's own branch of the union, when it has one; the whole
  // schema's may be other types' complaints, so they do not name the type
  const branch = typeof type === "string" ? schema.validatorFor(type) : schema.validate;
  const own = branch !== schema.validate && !branch(action.value);
  const errors = (own ? branch.errors : schema.validate.errors) ?? [];
  const specific = errors.filter((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf" && !(e.keyword === "const" && e.instancePath === "/type"));
  reportSchemaErrors(specific.length > 0 ? specific : errors, action.node, own ? `\`${String(type)}\`` : "the action", [], bag, expectsError);
}

/** A test's `result` against its action type's `result` schema, when the schema has one. */
function checkResultAgainstSchema(type: unknown, result: { value: unknown; node: A.DataValue }, schema: ActionSchema, bag: DiagnosticBag, expectsError: boolean): void {
  const validate = typeof type === "string" ? schema.resultValidatorFor(type) : null;
  if (validate === null || validate(result.value)) return;
  reportSchemaErrors(validate.errors ?? [], result.node, "the result", ["result"], bag, expectsError);
}

/**
 * ajv's complaints about a test's value, each once, at the place in the test it names. `whole`
 * names the value itself; `prefix` starts the names of its fields (`result.notes`).
 */
function reportSchemaErrors(errors: readonly ErrorObject[], node: A.DataValue, whole: string, prefix: string[], bag: DiagnosticBag, expectsError: boolean): void {
  const seen = new Set<string>();
  for (const e of errors) {
    // the pointer's fields unescaped (`~1` is `/`, `~0` is `~`), as the action writes them
    const path = e.instancePath
      .split("/")
      .slice(1)
      .map((f) => f.replace(/~1/g, "/").replace(/~0/g, "~"));
    const field = e.keyword === "additionalProperties" ? String(e.params.additionalProperty) : null;
    const at = spanAt(node, field ? [...path, field] : path);
    const where = path.length > 0 ? `\`${[...prefix, ...path].join(".")}\`` : whole;
    const message =
      e.keyword === "additionalProperties"
        ? `\`${field}\` is not a field of ${where} in the schema`
        : e.keyword === "required"
          ? `${where} lacks the required field \`${String(e.params.missingProperty)}\``
          : `${where} ${e.message ?? "is invalid"}`;
    if (seen.has(message)) continue;
    seen.add(message);
    bag.report(catalog.testActionInvalid, at, message, {
      help: expectsError ? "the test expects an error, so this may be on purpose" : `make the test's ${prefix.length > 0 ? "result" : "action"} match the schema, or \`expect error\``,
      severity: expectsError ? "warning" : "error",
    });
  }
}

/** A `by` naming an anonymous rule by its old `FILE:LINE` id: the rule on that line now has `id`. */
function reportLineId(r: A.Ident, id: string, bag: DiagnosticBag): void {
  const line = r.name.slice(r.name.lastIndexOf(":") + 1);
  bag.report(catalog.unknownName, r.span, `\`${r.name}\` is an anonymous rule's id of the old form, \`FILE:LINE\``, {
    help: `the anonymous rule on line ${line} is \`${id}\`, an id made from its condition and effect; give the rule a name (\`rule NAME when ...\`) to keep one id across edits`,
    fixes: [replacement(`use \`${id}\``, bag.file, r.span, JSON.stringify(id))],
    data: { suggestion: id },
  });
}

function expectation(step: Extract<A.TestStep, { kind: "expect" }>, ctx: TestContext): Expectation | null {
  const { bag } = ctx;
  const o = step.outcome;
  const byIds: string[] = [];
  for (const r of step.by) {
    if (ctx.rules.has(r.name)) {
      ctx.onRuleReference?.(r.name, r.span);
      byIds.push(r.name);
    } else if (ctx.lineIds?.has(r.name)) {
      reportLineId(r, ctx.lineIds.get(r.name)!, bag);
      return null;
    } else {
      const suggestion = closest(r.name, ctx.rules);
      bag.report(catalog.unknownName, r.span, `there is no rule \`${r.name}\``, {
        help: suggestion ? `did you mean \`${suggestion}\`?` : "name a rule of the policy under test",
        // an anonymous rule's id is not an identifier and is written as a string
        ...(suggestion ? { fixes: [replacement(`use \`${suggestion}\``, bag.file, r.span, identifierPattern.test(suggestion) ? suggestion : JSON.stringify(suggestion))], data: { suggestion } } : {}),
      });
      return null;
    }
  }
  if (o.kind === "decision") {
    const name = o.decision.name;
    if (!decisions.has(name)) {
      const suggestion = closest(name, decisions);
      bag.report(catalog.testInvalidStep, o.decision.span, `\`${name}\` is not a decision`, {
        help: suggestion ? `did you mean \`${suggestion}\`?` : 'expect allow, deny, require_approval, error, `approval from "group"` or `action.FIELD == VALUE`',
      });
      return null;
    }
    return { kind: "decision", decision: name as DecisionKind, rules: step.by.length > 0 ? byIds : null, span: step.span };
  }
  if (step.by.length > 0) {
    bag.report(catalog.testInvalidStep, span(step.by[0]!.span.start, step.by[step.by.length - 1]!.span.end), "`by` follows a decision", { help: "write `expect deny by RULE`" });
    return null;
  }
  if (o.kind === "error") return { kind: "error", span: step.span };
  if (o.kind === "approval") {
    if (o.group === null) return null;
    return { kind: "approval", from: o.group.value, span: step.span };
  }
  const names = o.path.segments.map((s) => s.name);
  const root = names[0];
  if (root === "labels" && names.length === 1 && o.expected !== null) {
    const labels = dataValue(o.expected);
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")) {
      bag.report(catalog.testInvalidStep, o.expected.span, "`expect labels` needs a list of strings", { help: 'e.g. `expect labels == ["untrusted"]`, or `expect labels == []` for none' });
      return null;
    }
    return { kind: "labels", labels, span: step.span };
  }
  if (!(root === "action" ? names.length >= 2 : root === "result" || root === "output") || o.expected === null) {
    bag.report(
      catalog.testInvalidStep,
      o.path.span,
      "a value expectation reads `expect action.FIELD == VALUE`, `expect result.FIELD == VALUE`, `expect output.FIELD == VALUE` or `expect labels == [...]`",
      {
        help: 'e.g. `expect action.body == "[REDACTED]"`, `expect result.notes == "paid with [CARD]"`, `expect labels == ["untrusted"]`',
      },
    );
    return null;
  }
  return { kind: "field", root: root as "action" | "result" | "output", path: names.slice(1), value: dataValue(o.expected), span: step.span };
}
