/**
 * `armorc replay`'s report as text and as JSON (the HTML report is replay-html.ts). Every text
 * that comes from the log (sessions, actions, rule ids) is untrusted: the text report shows it
 * with control and bidi characters escaped, so that a log cannot write terminal escapes.
 */
import type { ReplayExample, ReplayFileResult, ReplayReport } from "@agent-armor/runtime";

/** What the command ran on, for the report's head. */
export interface ReplayRun {
  log: string;
  policy: string;
  noVerify: boolean;
  result: ReplayFileResult;
}

/** The JSON report's shape version: bumped when a field changes meaning or goes away. */
export const REPLAY_JSON_VERSION = 1;

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Untrusted text for a terminal: control, line-separator and bidi characters as `\uXXXX`. */
export function plain(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const arrow = (pair: string): string => pair.replace("->", " -> ");
const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;

/** The chain's verification in one line. */
export function chainLine(run: ReplayRun): string {
  const v = run.result.verification;
  if (v.ok) {
    const notes = [v.tornTail ? "a torn last line ignored" : "", v.gaps.length > 0 ? count(v.gaps.length, "gap record") : ""].filter((s) => s !== "");
    return `chain verified: ${count(v.records, "record")}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
  }
  const p = v.problem!;
  const head = `chain NOT verified: line ${p.line}: ${p.message}`;
  return run.noVerify ? `${head}; replayed anyway (--no-verify)` : head;
}

/** The exit code: 0 nothing changed, 1 decisions changed, 2 not replayed, or decisions that could not be reconstructed. */
export function exitCode(report: ReplayReport | null): number {
  if (report === null) return 2;
  if (report.changed > 0) return 1;
  return report.notReconstructed.count > 0 ? 2 : 0;
}

function summary(r: ReplayReport): string {
  const n = (v: number): string => v.toLocaleString("en-US");
  const parts = [`${n(r.changed)} changed`, `${n(r.replayed - r.changed)} unchanged`];
  if (r.notReconstructed.count > 0) parts.push(`${n(r.notReconstructed.count)} not reconstructed`);
  if (r.outsideSchema > 0) parts.push(`${n(r.outsideSchema)} outside --schema`);
  return `${count(r.decisions, "recorded decision")}, ${n(r.replayed)} replayed: ${parts.join(", ")}`;
}

function example(e: ReplayExample): string[] {
  const rules = (ids: readonly string[]): string => (ids.length === 0 ? "no rule" : ids.map(plain).join(", "));
  return [
    `    line ${e.line}  ${plain(e.time)}  session ${plain(e.session)}  ${plain(e.actionType ?? "?")} ${plain(e.action)}`,
    `      old: ${e.old.decision} (${rules(e.old.rules)})`,
    `      new: ${e.new.decision} (${rules(e.new.rules)})${e.new.errors.length > 0 ? `: ${e.new.errors.map(plain).join("; ")}` : ""}`,
  ];
}

export function renderText(run: ReplayRun): string {
  const out = [`audit log ${plain(run.log)}: ${plain(chainLine(run))}`];
  const r = run.result.replay;
  if (r === null) {
    out.push("not replayed: the log does not verify (replay it anyway with --no-verify)");
    return `${out.join("\n")}\n`;
  }
  out.push(`candidate ${plain(r.candidate.name)}${r.candidate.version === null ? "" : ` ${plain(r.candidate.version)}`} (${plain(run.policy)})`);
  out.push(summary(r));
  const flips = Object.entries(r.pairs).filter(([p]) => p.split("->")[0] !== p.split("->")[1]);
  if (flips.length > 0) {
    out.push("", "changes by decision:");
    const w = Math.max(...flips.map(([p]) => arrow(p).length));
    for (const [p, n] of flips.sort((a, b) => b[1] - a[1])) out.push(`  ${arrow(p).padEnd(w)}  ${n}`);
  }
  if (r.rules.length > 0) {
    out.push("", "rules (in replayed decisions):");
    for (const c of r.rules.slice(0, 50)) {
      const what = [c.newlyFires > 0 ? `newly fires in ${c.newlyFires}` : "", c.stopsFiring > 0 ? `stops firing in ${c.stopsFiring}` : ""].filter((s) => s !== "");
      out.push(`  ${plain(c.rule)}: ${what.join(", ")}`);
    }
    if (r.rules.length > 50) out.push(`  ... and ${count(r.rules.length - 50, "more rule")} (--format json lists them all)`);
  }
  for (const [p, list] of Object.entries(r.examples)) {
    out.push("", `${arrow(p)}: first ${list.length} of ${r.pairs[p] ?? list.length}`);
    for (const e of list) out.push(...example(e));
  }
  if (r.notReconstructed.count > 0) {
    out.push("", "not reconstructed (not compared; the log lacks what the candidate needs):");
    for (const g of r.notReconstructed.reasons) out.push(`  ${g.count}  ${g.reason} (${gapLines(g)})`);
  }
  const notes: string[] = [];
  const { result, output } = r.stagesNotReplayed;
  if (result + output > 0) notes.push(`${count(result, "result record")} and ${count(output, "output record")} not decided again: the log keeps a hash of each value, not the value`);
  for (const stage of ["result", "output"] as const) {
    const rules = r.stageRules[stage];
    if (r.stagesNotReplayed[stage] > 0)
      notes.push(
        `  ${stage}: ${
          rules.length === 0
            ? `the candidate has no \`on ${stage}\` rule`
            : `the candidate's \`on ${stage}\` rules ${rules
                .slice(0, 20)
                .map((x) => `\`${x}\``)
                .join(", ")}${rules.length > 20 ? ", ..." : ""} would need the value`
        }`,
      );
  }
  if (r.unreadable.count > 0) notes.push(`${count(r.unreadable.count, "line")} not a record (first: line ${r.unreadable.firstLine})`);
  if (r.lost > 0) notes.push(`${count(r.lost, "record")} missing from the log (gap records, skipped seq numbers)`);
  if (notes.length > 0) out.push("", ...notes);
  return `${out.join("\n")}\n`;
}

/** `line 3` or `lines 3, 7, 9, ...`: the first lines of a reason's records. */
export function gapLines(g: { count: number; lines: number[] }): string {
  const lines = g.lines;
  return `${lines.length === 1 ? "line" : "lines"} ${lines.join(", ")}${g.count > lines.length ? ", ..." : ""}`;
}

/** The JSON report (its shape is documented in docs/cli.md, `armorc replay`). */
export function renderJson(run: ReplayRun): string {
  const v = run.result.verification;
  const doc = {
    version: REPLAY_JSON_VERSION,
    log: run.log,
    policy: run.policy,
    chain: {
      verified: v.ok,
      records: v.records,
      problem: v.problem === null ? null : { line: v.problem.line, kind: v.problem.kind, message: v.problem.message },
      tornTail: v.tornTail,
      gaps: v.gaps.length,
      noVerify: run.noVerify,
    },
    replay: run.result.replay,
    exitCode: exitCode(run.result.replay),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
