/**
 * `armorc diff` under hostile pairs of policies: solver questions too hard for their timeout,
 * regexes Z3's regex theory cannot express, field names and literals that are prototype keys or
 * need escaping, and arguments that are not what the command takes. What must hold: the command
 * stops at its documented timeout with a message saying so (never a hang), a construct that is not
 * encoded is named and its examples are labelled as found by the random search, every example
 * reproduces (the diff throws otherwise), and bad input is a usage error with exit code 2.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diffPolicies } from "../../packages/analysis/src/index.js";
import { compileSource } from "../../packages/compiler/src/compile.js";

const bin = join(import.meta.dirname, "../../packages/cli/bin/armorc.js");
const work = mkdtempSync(join(tmpdir(), "armor-diff-"));

function file(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

function armorc(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, "diff", ...args], { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t };
}

// a pair whose difference needs a 40-character string in two regexes with a counted repeat: hard
// enough that Z3 does not answer within 1 ms, and the random search cannot hit it
const HARD_OLD = "default allow\nrule r when command matches /^(a|b)*a(a|b){15}$/ and length(command) == 40 deny\n";
const HARD_NEW = "default allow\nrule r when command matches /^(a|b)*b(a|b){15}$/ and length(command) == 40 deny\n";

describe("armorc diff: solver limits", () => {
  it("stops at --timeout with a message naming it, and exits 2 when a change can be neither shown nor ruled out", () => {
    const r = armorc([file("hard-old.armor", HARD_OLD), file("hard-new.armor", HARD_NEW), "--timeout", "1"]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toContain("allow → deny: unknown: the solver gave up (timeout of 1 ms); a random search of 1000 inputs found no example");
    expect(r.stdout).toContain("not every kind of change could be ruled out");
  });
});

interface FallbackCase {
  readonly name: string;
  readonly old: string;
  readonly new: string;
  /** What the report names as not encoded. */
  readonly notEncoded: string;
  readonly kind: string;
}

const FALLBACKS: readonly FallbackCase[] = [
  {
    name: "a word boundary",
    old: 'default allow\nrule net when action.type == "shell" and command matches /\\bcurl\\b/ deny\n',
    new: 'default allow\nrule net when action.type == "shell" and command matches /\\b(curl|wget)\\b/ deny\n',
    notEncoded: "`matches` with an assertion",
    kind: "allow->deny",
  },
  {
    name: "a multiline anchor",
    old: 'default allow\nrule net when action.type == "shell" and command matches /^sudo/m deny\n',
    new: "default allow\n",
    notEncoded: "`matches` with an assertion",
    kind: "deny->allow",
  },
  {
    name: "a detector",
    old: "default allow\nrule card when body matches std.card_number deny\n",
    new: "default allow\n",
    notEncoded: "detector `std.card_number`",
    kind: "deny->allow",
  },
];

describe("armorc diff: regexes Z3 cannot express", () => {
  it.each(FALLBACKS)("$name: named as not encoded, the change found by the labelled search or the solver", async (c) => {
    const r = await diffPolicies(compileSource("old.armor", c.old), compileSource("new.armor", c.new));
    expect(r.notEncoded.map((n) => n.what).join("\n")).toContain(c.notEncoded);
    expect(r.notEncoded.every((n) => n.line > 0 && n.column > 0)).toBe(true);
    const f = r.findings.find((x) => x.kind.id === c.kind)!;
    // either a reproduced example (the diff checked it) or an honest "unknown", never "unchanged"
    expect(f.status).not.toBe("unchanged");
    if (f.status === "changed" && f.method === "search") expect(f.note).toMatch(/not encoded|gave up/);
  });

  it("labels an example from the search in the text report", () => {
    const c = FALLBACKS[0]!;
    const r = armorc([file("wb-old.armor", c.old), file("wb-new.armor", c.new)]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/allow → deny \(found by random search: .*\)/);
    expect(r.stdout).toContain("not encoded: ");
    expect(r.stdout).toMatch(/wget/);
  });
});

// fields and literals that are prototype keys, or text that needs escaping in SMT-LIB and JSON
const HOSTILE_NAMES: readonly { readonly name: string; readonly old: string; readonly new: string; readonly kind: string }[] = [
  { name: "a field named __proto__", old: "default allow\n", new: 'default allow\nrule p when __proto__ == "x" deny\n', kind: "allow->deny" },
  { name: "a field named constructor", old: 'default allow\nrule p when user.constructor == "Object" deny\n', new: "default allow\n", kind: "deny->allow" },
  { name: "quotes, backslashes and an emoji", old: "default allow\n", new: 'default allow\nrule p when recipient == "a\\"b\\\\c\\u{1F600}|" deny\n', kind: "allow->deny" },
  { name: "a line separator in a prefix", old: "default allow\n", new: 'default allow\nrule p when memo starts_with "x\\u2028y" deny\n', kind: "allow->deny" },
  { name: "a surrogate pair in a regex", old: "default allow\n", new: "default allow\nrule p when memo matches /^\\uD83D[\\uDE00-\\uDE4F]$/ deny\n", kind: "allow->deny" },
];

