/**
 * A real `redis-server` for tests: on a free loopback port, without persistence, its working
 * folder a temp dir, stopped (and restartable on the same port) by the test. Tests that need it
 * skip with a message when `redis-server` is not installed, unless ARMOR_E2E=1 (then they fail),
 * as the end-to-end tests do. Debian: `apt-get install redis-server` (test/e2e/setup.sh does).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_REQUIRED = process.env.ARMOR_E2E === "1";

export function redisServerPath(): string | null {
  const r = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : null;
}

/** True when the suite should be skipped (no redis-server, and ARMOR_E2E is not "1"); says why. */
export function skipWithoutRedis(suite: string): boolean {
  if (redisServerPath() !== null) return false;
  if (REDIS_REQUIRED) {
    console.error(`[redis] ${suite}: ARMOR_E2E=1 but redis-server is not installed: failing`);
    return false;
  }
  console.warn(`[redis] skipping ${suite}: redis-server is not installed (apt-get install redis-server, or bash test/e2e/setup.sh; with ARMOR_E2E=1 this is a failure)`);
  return true;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops it (SIGTERM, then waits for the exit). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

/** `extraArgs`: more redis-server options (`--rename-command FCALL ""` makes a Redis without functions). */
export async function startRedis(extraArgs: readonly string[] = []): Promise<RedisServer> {
  const bin = redisServerPath();
  if (bin === null) throw new Error("redis-server is not installed (apt-get install redis-server)");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "armor-redis-"));
  let child: ChildProcess | null = null;
  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "notice", ...extraArgs];
      const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
      child = p;
      let out = "";
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${out.slice(-500)}`)), 10_000);
      p.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      p.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`));
      });
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      const p = child;
      child = null;
      if (p === null || p.exitCode !== null) return resolve();
      p.once("exit", () => resolve());
      p.kill("SIGTERM");
    });
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
