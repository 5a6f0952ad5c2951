/**
 * The regex matcher for use inside the compiler (the reference interpreter and tests): it
 * instantiates `REGEX_VM_SOURCE` once, so the compiler runs exactly the code that compiled
 * policies embed, and exposes it with types.
 */
import { parseRegex, type RegexProgram } from "./compile-program.js";
import { ALL_DETECTOR_CHECKS_SOURCE, DETECTOR_CHECKS } from "./detector-source.js";
import { DEFAULT_LIMITS, detectorMatcherSource, type MatcherLimits, matcherSource, REGEX_LENGTH_SOURCE } from "./vm-source.js";

/** A detector's check (see detector-source.ts). */
export type DetectorCheck = (s: string, start: number, end: number) => number;

export interface RegexVm {
  test(program: RegexProgram, input: string): boolean;
  replace(program: RegexProgram, input: string, replacement: string): string;
  testV(program: RegexProgram, input: string, check: DetectorCheck): boolean;
  replaceV(program: RegexProgram, input: string, replacement: string, check: DetectorCheck): string;
  /** The checks, by function name. */
  checks: Readonly<Record<string, DetectorCheck>>;
}

/**
 * Thrown when a string is longer than `MAX_MATCH_LENGTH` or a match needs more than
 * `MAX_MATCH_STEPS` steps; the message is the one compiled policies report.
 */
export class RegexLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegexLimitError";
  }
}

/**
 * A matcher instantiated from the source compiled policies embed, with the given limits (the
 * compiler uses `DEFAULT_LIMITS`; tests use small ones). The source is our own constant text (see
 * vm-source.ts), never user input; `$E` is the error it throws at a limit.
 */
export function createMatcher(limits: MatcherLimits): RegexVm {
  const checks = Object.values(DETECTOR_CHECKS).join(", ");
  const source = `${REGEX_LENGTH_SOURCE}${matcherSource(limits)}${detectorMatcherSource(limits)}${ALL_DETECTOR_CHECKS_SOURCE}\nreturn { test: __reTest, replace: __reReplace, testV: __reTestV, replaceV: __reReplaceV, checks: { ${checks} } };`;
  return new Function("$E", source)(RegexLimitError) as RegexVm;
}

const vm = createMatcher(DEFAULT_LIMITS);

/**
 * Like `new RegExp(source, flags).test(input)`, in linear time; throws `RegexLimitError` past the
 * limits.
 */
export function regexTest(program: RegexProgram, input: string): boolean {
  return vm.test(program, input);
}

/**
 * Like `input.replace(new RegExp(source, flags + "g"), () => replacement)`, in linear time: every
 * leftmost-first match is replaced by `replacement` verbatim (`$` is not special). Throws
 * `RegexLimitError` past the limits.
 */
export function regexReplace(program: RegexProgram, input: string, replacement: string): string {
  return vm.replace(program, input, replacement);
}

/**
 * Whether the pattern of a detector matches somewhere with a candidate its check accepts; with
 * `check` null, `regexTest`. Throws `RegexLimitError` past the limits.
 */
export function patternTest(program: RegexProgram, check: string | null, input: string): boolean {
  return check === null ? vm.test(program, input) : vm.testV(program, input, vm.checks[check]!);
}

/** Every match (of a detector: that its check accepts) replaced by `replacement`, verbatim. */
export function patternReplace(program: RegexProgram, check: string | null, input: string, replacement: string): string {
  return check === null ? vm.replace(program, input, replacement) : vm.replaceV(program, input, replacement, vm.checks[check]!);
}

/** A parse error thrown by `compileRegex`; `offset` is a UTF-16 offset into the source. */
export class RegexSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly help: string | undefined,
  ) {
    super(message);
    this.name = "RegexSyntaxError";
  }
}

export interface CompiledRegex {
  readonly program: RegexProgram;
  /** The fixed string the regex matches, when it is a plain literal without flags. */
  readonly literal: string | null;
  test(input: string): boolean;
  replace(input: string, replacement: string): string;
}

/** Parses and compiles a regex, throwing `RegexSyntaxError` if it is invalid or unsupported. */
export function compileRegex(source: string, flags = ""): CompiledRegex {
  const result = parseRegex(source, flags);
  if (!result.ok) throw new RegexSyntaxError(result.message, result.offset, result.help);
  const { program, literal } = result;
  return {
    program,
    literal,
    test: (input) => regexTest(program, input),
    replace: (input, replacement) => regexReplace(program, input, replacement),
  };
}
