/**
 * Hostile user text reaches emitted code only as data. Reasons, string literals, list elements,
 * let values, approval groups, regex sources, versions, test names and file names full of quotes,
 * backslashes, backticks, `${`, `*\/`, `</script>`, line and paragraph separators, NUL and lone
 * surrogates must compile, load, round-trip exactly through the module's metadata and decisions,
 * and decide like the reference interpreter. Redact paths and field names are identifiers in the
 * grammar (there are no quoted path segments), so the hostile ones there are names such as
 * `__proto__` and `constructor`.
 *
 * Below, the escaping primitives of `codegen/escape.ts` are tested directly.
 */

import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsComment, jsString, jsValue } from "../packages/compiler/src/codegen/escape.js";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";

const noFiles = { readFile: (): undefined => undefined };

// ---- hostile text ------------------------------------------------------------------------------------

const HOSTILE = [
  '"',
  "\\",
  "'",
  "`",
  "${",
  "${x}",
  "*/",
  "/*",
  "</script>",
  "</SCRIPT >",
  "<!--",
  "-->",
  "\n",
  "\r\n",
  "\r",
  "\u2028",
  "\u2029",
  "\0",
  "\0" + "1",
  "\ud800",
  "\udfff",
  "\udc00\ud800",
  "\\u0041",
  '"; throw new Error("pwned"); "',
  "'); throw 1; ('",
  "`${globalThis.pwned = 1}`",
  "*/ globalThis.pwned = 1; /*",
  "\u0085",
  "\ufeff",
  "😀",
  "",
  " ",
  "\t",
  "\x1b[31m",
  '\\\\"',
  "}})();",
  "<script>",
  "]]>",
];

/** Units that make up hostile strings. */
const hostileUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom("a", "b", "x", "-", " ") },
);
const hostileString = fc.string({ unit: hostileUnit, maxLength: 8 });

/**
 * A .armor string literal that decodes to `s`. `raw` writes everything the lexer allows verbatim
 * (NUL, separators, lone surrogates, backticks); `escaped` writes every non-printable-ASCII code
 * unit as `\uXXXX`; `braced` uses `\u{...}` for astral characters.
 */
function armorString(s: string, style: "raw" | "escaped" | "braced"): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = s.charCodeAt(i);
    if (c === '"') out += '\\"';
    else if (c === "\\") out += "\\\\";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (style === "raw") out += c;
    else if (c === "\t") out += "\\t";
    else if (c === "\0" && !/[0-9a-fA-F]/.test(s[i + 1] ?? "")) out += "\\0";
    else if (style === "braced" && code >= 0xd800 && code <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += `\\u{${s.codePointAt(i)!.toString(16)}}`;
      i++;
    } else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += c;
  }
  return `${out}"`;
}

/** A .armor regex literal matching `s` literally. */
function armorRegex(s: string, escapeAll: boolean): string {
  let out = "/";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = s.charCodeAt(i);
    if ("\\^$.|?*+()[]{}/".includes(c)) out += `\\${c}`;
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (escapeAll && (code < 0x20 || code > 0x7e)) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += c;
  }
  return `${out}/`;
}

const styleArb = fc.constantFrom("raw" as const, "escaped" as const, "braced" as const);

interface Slots {
  version: string;
  testName: string;
  letValue: string;
  element1: string;
  element2: string;
  type: string;
  literal: string;
  group: string;
  pattern: string;
  reasons: string[];
  file: string;
  styles: ("raw" | "escaped" | "braced")[];
  regexEscapeAll: boolean;
}

const slotsArb: fc.Arbitrary<Slots> = fc.record({
  version: hostileString,
  testName: hostileString,
  letValue: hostileString,
  element1: hostileString,
  element2: hostileString,
  type: hostileString,
  literal: hostileString,
  group: hostileString,
  pattern: hostileString.filter((s) => s.length > 0),
  reasons: fc.array(hostileString, { minLength: 8, maxLength: 8 }),
  file: hostileString.map((s) => `dir/${s.replace(/[\\/]/g, "_")}.armor`),
  styles: fc.array(styleArb, { minLength: 16, maxLength: 16 }),
  regexEscapeAll: fc.boolean(),
});

