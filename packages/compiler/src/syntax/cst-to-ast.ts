/**
 * CST to AST. Reads the Chevrotain CST and builds the typed AST with spans, decoding literals
 * (string escapes, number separators, durations, regex slashes) and reporting literal errors.
 * A token that the parser inserted during recovery, or a sub-rule that is absent, becomes a hole.
 */
import type { CstNode, IToken } from "chevrotain";
import { catalog } from "../diagnostics/catalog.js";
import { type DiagnosticBag, replacement } from "../diagnostics/diagnostic.js";
import type * as A from "./ast.js";
import { durationProblem, numberProblem, parseDuration } from "./literals.js";
import { closedString } from "./parse.js";
import { type Span, span } from "./source.js";

type Child = CstNode | IToken;

function isToken(c: Child): c is IToken {
  return (c as IToken).image !== undefined;
}

function real(t: IToken | undefined): IToken | undefined {
  return t !== undefined && !t.isInsertedInRecovery && !Number.isNaN(t.startOffset) ? t : undefined;
}

function tok(node: CstNode, label: string, i = 0): IToken | undefined {
  const c = node.children[label]?.[i];
  return c !== undefined && isToken(c) ? real(c) : undefined;
}

function toks(node: CstNode, label: string): IToken[] {
  return (node.children[label] ?? []).filter(isToken).filter((t) => real(t) !== undefined);
}

function sub(node: CstNode, label: string, i = 0): CstNode | undefined {
  const c = node.children[label]?.[i];
  return c !== undefined && !isToken(c) ? c : undefined;
}

function subs(node: CstNode, label: string): CstNode[] {
  return (node.children[label] ?? []).filter((c): c is CstNode => !isToken(c));
}

function tokenSpan(t: IToken): Span {
  return span(t.startOffset, (t.endOffset ?? t.startOffset) + 1);
}

/** The span of a node from its real tokens; falls back to `fallback` when it has none. */
function nodeSpan(node: CstNode, fallback: number): Span {
  // the parser tracks offsets; tokens inserted by recovery leave them NaN, then walk the tokens
  const loc = node.location;
  if (loc !== undefined && Number.isFinite(loc.startOffset) && Number.isFinite(loc.endOffset)) {
    return span(loc.startOffset, (loc.endOffset ?? loc.startOffset) + 1);
  }
  let start = Infinity;
  let end = -Infinity;
  const visit = (n: CstNode): void => {
    for (const list of Object.values(n.children)) {
      for (const c of list) {
        if (isToken(c)) {
          if (real(c) === undefined) continue;
          start = Math.min(start, c.startOffset);
          end = Math.max(end, (c.endOffset ?? c.startOffset) + 1);
        } else visit(c);
      }
    }
  };
  visit(node);
  return start === Infinity ? span(fallback, fallback) : span(start, end);
}

export class AstBuilder {
  /** Offset where the last real token so far ended, used to place holes. */
  private lastEnd: number;

  /** `start`: the offset of the parsed text, where a hole goes before any token. */
  constructor(
    private readonly bag: DiagnosticBag,
    start = 0,
  ) {
    this.lastEnd = start;
  }

  private see(t: IToken | undefined): void {
    if (t !== undefined) this.lastEnd = Math.max(this.lastEnd, (t.endOffset ?? t.startOffset) + 1);
  }

  private hole(): A.MissingExpr {
    return { kind: "missing", span: span(this.lastEnd, this.lastEnd) };
  }

  /** The items of a `file` CST node. */
  items(node: CstNode): A.Item[] {
    const items: A.Item[] = [];
    for (const itemNode of subs(node, "item")) {
      const item = this.item(itemNode);
      if (item !== null) items.push(item);
    }
    return items;
  }

