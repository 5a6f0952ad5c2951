/** A diff's result as text (a terminal), JSON (tools) or Markdown (a pull-request comment). */
import type { DiffResult, Finding, SideDecision } from "./diff.js";

export type DiffFormat = "text" | "json" | "markdown";

export function renderDiff(r: DiffResult, format: DiffFormat): string {
  if (format === "json") return `${JSON.stringify(r, null, 2)}\n`;
  return format === "markdown" ? markdown(r) : text(r);
}

function label(f: Finding): string {
  const k = f.kind;
  if (k.redaction !== null) return `redaction ${k.redaction}`;
  return `${k.from} → ${k.to}`;
}

function summary(r: DiffResult): string {
  const changed = r.findings.filter((f) => f.status === "changed").length;
  if (r.status === "unchanged") return "no behaviour change (proved)";
  if (r.status === "changed") return `behaviour changes: ${changed} kind${changed === 1 ? "" : "s"} of change`;
  // every kind of change to calls is ruled out: what is left open is the rules listed below
  if (r.findings.every((f) => f.status === "unchanged"))
    return `unknown: no change to calls (proved), but ${r.notCompared.length === 1 ? "a rule the diff does not compare differs" : `${r.notCompared.length} rules the diff does not compare differ`} (not compared, below)`;
  return "unknown: no change found, but not every kind of change could be ruled out";
}

/** The rules responsible for one side's decision: a rule of the side's policy file by its line, an imported one by its file and line. */
function side(d: SideDecision, file: string): string {
  const at = (x: SideDecision["responsible"][number]): string => (x.file === file ? `line ${x.line}` : `${x.file}:${x.line}`);
  const who = d.responsible.length === 0 ? "the default" : d.responsible.map((x) => `${x.id} (${at(x)}${x.error ? `: ${x.error}` : ""})`).join(", ");
  return `${d.decision}${d.redacted ? " with redaction" : ""} by ${who}`;
}

function historyLines(f: Finding): string[] {
  return (f.example?.history ?? []).map((h) => `${h.predicate} = ${JSON.stringify(h.value)}`);
}

function caveats(r: DiffResult): string[] {
  const out: string[] = [];
  if (r.schema !== null) out.push(`inputs: only actions valid under the schema ${r.schema}`);
  for (const n of r.notEncoded) out.push(`not encoded: ${n.file}${n.line > 0 ? `:${n.line}:${n.column}` : ""}: ${n.what}`);
  if (r.notEncoded.length > 0)
    out.push(
      "  (proofs still hold: what is not encoded is left free, and arithmetic takes every value its rounding to doubles allows; examples it affects come from a bounded random search, labelled `search`)",
    );
  for (const n of r.notCompared) out.push(`not compared: rule ${n.rule} of ${n.file}: ${n.why}`);
  return out;
}

function text(r: DiffResult): string {
  const lines = [`${r.old} → ${r.new}: ${summary(r)}`];
  for (const f of r.findings) {
    if (f.status === "unchanged") continue;
    lines.push("");
    if (f.status === "unknown") {
      lines.push(`${label(f)}: unknown: ${f.note}`);
      continue;
    }
    const e = f.example!;
    lines.push(`${label(f)}${f.method === "search" ? ` (found by random search: ${f.note})` : ""}`);
    lines.push(`  input: ${JSON.stringify(e.input)}`);
    for (const h of historyLines(f)) lines.push(`  history: ${h}`);
    lines.push(`  old: ${side(e.old, r.old)}`);
    lines.push(`  new: ${side(e.new, r.new)}`);
  }
  const proved = r.findings.filter((f) => f.status === "unchanged").map(label);
  if (proved.length > 0 && r.status !== "unchanged") lines.push("", `proved impossible: ${proved.join(", ")}`);
  const notes = caveats(r);
  if (notes.length > 0) lines.push("", ...notes);
  return `${lines.join("\n")}\n`;
}

function markdown(r: DiffResult): string {
  const lines = [`### Policy diff: \`${r.old}\` → \`${r.new}\``, "", `**${summary(r)}**`, "", "| change | result |", "| --- | --- |"];
  for (const f of r.findings) {
    const result = f.status === "unchanged" ? "impossible (proved)" : f.status === "unknown" ? `unknown: ${f.note}` : f.method === "search" ? "**happens** (found by random search)" : "**happens**";
    lines.push(`| ${label(f)} | ${result} |`);
  }
  for (const f of r.findings) {
    if (f.status !== "changed") continue;
    const e = f.example!;
    lines.push("", `#### ${label(f)}`, "", `- old: ${side(e.old, r.old)}`, `- new: ${side(e.new, r.new)}`);
    for (const h of historyLines(f)) lines.push(`- history: \`${h}\``);
    lines.push("", "```json", JSON.stringify(e.input, null, 2), "```");
  }
  const notes = caveats(r);
  if (notes.length > 0) lines.push("", ...notes.map((n) => `> ${n.trim()}`));
  return `${lines.join("\n")}\n`;
}
