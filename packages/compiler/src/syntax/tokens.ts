/**
 * Tokens of the .armor language.
 *
 * Keywords are declared with `longer_alt: Identifier` so that `allowance` is one identifier, and
 * all of them belong to the `Name` category so that they may appear as field names after a dot
 * (`action.from`). Comments are kept in a separate group so that the formatter can put them back.
 */
import { createToken, type IToken, Lexer, type TokenType, tokenMatcher } from "chevrotain";
import { keywordFact } from "../language/facts.js";
import { blockComment, quoted, regexLiteral } from "./scanners.js";

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
/** Anything usable as a field name after a dot: identifiers and every keyword. */
export const Name = createToken({ name: "Name", pattern: Lexer.NA });
Identifier.CATEGORIES = [Name];

const keywords: TokenType[] = [];
/**
 * The token of a keyword of language/facts.ts (a word not there is a mistake in this file). A
 * soft keyword is also an Identifier, so it can be a bare field name (`from == "ceo@x.com"`,
 * `version matches /.../`); the grammar asks for it by its own token type where it is a keyword.
 */
function keyword(word: string): TokenType {
  const fact = keywordFact(word);
  if (fact === undefined || fact.kind === "contextual") throw new Error(`tokens.ts: \`${word}\` is not a keyword token in language/facts.ts`);
  const soft = fact.kind === "soft";
  const t = createToken({
    name: word.charAt(0).toUpperCase() + word.slice(1).replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()),
    pattern: new RegExp(word),
    longer_alt: Identifier,
    categories: soft ? [Name, Identifier] : [Name],
    label: `'${word}'`,
  });
  keywords.push(t);
  return t;
}

export const Policy = keyword("policy");
export const Version = keyword("version");
export const Schema = keyword("schema");
export const Default = keyword("default");
export const Timezone = keyword("timezone");
export const Let = keyword("let");
export const Rule = keyword("rule");
export const On = keyword("on");
export const When = keyword("when");
export const Allow = keyword("allow");
export const Deny = keyword("deny");
export const Require = keyword("require");
export const Approval = keyword("approval");
export const From = keyword("from");
export const Timeout = keyword("timeout");
export const Quorum = keyword("quorum");
export const Grant = keyword("grant");
export const Up = keyword("up");
export const To = keyword("to");
// before `redact`, which would otherwise take the first six letters of `redacted`
export const Redacted = keyword("redacted");
export const Redact = keyword("redact");
export const Label = keyword("label");
export const Matching = keyword("matching");
export const Because = keyword("because");
export const And = keyword("and");
export const Or = keyword("or");
export const Not = keyword("not");
export const In = keyword("in");
export const Between = keyword("between");
export const Matches = keyword("matches");
export const Contains = keyword("contains");
export const StartsWith = keyword("starts_with");
export const EndsWith = keyword("ends_with");
export const Within = keyword("within");
export const True = keyword("true");
export const False = keyword("false");
export const Null = keyword("null");
export const Test = keyword("test");
export const Expect = keyword("expect");
export const By = keyword("by");
export const Of = keyword("of");
export const History = keyword("history");
export const ErrorKeyword = keyword("error");
export const With = keyword("with");
export const Where = keyword("where");
export const Since = keyword("since");
export const Per = keyword("per");
export const Import = keyword("import");
export const As = keyword("as");
export const Param = keyword("param");
export const Disable = keyword("disable");
export const Override = keyword("override");
export const Property = keyword("property");
export const Always = keyword("always");
export const Never = keyword("never");

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED });
const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n\r]*/, group: "comments" });
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: { exec: blockComment },
  start_chars_hint: ["/"],
  group: "comments",
  line_breaks: true,
});

/** `30s`, `15m`, `1h`, `7d`, `250ms`. Must come before NumberLiteral. */
export const DurationLiteral = createToken({ name: "DurationLiteral", pattern: /\d[\d_]*(?:ms|s|m|h|d)(?![A-Za-z0-9_.])/, label: "a duration" });
export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: /\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_.])/,
  label: "a number",
});
/**
 * A run that starts with a digit but is neither a number nor a duration (`10abc`, `1._5`, `0x10`,
 * `1h30m`, `1.5h`): one token, accepted where a number or a duration goes, so that the literal
 * stage reports it whole as A105 or A106 rather than the lexer as stray characters. Tried after
 * the valid forms; every character is read once.
 */