  private item(node: CstNode): A.Item | null {
    const [name, children] = Object.entries(node.children)[0] ?? [];
    const inner = children?.[0];
    if (name === undefined || inner === undefined || isToken(inner)) return null;
    const s = nodeSpan(inner, this.lastEnd);
    switch (name) {
      case "policyDecl": {
        const n = tok(inner, "name");
        const v = tok(inner, "version");
        return { kind: "policy", name: n ? this.ident(n) : null, version: v ? this.string(v) : null, span: s };
      }
      case "schemaDecl": {
        const p = tok(inner, "path");
        return { kind: "schema", path: p ? this.string(p) : null, span: s };
      }
      case "defaultDecl": {
        const e = tok(inner, "effect");
        const approval = sub(inner, "approvalEffect");
        if (approval) return { kind: "default", effect: "require_approval", ...this.approvalClauses(approval), span: s };
        return { kind: "default", effect: e ? (e.image as "allow" | "deny") : null, from: null, fromName: null, timeout: null, quorum: null, grant: null, span: s };
      }
      case "timezoneDecl": {
        const z = tok(inner, "zone");
        return { kind: "timezone", zone: z ? this.string(z) : null, span: s };
      }
      case "letDecl": {
        const n = tok(inner, "name");
        if (n) this.see(n);
        const v = sub(inner, "value");
        return { kind: "let", name: n ? this.ident(n) : null, value: v ? this.expression(v) : this.hole(), span: s };
      }
      case "ruleDecl":
      case "anonymousRule": {
        const n = tok(inner, "name");
        const stage = tok(inner, "stage");
        this.see(tok(inner, "When") ?? stage ?? n ?? tok(inner, "Rule"));
        const c = sub(inner, "condition");
        const condition = c ? this.expression(c) : this.hole();
        const e = sub(inner, "effect");
        const effect = e ? this.effect(e) : null;
        return {
          kind: "rule",
          name: n ? this.ident(n) : null,
          anonymous: name === "anonymousRule",
          stage: stage ? this.ident(stage) : null,
          condition,
          effect,
          span: s,
        };
      }
      case "testDecl":
        return this.test(inner, s);
      case "importDecl": {
        const p = tok(inner, "path");
        const n = tok(inner, "name");
        const params = sub(inner, "params");
        const data = params ? this.data(params, "objectValue") : null;
        return { kind: "import", path: p ? this.string(p) : null, name: n ? this.ident(n) : null, params: data?.kind === "object" ? data : null, span: s };
      }
      case "paramDecl": {
        const n = tok(inner, "name");
        const t = tok(inner, "type");
        const v = sub(inner, "default");
        return { kind: "param", name: n ? this.ident(n) : null, type: t ? this.ident(t) : null, list: tok(inner, "list") !== undefined, value: v ? this.data(v, "value") : null, span: s };
      }
      case "disableDecl":
        return { kind: "disable", target: this.qualified(sub(inner, "target")), span: s };
      case "overrideDecl": {
        const target = this.qualified(sub(inner, "target"));
        const stage = tok(inner, "stage");
        this.see(tok(inner, "When") ?? stage);
        const c = sub(inner, "condition");
        const condition = c ? this.expression(c) : this.hole();
        const e = sub(inner, "effect");
        const effect = e ? this.effect(e) : null;
        const name = target.length >= 2 ? { name: target.map((t) => t.name).join("."), span: span(target[0]!.span.start, target[target.length - 1]!.span.end) } : null;
        const rule: A.RuleDecl = { kind: "rule", name, anonymous: false, stage: stage ? this.ident(stage) : null, condition, effect, span: s };
        return { kind: "override", target, rule, span: s };
      }
      case "propertyDecl":
        return this.property(inner, s);
      default:
        return null;
    }
  }

  /** The parts of a `qualifiedName`; empty when it is missing. */
  private qualified(node: CstNode | undefined): A.Ident[] {
    if (node === undefined) return [];
    return ((node.children.parts ?? []) as IToken[]).filter((t) => isToken(t)).map((t) => this.ident(t));
  }

  private property(node: CstNode, s: Span): A.PropertyDecl {
    const n = tok(node, "name");
    if (n) this.see(n);
    const modeNode = sub(node, "mode");
    const modeWord = modeNode ? tok(modeNode, "word") : undefined;
    this.see(modeWord);
    const outcomes: { outcome: A.PropertyOutcome; span: Span }[] = [];
    for (const o of subs(node, "outcome")) {
      const word = tok(o, "word");
      if (!word) continue;
      this.see(word);
      const approval = tok(o, "Approval");
      this.see(approval);
      const outcome: A.PropertyOutcome = word.image === "require" ? "require_approval" : (word.image as A.PropertyOutcome);
      outcomes.push({ outcome, span: approval ? span(word.startOffset, (approval.endOffset ?? approval.startOffset) + 1) : tokenSpan(word) });
    }
    const c = sub(node, "condition");
    const hasWhen = tok(node, "When") !== undefined;
    this.see(tok(node, "When"));
    const condition = c ? this.expression(c) : hasWhen ? this.hole() : null;
    return { kind: "property", name: n ? this.ident(n) : null, mode: modeWord ? (modeWord.image as "always" | "never") : null, outcomes, condition, span: s };
  }

