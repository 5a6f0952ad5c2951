// A redis-server of a benchmark's own: a free loopback port, no persistence, started under
// `command` (redis-server itself, or a profiler wrapping it) and resolved once it accepts
// connections.
import { spawn } from "node:child_process";
import { createServer } from "node:net";

/** A loopback port nothing listens on now. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Starts `redis-server` on `port` with its files in `dir`, after `prefix` (e.g. valgrind and its
 * options) when given; resolves with the child process once Redis says it is ready.
 */
export async function startRedisServer(port, dir, { prefix = [], extra = [], stderr = "inherit" } = {}) {
  const redisArgs = ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extra];
  const [command, ...args] = [...prefix, ...redisArgs];
  const server = spawn(command, args, { stdio: ["ignore", "pipe", stderr] });
  await new Promise((resolve, reject) => {
    let out = "";
    server.once("error", reject);
    server.stdout.on("data", (d) => {
      out += d;
      if (out.includes("Ready to accept connections")) resolve();
    });
  });
  return server;
}
