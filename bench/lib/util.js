// Small helpers; parseArgs and median follow the peer benchmark harness
// (/work/shared/bench/peerbench/src/util.js, "peerbench").
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (bench/lib/.. /..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH = path.join(ROOT, "bench");

export function pkgVersion(name) {
  for (const base of [path.join(ROOT, "node_modules", name), path.join(ROOT, "packages", name.replace("@agent-armor/", ""))]) {
    try {
      return JSON.parse(fs.readFileSync(path.join(base, "package.json"), "utf8")).version;
    } catch {
      // try the next place
    }
  }
  return null;
}

export function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const [k, v] = a.slice(2).split("=");
      if (v !== undefined) out[k] = v;
      else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out[k] = argv[++i];
      else out[k] = true;
    } else out._.push(a);
  }
  return out;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const now = () => process.hrtime.bigint();
export const msSince = (t) => Number(process.hrtime.bigint() - t) / 1e6;

/** Prints the one line a parent process reads. */
export function emitResult(obj) {
  process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`);
}
