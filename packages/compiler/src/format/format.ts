/**
 * The canonical formatter (`armorc fmt`).
 *
 * It prints the layout from the AST, never from the text: the file is parsed, and a file with
 * syntax errors is refused. Each item becomes a small document (text, groups that either fit on
 * one line or break, indentation, line breaks) printed with a Wadler-style pretty printer at
 * 100 columns; the formatter itself decides the blank lines between items.
 *
 * Comments are not in the tree, so they are put back by position. Every comment lies in a gap
 * between two anchors of the tree (the spans of names, literals, sub-expressions, steps); the
 * printer emits the gap's comments at that same place between the same anchors, so a second
 * run finds every comment in the gap it came from and prints it the same way (idempotence).
 * A comment on the same line as the code before it stays trailing (`deny  // why`); a comment
 * on its own line stays on its own line. A line comment always ends its line; a comment that
 * forces a line break inside a group makes that group break.
 */
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type * as A from "../syntax/ast.js";
import { parse, type Token } from "../syntax/parse.js";
import type { Span } from "../syntax/source.js";

export type FormatResult = { ok: true; text: string } | { ok: false; diagnostics: Diagnostic[] };

/** The column limit. */
const FORMAT_WIDTH = 100;

/** Formats one `.armor` file; refuses (with the syntax diagnostics) a file that does not parse. */
export function formatSource(fileName: string, text: string): FormatResult {
  const parsed = parse(fileName, text);
  if (parsed.diagnostics.some((d) => d.severity === "error")) return { ok: false, diagnostics: [...parsed.diagnostics] };
  return { ok: true, text: new Formatter(text, parsed.ast, parsed.tokens).file() };
}

// ---- documents ------------------------------------------------------------------------------

type Doc = string | Doc[] | GroupDoc | IndentDoc | LineDoc | IfBreakDoc | CommentDoc | SepDoc;
interface GroupDoc {
  readonly t: "group";
  readonly c: Doc;
  broken: boolean;
}
interface IndentDoc {
  readonly t: "indent";
  readonly n: number;
  readonly c: Doc;
}
/** `line`: a space when flat; `soft`: nothing when flat; `hard`: always a line break. */
interface LineDoc {
  readonly t: "line";
  readonly kind: "line" | "soft" | "hard";
}
interface IfBreakDoc {
  readonly t: "ifBreak";
  readonly broken: Doc;
  readonly flat: Doc;
}
/** A comment's text: printed verbatim, zero width when deciding whether a group fits. */
interface CommentDoc {
  readonly t: "comment";
  readonly text: string;
}
/**
 * Spacing around comments: `space` adds one space unless the line is empty or already ends in
 * one; `two` makes exactly two spaces before a trailing line comment; `pending` asks for a space
 * before the next text unless that text starts with a space or closes something.
 */
interface SepDoc {
  readonly t: "sep";
  readonly kind: "space" | "two" | "pending";
}

const line: LineDoc = { t: "line", kind: "line" };
const softline: LineDoc = { t: "line", kind: "soft" };
const hardline: LineDoc = { t: "line", kind: "hard" };
const group = (c: Doc): GroupDoc => ({ t: "group", c, broken: false });
const indent = (n: number, c: Doc): IndentDoc => ({ t: "indent", n, c });
const ifBreak = (broken: Doc, flat: Doc = ""): IfBreakDoc => ({ t: "ifBreak", broken, flat });
const sep = (kind: SepDoc["kind"]): SepDoc => ({ t: "sep", kind });

/** Marks every group that contains a hard line break as broken; returns whether `d` has one. */
function propagateBreaks(d: Doc): boolean {
  if (typeof d === "string") return false;
  if (Array.isArray(d)) {
    let hard = false;
    for (const c of d) hard = propagateBreaks(c) || hard;
    return hard;
  }
  switch (d.t) {
    case "group": {
      const hard = propagateBreaks(d.c);
      if (hard) d.broken = true;
      return hard;
    }
    case "indent":
      return propagateBreaks(d.c);
    case "line":
      return d.kind === "hard";
    case "ifBreak":
      return propagateBreaks(d.broken) || propagateBreaks(d.flat);
    case "comment":
      return d.text.includes("\n");
    case "sep":
      return false;
  }
}

