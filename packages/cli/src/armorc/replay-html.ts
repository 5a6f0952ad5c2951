/**
 * `armorc replay --format html`: one self-contained page (no scripts, no external styles or
 * fonts, a Content-Security-Policy that allows none) with a bar chart of flips by kind as inline
 * SVG. The log is untrusted: every text from it goes through `escapeHtml` and nothing else.
 */
import type { ReplayExample } from "@agent-armor/runtime";
import { chainLine, exitCode, gapLines, plain, type ReplayRun } from "./replay-report.js";

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Text for HTML element content and quoted attribute values: control and bidi characters shown
 * as `\uXXXX` (as in the text report: a log must not reorder what the page shows), then the five
 * characters HTML gives meaning to as entities. Written here rather than taken from a library:
 * those are the whole job, and the page has no other templating.
 */
export function escapeHtml(text: string): string {
  return plain(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const COLORS: Record<string, string> = { allow: "#2e7d32", deny: "#c62828", require_approval: "#ef6c00", redact: "#6a1b9a" };

/** A horizontal bar chart of the flips by kind, as inline SVG. */
function chart(flips: readonly [string, number][]): string {
  if (flips.length === 0) return `<p class="none">No decision changed.</p>`;
  const max = Math.max(...flips.map(([, n]) => n));
  const rowH = 28;
  const labelW = 260;
  const barW = 420;
  const h = flips.length * rowH + 10;
  const rows = flips.map(([pair, n], i) => {
    const y = 5 + i * rowH;
    const w = Math.max(2, Math.round((n / max) * barW));
    const to = pair.split("->")[1] ?? "";
    const fill = COLORS[to] ?? "#455a64";
    return (
      `<text x="${labelW - 8}" y="${y + 18}" text-anchor="end">${escapeHtml(pair.replace("->", " \u2192 "))}</text>` +
      `<rect x="${labelW}" y="${y + 4}" width="${w}" height="${rowH - 10}" fill="${fill}"><title>${escapeHtml(`${pair}: ${n}`)}</title></rect>` +
      `<text x="${labelW + w + 6}" y="${y + 18}">${n}</text>`
    );
  });
  return `<svg role="img" aria-label="decisions that changed, by kind" width="${labelW + barW + 80}" height="${h}" viewBox="0 0 ${labelW + barW + 80} ${h}" xmlns="http://www.w3.org/2000/svg">${rows.join("")}</svg>`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

function exampleRows(list: readonly ReplayExample[]): string[][] {
  const rules = (ids: readonly string[]): string => (ids.length === 0 ? "(no rule)" : ids.join(", "));
  return list.map((e) => [
    String(e.line),
    e.time,
    e.session,
    e.action,
    `${e.old.decision} (${rules(e.old.rules)})`,
    `${e.new.decision} (${rules(e.new.rules)})${e.new.errors.length > 0 ? `: ${e.new.errors.join("; ")}` : ""}`,
  ]);
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#212121}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}td{word-break:break-all}
th{background:#f5f5f5}.bad{color:#c62828;font-weight:600}.ok{color:#2e7d32;font-weight:600}svg text{font:13px system-ui,sans-serif}
.none{color:#555}code{background:#f5f5f5;padding:0 .2rem}`;

export function renderHtml(run: ReplayRun): string {
  const v = run.result.verification;
  const r = run.result.replay;
  const body: string[] = [`<h1>Replay of <code>${escapeHtml(run.log)}</code></h1>`, `<p class="${v.ok ? "ok" : "bad"}">${escapeHtml(chainLine(run))}</p>`];
  if (r === null) {
    body.push(`<p class="bad">Not replayed: the log does not verify (replay it anyway with <code>--no-verify</code>).</p>`);
  } else {
    const flips = Object.entries(r.pairs)
      .filter(([p]) => p.split("->")[0] !== p.split("->")[1])
      .sort((a, b) => b[1] - a[1]);
    body.push(
      `<p>Candidate <code>${escapeHtml(r.candidate.name)}${r.candidate.version === null ? "" : ` ${escapeHtml(r.candidate.version)}`}</code> (<code>${escapeHtml(run.policy)}</code>), source hash <code>${escapeHtml(r.candidate.sourceHash.slice(0, 16))}</code>.</p>`,
      `<p>Replayed ${r.replayed} of ${r.decisions} recorded decisions: <strong>${r.changed} changed</strong>, ${r.replayed - r.changed} unchanged, ${r.notReconstructed.count} not reconstructed, ${r.outsideSchema} outside <code>--schema</code>. Exit code ${exitCode(r)}.</p>`,
      "<h2>Decisions that changed, by kind</h2>",
      chart(flips),
      "<h2>All replayed decisions, by pair</h2>",
      table(
        ["recorded", "candidate", "decisions"],
        Object.entries(r.pairs).map(([p, n]) => [p.split("->")[0] ?? "", p.split("->")[1] ?? "", String(n)]),
      ),
    );
    if (r.rules.length > 0) {
      body.push(
        "<h2>Rules that newly fire or stop firing</h2>",
        table(
          ["rule", "newly fires in", "stops firing in"],
          r.rules.map((c) => [c.rule, String(c.newlyFires), String(c.stopsFiring)]),
        ),
      );
    }
    for (const [pair, list] of Object.entries(r.examples)) {
      body.push(
        `<h2>${escapeHtml(pair.replace("->", " \u2192 "))}: first ${list.length} of ${r.pairs[pair] ?? list.length}</h2>`,
        table(["line", "time", "session", "action", "recorded", "candidate"], exampleRows(list)),
      );
    }
    if (r.notReconstructed.count > 0) {
      body.push(
        "<h2>Not reconstructed</h2>",
        table(
          ["decisions", "why", "the candidate's rules that need it", "records"],
          r.notReconstructed.reasons.map((g) => [String(g.count), g.reason, g.rules.join(", ") || "\u2014", gapLines(g)]),
        ),
      );
    }
    const { result, output } = r.stagesNotReplayed;
    const stageRules = (stage: "result" | "output"): string => (r.stageRules[stage].length === 0 ? "none" : r.stageRules[stage].join(", "));
    body.push(
      `<p class="none">${result} result and ${output} output records were not decided again (the log keeps a hash of each value, not the value; the candidate's rules that would need it: on result ${escapeHtml(stageRules("result"))}, on output ${escapeHtml(stageRules("output"))}); ${r.unreadable.count} lines were not records; ${r.lost} records are missing from the log.</p>`,
    );
  }
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>armorc replay: ${escapeHtml(run.log)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    ...body,
    "</body></html>",
    "",
  ].join("\n");
}
