// Renders bench/RESULTS.md and bench/latency.svg from the results of bench/run.mjs.
import fs from "node:fs";
import path from "node:path";
import { lineChartLogLog } from "./svg.js";
import { BENCH } from "./util.js";

const PEERS = ["cedar-preparsed", "json-rules-engine", "casbin"];
const ORDER = ["handwritten", "handwritten-guarded", "agent-armor", "agent-armor-in-process", "agent-armor-interpreter", "cedar-preparsed", "json-rules-engine", "casbin"];
const LABEL = {
  handwritten: "hand-written JS (floor)",
  "handwritten-guarded": "hand-written JS with the language's guarantees",
  "agent-armor": "Agent Armor, compiled",
  "agent-armor-in-process": "Agent Armor, compiled in the deciding process",
  "agent-armor-interpreter": "Agent Armor, reference interpreter",
  "cedar-preparsed": "Cedar (cedar-wasm, preparsed)",
  "json-rules-engine": "json-rules-engine",
  casbin: "casbin",
};

export function fmtNs(x) {
  if (x == null || !Number.isFinite(x)) return "—";
  if (x < 10) return x.toFixed(2);
  if (x < 100) return x.toFixed(1);
  return Math.round(x).toLocaleString("en-US");
}
const fmtX = (x) => (x == null || !Number.isFinite(x) ? "—" : x < 10 ? `${x.toFixed(2)}×` : x < 100 ? `${x.toFixed(1)}×` : `${Math.round(x).toLocaleString("en-US")}×`);
const fmtUs = (ns) => (ns == null || !Number.isFinite(ns) ? "—" : ns < 10_000 ? `${(ns / 1000).toFixed(2)} µs` : ns < 1e6 ? `${(ns / 1000).toFixed(0)} µs` : `${(ns / 1e6).toFixed(1)} ms`);
const kib = (b) => (b / 1024).toFixed(0);
const mib = (b) => (b / 1048576).toFixed(1);
const verdict = (ok) => (ok === null ? "not measured" : ok ? "**holds**" : "**missed**");

