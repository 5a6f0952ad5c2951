/** Hover: field types and schema descriptions, let values, rule summaries, keyword docs. */

import { type AST, facts, type Span, typeName } from "@agent-armor/compiler";
import { type Hover, MarkupKind } from "vscode-languageserver";
import type { Analysis, PolicyAnalysis, Project } from "../analysis.js";
import { toRange } from "../positions.js";
import { importHover } from "./imports.js";
import { pathsIn, targetAt } from "./locate.js";

function md(value: string, a: Analysis, span: { start: number; end: number }): Hover {
  return { contents: { kind: MarkupKind.Markdown, value }, range: toRange(a.source, span) };
}

function duration(ms: number): string {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function ruleSummary(policy: PolicyAnalysis, id: string): string | null {
  const rule = policy.compilation.policy.rules.find((r) => r.id === id);
  if (!rule) return null;
  const e = rule.effect;
  const effect =
    e.kind === "require_approval"
      ? `require approval${e.from ? ` from ${JSON.stringify(e.from)}` : ""}${e.quorum !== 1 ? ` quorum ${e.quorum}` : ""}${e.timeoutMs !== null ? ` timeout ${duration(e.timeoutMs)}` : ""}${e.grant ? ` grant ${e.grant.scope} ${duration(e.grant.durationMs)}${e.grant.upTo !== null ? ` up to ${e.grant.upTo} of ${e.grant.of}` : ""}` : ""}`
      : e.kind === "redact"
        ? `redact ${e.path.join(".")}`
        : e.kind;
  const lines = [`**rule** \`${rule.id}\`: ${effect}`];
  if (rule.reason) lines.push(`because ${JSON.stringify(rule.reason)}`);
  if (rule.actionTypes) lines.push(`for ${rule.actionTypes.map((t) => `\`${t}\``).join(", ")}`);
  lines.push(`line ${rule.line}${policy.kind === "policy" ? ` of ${policy.source.name.split(/[\\/]/).pop()}` : ""}`);
  return lines.join("\n\n");
}

/** A local of `any`/`all` at `offset` (where it is bound or used): what it ranges over. */
function localHover(a: Analysis, policy: PolicyAnalysis | null, offset: number): Hover | null {
  if (a.kind !== "policy" || !policy) return null;
  for (const l of policy.compilation.model.locals) {
    const at = [l.span, ...l.references].find((s) => s.start <= offset && offset <= s.end);
    if (!at) continue;
    const lines = [`\`${l.name}\`: an element of \`${l.listText}\`${l.element ? `, ${typeName(l.type)}` : ""}`, "local to the condition of this `any(...)` or `all(...)`"];
    if (l.element?.description) lines.push(l.element.description);
    if (l.element?.fields) lines.push(`fields: ${[...l.element.fields.keys()].map((f) => `\`${f}\``).join(", ")}`);
    return md(lines.join("\n\n"), a, at);
  }
  return null;
}

/**
 * `user.X` / `context.X` (no schema describes them): where the value comes from, and the rules
 * that read it (the path, or a longer one through it).
 */
function inputHover(a: Analysis, offset: number): Hover | null {
  if (a.kind !== "policy") return null;
  const rules = a.compilation.ast.items.filter((i): i is AST.RuleDecl => i.kind === "rule");
  let hit: { names: string[]; span: Span } | null = null;
  for (const rule of rules) {
    if (hit || offset < rule.span.start || offset > rule.span.end) continue;
    pathsIn(rule.condition, (p) => {
      const root = p.segments[0]?.name;
      if (hit || (root !== "user" && root !== "context")) return;
      const i = p.segments.findIndex((s) => s.span.start <= offset && offset <= s.span.end);
      if (i >= 1) hit = { names: p.segments.slice(0, i + 1).map((s) => s.name), span: { start: p.span.start, end: p.segments[i]!.span.end } };
    });
  }
  if (hit === null) return null;
  const { names, span } = hit as { names: string[]; span: Span };
  const readers: string[] = [];
  for (const rule of rules) {
    let reads = false;
    pathsIn(rule.condition, (p) => {
      reads ||= names.every((n, k) => p.segments[k]?.name === n);
    });
    if (!reads) continue;
    const ir = a.compilation.policy.rules.find((r) => r.span.start === rule.span.start);
    const id = rule.name?.name ?? ir?.id ?? "an anonymous rule";
    readers.push(`\`${id}\` (line ${a.source.positionAt(rule.span.start).line + 1})`);
  }
  const root = names[0]!;
  const lines = [
    `\`${names.join(".")}\`: any value, or \`null\` when missing`,
    `from the decision input's \`${root}\`, which the host (the runtime's caller, the gateway or the decision service's client) supplies with each decision; no schema describes it, so it is not checked (a field of a non-object reads as \`null\`)`,
    `read by ${readers.join(", ")}`,
  ];
  return md(lines.join("\n\n"), a, span);
}

