/**
 * The analysis's encodings of `lower`, `upper` and `host` (packages/analysis/src/text-functions.ts)
 * under hostile inputs: malformed and tricky URLs, case mappings outside ASCII, huge literal lists
 * and solver timeouts. What must hold in every case: a kind of change that some input makes (decided
 * by the interpreter) is never reported as proved impossible; what the solver did not settle is
 * labelled (a note saying why, or an example marked as the search's); and the diff returns.
 */
import { describe, expect, it } from "vitest";
import { type DiffResult, diffPolicies } from "../../packages/analysis/src/index.js";
import { type Compilation, compileSource } from "../../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../../packages/compiler/src/interpreter.js";

const noFiles = { readFile: (): undefined => undefined };
function compile(name: string, text: string): Compilation {
  const c = compileSource(name, `default allow\n${text}\n`, noFiles);
  if (!c.ok) throw new Error(`${name}: ${c.diagnostics.map((d) => d.message).join("; ")}`);
  return c;
}

function kindOf(a: Compilation, b: Compilation, input: unknown): string | null {
  const x = evaluatePolicy(a.policy, input).result;
  const y = evaluatePolicy(b.policy, input).result;
  if (x.decision !== y.decision) return `${x.decision}->${y.decision}`;
  const rx = x.rules.some((r) => r.effect === "redact");
  const ry = y.rules.some((r) => r.effect === "redact");
  return rx === ry ? null : ry ? "redaction-added" : "redaction-removed";
}

/** Every kind some input makes is not proved impossible, and every unknown says why. */
function expectSound(r: DiffResult, a: Compilation, b: Compilation, inputs: readonly unknown[]): void {
  for (const input of inputs) {
    const kind = kindOf(a, b, input);
    if (kind === null) continue;
    const f = r.findings.find((x) => x.kind.id === kind)!;
    expect(f.status, `${kind} on ${JSON.stringify(input)}`).not.toBe("unchanged");
  }
  for (const f of r.findings) {
    if (f.status === "unknown") expect(f.note ?? "").not.toBe("");
    if (f.status === "changed" && f.method === "search") expect(f.note ?? "").not.toBe("");
  }
  if (r.findings.some((f) => f.status !== "unchanged")) expect(r.status).not.toBe("unchanged");
}

const action = (fields: Record<string, unknown>) => ({ action: { type: "fetch", ...fields } });

interface Case {
  readonly name: string;
  readonly old: string;
  readonly new: string;
  readonly inputs: readonly unknown[];
  readonly timeoutMs?: number;
}

const URLS = [
  "http://evil.com\\@good.com",
  "http://evil%2Ecom/",
  "HTTP://EVIL.COM",
  "http://0x7f.1/",
  "http://evil.com.",
  "http://evil.com..",
  "http://[::1]/",
  "http://xn--evil-.com",
  "http://ｅｖｉｌ.com",
  "http://evil.com:65536",
  "\thttp://evil.com",
  "http://u:p@evil.com@good.com",
  "javascript:alert(1)",
  "evil.com",
  "",
  "http://",
  `http://${"a.".repeat(5000)}com`,
];

const CASES = ["\u212Aelvin", "KELVIN", "\u0130stanbul", "istanbul", "stra\u00DFe", "STRASSE", "\u03A3\u0391\u03A3", "\ud800", "ADMIN\u0000", "adm\u0131n", "ADMİN"];

const cases: Case[] = [
  {
    name: "host of malformed URLs against a prefix test",
    old: 'rule r when host(action.url) == "evil.com" deny',
    new: 'rule r when action.url starts_with "http://evil.com" deny',
    inputs: URLS.map((url) => action({ url })),
  },
  {
    name: "host against a list of hosts, URLs the parser rewrites",
    old: 'rule r when host(action.url) in ["evil.com", "127.0.0.1", "[::1]"] deny',
    new: 'rule r when host(action.url) ends_with "evil.com" deny',
    inputs: URLS.map((url) => action({ url })),
  },
  {
    name: "lower outside ASCII: the Kelvin sign, dotted I, sharp s, final sigma",
    old: 'rule r when lower(action.name) in ["kelvin", "istanbul", "strasse"] deny',
    new: 'rule r when action.name in ["kelvin", "KELVIN", "istanbul", "ISTANBUL", "strasse", "STRASSE"] deny',
    inputs: CASES.map((name) => action({ name })),
  },
  {
    name: "upper outside ASCII",
    old: 'rule r when upper(action.name) == "STRASSE" deny',
    new: 'rule r when upper(action.name) starts_with "STRA" deny',
    inputs: CASES.map((name) => action({ name })),
  },
  {
    name: "a huge literal list through lower",
    old: `rule r when lower(action.name) in [${Array.from({ length: 1500 }, (_, i) => `"user${i}"`).join(", ")}] deny`,
    new: `rule r when lower(action.name) in [${Array.from({ length: 1500 }, (_, i) => `"user${i + 1}"`).join(", ")}] deny`,
    inputs: ["user0", "USER0", "user1500", "User750", "x"].map((name) => action({ name })),
  },
  {
    name: "a timeout of 1 ms on every question",
    old: 'rule r when host(action.url) == "evil.com" or lower(action.name) == "root" deny',
    new: 'rule r when host(action.url) == "evil.com" deny',
    inputs: [action({ name: "ROOT" }), action({ name: "root", url: "http://evil.com" })],
    timeoutMs: 1,
  },
];

describe("hostile inputs to the encodings of lower, upper and host", () => {
  it.each(cases)(
    "$name",
    async (k) => {
      const a = compile("old.armor", k.old);
      const b = compile("new.armor", k.new);
      const r = await diffPolicies(a, b, { timeoutMs: k.timeoutMs ?? 10_000, searchSamples: 200 });
      expectSound(r, a, b, k.inputs);
      if (k.timeoutMs === 1) for (const f of r.findings) if (f.status === "unknown") expect(f.note).toMatch(/timeout of 1 ms|gave up/);
    },
    240_000,
  );
});
