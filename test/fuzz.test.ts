/**
 * The compiler never throws; it reports diagnostics. Fed random text, token soup and mutations of
 * real policies, `compileSource` must return, every diagnostic must be well formed (a catalog
 * code, a message, a span inside the text), and whatever compiles without errors must emit, load
 * and decide without throwing. Separately, the example policies' `decide` never throws on
 * arbitrary values.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Compilation, type CompilerHost, compileSource, emit, nodeHost } from "../packages/compiler/src/compile.js";
import { allEntries } from "../packages/compiler/src/diagnostics/catalog.js";
import type * as IR from "../packages/compiler/src/ir.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { MAX_NESTING } from "../packages/compiler/src/nesting.js";
import type { PolicyModule } from "../packages/contract/src/index.js";

const root = resolve(import.meta.dirname, "..");
const examplesDir = join(root, "examples");
const noFiles: CompilerHost = { readFile: () => undefined };
const codes = new Set(allEntries.map((e) => e.code));

/** The fuller example of the language sketch (its schema line dropped: there is no schema file). */
const SKETCH = `policy payments version "1.2.0"

default allow                       // when no rule fires; if absent the default is deny (fail closed)

let HIGH_VALUE = 10_000
let SANCTIONED = ["acme-shell-co", "evil-corp"]

rule wire_review
  when action.type == "wire_transfer" and amount > HIGH_VALUE
  require approval from "finance" timeout 15m
  because "wires above 10k need a second pair of eyes"

rule sanctioned_recipient
  when action.type == "wire_transfer" and recipient in SANCTIONED
  deny because "recipient is on the sanctions list"

rule office_hours_email
  when action.type == "send_email" and user.role != "admin" and not (time.hour between 9 and 17)
  deny because "non-admins send email only in office hours"

rule email_rate
  when action.type == "send_email" and count(type == "send_email" within 1h) >= 50
  deny because "at most 50 emails an hour"

rule no_exfiltration
  when action.type == "http_post" and seen(type == "read_file" and path matches /secret/ within 30m)
  deny because "a secret was read earlier in this session"

rule redact_ssn
  when action.type == "send_email"
  redact body matching /\\b\\d{3}-\\d{2}-\\d{4}\\b/

when action.type == "drop_database" deny      // anonymous rule: its id is "<file>:<line>"

test "large wires need approval" {
  action { type: "wire_transfer", amount: 25000, recipient: "bob" }
  user { role: "clerk" }
  time "2026-03-02T10:00:00Z"
  expect require_approval by wire_review
}

test "the 51st email in an hour is refused" {
  history 50 of { type: "send_email" } within 1h
  action { type: "send_email", body: "hi" }
  user { role: "admin" }
  expect deny by email_rate
}
`;

interface Corpus {
  readonly name: string;
  /** The file name the policy compiles as; example policies keep theirs, so their schemas load. */
  readonly file: string;
  readonly text: string;
  readonly host: CompilerHost;
  /** Decision inputs known to fit the policy, as seeds for random inputs. */
  readonly inputs: unknown[];
}

const examples: Corpus[] = readdirSync(examplesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(examplesDir, d.name, "policy.armor")))
  .map((d) => {
    const dir = join(examplesDir, d.name);
    const inputsDir = join(dir, "inputs");
    let inputs: unknown[] = [];
    try {
      inputs = readdirSync(inputsDir)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => JSON.parse(readFileSync(join(inputsDir, f), "utf8")) as unknown);
    } catch {
      inputs = [];
    }
    return { name: d.name, file: join(dir, "policy.armor"), text: readFileSync(join(dir, "policy.armor"), "utf8"), host: nodeHost, inputs };
  })
  .filter((c) => c.text.length > 0);

/**
 * Loading a schema costs tens of milliseconds (ajv compiles it on every `compileSource`), so most
 * mutants are of the examples with their `schema` line dropped; a quarter keep it.
 */