describe("armorc diff: names and literals that need care", () => {
  it.each(HOSTILE_NAMES)("$name: the example reproduces", async (c) => {
    const r = await diffPolicies(compileSource("old.armor", c.old), compileSource("new.armor", c.new));
    const f = r.findings.find((x) => x.kind.id === c.kind)!;
    expect(f.status).toBe("changed");
    // the example went through JSON, as `armorc eval` reads it
    expect(JSON.parse(JSON.stringify(f.example!.input))).toEqual(f.example!.input);
    expect(Object.getPrototypeOf(f.example!.input.action)).toBe(Object.prototype);
  });
});

const ARGUMENTS: readonly { readonly name: string; readonly args: (p: string) => string[]; readonly message: RegExp }[] = [
  { name: "one file", args: (p) => [p], message: /name two policy files/ },
  { name: "three files", args: (p) => [p, p, p], message: /name two policy files/ },
  { name: "an unknown format", args: (p) => [p, p, "--format", "xml"], message: /--format must be one of text, json, markdown/ },
  { name: "a zero timeout", args: (p) => [p, p, "--timeout", "0"], message: /--timeout must be a whole number of milliseconds/ },
  { name: "a timeout past ten minutes", args: (p) => [p, p, "--timeout", "1e9"], message: /--timeout must be a whole number of milliseconds/ },
  { name: "a timeout that is not a number", args: (p) => [p, p, "--timeout", "soon"], message: /--timeout must be a whole number of milliseconds/ },
  { name: "a missing file", args: (p) => [p, join(work, "missing.armor")], message: /missing\.armor/ },
  { name: "a policy with errors", args: (p) => [p, file("broken.armor", "default allow\nrule r when amount > deny\n")], message: /broken\.armor has errors/ },
  { name: "a schema that cannot be read", args: (p) => [p, p, "--schema", join(work, "missing.json")], message: /--schema: cannot read the schema/ },
  { name: "a schema that is not JSON", args: (p) => [p, p, "--schema", file("bad.json", "{ not json")], message: /--schema: .*is not valid JSON at line 1, column 3/ },
  { name: "a schema without action types", args: (p) => [p, p, "--schema", file("empty.json", "{}")], message: /--schema: .*names no action types/ },
];

describe("armorc diff: arguments", () => {
  it.each(ARGUMENTS)("refuses $name with exit code 2", ({ args, message }) => {
    const ok = file("ok.armor", "default allow\n");
    const r = armorc(args(ok));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

// values at the edges of what the encoding follows exactly: a proof must never rest on them
const EDGES: readonly { readonly name: string; readonly old: string; readonly new: string; readonly kind: string; readonly notEncoded?: string }[] = [
  {
    name: "objects compared with `==` nested deeper than the encoding follows",
    old: "default allow\n",
    new: "default allow\nrule r when a.b.c.d.e.f.g.h.i.j == 1 and a == z deny\n",
    kind: "allow->deny",
    notEncoded: "`==` of objects nested more than 8 levels deep",
  },
  {
    name: "a history predicate whose condition fails on an entry",
    old: 'default allow\nrule q when seen(type == "x" within 1d) and f == 1 and f == 2 deny\n',
    new: "default allow\nrule q when seen(amount > 1 within 1d) and f == 1 and f == 2 deny\n",
    kind: "allow->deny",
  },
  {
    name: "a string past the matcher's limit, which only `matches` fails on",
    old: 'default allow\nrule r when s starts_with "" and length(s) < 0 deny\n',
    new: "default allow\nrule r when s matches /^a*$/ and length(s) < 0 deny\n",
    kind: "allow->deny",
  },
];

describe("armorc diff: values at the edges of the encoding", () => {
  it.each(EDGES)(
    "$name: never proved unchanged",
    async (c) => {
      const r = await diffPolicies(compileSource("old.armor", c.old), compileSource("new.armor", c.new), { timeoutMs: 2_000, searchSamples: 100 });
      const f = r.findings.find((x) => x.kind.id === c.kind)!;
      if (c.notEncoded) expect(r.notEncoded.map((n) => n.what)).toContain(c.notEncoded);
      expect(f.status, JSON.stringify(f)).not.toBe("unchanged");
    },
    60_000,
  );
});
