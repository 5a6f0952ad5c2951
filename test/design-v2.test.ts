/**
 * The examples of the second design step (`../shared/design/language-v2.md`) compile as they are
 * written and behave as their comments and reasons say: sections 3 to 6 through `decide`, and
 * sections 1 and 2 (stages, labels) through the decision function of each rule's stage. The one
 * example of section 3 that reads an earlier action's `result` belongs to a later step;
 * docs/language.md ("Differences from the design") says so, and this test holds that the example
 * is refused with a diagnostic rather than misread.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { repoRoot } from "./support/baseline.js";

const designFile = join(repoRoot, "..", "shared", "design", "language-v2.md");

interface DesignBlock {
  readonly section: number;
  readonly line: number;
  readonly text: string;
}

/** The ```armor blocks of the design, with the number of the section they are in. */
function designBlocks(markdown: string): DesignBlock[] {
  const out: DesignBlock[] = [];
  let section = 0;
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (\d+)\./.exec(lines[i]!);
    if (heading) section = Number(heading[1]);
    if (lines[i] !== "```armor") continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1] !== "```") i++;
    out.push({ section, line: start, text: lines.slice(start, i + 1).join("\n") });
    i++;
  }
  return out;
}

const at = "2026-01-05T12:00:00Z";
const ago = (hours: number): string => new Date(Date.parse(at) - hours * 3_600_000).toISOString();
const entry = (action: Record<string, unknown>, hoursAgo: number) => ({ action, time: ago(hoursAgo) });

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly input: Record<string, unknown>;
  /** Whether the rule fires. */
  readonly fires: boolean;
}

/** For each rule of sections 3 to 6, inputs on which it must fire and must not, as its comment or reason says. */
const cases: readonly Case[] = [
  // §3: "no approval for this ticker today"
  {
    name: "a sale of a ticker approved today",
    rule: "sell_only_what_was_approved",
    input: { action: { type: "sell_stock", ticker: "ACME" }, history: [entry({ type: "approve_sale", ticker: "ACME" }, 3)] },
    fires: false,
  },
  {
    name: "a sale of a ticker approved for another ticker",
    rule: "sell_only_what_was_approved",
    input: { action: { type: "sell_stock", ticker: "ACME" }, history: [entry({ type: "approve_sale", ticker: "GLOBX" }, 3)] },
    fires: true,
  },
  {
    name: "a sale approved two days ago",
    rule: "sell_only_what_was_approved",
    input: { action: { type: "sell_stock", ticker: "ACME" }, history: [entry({ type: "approve_sale", ticker: "ACME" }, 48)] },
    fires: true,
  },
  // §4: "more than 50k wired in 24 hours" (this one included)
  {
    name: "45k wired, 5k more",
    rule: "daily_wire_budget",
    input: { action: { type: "wire_transfer", amount: 5_000 }, history: [entry({ type: "wire_transfer", amount: 45_000 }, 2)] },
    fires: false,
  },
  {
    name: "45k wired, 6k more",
    rule: "daily_wire_budget",
    input: { action: { type: "wire_transfer", amount: 6_000 }, history: [entry({ type: "wire_transfer", amount: 45_000 }, 2)] },
    fires: true,
  },
  {
    name: "45k wired yesterday, 6k more",
    rule: "daily_wire_budget",
    input: { action: { type: "wire_transfer", amount: 6_000 }, history: [entry({ type: "wire_transfer", amount: 45_000 }, 25)] },
    fires: false,
  },
  // §4: "at most 200 tool calls per session"
  {
    name: "the 200th call",
    rule: "tool_call_budget",
    input: { action: { type: "get_quote" }, history: Array.from({ length: 199 }, (_, i) => entry({ type: "get_quote" }, 100 + i)) },
    fires: false,
  },
  {
    name: "the 201st call, the first a week ago",
    rule: "tool_call_budget",
    input: { action: { type: "get_quote" }, history: Array.from({ length: 200 }, (_, i) => entry({ type: "get_quote" }, i)) },
    fires: true,
  },
  // §4: "log in first"
  {
    name: "a read without a login",
    rule: "read_needs_a_live_login",
    input: { action: { type: "read_record" }, history: [] },
    fires: true,
  },
  {
    name: "a read after a login",
    rule: "read_needs_a_live_login",
    input: { action: { type: "read_record" }, history: [entry({ type: "login" }, 1)] },
    fires: false,
  },
  {
    name: "a read after login, logout",
    rule: "read_needs_a_live_login",
    input: { action: { type: "read_record" }, history: [entry({ type: "login" }, 2), entry({ type: "logout" }, 1)] },
    fires: true,
  },
  {
    name: "a read after login, logout, login",
    rule: "read_needs_a_live_login",
    input: { action: { type: "read_record" }, history: [entry({ type: "login" }, 3), entry({ type: "logout" }, 2), entry({ type: "login" }, 1)] },
    fires: false,
  },
  // §5
  {
    name: "mail to two internal recipients",
    rule: "internal_recipients_only",
    input: { action: { type: "send_email", recipients: ["a@example.com", "b@example.com"] } },
    fires: false,
  },
  {
    name: "mail with one outside recipient",
    rule: "internal_recipients_only",
    input: { action: { type: "send_email", recipients: ["a@example.com", "x@evil.example"] } },
    fires: true,
  },
  {
    name: "an AWS key deep in the arguments",
    rule: "no_keys_anywhere",
    input: { action: { type: "http_post", url: "https://api.example.com/x", body: { items: [{ note: "key AKIAIOSFODNN7EXAMPLE" }] } } },
    fires: true,
  },
  {
    name: "no key in the arguments",
    rule: "no_keys_anywhere",
    input: { action: { type: "http_post", url: "https://api.example.com/x", body: { items: [{ note: "AKIA is a prefix" }] } } },
    fires: false,
  },
  {
    name: "a valid IBAN",
    rule: "pay_only_valid_ibans",
    input: { action: { type: "wire_transfer", amount: 1, iban: "DE89 3704 0044 0532 0130 00" } },
    fires: false,
  },
  {
    name: "an IBAN with a wrong check digit",
    rule: "pay_only_valid_ibans",
    input: { action: { type: "wire_transfer", amount: 1, iban: "DE89 3704 0044 0532 0130 01" } },
    fires: true,
  },
  {
    name: "a post to a known host",
    rule: "uploads_to_known_hosts",
    input: { action: { type: "http_post", url: "https://uploads.example.com/v1/files" } },
    fires: false,
  },
  {
    name: "a post to a known host's look-alike",
    rule: "uploads_to_known_hosts",
    input: { action: { type: "http_post", url: "https://uploads.example.com.evil.example/v1/files" } },
    fires: true,
  },
  {
    name: "an edit inside src",
    rule: "edits_inside_src",
    input: { action: { type: "write_file", path: "src/lib/a.ts" } },
    fires: false,
  },
  {
    name: "an edit outside src",
    rule: "edits_inside_src",
    input: { action: { type: "write_file", path: "package.json" } },
    fires: true,
  },
];