const schemaless: Corpus[] = examples.map((c) => ({ ...c, name: `${c.name} (no schema)`, text: c.text.replace(/^schema\s+"[^"\n]*"/m, "// no schema"), host: noFiles }));
const sketch: Corpus = {
  name: "sketch",
  file: "sketch.armor",
  text: SKETCH,
  host: noFiles,
  inputs: [{ action: { type: "wire_transfer", amount: 25000, recipient: "bob" }, user: { role: "clerk" }, time: "2026-03-02T10:00:00Z" }],
};
const corpus: Corpus[] = [...examples, ...schemaless, sketch];

// ---- checking one text ---------------------------------------------------------------------------

function describeText(text: string): string {
  return JSON.stringify(text.length > 4000 ? `${text.slice(0, 4000)}…` : text);
}

function checkSpan(span: unknown, length: number, what: string, text: string): void {
  const s = span as { start: unknown; end: unknown };
  const ok =
    s !== null && typeof s === "object" && Number.isInteger(s.start) && Number.isInteger(s.end) && (s.start as number) >= 0 && (s.start as number) <= (s.end as number) && (s.end as number) <= length;
  if (!ok) throw new Error(`${what} has a bad span ${JSON.stringify(span)} (text length ${length}) for ${describeText(text)}`);
}

/** Decides must return a well-formed decision and never throw or fail internally. */
function checkDecision(module: PolicyModule, input: unknown, context: string, trackerValues?: unknown): IR.PolicyDecision {
  let result: IR.PolicyDecision;
  try {
    result = module.decide(input, trackerValues as never);
  } catch (e) {
    throw new Error(`decide threw ${String(e)} on ${safeShow(input)}\n${context}`);
  }
  const problems: string[] = [];
  if (result === null || typeof result !== "object") problems.push("not an object");
  else {
    if (!["allow", "deny", "require_approval"].includes(result.decision)) problems.push(`decision ${String(result.decision)}`);
    if (!Array.isArray(result.rules)) problems.push("rules is not a list");
    if (!Array.isArray(result.errors)) problems.push("errors is not a list");
    else {
      for (const e of result.errors) {
        if (typeof e.message !== "string" || e.message.startsWith("internal error")) problems.push(`error ${JSON.stringify(e)}`);
      }
      if (result.errors.length > 0 && result.decision !== "deny") problems.push("errors without deny");
    }
    if (result.decision === "require_approval" && (result.approval === null || typeof result.approval !== "object")) problems.push("approval missing");
  }
  if (problems.length > 0) throw new Error(`malformed decision (${problems.join("; ")}): ${safeShow(result!)} on ${safeShow(input)}\n${context}`);
  return result!;
}

function safeShow(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x === undefined ? "<undefined>" : x)) ?? String(v);
  } catch {
    try {
      return String(v);
    } catch {
      return "<unprintable>";
    }
  }
}

const stats = { texts: 0, ok: 0, decided: 0 };

/** Compiles `text`; checks the diagnostics; when it compiles, emits, loads and decides `inputs`. */
async function exercise(text: string, file: string, host: CompilerHost, inputs: (types: string[]) => unknown[]): Promise<Compilation> {
  stats.texts++;
  let c: Compilation;
  try {
    c = compileSource(file, text, host);
  } catch (e) {
    throw new Error(`compileSource threw ${e instanceof Error ? e.stack : String(e)}\nfor ${describeText(text)}`);
  }
  for (const d of c.diagnostics) {
    if (typeof d.code !== "string" || !/^A\d{3}$/.test(d.code) || !codes.has(d.code)) throw new Error(`bad code ${JSON.stringify(d.code)} for ${describeText(text)}`);
    if (typeof d.message !== "string" || d.message.length === 0) throw new Error(`${d.code} has no message for ${describeText(text)}`);
    if (!["error", "warning", "info", "hint"].includes(d.severity)) throw new Error(`${d.code} has severity ${String(d.severity)}`);
    checkSpan(d.span, text.length, `${d.code} ${d.message}`, text);
    for (const r of d.related ?? []) if (r.file === d.file) checkSpan(r.span, text.length, `${d.code} related`, text);
    for (const e of (d.fixes ?? []).flatMap((f) => f.edits)) if (e.file === d.file) checkSpan(e.span, text.length, `${d.code} fix`, text);
  }
  expect(c.ok).toBe(!c.diagnostics.some((d) => d.severity === "error"));
  if (!c.ok) return c;
  stats.ok++;
  let js: string;
  try {
    js = emit(c).js;
  } catch (e) {
    throw new Error(`emit threw ${String(e)} for ${describeText(text)}`);
  }
  let module: PolicyModule;
  try {
    module = await loadModule(js);
  } catch (e) {
    throw new Error(`the emitted module does not load: ${String(e)}\nfor ${describeText(text)}\n--- emitted ---\n${js}`);
  }
  const types = [...new Set(c.policy.rules.flatMap((r) => r.actionTypes ?? []))];
  for (const input of inputs(types)) {
    checkDecision(module, input, `policy: ${describeText(text)}`);
    stats.decided++;
  }
  return c;
}