  private ident(t: IToken): A.Ident {
    this.see(t);
    return { name: t.image, span: tokenSpan(t) };
  }

  private string(t: IToken): A.StringNode {
    this.see(t);
    return { value: this.decodeString(t), span: tokenSpan(t) };
  }

  private duration(t: IToken): A.DurationNode {
    this.see(t);
    const ms = t.tokenType.name === "DurationLiteral" ? parseDuration(t.image) : null;
    if (ms === null) {
      const problem = durationProblem(t.image);
      this.bag.report(catalog.invalidDuration, tokenSpan(t), problem.message, { help: problem.help });
    }
    return { ms: ms ?? 0, raw: t.image, span: tokenSpan(t) };
  }

  private regex(t: IToken): A.RegexNode {
    this.see(t);
    const text = t.image;
    const close = text.lastIndexOf("/");
    const s = tokenSpan(t);
    if (close <= 0) {
      this.bag.report(catalog.invalidRegex, s, "regex literal has no closing `/`", {
        help: "end the pattern with `/`, e.g. `/secret/i`; write `\\/` for a slash inside it",
      });
      return { kind: "regex", source: text.slice(1), flags: "", span: s, sourceStart: s.start + 1 };
    }
    return { kind: "regex", source: text.slice(1, close), flags: text.slice(close + 1), span: s, sourceStart: s.start + 1 };
  }

  /** A `pattern` node: a regex literal, `std.NAME` or `glob("...")`; null where it is broken. */
  private pattern(node: CstNode | undefined): A.PatternNode | null {
    if (node === undefined) return null;
    const r = tok(node, "regex");
    if (r) return this.regex(r);
    const head = tok(node, "head");
    if (!head) return null;
    this.see(head);
    const detector = tok(node, "detector");
    if (detector) {
      this.see(detector);
      return { kind: "detector", head: head.image, name: detector.image, nameSpan: tokenSpan(detector), span: span(head.startOffset, detector.endOffset! + 1) };
    }
    const glob = tok(node, "glob");
    if (!glob) return null;
    const close = tok(node, "RParen");
    if (close) this.see(close);
    return { kind: "glob", head: head.image, glob: this.string(glob), span: span(head.startOffset, (close ?? glob).endOffset! + 1) };
  }

  private decodeString(t: IToken): string {
    const raw = t.image;
    const s = tokenSpan(t);
    const closed = closedString(raw);
    if (raw.startsWith("'")) {
      this.bag.report(catalog.unexpectedCharacter, s, "strings use double quotes", {
        help: `write ${JSON.stringify(raw.slice(1, closed ? -1 : undefined))}`,
        fixes: [replacement("use double quotes", this.bag.file, s, JSON.stringify(raw.slice(1, closed ? -1 : undefined)))],
      });
    } else if (!closed) {
      this.bag.report(catalog.unterminatedString, s, "string literal has no closing quote", {
        help: 'end the string with `"` on the same line; write `\\n` for a line break',
      });
    }
    const body = raw.slice(1, closed ? -1 : undefined);
    let out = "";
    for (let i = 0; i < body.length; i++) {
      // the text up to the next escape is copied as it is
      const backslash = body.indexOf("\\", i);
      if (backslash !== i) {
        out += body.slice(i, backslash < 0 ? body.length : backslash);
        if (backslash < 0) break;
        i = backslash;
      }
      const e = body[i + 1];
      const at = s.start + 1 + i;
      switch (e) {
        case "n":
          out += "\n";
          i++;
          break;
        case "t":
          out += "\t";
          i++;
          break;
        case "r":
          out += "\r";
          i++;
          break;
        case "0":
          out += "\0";
          i++;
          break;
        case '"':
        case "\\":
        case "/":
          out += e;
          i++;
          break;
        case "u": {
          const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(body.slice(i + 2));
          const plain = /^[0-9a-fA-F]{4}/.exec(body.slice(i + 2));
          if (braced && parseInt(braced[1] ?? "", 16) <= 0x10ffff) {
            out += String.fromCodePoint(parseInt(braced[1] ?? "0", 16));
            i += 1 + braced[0].length;
          } else if (plain) {
            out += String.fromCharCode(parseInt(plain[0], 16));
            i += 5;
          } else {
            this.bag.report(catalog.invalidEscape, span(at, at + 2), "invalid unicode escape", {
              help: "write `\\u` followed by four hex digits, or `\\u{...}` with one to six",
            });
            i++;
          }
          break;
        }
        default:
          this.bag.report(catalog.invalidEscape, span(at, Math.min(at + 2, s.end)), `unknown escape \`\\${e ?? ""}\``, {
            help: 'the escapes are \\n \\t \\r \\0 \\" \\\\ \\/ \\uXXXX and \\u{X...}',
          });
          i++;
      }
    }
    return out;
  }