/** The output, line by line. Line breaks never stack: a break on an empty line only re-indents it. */
class Output {
  readonly lines: string[] = [];
  private indentation = 0;
  private content = "";
  private pending = false;

  column(): number {
    return this.indentation + this.content.length;
  }

  lineHasContent(): boolean {
    return this.content !== "";
  }

  text(s: string): void {
    if (s === "") return;
    if (this.content === "") {
      s = s.replace(/^ +/, "");
      if (s === "") return;
    } else if (this.pending && !/^[ ),\]]/.test(s)) {
      this.content += " ";
    }
    this.pending = false;
    this.content += s;
  }

  /** A comment; the lines after the first of a block comment are kept exactly as written. */
  comment(text: string): void {
    const parts = text.split("\n");
    this.text(parts[0] ?? "");
    for (const part of parts.slice(1)) {
      this.lines.push((" ".repeat(this.indentation) + this.content).trimEnd());
      this.indentation = 0;
      this.content = part;
    }
    this.pending = false;
  }

  newline(indentation: number): void {
    if (this.content !== "") this.lines.push((" ".repeat(this.indentation) + this.content).trimEnd());
    this.content = "";
    this.indentation = indentation;
    this.pending = false;
  }

  sep(kind: SepDoc["kind"]): void {
    if (kind === "pending") {
      this.pending = true;
      return;
    }
    this.pending = false;
    if (this.content === "") return;
    if (kind === "two") this.content = `${this.content.trimEnd()}  `;
    else if (!this.content.endsWith(" ")) this.content += " ";
  }

  finish(): string[] {
    this.newline(0);
    return this.lines;
  }
}

type Mode = "flat" | "break";
type Command = readonly [indentation: number, mode: Mode, doc: Doc];

/** The printed lines; `open` when the last line may be continued (it does not end in a line comment). */
function printDoc(doc: Doc): { lines: string[]; open: boolean } {
  propagateBreaks(doc);
  const out = new Output();
  const stack: Command[] = [[0, "break", doc]];
  while (stack.length > 0) {
    const [ind, mode, d] = stack.pop()!;
    if (typeof d === "string") {
      out.text(d);
      continue;
    }
    if (Array.isArray(d)) {
      for (let i = d.length - 1; i >= 0; i--) stack.push([ind, mode, d[i]!]);
      continue;
    }
    switch (d.t) {
      case "indent":
        stack.push([ind + d.n, mode, d.c]);
        break;
      case "group":
        if (d.broken) stack.push([ind, "break", d.c]);
        else if (mode === "flat") stack.push([ind, "flat", d.c]);
        else stack.push([ind, fits([ind, "flat", d.c], stack, FORMAT_WIDTH - out.column()) ? "flat" : "break", d.c]);
        break;
      case "line":
        if (d.kind === "hard" || mode === "break") out.newline(ind);
        else if (d.kind === "line") out.text(" ");
        break;
      case "ifBreak":
        stack.push([ind, mode, mode === "break" ? d.broken : d.flat]);
        break;
      case "comment":
        out.comment(d.text);
        break;
      case "sep":
        out.sep(d.kind);
        break;
    }
  }
  const open = out.lineHasContent();
  return { lines: out.finish(), open };
}

/** Whether `next` printed flat, and what follows it up to the next line break, fits in `width`. */
function fits(next: Command, rest: readonly Command[], width: number): boolean {
  const todo: Command[] = [next];
  let restIndex = rest.length;
  while (width >= 0) {
    const cmd = todo.pop() ?? (restIndex > 0 ? rest[--restIndex] : undefined);
    if (cmd === undefined) return true;
    const [ind, mode, d] = cmd;
    if (typeof d === "string") {
      width -= d.length;
      continue;
    }
    if (Array.isArray(d)) {
      for (let i = d.length - 1; i >= 0; i--) todo.push([ind, mode, d[i]!]);
      continue;
    }
    switch (d.t) {
      case "indent":
        todo.push([ind, mode, d.c]);
        break;
      case "group":
        todo.push([ind, d.broken ? "break" : mode, d.c]);
        break;
      case "line":
        if (d.kind === "hard" || mode === "break") return true;
        if (d.kind === "line") width -= 1;
        break;
      case "ifBreak":
        todo.push([ind, mode, mode === "break" ? d.broken : d.flat]);
        break;
      case "comment":
        if (d.text.includes("\n")) return true;
        break;
      case "sep":
        break;
    }
  }
  return false;
}