// ---- random decision inputs -----------------------------------------------------------------------

const FIELD_NAMES = ["amount", "body", "path", "recipient", "command", "to", "memo", "tags", "payload", "toString", "__proto__", "constructor"];

/** An input skeleton; the action type is chosen among the policy's own types when it is made concrete. */
const inputSkeleton = fc.record({
  typeIndex: fc.nat(20),
  fields: fc.dictionary(fc.constantFrom(...FIELD_NAMES), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  user: fc.option(fc.oneof(fc.dictionary(fc.constantFrom("role", "id", "groups"), fc.jsonValue({ maxDepth: 1 })), fc.anything()), { nil: undefined }),
  time: fc.option(
    fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.anything(),
    ),
    { nil: undefined },
  ),
  history: fc.option(
    fc.oneof(
      fc.array(
        fc.record({
          action: fc.dictionary(fc.constantFrom("type", ...FIELD_NAMES), fc.jsonValue({ maxDepth: 1 })),
          time: fc.option(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            { nil: undefined },
          ),
        }),
        { maxLength: 6 },
      ),
      fc.anything(),
    ),
    { nil: undefined },
  ),
  raw: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.anything() }),
});
type Skeleton = typeof inputSkeleton extends fc.Arbitrary<infer T> ? T : never;

function concrete(s: Skeleton, types: string[]): unknown {
  if (s.raw !== undefined) return s.raw;
  const type = types.length > 0 && s.typeIndex < types.length * 2 ? types[s.typeIndex % types.length]! : `t${s.typeIndex}`;
  const input: Record<string, unknown> = { action: { ...s.fields, type } };
  if (s.user !== undefined) input.user = s.user;
  if (s.time !== undefined) input.time = s.time;
  if (s.history !== undefined) input.history = s.history;
  return input;
}

const skeletons = fc.array(inputSkeleton, { minLength: 3, maxLength: 3 });

// ---- (a) random strings, (b) token soup, (c) mutations -------------------------------------------

const CONTROL = [
  "\0",
  "\x01",
  "\x07",
  "\x1b",
  "\x7f",
  "\r",
  "\n",
  "\r\n",
  "\t",
  "\v",
  "\f",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ud800",
  "\udfff",
  '"',
  "\\",
  "/",
  "*",
  "{",
  "}",
  "a",
  " ",
  "é",
  "😀",
];

const randomText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.string({ unit: "binary-ascii", maxLength: 200 }),
  fc.string({ unit: "grapheme", maxLength: 100 }),
  fc.string({ unit: fc.constantFrom(...CONTROL), maxLength: 100 }),
);

const KEYWORDS = [
  "policy",
  "version",
  "schema",
  "default",
  "timezone",
  "let",
  "rule",
  "when",
  "allow",
  "deny",
  "require",
  "approval",
  "from",
  "timeout",
  "redact",
  "matching",
  "because",
  "and",
  "or",
  "not",
  "in",
  "between",
  "matches",
  "contains",
  "starts_with",
  "ends_with",
  "within",
  "true",
  "false",
  "null",
  "test",
  "expect",
  "by",
  "of",
  "history",
  "error",
  "at",
  "ago",
  "require_approval",
];
const NAMES = [
  "action",
  "user",
  "context",
  "time",
  "type",
  "amount",
  "hour",
  "minute",
  "weekday",
  "date",
  "count",
  "seen",
  "exists",
  "foo",
  "x",
  "LIMIT",
  "action.type",
  "time.hour",
  "payload.card",
  "__proto__",
  "toString",
];
const LITERALS = [
  '"wire_transfer"',
  '""',
  '"abc',
  '"a\\q"',
  '"\\u{110000}"',
  '"\\u12"',
  '"\\u{1F600}"',
  '"\\\\"',
  '"x\\"',
  '"Europe/Zurich"',
  '"Mars/Olympus"',
  '"./actions.schema.json"',
  "0",
  "10_000",
  "1__0",
  "10_",
  "1e999",
  "0.5",
  "1.",
  "-3",
  "1e",
  "15m",
  "0s",
  "1_h",
  "99999999999d",
  "250ms",
  "30s",
  "7d",
  "/secret/",
  "/(/",
  "/a{2,1}/",
  "/\\1/",
  "/(?=x)/",
  "/a/g",
  "/[/",
  "/x/ims",
  "/a{1001}/",
  "/[z-a]/",
  "/\\b\\d{3}\\b/",
  "/",
  "//",
  "/*",
  "*/",
];
const PUNCT = ["(", ")", "[", "]", "{", "}", ",", ":", ".", "-", "=", "==", "!=", "<", "<=", ">", ">=", "!", "@", "#", "$", "%", "&", "|", ";", "?", "'", "`", "\\"];
const SPACE = [" ", " ", " ", "\n", "\t", "", "\n  ", " // comment\n", " /* c */ "];