export const MalformedNumber = createToken({
  name: "MalformedNumber",
  pattern: /\d(?:[A-Za-z0-9_.]|(?<=\d[eE])[+-](?=\d))*/,
  categories: [NumberLiteral, DurationLiteral],
  label: "a number",
});
/** A string literal; an unterminated one runs to the end of the line and is reported by the lexer stage. */
export const StringLiteral = createToken({ name: "StringLiteral", pattern: { exec: quoted('"') }, start_chars_hint: ['"'], line_breaks: false, label: "a string" });
/** A single-quoted string: not part of the language, but read as a string so one error is reported. */
export const SingleQuotedString = createToken({
  name: "SingleQuotedString",
  pattern: { exec: quoted("'") },
  start_chars_hint: ["'"],
  line_breaks: false,
  categories: [StringLiteral],
  label: "a string",
});
/**
 * Whether a slash after `tokens` (the tokens matched so far, comments and spaces left out) starts
 * a regex: right after the keyword `matches`, or after `matching` that follows the field path of
 * a redaction (`redact body matching /x/`); never after a dot (`action.matches / 2` divides a
 * field), and not after a field that happens to be called `matching` (`sum(amount where matching
 * / 2 > 1)`). Everywhere else a slash is division.
 */
function regexMayStart(tokens: readonly IToken[]): boolean {
  const n = tokens.length;
  const last = tokens[n - 1];
  if (last === undefined || tokens[n - 2]?.tokenType === Dot) return false;
  if (last.tokenType === Matches) return true;
  if (last.tokenType !== Matching) return false;
  // walk back over the path (`NAME { . NAME }`) to the token before it, which must be `redact`
  let j = n - 2;
  while (j >= 2 && tokens[j - 1]!.tokenType === Dot && tokenMatcher(tokens[j]!, Name)) j -= 2;
  const head = tokens[j];
  return head !== undefined && tokenMatcher(head, Identifier) && tokens[j - 1]?.tokenType === Redact;
}

/** `/regex/flags`, where a regex can stand (`regexMayStart`); elsewhere a slash is `Slash`. */
export const RegexLiteral = createToken({
  name: "RegexLiteral",
  pattern: { exec: (text, offset, tokens) => (regexMayStart(tokens) ? regexLiteral(text, offset) : null) },
  start_chars_hint: ["/"],
  line_breaks: false,
  label: "a regex",
});

export const Eq = createToken({ name: "Eq", pattern: /==/, label: "'=='" });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/, label: "'!='" });
export const LtEq = createToken({ name: "LtEq", pattern: /<=/, label: "'<='" });
export const GtEq = createToken({ name: "GtEq", pattern: />=/, label: "'>='" });
export const Lt = createToken({ name: "Lt", pattern: /</, label: "'<'" });
export const Gt = createToken({ name: "Gt", pattern: />/, label: "'>'" });
export const Assign = createToken({ name: "Assign", pattern: /=/, label: "'='" });
export const LParen = createToken({ name: "LParen", pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: "RParen", pattern: /\)/, label: "')'" });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/, label: "'['" });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/, label: "']'" });
export const LBrace = createToken({ name: "LBrace", pattern: /\{/, label: "'{'" });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/, label: "'}'" });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "','" });
export const Colon = createToken({ name: "Colon", pattern: /:/, label: "':'" });
export const Dot = createToken({ name: "Dot", pattern: /\./, label: "'.'" });
export const Minus = createToken({ name: "Minus", pattern: /-/, label: "'-'" });
export const Plus = createToken({ name: "Plus", pattern: /\+/, label: "'+'" });
export const Star = createToken({ name: "Star", pattern: /\*/, label: "'*'" });
/** Division; a slash that starts a regex is a `RegexLiteral`, tried first. */
export const Slash = createToken({ name: "Slash", pattern: /\//, label: "'/'" });
/**
 * A run of characters none of which starts a token. Not part of the language: the syntax stage
 * reports it (A102) and drops it before parsing. Matching the run as one token, rather than
 * letting the lexer try every pattern at every bad character, keeps binary input linear.
 */
export const Unknown = createToken({ name: "Unknown", pattern: /[^A-Za-z0-9_ \t\r\n\f\v\u00a0\ufeff"'/=!<>()[\]{},:.+*-]+/, label: "unexpected characters" });

export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  RegexLiteral,
  DurationLiteral,
  NumberLiteral,
  MalformedNumber,
  StringLiteral,
  SingleQuotedString,
  Eq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Assign,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Dot,
  Minus,
  Plus,
  Star,
  Slash,
  ...keywords,
  Identifier,
  Name,
  Unknown,
];

export const keywordNames: ReadonlySet<string> = new Set(keywords.map((k) => (k.PATTERN as RegExp).source));

/** The keyword each keyword token stands for, by token name (`StartsWith` → `starts_with`). */
export const keywordOfToken: ReadonlyMap<string, string> = new Map(keywords.map((k) => [k.name, (k.PATTERN as RegExp).source]));
