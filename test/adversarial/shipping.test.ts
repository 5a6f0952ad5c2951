/**
 * Decision shipping against hostile collectors and records: an endpoint that answers garbage,
 * never answers, redirects to another host, answers with an endless body or an absurd
 * `Retry-After`; records whose fields are named `__proto__`, `constructor` or `seq`; config
 * files (`--config`) with prototype keys, alias bombs, a megabyte and more, deep nesting. What must
 * hold: every exchange ends within its timeout with a one-line error (never a throw, a hang, a
 * followed redirect or a body read past 2 KiB), and records reach the collector as the chain
 * stored them; a config file is refused with FILE:LINE:COLUMN and why, in bounded time, and no
 * prototype is touched.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { readConfigFile } from "../../packages/cli/src/armor/config-file.js";
import { SERVE_OPTIONS } from "../../packages/cli/src/armor/main.js";
import { postBatch } from "../../packages/runtime/src/audit-ship-http.js";
import { createAuditLog, createDecisionShipper, MAX_RETRY_AFTER_MS, type ShipEvent, streamSink, verifyAuditLog } from "../../packages/runtime/src/index.js";
import { type Collector, startCollector } from "../helpers/collector.js";

const servers: (Server | HttpServer)[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A TCP server that does whatever `onSocket` does with each connection; its URL. */
async function raw(onSocket: (s: Socket) => void): Promise<string> {
  const server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    onSocket(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/logs`;
}

/** An endless body: 64 KiB chunks for as long as the client reads. */
function endless(s: Socket, head: string): void {
  s.once("data", () => {
    s.write(head);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = (): void => {
      while (!s.destroyed && s.write(chunk));
      if (!s.destroyed) s.once("drain", pump);
    };
    pump();
  });
}

let other: Collector;
afterAll(() => other?.stop());

describe("a hostile collector", () => {
  // `error` (lastError, /readyz, denials) is the status and a fixed description; `detail` (the log line only) what the body said, on one line
  const cases: { name: string; serve: (s: Socket) => void; error: RegExp; detail?: RegExp; status?: number | null; timeoutMs?: number }[] = [
    {
      name: "garbage instead of HTTP",
      serve: (s) => s.once("data", () => s.end("\u001b[31mHELLO\r\n\r\n\u0000\u0000")),
      error: /fetch failed|parse|invalid/i,
      status: null,
      timeoutMs: 3_000,
    },
    { name: "no answer at all", serve: () => undefined, error: /^no answer within 300 ms$/, status: null },
    { name: "headers and then nothing", serve: (s) => s.once("data", () => s.write("HTTP/1.1 500 Oops\r\ncontent-length: 100\r\n\r\n")), error: /^the collector answered 500/, status: 500 },
    {
      name: "an endless error body",
      serve: (s) => endless(s, "HTTP/1.1 503 Busy\r\ntransfer-encoding: identity\r\nconnection: close\r\n\r\n"),
      error: /^the collector answered 503 \(a server error: retried\)$/,
      detail: /^A{200}$/,
      status: 503,
    },
    {
      name: "terminal escapes and newlines in the error body",
      serve: (s) => {
        const body = "\u001b[2Jfake\nlog line\u2028injected";
        s.once("data", () => s.end(`HTTP/1.1 400 Bad\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
      },
      error: /^the collector answered 400 \(the batch was refused\)$/,
      detail: /^\[2Jfake log line injected$/,
      status: 400,
    },
    {
      name: "a redirect to another host",
      serve: (s) => s.once("data", () => s.end("HTTP/1.1 307 Temporary Redirect\r\nlocation: http://collector.evil.example:8080/steal\r\ncontent-length: 0\r\n\r\n")),
      error: /^the collector answered 307, a redirect: redirects are not followed$/,
      detail: /^to collector\.evil\.example:8080$/,
      status: 307,
    },
  ];
  it.each(cases)("$name: a one-line error within the timeout", async ({ serve, error, detail, status, timeoutMs = 300 }) => {
    const url = await raw(serve);
    const started = Date.now();
    const outcome = await postBatch({ url, body: "[]", headers: { "content-type": "application/json" }, timeoutMs });
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(error);
    expect(outcome.error).not.toMatch(/[\n\r\u001b\u2028]/);
    if (detail !== undefined) expect(outcome.detail).toMatch(detail);
    expect(outcome.detail).not.toMatch(/[\n\r\u001b\u2028]/);
    if (status !== undefined) expect(outcome.status).toBe(status);
    // bounded by the request timeout (and the machine's load), never by the collector
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a redirect to another collector sends it nothing", async () => {
    other = await startCollector();
    const url = await raw((s) => s.once("data", () => s.end(`HTTP/1.1 308 Permanent Redirect\r\nlocation: ${other.url}\r\ncontent-length: 0\r\n\r\n`)));
    const outcome = await postBatch({ url, body: '[{"seq":0}]', headers: { "content-type": "application/json" }, timeoutMs: 1_000 });
    expect(outcome.status).toBe(308);
    expect(other.deliveries).toEqual([]);
  });

  it("a 2xx with an endless body is taken without reading it", async () => {
    const url = await raw((s) => endless(s, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n"));
    const outcome = await postBatch({ url, body: "[]", headers: {}, timeoutMs: 2_000 });
    expect(outcome).toEqual({ ok: true, status: 200, retryAfterMs: null, error: null, detail: "" });
  });

  const retryAfter: { value: string; wait: number }[] = [
    { value: "99999999999", wait: MAX_RETRY_AFTER_MS },
    { value: "Fri, 31 Dec 9999 23:59:59 GMT", wait: MAX_RETRY_AFTER_MS },
    { value: "-5", wait: -1 },
    { value: "soon", wait: -1 },
  ];
  it.each(retryAfter)("Retry-After: $value waits at most 5 minutes (or backs off when it cannot be read)", async ({ value, wait }) => {
    const server = createHttpServer((_req, res) => res.writeHead(429, { "retry-after": value }).end());
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const events: ShipEvent[] = [];
    const shipper = createDecisionShipper({
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
      flushIntervalMs: 1,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
      closeTimeoutMs: 1,
      onEvent: (e) => events.push(e),
    });
    const log = createAuditLog({ sinks: [shipper.tee(streamSink({ write: (_c, cb) => cb() }))] });
    await log.append({ kind: "decision", decisionId: "d", time: "2026-01-01T00:00:00Z" });
    const until = Date.now() + 5_000;
    while (!events.some((e) => e.type === "failed") && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const failed = events.find((e) => e.type === "failed") as Extract<ShipEvent, { type: "failed" }>;
    if (wait >= 0) expect(failed.retryInMs).toBe(wait);
    else expect(failed.retryInMs).toBeLessThanOrEqual(20);
    await shipper.close();
    expect(events.some((e) => e.type === "unshipped")).toBe(true);
  });
});

describe("hostile records", () => {
  it("records with prototype keys and a nested seq reach the collector as the chain stored them", async () => {
    const c = await startCollector();
    try {
      const shipper = createDecisionShipper({ url: c.url, flushIntervalMs: 5 });
      const lines: string[] = [];
      const log = createAuditLog({
        sinks: [
          shipper.tee(
            streamSink({
              write: (chunk, cb) => {
                lines.push(chunk);
                cb();
              },
            }),
          ),
        ],
      });
      shipper.attach(log);
      const hostile = [
        JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}'),
        { seq: 999, prev: "f".repeat(64), hash: "nope" },
        { toString: "x", valueOf: 1, hasOwnProperty: null },
      ];
      for (const [i, action] of hostile.entries()) await log.append({ kind: "decision", decisionId: `d${i}`, time: "2026-01-01T00:00:00Z", action });
      expect(await shipper.flush(5_000)).toBe(true);
      await log.close();
      expect([...c.records.keys()]).toEqual([0, 1, 2]);
      expect(verifyAuditLog(c.text()).ok).toBe(true);
      for (const line of lines) {
        const stored = JSON.parse(line) as { seq: number; hash: string };
        expect((JSON.parse(c.records.get(stored.seq)!) as { hash: string }).hash).toBe(stored.hash);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      await c.stop();
    }
  });
});

describe("hostile config files", () => {
  const dir = mkdtempSync(join(tmpdir(), "armor-config-hostile-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // a billion laughs: nine levels of ten aliases each, a billion strings if expanded
  const laughs = ['a0: &a0 "lol"', ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(",")}]`)].join("\n");
  const cases: { name: string; text: string | (() => string); error: RegExp }[] = [
    { name: "a __proto__ key", text: "__proto__:\n  policy: evil.armor\n", error: /:1:1: unknown key `__proto__`/ },
    { name: "a __proto__ key in quotes", text: '"__proto__": {"polluted": true}\n', error: /:1:1: unknown key `__proto__`/ },
    { name: "a constructor key", text: "constructor: {prototype: {polluted: true}}\n", error: /:1:1: unknown key `constructor`/ },
    { name: "toString as a key", text: "policy: p.armor\ntoString: x\n", error: /:2:1: unknown key `toString`/ },
    { name: "a merge key", text: "<<: {policy: p.armor}\n", error: /:1:1: unknown key `<<`/ },
    { name: "a billion laughs", text: laughs, error: /:1:9: anchors \(&a0\) are not allowed/ },
    { name: "an alias to a value defined elsewhere", text: "policy: *p\n", error: /:1:9: .*(alias|Alias)/ },
    { name: "a custom tag", text: "policy: !!js/function 'return 1'\n", error: /:1:9: .*tag/ },
    { name: "1 MiB and more", text: () => `policy: "${"x".repeat(1024 * 1024)}"\n`, error: /larger than 1024 KiB/ },
    { name: "100,000 nested lists", text: () => `policy: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`, error: /:1:72: the file nests deeper than 64 levels/ },
    { name: "200,000 nested block lists on a line", text: () => `allowed-host:\n${"- ".repeat(200_000)}x\n`, error: /:2:127: the file nests deeper than 64 levels/ },
    {
      name: "block lists nested by indentation",
      text: () => `allowed-host:\n${Array.from({ length: 100 }, (_, i) => `${" ".repeat(i)}-`).join("\n")} x\n`,
      error: /:65:64: the file nests deeper than 64 levels/,
    },
    {
      name: "maps nested by indentation",
      text: () => `allowed-host:\n${Array.from({ length: 1000 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")} x\n`,
      error: /:65:65: the file nests deeper than 64 levels/,
    },
    { name: "block lists inside brackets' depth", text: () => `allowed-host:\n${"- ".repeat(40)}${"[".repeat(40)}x${"]".repeat(40)}\n`, error: /:2:\d+: the file nests deeper than 64 levels/ },
    { name: "a key of a megabyte less a little", text: () => `${"k".repeat(1000_000)}: 1\n`, error: /:1:1: (unknown key `k{64}…`|.*(long|implicit))/ },
    { name: "binary garbage", text: "\u0000\u0001\u0002\ufffe: \u001b[2J\n", error: /:1:1: / },
  ];
  it.each(cases)("$name: refused at its place, in bounded time", ({ text, error }) => {
    const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, typeof text === "string" ? text : text());
    const started = Date.now();
    expect(() => readConfigFile(path, SERVE_OPTIONS, "serve")).toThrow(error);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).policy).toBeUndefined();
  });

  it("a directory or a FIFO where the file goes is refused without blocking", () => {
    const sub = join(dir, "a-dir.yaml");
    mkdirSync(sub);
    expect(() => readConfigFile(sub, SERVE_OPTIONS, "serve")).toThrow(/not a regular file/);
    expect(() => readConfigFile(join(dir, "missing.yaml"), SERVE_OPTIONS, "serve")).toThrow(/no such file/);
  });
});
