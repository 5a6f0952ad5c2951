/** What one run of sandboxed code may use, and how a run ends when it fails. */

export interface SandboxLimits {
  /** Wall time of the whole run, host calls included (ms). */
  timeMs: number;
  /** The guest's heap (bytes). */
  memoryBytes: number;
  /** The guest's stack (bytes): deep recursion ends in `stack`, never in the host's own stack. */
  stackBytes: number;
  /** What the code prints and returns, each as JSON text (characters). */
  outputChars: number;
  /** Calls of host functions in one run. */
  hostCalls: number;
  /**
   * The longest code `runCode` runs (characters): longer code is decided (its facts empty, with
   * an `error` naming this limit, so an audit record says what was refused) and never runs
   * (`unread`). JavaScript's facts are read up to 65,536 characters, Python's up to 1,000,000,
   * whatever this says: code whose facts cannot be read never runs either.
   */
  codeChars: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  timeMs: 2_000,
  memoryBytes: 32 * 1024 * 1024,
  stackBytes: 256 * 1024,
  outputChars: 64 * 1024,
  hostCalls: 32,
  codeChars: 65_536,
};

/** Why a run ended without a result. */
export type SandboxFailureKind =
  /** The code threw (or its promise rejected): its error, as text. */
  | "exception"
  /** The code does not parse. */
  | "syntax"
  /** Wall time ran out. */
  | "timeout"
  /** The heap limit was reached. */
  | "memory"
  /** The stack limit was reached (recursion). */
  | "stack"
  /** It printed or returned more than `outputChars`. */
  | "output"
  /** It called host functions more than `hostCalls` times. */
  | "host_calls"
  /** The engine itself failed; the engine is discarded and the next run starts a new one. */
  | "engine"
  /**
   * The code's facts could not be read (it is longer than `codeChars`, nested too deeply, or does
   * not parse for the facts' reader): decided and audited, never run, as the policy did not see
   * what it does.
   */
  | "unread"
  /** The policy rewrote the code (or its language) it decided, with a redaction: rewritten code is never run. */
  | "rewritten"
  /** The pool was closing: the code did not run. */
  | "closed";

/** A sandboxed run's failure, naming its cause; `run` rejects with it. */
export class SandboxFailure extends Error {
  override readonly name = "SandboxFailure";
  constructor(
    readonly kind: SandboxFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** The limits with `given` over the defaults; throws a TypeError naming a limit that is not a positive integer. */
export function limitsOf(given: Partial<SandboxLimits> | undefined): SandboxLimits {
  const out = { ...DEFAULT_LIMITS };
  if (given === undefined) return out;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof SandboxLimits)[]) {
    if (!Object.hasOwn(given, key) || given[key] === undefined) continue;
    const v = given[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw new TypeError(`sandbox limit \`${key}\` must be a positive integer, not ${String(v)}`);
    out[key] = v;
  }
  return out;
}