export function hover(a: Analysis, project: Project, offset: number): Hover | null {
  const imported = a.kind === "policy" ? importHover(a, offset) : null;
  if (imported !== null) return imported;
  const policy = project.policyOf(a);
  const local = localHover(a, policy, offset);
  if (local) return local;
  const input = inputHover(a, offset);
  if (input) return input;
  const target = targetAt(a, offset);
  if (target) {
    switch (target.kind) {
      case "let": {
        const sym = policy?.compilation.model.lets.get(target.name);
        if (!sym) return null;
        const valueText = a.kind === "policy" ? a.text.slice(sym.decl.value.span.start, sym.decl.value.span.end) : JSON.stringify(sym.value);
        return md(`\`\`\`armor\nlet ${sym.name} = ${valueText}\n\`\`\`\n${typeName(sym.type)}${sym.value !== undefined ? `: \`${JSON.stringify(sym.value)}\`` : ""}`, a, target.span);
      }
      case "rule": {
        const summary = policy ? ruleSummary(policy, target.name) : null;
        return summary ? md(summary, a, target.span) : null;
      }
      case "field": {
        const { ref } = target;
        // `current.F` inside a history condition: on `current` itself, what `current` is
        const current = a.text.startsWith("current.", target.span.start);
        if (current && offset < target.span.start + "current".length) return md(facts.roots.find((r) => r.name === "current")!.doc, a, target.span);
        const name = `${current ? "current" : ref.root === "item" ? "earlier action" : ref.root === "result" ? "result" : "action"}.${ref.path.join(".")}`;
        if (ref.path.length === 1 && ref.path[0] === "type") return md(`\`${name}\`: a string\n\nthe action type`, a, target.span);
        const lines = [`\`${name}\`: ${ref.info ? typeName(ref.info.type) : "any value (not in the schema)"}`];
        if (ref.info?.description) lines.push(ref.info.description);
        if (ref.info?.values) lines.push(`values: ${ref.info.values.map((v) => `\`${JSON.stringify(v)}\``).join(", ")}`);
        if (ref.info && !ref.info.required) lines.push("optional: a missing field reads as `null`");
        if (ref.actionTypes) lines.push(`in ${ref.actionTypes.map((t) => `\`${t}\``).join(", ")}`);
        return md(lines.join("\n\n"), a, target.span);
      }
      case "word": {
        const w = target.word;
        // `time.hour`: the member after `time.`
        const member = facts.timeFields.find((f) => f.name === w);
        if (a.text.slice(Math.max(0, target.span.start - 5), target.span.start) === "time." && member) {
          return md(`\`time.${w}\`: a ${member.type}\n\n${member.doc}`, a, target.span);
        }
        // `std.iban`: the detector after `std.`
        const detector = facts.detectorFact(w);
        if (a.text.slice(Math.max(0, target.span.start - 4), target.span.start) === "std." && detector) {
          return md(`${detector.doc}\n\n\`${detector.example}\``, a, target.span);
        }
        // `session.labels`, `output.text`: the member of a root that has a fixed one
        const root = /([A-Za-z_]\w*)\.$/.exec(a.text.slice(Math.max(0, target.span.start - 16), target.span.start))?.[1];
        if ((root === "session" && w === "labels") || (root === "output" && w === "text")) return md(facts.roots.find((r) => r.name === root)!.doc, a, target.span);
        // the stage of `rule ID on STAGE`: what the stage decides
        const stage = facts.stages.find((st) => st.name === w);
        if (stage && /\bon\s+$/.test(a.text.slice(Math.max(0, target.span.start - 8), target.span.start))) return md(stage.doc, a, target.span);
        // `deployment` of `per deployment`: the scope of every session
        if (w === "deployment" && /\bper\s+$/.test(a.text.slice(Math.max(0, target.span.start - 8), target.span.start))) return md(facts.keywordFact("deployment")!.doc, a, target.span);
        // `std` of `std.NAME`: what a detector is
        if (w === "std" && a.text[target.span.end] === ".") return md(facts.keywordFact("std")!.doc, a, target.span);
        const afterDot = a.text[target.span.start - 1] === ".";
        const doc = afterDot ? undefined : wordDoc(w);
        return doc ? md(doc, a, target.span) : null;
      }
    }
  }
  // operators, the two-character ones first
  for (const { symbol, doc } of facts.comparisons) {
    for (let start = offset - symbol.length; start <= offset; start++) {
      if (start >= 0 && a.text.startsWith(symbol, start)) return md(doc, a, { start, end: start + symbol.length });
    }
  }
  return null;
}

/**
 * The doc of a word the language gives a meaning. A contextual keyword (`at`, `ago`) is a plain
 * name outside its one place, so it has none here.
 */
function wordDoc(word: string): string | undefined {
  return facts.keywordFact(word)?.kind === "contextual" ? undefined : facts.wordDoc(word);
}
