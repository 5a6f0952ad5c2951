// `verifyAuditLogFile` (what `armorc audit verify` runs) on a generated, valid audit log of a few
// hundred MB: MB/s and peak memory, against a floor measured in the same run: reading the file
// in the same chunks and cutting its lines (the I/O), and that plus one SHA-256 per line (the
// least any verifier of a hash chain does). Writes bench/results/audit-verify.md.
//   node --expose-gc bench/audit-verify.mjs [--mb 300] [--out bench/results/audit-verify.md]
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { verifyAuditLogFile } from "@agent-armor/runtime";
import { parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const MB = Number(args.mb ?? 300);
const OUT = args.out ?? "bench/results/audit-verify.md";
const CHUNK = 1 << 20;
const gc = globalThis.gc ?? (() => {});
const sha = (s) => crypto.createHash("sha256").update(s).digest("hex");

/** A valid log of about MB megabytes: decision and outcome records as the enforcer writes them, in canonical JSON. */
function generate(file) {
  const fd = fs.openSync(file, "w");
  let prev = "0".repeat(64);
  let bytes = 0;
  let seq = 0;
  let batch = "";
  const time = "2026-12-06T12:00:00.000Z";
  while (bytes < MB * 1e6) {
    const decision = seq % 2 === 0;
    const id = `mxc4v8wq-10288c326e6c7e54-${(seq >> 1).toString(36)}`;
    // keys in canonical order, with `hash` between `decisionId` and `kind`
    const head = decision
      ? `{"action":{"amount":${seq % 5000},"to":"acct-${seq % 977}","type":"wire"},"actionHash":"${sha(String(seq))}","approval":null,"decision":"allow","decisionId":"${id}","errors":[],`
      : `{"decisionId":"${id}","durationMs":${seq % 7},`;
    const tail = decision
      ? `"kind":"decision","mode":"run","policy":{"name":"payments","sourceHash":"${"ab".repeat(32)}","version":"1.0.0"},"prev":"${prev}","rules":[],"seq":${seq},"session":"s${seq % 64}","time":"${time}","user":{"id":"u${seq % 100}","role":"clerk"}}`
      : `"kind":"outcome","outcome":"ok","prev":"${prev}","seq":${seq},"time":"${time}"}`;
    const hash = sha(head + tail);
    const line = `${head}"hash":"${hash}",${tail}\n`;
    batch += line;
    bytes += line.length;
    prev = hash;
    seq++;
    if (batch.length > 4 << 20) {
      fs.writeSync(fd, batch);
      batch = "";
    }
  }
  fs.writeSync(fd, batch);
  fs.closeSync(fd);
  return { records: seq, bytes: fs.statSync(file).size };
}

/** Reads the file in CHUNK-byte chunks and calls f on every line (as the verifier does). */
function eachLine(file, f) {
  const fd = fs.openSync(file, "r");
  const buffer = Buffer.allocUnsafe(CHUNK);
  let carried = null;
  let lines = 0;
  for (;;) {
    const n = fs.readSync(fd, buffer, 0, CHUNK, null);
    if (n === 0) break;
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf(0x0a, start);
      if (nl < 0 || nl >= n) break;
      const line = carried ? Buffer.concat([carried, buffer.subarray(start, nl)]).toString("utf8") : buffer.toString("utf8", start, nl);
      carried = null;
      f(line);
      lines++;
      start = nl + 1;
    }
    if (start < n) carried = Buffer.from(buffer.subarray(start, n));
  }
  fs.closeSync(fd);
  return lines;
}

function timed(f) {
  gc();
  const t0 = process.hrtime.bigint();
  const value = f();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "armor-bench-verify-"));
const file = path.join(dir, "audit.jsonl");
try {
  const gen = timed(() => generate(file));
  const { records, bytes } = gen.value;
  const mb = bytes / 1e6;

  const read = timed(() => eachLine(file, () => {}));
  let sink = 0;
  const hashed = timed(() => eachLine(file, (l) => (sink += sha(l).length)));

  gc();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const t0 = process.hrtime.bigint();
  const result = await verifyAuditLogFile(file, {
    chunkBytes: CHUNK,
    onProgress: () => {
      const m = process.memoryUsage();
      if (m.rss > peakRss) peakRss = m.rss;
      if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    },
  });
  const verifySeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!result.ok || result.records !== records) throw new Error(`the generated log did not verify: ${JSON.stringify(result.problem)}`);

  const rate = (s) => (mb / s).toFixed(1);
  const rows = [
    ["read in 1 MiB chunks and cut into lines (floor: I/O)", read.seconds],
    ["the same, plus one SHA-256 per line (floor: hashing)", hashed.seconds],
    ["`verifyAuditLogFile` (parse, canonical JSON, SHA-256, chain)", verifySeconds],
  ];
  const mib = (n) => (n / 2 ** 20).toFixed(0);
  const text = [
    "# `armorc audit verify` throughput",
    "",
    `\`node --expose-gc bench/audit-verify.mjs --mb ${MB}\`: a valid audit log of ${mb.toFixed(0)} MB (${records.toLocaleString("en")} records, decision and`,
    "outcome records as the enforcer writes them) generated in a temporary directory, then read three ways in",
    "one process, the page cache warm from generating it.",
    "",
    "| pass | seconds | MB/s | × the hashing floor |",
    "| --- | --- | --- | --- |",
    ...rows.map(([name, s]) => `| ${name} | ${s.toFixed(2)} | ${rate(s)} | ${(s / hashed.seconds).toFixed(2)} |`),
    "",
    `Memory while verifying: peak RSS ${mib(peakRss)} MiB (${mib(before.rss)} MiB before), peak heap ${mib(peakHeap)} MiB, for a ${mib(bytes)} MiB file:`,
    "constant in the size of the log (one chunk, one line, the position of the last record).",
    "",
    `Machine: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length} (${os.arch()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}.`,
    `Node ${process.version}. Run at ${new Date().toISOString()}.`,
    "",
  ].join("\n");
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, text);
  console.log(text);
  if (sink === 0) throw new Error("unreachable");
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
