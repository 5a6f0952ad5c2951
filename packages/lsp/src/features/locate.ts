/**
 * What is at an offset: a let, a rule, a field read, a keyword. Shared by hover, definition,
 * references and rename; it reads only the analysis (the compiler's semantic model and AST).
 */
import type { AST, FieldReference, Span } from "@agent-armor/compiler";
import type { Analysis, PolicyAnalysis } from "../analysis.js";
import { touches } from "../positions.js";

export type Target =
  | { readonly kind: "let"; readonly name: string; readonly span: Span }
  | { readonly kind: "rule"; readonly name: string; readonly span: Span }
  | { readonly kind: "field"; readonly ref: FieldReference; readonly span: Span }
  | { readonly kind: "word"; readonly word: string; readonly span: Span };

/** The `by RULE` names of the tests in a file. */
export function byReferences(ast: AST.FileNode): AST.Ident[] {
  const out: AST.Ident[] = [];
  for (const item of ast.items) {
    if (item.kind !== "test") continue;
    for (const step of item.steps) if (step.kind === "expect") out.push(...step.by);
  }
  return out;
}

function wordAt(text: string, offset: number): { word: string; span: Span } | null {
  let start = offset;
  let end = offset;
  while (start > 0 && /[A-Za-z0-9_]/.test(text[start - 1]!)) start--;
  while (end < text.length && /[A-Za-z0-9_]/.test(text[end]!)) end++;
  if (start === end) return null;
  return { word: text.slice(start, end), span: { start, end } };
}

function policyTarget(a: PolicyAnalysis, offset: number): Target | null {
  const model = a.compilation.model;
  for (const sym of model.lets.values()) {
    if (sym.decl.name && touches(sym.decl.name.span, offset)) return { kind: "let", name: sym.name, span: sym.decl.name.span };
    for (const r of sym.references) if (touches(r, offset)) return { kind: "let", name: sym.name, span: r };
  }
  for (const sym of model.rules.values()) {
    if (sym.decl.name && touches(sym.decl.name.span, offset)) return { kind: "rule", name: sym.id, span: sym.decl.name.span };
    for (const r of sym.references) if (touches(r, offset)) return { kind: "rule", name: sym.id, span: r };
  }
  let best: FieldReference | null = null;
  for (const ref of model.fieldReferences) {
    if (touches(ref.span, offset) && (!best || ref.span.end - ref.span.start < best.span.end - best.span.start)) best = ref;
  }
  if (best) return { kind: "field", ref: best, span: best.span };
  return null;
}

export function targetAt(a: Analysis, offset: number): Target | null {
  if (a.kind === "policy") {
    const t = policyTarget(a, offset);
    if (t) return t;
  } else {
    for (const id of byReferences(a.ast)) if (touches(id.span, offset)) return { kind: "rule", name: id.name, span: id.span };
  }
  const w = wordAt(a.text, offset);
  return w ? { kind: "word", word: w.word, span: w.span } : null;
}

/** The top-level item that contains an offset (its end included). */
export function itemAt(ast: AST.FileNode, offset: number): AST.Item | null {
  for (const item of ast.items) if (item.span.start <= offset && offset <= item.span.end) return item;
  return null;
}

/** Every path expression in a condition (`user.role`, `action.type`, a bare field), in order. */
export function pathsIn(e: AST.Expr, visit: (p: AST.PathExpr) => void): void {
  switch (e.kind) {
    case "path":
      visit(e);
      break;
    case "list":
      for (const x of e.elements) pathsIn(x, visit);
      break;
    case "call":
      pathsIn(e.argument, visit);
      if (e.clause) pathsIn(e.clause.expr, visit);
      break;
    case "not":
      pathsIn(e.operand, visit);
      break;
    case "and":
    case "or":
      for (const x of e.operands) pathsIn(x, visit);
      break;
    case "compare":
    case "arith":
      pathsIn(e.left, visit);
      pathsIn(e.right, visit);
      break;
    case "between":
      pathsIn(e.value, visit);
      pathsIn(e.low, visit);
      pathsIn(e.high, visit);
      break;
    case "matches":
      pathsIn(e.value, visit);
      break;
    case "paren":
      pathsIn(e.expr, visit);
      break;
    case "quantifier":
      pathsIn(e.list, visit);
      pathsIn(e.condition, visit);
      break;
    default:
      break;
  }
}
