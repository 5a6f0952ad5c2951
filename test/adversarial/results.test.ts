/**
 * Hostile tool results and model messages against the runtime's result and output stages: values
 * that change on every read, Proxies that fake endless depth or length, `__proto__` as a field,
 * a polluted `Object.prototype`, results of millions of values, and concurrent calls racing the
 * labels of a session. What must hold: what was decided, hashed and recorded is what the agent
 * gets; a value that is not JSON within limits is withheld, in bounded time, naming why; nothing
 * on a prototype is read as a field or a label.
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, createEnforcer, ResultWithheld, type StageDecision, sha256, ToolFailed, verifyAuditLog } from "../../packages/runtime/src/index.js";

const POLICY = `
policy hostile version "1"
default allow
rule no_keys on result
  when any(s in strings(result): s matches std.secret)
  deny because "a credential"
rule web on result
  when action.type == "fetch_url"
  label "untrusted"
rule mail_after_web
  when action.type == "send_email" and "untrusted" in session.labels
  deny because "the session read the open web"
rule no_refunds on output
  when output.text contains "refund"
  deny
`;
const AWS = "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE";

async function enforcer() {
  const lines: string[] = [];
  const e = await createEnforcer({ policy: { source: POLICY, fileName: "hostile.armor" }, audit: { callback: (_r, line) => void lines.push(line) } });
  return { e, lines };
}

async function runResult(tool: () => unknown, type = "read"): Promise<{ result?: unknown; withheld?: StageDecision; ms: number }> {
  const { e, lines } = await enforcer();
  const t0 = performance.now();
  try {
    const r = await e.run({ type }, { session: "s" }, tool);
    return { result: r.result, ms: performance.now() - t0 };
  } catch (err) {
    if (!(err instanceof ResultWithheld)) throw err;
    return { withheld: err.decision, ms: performance.now() - t0 };
  } finally {
    await e.close();
    expect(verifyAuditLog(lines.map((l) => `${l}\n`).join("")).ok).toBe(true);
    expect(lines.join("\n")).not.toContain("AKIA");
  }
}

/** A Proxy that answers every read with another such Proxy: endless depth. */
const bottomless = (): unknown => new Proxy({}, { ownKeys: () => ["next"], getOwnPropertyDescriptor: () => ({ enumerable: true, configurable: true }), get: () => bottomless() });
/** An array Proxy that says it has 2^32 - 1 elements. */
const endless = (): unknown => new Proxy([], { get: (t, k) => (k === "length" ? 2 ** 32 - 1 : typeof k === "string" && /^\d+$/.test(k) ? 0 : Reflect.get(t, k)) });

// [name, what the tool returns, the withholding error it must give (or null: returned as the expected value)]
const HOSTILE: [string, () => unknown, RegExp | null, unknown?][] = [
  ["a getter that shows a harmless value first and a key later", () => shifty(), null, { content: "harmless" }],
  ["a key hidden behind toJSON is read as the object's own fields", () => ({ content: "ok", toJSON: () => ({ content: AWS }) }), /`result\.toJSON` is not JSON: a function/],
  ["a Proxy with endless depth", bottomless, /^`result` nests deeper than 64 levels$/],
  ["an array Proxy of 2^32 - 1 elements", endless, /^`result` holds more than 100,000 values$/],
  ["a million values", () => Array.from({ length: 1_000_000 }, (_, i) => i), /^`result` holds more than 100,000 values$/],
  ["a 64 MiB string", () => "x".repeat(64 * 1024 * 1024), /^`result` holds more than 16 MiB of text$/],
  ["a Symbol", () => ({ s: Symbol("x") }), /^`result\.s` is not JSON: a symbol$/],
  ["Infinity deep inside", () => ({ a: [{ b: [Number.POSITIVE_INFINITY] }] }), /^`result\.a\[0\]\.b\[0\]` is not JSON: a number with no finite value$/],
  ["`__proto__` as an own field holding a key", () => JSON.parse(`{"__proto__": {"k": "${AWS}"}}`), /.*/],
];

function shifty(): unknown {
  let reads = 0;
  return Object.defineProperty({}, "content", { enumerable: true, get: () => (reads++ === 0 ? "harmless" : AWS) });
}