  private number(t: IToken, negative: boolean): number {
    this.see(t);
    const raw = t.image;
    const problem = numberProblem(raw);
    if (problem !== null) this.bag.report(catalog.invalidNumber, tokenSpan(t), problem.message, { help: problem.help });
    const value = Number(raw.replace(/_/g, ""));
    if (!Number.isFinite(value)) return 0;
    return negative ? -value : value;
  }

  private effect(node: CstNode): A.EffectNode | null {
    const s = nodeSpan(node, this.lastEnd);
    const reasonTok = tok(node, "reason");
    const approval = sub(node, "approvalEffect");
    const redact = sub(node, "redactEffect");
    const label = sub(node, "labelEffect");
    let effect: A.EffectNode;
    if (label) {
      const t = tok(label, "label");
      effect = { kind: "label", label: t ? this.string(t) : null, span: s, reason: null };
    } else if (approval) {
      effect = { kind: "require_approval", ...this.approvalClauses(approval), span: s, reason: null };
    } else if (redact) {
      const p = sub(redact, "path");
      const regex = this.pattern(sub(redact, "pattern"));
      const t = tok(redact, "text");
      let text: A.RedactText | null = null;
      if (t?.tokenType.name === "Identifier") {
        this.see(t);
        text = { kind: "name", name: t.image, span: tokenSpan(t) };
      } else if (t) {
        const str = this.string(t);
        text = { kind: "string", value: str.value, span: str.span };
      }
      effect = { kind: "redact", path: p ? this.path(p) : null, regex, text, span: s, reason: null };
    } else {
      const t = tok(node, "Allow") ?? tok(node, "Deny");
      if (t === undefined) return null;
      this.see(t);
      effect = { kind: t?.image === "allow" ? "allow" : "deny", span: s, reason: null };
    }
    return { ...effect, reason: reasonTok ? this.string(reasonTok) : null };
  }

  /** The clauses of `require approval`: `from`, `quorum`, `timeout`, `grant`. */
  private approvalClauses(node: CstNode): { from: A.StringNode | null; fromName: A.PathExpr | null; timeout: A.DurationNode | null; quorum: A.NumberNode | null; grant: A.GrantNode | null } {
    const from = tok(node, "group");
    const fromName = sub(node, "groupName");
    const quorum = tok(node, "quorum");
    const timeout = tok(node, "timeout");
    const grant = sub(node, "grantClause");
    return {
      from: from ? this.string(from) : null,
      fromName: fromName ? this.path(fromName) : null,
      quorum: quorum ? this.numberNode(quorum) : null,
      timeout: timeout ? this.duration(timeout) : null,
      grant: grant ? this.grantClause(grant) : null,
    };
  }

  private numberNode(t: IToken): A.NumberNode {
    return { value: this.number(t, false), raw: t.image, span: tokenSpan(t) };
  }

  private grantClause(node: CstNode): A.GrantNode {
    const scopeNode = sub(node, "scope");
    const scope = scopeNode ? this.path(scopeNode) : { kind: "path" as const, segments: [], span: span(this.lastEnd, this.lastEnd) };
    const duration = tok(node, "duration");
    const limit = tok(node, "limit");
    const amount = sub(node, "amount");
    return {
      scope,
      duration: duration ? this.duration(duration) : null,
      limit: limit ? this.numberNode(limit) : null,
      amount: amount ? this.path(amount) : null,
      span: nodeSpan(node, this.lastEnd),
    };
  }