function buildPolicy(s: Slots): { text: string; reasons: string[] } {
  let k = 0;
  const str = (v: string): string => armorString(v, s.styles[k++ % s.styles.length]!);
  const r = s.reasons;
  const re = armorRegex(s.pattern, s.regexEscapeAll);
  const text = [
    `policy hostile version ${str(s.version)}`,
    "default allow",
    `let H = ${str(s.letValue)}`,
    `let HL = [${str(s.element1)}, ${str(s.element2)}, null]`,
    `rule r_literal when action.type == ${str(s.type)} and body == ${str(s.literal)} deny because ${str(r[0]!)}`,
    `rule r_let when body == H require approval from ${str(s.group)} timeout 15m because ${str(r[1]!)}`,
    `rule r_list when memo in HL allow because ${str(r[2]!)}`,
    `rule r_inline_list when memo in [${str(s.element2)}, 1, ${str(s.literal)}] allow because ${str(r[3]!)}`,
    `rule r_strings when body starts_with ${str(s.literal)} and body ends_with ${str(s.literal)} and tags contains ${str(s.literal)} allow because ${str(r[4]!)}`,
    `rule r_regex when body matches ${re} redact body matching ${re} because ${str(r[5]!)}`,
    `rule r_proto when exists(__proto__) or exists(constructor) redact __proto__ because ${str(r[6]!)}`,
    `when true redact payload.constructor because ${str(r[7]!)}`,
    `test ${str(s.testName)} {`,
    `  action { type: ${str(s.type)}, ${str(s.literal)}: ${str(s.element1)} }`,
    "  expect allow",
    "}",
    "",
  ].join("\n");
  return { text, reasons: r };
}

