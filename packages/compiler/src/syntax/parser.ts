/**
 * The grammar of .armor, as a Chevrotain CstParser with error recovery.
 *
 * The parser is pure grammar: it builds a CST and records syntax errors; it reports nothing and
 * resolves nothing. `cst-to-ast.ts` turns the CST into the AST, filling holes where the input is
 * broken. Precedence, from loosest to tightest: `or`, `and`, `not`, comparisons, `+ -`, `* /`.
 */
import { type CstNode, CstParser, EOF, type IParserErrorMessageProvider, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import * as T from "./tokens.js";

/** What each grammar rule expects, in words, for "expected ..." messages. */
const ruleDescriptions: Record<string, string> = {
  file: "a declaration (`policy`, `schema`, `default`, `timezone`, `import`, `param`, `let`, `rule`, `when`, `override`, `disable`, `property` or `test`)",
  item: "a declaration (`policy`, `schema`, `default`, `timezone`, `import`, `param`, `let`, `rule`, `when`, `override`, `disable`, `property` or `test`)",
  qualifiedName: "an imported rule (`NAME.RULE`)",
  effect: "an effect (`allow`, `deny`, `require approval`, `redact` or `label`)",
  defaultDecl: "`allow`, `deny` or `require approval`",
  pattern: 'a pattern (`/regex/`, `std.NAME` or `glob("...")`)',
  operand: "a value, a field or `(`",
  propertyMode: "`always` or `never`",
  propertyOutcome: "an outcome (`allow`, `deny`, `require approval` or `redacted`)",
  notExpr: "a condition",
  comparison: "an operator",
  testStep: "a test step (`action`, `user`, `context`, `time`, `history` or `expect`)",
  expectStep: "an expectation (`allow`, `deny`, `require_approval`, `error`, `approval from` or a field)",
  value: "a value",
  objectValue: "an object `{ key: value }`",
  objectEntry: "a key",
};

/**
 * The text of the token after the parser's input, when the input is one item of a larger file
 * (see `parseItemTokens`): an item cut short by the next item reads "found `rule`", as it would
 * in the whole file, rather than "found end of file".
 */
let following: string | null = null;

function describeToken(t: IToken): string {
  if (t.tokenType === EOF) return following === null ? "end of file" : `\`${following}\``;
  return `\`${t.image}\``;
}

function tokenLabel(t: TokenType): string {
  if (t === T.Identifier || t === T.Name) return "a name";
  return t.LABEL ?? t.name;
}

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${tokenLabel(expected)}, found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const words = ruleDescriptions[ruleName] ?? firstTokens(expectedPathsPerAlt.flat());
    return `expected ${words}, found ${describeToken(actual[0]!)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const words = ruleDescriptions[ruleName] ?? firstTokens(expectedIterationPaths);
    return `expected ${words}, found ${describeToken(actual[0]!)}`;
  },
};

function firstTokens(paths: TokenType[][]): string {
  const labels = [...new Set(paths.map((p) => (p[0] ? tokenLabel(p[0]) : "")).filter((l) => l !== ""))];
  if (labels.length <= 1) return labels[0] ?? "something else";
  return `${labels.slice(0, -1).join(", ")} or ${labels[labels.length - 1]}`;
}

export class ArmorParser extends CstParser {
  /**
   * `validate`: run Chevrotain's grammar validations (ambiguities, left recursion), which cost a
   * third of a short `armorc` command's start; they are run by the compiler's tests
   * (`validateGrammar`), and skipped when the compiler is used.
   */
  constructor(validate = false) {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, nodeLocationTracking: "onlyOffset", errorMessageProvider: messages, skipValidations: !validate });
    this.performSelfAnalysis();
  }

  file = this.RULE("file", () => {
    this.MANY(() => this.SUBRULE(this.item));
  });

  item = this.RULE("item", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.policyDecl) },
      { ALT: () => this.SUBRULE(this.schemaDecl) },
      { ALT: () => this.SUBRULE(this.defaultDecl) },
      { ALT: () => this.SUBRULE(this.timezoneDecl) },
      { ALT: () => this.SUBRULE(this.letDecl) },
      { ALT: () => this.SUBRULE(this.ruleDecl) },
      { ALT: () => this.SUBRULE(this.anonymousRule) },
      { ALT: () => this.SUBRULE(this.testDecl) },
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.paramDecl) },
      { ALT: () => this.SUBRULE(this.disableDecl) },
      { ALT: () => this.SUBRULE(this.overrideDecl) },
      { ALT: () => this.SUBRULE(this.propertyDecl) },
    ]);
  });

  /** `property NAME: always|never OUTCOME [or OUTCOME ...] [when CONDITION]`: checked, never decided. */
  propertyDecl = this.RULE("propertyDecl", () => {
    this.CONSUME(T.Property);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.propertyMode, { LABEL: "mode" });
    this.SUBRULE(this.propertyOutcome, { LABEL: "outcome" });
    this.MANY(() => {
      this.CONSUME(T.Or);
      this.SUBRULE2(this.propertyOutcome, { LABEL: "outcome" });
    });
    this.OPTION(() => {
      this.CONSUME(T.When);
      this.SUBRULE(this.expression, { LABEL: "condition" });
    });
  });

  propertyMode = this.RULE("propertyMode", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Always, { LABEL: "word" }) }, { ALT: () => this.CONSUME(T.Never, { LABEL: "word" }) }]);
  });

  propertyOutcome = this.RULE("propertyOutcome", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Allow, { LABEL: "word" }) },
      { ALT: () => this.CONSUME(T.Deny, { LABEL: "word" }) },
      { ALT: () => this.CONSUME(T.Redacted, { LABEL: "word" }) },
      {
        ALT: () => {
          this.CONSUME(T.Require, { LABEL: "word" });
          this.CONSUME(T.Approval);
        },
      },
    ]);
  });

  /** `import "PATH" as NAME [with { PARAM: VALUE, ... }]`. */
  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral, { LABEL: "path" });
    this.CONSUME(T.As);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.With);
      this.SUBRULE(this.objectValue, { LABEL: "params" });
    });
  });

  /** `param NAME: TYPE = DEFAULT`, TYPE a name or `[NAME]`. */
  paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(T.Param);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Colon);
    this.OR([
      { ALT: () => this.CONSUME2(T.Identifier, { LABEL: "type" }) },
      {
        ALT: () => {
          this.CONSUME(T.LBracket, { LABEL: "list" });
          this.CONSUME3(T.Identifier, { LABEL: "type" });
          this.CONSUME(T.RBracket);
        },
      },
    ]);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.value, { LABEL: "default" });
  });

  /** `NAME.NAME...`: an imported rule. */
  qualifiedName = this.RULE("qualifiedName", () => {
    this.CONSUME(T.Identifier, { LABEL: "parts" });
    this.AT_LEAST_ONE(() => {
      this.CONSUME(T.Dot);
      this.CONSUME2(T.Identifier, { LABEL: "parts" });
    });
  });

  /** `disable NAME.RULE`. */
  disableDecl = this.RULE("disableDecl", () => {
    this.CONSUME(T.Disable);
    this.SUBRULE(this.qualifiedName, { LABEL: "target" });
  });

  /** `override NAME.RULE [on STAGE] when CONDITION EFFECT`. */
  overrideDecl = this.RULE("overrideDecl", () => {
    this.CONSUME(T.Override);
    this.SUBRULE(this.qualifiedName, { LABEL: "target" });
    this.OPTION(() => {
      this.CONSUME(T.On);
      this.CONSUME(T.Identifier, { LABEL: "stage" });
    });
    this.CONSUME(T.When);
    this.SUBRULE(this.expression, { LABEL: "condition" });
    this.SUBRULE(this.effect);
  });

  policyDecl = this.RULE("policyDecl", () => {
    this.CONSUME(T.Policy);
    this.CONSUME(T.Name, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.Version);
      this.CONSUME(T.StringLiteral, { LABEL: "version" });
    });
  });

  schemaDecl = this.RULE("schemaDecl", () => {
    this.CONSUME(T.Schema);
    this.CONSUME(T.StringLiteral, { LABEL: "path" });
  });

  defaultDecl = this.RULE("defaultDecl", () => {
    this.CONSUME(T.Default);
    this.OR([{ ALT: () => this.CONSUME(T.Allow, { LABEL: "effect" }) }, { ALT: () => this.CONSUME(T.Deny, { LABEL: "effect" }) }, { ALT: () => this.SUBRULE(this.approvalEffect) }]);
  });

  timezoneDecl = this.RULE("timezoneDecl", () => {
    this.CONSUME(T.Timezone);
    this.CONSUME(T.StringLiteral, { LABEL: "zone" });
  });

  letDecl = this.RULE("letDecl", () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression, { LABEL: "value" });
  });

  ruleDecl = this.RULE("ruleDecl", () => {
    this.CONSUME(T.Rule);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.On);
      this.CONSUME2(T.Identifier, { LABEL: "stage" });
    });
    this.CONSUME(T.When);
    this.SUBRULE(this.expression, { LABEL: "condition" });
    this.SUBRULE(this.effect);
  });

  anonymousRule = this.RULE("anonymousRule", () => {
    this.CONSUME(T.When);
    this.SUBRULE(this.expression, { LABEL: "condition" });
    this.SUBRULE(this.effect);
  });

  effect = this.RULE("effect", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Allow) },
      { ALT: () => this.CONSUME(T.Deny) },
      { ALT: () => this.SUBRULE(this.approvalEffect) },
      { ALT: () => this.SUBRULE(this.redactEffect) },
      { ALT: () => this.SUBRULE(this.labelEffect) },
    ]);
    this.OPTION(() => {
      this.CONSUME(T.Because);
      this.CONSUME(T.StringLiteral, { LABEL: "reason" });
    });
  });

  approvalEffect = this.RULE("approvalEffect", () => {
    this.CONSUME(T.Require);
    this.CONSUME(T.Approval);
    this.OPTION(() => {
      this.CONSUME(T.From);
      // a string, or a `param`/let holding one (`from approvers`, `from base.APPROVERS`)
      this.OR([{ ALT: () => this.CONSUME(T.StringLiteral, { LABEL: "group" }) }, { ALT: () => this.SUBRULE(this.path, { LABEL: "groupName" }) }]);
    });
    this.OPTION3(() => {
      this.CONSUME(T.Quorum);
      this.CONSUME(T.NumberLiteral, { LABEL: "quorum" });
    });
    this.OPTION2(() => {
      this.CONSUME(T.Timeout);
      this.CONSUME(T.DurationLiteral, { LABEL: "timeout" });
    });
    this.OPTION4(() => this.SUBRULE(this.grantClause));
  });

  /** `grant session 1h`, `grant action.to 1h`, `grant action.to 1h up to 50000 of action.amount`. */
  grantClause = this.RULE("grantClause", () => {
    this.CONSUME(T.Grant);
    this.SUBRULE(this.path, { LABEL: "scope" });
    this.CONSUME(T.DurationLiteral, { LABEL: "duration" });
    this.OPTION(() => {
      this.CONSUME(T.Up);
      this.CONSUME(T.To);
      this.CONSUME(T.NumberLiteral, { LABEL: "limit" });
      this.CONSUME(T.Of);
      this.SUBRULE2(this.path, { LABEL: "amount" });
    });
  });

  labelEffect = this.RULE("labelEffect", () => {
    this.CONSUME(T.Label);
    this.CONSUME(T.StringLiteral, { LABEL: "label" });
  });

  redactEffect = this.RULE("redactEffect", () => {
    this.CONSUME(T.Redact);
    this.SUBRULE(this.path);
    this.OPTION(() => {
      this.CONSUME(T.Matching);
      this.SUBRULE(this.pattern);
    });
    this.OPTION2(() => {
      this.CONSUME(T.With);
      this.OR([{ ALT: () => this.CONSUME(T.StringLiteral, { LABEL: "text" }) }, { ALT: () => this.CONSUME2(T.Identifier, { LABEL: "text" }) }]);
    });
  });

  /** `/regex/flags`, `std.NAME` or `glob("...")`: what `matches` and `matching` take. */
  pattern = this.RULE("pattern", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.RegexLiteral, { LABEL: "regex" }) },
      {
        ALT: () => {
          this.CONSUME(T.Identifier, { LABEL: "head" });
          this.OR2([
            {
              ALT: () => {
                this.CONSUME(T.Dot);
                this.CONSUME(T.Name, { LABEL: "detector" });
              },
            },
            {
              ALT: () => {
                this.CONSUME(T.LParen);
                this.CONSUME(T.StringLiteral, { LABEL: "glob" });
                this.CONSUME(T.RParen);
              },
            },
          ]);
        },
      },
    ]);
  });

  path = this.RULE("path", () => {
    this.CONSUME(T.Identifier, { LABEL: "head" });
    this.MANY(() => {
      this.CONSUME(T.Dot);
      this.CONSUME(T.Name, { LABEL: "segment" });
    });
  });

  expression = this.RULE("expression", () => {
    this.SUBRULE(this.andExpr, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(T.Or);
      this.SUBRULE2(this.andExpr, { LABEL: "operands" });
    });
  });

  andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.notExpr, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(T.And);
      this.SUBRULE2(this.notExpr, { LABEL: "operands" });
    });
  });

  notExpr = this.RULE("notExpr", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Not);
          this.SUBRULE(this.notExpr, { LABEL: "operand" });
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ]);
  });

  comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.additive, { LABEL: "left" });
    this.OPTION(() => {
      this.OR([
        {
          ALT: () => {
            this.OR2([
              { ALT: () => this.CONSUME(T.Eq, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.NotEq, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.LtEq, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.GtEq, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.Lt, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.Gt, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.Contains, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.StartsWith, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.EndsWith, { LABEL: "op" }) },
              { ALT: () => this.CONSUME(T.In, { LABEL: "op" }) },
            ]);
            this.SUBRULE2(this.additive, { LABEL: "right" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Not, { LABEL: "negation" });
            this.CONSUME2(T.In, { LABEL: "op" });
            this.SUBRULE3(this.additive, { LABEL: "right" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Between, { LABEL: "op" });
            this.SUBRULE4(this.additive, { LABEL: "low" });
            this.CONSUME(T.And);
            this.SUBRULE5(this.additive, { LABEL: "high" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Matches, { LABEL: "op" });
            this.SUBRULE(this.pattern);
          },
        },
      ]);
    });
  });

  /** `a + b - c`: left-associative, looser than `*` and `/`. */
  additive = this.RULE("additive", () => {
    this.SUBRULE(this.multiplicative, { LABEL: "operands" });
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus, { LABEL: "operators" }) }, { ALT: () => this.CONSUME(T.Minus, { LABEL: "operators" }) }]);
      this.SUBRULE2(this.multiplicative, { LABEL: "operands" });
    });
  });

  /** `a * b / c`: left-associative. */
  multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.operand, { LABEL: "operands" });
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Star, { LABEL: "operators" }) }, { ALT: () => this.CONSUME(T.Slash, { LABEL: "operators" }) }]);
      this.SUBRULE2(this.operand, { LABEL: "operands" });
    });
  });

  operand = this.RULE("operand", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(T.NumberLiteral, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(T.True, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(T.False, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(T.Null, { LABEL: "literal" }) },
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.CONSUME2(T.NumberLiteral, { LABEL: "literal" });
        },
      },
      { ALT: () => this.SUBRULE(this.list) },
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.SUBRULE(this.path) },
      { ALT: () => this.SUBRULE(this.parenthesized) },
    ]);
  });

  parenthesized = this.RULE("parenthesized", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(T.RParen);
  });

  list = this.RULE("list", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: "elements" });
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RBracket,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.expression, { LABEL: "elements" });
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma, { LABEL: "trailingComma" }));
    });
    this.CONSUME(T.RBracket);
  });

  /**
   * `count(COND [within D] [per S])`, `seen(A [since B] [within D] [per S])`, `sum(EXPR where COND [within D] [per S])`,
   * `exists(PATH)`, and `any(NAME in LIST: COND)`, `all(...)`: `any` and `all` are names, not
   * keywords (a field may be called `any`), so the binding form is chosen by the callee's text and
   * `NAME in` after the parenthesis.
   */
  call = this.RULE("call", () => {
    const callee = this.CONSUME(T.Identifier, { LABEL: "callee" });
    this.CONSUME(T.LParen);
    this.OR([
      {
        GATE: () => (callee.image === "any" || callee.image === "all") && this.LA(2).tokenType === T.In,
        // the other alternative can start with `NAME in` too; the gate decides
        IGNORE_AMBIGUITIES: true,
        ALT: () => {
          this.CONSUME2(T.Identifier, { LABEL: "variable" });
          this.CONSUME(T.In);
          this.SUBRULE(this.operand, { LABEL: "list" });
          this.CONSUME(T.Colon);
          this.SUBRULE2(this.expression, { LABEL: "condition" });
        },
      },
      {
        ALT: () => {
          this.SUBRULE(this.expression, { LABEL: "argument" });
          this.OPTION2(() => {
            this.OR2([{ ALT: () => this.CONSUME(T.Where, { LABEL: "clauseKeyword" }) }, { ALT: () => this.CONSUME(T.Since, { LABEL: "clauseKeyword" }) }]);
            this.SUBRULE3(this.expression, { LABEL: "clause" });
          });
          this.OPTION(() => {
            this.CONSUME(T.Within);
            this.CONSUME(T.DurationLiteral, { LABEL: "window" });
          });
          // `per user.id`, `per context.tenant`, `per action.account`, `per deployment`: whose history
          this.OPTION3(() => {
            this.CONSUME(T.Per, { LABEL: "scopeKeyword" });
            this.SUBRULE(this.path, { LABEL: "scope" });
          });
        },
      },
    ]);
    this.CONSUME(T.RParen);
  });

  // ---- tests -----------------------------------------------------------------------------

  testDecl = this.RULE("testDecl", () => {
    this.CONSUME(T.Test);
    this.CONSUME(T.StringLiteral, { LABEL: "name" });
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.testStep));
    this.CONSUME(T.RBrace);
  });

  testStep = this.RULE("testStep", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.historyStep) },
      { ALT: () => this.SUBRULE(this.expectStep) },
      {
        // `action {...}`, `user {...}`, `context {...}`, `time "..."`
        ALT: () => {
          this.CONSUME(T.Identifier, { LABEL: "key" });
          this.SUBRULE(this.value);
        },
      },
    ]);
  });

  /** `history N of {...} [labels [...]] [within D]` or `history {...} [labels [...]] [at "time" | ago D]`. */
  historyStep = this.RULE("historyStep", () => {
    this.CONSUME(T.History);
    this.OPTION(() => {
      this.CONSUME(T.NumberLiteral, { LABEL: "repeat" });
      this.CONSUME(T.Of);
    });
    this.SUBRULE(this.objectValue, { LABEL: "entry" });
    // the labels the entry was given (`labels` inside history conditions)
    this.OPTION3({
      GATE: () => this.LA(1).image === "labels",
      DEF: () => {
        this.CONSUME2(T.Identifier, { LABEL: "labelsKeyword" });
        this.SUBRULE(this.listValue, { LABEL: "labels" });
      },
    });
    this.OPTION2({
      GATE: () => this.LA(1).tokenType === T.Within || this.LA(1).image === "at" || this.LA(1).image === "ago",
      DEF: () =>
        this.OR([
          {
            ALT: () => {
              this.CONSUME(T.Within, { LABEL: "placement" });
              this.CONSUME(T.DurationLiteral, { LABEL: "duration" });
            },
          },
          {
            ALT: () => {
              this.CONSUME(T.Identifier, { LABEL: "placement" });
              this.OR2([{ ALT: () => this.CONSUME2(T.DurationLiteral, { LABEL: "duration" }) }, { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: "at" }) }]);
            },
          },
        ]),
    });
  });

  /** `expect allow|deny|require_approval [by R, ...]`, `expect error`, `expect approval from "g"`, `expect action.F == V`. */
  expectStep = this.RULE("expectStep", () => {
    this.CONSUME(T.Expect);
    this.OR([
      { ALT: () => this.CONSUME(T.Allow, { LABEL: "outcome" }) },
      { ALT: () => this.CONSUME(T.Deny, { LABEL: "outcome" }) },
      { ALT: () => this.CONSUME(T.ErrorKeyword, { LABEL: "outcome" }) },
      {
        ALT: () => {
          this.CONSUME(T.Approval, { LABEL: "outcome" });
          this.CONSUME(T.From);
          this.CONSUME(T.StringLiteral, { LABEL: "group" });
        },
      },
      {
        ALT: () => {
          this.SUBRULE(this.path);
          this.OPTION(() => {
            this.CONSUME(T.Eq);
            this.SUBRULE(this.value, { LABEL: "expected" });
          });
        },
      },
    ]);
    this.OPTION2(() => {
      this.CONSUME(T.By);
      // anonymous rules have ids like "policy.armor:deny-3f9a2c", written as strings
      this.AT_LEAST_ONE_SEP({
        SEP: T.Comma,
        DEF: () => this.OR3([{ ALT: () => this.CONSUME2(T.Name, { LABEL: "rules" }) }, { ALT: () => this.CONSUME2(T.StringLiteral, { LABEL: "rules" }) }]),
      });
    });
  });

  /** JSON-like data in tests: literals, lists and objects with bare or quoted keys. */
  value = this.RULE("value", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.objectValue) },
      { ALT: () => this.SUBRULE(this.listValue) },
      { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(T.NumberLiteral, { LABEL: "literal" }) },
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.CONSUME2(T.NumberLiteral, { LABEL: "literal" });
        },
      },
      { ALT: () => this.CONSUME(T.True, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(T.False, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(T.Null, { LABEL: "literal" }) },
    ]);
  });

  objectValue = this.RULE("objectValue", () => {
    this.CONSUME(T.LBrace);
    this.OPTION(() => {
      this.SUBRULE(this.objectEntry, { LABEL: "entries" });
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RBrace,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.objectEntry, { LABEL: "entries" });
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma, { LABEL: "trailingComma" }));
    });
    this.CONSUME(T.RBrace);
  });

  objectEntry = this.RULE("objectEntry", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Name, { LABEL: "key" }) }, { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: "key" }) }]);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.value);
  });

  listValue = this.RULE("listValue", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.value, { LABEL: "elements" });
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RBracket,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.value, { LABEL: "elements" });
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma, { LABEL: "trailingComma" }));
    });
    this.CONSUME(T.RBracket);
  });
}

/** One parser instance, reused: Chevrotain parsers are stateful but reset on each `input`. */
let shared: ArmorParser | undefined;
export function parserInstance(): ArmorParser {
  shared ??= new ArmorParser();
  return shared;
}

/**
 * Parses the tokens of one stretch of a file (one or more whole items) as a `file`.
 * `next` is the text of the token that follows the stretch in the file (`null` at its end); it
 * only shows in messages.
 */
export function parseItemTokens(tokens: IToken[], next: string | null): { cst: CstNode; errors: IRecognitionException[] } {
  const parser = parserInstance();
  parser.input = tokens;
  following = next;
  try {
    return { cst: parser.file(), errors: parser.errors };
  } finally {
    following = null;
  }
}