  private path(node: CstNode): A.PathExpr {
    const head = tok(node, "head");
    const segments: A.Ident[] = [];
    if (head) segments.push(this.ident(head));
    for (const t of toks(node, "segment")) segments.push(this.ident(t));
    const s = segments.length > 0 ? span(segments[0]!.span.start, segments[segments.length - 1]!.span.end) : span(this.lastEnd, this.lastEnd);
    return { kind: "path", segments, span: s };
  }

  expression(node: CstNode): A.Expr {
    const operands = subs(node, "operands").map((n) => this.andExpr(n));
    return this.logical("or", operands);
  }

  private logical(kind: "and" | "or", operands: A.Expr[]): A.Expr {
    if (operands.length === 0) return this.hole();
    if (operands.length === 1) return operands[0]!;
    return { kind, operands, span: span(operands[0]!.span.start, operands[operands.length - 1]!.span.end) };
  }

  private andExpr(node: CstNode): A.Expr {
    return this.logical(
      "and",
      subs(node, "operands").map((n) => this.notExpr(n)),
    );
  }

  private notExpr(node: CstNode): A.Expr {
    const not = tok(node, "Not");
    const operandNode = sub(node, "operand");
    if (not) {
      this.see(not);
      const operand = operandNode ? this.notExpr(operandNode) : this.hole();
      return { kind: "not", operand, span: span(not.startOffset, Math.max(operand.span.end, not.startOffset + 3)) };
    }
    const c = sub(node, "comparison");
    return c ? this.comparison(c) : this.hole();
  }

  private comparison(node: CstNode): A.Expr {
    const leftNode = sub(node, "left");
    const left = leftNode ? this.additive(leftNode) : this.hole();
    const opTok = tok(node, "op");
    if (node.children.op === undefined) return left;
    const operandOrHole = (label: string): A.Expr => {
      const n = sub(node, label);
      return n ? this.additive(n) : this.hole();
    };
    if (opTok === undefined) {
      // the operator itself was inserted by recovery
      const right = operandOrHole("right");
      return { kind: "compare", op: "==", opSpan: span(left.span.end, left.span.end), left, right, span: span(left.span.start, right.span.end) };
    }
    this.see(opTok);
    if (opTok.image === "between") {
      const low = operandOrHole("low");
      this.see(tok(node, "And"));
      const high = operandOrHole("high");
      return { kind: "between", value: left, low, high, span: span(left.span.start, Math.max(high.span.end, opTok.endOffset! + 1)) };
    }
    if (opTok.image === "matches") {
      const regex = this.pattern(sub(node, "pattern"));
      return { kind: "matches", value: left, regex, span: span(left.span.start, regex ? regex.span.end : opTok.endOffset! + 1) };
    }
    const negation = tok(node, "negation");
    const op = (negation ? "not in" : opTok.image) as A.CompareOperator;
    const right = operandOrHole("right");
    const opSpan = span((negation ?? opTok).startOffset, opTok.endOffset! + 1);
    return { kind: "compare", op, opSpan, left, right, span: span(left.span.start, Math.max(right.span.end, opSpan.end)) };
  }

  /** `a + b - c` and `a * b / c`: a chain of operators of one level, grouped to the left. */
  private additive(node: CstNode): A.Expr {
    return this.arithChain(node, (n) => this.multiplicative(n));
  }

  private multiplicative(node: CstNode): A.Expr {
    return this.arithChain(node, (n) => this.operand(n));
  }

  private arithChain(node: CstNode, operand: (n: CstNode) => A.Expr): A.Expr {
    const operandNodes = subs(node, "operands");
    const operators = toks(node, "operators");
    let left = operandNodes[0] ? operand(operandNodes[0]) : this.hole();
    for (let i = 0; i < operators.length; i++) {
      const opTok = operators[i]!;
      this.see(opTok);
      const n = operandNodes[i + 1];
      const right = n ? operand(n) : this.hole();
      const opSpan = tokenSpan(opTok);
      left = { kind: "arith", op: opTok.image as A.ArithOperator, opSpan, left, right, span: span(left.span.start, Math.max(right.span.end, opSpan.end)) };
    }
    return left;
  }

