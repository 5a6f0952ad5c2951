/**
 * The linear-time regex engine for the regex subset of the policy language, in layers that import
 * only downwards: the syntax tree (ast.ts), character sets (char-set.ts), the parser (parser.ts),
 * the program compiler and `parseRegex` (compile-program.ts); then the matcher source embedded in
 * compiled policies (vm-source.ts), and that matcher instantiated for the compiler (vm.ts).
 */
export { Assertion, MAX_PROGRAM_SIZE } from "./ast.js";
export {
  MAX_PROGRAM_WORDS,
  Op,
  parseRegex,
  type RegexParseResult,
  type RegexProgram,
} from "./compile-program.js";
export { CARD_INVISIBLE, CARD_NETWORKS, CARD_VISIBLE, CARD_WHITESPACE, DETECTOR_CHECKS, detectorCheckSource, IBAN_COUNTRY_LENGTHS } from "./detector-source.js";
export { MAX_REPEAT } from "./parser.js";
export {
  type CompiledRegex,
  compileRegex,
  createMatcher,
  type DetectorCheck,
  patternReplace,
  patternTest,
  RegexLimitError,
  RegexSyntaxError,
  regexReplace,
  regexTest,
} from "./vm.js";
export {
  CANDIDATES_MESSAGE,
  DEFAULT_LIMITS,
  DETECTOR_VM_SOURCE,
  LENGTH_MESSAGE,
  MAX_CANDIDATES,
  MAX_MATCH_LENGTH,
  MAX_MATCH_STEPS,
  type MatcherLimits,
  REGEX_LENGTH_SOURCE,
  REGEX_VM_SOURCE,
  STEPS_MESSAGE,
} from "./vm-source.js";
