// How long the command-line tools take to start, as ratios to `node -e 0` measured in the same
// run (each sample a fresh process, the samples of every command interleaved):
//   - `armorc check` of a one-rule policy (target: at most 3x);
//   - `armorc --version` (what loading the CLI costs before any work);
//   - `armor serve` of the same policy, until it has answered `GET /healthz` (target: at most 4x).
// Writes bench/results/cli-startup.md. A short script (under a minute); run on its own.
//   node bench/cli-startup.mjs [--samples 15]
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { median, parseArgs, ROOT } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const SAMPLES = Number(args.samples ?? 15);
const ARMORC = path.join(ROOT, "packages", "cli", "bin", "armorc.js");
const ARMOR = path.join(ROOT, "packages", "cli", "bin", "armor.js");

const work = fs.mkdtempSync(path.join(os.tmpdir(), "armor-startup-"));
const policy = path.join(work, "one.armor");
fs.writeFileSync(policy, 'default allow\nrule r when action.type == "x" deny\n');

/** Milliseconds for a process to run to its end. */
function timed(argv) {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, argv, { stdio: "ignore" });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      })
      .on("error", reject);
  });
}

/** Milliseconds from spawning `armor serve` until it has answered /healthz; then it is stopped. */
async function serveReady() {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, [ARMOR, "serve", "--policy", policy, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const url = await new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`armor serve exited (${code}): ${err}`)));
  });
  const status = await get(`${url}/healthz`);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (status !== 200) throw new Error(`/healthz answered ${status}`);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  return ms;
}

const commands = [
  { name: "`node -e 0` (the floor)", run: () => timed(["-e", "0"]) },
  { name: "`armorc --version`", run: () => timed([ARMORC, "--version"]) },
  { name: "`armorc check` of a one-rule policy", run: () => timed([ARMORC, "check", policy]), target: 3 },
  { name: "`armor serve` until `/healthz` answers", run: serveReady, target: 4 },
];
const samples = commands.map(() => []);
for (const c of commands) await c.run(); // warm the file system cache
for (let i = 0; i < SAMPLES; i++) for (const [k, c] of commands.entries()) samples[k].push(await c.run());

const floor = median(samples[0]);
const rows = commands.map((c, k) => {
  const ms = median(samples[k]);
  const ratio = ms / floor;
  const verdict = c.target === undefined ? "" : ratio <= c.target ? `met (target ≤ ${c.target}×)` : `missed (target ≤ ${c.target}×)`;
  return `| ${c.name} | ${ms.toFixed(0)} ms | ${ratio.toFixed(2)}× | ${verdict} |`;
});
const md = [
  "# Start-up of the command-line tools",
  "",
  `Median of ${SAMPLES} fresh processes each, interleaved, on ${os.cpus()[0]?.model ?? "an unknown CPU"} (${os.cpus().length} cores), Node ${process.version}; load average at the end ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(", ")}.`,
  "",
  "| command | median | × `node -e 0` | verdict |",
  "| --- | ---: | ---: | --- |",
  ...rows,
  "",
].join("\n");
fs.mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
fs.writeFileSync(path.join(ROOT, "bench", "results", "cli-startup.md"), md);
process.stdout.write(md);
fs.rmSync(work, { recursive: true, force: true });