const tokenSoup = fc
  .array(
    fc.tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...KEYWORDS) },
        { weight: 3, arbitrary: fc.constantFrom(...NAMES) },
        { weight: 3, arbitrary: fc.constantFrom(...LITERALS) },
        { weight: 3, arbitrary: fc.constantFrom(...PUNCT) },
      ),
      fc.constantFrom(...SPACE),
    ),
    { maxLength: 60 },
  )
  .map((ts) => ts.map(([t, s]) => t + s).join(""));

/** A crude tokenizer for mutation purposes: it keeps every character, so joining gives the text back. */
function tokenize(text: string): string[] {
  return text.match(/\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"?|\/(?:[^/\\\n]|\\.)+\/[a-z]*|[A-Za-z_][A-Za-z0-9_]*|\d[\d_.]*[a-z]*|==|!=|<=|>=|[\s\S]/g) ?? [];
}

const corpusTokens = corpus.map((c) => tokenize(c.text));
for (const [i, c] of corpus.entries()) if (corpusTokens[i]!.join("") !== c.text) throw new Error(`the mutation tokenizer loses text of ${c.name}`);

const mutation = fc.record({
  kind: fc.constantFrom("delete", "duplicate", "swap", "insert", "truncate", "replace", "replace", "literal", "literal", "swapLines"),
  a: fc.nat(),
  b: fc.nat(),
  len: fc.integer({ min: 1, max: 8 }),
  text: fc.oneof(fc.string({ unit: "binary", maxLength: 4 }), fc.constantFrom(...KEYWORDS, ...LITERALS, ...PUNCT, ...NAMES)),
});

const GENTLE_STRINGS = ['""', '"wire_transfer"', '"send_email"', '"x\\ny"', '"\\u2028"', '"</script>"', '"admin"', '"a\\"b"'];
const GENTLE_NUMBERS = ["0", "1", "-1", "10_000", "0.5", "1e21", "99"];
const GENTLE_DURATIONS = ["1s", "15m", "1h", "7d", "250ms"];

function mutate(tokens: readonly string[], ops: readonly (typeof mutation extends fc.Arbitrary<infer T> ? T : never)[]): string {
  let ts = [...tokens];
  for (const op of ops) {
    const n = Math.max(ts.length, 1);
    const i = op.a % n;
    const k = Math.min(op.len, ts.length - i);
    switch (op.kind) {
      case "delete":
        ts.splice(i, k);
        break;
      case "duplicate":
        ts.splice(i, 0, ...ts.slice(i, i + k));
        break;
      case "swap": {
        const j = op.b % n;
        const [x, y] = i < j ? [i, j] : [j, i];
        const first = ts.slice(x, x + k);
        const second = ts.slice(y, y + k);
        if (x + k <= y) ts = [...ts.slice(0, x), ...second, ...ts.slice(x + k, y), ...first, ...ts.slice(y + k)];
        break;
      }
      case "insert":
        ts.splice(i, 0, op.text);
        break;
      case "truncate": {
        const text = ts.join("");
        const at = op.b % (text.length + 1);
        ts = [text.slice(0, at)];
        break;
      }
      case "replace":
        ts[i] = op.text;
        break;
      case "literal": {
        // a gentle mutation that usually still compiles: another number, string or duration
        const literals = ts.map((t, at) => [t, at] as const).filter(([t]) => /^(?:\d|")/.test(t));
        if (literals.length === 0) break;
        const [t, at] = literals[op.a % literals.length]!;
        const pool = t.startsWith('"') ? GENTLE_STRINGS : /[a-z]$/.test(t) ? GENTLE_DURATIONS : GENTLE_NUMBERS;
        ts[at] = pool[op.b % pool.length]!;
        break;
      }
      case "swapLines": {
        const lines = ts.join("").split("\n");
        const x = op.a % lines.length;
        const y = op.b % lines.length;
        [lines[x], lines[y]] = [lines[y]!, lines[x]!];
        ts = [lines.join("\n")];
        break;
      }
    }
  }
  return ts.join("");
}

const NUM_RANDOM = 1000;
const NUM_SOUP = 1000;
const NUM_MUTATIONS = 1200;

describe("the compiler never throws, only reports diagnostics", () => {
  it(`on ${NUM_RANDOM} random strings`, async () => {
    await fc.assert(
      fc.asyncProperty(randomText, skeletons, async (text, sk) => {
        await exercise(text, "random.armor", noFiles, (types) => sk.map((s) => concrete(s, types)));
      }),
      { numRuns: NUM_RANDOM },
    );
  });

  it(`on ${NUM_SOUP} token soups`, async () => {
    await fc.assert(
      fc.asyncProperty(tokenSoup, skeletons, async (text, sk) => {
        await exercise(text, "soup.armor", noFiles, (types) => sk.map((s) => concrete(s, types)));
      }),
      { numRuns: NUM_SOUP },
    );
  });

  it(`on ${NUM_MUTATIONS} mutations of the example policies and the sketch`, async () => {
    const before = stats.ok;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 1, arbitrary: fc.nat(examples.length - 1) }, { weight: 3, arbitrary: fc.integer({ min: examples.length, max: corpus.length - 1 }) }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        skeletons,
        async (which, ops, sk) => {
          const c = corpus[which]!;
          const text = mutate(corpusTokens[which]!, ops);
          await exercise(text, c.file, c.host, (types) => [...sk.map((s) => concrete(s, types)), ...c.inputs.slice(0, 2)]);
        },
      ),
      { numRuns: NUM_MUTATIONS },
    );
    // enough mutants compile that emit, load and decide are exercised too
    if (process.env.ARMOR_FUZZ_STATS) console.log(`mutants compiled: ${stats.ok - before}`);
    expect(stats.ok - before).toBeGreaterThan(NUM_MUTATIONS / 20);
  });

  it("fed at least 3000 texts in total, some of which compiled and decided", () => {
    if (process.env.ARMOR_FUZZ_STATS) console.log(JSON.stringify(stats));
    expect(stats.texts).toBeGreaterThanOrEqual(3000);
    expect(stats.ok).toBeGreaterThan(100);
    expect(stats.decided).toBeGreaterThan(300);
  });
});

