/**
 * Chevrotain's validations of the token patterns and the grammar are skipped when the compiler
 * runs (they cost a third of a short command's start); they run here instead.
 */
import { CstParser, createToken } from "chevrotain";
import { describe, expect, it } from "vitest";
import { validateGrammar } from "../src/syntax/parse.js";

describe("the grammar", () => {
  it("passes Chevrotain's validations of the lexer and the parser", () => {
    expect(() => validateGrammar()).not.toThrow();
  });

  it("would be caught by them if it were ambiguous (what skipping them at run time gives up)", () => {
    const A = createToken({ name: "A", pattern: /a/ });
    class Ambiguous extends CstParser {
      constructor(validate: boolean) {
        super([A], { skipValidations: !validate });
        this.RULE("top", () => this.OR([{ ALT: () => this.CONSUME(A) }, { ALT: () => this.CONSUME2(A) }]));
        this.performSelfAnalysis();
      }
    }
    expect(() => new Ambiguous(true)).toThrow(/Parser Definition Errors detected/);
    expect(() => new Ambiguous(false)).not.toThrow();
  });
});
