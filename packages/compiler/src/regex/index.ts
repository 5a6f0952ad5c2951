/**
 * The linear-time regex engine: a parser and compiler for the regex subset of the policy language
 * (parse.ts), the matcher source embedded in compiled policies (vm-source.ts), and that matcher
 * instantiated for the compiler (vm.ts).
 */
export {
  Assertion,
  MAX_PROGRAM_SIZE,
  MAX_PROGRAM_WORDS,
  MAX_REPEAT,
  Op,
  parseRegex,
  type RegexParseResult,
  type RegexProgram,
} from "./parse.js";
export {
  DEFAULT_LIMITS,
  LENGTH_MESSAGE,
  type MatcherLimits,
  MAX_MATCH_LENGTH,
  MAX_MATCH_STEPS,
  REGEX_LENGTH_SOURCE,
  REGEX_VM_SOURCE,
  STEPS_MESSAGE,
} from "./vm-source.js";
export {
  compileRegex,
  type CompiledRegex,
  createMatcher,
  RegexLimitError,
  RegexSyntaxError,
  regexReplace,
  regexTest,
} from "./vm.js";
