/**
 * Z3 (the `z3-solver` package: Z3 compiled to WebAssembly) behind one small interface: load a
 * script once, then ask for a solution under assumptions, each question bounded by a timeout.
 * The WebAssembly module is loaded on first use, so only the commands that analyse pay for it.
 */
import { readModelValue } from "./smt.js";

export type Answer = { readonly kind: "sat"; readonly values: ReadonlyMap<string, boolean | number | string> } | { readonly kind: "unsat" } | { readonly kind: "unknown"; readonly reason: string };

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

/** A solver holding `script`; each check gives up after `timeoutMs`. */
export async function openSession(script: string, timeoutMs: number): Promise<Session> {
  const ctx = await load();
  const solver = new ctx.Solver();
  solver.set("timeout", timeoutMs);
  solver.fromString(script);
  return {
    async check(anyOf) {
      solver.push();
      try {
        solver.add(ctx.Or(...anyOf.map((name) => ctx.Bool.const(name))));
        return await answer();
      } finally {
        solver.pop();
      }
    },
    close() {
      solver.release();
    },
  };

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