// ---- literals -------------------------------------------------------------------------------

/**
 * Characters that change how text is shown without being seen: bidirectional controls (the
 * "Trojan Source" characters), zero-width characters, line and paragraph separators, the BOM.
 * The formatter writes them as `\uXXXX` escapes, so a string never hides them in the source.
 */
const INVISIBLE = /[\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g;

/**
 * A string literal for `value`: JSON escaping, spelled with the language's escapes (no `\b`,
 * `\f`), and invisible characters escaped.
 */
export function quoteString(value: string): string {
  return JSON.stringify(value)
    .replace(/\\(.)/g, (m, c: string) => (c === "b" ? "\\u0008" : c === "f" ? "\\u000c" : m))
    .replace(INVISIBLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const bareKey = /^[A-Za-z_][A-Za-z0-9_]*$/;

function regexText(r: A.PatternNode): string {
  switch (r.kind) {
    case "regex":
      return `/${r.source}/${r.flags}`;
    case "detector":
      return `${r.head}.${r.name}`;
    case "glob":
      return `${r.head}(${quoteString(r.glob.value)})`;
  }
}

// ---- comments -------------------------------------------------------------------------------

interface PlacedComment {
  readonly start: number;
  readonly end: number;
  /** The text to print: line breaks normalized to `\n`, a line comment without trailing blanks. */
  readonly text: string;
  readonly block: boolean;
  /** A line break between the previous token or comment (or the file's start) and this comment. */
  readonly newlineBefore: boolean;
  /** At least one empty line between the previous token or comment and this comment. */
  readonly blankBefore: boolean;
  /** A line break between this comment and the next token or comment (or the file's end). */
  readonly newlineAfter: boolean;
}

function lineBreaks(s: string): number {
  return s.match(/\r\n|\r|\n/g)?.length ?? 0;
}

function placeComments(text: string, comments: readonly A.Comment[], tokens: readonly Token[]): PlacedComment[] {
  const marks: { start: number; end: number; comment: A.Comment | null }[] = [
    ...tokens.map((t) => ({ start: t.startOffset, end: t.startOffset + t.image.length, comment: null })),
    ...comments.map((c) => ({ start: c.span.start, end: c.span.end, comment: c })),
  ].sort((a, b) => a.start - b.start);
  const placed: PlacedComment[] = [];
  marks.forEach((m, i) => {
    const c = m.comment;
    if (c === null) return;
    const prev = marks[i - 1];
    const next = marks[i + 1];
    const before = lineBreaks(text.slice(prev?.end ?? 0, m.start));
    const normalized = c.text.replace(/\r\n?/g, "\n");
    placed.push({
      start: m.start,
      end: m.end,
      text: c.block ? normalized : normalized.trimEnd(),
      block: c.block,
      newlineBefore: prev === undefined || before > 0,
      blankBefore: before > 1,
      newlineAfter: next === undefined || lineBreaks(text.slice(m.end, next.start)) > 0,
    });
  });
  return placed;
}

// ---- the formatter --------------------------------------------------------------------------

type ItemGroup = "header" | "let" | "rule" | "test" | "property";

function itemGroup(item: A.Item): ItemGroup {
  switch (item.kind) {
    case "let":
    case "rule":
    case "test":
    case "property":
      return item.kind;
    default:
      return "header";
  }
}

class Formatter {
  private readonly comments: PlacedComment[];
  /** The next comment not yet printed. Documents are built in source order, so it only moves on. */
  private next = 0;

  constructor(
    private readonly text: string,
    private readonly ast: A.FileNode,
    private readonly tokens: readonly Token[],
  ) {
    this.comments = placeComments(text, ast.comments, tokens);
  }

  file(): string {
    const lines: string[] = [];
    /** Whether a comment may still be appended to the last line (it does not end in a line comment). */
    let open = false;
    const appendTrailing = (c: PlacedComment): void => {
      const last = lines.length - 1;
      lines[last] = lines[last]!.trimEnd() + (c.block ? " " : "  ") + c.text;
      open = c.block;
    };
    const ownLine = (c: PlacedComment): void => {
      lines.push(c.text);
      open = c.block;
    };
    let prev: A.Item | null = null;
    let prevEnd = 0;
    for (const item of this.ast.items) {
      if (prev !== null) {
        for (let c = this.peek(item.span.start); open && c !== undefined && !c.newlineBefore; c = this.peek(item.span.start)) {
          appendTrailing(c);
          prevEnd = c.end;
          this.next++;
        }
      }
      const leading = this.take(item.span.start);
      if (prev !== null) {
        const userBlank = lineBreaks(this.text.slice(prevEnd, leading[0]?.start ?? item.span.start)) > 1;
        const g = itemGroup(item);
        if (g !== itemGroup(prev) || g === "rule" || g === "test" || userBlank) lines.push("");
      }
      leading.forEach((c, i) => {
        if (i > 0 && c.blankBefore) lines.push("");
        if (i > 0 && !c.newlineBefore && open) appendTrailing(c);
        else ownLine(c);
      });
      const lastLeading = leading[leading.length - 1];
      if (lastLeading !== undefined && lineBreaks(this.text.slice(lastLeading.end, item.span.start)) > 1) lines.push("");
      const printed = printDoc(this.item(item));
      for (const line of printed.lines) lines.push(line);
      open = printed.open;
      prev = item;
      prevEnd = item.span.end;
    }
    // comments after the last item: trailing on its last line, then on their own lines
    this.take(Infinity).forEach((c, i) => {
      if (lines.length > 0 && !c.newlineBefore && open && (i > 0 || prev !== null)) appendTrailing(c);
      else {
        if (lines.length > 0 && c.blankBefore) lines.push("");
        ownLine(c);
      }
    });
    const out = lines
      .join("\n")
      .split("\n")
      .map((l) => l.trimEnd());
    while (out.length > 0 && out[out.length - 1] === "") out.pop();
    return out.length === 0 ? "" : `${out.join("\n")}\n`;
  }

  // ---- comment gaps ----

  private peek(before: number): PlacedComment | undefined {
    const c = this.comments[this.next];
    return c !== undefined && c.start < before ? c : undefined;
  }

  private take(before: number): PlacedComment[] {
    const taken: PlacedComment[] = [];
    for (let c = this.peek(before); c !== undefined; c = this.peek(before)) {
      taken.push(c);
      this.next++;
    }
    return taken;
  }

  /** A comment that continues the line it is on. */
  private trailing(c: PlacedComment): Doc {
    const text: CommentDoc = { t: "comment", text: c.text };
    return c.block ? [sep("space"), text, c.newlineAfter ? hardline : sep("pending")] : [sep("two"), text, hardline];
  }

  /** A comment that starts its own line. */
  private ownLine(c: PlacedComment): Doc {
    const text: CommentDoc = { t: "comment", text: c.text };
    return [hardline, text, !c.block || c.newlineAfter ? hardline : sep("pending")];
  }

  /** The comments before `pos` that sit on the same line as the code before them. */
  private gapTrailing(pos: number): Doc {
    const docs: Doc[] = [];
    for (let c = this.peek(pos); c !== undefined && !c.newlineBefore; c = this.peek(pos)) {
      docs.push(this.trailing(c));
      this.next++;
    }
    return docs;
  }

  /** All remaining comments before `pos`; the first of them starts its own line. */
  private gapOwn(pos: number): Doc {
    return this.take(pos).map((c) => (c.newlineBefore ? this.ownLine(c) : this.trailing(c)));
  }

  private gap(pos: number): Doc {
    return [this.gapTrailing(pos), this.gapOwn(pos)];
  }

  /** `text` preceded by the comments before the token at `pos` (a keyword without a node). */
  private keyword(pos: number, text: string): Doc {
    return [this.gap(pos), text];
  }

  /** `from "G" quorum N timeout D grant SCOPE D up to N of PATH`, the clauses written, in that order. */
  private approvalClauses(e: { from: A.StringNode | null; fromName: A.PathExpr | null; quorum: A.NumberNode | null; timeout: A.DurationNode | null; grant: A.GrantNode | null }): Doc {
    const g = e.grant;
    return [
      e.from ? this.keywordThen(e.from.span.start, " from", () => quoteString(e.from!.value)) : "",
      e.fromName ? this.keywordThen(e.fromName.span.start, " from", () => this.path(e.fromName!)) : "",
      e.quorum ? this.keywordThen(e.quorum.span.start, " quorum", () => e.quorum!.raw) : "",
      e.timeout ? this.keywordThen(e.timeout.span.start, " timeout", () => e.timeout!.raw) : "",
      g
        ? [
            this.keywordThen(g.scope.span.start, " grant", () => this.path(g.scope)),
            g.duration ? [this.gap(g.duration.span.start), " ", g.duration.raw] : "",
            g.limit ? this.keywordThen(g.limit.span.start, " up to", () => g.limit!.raw) : "",
            g.amount ? this.keywordThen(g.amount.span.start, " of", () => this.path(g.amount!)) : "",
          ]
        : "",
    ];
  }

  /** A keyword followed by its operand: comments keep their side of the keyword. */
  private keywordThen(anchor: number, text: string, operand: () => Doc): Doc {
    return [this.gap(this.tokenBefore(anchor)), text, this.gap(anchor), " ", operand()];
  }

  // ---- items ----

  private item(item: A.Item): Doc {
    return [this.itemBody(item), this.gap(item.span.end)];
  }

  private itemBody(item: A.Item): Doc {
    switch (item.kind) {
      case "policy":
        return [
          "policy",
          item.name ? [this.gap(item.name.span.start), " ", item.name.name] : "",
          item.version ? this.keywordThen(item.version.span.start, " version", () => quoteString(item.version!.value)) : "",
        ];
      case "schema":
        return ["schema", item.path ? [this.gap(item.path.span.start), " ", quoteString(item.path.value)] : ""];
      case "default":
        if (item.effect === "require_approval") {
          return ["default require approval", this.approvalClauses(item)];
        }
        return ["default", item.effect ? [this.gap(this.lastTokenStart(item.span)), " ", item.effect] : ""];
      case "timezone":
        return ["timezone", item.zone ? [this.gap(item.zone.span.start), " ", quoteString(item.zone.value)] : ""];
      case "let":
        return ["let", item.name ? [this.gap(item.name.span.start), " ", item.name.name] : "", this.keywordThen(item.value.span.start, " =", () => this.expr(item.value, 2))];
      case "rule":
        return this.rule(item);
      case "test":
        return this.test(item);
      case "import":
        return [
          "import",
          item.path ? [this.gap(item.path.span.start), " ", quoteString(item.path.value)] : "",
          item.name ? this.keywordThen(item.name.span.start, " as", () => item.name!.name) : "",
          item.params ? this.keywordThen(item.params.span.start, " with", () => this.data(item.params!)) : "",
        ];
      case "param":
        return [
          "param",
          item.name ? [this.gap(item.name.span.start), " ", item.name.name, ":"] : "",
          item.type ? [this.gap(item.type.span.start), " ", item.list ? `[${item.type.name}]` : item.type.name] : "",
          item.value ? this.keywordThen(item.value.span.start, " =", () => this.data(item.value!)) : "",
        ];
      case "disable":
        return ["disable", item.target.length > 0 ? [this.gap(item.target[0]!.span.start), " ", item.target.map((t) => t.name).join(".")] : ""];
      case "override":
        return this.rule(item.rule, "override");
      case "property":
        return this.property(item);
    }
  }

  /** `property NAME: always OUTCOME or OUTCOME when CONDITION`, on one line when it fits. */
  private property(p: A.PropertyDecl): Doc {
    const words = (o: A.PropertyOutcome): string => (o === "require_approval" ? "require approval" : o);
    const outcomes: Doc[] = p.outcomes.map((o, i) => [i === 0 ? "" : " or", this.gap(o.span.start), " ", words(o.outcome)]);
    const condition = p.condition;
    return group([
      "property",
      p.name ? [this.gap(p.name.span.start), " ", p.name.name, ":"] : "",
      p.mode ? [" ", p.mode] : "",
      outcomes,
      condition ? indent(2, [line, this.keywordThen(condition.span.start, "when", () => this.expr(condition, 4))]) : "",
    ]);
  }

  private rule(r: A.RuleDecl, keyword: "rule" | "override" = "rule"): Doc {
    const condStart = r.condition.span.start;
    const effectStart = r.effect?.span.start ?? r.span.end;
    if (r.anonymous || r.name === null) {
      const condition = [this.gap(condStart), " ", this.expr(r.condition, 4)];
      return group(["when", condition, indent(2, [this.gapTrailing(effectStart), line, this.gapOwn(effectStart), this.effect(r.effect)])]);
    }
    const whenStart = this.lineStartAnchor(condStart);
    return [
      keyword,
      this.gap(r.name.span.start),
      " ",
      r.name.name,
      r.stage ? this.keywordThen(r.stage.span.start, " on", () => r.stage!.name) : "",
      indent(2, [
        this.gapTrailing(whenStart),
        hardline,
        this.gapOwn(whenStart),
        "when",
        this.gap(condStart),
        " ",
        this.expr(r.condition, 2),
        this.gapTrailing(effectStart),
        hardline,
        this.gapOwn(effectStart),
        this.effect(r.effect),
      ]),
    ];
  }

  private effect(e: A.EffectNode | null): Doc {
    if (e === null) return "";
    let body: Doc;
    switch (e.kind) {
      case "allow":
      case "deny":
        body = e.kind;
        break;
      case "require_approval":
        body = ["require", this.keyword(this.lastTokenStart({ start: e.span.start, end: e.span.start + 1 }, 1), " approval"), this.approvalClauses(e)];
        break;
      case "label":
        body = ["label", e.label ? [this.gap(e.label.span.start), " ", quoteString(e.label.value)] : ""];
        break;
      case "redact":
        body = [
          "redact",
          e.path ? [this.gap(e.path.span.start), " ", this.path(e.path)] : "",
          e.regex ? this.keywordThen(e.regex.span.start, " matching", () => regexText(e.regex!)) : "",
          e.text ? this.keywordThen(e.text.span.start, " with", () => (e.text!.kind === "string" ? quoteString(e.text!.value) : e.text!.name)) : "",
        ];
        break;
    }
    return [body, e.reason ? this.keywordThen(e.reason.span.start, " because", () => quoteString(e.reason!.value)) : ""];
  }

  // ---- expressions ----

  /** `chainIndent`: how far the lines of a broken `and`/`or` chain at the top of `e` are indented. */
  private expr(e: A.Expr, chainIndent: number): Doc {
    switch (e.kind) {
      case "missing":
        return "";
      case "literal":
        return this.literal(e);
      case "list":
        return this.list(e.elements, e.span, (el) => this.expr(el, 2));
      case "path":
        return this.path(e);
      case "call":
        return [
          e.callee.name,
          this.keyword(this.tokenBefore(e.argument.span.start), "("),
          this.gap(e.argument.span.start),
          this.expr(e.argument, 2),
          e.clause ? this.keywordThen(e.clause.expr.span.start, ` ${e.clause.keyword}`, () => this.expr(e.clause!.expr, 2)) : "",
          e.window ? this.keywordThen(e.window.span.start, " within", () => e.window!.raw) : "",
          e.scope ? this.keywordThen(e.scope.path.span.start, " per", () => this.path(e.scope!.path)) : "",
          this.gap(e.span.end),
          ")",
        ];
      case "not":
        return ["not", this.gap(e.operand.span.start), " ", this.expr(e.operand, 2)];
      case "and":
      case "or": {
        const [first, ...rest] = e.operands;
        // a chain nested in the first operand breaks deeper than this chain's own operators
        const head = first ? this.expr(first, chainIndent + 2) : "";
        const tail = rest.map((op): Doc => {
          const at = this.lineStartAnchor(op.span.start);
          return [this.gapTrailing(at), line, this.gapOwn(at), e.kind, this.gap(op.span.start), " ", this.expr(op, 2)];
        });
        return group([head, indent(chainIndent, tail)]);
      }
      case "compare":
        return [this.expr(e.left, 2), this.gap(e.opSpan.start), ` ${e.op}`, this.gap(e.right.span.start), " ", this.expr(e.right, 2)];
      case "between":
        return [this.expr(e.value, 2), this.keywordThen(e.low.span.start, " between", () => this.expr(e.low, 2)), this.keywordThen(e.high.span.start, " and", () => this.expr(e.high, 2))];
      case "matches":
        return [this.expr(e.value, 2), e.regex ? this.keywordThen(e.regex.span.start, " matches", () => regexText(e.regex!)) : " matches"];
      case "paren":
        return ["(", this.gap(e.expr.span.start), this.expr(e.expr, 2), this.gap(e.span.end), ")"];
      case "quantifier": {
        const first = e.variable?.span.start ?? e.list.span.start;
        return [
          e.callee.name,
          this.keyword(this.tokenBefore(first), "("),
          e.variable ? [this.gap(e.variable.span.start), e.variable.name] : "",
          this.keywordThen(e.list.span.start, " in", () => this.expr(e.list, 2)),
          this.keyword(this.tokenBefore(e.condition.span.start), ":"),
          this.gap(e.condition.span.start),
          " ",
          this.expr(e.condition, 2),
          this.gap(e.span.end),
          ")",
        ];
      }
      case "arith":
        return [this.expr(e.left, 2), this.gap(e.opSpan.start), ` ${e.op}`, this.gap(e.right.span.start), " ", this.expr(e.right, 2)];
    }
  }

  private literal(l: A.LiteralExpr | A.DataLiteral): Doc {
    if (typeof l.value === "string") return quoteString(l.value);
    if (l.raw.startsWith("-")) return ["-", this.gap(l.span.end - (l.raw.length - 1)), l.raw.slice(1)];
    return l.raw;
  }

  private path(p: A.PathExpr): Doc {
    return p.segments.map((s, i): Doc => (i === 0 ? s.name : [this.gap(this.tokenBefore(s.span.start)), ".", this.gap(s.span.start), s.name]));
  }

  /** `[a, b]`, or one element a line with a trailing comma when it does not fit. */
  private list<T extends { readonly span: Span }>(elements: readonly T[], s: Span, print: (el: T) => Doc): Doc {
    if (elements.length === 0 && this.peek(s.end) === undefined) return "[]";
    const body = elements.map((el, i): Doc => [i > 0 ? "," : "", this.gapTrailing(el.span.start), i > 0 ? line : softline, this.gapOwn(el.span.start), print(el)]);
    return group(["[", indent(2, [body, elements.length > 0 ? ifBreak(",") : "", this.gapTrailing(s.end), this.gapOwn(s.end)]), softline, "]"]);
  }

  // ---- tests ----

  private test(t: A.TestDecl): Doc {
    const head: Doc = ["test", t.name ? [this.gap(t.name.span.start), " ", quoteString(t.name.value)] : "", " {"];
    if (t.steps.length === 0 && this.peek(t.span.end) === undefined) return [head, "}"];
    const steps = t.steps.map((s): Doc => [this.gapTrailing(s.span.start), hardline, this.gapOwn(s.span.start), this.step(s)]);
    return [head, indent(2, [steps, this.gapTrailing(t.span.end), this.gapOwn(t.span.end)]), hardline, "}"];
  }

  private step(s: A.TestStep): Doc {
    switch (s.kind) {
      case "given":
        return [s.key.name, s.value ? [this.gap(s.value.span.start), " ", this.data(s.value)] : ""];
      case "history": {
        const repeat = s.repeat !== null ? this.repeatToken(s) : undefined;
        const p = s.placement;
        let placement: Doc = "";
        if (p !== null) {
          const target = p.kind === "at" ? p.time : p.duration;
          const targetText = target === null ? "" : "raw" in target ? target.raw : quoteString(target.value);
          placement = [this.gap(p.span.start), " ", p.kind, target ? [this.gap(target.span.start), " ", targetText] : ""];
        }
        const entry = s.entry;
        return [
          "history",
          repeat ? [this.gap(repeat.startOffset), " ", repeat.image] : s.repeat !== null ? [" ", String(s.repeat)] : "",
          s.repeat !== null && entry ? this.keyword(this.tokenBefore(entry.span.start), " of") : "",
          entry ? [this.gap(entry.span.start), " ", this.data(entry)] : "",
          s.labels ? [this.keyword(this.tokenBefore(s.labels.span.start), " labels"), this.gap(s.labels.span.start), " ", this.data(s.labels)] : "",
          placement,
        ];
      }
      case "expect": {
        const o = s.outcome;
        let outcome: Doc;
        switch (o.kind) {
          case "decision":
            outcome = [this.gap(o.decision.span.start), " ", o.decision.name];
            break;
          case "error":
            outcome = this.keyword(this.lastTokenStart(s.span, 1), " error");
            break;
          case "approval":
            outcome = [this.keyword(this.lastTokenStart(s.span, 1), " approval"), o.group ? this.keywordThen(o.group.span.start, " from", () => quoteString(o.group!.value)) : ""];
            break;
          case "field":
            outcome = [this.gap(o.path.span.start), " ", this.path(o.path), o.expected ? this.keywordThen(o.expected.span.start, " ==", () => this.data(o.expected!)) : ""];
            break;
        }
        // anonymous rule ids ("policy.armor:deny-3f9a2c") are not identifiers and stay quoted
        const ruleName = (name: string): string => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : JSON.stringify(name));
        const by = s.by.map((b, i): Doc => (i === 0 ? this.keywordThen(b.span.start, " by", () => ruleName(b.name)) : [",", this.gap(b.span.start), " ", ruleName(b.name)]));
        return ["expect", outcome, by];
      }
    }
  }

  /**
   * Where the comments before `anchor` split around a keyword that starts a line of its own
   * (`when`, the `and` of a broken chain): comments after the keyword stay after it only when all
   * of them are inline block comments; otherwise every comment goes before the keyword, so that a
   * line comment after `and` does not leave the `and` alone on its line.
   */
  private lineStartAnchor(anchor: number): number {
    const keyword = this.tokenBefore(anchor);
    for (let i = this.next; i < this.comments.length; i++) {
      const c = this.comments[i]!;
      if (c.start >= anchor) break;
      if (c.start > keyword && (!c.block || c.newlineBefore || c.newlineAfter)) return anchor;
    }
    return keyword;
  }

  /** The start of the last token before `pos`: the keyword or operator in front of a node. */
  private tokenBefore(pos: number): number {
    const i = this.firstTokenAt(pos) - 1;
    return this.tokens[i]?.startOffset ?? pos;
  }

  /** The index of the first token starting at or after `pos`. */
  private firstTokenAt(pos: number): number {
    let lo = 0;
    let hi = this.tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tokens[mid]!.startOffset < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The start of the last token in `s`, or with `after` of the `after`-th token after the first
   * one in `s`: for the keywords that have no node of their own (`allow` in `default allow`,
   * `approval` in `require approval`), so that comments before them keep their place.
   */
  private lastTokenStart(s: Span, after?: number): number {
    const first = this.firstTokenAt(s.start);
    if (after !== undefined) return this.tokens[first + after]?.startOffset ?? s.end;
    return this.tokenBefore(s.end);
  }

  /** The number token of `history N of`, to print it as written. */
  private repeatToken(s: Extract<A.TestStep, { kind: "history" }>): Token | undefined {
    const t = this.tokens[this.firstTokenAt(s.span.start) + 1];
    return t !== undefined && t.tokenType.name === "NumberLiteral" ? t : undefined;
  }

  private data(v: A.DataValue): Doc {
    switch (v.kind) {
      case "literal":
        return this.literal(v);
      case "list":
        return this.list(v.elements, v.span, (el) => this.data(el));
      case "object": {
        if (v.entries.length === 0 && this.peek(v.span.end) === undefined) return "{}";
        const body = v.entries.map(
          (e, i): Doc => [
            i > 0 ? "," : "",
            this.gapTrailing(e.key.span.start),
            line,
            this.gapOwn(e.key.span.start),
            bareKey.test(e.key.name) ? e.key.name : quoteString(e.key.name),
            ":",
            this.gap(e.value.span.start),
            " ",
            this.data(e.value),
          ],
        );
        return group(["{", indent(2, [body, v.entries.length > 0 ? ifBreak(",") : "", this.gapTrailing(v.span.end), this.gapOwn(v.span.end)]), line, "}"]);
      }
    }
  }
}
