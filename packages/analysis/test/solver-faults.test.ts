/**
 * A solver that breaks never hangs an analysis (solver.ts). Z3 runs in a worker thread; the test
 * seam (`injectSolverFault`, `ARMOR_ANALYSIS_FAULT` for a process) makes its checks crash with a
 * WebAssembly trap, never answer, spin, reject or exit. Each is a table case: the question is
 * `unknown` with the cause named (the diff's labelled search still runs), the next question gets
 * a new solver and the right answer, and `armorc diff` exits with its "could not decide" code
 * and says why, without hanging.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Compilation, compileSource } from "../../compiler/src/compile.js";
import { diffPolicies } from "../src/diff.js";
import { proveProperties } from "../src/properties.js";
import { analyseRules } from "../src/rules.js";
import { injectSolverFault, openSession, type SolverFault } from "../src/solver.js";

const noFiles = { readFile: (): undefined => undefined };
function compile(text: string, name = "p.armor"): Compilation {
  const c = compileSource(name, text, noFiles);
  if (!c.ok) throw new Error(c.diagnostics.map((d) => `${d.code} ${d.message}`).join("; "));
  return c;
}

// two versions that decide alike, written differently (so the diff asks the solver): "unchanged"
// only by proof, so a solver that fails leaves the diff "unknown"
const OLD = 'default allow\nrule big when action.type == "wire" and action.amount > 100 deny\n';
const SAME = 'default allow\nrule big when action.type == "wire" and 100 < action.amount deny\n';
// a version that changes something only a solver finds (the random search draws no such string)
const CHANGED = 'default allow\nrule big when action.type == "wire" and (action.amount > 100 or action.memo == "q7-zz-unlikely") deny\n';

interface Case {
  readonly fault: SolverFault["kind"];
  /** What the note names. */
  readonly cause: RegExp;
}

const CASES: readonly Case[] = [
  { fault: "crash", cause: /WebAssembly worker crashed: RuntimeError: memory access out of bounds/ },
  { fault: "hang", cause: /no answer within \d+ ms; its worker was stopped/ },
  { fault: "spin", cause: /no answer within \d+ ms; its worker was stopped/ },
  { fault: "reject", cause: /check failed: the check's promise rejected/ },
  { fault: "exit", cause: /WebAssembly worker exited \(code 3\)/ },
];

// Z3's own limit per question; a check that does not answer is stopped at 2 × this + 5 s
const TIMEOUT_MS = 500;

afterEach(() => injectSolverFault(null));

describe("a solver that breaks", () => {
  it.each(CASES)(
    "$fault: the diff is unknown, naming the cause, and the next diff gets a new solver",
    async ({ fault, cause }) => {
      injectSolverFault({ kind: fault, times: 1 });
      const r = await diffPolicies(compile(OLD, "old.armor"), compile(SAME, "new.armor"), { timeoutMs: TIMEOUT_MS, searchSamples: 50 });
      expect(r.status).toBe("unknown");
      for (const f of r.findings) {
        expect(f.status).toBe("unknown");
        expect(f.note).toMatch(cause);
        expect(f.note).toMatch(/a new solver answers the next question\); a random search of 50 inputs found no example/);
      }
      // the fault was for one check: a new worker answers, with the proof and with the example
      expect((await diffPolicies(compile(OLD, "old.armor"), compile(SAME, "new.armor"), { timeoutMs: 10_000 })).status).toBe("unchanged");
      const changed = await diffPolicies(compile(OLD, "old.armor"), compile(CHANGED, "new.armor"), { timeoutMs: 10_000 });
      expect(changed.findings.filter((f) => f.status === "changed").map((f) => [f.kind.id, f.method])).toEqual([["allow->deny", "solver"]]);
    },
    60_000,
  );

  it("a session outlives the solver it started on: its next check loads the script into the new one", async () => {
    const s = await openSession("(declare-const x Int)\n(declare-const a Bool)\n(declare-const b Bool)\n(assert (= a (> x 3)))\n(assert (= b (< x 0)))\n(assert (> x 2))", TIMEOUT_MS);
    try {
      injectSolverFault({ kind: "crash", times: 1 });
      expect(await s.check(["a"])).toMatchObject({ kind: "unknown", failed: true, reason: expect.stringMatching(/crashed/) });
      expect(await s.check(["a"])).toMatchObject({ kind: "sat" });
      expect(await s.check(["b"])).toEqual({ kind: "unsat" });
    } finally {
      s.close();
    }
  }, 60_000);

  it("the rule analysis and the property prover say why, and fall back to the search", async () => {
    injectSolverFault({ kind: "crash" });
    const c = compile(`${OLD}property p: never allow when action.type == "wire" and action.amount > 1000\n`);
    const [rule] = await analyseRules(c, { timeoutMs: TIMEOUT_MS, searchSamples: 50 });
    // the search finds an input on which the rule fires, labelled with why the solver did not
    expect(rule!.neverFires).toMatchObject({ status: "example", method: "search", why: expect.stringMatching(/WebAssembly worker crashed/) });
    const [property] = await proveProperties(c, { timeoutMs: TIMEOUT_MS, searchSamples: 50 });
    expect(property!.status).not.toBe("holds");
    expect(property!.note).toMatch(/WebAssembly worker crashed/);
  }, 60_000);
});

describe("armorc diff with a solver that breaks", () => {
  const dir = mkdtempSync(join(tmpdir(), "armor-solver-faults-"));
  const a = join(dir, "old.armor");
  const b = join(dir, "new.armor");
  writeFileSync(a, OLD);
  writeFileSync(b, SAME);
  const armorc = join(import.meta.dirname, "../../cli/bin/armorc.js");

  it.each(CASES)(
    "$fault: exits 2, could not decide, saying why",
    ({ fault, cause }) => {
      const r = spawnSync(process.execPath, [armorc, "diff", a, b, "--timeout", String(TIMEOUT_MS)], {
        encoding: "utf8",
        env: { ...process.env, ARMOR_ANALYSIS_FAULT: fault, NO_COLOR: "1" },
        // a hang fails the case here instead of stopping the suite
        timeout: 45_000,
      });
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(2);
      expect(r.stdout).toMatch(/unknown: no change found, but not every kind of change could be ruled out/);
      expect(r.stdout).toMatch(cause);
    },
    60_000,
  );

  it("a diff that asks the solver nothing exits too (Z3 was loading in its worker meanwhile)", () => {
    const r = spawnSync(process.execPath, [armorc, "diff", a, a], { encoding: "utf8", env: { ...process.env, ARMOR_ANALYSIS_FAULT: "" }, timeout: 45_000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
  }, 60_000);

  it("without a fault, the same pair is proved unchanged", () => {
    const r = spawnSync(process.execPath, [armorc, "diff", a, b], { encoding: "utf8", env: { ...process.env, ARMOR_ANALYSIS_FAULT: "" }, timeout: 45_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no behaviour change \(proved\)/);
  }, 60_000);
});
