/**
 * `--ship-to` on the command line: `armor mcp` ships its audit log to a collector (the service's
 * own run is examples/decision-shipping, test/decision-shipping-example.test.ts), and the
 * shipping options are refused, naming the option, when they cannot work.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { verifyAuditLog } from "../../packages/runtime/src/index.js";
import { type Collector, startCollector } from "../helpers/collector.js";
import { armorBin, assertBuilt, connectGateway, everything, waitFor } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "armor-ship-cli-"));
const policy = join(work, "p.armor");
beforeAll(() => {
  assertBuilt();
  writeFileSync(policy, 'policy p version "1"\ndefault allow\nrule no when action.type == "get-env" deny\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("shipping options", () => {
  const cases: { args: string[]; error: RegExp }[] = [
    { args: ["--ship-to", "http://127.0.0.1:9/x"], error: /--ship-to sends the audit log's records: give --audit FILE too/ },
    { args: ["--audit", "a.jsonl", "--ship-batch", "5"], error: /--ship-batch tunes decision shipping: it needs --ship-to URL/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "ftp://host/x"], error: /--ship-to is an http\(s\) URL, not `ftp:\/\/host\/x`/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://user:pw@host/x"], error: /--ship-to must not hold credentials/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://host/x", "--ship-overflow", "block"], error: /--ship-overflow is drop or deny, not `block`/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://host/x", "--ship-batch", "0"], error: /--ship-batch must be a positive number of records, not `0`/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://host/x", "--ship-interval", "1e3"], error: /--ship-interval must be a positive number of milliseconds/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://host/x", "--ship-buffer", "-1"], error: /--ship-buffer must be a positive number of records/ },
  ];
  for (const command of ["serve", "mcp"]) {
    it.each(cases)(`armor ${command} $args`, ({ args, error }) => {
      const tail = command === "mcp" ? ["--", "node", "server.js"] : [];
      const r = spawnSync(process.execPath, [armorBin, command, "--policy", policy, ...args, ...tail], { encoding: "utf8", cwd: work, timeout: 30_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(error);
    });
  }
});

describe("armor mcp --ship-to", () => {
  let c: Collector;
  beforeAll(async () => {
    c = await startCollector();
  });
  afterAll(() => c.stop());

  it("ships every record of the gateway's audit log", { timeout: 60_000 }, async () => {
    const audit = join(work, "mcp-audit.jsonl");
    const token = join(work, "ship.token");
    writeFileSync(token, "s3cret\n");
    const gw = await connectGateway(["--policy", policy, "--audit", audit, "--ship-to", c.url, "--ship-token-file", token, "--ship-interval", "50", "--", ...everything]);
    try {
      for (const message of ["one", "two", "three"]) await gw.client.callTool({ name: "echo", arguments: { message } });
      await gw.client.callTool({ name: "get-env", arguments: {} });
    } finally {
      await gw.close();
    }
    const lines = () => readFileSync(audit, "utf8").split("\n").filter(Boolean);
    await waitFor(() => (c.records.size === lines().length ? true : undefined), 20_000, "every record at the collector");
    expect(verifyAuditLog(c.text()).ok).toBe(true);
    expect(c.records.size).toBe(lines().length);
    expect(c.deliveries.every((d) => d.headers.authorization === "Bearer s3cret")).toBe(true);
    expect(gw.stderr()).toContain(`shipping the audit log's records to ${c.url}`);
  });

  it("names a resumed file's chain by its first record, and counts what it shipped in its metrics", { timeout: 60_000 }, async () => {
    const own = await startCollector();
    onTestFinished(() => own.stop());
    const audit = join(work, "mcp-resumed.jsonl");
    const lines = () => readFileSync(audit, "utf8").split("\n").filter(Boolean);
    for (const run of [1, 2]) {
      const gw = await connectGateway(["--policy", policy, "--audit", audit, "--ship-to", own.url, "--ship-interval", "20", "--metrics-port", "0", "--", ...everything]);
      try {
        await gw.client.callTool({ name: "echo", arguments: { message: `run ${run}` } });
        const url = await waitFor(() => /metrics at (\S+)/.exec(gw.stderr())?.[1], 10_000, "the metrics URL");
        const shipped = () => lines().filter((l) => own.records.has(JSON.parse(l).seq)).length;
        await waitFor(() => (shipped() === lines().length ? true : undefined), 20_000, "the records at the collector");
        const scrape = await waitFor(
          async () => {
            const text = await (await fetch(url)).text();
            const m = /^armor_shipping_records_total\{result="shipped"\} (\d+)$/m.exec(text);
            return m !== null && Number(m[1]) > 0 ? text : undefined;
          },
          10_000,
          "the shipping metrics",
        );
        expect(scrape).toMatch(/^armor_shipping_records_total\{result="dropped"\} 0$/m);
        expect(scrape).toMatch(/^armor_shipping_batches_failed_total\{status="5xx"\} 0$/m);
        expect(scrape).toMatch(/^armor_shipping_buffer_records \d+$/m);
      } finally {
        await gw.close();
      }
    }
    // the second run resumed the file's chain: its batches name the same chain, record 0's hash
    const ids = new Set(own.deliveries.filter((d) => d.headers["x-armor-chain-seq"] !== undefined).map((d) => d.headers["x-armor-chain-id"]));
    expect(ids.has(JSON.parse(lines()[0]!).hash)).toBe(true);
    const resumed = own.deliveries.filter((d) => !String(d.headers["x-armor-chain-seq"]).startsWith("0-"));
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.every((d) => d.headers["x-armor-chain-id"] === JSON.parse(lines()[0]!).hash)).toBe(true);
  });
});