export function writeReport(out, { mdPath = path.join(BENCH, "RESULTS.md"), svgPath = path.join(BENCH, "latency.svg") } = {}) {
  const { results, extras, machine, versions, options } = out;
  const Ns = options.Ns;
  const engines = ORDER.filter((e) => options.engines.includes(e));
  const get = (e, N) => results.find((r) => r.engine === e && r.N === N && r.status === "ok");
  const any = (e, N) => results.find((r) => r.engine === e && r.N === N);
  const floor = (N) => get("handwritten", N)?.nsPerDecision.median;

  // ---- targets ----
  const t = [];
  {
    const rows = Ns.map((N) => {
      const a = get("agent-armor", N),
        f = floor(N);
      return a && f ? a.nsPerDecision.median / f : null;
    });
    const ok = rows.every((x) => x !== null) ? rows.every((x) => x <= 2) : null;
    const guarded = Ns.map((N) => {
      const g = get("handwritten-guarded", N),
        f = floor(N);
      return g && f ? g.nsPerDecision.median / f : null;
    });
    const also = guarded.some((x) => x !== null) ? `; the hand-written function with the same guarantees: ${Ns.map((N, i) => `N=${N}: ${fmtX(guarded[i])}`).join(", ")}` : "";
    t.push({ target: "compiled `decide` within 2× of the hand-written floor at every N", measured: Ns.map((N, i) => `N=${N}: ${fmtX(rows[i])}`).join(", ") + also, ok });
  }
  {
    const big = Ns.filter((N) => N >= 100);
    const cells = big.map((N) => {
      const a = get("agent-armor", N);
      const ratios = PEERS.filter((p) => engines.includes(p)).map((p) => {
        const r = get(p, N);
        return r && a ? r.nsPerDecision.median / a.nsPerDecision.median : null;
      });
      const known = ratios.filter((x) => x !== null);
      return { N, min: known.length ? Math.min(...known) : null, complete: known.length === ratios.length };
    });
    const ok = cells.every((c) => c.min !== null && c.complete) ? cells.every((c) => c.min >= 100) : null;
    t.push({ target: "at least 100× faster than every peer (Cedar, json-rules-engine, casbin) at N ≥ 100", measured: cells.map((c) => `N=${c.N}: slowest margin ${fmtX(c.min)}`).join(", "), ok });
  }
  const run = extras.run && extras.run.status !== "failed" ? extras.run : null;
  let runOverhead = null;
  if (run) {
    const direct = run.rows.find((r) => r.name === "tool called directly");
    const file = run.rows.find((r) => r.name === "run(), audit to a file (fsync off)");
    runOverhead = file.nsPerAction.median - direct.nsPerAction.median;
    t.push({
      target: "`run()` with a file audit sink under 5 µs per action (median) beyond the tool itself",
      measured: `${fmtUs(runOverhead)} (run() ${fmtUs(file.nsPerAction.median)} − tool ${fmtUs(direct.nsPerAction.median)})`,
      ok: runOverhead < 5000,
    });
  } else t.push({ target: "`run()` with a file audit sink under 5 µs per action beyond the tool", measured: "not measured", ok: null });
  const comp = extras.compile && extras.compile.status !== "failed" ? extras.compile : null;
  if (comp)
    t.push({
      target: "a 10,000-rule policy compiles in under 2 s",
      measured: `${(comp.first.compileMs / 1000).toFixed(2)} s cold (first compile in a fresh process; ${(comp.median.compileMs / 1000).toFixed(2)} s median of ${comp.repeats})`,
      ok: comp.first.compileMs < 2000,
    });
  else t.push({ target: "a 10,000-rule policy compiles in under 2 s", measured: "not measured", ok: null });
  const hist = extras.history && extras.history.status !== "failed" ? extras.history : null;
  if (hist) {
    const first = hist.rows[0],
      last = hist.rows[hist.rows.length - 1];
    const ratio = last.decide.p50 / first.decide.p50;
    t.push({
      target: `history-predicate decisions flat from ${first.size.toLocaleString("en-US")} to ${last.size.toLocaleString("en-US")} entries`,
      measured: `p50 ${fmtUs(first.decide.p50)} → ${fmtUs(last.decide.p50)} (${fmtX(ratio)})`,
      ok: ratio <= 1.5,
    });
  } else t.push({ target: "history-predicate decisions flat from 10 to 100,000 entries", measured: "not measured", ok: null });
  const kinds = extras.historyKinds && extras.historyKinds.status !== "failed" ? extras.historyKinds : null;
  if (kinds) {
    // per construct, the decision time at the largest session against the smallest
    const growth = historyKindGrowth(kinds);
    const worst = growth.reduce((w, g) => (g.ratio > w.ratio ? g : w));
    t.push({
      target: "sum, count over the session, since, max and keyed seen flat from 10 to 100,000 entries",
      measured: growth.map((g) => `${g.construct} ${fmtX(g.ratio)}`).join(", "),
      ok: worst.ratio <= 1.5,
    });
  } else t.push({ target: "sum, count over the session, since, max and keyed seen flat from 10 to 100,000 entries", measured: "not measured", ok: null });
  const patternResults = out.patternResults ?? [];
  const patternNs = options.patternNs ?? [];
  const getP = (e, N) => patternResults.find((r) => r.engine === e && r.N === N && r.status === "ok");
  const patternRatio = (N) => {
    const a = getP("agent-armor", N),
      f = getP("handwritten", N);
    return a && f ? a.nsPerDecision.median / f.nsPerDecision.median : null;
  };
  {
    const ratios = patternNs.map(patternRatio);
    const ok = ratios.length && ratios.every((x) => x !== null) ? ratios.every((x) => x <= 3) : null;
    t.push({
      target: "pattern workload: compiled `decide` within 3× of the hand-written function with V8's `RegExp`",
      measured: patternNs.length ? patternNs.map((N, i) => `N=${N}: ${fmtX(ratios[i])}`).join(", ") : "not measured",
      ok,
    });
  }
  const ex = extras.examples && extras.examples.status === "ok" ? extras.examples : null;
  if (ex) {
    t.push({
      target: "every example's median decision on its own inputs ≤ 3 µs (`bench/examples.mjs`)",
      measured: ex.rows.map((r) => `${r.example} ${fmtUs(r.median)}`).join(", "),
      ok: ex.rows.every((r) => r.median <= 3000),
    });
    const utc = ex.timeRows.find((r) => r.zone === "UTC");
    const zoned = ex.timeRows.filter((r) => r.zone !== "UTC");
    t.push({
      target: "local time fields (a `timezone`) at most 2× the cost of UTC ones",
      measured: zoned.map((r) => `${r.zone} ${fmtX(r.median / utc.median)}`).join(", "),
      ok: zoned.every((r) => r.median / utc.median <= 2),
    });
  } else t.push({ target: "every example's median decision on its own inputs ≤ 3 µs", measured: "not measured", ok: null });

  let md = `# Benchmarks: Agent Armor against the engines users would pick instead\n\n`;
  md += `Generated by \`npm run bench\` (\`bench/run.mjs\`) on ${out.date} in ${(out.durationS / 60).toFixed(1)} minutes. How to run and read this: [README.md](README.md). Raw numbers: [results/latest.json](results/latest.json).\n\n`;
  md += `- Machine: ${machine.cpu}, ${machine.cores} cores, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, ${machine.platform}; load average at the end ${machine.loadavgAtEnd.map((x) => x.toFixed(2)).join(" / ")}\n`;
  md += `- Node ${machine.node} (V8 ${machine.v8})\n`;
  md += `- Engines: ${Object.entries(versions)
    .map(([k, v]) => `${k} ${v ?? "missing"}`)
    .join(", ")}; hand-written JavaScript (the floor)\n`;
  md += `- Workload: the peer workload of \`/work/shared/bench/peerbench\` (copied into \`bench/lib\`): N rules (wire approval over 10,000; a 100-name deny list; off-hours email; filler rules \`tool_k and amount > k => deny\`), default allow, deny beats approval; 4,096 seeded mixed actions (≈58% allow / 35% deny / 7% approval)\n\n`;

  md += `## Targets\n\n| target | measured | verdict |\n|---|---|---|\n`;
  for (const x of t) md += `| ${x.target} | ${x.measured} | ${verdict(x.ok)} |\n`;
  md += `\n`;

  const missed = t.filter((x) => x.ok === false);
  if (missed.length) {
    md += `### Where a target is missed, and why\n\n`;
    if (t[0].ok === false) {
      const ratio = (e, N) => {
        const r = get(e, N),
          f = floor(N);
        return r && f ? r.nsPerDecision.median / f : null;
      };
      // the N where compiled decide is above 2x (or unmeasured), and the guarded hand-written function there
      const over = Ns.filter((N) => {
        const x = ratio("agent-armor", N);
        return x === null || x > 2;
      }).map((N) => ({ N, a: ratio("agent-armor", N), g: ratio("handwritten-guarded", N) }));
      const known = over.filter((o) => o.a !== null && o.g !== null);
      const guardedAlsoOver = known.length === over.length && known.every((o) => o.g > 2);
      const byN = (f) => known.map((o) => `${f(o)} at N=${o.N}`).join(", ");
      const guardedText = known.length
        ? ` The row "hand-written JS with the language's guarantees" (\`bench/lib/adapters/handwritten-guarded.js\`, whose decisions a test holds equal to compiled \`decide\`'s on any input) measures what those guarantees cost with no compiler involved. Measured against the floor, it takes ${byN((o) => fmtX(o.g))}; measured against it, compiled \`decide\` takes ${byN((o) => fmtX(o.a / o.g))}.`
        : "";
      const closing = guardedAlsoOver
        ? " Wherever compiled `decide` is above 2×, so is the hand-written function with the same guarantees: reaching 2× there would take dropping a guarantee or the decision format of the language reference (§10.2), and neither was done."
        : ` Where the hand-written function with the same guarantees is within 2× or was not measured (${over
            .filter((o) => !known.includes(o) || o.g <= 2)
            .map((o) => `N=${o.N}`)
            .join(", ")}), the gap is the compiled code's own.`;
      md += `- **Compiled decide against the floor.** The hand-written function returns a bare string, is small enough for V8 to inline into the benchmark loop, reads fields with plain property loads and takes the action itself rather than the decision input \`{ action, user }\`. Compiled \`decide\` returns the full decision object (\`decision\`, \`rules\`, \`approval\`, \`action\`, \`errors\`) and keeps the language's guarantees on every call: it reads only own fields (one test that the input and the action are plain objects and that \`Object.prototype\` has none of the keys the policy reads, then plain loads), type-checks every comparison operand (a wrong type is an evaluation error that denies, not a silent \`false\`), and runs each rule under its own \`try\` so that a failing rule denies with its name. The decision object cannot be shared between calls: its \`action\` is the caller's action (or a redacted copy).${guardedText}${closing}\n`;
    }
    if (run && runOverhead >= 5000) {
      const noAuditRow = run.rows.find((r) => r.name === "run(), no audit");
      const noAudit = noAuditRow ? noAuditRow.nsPerAction.median - run.rows.find((r) => r.name === "tool called directly").nsPerAction.median : null;
      const floorText = run.floor
        ? `On this machine that floor alone (measured by the same script: one \`write(2)\` of an action's ${Math.round(run.floor.bytesPerAction)} bytes of records, three SHA-256 digests and one ISO time, with the records already built) costs **${fmtUs(run.floor.nsPerAction)}** per action${run.floor.writeNs != null ? ` (timed on their own, the write(2) ${fmtUs(run.floor.writeNs)} and the three digests ${fmtUs(run.floor.hashesNs)})` : ""}, which leaves ${run.floor.nsPerAction >= 5000 ? "nothing" : fmtUs(5000 - run.floor.nsPerAction)} for deciding and building the records within 5 µs${noAudit === null ? "" : ` (the "no audit" row alone is ${fmtUs(noAudit)})`}. `
        : "";
      md += `- **run() with a file audit sink.** The runtime keeps two guarantees on this path: every decision record is handed to the kernel (one synchronous \`write(2)\`) before the tool is called, so no action runs unrecorded even if the process is killed during it; and every record is hash-chained (SHA-256 of the action, of the decision record and of the outcome record). ${floorText}run() itself costs the floor plus the "no audit" row (deciding, ids, trackers) plus building the records' canonical JSON. The work on this path took it from 26 µs to the figure above (records serialized once, by their writer; the action serialized once; one promise per run). Getting under 5 µs would take writing decision records after the tool starts or hashing records in batches; both weaken what the audit log promises, and neither was done.\n`;
    }
    const patternMissed = t.find((x) => x.target.startsWith("pattern workload"))?.ok === false;
    const examplesMissed = ex && t.find((x) => x.target.startsWith("every example"))?.ok === false;
    if (patternMissed || examplesMissed) {
      const v8 = ex?.rows.every((r) => r.v8RegexMedian != null)
        ? ` With V8's \`RegExp\` answering \`matches\` in the same emitted modules (an experiment in \`bench/examples.mjs\`, not a way to run policies), the examples' medians are ${ex.rows.map((r) => `${r.example} ${fmtUs(r.v8RegexMedian)}`).join(", ")}: what a decision costs besides matching.`
        : "";
      md += `- **Patterns.** Compiled \`decide\` matches with the linear-time matcher (so that no input can make a decision backtrack catastrophically); the hand-written floor uses V8's backtracking \`RegExp\`. The gap in both targets is the matcher's.${v8}\n`;
    }
    md += `\n`;
  }
  md += `## ns per decision\n\n![latency against rule count](latency.svg)\n\n`;
  const multi = results.filter((r) => Array.isArray(r.processes) && r.processes.length > 1);
  const multiEngines = [...new Set(multi.map((r) => LABEL[r.engine] ?? r.engine))];
  md += `Median over ${options.quick ? "3 repeats of ≥ 100 ms" : "5 repeats of ≥ 250 ms"} (each engine and N in a fresh process${multi.length ? `; ${multiEngines.map((e) => `"${e}"`).join(", ")}, which decide in nanoseconds, in ${Math.max(...multi.map((r) => r.processes.length))} fresh processes per N, the middle one kept (its p99 too); every process's median is in results/latest.json` : ""}); p99 over the ≈1 ms batches the repeats are made of (for engines slower than 1 ms per decision a batch is one decision, so it is a per-decision p99).\n\n`;
  md += `| engine | ${Ns.map((N) => `N=${N.toLocaleString("en-US")} median`).join(" | ")} | ${Ns.map((N) => `N=${N.toLocaleString("en-US")} p99`).join(" | ")} |\n|---|${Ns.map(() => "---:").join("|")}|${Ns.map(() => "---:").join("|")}|\n`;
  const cell = (e, N, f) => {
    const r = get(e, N);
    if (r) return f(r);
    const u = any(e, N);
    return u ? (u.status === "mismatch" ? "disagrees" : u.status) : "—";
  };
  for (const e of engines)
    md += `| ${LABEL[e]} | ${Ns.map((N) => cell(e, N, (r) => fmtNs(r.nsPerDecision.median))).join(" | ")} | ${Ns.map((N) => cell(e, N, (r) => fmtNs(r.nsPerDecision.p99))).join(" | ")} |\n`;
  md += `\nRatio to the floor (median ÷ hand-written median at the same N):\n\n| engine | ${Ns.map((N) => `N=${N.toLocaleString("en-US")}`).join(" | ")} |\n|---|${Ns.map(() => "---:").join("|")}|\n`;
  for (const e of engines)
    md += `| ${LABEL[e]} | ${Ns.map((N) => {
      const r = get(e, N),
        f = floor(N);
      return r && f ? fmtX(r.nsPerDecision.median / f) : "—";
    }).join(" | ")} |\n`;
  md += `\nHow much slower each peer is than compiled Agent Armor:\n\n| peer | ${Ns.map((N) => `N=${N.toLocaleString("en-US")}`).join(" | ")} |\n|---|${Ns.map(() => "---:").join("|")}|\n`;
  for (const e of PEERS.filter((p) => engines.includes(p)))
    md += `| ${LABEL[e]} | ${Ns.map((N) => {
      const r = get(e, N),
        a = get("agent-armor", N);
      return r && a ? fmtX(r.nsPerDecision.median / a.nsPerDecision.median) : "—";
    }).join(" | ")} |\n`;

  if (patternNs.length) {
    md += `\n## The pattern-heavy workload\n\n`;
    md += `\`bench/lib/patterns.js\` (not part of the peer harness, whose workload has no patterns): five rules whose conditions are regexes on strings in the actions (a destructive shell command, a download piped to a shell, an exfiltration host in a URL, a secret path, an SSN or card number in an email body of 2–6 sentences), and filler rules \`tool_k and arg matches /^tool_k:(drop|delete|purge)\\b/ => deny\`; 4,096 seeded actions, every engine checked against the hand-written function (a switch on the type and V8's \`RegExp\`, the floor) on 10,000 actions before it is timed (one that disagrees is not timed). Timing as above.\n\n`;
    md += `| engine | ${patternNs.map((N) => `N=${N.toLocaleString("en-US")} median`).join(" | ")} | ${patternNs.map((N) => `N=${N.toLocaleString("en-US")} p99`).join(" | ")} | ${patternNs.map((N) => `N=${N.toLocaleString("en-US")} ÷ floor`).join(" | ")} |\n|---|${patternNs.map(() => "---:").join("|")}|${patternNs.map(() => "---:").join("|")}|${patternNs.map(() => "---:").join("|")}|\n`;
    const pcell = (e, N, f) => {
      const r = getP(e, N);
      if (r) return f(r);
      const u = patternResults.find((x) => x.engine === e && x.N === N);
      return u ? (u.status === "mismatch" ? `disagrees (${u.verify.mismatches} of ${u.verify.checked})` : u.status) : "—";
    };
    // engines that cannot express the workload are named below the table instead
    for (const e of engines.filter((x) => patternResults.some((r) => r.engine === x && r.status !== "unavailable"))) {
      md += `| ${LABEL[e]} | ${patternNs.map((N) => pcell(e, N, (r) => fmtNs(r.nsPerDecision.median))).join(" | ")} | ${patternNs.map((N) => pcell(e, N, (r) => fmtNs(r.nsPerDecision.p99))).join(" | ")} | ${patternNs
        .map((N) =>
          pcell(e, N, (r) => {
            const f = getP("handwritten", N);
            return f ? fmtX(r.nsPerDecision.median / f.nsPerDecision.median) : "—";
          }),
        )
        .join(" | ")} |\n`;
    }
    const cappedP = patternResults.filter((r) => r.verify?.capped);
    if (cappedP.length)
      md += `\nChecked on fewer actions (time cap ${options.verifyCapS} s): ${cappedP.map((r) => `${LABEL[r.engine] ?? r.engine} at N=${r.N.toLocaleString("en-US")}, ${r.verify.checked.toLocaleString("en-US")} actions, all agreeing`).join("; ")}.\n`;
    const disagree = patternResults.filter((r) => r.status === "mismatch");
    for (const r of disagree) md += `\n- ${LABEL[r.engine] ?? r.engine} at N=${r.N} disagrees, for example: \`${JSON.stringify(r.verify.examples[0])}\`\n`;
    const cannot = [...new Map(patternResults.filter((r) => r.status === "unavailable").map((r) => [r.engine, r.reason])).entries()];
    if (cannot.length) md += `\nNot run on this workload: ${cannot.map(([e, why]) => `${LABEL[e] ?? e} (${why})`).join("; ")}.\n`;
  }

  md += `\n## Agreement with the hand-written function (checked before timing)\n\n`;
  md += `Every engine decides the same seeded actions (seed 12345 + N, the peer harness's) as the hand-written function before it is timed; an engine that disagrees is reported here and not timed.\n\n`;
  md += `| engine | ${Ns.map((N) => `N=${N.toLocaleString("en-US")}`).join(" | ")} |\n|---|${Ns.map(() => "---").join("|")}|\n`;
  for (const e of engines) {
    md += `| ${LABEL[e]} | ${Ns.map((N) => {
      const r = any(e, N);
      if (!r) return "—";
      if (!r.verify) return r.status;
      const v = r.verify;
      const s = `${v.checked.toLocaleString("en-US")}/${v.checked.toLocaleString("en-US")} agree`;
      return v.mismatches > 0 ? `**${v.mismatches} of ${v.checked} disagree**` : v.capped ? `${s} (time cap ${options.verifyCapS} s)` : s;
    }).join(" | ")} |\n`;
  }
  const capped = results.filter((r) => r.verify?.capped);
  if (capped.length)
    md += `\nAt N = 10,000 the peers take 20–90 ms per decision, so checking 10,000 actions would take 4–15 minutes each: \`npm run bench\` stops their check after ${options.verifyCapS} s (the counts above). \`node bench/run.mjs --full-verify\` checks all 10,000 (about 25 minutes).\n`;
  const mism = results.filter((r) => r.status === "mismatch");
  for (const r of mism) md += `\n- ${r.engine} at N=${r.N} disagrees, for example: \`${JSON.stringify(r.verify.examples[0])}\`\n`;

  md += `\n## Load, compile and memory\n\nFresh process per engine and N. *load*: importing the engine (for Agent Armor, the whole compiler package); *compile*: turning the workload into something that decides (Agent Armor compiled: \`compileSource\` + \`emit\` in a worker thread, as \`armorc compile\` runs before deployment, plus loading the emitted module in the process that decides, so its Δheap is the module's while its RSS also keeps what the worker's heap left to the allocator; compiled in the deciding process: the same three steps there; interpreter: \`compileSource\`; Cedar: \`preparsePolicySet\`; json-rules-engine: \`addRule\` × N; casbin: \`addPolicies\`). Memory: heap and RSS growth after \`gc()\` (Cedar's wasm memory shows in RSS only).\n\n`;
  md += `| engine | N | load (ms) | compile (ms) | Δheap compile (KiB) | ΔRSS compile (KiB) | RSS at end (MiB) |\n|---|---:|---:|---:|---:|---:|---:|\n`;
  for (const e of engines)
    for (const N of Ns) {
      const r = get(e, N);
      if (!r) continue;
      md += `| ${LABEL[e]} | ${N.toLocaleString("en-US")} | ${r.loadMs.toFixed(1)} | ${r.createMs.toFixed(1)} | ${kib(r.memory.afterCreate.heapUsed)} | ${kib(r.memory.afterCreate.rss)} | ${mib(r.memory.rssEnd)} |\n`;
    }
  const slow = results.filter((r) => r.status === "ok" && r.slow);
  if (slow.length)
    md += `\nEngines slower than 1 ms per decision (${[...new Set(slow.map((r) => `${r.engine} at N=${r.N}`))].join(", ")}) are timed on fewer decisions: warm-up capped at 2 s, each repeat ≥ 250 ms and ≥ 4 decisions (others: ≥ 32).\n`;

  // ---- extras ----
  md += `\n## run(): the runtime around a tool call\n\n`;
  if (run) {
    md += `\`enforcer.run(action, { session, user }, tool)\` per action (decide with tracker values, decision id and time, action hash, decision record, the tool, outcome record) against \`await tool(action)\`. The peer workload at N=100, allowed actions (the full path: two audit records each) unless noted; the tool is a trivial synchronous function. Median of ${run.rows[0].repeats} repeats of ${run.rows[1].count.toLocaleString("en-US")} sequential actions; p50/p99 of single calls (every 16th timed). Audit records are ${Math.round(run.auditBytesPerRecord)} bytes on average.\n\n`;
    md += `| path | per action (median) | beyond the tool | single call p50 | p99 |\n|---|---:|---:|---:|---:|\n`;
    const direct = run.rows[0].nsPerAction.median;
    for (const r of run.rows)
      md += `| ${r.name}${r.count !== run.rows[1].count ? ` (${r.count.toLocaleString("en-US")} actions)` : ""} | ${fmtUs(r.nsPerAction.median)} | ${r.name === "tool called directly" ? "" : fmtUs(r.nsPerAction.median - direct)} | ${fmtUs(r.nsPerAction.p50call)} | ${fmtUs(r.nsPerAction.p99call)} |\n`;
    if (run.floor) md += `| *the audit floor: one write(2) of an action's records, 3 SHA-256, one ISO time (records prebuilt, no decide)* | | ${fmtUs(run.floor.nsPerAction)} | | |\n`;
    if (run.floor?.writeNs != null) {
      md += `| *its write(2) alone (${Math.round(run.floor.bytesPerAction)} bytes)* | | ${fmtUs(run.floor.writeNs)} | | |\n`;
      md += `| *its three SHA-256 digests alone* | | ${fmtUs(run.floor.hashesNs)} | | |\n`;
    }
    const stage = run.resultStage;
    if (stage?.unusedRatio != null) {
      md += `\nThe result stage (the rows measured in turns, one repeat of each per round, so that their ratios compare like with like): a policy without rules on results runs at ${fmtX(stage.unusedRatio)} the cost of the same module as compiled before stages existed (run() checks one flag and returns what the tool returned, uncopied). One rule on results (\`any(s in strings(result): s matches std.secret)\`) adds ${fmtUs(stage.addedNs)} per action without audit (${fmtX(stage.ratio)}): the cost of one decision of the result (reading it into a plain copy, its canonical JSON and SHA-256, the rule, a fresh copy for the agent), and ${fmtUs(stage.auditAddedNs)} with a file audit (${fmtX(stage.auditRatio)}), which adds the hash-chained \`result\` record.\n`;
    }
  } else md += `Not measured${extras.run ? `: failed\n\n\`\`\`\n${extras.run.stderr}\n\`\`\`` : ""}.\n`;

  md += `\n## Compiling a 10,000-rule policy\n\n`;
  if (comp) {
    md += `The peer workload at N=10,000 (${comp.sourceLines.toLocaleString("en-US")} lines, ${(comp.sourceBytes / 1024).toFixed(0)} KiB), compiled ${comp.repeats} times in a fresh process. The first compile is the one that counts (cold JIT); the median shows the warm cost.\n\n`;
    md += `| stage | first (ms) | median (ms) |\n|---|---:|---:|\n`;
    const stages = [
      ["parse alone (run after the compile, so warm; part of the front end)", "parseMs"],
      ["front end: compileSource (parse, check, analysis)", "frontEndMs"],
      ["emit", "emitMs"],
      ["**compile = front end + emit**", "compileMs"],
      ["load the emitted module", "loadMs"],
      ["first decide", "firstDecideMs"],
    ];
    for (const [name, k] of stages) md += `| ${name} | ${comp.first[k].toFixed(0)} | ${comp.median[k].toFixed(0)} |\n`;
    md += `\nPeak memory of the first compile (fresh process): ${comp.peakRssFirstBytes ? mib(comp.peakRssFirstBytes) : "?"} MiB resident (process maximum, getrusage), ${comp.peakHeapUsedFirstBytes ? mib(comp.peakHeapUsedFirstBytes) : "?"} MiB of JS heap in use at the sampled peak, from ${mib(comp.rssBeforeBytes)} MiB resident before compiling; after all ${comp.repeats} compiles the process peak is ${mib(comp.peakRssBytes)} MiB resident (${mib(comp.peakHeapUsedBytes)} MiB heap), since V8 grows its heap rather than collect between them. Emitted module: ${(comp.first.moduleBytes / 1024).toFixed(0)} KiB.\n`;
  } else md += `Not measured${extras.compile ? `: failed\n\n\`\`\`\n${extras.compile.stderr}\n\`\`\`` : ""}.\n`;

  md += `\n## History predicates as the session grows\n\n`;
  if (hist) {
    md += `A policy with \`seen(... within 30m)\`, \`count(... within 1h)\` and \`seen(...)\`; a session that has run N actions through \`enforcer.run\` (recorded into the runtime's trackers), then \`enforcer.decide\` in that session (no audit). For contrast, the compiled \`decide\` given the same history as \`input.history\`, which it scans.\n\n`;
    md += `| history entries | enforcer.decide p50 | p99 | mean | compiled decide scanning input.history | filling the session (run() per action) |\n|---:|---:|---:|---:|---:|---:|\n`;
    for (const r of hist.rows)
      md += `| ${r.size.toLocaleString("en-US")} | ${fmtUs(r.decide.p50)} | ${fmtUs(r.decide.p99)} | ${fmtUs(r.decide.median)} | ${r.scan ? fmtUs(r.scan.median) : "not run"} | ${fmtUs((r.fillMs * 1e6) / r.size)} |\n`;
  } else md += `Not measured${extras.history ? `: failed\n\n\`\`\`\n${extras.history.stderr}\n\`\`\`` : ""}.\n`;

  md += `\n## History predicates of the second step as the session grows\n\n`;
  if (kinds) {
    md += `\`bench/history-kinds.mjs\`: for each construct, a policy with one such predicate and a session that has run N actions through \`enforcer.run\`, then \`enforcer.decide\` in that session (median ns), with its ratio to the same enforcer on a policy without history predicates (the floor, timed in the same run). In the same run, compiled \`decide\` on the peer workload at N = 100: ${kinds.peer.compiledNs.toFixed(1)} ns against ${kinds.peer.handwrittenNs.toFixed(1)} ns for the hand-written floor (${fmtX(kinds.peer.ratio)}).\n\n`;
    const sizes = [...new Set(kinds.rows.map((r) => r.size))];
    const constructs = [...new Set(kinds.rows.filter((r) => r.construct !== "floor").map((r) => r.construct))];
    md += `| construct | ${sizes.map((n) => `${n.toLocaleString("en-US")} entries`).join(" | ")} |\n|---|${sizes.map(() => "---:").join("|")}|\n`;
    const floorRows = kinds.rows.filter((r) => r.construct === "floor" && r.ratioToFloor === 1);
    md += `| floor | ${sizes.map((n) => fmtUs(floorRows.find((r) => r.size === n)?.decideNs ?? Number.NaN)).join(" | ")} |\n`;
    for (const c of constructs) {
      md += `| \`${c}\` | ${sizes
        .map((n) => {
          const r = kinds.rows.find((x) => x.construct === c && x.size === n);
          return r ? `${fmtUs(r.decideNs)} (${fmtX(r.ratioToFloor)})` : "not run";
        })
        .join(" | ")} |\n`;
    }
  } else md += `Not measured${extras.historyKinds ? `: failed\n\n\`\`\`\n${extras.historyKinds.stderr}\n\`\`\`` : ""}.\n`;

  md += `\n## The language server's re-check after an edit (5,000-line policy)\n\n`;
  const lspMd = path.join(BENCH, "results", "lsp.md");
  if (fs.existsSync(lspMd)) {
    md += `From \`bench/lsp-recheck.mjs\` (written by the language-server work), ${extras.lsp?.ran ? `run by this \`npm run bench\`${extras.lsp.exit === 0 ? "" : ` (it exited ${extras.lsp.exit}; the file below may be from an earlier run)`}` : "not run by this `npm run bench` (the file below is from an earlier run)"}; \`bench/results/lsp.md\` follows.\n\n`;
    md += `${fs
      .readFileSync(lspMd, "utf8")
      .replace(/^#+ /gm, (h) => `#${h}`)
      .trim()}\n`;
  } else md += `**Pending**: \`bench/lsp-recheck.mjs\` and \`bench/results/lsp.md\` are written by another engineer and were not present when this ran.\n`;

  md += `\n## The examples on their own inputs\n\n`;
  const examplesMd = path.join(BENCH, "results", "examples.md");
  if (fs.existsSync(examplesMd)) {
    md += `From \`bench/examples.mjs\`, ${extras.examples ? (extras.examples.status === "ok" ? "run by this `npm run bench`" : "which failed in this run (the file below is from an earlier run)") : "not run by this `npm run bench` (the file below is from an earlier run)"}; \`bench/results/examples.md\` follows.\n\n`;
    md += `${fs
      .readFileSync(examplesMd, "utf8")
      .replace(/^#+ /gm, (h) => `#${h}`)
      .trim()}\n`;
  } else md += `Not measured.\n`;

  const serveMd = path.join(BENCH, "results", "serve.md");
  if (fs.existsSync(serveMd)) {
    md += `\n## \`armor serve\` under load\n\nFrom \`bench/serve-load.mjs\` (written by the gateway work; not run by \`npm run bench\`), \`bench/results/serve.md\` follows.\n\n`;
    md += `${fs
      .readFileSync(serveMd, "utf8")
      .replace(/^#+ /gm, (h) => `#${h}`)
      .trim()}\n`;
  }

  for (const [file, script] of [
    ["shared-state.md", "`bench/store-redis.mjs` and `bench/serve-throughput.mjs`"],
    ["editor.md", "`bench/lsp-tokens.mjs` and `bench/lsp-lens.mjs`"],
    ["telemetry.md", "`bench/telemetry.mjs`"],
    ["sandbox.md", "`bench/sandbox.mjs`"],
    ["diff.md", "`bench/diff.mjs`"],
    ["imports.md", "`bench/imports.mjs`"],
  ]) {
    const extra = path.join(BENCH, "results", file);
    if (!fs.existsSync(extra)) continue;
    const [title, ...rest] = fs
      .readFileSync(extra, "utf8")
      .trim()
      .replace(/^#+ /gm, (h) => `#${h}`)
      .split("\n");
    md += `\n${title}\n\nFrom ${script} (not run by \`npm run bench\`; \`bench/results/${file}\`).\n${rest.join("\n")}\n`;
  }

  md += `\n## Method and caveats\n\n`;
  md += `- Each (engine, N) runs in a fresh \`node --expose-gc\` process (\`bench/one.mjs\`): load, compile, the agreement check on 10,000 actions, then warm-up (≥ ${options.quick ? 200 : 500} ms), then ${options.quick ? "3 repeats of ≥ 100 ms" : "5 repeats of ≥ 250 ms"} made of ≈1 ms batches of \`decide(pool[i & 4095])\`, \`gc()\` before each repeat (not for Cedar: a forced GC after its optimised JS→Wasm call aborts Node 20, see the peer harness). The timing method is the peer harness's.\n`;
  md += `- Agent Armor and its interpreter get the action as \`{ action: {...}, user }\`, converted once before timing; the adapters return \`decide(input).decision\`, so the compiled figure includes building the full decision object (rules, approval, action, errors). The hand-written floor returns a string.\n`;
  md += `- The machine is shared and noisy: single figures move by up to ~1.7× between runs (the peer harness saw the same). Compare ratios taken in one run.\n`;
  md += `- json-rules-engine's API is Promise-based: its figures include one \`await\` per decision.\n`;
  fs.writeFileSync(mdPath, md);

  // ---- chart ----
  const series = engines
    .map((e) => ({
      name: LABEL[e],
      dashed: e === "handwritten" || e === "handwritten-guarded" || e === "agent-armor-interpreter",
      points: Ns.map((N) => [N, get(e, N)?.nsPerDecision.median]).filter(([, y]) => y != null && y > 0),
    }))
    .filter((s) => s.points.length > 0);
  fs.writeFileSync(svgPath, lineChartLogLog({ title: "ns per decision against rule count (median, log-log)", xLabel: "rules in the policy (N)", yLabel: "time per decision", series }));
}

/** For each construct of bench/history-kinds.mjs, its decision time at the largest session divided by that at the smallest. */
function historyKindGrowth(kinds) {
  const constructs = [...new Set(kinds.rows.filter((r) => r.construct !== "floor").map((r) => r.construct))];
  return constructs.map((construct) => {
    const rows = kinds.rows.filter((r) => r.construct === construct).sort((a, b) => a.size - b.size);
    return { construct, ratio: rows[rows.length - 1].decideNs / rows[0].decideNs };
  });
}