// ---- decide on arbitrary values -------------------------------------------------------------------

const throwing = (): never => {
  throw new Error("hostile");
};
/** An input made only when a test uses it. */
class Deferred {
  constructor(
    readonly make: () => unknown,
    readonly what: string,
  ) {}
}
const HOSTILE_KINDS = ["getter", "throwingProxy", "revokedProxy", "symbol"] as const;
function hostile(kind: (typeof HOSTILE_KINDS)[number]): unknown {
  if (kind === "symbol") return Symbol("hostile");
  if (kind === "revokedProxy") {
    const r = Proxy.revocable({}, {});
    r.revoke();
    return r.proxy;
  }
  return new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing, getPrototypeOf: throwing });
}

describe("decide never throws on arbitrary inputs", () => {
  const anything = fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
    maxDepth: 3,
  });

  it.each([...examples, sketch].map((c) => [c.name, c] as const))("for the %s policy", async (_name, c) => {
    const compilation = compileSource(c.file, c.text, c.host);
    expect(compilation.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const module = await loadModule(emit(compilation).js);
    const types = [...new Set(compilation.policy.rules.flatMap((r) => r.actionTypes ?? []))];
    const seeds = c.inputs.length > 0 ? c.inputs : [{ action: { type: types[0] ?? "x" } }];
    const keys = ["action", "user", "context", "time", "history", "__proto__", "toString"];
    const arbInput = fc.oneof(
      anything,
      // a real input with one part replaced by anything
      fc.tuple(fc.nat(seeds.length - 1), fc.constantFrom(...keys), anything).map(([i, k, v]) => {
        const seed = structuredClone(seeds[i]) as Record<string, unknown>;
        Object.defineProperty(seed, k, { value: v, enumerable: true, writable: true, configurable: true });
        return seed;
      }),
      // a real input whose action has one field replaced by anything
      fc.tuple(fc.nat(seeds.length - 1), fc.constantFrom("type", "amount", "body", "path", "command", "to", "recipient", "memo", "query", "url", "__proto__"), anything).map(([i, k, v]) => {
        const seed = structuredClone(seeds[i]) as { action: Record<string, unknown> };
        if (seed.action !== null && typeof seed.action === "object") Object.defineProperty(seed.action, k, { value: v, enumerable: true, writable: true, configurable: true });
        return seed;
      }),
      // a real input with one part (the input, the action, a field, user, context, time, history)
      // replaced by a getter that throws, a Proxy whose traps throw, a revoked Proxy or a Symbol
      // (made when used: fast-check inspects the values it generates)
      fc.tuple(fc.nat(seeds.length - 1), fc.constantFrom("input", "action", "type", "amount", "body", "user", "context", "time", "history"), fc.constantFrom(...HOSTILE_KINDS)).map(
        ([i, where, kind]) =>
          new Deferred(() => {
            const seed = structuredClone(seeds[i]) as { action: Record<string, unknown> } & Record<string, unknown>;
            if (where === "input") return kind === "getter" ? seed : hostile(kind);
            const holder = ["type", "amount", "body"].includes(where) ? seed.action : seed;
            if (holder === null || typeof holder !== "object") return seed;
            if (kind === "getter") Object.defineProperty(holder, where, { get: throwing, enumerable: true, configurable: true });
            else Object.defineProperty(holder, where, { value: hostile(kind), enumerable: true, writable: true, configurable: true });
            return seed;
          }, `${kind} at ${where}`),
      ),
      // a typed action of the policy with arbitrary fields, user, context, time and history
      fc.record({
        action: fc.tuple(fc.constantFrom(...types, "other"), fc.dictionary(fc.string(), anything, { maxKeys: 4 })).map(([type, fields]) => ({ ...fields, type })),
        user: anything,
        context: anything,
        time: fc.oneof(
          anything,
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        history: fc.oneof(
          anything,
          fc.array(
            fc.record({
              action: fc.oneof(
                anything,
                fc.constantFrom(...types).map((type) => ({ type })),
              ),
              time: anything,
            }),
            { maxLength: 5 },
          ),
        ),
      }),
    );
    const trackerValues = fc.oneof(fc.constant(undefined), fc.array(fc.oneof(fc.nat(4), fc.boolean(), fc.constant(Number.NaN), fc.constant(Symbol("n")), fc.constant("3")), { maxLength: 4 }));
    await fc.assert(
      fc.property(arbInput, trackerValues, (input, values) => {
        checkDecision(module, input instanceof Deferred ? input.make() : input, `policy ${c.name}${input instanceof Deferred ? `, ${input.what}` : ""}`, values);
      }),
      { numRuns: 400 },
    );
  });
});

