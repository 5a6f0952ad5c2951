/**
 * Hostile tool results and model outputs for the result and output stages: values JSON cannot
 * hold (cycles, BigInts, functions, Symbols, `undefined`, non-finite numbers), getters and
 * Proxies that throw or change what they return between reads, values at and past the limits
 * (64 levels, 100,000 values, 16 MiB of text), prototype keys, outputs that are not messages, and
 * session labels and history labels that are not lists of strings. What must hold: every
 * decision is made, never a throw or a hang; what cannot be read is denied with a message that
 * names it, and never passed on (`result`/`output` is null); compiled `decideResult` /
 * `decideOutput` and the interpreter agree; a value is read once, so what was checked is what
 * the rules see and what the decision carries.
 */
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import type { PolicyDecision, Stage } from "../../packages/compiler/src/ir.js";
import { loadModule } from "../../packages/compiler/src/load.js";

const source = `
default deny
rule secrets on result
  when any(s in strings(result): s matches std.secret)
  deny because "a credential"
rule cards on result
  when exists(result.notes)
  redact result.notes matching std.card_number with "[CARD]"
rule web on result
  when action.type == "fetch_url"
  label "untrusted"
rule proto on result
  when result.__proto__ == "x" or result.constructor == "y"
  deny because "prototype keys"
rule refunds on output
  when output.text matches /refund/i
  redact output.text matching /refund/i with "[..]"
rule tainted on output
  when "untrusted" in session.labels or seen(labels contains "pii")
  require approval from "review"
`;
const compilation = compileSource("stages.armor", source, { readFile: () => undefined });
const modulePromise = loadModule(emit(compilation).js);