describe("hostile text in policies reaches emitted code only as data", () => {
  it("compiles, loads, round-trips and decides like the interpreter (150 random policies)", async () => {
    await fc.assert(
      fc.asyncProperty(slotsArb, async (slots) => {
        const { text, reasons } = buildPolicy(slots);
        const c = compileSource(slots.file, text, noFiles);
        const errors = c.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`);
        expect(errors, text).toEqual([]);
        // the compiler decoded the literals
        expect(c.policy.rules.map((r) => r.reason)).toEqual(reasons);
        expect(c.policy.version).toBe(slots.version);
        const { js } = emit(c);
        expect(js).not.toMatch(/[\u2028\u2029]/);
        const mod = await loadModule(js);
        expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
        const meta = mod.policy as { version: unknown; file: unknown; name: unknown; rules: { id: unknown; reason: unknown; actionTypes: unknown }[] };
        expect(meta.version).toBe(slots.version);
        expect(meta.file).toBe(slots.file);
        expect(meta.name).toBe("hostile");
        expect(meta.rules.map((r) => r.reason)).toEqual(reasons);
        // characters outside A-Z a-z 0-9 _ . - become `_` in an id's FILE
        const base = slots.file.slice(slots.file.lastIndexOf("/") + 1).replace(/[^A-Za-z0-9_.-]/g, "_");
        // the last rule is anonymous: its id is the file's base name, then plain text (docs/language.md §5.1)
        expect(meta.rules.map((r) => r.id)).toEqual(c.policy.rules.map((r) => r.id));
        const anonymous = String(meta.rules.at(-1)!.id);
        expect(anonymous.startsWith(`${base}:`)).toBe(true);
        expect(anonymous.slice(base.length + 1)).toMatch(/^(allow|deny|require_approval|redact)(-[A-Za-z0-9_.-]{1,32})?-[0-9a-f]{10,64}(~[0-9a-f]{6,64})?(#[0-9]+)?$/);
        expect(meta.rules[0]!.actionTypes).toEqual([slots.type]);

        const inputs: unknown[] = [
          { action: { type: slots.type, body: slots.literal } },
          { action: { type: slots.type, body: slots.letValue, memo: slots.element1 } },
          { action: { type: `other:${slots.type}`, body: slots.letValue, memo: slots.element2, tags: [slots.literal] } },
          { action: { type: `other:${slots.type}`, body: `${slots.pattern}${slots.literal}${slots.pattern}`, memo: slots.literal, payload: { constructor: slots.group } } },
          JSON.parse(`{"action":{"type":${JSON.stringify(slots.type)},"__proto__":${JSON.stringify(slots.element1)},"body":${JSON.stringify(slots.pattern)}}}`),
          { action: { type: slots.type, body: slots.literal, tags: slots.literal, memo: null } },
        ];
        for (const input of inputs) {
          const compiled = mod.decide(input);
          const interpreted = evaluatePolicy(c.policy, input).result;
          if (!isDeepStrictEqual(compiled, interpreted)) {
            throw new Error(
              `decisions differ\n--- policy ---\n${text}\n--- input ---\n${JSON.stringify(input)}\n--- compiled ---\n${JSON.stringify(compiled)}\n--- interpreter ---\n${JSON.stringify(interpreted)}`,
            );
          }
          for (const fired of compiled.rules) expect(reasons).toContain(fired.reason);
        }
        // the hostile literals were matched as written
        const d0 = mod.decide(inputs[0]);
        expect(d0.rules.map((r) => r.id)).toContain("r_literal");
        expect(d0.decision).toBe("deny");
        const other = `other:${slots.type}`;
        const d1 = mod.decide({ action: { type: other, body: slots.letValue } });
        expect(d1.rules.map((r) => r.id)).toContain("r_let");
        expect(d1.decision).toBe("require_approval");
        expect(d1.approval).toEqual({ from: slots.group, timeoutMs: 900_000 });
        expect(mod.decide({ action: { type: other, memo: slots.element1 } }).rules.map((r) => r.id)).toContain("r_list");
        const body = `>${slots.pattern}<`;
        const d3 = mod.decide({ action: { type: other, body } });
        expect(d3.rules.map((r) => r.id)).toContain("r_regex");
        expect((d3.action as { body: string }).body).toBe(body.split(slots.pattern).join("[REDACTED]"));
      }),
      { numRuns: 150 },
    );
  });

  it.each(HOSTILE.map((h) => [JSON.stringify(h), h] as const))("a reason of %s round-trips", async (_name, h) => {
    const text = `default allow\nrule r when true deny because ${armorString(h, "raw")}\nwhen true allow because ${armorString(h, "escaped")}\n`;
    const c = compileSource(`x${h.replace(/[\\/]/g, "_")}.armor`, text, noFiles);
    expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const mod = await loadModule(emit(c).js);
    const meta = mod.policy as { rules: { reason: unknown }[] };
    expect(meta.rules.map((r) => r.reason)).toEqual([h, h]);
    const d = mod.decide({ action: { type: "t" } });
    expect(d.rules.map((r) => r.reason)).toEqual([h, h]);
    expect(d).toEqual(evaluatePolicy(c.policy, { action: { type: "t" } }).result);
  });

  it("a hostile action type, literal and group dispatch and match as written", async () => {
    const type = '"; }); globalThis.pwned = 1; ({ "';
    const text = `default deny\nrule r when action.type == ${armorString(type, "raw")} require approval from ${armorString("</script>\u2028", "raw")}\n`;
    const c = compileSource("p.armor", text, noFiles);
    expect(c.ok).toBe(true);
    const mod = await loadModule(emit(c).js);
    expect(mod.decide({ action: { type } })).toEqual({
      decision: "require_approval",
      rules: [{ id: "r", effect: "require_approval", reason: null }],
      approval: { from: "</script>\u2028", timeoutMs: null },
      action: { type },
      errors: [],
      labels: [],
    });
    expect(mod.decide({ action: { type: "x" } }).decision).toBe("deny");
    expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
  });

  it("no user text can close an inline <script> element around the emitted module", () => {
    // strings escape `<`; user text in comments (the file name, the version) must not carry it either
    const text = 'policy p version "</script><script>alert(1)</script><!--"\ndefault allow\nwhen body == "</script>" deny because "</script>"\n';
    const c = compileSource("</script>.armor", text, noFiles);
    expect(c.ok).toBe(true);
    const { js } = emit(c);
    expect(js).not.toMatch(/<\/script|<!--/i);
  });
});

// ---- escape.ts -----------------------------------------------------------------------------------------

const evaluate = (code: string): unknown => new Function(`"use strict"; return (${code});`)() as unknown;

describe("jsString", () => {
  const strings = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary-ascii" }), hostileString);

  it("evaluates to the same string, for any string", () => {
    fc.assert(
      fc.property(strings, (s) => {
        const code = jsString(s);
        expect(evaluate(code)).toBe(s);
        // and is inert in every place a string literal can appear
        expect(new Function(`return [${code}, {[${code}]: 1}[${code}], \`\${${code}}\`, ${code}.length];`)()).toEqual([s, 1, s, s.length]);
      }),
      { numRuns: 2000 },
    );
  });

  it("writes no line terminator, separator or `<` verbatim", () => {
    fc.assert(
      fc.property(strings, (s) => {
        expect(jsString(s)).not.toMatch(/[\n\r\u2028\u2029<]/);
      }),
      { numRuns: 1000 },
    );
  });

  it("keeps lone surrogates", () => {
    for (const s of ["\ud800", "\udfff", "a\udc00\ud800b", "\ud83d"]) {
      expect(evaluate(jsString(s))).toBe(s);
      expect(jsString(s)).toMatch(/^"[\x20-\x7e]*"$/);
    }
  });
});

