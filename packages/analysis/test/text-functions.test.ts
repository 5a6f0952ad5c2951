/**
 * The encodings of `lower`, `upper` and `host` (src/text-functions.ts): the solver's answers
 * against the language's own functions (semantics.ts, which the interpreter and compiled modules
 * share), then diffs that now prove or find what the bounded search used to sample.
 */
import { describe, expect, it } from "vitest";
import { type Compilation, compileSource } from "../../compiler/src/compile.js";
import { changeCase, host } from "../../compiler/src/semantics.js";
import { diffPolicies } from "../src/diff.js";
import * as smt from "../src/smt.js";
import { openSession } from "../src/solver.js";
import { AFTER_HOST, asciiCaseMap, BEFORE_HOST, casePreimage, HOST_REGEX, isSimpleHost } from "../src/text-functions.js";

/** Whether Z3 finds `body` (a Bool term over the declarations) satisfiable. */
async function satisfiable(declarations: string, body: string): Promise<string> {
  const session = await openSession(`${declarations}\n(declare-const q Bool)\n(assert (= q ${body}))`, 10_000);
  try {
    return (await session.check(["q"])).kind;
  } finally {
    session.close();
  }
}

describe("lower and upper on ASCII text", () => {
  const cases: [name: "lower" | "upper", input: string, literal: string][] = [
    ["lower", "ADMIN", "admin"],
    ["lower", "AdMiN", "admin"],
    ["lower", "admin", "admin"],
    ["lower", "ADMIN", "ADMIN"],
    ["lower", "x-1_@Z", "x-1_@z"],
    ["lower", "", ""],
    ["lower", "abc", "ab"],
    ["upper", "admin", "ADMIN"],
    ["upper", "Root[]", "ROOT[]"],
    ["upper", "root", "root"],
    ["upper", "{}~`", "{}~`"],
  ];
  it.each(cases)("%s(%j) == %j: the preimage regex says what JavaScript says", async (name, input, literal) => {
    const expected = changeCase(name, input) === literal ? "sat" : "unsat";
    expect(await satisfiable("", `(str.in_re ${smt.str(input)} ${casePreimage(name, literal)})`)).toBe(expected);
  });
  it.each(cases)("%s(%j) by seq.map is JavaScript's", async (name, input) => {
    expect(await satisfiable("", smt.eq(asciiCaseMap(name, smt.str(input)), smt.str(changeCase(name, input) as string)))).toBe("sat");
    expect(await satisfiable("", smt.not(smt.eq(asciiCaseMap(name, smt.str(input)), smt.str(changeCase(name, input) as string))))).toBe("unsat");
  });
});

/** URLs of the shape the encoding takes apart, and others around it. */
const URLS = ["http://evil.com", "https://evil.com/", "http://evil.com./path?q#f", "http://u@evil.com:8080/x", "http://@a.b", "http://a-b_c.d9.example?x", "http://xn-a.com", "http://1.2.3.com"];

describe("host of simple URLs", () => {
  const declarations = "(declare-const b String)\n(declare-const h String)\n(declare-const a String)";
  const parts = (url: string): string => `(and (= ${smt.str(url)} (str.++ b h a)) (str.in_re b ${BEFORE_HOST}) (str.in_re h ${HOST_REGEX}) (str.in_re a ${AFTER_HOST}))`;
  it.each(URLS)("%s is taken apart, and only into the host the URL parser reads", { timeout: 60_000 }, async (url) => {
    const expected = host(url);
    expect(expected).not.toBeNull();
    expect(await satisfiable(declarations, smt.and(parts(url), smt.eq("h", smt.str(expected as string))))).toBe("sat");
    // never another host (the solver may run out of time proving it on a loaded machine: then it says unknown)
    expect(await satisfiable(declarations, smt.and(parts(url), smt.not(smt.eq("h", smt.str(expected as string)))))).not.toBe("sat");
  });
  // URLs whose host the parser reads otherwise (or refuses) must not be of the shape: their host is left free
  const refused = [
    "http://1.2.3",
    "http://a.0x1",
    "http://xn--abc.com",
    "http://EVIL.com",
    "http://evil.com:99999",
    "http://evil.com\\x",
    "foo://host/",
    "http:evil.com",
    " http://evil.com",
    "http://a.b@c.d",
    "http://évil.com",
  ];
  it.each(refused)("%s is not of the shape", async (url) => {
    expect(await satisfiable(declarations, parts(url))).not.toBe("sat");
  });
});