// ---- deep nesting and huge tokens -----------------------------------------------------------------

/**
 * Every construct that nests, at a depth under, at and over the limit (docs/language.md §3.8):
 * at most the limit compiles without A109, past it A109 is reported, and nothing throws. `base`
 * is the nesting the construct's frame adds by itself (a test's braces, the action's object).
 */
const NESTING_CONSTRUCTS: { name: string; base: number; text: (n: number) => string }[] = [
  { name: "parentheses", base: 0, text: (n) => `rule r when ${"(".repeat(n)}amount > 1${")".repeat(n)} deny` },
  { name: "lists", base: 0, text: (n) => `let L = ${"[".repeat(n)}1${"]".repeat(n)}\nrule r when amount in L deny` },
  { name: "calls", base: 0, text: (n) => `rule r when ${"seen(".repeat(n)}amount > 1${")".repeat(n)} deny` },
  { name: "not", base: 0, text: (n) => `rule r when ${"not ".repeat(n)}amount > 1 deny` },
  { name: "not and parentheses", base: 0, text: (n) => `rule r when ${"not (".repeat(Math.floor(n / 2))}${n % 2 === 1 ? "not " : ""}amount > 1${")".repeat(Math.floor(n / 2))} deny` },
  { name: "test objects", base: 2, text: (n) => `rule r when amount > 1 deny\ntest "t" {\n  action { type: "x", a: ${"{a:".repeat(n)}1${"}".repeat(n)} }\n  expect deny\n}` },
  { name: "test lists", base: 2, text: (n) => `rule r when amount > 1 deny\ntest "t" {\n  action { type: "x", a: ${"[".repeat(n)}1${"]".repeat(n)} }\n  expect deny\n}` },
  { name: "history entries", base: 2, text: (n) => `rule r when amount > 1 deny\ntest "t" {\n  action { type: "x" }\n  history { type: "y", a: ${"[".repeat(n)}1${"]".repeat(n)} }\n  expect deny\n}` },
  { name: "let chains", base: 0, text: (n) => [...Array.from({ length: n }, (_, i) => `let A${i} = ${i === n - 1 ? "1" : `A${i + 1}`}`), "rule r when amount == A0 deny"].join("\n") },
  { name: "lists through lets", base: 0, text: (n) => [...Array.from({ length: n }, (_, i) => `let A${i} = ${i === n - 1 ? "[1]" : `[A${i + 1}]`}`), "rule r when amount in A0 deny"].join("\n") },
];