describe("jsValue", () => {
  it("evaluates to a deep-equal value, for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(evaluate(jsValue(v))).toStrictEqual(v);
      }),
      { numRuns: 1000 },
    );
  });

  it("evaluates to a deep-equal value for objects with hostile keys and values", () => {
    const value = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        hostileString,
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("value"), { maxLength: 3 }),
        tie("object"),
      ),
      object: fc.dictionary(fc.oneof(hostileString, fc.constantFrom("__proto__", "constructor", "toString", "prototype")), tie("value"), { maxKeys: 4, noNullPrototype: true }),
    })).value;
    fc.assert(
      fc.property(value, (v) => {
        const back = evaluate(jsValue(v));
        // node's strict deep equality: same prototypes, same own keys, Object.is on numbers (vitest's
        // toStrictEqual misreads an own `constructor` field as the constructor)
        expect(isDeepStrictEqual(back, v), jsValue(v)).toBe(true);
        expect(jsValue(back)).toBe(jsValue(v));
      }),
      { numRuns: 1000 },
    );
  });

  it("makes a __proto__ key an own property, not the prototype", () => {
    const v = JSON.parse('{"__proto__": {"polluted": true}, "a": {"__proto__": [1]}}') as Record<string, unknown>;
    const back = evaluate(jsValue(v)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(["__proto__", "a"]);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ polluted: true });
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
    const inner = back.a as Record<string, unknown>;
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(inner, "__proto__")?.value).toEqual([1]);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("keeps -0 and large and small numbers exactly", () => {
    for (const n of [-0, 0, 1e21, -1e-7, 5e-324, Number.MAX_VALUE, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2]) expect(Object.is(evaluate(jsValue(n)), n)).toBe(true);
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => Object.is(evaluate(jsValue(n)), n)));
  });

  it("rejects what it cannot write as data", () => {
    for (const v of [NaN, Infinity, -Infinity, () => 1, Symbol("s"), 1n]) expect(() => jsValue(v)).toThrow();
    expect(() => jsValue([1, NaN])).toThrow();
    expect(() => jsValue({ a: Infinity })).toThrow();
  });
});

describe("jsComment", () => {
  it("cannot be ended early by any text, nor carry `<`", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), hostileString), (s) => {
        const line = jsComment(s);
        expect(line.startsWith("// ")).toBe(true);
        expect(line).not.toMatch(/[\n\r\u2028\u2029<]/);
        expect(new Function(`${line}\nreturn 42;`)()).toBe(42);
      }),
      { numRuns: 1000 },
    );
  });
});
