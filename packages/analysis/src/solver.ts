/**
 * Z3 (the `z3-solver` package: Z3 compiled to WebAssembly) behind one small interface: load a
 * script once, then ask for a solution under assumptions, each question bounded by a timeout.
 * The WebAssembly module is loaded on first use, so only the commands that analyse pay for it.
 */
import { readModelValue } from "./smt.js";

/**
 * `sat` with `inexact` set: no solution with exact values, only one with the approximated values
 * (arithmetic rounded somewhere within its bounds); `inexact` says why the question is not proved,
 * and the solution is an example only if it reproduces.
 */
export type Answer =
  | { readonly kind: "sat"; readonly values: ReadonlyMap<string, boolean | number | string>; readonly inexact?: string }
  | { readonly kind: "unsat" }
  | { readonly kind: "unknown"; readonly reason: string };

/** What a script approximates (`Vocabulary.approximation()`): the flag of exact values, and why. */
export interface Approximation {
  readonly flag: string;
  readonly why: readonly string[];
}

/** Why a question the encoding approximates is not proved (an `inexact` answer's text). */
export function inexactReason(a: Approximation): string {
  return `proved only for ${a.why.join(" and ")}; with the values JavaScript computes it may happen`;
}

export interface Session {
  /** Whether the script's assertions and one of `anyOf` (Bool constants it declares) can all hold. */
  check(anyOf: readonly string[]): Promise<Answer>;
  /** Frees the solver's memory (Z3's WebAssembly heap is bounded and not collected with JavaScript's). */
  close(): void;
}

type Z3 = Awaited<ReturnType<typeof import("z3-solver").init>>;
type Z3Context = ReturnType<typeof makeContext>;
const makeContext = (api: Z3) => api.Context("main");
/** One context for the process: a context's memory is never given back, so each diff reuses it. */
let z3: Promise<Z3Context> | null = null;

async function load(): Promise<Z3Context> {
  z3 ??= import("z3-solver").then(async (m) => {
    const api = await m.init();
    // strings are sequences of UTF-16 code units, as in JavaScript: `bmp` makes a character one unit
    api.setParam("encoding", "bmp");
    return makeContext(api);
  });
  return z3;
}

/**
 * A solver holding `script`; each check gives up after `timeoutMs`. This is where every analysis
 * (diff.ts, properties.ts, rules.ts) learns whether a question is impossible: with `approx`, a
 * check first asks with exact values (solutions that tend to reproduce), and only an `unsat`
 * without them, where approximated values range over all they may be, is `unsat`.
 */
export async function openSession(script: string, timeoutMs: number, approx: Approximation | null = null): Promise<Session> {
  const ctx = await load();
  const solver = new ctx.Solver();
  solver.set("timeout", timeoutMs);
  solver.fromString(script);
  return {
    async check(anyOf) {
      if (approx !== null) {
        const exact = await ask(anyOf, true);
        if (exact.kind === "sat") return exact;
        const loose = await ask(anyOf, false);
        return loose.kind === "sat" ? { ...loose, inexact: inexactReason(approx) } : loose;
      }
      return ask(anyOf, false);
    },
    close() {
      solver.release();
    },
  };

  async function ask(anyOf: readonly string[], exact: boolean): Promise<Answer> {
    solver.push();
    try {
      solver.add(ctx.Or(...anyOf.map((name) => ctx.Bool.const(name))));
      if (exact && approx !== null) solver.add(ctx.Bool.const(approx.flag));
      return await answer();
    } finally {
      solver.pop();
    }
  }

  async function answer(): Promise<Answer> {
    const result = await solver.check();
    if (result === "unsat") return { kind: "unsat" };
    if (result === "unknown") return { kind: "unknown", reason: solver.reasonUnknown() };
    const model = solver.model();
    const values = new Map<string, boolean | number | string>();
    for (const decl of model.decls()) {
      if (decl.arity() !== 0) continue;
      // a constant's interpretation is an expression (functions have a FuncInterp, skipped above)
      // definitions (`define-fun`) are in the model too, as terms: only values are kept
      const v = readModelValue((model.get(decl) as unknown as { sexpr(): string }).sexpr());
      if (v !== undefined) values.set(String(decl.name()), v);
    }
    model.release();
    return { kind: "sat", values };
  }
}