/** Rules of the design that read what a later step adds (`result`), with the diagnostic they get now. */
const laterStep: Readonly<Record<string, string>> = { reply_only_to_senders: "result" };

describe("the examples of language-v2.md, sections 3 to 6", () => {
  // the design lives beside the repository (../shared), as CI checks it out
  if (!existsSync(designFile)) throw new Error(`${designFile} is missing: the design examples cannot be checked`);
  const blocks = designBlocks(readFileSync(designFile, "utf8")).filter((b) => b.section >= 3 && b.section <= 6);

  it("are all found", () => {
    expect(blocks.map((b) => b.section)).toEqual([3, 4, 5]);
  });

  /** Every rule of the blocks, as its own policy (its block's other rules left out), by name. */
  const rules = new Map<string, { block: DesignBlock; text: string }>();
  for (const block of blocks) {
    for (const text of block.text.split(/\n(?=rule )/)) {
      const name = /^rule (\w+)/.exec(text)?.[1];
      if (name) rules.set(name, { block, text });
    }
  }

  it.each([...rules.keys()])("%s compiles as written (or says which step it waits for)", (name) => {
    const { text } = rules.get(name)!;
    const c = compileSource(`${name}.armor`, `default allow\n${text}\n`);
    const errors = c.diagnostics.filter((d) => d.severity === "error");
    if (laterStep[name]) {
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.map((d) => d.message).join("\n")).toContain(laterStep[name]);
    } else expect(errors.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  });

  it("has a case for every rule that compiles, both ways", () => {
    const covered = (fires: boolean) => new Set(cases.filter((c) => c.fires === fires).map((c) => c.rule));
    const compiled = [...rules.keys()].filter((n) => !laterStep[n]).sort();
    expect([...covered(true)].sort()).toEqual(compiled);
    expect([...covered(false)].sort()).toEqual(compiled);
  });

  it.each(cases.map((c) => [c.rule, c.name, c] as const))("%s: %s", async (rule, _name, c) => {
    const source = rules.get(rule);
    expect(source).toBeDefined();
    const compilation = compileSource(`${rule}.armor`, `default allow\n${source!.text}\n`);
    expect(compilation.ok).toBe(true);
    const input = { time: at, ...c.input };
    const module = await loadModule(emit(compilation).js);
    const compiled = module.decide(input);
    expect(compiled).toEqual(evaluatePolicy(compilation.policy, input).result);
    expect(compiled.errors).toEqual([]);
    expect(compiled.rules.map((r) => r.id)).toEqual(c.fires ? [rule] : []);
  });
});

