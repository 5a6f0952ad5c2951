/**
 * Runs the store's scripts (scripts.ts) in Redis: on Redis 7 (and Valkey) as a function library,
 * loaded once (`FUNCTION LOAD REPLACE`) and called with `FCALL`, which saves Redis defining the
 * scripts' shared Lua functions again on every call and the client the EVALSHA/NOSCRIPT wrapping;
 * on an older Redis (no FCALL), with EVALSHA as before (ioredis's `defineCommand`, which loads a
 * script with EVAL when Redis answers NOSCRIPT).
 *
 * The library's name carries a digest of its code (`armor_<12 hex>`): processes of different
 * versions of the store on one Redis each call the library of their own code, and loading one
 * never replaces another's. A Redis that lost its functions (restarted without persistence,
 * FUNCTION FLUSH) answers "Function not found": the library is loaded again and the call made
 * again (nothing ran), so a decision is still one round trip once the library is there.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { functionLibrary, SCRIPTS, type ScriptName } from "./scripts.js";

export type Arg = string | number;

export interface ScriptRunner {
  /** Runs script `name` with `keys` and then `args`: one round trip once the library is loaded. */
  run(name: ScriptName, keys: readonly Arg[], args: readonly Arg[]): Promise<unknown>;
  /** "function" (FCALL), "eval" (EVALSHA: Redis before 7), or null until the first call says which. */
  readonly mode: "function" | "eval" | null;
}

type Evals = Redis & Record<string, (...args: Arg[]) => Promise<unknown>>;

const LIBRARY = (() => {
  const probe = functionLibrary("armor_x");
  const digest = createHash("sha256").update(probe.code).digest("hex").slice(0, 12);
  return functionLibrary(`armor_${digest}`);
})();

/** The library's name (for tests and operators: `FUNCTION LIST LIBRARYNAME armor_`). */
export const LIBRARY_NAME = LIBRARY.functions.read.slice(0, -"_read".length);

const notFound = (e: unknown): boolean => e instanceof Error && /function not found/i.test(e.message);
/** FCALL or FUNCTION unknown to this Redis (before 7, or renamed away), or not for this user (ACL): scripts then go by EVALSHA. */
const noFunctions = (e: unknown): boolean => e instanceof Error && /unknown command|NOPERM/i.test(e.message) && /fcall|function/i.test(e.message);

export function scriptRunner(client: Redis): ScriptRunner {
  const evals = client as Evals;
  let mode: "function" | "eval" | null = null;
  let loading: Promise<unknown> | null = null;
  let evalsDefined = false;

  const defineEvals = (): void => {
    if (evalsDefined) return;
    evalsDefined = true;
    for (const [name, lua] of Object.entries(SCRIPTS)) evals.defineCommand(`armor_${name}`, { lua });
  };
  const viaEval = (name: ScriptName, keys: readonly Arg[], args: readonly Arg[]): Promise<unknown> => {
    defineEvals();
    return evals[`armor_${name}`]!(keys.length, ...keys, ...args);
  };
  const load = (): Promise<unknown> => {
    // calls that all found the library missing load it once
    loading ??= client.function("LOAD", "REPLACE", LIBRARY.code).finally(() => {
      loading = null;
    });
    return loading;
  };
  // loaded as soon as a connection is ready (the first, and after each reconnect: a Redis restarted
  // without persistence lost it), before the commands queued meanwhile go out, so a burst of first
  // decisions does not each find it missing; a Redis without functions says so here already
  client.on("ready", () => {
    load().then(
      () => {
        mode ??= "function";
      },
      (e: unknown) => {
        if (noFunctions(e)) mode = "eval";
        // anything else: the calls find out for themselves
      },
    );
  });
  const fcall = (name: ScriptName, keys: readonly Arg[], args: readonly Arg[]): Promise<unknown> => client.fcall(LIBRARY.functions[name], keys.length, ...keys, ...args);

  /** The first call's answer says which Redis this is; a missing library is loaded and the call made again. */
  const retry = async (e: unknown, name: ScriptName, keys: readonly Arg[], args: readonly Arg[]): Promise<unknown> => {
    if (noFunctions(e)) {
      mode = "eval";
      return viaEval(name, keys, args);
    }
    if (!notFound(e)) throw e;
    try {
      await load();
    } catch (failed) {
      if (!noFunctions(failed)) throw failed;
      mode = "eval";
      return viaEval(name, keys, args);
    }
    const answer = await fcall(name, keys, args);
    mode = "function";
    return answer;
  };

  return {
    get mode() {
      return mode;
    },
    run(name, keys, args) {
      if (mode === "eval") return viaEval(name, keys, args);
      const call = fcall(name, keys, args);
      return call.then(
        (answer) => {
          mode = "function";
          return answer;
        },
        (e: unknown) => retry(e, name, keys, args),
      );
    },
  };
}
