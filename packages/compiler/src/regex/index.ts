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
export { REGEX_VM_SOURCE } from "./vm-source.js";
export { compileRegex, type CompiledRegex, RegexSyntaxError, regexReplace, regexTest } from "./vm.js";