/** For each rule of sections 1 and 2 (stages, labels), the stage it decides and inputs on which it must fire and must not. */
const stageCases: readonly (Case & { readonly stage: "call" | "result" | "output"; readonly expect?: Record<string, unknown> })[] = [
  // §1: card numbers are redacted from what lookup_customer returns
  {
    name: "a customer record with a card number",
    rule: "card_numbers_stay_out_of_the_model",
    stage: "result",
    input: { action: { type: "lookup_customer", id: "c1" }, result: { name: "Ada", notes: "paid with 4111 1111 1111 1111" } },
    fires: true,
    expect: { decision: "allow", result: { name: "Ada", notes: "paid with [CARD]" } },
  },
  {
    name: "another tool's result with a card number",
    rule: "card_numbers_stay_out_of_the_model",
    stage: "result",
    input: { action: { type: "read_file", path: "a" }, result: { notes: "4111 1111 1111 1111" } },
    fires: false,
    expect: { decision: "allow", result: { notes: "4111 1111 1111 1111" } },
  },
  // §1: "a tool returned a credential"
  {
    name: "a file holding an AWS key",
    rule: "no_credentials_to_the_model",
    stage: "result",
    input: { action: { type: "read_file", path: ".env" }, result: { content: "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE" } },
    fires: true,
    expect: { decision: "deny" },
  },
  {
    name: "a file without credentials",
    rule: "no_credentials_to_the_model",
    stage: "result",
    input: { action: { type: "read_file", path: "README" }, result: { content: "hello" } },
    fires: false,
    expect: { decision: "allow" },
  },
  // §1: "the assistant may not promise refunds"
  { name: "a promise of a refund", rule: "no_promises_of_refunds", stage: "output", input: { output: { text: "We guarantee a refund within 30 days." } }, fires: true, expect: { decision: "deny" } },
  {
    name: "a message about refunds that promises nothing",
    rule: "no_promises_of_refunds",
    stage: "output",
    input: { output: { text: "Refunds are decided case by case." } },
    fires: false,
    expect: { decision: "allow" },
  },
  // §2: what came from the open web is untrusted, and mail after it needs security's approval
  {
    name: "a web page fetched",
    rule: "web_content_is_untrusted",
    stage: "result",
    input: { action: { type: "fetch_url", url: "https://example.com" }, result: "<html>" },
    fires: true,
    expect: { decision: "allow", labels: ["untrusted"] },
  },
  {
    name: "a file read",
    rule: "web_content_is_untrusted",
    stage: "result",
    input: { action: { type: "read_file", path: "a" }, result: "text" },
    fires: false,
    expect: { decision: "allow", labels: [] },
  },
  {
    name: "mail after untrusted input",
    rule: "no_mail_after_untrusted_input",
    stage: "call",
    input: { action: { type: "send_email", to: "a@example.com" }, session: { labels: ["untrusted"] } },
    fires: true,
    expect: { decision: "require_approval", approval: { from: "security", timeoutMs: null } },
  },
  {
    name: "mail in a clean session",
    rule: "no_mail_after_untrusted_input",
    stage: "call",
    input: { action: { type: "send_email", to: "a@example.com" }, session: { labels: [] } },
    fires: false,
    expect: { decision: "allow" },
  },
];

const stageFunctions = { call: "decide", result: "decideResult", output: "decideOutput" } as const;

describe("the examples of language-v2.md, sections 1 and 2 (stages and labels)", () => {
  const blocks = designBlocks(readFileSync(designFile, "utf8")).filter((b) => b.section === 1 || b.section === 2);

  it("are all found", () => {
    expect(blocks.map((b) => b.section)).toEqual([1, 2]);
  });

  const rules = new Map<string, string>();
  for (const block of blocks) {
    for (const text of block.text.split(/\n(?=rule )/)) {
      const name = /^rule (\w+)/.exec(text)?.[1];
      if (name) rules.set(name, text);
    }
  }

  it("compile as written, each block as one policy", () => {
    for (const block of blocks) {
      const c = compileSource("design.armor", `default allow\n${block.text}\n`);
      expect(c.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`)).toEqual([]);
    }
  });

  it("has a case for every rule, both ways", () => {
    const covered = (fires: boolean) => new Set(stageCases.filter((c) => c.fires === fires).map((c) => c.rule));
    expect([...covered(true)].sort()).toEqual([...rules.keys()].sort());
    expect([...covered(false)].sort()).toEqual([...rules.keys()].sort());
  });

  it.each(stageCases.map((c) => [c.rule, c.name, c] as const))("%s: %s", async (rule, _name, c) => {
    const compilation = compileSource(`${rule}.armor`, `default allow\n${rules.get(rule)}\n`);
    expect(compilation.ok).toBe(true);
    const input = { time: at, ...c.input };
    const module = await loadModule(emit(compilation).js);
    const compiled = module[stageFunctions[c.stage]]!(input);
    expect(compiled).toEqual(evaluatePolicy(compilation.policy, input, { stage: c.stage }).result);
    expect(compiled.errors).toEqual([]);
    expect(compiled.rules.map((r) => r.id)).toEqual(c.fires ? [rule] : []);
    if (c.expect) expect(compiled).toMatchObject(c.expect);
  });
});