  private operand(node: CstNode): A.Expr {
    const lit = tok(node, "literal");
    if (lit) return this.literal(lit, tok(node, "Minus"));
    const list = sub(node, "list");
    if (list) {
      const open = tok(list, "LBracket");
      this.see(open);
      const elements = subs(list, "elements").map((e) => this.expression(e));
      const close = tok(list, "RBracket");
      this.see(close);
      return { kind: "list", elements, span: nodeSpan(list, this.lastEnd) };
    }
    const call = sub(node, "call");
    if (call) {
      const callee = this.ident(tok(call, "callee")!);
      if (call.children.Colon !== undefined || call.children.variable !== undefined) return this.quantifier(call, callee);
      const argNode = sub(call, "argument");
      const argument = argNode ? this.expression(argNode) : this.hole();
      const clauseTok = tok(call, "clauseKeyword");
      let clause: A.CallClause | null = null;
      if (clauseTok) {
        this.see(clauseTok);
        const clauseNode = sub(call, "clause");
        const keyword = clauseTok.image === "since" ? "since" : "where";
        clause = { keyword, expr: clauseNode ? this.expression(clauseNode) : this.hole(), span: tokenSpan(clauseTok) };
      }
      const w = tok(call, "window");
      const window = w ? this.duration(w) : null;
      const perTok = tok(call, "scopeKeyword");
      let scope: A.CallScope | null = null;
      if (perTok) {
        this.see(perTok);
        const scopeNode = sub(call, "scope");
        const path: A.PathExpr = scopeNode ? this.path(scopeNode) : { kind: "path", segments: [], span: tokenSpan(perTok) };
        scope = { path, span: tokenSpan(perTok) };
      }
      this.see(tok(call, "RParen"));
      return { kind: "call", callee, argument, clause, window, scope, span: nodeSpan(call, this.lastEnd) };
    }
    const path = sub(node, "path");
    if (path) return this.path(path);
    const paren = sub(node, "parenthesized");
    if (paren) {
      this.see(tok(paren, "LParen"));
      const e = sub(paren, "expression");
      const expr = e ? this.expression(e) : this.hole();
      this.see(tok(paren, "RParen"));
      return { kind: "paren", expr, span: nodeSpan(paren, this.lastEnd) };
    }
    return this.hole();
  }

  /** `any(NAME in LIST: COND)`, `all(...)`. */
  private quantifier(call: CstNode, callee: A.Ident): A.QuantifierExpr {
    const v = tok(call, "variable");
    const variable = v ? this.ident(v) : null;
    this.see(tok(call, "In"));
    const listNode = sub(call, "list");
    const list = listNode ? this.operand(listNode) : this.hole();
    this.see(tok(call, "Colon"));
    const condNode = sub(call, "condition");
    const condition = condNode ? this.expression(condNode) : this.hole();
    this.see(tok(call, "RParen"));
    return { kind: "quantifier", callee, variable, list, condition, span: nodeSpan(call, this.lastEnd) };
  }

  private literal(t: IToken, minus: IToken | undefined): A.LiteralExpr {
    const s = minus ? span(minus.startOffset, t.endOffset! + 1) : tokenSpan(t);
    const raw = minus ? `-${t.image}` : t.image;
    switch (t.tokenType.name) {
      case "StringLiteral":
      case "SingleQuotedString":
        return { kind: "literal", value: this.decodeString(t), raw, span: s };
      case "NumberLiteral":
      case "MalformedNumber":
        return { kind: "literal", value: this.number(t, minus !== undefined), raw, span: s };
      default:
        this.see(t);
        return { kind: "literal", value: t.image === "true" ? true : t.image === "false" ? false : null, raw, span: s };
    }
  }

  // ---- tests -----------------------------------------------------------------------------

  private test(node: CstNode, s: Span): A.TestDecl {
    const n = tok(node, "name");
    const steps: A.TestStep[] = [];
    for (const stepNode of subs(node, "testStep")) {
      const step = this.testStep(stepNode);
      if (step) steps.push(step);
    }
    this.see(tok(node, "RBrace"));
    return { kind: "test", name: n ? this.string(n) : null, steps, span: s };
  }