function revoked(): unknown {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

describe("hostile results", () => {
  it.each(HOSTILE)(
    "%s",
    async (_name, tool, error, expected) => {
      const got = await runResult(tool);
      // bounded: the limits stop the walk long before the value ends (a generous bound for a loaded machine)
      expect(got.ms).toBeLessThan(10_000);
      if (error === null) {
        expect(got.result).toEqual(expected);
      } else {
        expect(got.withheld, "withheld").toBeDefined();
        expect(got.withheld!.result).toBeNull();
        if (got.withheld!.errors.length > 0) expect(got.withheld!.errors[0]!.message).toMatch(error);
        else expect(got.withheld!.rules.map((r) => r.id)).toEqual(["no_keys"]);
      }
    },
    30_000,
  );

  it("a revoked Proxy: reading its `then` throws, so run() rejects as for a tool that threw (its error decided as the result), and nothing is returned", async () => {
    const { e, lines } = await enforcer();
    const error = await e.run({ type: "read" }, { session: "s" }, revoked).then(
      () => null,
      (x: unknown) => x,
    );
    expect(error).toBeInstanceOf(ToolFailed);
    expect((error as ToolFailed).message).toMatch(/revoked/);
    await e.close();
    expect(lines.map((l) => JSON.parse(l).outcome ?? JSON.parse(l).kind)).toEqual(["decision", "error", "result"]);
  });

  it("a `__proto__` field is returned as an own field, never as the prototype", async () => {
    const got = await runResult(() => JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'));
    const result = got.result as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, "__proto__")).toBe(true);
    expect((result as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("an Object.prototype given `labels`, `session` and `result` adds no label and changes no result", async () => {
    const proto = Object.prototype as Record<string, unknown>;
    try {
      proto.labels = ["untrusted"];
      proto.session = { labels: ["untrusted"] };
      proto.result = AWS;
      const { e } = await enforcer();
      expect((await e.decide({ type: "send_email" }, { session: "s" })).decision).toBe("allow");
      const r = await e.run({ type: "read" }, { session: "s" }, () => ({ content: "fine" }));
      expect(r.result).toEqual({ content: "fine" });
      expect(r.resultDecision!.valueHash).toBe(sha256(canonicalJson({ content: "fine" })));
    } finally {
      delete proto.labels;
      delete proto.session;
      delete proto.result;
    }
  });

  it("concurrent calls of a session: a label from one result reaches every decision after it", async () => {
    const { e } = await enforcer();
    let release: () => void = () => {};
    const slow = new Promise<string>((r) => (release = () => r("<html>")));
    const fetch = e.run({ type: "fetch_url" }, { session: "s" }, () => slow);
    // before the result: nothing is labelled yet
    expect((await e.decide({ type: "send_email" }, { session: "s" })).decision).toBe("allow");
    release();
    await fetch;
    const after = await Promise.all(Array.from({ length: 20 }, () => e.decide({ type: "send_email" }, { session: "s" })));
    expect(after.map((d) => d.decision)).toEqual(Array(20).fill("deny"));
  });
});

describe("hostile messages", () => {
  const MESSAGES: [string, unknown, RegExp][] = [
    [
      "text that is a getter throwing",
      Object.defineProperty({}, "text", {
        enumerable: true,
        get: () => {
          throw new Error("x");
        },
      }),
      /^the input cannot be read/,
    ],
    ["text that is not a string", { text: ["refund"] }, /^`output` must be an object with a string `text`$/],
    ["a list", ["refund"], /^`output` must be an object with a string `text`$/],
    ["null", null, /^`output` must be an object with a string `text`$/],
    ["a message of a million fields", Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`f${i}`, i]).concat([["text", "hi"]])), /^`output` holds more than 100,000 values$/],
  ];

  it.each(MESSAGES)("%s is denied, never thrown", async (_name, message, error) => {
    const { e, lines } = await enforcer();
    const d = await e.checkOutput(message as never, { session: "s" });
    expect(d.decision).toBe("deny");
    expect(d.output).toBeNull();
    expect(d.errors[0]!.message).toMatch(error);
    await e.close();
    expect(JSON.parse(lines[0]!)).toMatchObject({ kind: "output", decision: "deny" });
  });
});
