// A bounded load test of `armor serve` on 127.0.0.1: a fixed number of POST /v1/decide requests
// (with a share of /v1/record) at a fixed concurrency over a keep-alive agent, under a time cap.
// Reports throughput, p50/p99 latency and the error count, and writes bench/results/serve.md.
// Zero errors are required: any error (or hitting the time cap) exits 1.
//
//   npm run build -w @agent-armor/runtime -w @agent-armor/compiler -w @agent-armor/gateway
//   node bench/serve-load.mjs [--requests 20000] [--concurrency 32] [--cap-s 60] [--audit] [--out bench/results/serve.md] [--append]
// bench/results/serve.md is `node bench/serve-load.mjs && node bench/serve-load.mjs --audit --append`.
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const REQUESTS = Number(opt("requests", 20000));
const CONCURRENCY = Number(opt("concurrency", 32));
const CAP_MS = Number(opt("cap-s", 60)) * 1000;
const WARMUP = 500;
const AUDIT = argv.includes("--audit");
const OUT = opt("out", join(root, "bench", "results", "serve.md"));
const APPEND = argv.includes("--append");
const POLICY = join(root, "examples", "payments", "policy.armor");

const work = mkdtempSync(join(os.tmpdir(), "armor-serve-load-"));
const auditFile = join(work, "audit.jsonl");
const child = spawn(process.execPath, [join(root, "packages", "cli", "bin", "armor.js"), "serve", "--policy", POLICY, "--port", "0", ...(AUDIT ? ["--audit", auditFile] : [])], {
  stdio: ["ignore", "ignore", "pipe"],
});
let stderr = "";
const base = await new Promise((resolve, reject) => {
  child.stderr.on("data", (d) => {
    stderr += d;
    const m = /listening on (http:\/\/\S+)/.exec(stderr);
    if (m) resolve(new URL(m[1]));
  });
  child.once("exit", (code) => reject(new Error(`armor serve exited ${code}:\n${stderr}`)));
});

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const recipients = ["bob", "alice", "acme-shell-co", "carol"];
function body(i) {
  const session = `s${i % 64}`;
  if (i % 10 === 9) return ["/v1/record", { action: { type: "get_balance", account: `acc-${i % 7}` }, session }];
  return ["/v1/decide", { action: { type: "wire_transfer", amount: (i * 7919) % 40_000, recipient: recipients[i % 4], currency: "USD" }, session, user: { id: `u${i % 5}`, role: "clerk" } }];
}

function post(path, payload) {
  return new Promise((resolve) => {
    const data = JSON.stringify(payload);
    const t0 = process.hrtime.bigint();
    const req = http.request(
      { host: base.hostname, port: base.port, path, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          let ok = res.statusCode === 200;
          if (ok) {
            try {
              const j = JSON.parse(Buffer.concat(chunks).toString());
              ok = path === "/v1/record" ? j.recorded === true : typeof j.decision === "string";
            } catch {
              ok = false;
            }
          }
          resolve({ ok, ms, status: res.statusCode });
        });
      },
    );
    req.on("error", (e) => resolve({ ok: false, ms: 0, status: e.code ?? "error" }));
    req.end(data);
  });
}

async function drive(count, deadline) {
  const latencies = [];
  const errors = {};
  let next = 0;
  let capped = false;
  async function worker() {
    while (next < count) {
      if (Date.now() > deadline) {
        capped = true;
        return;
      }
      const i = next++;
      const [path, payload] = body(i);
      const r = await post(path, payload);
      if (r.ok) latencies.push(r.ms);
      else errors[r.status] = (errors[r.status] ?? 0) + 1;
    }
  }
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { latencies, errors, seconds, capped };
}

const started = Date.now();
await drive(WARMUP, started + CAP_MS);
const run = await drive(REQUESTS, started + CAP_MS);
agent.destroy();
child.kill("SIGTERM");
const exitCode = await new Promise((r) => child.once("exit", r));

const sorted = run.latencies.slice().sort((a, b) => a - b);
const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const errorCount = Object.values(run.errors).reduce((a, b) => a + b, 0);
const done = run.latencies.length + errorCount;
const rps = done / run.seconds;
let auditLines = null;
if (AUDIT) auditLines = readFileSync(auditFile, "utf8").trim().split("\n").length;
rmSync(work, { recursive: true, force: true });

const pkg = (p) => JSON.parse(readFileSync(join(root, p, "package.json"), "utf8")).version;
const result = {
  requests: done,
  concurrency: CONCURRENCY,
  seconds: Number(run.seconds.toFixed(3)),
  throughputRps: Math.round(rps),
  p50Ms: Number(pct(50).toFixed(3)),
  p99Ms: Number(pct(99).toFixed(3)),
  maxMs: Number((sorted.at(-1) ?? NaN).toFixed(3)),
  errors: errorCount,
  errorsByStatus: run.errors,
  capped: run.capped,
  audit: AUDIT,
  serveExit: exitCode,
};
console.log(JSON.stringify(result));

const cpus = os.cpus();
const md = `${APPEND ? "\n" : "# `armor serve` load test\n\n"}## ${AUDIT ? "with the audit log" : "without an audit log"}

\`node bench/serve-load.mjs${argv.length ? ` ${argv.join(" ")}` : ""}\`: ${REQUESTS} requests (after ${WARMUP} warm-up requests) at concurrency ${CONCURRENCY}
from one Node process over a keep-alive \`http.Agent\`, to \`armor serve --policy examples/payments/policy.armor\`
on 127.0.0.1${AUDIT ? " with `--audit` (file sink, no fsync)" : " without an audit log"}, time cap ${CAP_MS / 1000} s. Nine in ten requests are
\`POST /v1/decide\` (wire transfers over 64 sessions: allow, deny and require_approval decisions), one in ten
\`POST /v1/record\`. Client and server share the machine.

| metric | value |
| --- | --- |
| requests completed | ${done} |
| wall time | ${result.seconds} s |
| throughput | ${result.throughputRps} requests/s |
| latency p50 | ${result.p50Ms} ms |
| latency p99 | ${result.p99Ms} ms |
| latency max | ${result.maxMs} ms |
| errors | ${errorCount}${errorCount ? ` ${JSON.stringify(run.errors)}` : ""} |
| hit the time cap | ${run.capped ? "yes" : "no"} |
${auditLines !== null ? `| audit records written | ${auditLines} |\n` : ""}
Machine: ${cpus[0]?.model ?? "unknown CPU"} × ${cpus.length} (${os.arch()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}.
Versions: Node ${process.version}, @agent-armor/gateway ${pkg("packages/gateway")}, @agent-armor/runtime ${pkg("packages/runtime")}, @agent-armor/compiler ${pkg("packages/compiler")}.
Run at ${new Date().toISOString()}.
`;
if (APPEND) appendFileSync(OUT, md);
else writeFileSync(OUT, md);
console.error(`written to ${OUT}`);
if (errorCount > 0 || run.capped || done !== REQUESTS) process.exit(1);