  private testStep(node: CstNode): A.TestStep | null {
    const s = nodeSpan(node, this.lastEnd);
    const history = sub(node, "historyStep");
    if (history) {
      const repeatTok = tok(history, "repeat");
      const entryNode = sub(history, "entry");
      const entry = entryNode ? (this.data(entryNode, "objectValue") as A.DataObject) : null;
      const placementTok = tok(history, "placement");
      let placement: Extract<A.TestStep, { kind: "history" }>["placement"] = null;
      if (placementTok) {
        const d = tok(history, "duration");
        const at = tok(history, "at");
        const ps = span(placementTok.startOffset, ((d ?? at)?.endOffset ?? placementTok.endOffset!) + 1);
        placement =
          placementTok.image === "at"
            ? { kind: "at", time: at ? this.string(at) : null, span: ps }
            : { kind: placementTok.image === "ago" ? "ago" : "within", duration: d ? this.duration(d) : null, span: ps };
      }
      const labelsNode = sub(history, "labels");
      const labels = labelsNode ? this.data(labelsNode, "listValue") : null;
      return { kind: "history", repeat: repeatTok ? this.number(repeatTok, false) : null, entry, labels, placement, span: s };
    }
    const expect = sub(node, "expectStep");
    if (expect) {
      const outcomeTok = tok(expect, "outcome");
      const by = toks(expect, "rules").map((t) =>
        t.tokenType.name === "StringLiteral" || t.tokenType.name === "SingleQuotedString" ? { name: this.decodeString(t), span: tokenSpan(t) } : this.ident(t),
      );
      let outcome: Extract<A.TestStep, { kind: "expect" }>["outcome"];
      if (outcomeTok?.image === "error") outcome = { kind: "error" };
      else if (outcomeTok?.image === "approval") {
        const g = tok(expect, "group");
        outcome = { kind: "approval", group: g ? this.string(g) : null };
      } else if (outcomeTok) outcome = { kind: "decision", decision: this.ident(outcomeTok) };
      else {
        const p = sub(expect, "path");
        const path: A.PathExpr = p ? this.path(p) : { kind: "path", segments: [], span: span(this.lastEnd, this.lastEnd) };
        const v = sub(expect, "expected");
        if (!v && path.segments.length === 1) outcome = { kind: "decision", decision: path.segments[0]! };
        else outcome = { kind: "field", path, expected: v ? this.data(v, "value") : null };
      }
      return { kind: "expect", outcome, by, span: s };
    }
    const key = tok(node, "key");
    if (!key) return null;
    const v = sub(node, "value");
    return { kind: "given", key: this.ident(key), value: v ? this.data(v, "value") : null, span: s };
  }

  private data(node: CstNode, rule: "value" | "objectValue" | "listValue"): A.DataValue {
    const s = nodeSpan(node, this.lastEnd);
    if (rule === "value") {
      const o = sub(node, "objectValue");
      if (o) return this.data(o, "objectValue");
      const l = sub(node, "listValue");
      if (l) return this.data(l, "listValue");
      const lit = tok(node, "literal");
      if (lit) {
        const e = this.literal(lit, tok(node, "Minus"));
        return { kind: "literal", value: e.value, raw: e.raw, span: e.span };
      }
      return { kind: "literal", value: null, raw: "", span: s };
    }
    if (rule === "listValue") {
      return { kind: "list", elements: subs(node, "elements").map((e) => this.data(e, "value")), span: s };
    }
    const entries: { key: A.Ident; value: A.DataValue }[] = [];
    for (const e of subs(node, "entries")) {
      const k = tok(e, "key");
      const v = sub(e, "value");
      if (!k) continue;
      const key = k.tokenType.name === "StringLiteral" || k.tokenType.name === "SingleQuotedString" ? { name: this.decodeString(k), span: tokenSpan(k) } : this.ident(k);
      entries.push({ key, value: v ? this.data(v, "value") : { kind: "literal", value: null, raw: "", span: span(this.lastEnd, this.lastEnd) } });
    }
    this.see(tok(node, "RBrace"));
    return { kind: "object", entries, span: s };
  }
}