const HUGE = 2_000_000;
/** Tokens of a few megabytes, and binary garbage: ordinary diagnostics (or none), never an exception. */
const HUGE_TOKENS: { name: string; text: (n: number) => string; codes: string[] }[] = [
  { name: "a line comment", text: (n) => `// ${"x".repeat(n)}\ndefault allow\nrule r when amount > 1 deny`, codes: [] },
  { name: "a block comment", text: (n) => `/* ${"*x".repeat(n / 2)} */\ndefault allow\nrule r when amount > 1 deny`, codes: [] },
  { name: "an unclosed block comment", text: (n) => `default allow\nrule r when amount > 1 deny\n/* ${"x\n".repeat(n / 2)}`, codes: ["A101"] },
  { name: "a string", text: (n) => `default allow\nrule r when body == "${"x".repeat(n)}" deny`, codes: [] },
  { name: "a string of escapes", text: (n) => `default allow\nrule r when body == "${"\\n".repeat(n / 2)}" deny`, codes: [] },
  { name: "an unterminated string", text: (n) => `default allow\nrule r when body == "${"x".repeat(n)}`, codes: ["A103"] },
  { name: "a regex", text: (n) => `default allow\nrule r when body matches /${"[a/]\\/".repeat(n / 8)}/ deny`, codes: ["A107"] }, // the regex engine's size limit
  { name: "an identifier", text: (n) => `default allow\nrule r when ${"a".repeat(n)} > 1 deny`, codes: [] },
  { name: "a number", text: (n) => `default allow\nrule r when amount > ${"1".repeat(n)} deny`, codes: ["A105"] },
];

function garbage(seed: number, n: number): string {
  let x = seed;
  let s = "";
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(x % 256);
  }
  return s;
}

describe("deep nesting and huge tokens give diagnostics", () => {
  const LIMIT = MAX_NESTING;
  it.each(NESTING_CONSTRUCTS.map((c) => [c.name, c] as const))("%s: under, at and past the limit", async (_name, c) => {
    const depth = fc.oneof(fc.constantFrom(LIMIT - 1, LIMIT, LIMIT + 1, 300, 2000), fc.integer({ min: 1, max: 400 }));
    await fc.assert(
      fc.asyncProperty(depth, async (d) => {
        const n = d - c.base;
        if (n < 1) return;
        const compiled = await exercise(`default allow\n${c.text(n)}`, "deep.armor", noFiles, () => [{ action: { type: "x", amount: 2 } }]);
        expect(
          compiled.diagnostics.some((x) => x.code === "A109"),
          `depth ${d}`,
        ).toBe(d > LIMIT);
      }),
      { numRuns: 12 },
    );
  });

  it.each(HUGE_TOKENS.map((t) => [t.name, t] as const))("%s of two megabytes", async (_name, t) => {
    const compiled = await exercise(t.text(HUGE), "huge.armor", noFiles, () => [{ action: { type: "x", amount: 2, body: "b" } }]);
    expect([...new Set(compiled.diagnostics.filter((d) => d.severity === "error").map((d) => d.code))]).toEqual(t.codes);
  });

  it("binary garbage", async () => {
    const compiled = await exercise(garbage(7, 500_000), "garbage.armor", noFiles, () => []);
    expect(compiled.ok).toBe(false);
    expect(compiled.diagnostics.some((d) => d.code === "A102" || d.code === "A101")).toBe(true);
  });
});