function nested(depth: number): unknown {
  let v: unknown = "leaf";
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** A result whose `notes` getter returns a clean value on the first read and a card number after. */
function changing(): Record<string, unknown> {
  let reads = 0;
  return Object.defineProperty({}, "notes", { enumerable: true, get: () => (reads++ === 0 ? "clean" : "4111 1111 1111 1111") });
}

const cyclic = (): unknown => {
  const a: unknown[] = [];
  a.push({ back: a });
  return a;
};
const throwingProxy = (): unknown =>
  new Proxy(
    {},
    {
      ownKeys() {
        throw new Error("ownKeys");
      },
      getOwnPropertyDescriptor() {
        throw new Error("descriptor");
      },
    },
  );
const revoked = (): unknown => {
  const r = Proxy.revocable({}, {});
  r.revoke();
  return r.proxy;
};

interface Case {
  readonly name: string;
  readonly stage: Stage;
  readonly input: () => unknown;
  readonly expect: Partial<PolicyDecision> & { readonly message?: string | RegExp };
}

const call = { type: "read_file", path: "a" };
const cases: readonly Case[] = [
  {
    name: "a cycle through a list",
    stage: "result",
    input: () => ({ action: call, result: cyclic() }),
    expect: { decision: "deny", result: null, message: "`result[0].back` is not JSON: it contains itself" },
  },
  {
    name: "a BigInt deep inside",
    stage: "result",
    input: () => ({ action: call, result: { a: [{ b: 1n }] } }),
    expect: { decision: "deny", result: null, message: "`result.a[0].b` is not JSON: a bigint" },
  },
  { name: "a Symbol", stage: "result", input: () => ({ action: call, result: Symbol("s") }), expect: { decision: "deny", result: null, message: "`result` is not JSON: a symbol" } },
  {
    name: "a function",
    stage: "result",
    input: () => ({ action: call, result: () => "AKIAIOSFODNN7EXAMPLE" }),
    expect: { decision: "deny", result: null, message: "`result` is not JSON: a function" },
  },
  {
    name: "a Uint8Array, whose bytes no text rule reads",
    stage: "result",
    input: () => ({ action: call, result: { data: new TextEncoder().encode("AKIAIOSFODNN7EXAMPLE") } }),
    expect: { decision: "deny", result: null, message: "`result.data` is not JSON: bytes (an ArrayBuffer or a view of one)" },
  },
  {
    name: "a Set",
    stage: "result",
    input: () => ({ action: call, result: [new Set(["AKIAIOSFODNN7EXAMPLE"])] }),
    expect: { decision: "deny", result: null, message: "`result[0]` is not JSON: a Set" },
  },
  {
    name: "a Date whose prototype says it is a list is read by its own fields (none)",
    stage: "result",
    input: () => ({ action: call, result: { at: Object.setPrototypeOf(new Date(0), Array.prototype) } }),
    expect: { decision: "allow", result: { at: {} } },
  },
  {
    name: "a Date under a class of its own is still a Date",
    stage: "result",
    input: () => ({ action: call, result: { at: new (class Stamp extends Date {})(0) } }),
    expect: { decision: "deny", result: null, message: "`result.at` is not JSON: a Date" },
  },
  {
    name: "bytes whose prototype was replaced",
    stage: "result",
    input: () => ({ action: call, result: { data: Object.setPrototypeOf(new TextEncoder().encode("AKIAIOSFODNN7EXAMPLE"), null) } }),
    expect: { decision: "deny", result: null, message: "`result.data` is not JSON: bytes (an ArrayBuffer or a view of one)" },
  },
  {
    name: "an ArrayBuffer",
    stage: "result",
    input: () => ({ action: call, result: [new ArrayBuffer(4)] }),
    expect: { decision: "deny", result: null, message: "`result[0]` is not JSON: bytes (an ArrayBuffer or a view of one)" },
  },
  { name: "undefined in a list", stage: "result", input: () => ({ action: call, result: [1, undefined] }), expect: { decision: "deny", result: null, message: "`result[1]` is not JSON: undefined" } },
  {
    name: "a sparse list",
    stage: "result",
    input: () => ({ action: call, result: Object.assign(new Array(3), { 0: 1, 2: 3 }) }),
    expect: { decision: "deny", result: null, message: "`result[1]` is not JSON: undefined" },
  },
  {
    name: "NaN",
    stage: "result",
    input: () => ({ action: call, result: { n: Number.NaN } }),
    expect: { decision: "deny", result: null, message: "`result.n` is not JSON: a number with no finite value" },
  },
  { name: "Infinity", stage: "result", input: () => ({ action: call, result: -Infinity }), expect: { decision: "deny", result: null, message: "`result` is not JSON: a number with no finite value" } },
  {
    name: "a getter that throws",
    stage: "result",
    input: () => ({
      action: call,
      result: Object.defineProperty({}, "x", {
        enumerable: true,
        get: () => {
          throw new Error("boom");
        },
      }),
    }),
    expect: { decision: "deny", result: null, message: "the input cannot be read: reading it threw an exception" },
  },
  {
    name: "a Proxy whose traps throw",
    stage: "result",
    input: () => ({ action: call, result: throwingProxy() }),
    expect: { decision: "deny", result: null, message: "the input cannot be read: reading it threw an exception" },
  },
  {
    name: "a revoked Proxy",
    stage: "result",
    input: () => ({ action: call, result: revoked() }),
    expect: { decision: "deny", result: null, message: "the input cannot be read: reading it threw an exception" },
  },
  {
    name: "a getter on input.result that throws",
    stage: "result",
    input: () =>
      Object.defineProperty({ action: call }, "result", {
        enumerable: true,
        get: () => {
          throw new Error("boom");
        },
      }),
    expect: { decision: "deny", result: null, message: "the input cannot be read: reading it threw an exception" },
  },
  { name: "64 levels: read", stage: "result", input: () => ({ action: call, result: nested(64) }), expect: { decision: "allow" } },
  { name: "65 levels: refused", stage: "result", input: () => ({ action: call, result: nested(65) }), expect: { decision: "deny", result: null, message: "`result` nests deeper than 64 levels" } },
  {
    name: "100,000 levels: refused at 64, no stack overflow",
    stage: "result",
    input: () => ({ action: call, result: nested(100_000) }),
    expect: { decision: "deny", result: null, message: "`result` nests deeper than 64 levels" },
  },
  { name: "100,000 values: read", stage: "result", input: () => ({ action: call, result: new Array(99_999).fill(0) }), expect: { decision: "allow" } },
  {
    name: "100,001 values: refused",
    stage: "result",
    input: () => ({ action: call, result: new Array(100_000).fill(0) }),
    expect: { decision: "deny", result: null, message: "`result` holds more than 100,000 values" },
  },
  {
    name: "a list of 2^32 - 1 holes: refused at the limit",
    stage: "result",
    input: () => ({ action: call, result: new Array(2 ** 32 - 1) }),
    expect: { decision: "deny", result: null, message: "`result[0]` is not JSON: undefined" },
  },
  // read, and then the pattern of rule `secrets` errs past the matcher's limit: the rule denies, not the size
  {
    name: "16 MiB of text: read",
    stage: "result",
    input: () => ({ action: call, result: "a".repeat(16 * 1024 * 1024) }),
    expect: { decision: "deny", message: "a pattern was matched against a string of 16777216 characters, above the limit of 1048576" },
  },
  {
    name: "past 16 MiB of text: refused",
    stage: "result",
    input: () => ({ action: call, result: ["a".repeat(8 * 1024 * 1024), "b".repeat(8 * 1024 * 1024 + 1)] }),
    expect: { decision: "deny", result: null, message: "`result` holds more than 16 MiB of text" },
  },
  {
    name: "prototype keys are own fields only",
    stage: "result",
    input: () => ({ action: call, result: JSON.parse('{"__proto__": "x"}') }),
    expect: { decision: "deny", rules: [{ id: "proto", effect: "deny", reason: "prototype keys" }] },
  },
  { name: "an inherited constructor is not a field", stage: "result", input: () => ({ action: call, result: {} }), expect: { decision: "allow", rules: [] } },
  {
    name: "a value read once: the getter's first answer is what is checked, decided and passed on",
    stage: "result",
    input: () => ({ action: call, result: changing() }),
    expect: { decision: "allow" },
  },
  {
    name: "a credential is withheld",
    stage: "result",
    input: () => ({ action: call, result: { body: "AKIAIOSFODNN7EXAMPLE" } }),
    expect: { decision: "deny", rules: [{ id: "secrets", effect: "deny", reason: "a credential" }] },
  },
  {
    // a key the tool chose is named by its position, never by its text
    name: "a credential as the key of a value that is not JSON is not repeated in the error",
    stage: "result",
    input: () => ({ action: call, result: { env: { "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE": undefined } } }),
    expect: { decision: "deny", result: null, message: /^`result\.env\[key 0\]` is not JSON: undefined$/ },
  },
  {
    name: "a megabyte key is not repeated in the error",
    stage: "result",
    input: () => ({ action: call, result: { ["x".repeat(1 << 20)]: () => 1 } }),
    expect: { decision: "deny", result: null, message: /^`result\[key 0\]` is not JSON: a function$/ },
  },
  {
    // strings(V) includes keys: the model reads a key as much as a value
    name: "a credential as a key is withheld",
    stage: "result",
    input: () => ({ action: call, result: { env: { "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE": true } } }),
    expect: { decision: "deny", rules: [{ id: "secrets", effect: "deny", reason: "a credential" }] },
  },
  { name: "no action at the result stage", stage: "result", input: () => ({ result: "x" }), expect: { decision: "deny", result: null, message: "`action` must be an object" } },
  { name: "a Proxy as the input", stage: "result", input: () => throwingProxy(), expect: { decision: "deny", message: /cannot be read|must be an object/ } },
  { name: "output that is a string", stage: "output", input: () => ({ output: "refund" }), expect: { decision: "deny", output: null, message: "`output` must be an object with a string `text`" } },
  {
    name: "output whose text is a number",
    stage: "output",
    input: () => ({ output: { text: 5 } }),
    expect: { decision: "deny", output: null, message: "`output` must be an object with a string `text`" },
  },
  {
    name: "output with a cycle",
    stage: "output",
    input: () => {
      const o: Record<string, unknown> = { text: "hi" };
      o.self = o;
      return { output: o };
    },
    expect: { decision: "deny", output: null, message: "`output.self` is not JSON: it contains itself" },
  },
  { name: "output text redacted", stage: "output", input: () => ({ output: { text: "a Refund, a REFUND" } }), expect: { decision: "allow", output: { text: "a [..], a [..]" }, action: null } },
  {
    name: "session labels that are not a list",
    stage: "output",
    input: () => ({ output: { text: "hi" }, session: { labels: "untrusted" } }),
    expect: { decision: "deny", message: "`in` needs a list on its right, got string" },
  },
  {
    name: "session labels inherited from the prototype are not read",
    stage: "output",
    input: () => ({ output: { text: "hi" }, session: Object.create({ labels: ["untrusted"] }) }),
    expect: { decision: "allow" },
  },
  {
    name: "history labels that are a string",
    stage: "output",
    input: () => ({ output: { text: "hi" }, history: [{ action: { type: "x" }, labels: "pii" }] }),
    expect: { decision: "require_approval" },
  },
  {
    name: "history labels that throw",
    stage: "output",
    input: () => ({
      output: { text: "hi" },
      history: [
        Object.defineProperty({ action: { type: "x" } }, "labels", {
          enumerable: true,
          get: () => {
            throw new Error("boom");
          },
        }),
      ],
    }),
    expect: { decision: "deny", message: "reading the input threw an exception" },
  },
];

const functions = { call: "decide", result: "decideResult", output: "decideOutput" } as const;

describe("hostile results and outputs", () => {
  it("compile", () => {
    expect(compilation.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const module = await modulePromise;
    const compiled = module[functions[c.stage]]!(c.input()) as PolicyDecision;
    const interpreted = evaluatePolicy(compilation.policy, c.input(), { stage: c.stage }).result;
    expect(isDeepStrictEqual(compiled, interpreted), `compiled ${JSON.stringify(compiled)}\ninterpreted ${JSON.stringify(interpreted)}`).toBe(true);
    const { message, ...fields } = c.expect;
    expect(compiled).toMatchObject(fields);
    if (message !== undefined) expect(compiled.errors.map((e) => e.message).join("\n")).toMatch(message);
    else expect(compiled.errors).toEqual([]);
  });

  it("decides on and passes on the value it checked, not a second read of a getter", async () => {
    const module = await modulePromise;
    for (const d of [module.decideResult!({ action: call, result: changing() }), evaluatePolicy(compilation.policy, { action: call, result: changing() }, { stage: "result" }).result]) {
      // the one read saw "clean": rule `cards` found nothing to redact, and the card the getter
      // returns afterwards reaches neither the rules nor the decision
      expect(d.decision).toBe("allow");
      expect(d.result).toEqual({ notes: "clean" });
    }
  });

  it("a decision asked for from a getter of the input is denied, and the one running stays whole", async () => {
    const module = await modulePromise;
    const decideOutput = (input: unknown) => module.decideOutput!(input) as PolicyDecision;
    let inner: PolicyDecision | null = null;
    let reenter = true;
    // rule `tainted` reads session.labels while the output stage runs
    const input = () => ({
      output: { text: "a refund" },
      get session() {
        if (reenter) inner = decideOutput({ output: { text: "another refund" } });
        return { labels: ["untrusted"] };
      },
    });
    const outer = decideOutput(input());
    reenter = false;
    expect(outer).toEqual(evaluatePolicy(compilation.policy, input(), { stage: "output" }).result);
    expect(outer.decision).toBe("require_approval");
    expect(inner).toMatchObject({
      decision: "deny",
      errors: [{ rule: null, message: "a decision was asked for while this module was deciding another (from a getter or Proxy of the input)" }],
    });
  });
});
