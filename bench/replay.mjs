// `replayAuditLogFile` (what `armorc replay` runs) on a generated, valid audit log: records per
// second of the replay pass and of the whole command's work (verify, then replay), against a
// floor measured in the same run: reading the file in the same chunks, cutting its lines and
// JSON.parse of each (the least a replay of JSON Lines does). The candidate has a per-session
// and a per-user rate limit, so every decision reads tracker values. Heap after the replay is
// measured at a tenth of the records and at all of them: the replay keeps the trackers' windows,
// not the records, so the two stay close. Writes bench/results/replay.md.
//   node --expose-gc bench/replay.mjs [--records 200000] [--out bench/results/replay.md]
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { canonicalJson, Replayer, replayAuditLogFile } from "@agent-armor/runtime";
import { parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const RECORDS = Number(args.records ?? 200_000);
const OUT = args.out ?? "bench/results/replay.md";
const CHUNK = 1 << 20;
const gc = globalThis.gc ?? (() => {});
const sha = (s) => crypto.createHash("sha256").update(s).digest("hex");

const CANDIDATE = `policy mail version "2"
default allow
rule per_session
  when action.type == "send_email" and count(type == "send_email" within 10m) >= 20
  deny because "twenty in ten minutes"
rule per_user
  when action.type == "send_email" and count(type == "send_email" within 1h per user.id) >= 300
  deny because "three hundred an hour per user"
rule big
  when action.type == "send_email" and size > 9_000
  require approval from "ops" timeout 1m because "big"
`;

/** A valid log of `records` records: decisions (1,000 sessions, 100 users, one a second) and the outcomes of the allowed ones. */
function generate(file, records) {
  const fd = fs.openSync(file, "w");
  let prev = "0".repeat(64);
  let batch = "";
  const t0 = Date.parse("2026-12-01T00:00:00.000Z");
  let seq = 0;
  for (let i = 0; seq < records; i++) {
    const time = new Date(t0 + i * 1000).toISOString();
    const id = `mxc4v8wq-10288c326e6c7e54-${i.toString(36)}`;
    const decision = {
      kind: "decision",
      mode: "run",
      decisionId: id,
      time,
      session: `s${i % 1000}`,
      user: { id: `u${i % 100}` },
      action: { type: "send_email", to: `r${i % 977}@example.com`, size: (i * 7919) % 10_000 },
      actionHash: sha(String(i)),
      decision: "allow",
      rules: [],
      errors: [],
      approval: null,
      policy: { name: "mail", version: "1", sourceHash: "ab".repeat(32) },
    };
    for (const body of seq + 1 < records ? [decision, { kind: "outcome", decisionId: id, time, outcome: "ok", durationMs: 1 }] : [decision]) {
      const withChain = { ...body, prev, seq };
      const hash = sha(canonicalJson(withChain));
      batch += `${canonicalJson({ ...withChain, hash })}\n`;
      prev = hash;
      seq++;
    }
    if (batch.length > 4 << 20) {
      fs.writeSync(fd, batch);
      batch = "";
    }
  }
  fs.writeSync(fd, batch);
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

/** Reads the file in CHUNK-byte chunks and calls f on every line (as the replay does). */
function eachLine(file, f) {
  const fd = fs.openSync(file, "r");
  const buffer = Buffer.allocUnsafe(CHUNK);
  let carried = null;
  for (;;) {
    const n = fs.readSync(fd, buffer, 0, CHUNK, null);
    if (n === 0) break;
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf(0x0a, start);
      if (nl < 0 || nl >= n) break;
      f(carried ? Buffer.concat([carried, buffer.subarray(start, nl)]).toString("utf8") : buffer.toString("utf8", start, nl));
      carried = null;
      start = nl + 1;
    }
    if (start < n) carried = Buffer.from(buffer.subarray(start, n));
  }
  fs.closeSync(fd);
}

async function timed(f) {
  gc();
  const t0 = process.hrtime.bigint();
  const value = await f();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** Heap used after replaying the first `lines` lines of the file with a fresh replayer (kept alive until measured). */
function heapAfter(file, module, lines) {
  const replayer = new Replayer(module);
  let n = 0;
  eachLine(file, (l) => {
    if (n < lines) replayer.line(++n, l);
  });
  gc();
  const used = process.memoryUsage().heapUsed;
  if (replayer.report().decisions === 0) throw new Error("nothing replayed");
  return used;
}

const compiled = compileSource("candidate.armor", CANDIDATE);
if (!compiled.ok) throw new Error("the candidate does not compile");
const module = await loadModule(emit(compiled).js);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "armor-bench-replay-"));
const file = path.join(dir, "audit.jsonl");
try {
  const bytes = generate(file, RECORDS);
  let sink = 0;
  const floor = await timed(() => eachLine(file, (l) => (sink += JSON.parse(l).seq)));
  const replayOnly = await timed(async () => {
    const replayer = new Replayer(module);
    let n = 0;
    eachLine(file, (l) => replayer.line(++n, l));
    return replayer.report();
  });
  const whole = await timed(() => replayAuditLogFile(file, module));
  const report = whole.value.replay;
  if (!whole.value.verification.ok || report === null) throw new Error(`the generated log did not verify: ${JSON.stringify(whole.value.verification.problem)}`);
  if (report.replayed !== replayOnly.value.replayed || report.changed === 0) throw new Error("the two replays disagree, or nothing changed");

  gc();
  const base = process.memoryUsage().heapUsed;
  const tenth = heapAfter(file, module, Math.floor(RECORDS / 10));
  const all = heapAfter(file, module, RECORDS);
  const mib = (n) => (n / 2 ** 20).toFixed(1);
  const rate = (s) => Math.round(RECORDS / s).toLocaleString("en");
  const rows = [
    ["read in 1 MiB chunks, cut into lines, JSON.parse each (floor)", floor.seconds],
    ["`Replayer` over the same lines (decide again, trackers, report)", replayOnly.seconds],
    ["`replayAuditLogFile` (verify the chain, then replay)", whole.seconds],
  ];
  const text = [
    "# `armorc replay` throughput",
    "",
    `\`node --expose-gc bench/replay.mjs --records ${RECORDS}\`: a valid audit log of ${RECORDS.toLocaleString("en")} records (${(bytes / 1e6).toFixed(0)} MB; decisions of`,
    "1,000 sessions and 100 users, one a second, and their outcome records) replayed against a candidate with a",
    "per-session and a per-user rate limit and an approval rule, in one process, the page cache warm.",
    "",
    "| pass | seconds | records/s | × the floor |",
    "| --- | --- | --- | --- |",
    ...rows.map(([name, s]) => `| ${name} | ${s.toFixed(2)} | ${rate(s)} | ${(s / floor.seconds).toFixed(2)} |`),
    "",
    `Replayed ${report.replayed.toLocaleString("en")} decisions, ${report.changed.toLocaleString("en")} changed (${Object.entries(report.pairs)
      .map(([p, n]) => `${p} ${n}`)
      .join(", ")}).`,
    "",
    `Heap after replaying (kept alive, after GC): ${mib(tenth - base)} MiB over the base after ${Math.floor(RECORDS / 10).toLocaleString("en")} records, ${mib(all - base)} MiB after ${RECORDS.toLocaleString("en")}:`,
    "the sessions' windows and the capped examples and pending reservations, not the records.",
    "",
    `Machine: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length} (${os.arch()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}.`,
    `Node ${process.version}. Load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}. Run at ${new Date().toISOString()}.`,
    "",
  ].join("\n");
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, text);
  console.log(text);
  if (sink < 0) console.log(sink);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