describe("the host names the encoding offers whole (isSimpleHost)", () => {
  // isSimpleHost stands for HOST_REGEX: the encoding takes a name it accepts as a URL's host
  // without asking the regex, so the two must agree, and such a host must be what the parser reads
  const names = [
    "evil.com",
    "api.marketdata.example",
    "a",
    "a-b_c.d9.example",
    "xn-a.com",
    "x.xn-",
    "1.2.3.com",
    "xn--abc.com",
    "a.xn--b",
    "1.2.3",
    "a.0x1",
    "a.9z",
    "EVIL.com",
    "évil.com",
    "",
    ".a",
    "a.",
    "a..b",
    "a b",
    "a/b",
    "a:1",
    "get_quote",
    "@desk.example.com",
  ];
  it.each(names)("%j: isSimpleHost agrees with HOST_REGEX, and the URL parser reads it back", async (name) => {
    const simple = isSimpleHost(name);
    expect(await satisfiable("", `(str.in_re ${smt.str(name)} ${HOST_REGEX})`)).toBe(simple ? "sat" : "unsat");
    if (simple) expect(host(`https://${name}/`)).toBe(name);
  });
});

const noFiles = { readFile: (): undefined => undefined };
function compile(name: string, text: string): Compilation {
  const c = compileSource(name, `default allow\n${text}\n`, noFiles);
  if (!c.ok) throw new Error(`${name} does not compile: ${c.diagnostics.map((d) => d.message).join("; ")}`);
  return c;
}

interface DiffCase {
  readonly old: string;
  readonly new: string;
  /** Kinds the diff must show with an example. */
  readonly changed: readonly string[];
  /** Kinds it must prove impossible. */
  readonly unchanged: readonly string[];
}

const diffs: DiffCase[] = [
  // before, `lower` was opaque: the same term in both, so its meaning could not make a change
  { old: 'rule r when lower(action.name) == "admin" deny', new: 'rule r when action.name == "admin" deny', changed: ["deny->allow"], unchanged: ["allow->deny"] },
  { old: 'rule r when upper(action.name) == "ROOT" deny', new: 'rule r when lower(action.name) == "root" deny', changed: [], unchanged: [] },
  // on text with other characters `lower` is free: that "drop" in the text makes its lower case contain it is not proved
  { old: 'rule r when lower(action.name) contains "drop" deny', new: 'rule r when action.name contains "drop" deny', changed: ["deny->allow"], unchanged: [] },
  { old: 'rule r when lower(action.name) == "Admin" deny', new: "rule r when action.x > 1 deny", changed: ["allow->deny"], unchanged: [] },
  { old: 'rule r when host(action.url) == "evil.com" deny', new: 'rule r when host(action.url) in ["evil.com", "bad.org"] deny', changed: ["allow->deny"], unchanged: ["deny->allow"] },
  { old: 'rule r when host(action.url) == "evil.com" deny', new: 'rule r when action.url contains "evil.com" deny', changed: ["allow->deny", "deny->allow"], unchanged: [] },
  { old: "rule r when host(action.url) == null deny", new: 'rule r when action.url contains ":" allow', changed: ["deny->allow"], unchanged: [] },
  // the names a policy compares hosts with are offered whole: a URL on an approved host is found at once
  {
    old: 'rule r when host(action.url) not in ["api.vendor.example", "quotes.example.com"] deny\nrule s when action.n > 5 deny',
    new: 'rule r when host(action.url) not in ["api.vendor.example", "quotes.example.com"] deny',
    changed: ["deny->allow"],
    unchanged: ["allow->deny"],
  },
];

// the exact-values try has a fifth of a question's limit: on a loaded machine a shorter limit cuts
// it, and the answer falls back to the search, which these cases must not need
const DIFF_TIMEOUT_MS = 60_000;

describe("diffs over lower, upper and host", () => {
  it.each(diffs)(
    "$old → $new",
    async (c) => {
      const r = await diffPolicies(compile("old.armor", c.old), compile("new.armor", c.new), { timeoutMs: DIFF_TIMEOUT_MS, searchSamples: 200 });
      const status = (id: string) => r.findings.find((f) => f.kind.id === id)!;
      for (const id of c.changed) {
        expect(status(id).status, `${id}: ${status(id).note}`).toBe("changed");
        expect(status(id).method).toBe("solver");
      }
      for (const id of c.unchanged) expect(status(id).status, `${id}: ${status(id).note}`).toBe("unchanged");
      // nothing is left opaque: what is approximated is said in the notes of unproved kinds, never hidden
      expect(r.notEncoded).toEqual([]);
      for (const f of r.findings) if (f.status === "unknown") expect(f.note).toMatch(/lower|upper|host|search/);
    },
    300_000,
  );
});

describe("what holds of every case mapping", () => {
  it("no code point's lower case has an ASCII upper-case letter, nor its upper case an ASCII lower-case one (caseExcluded)", () => {
    const found: string[] = [];
    for (let c = 0; c <= 0x10ffff; c++) {
      const s = String.fromCodePoint(c);
      if (/[A-Z]/.test(s.toLowerCase()) || /[a-z]/.test(s.toUpperCase())) found.push(c.toString(16));
    }
    expect(found).toEqual([]);
  });
});
