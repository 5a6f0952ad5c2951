/**
 * `armor mcp --metrics-port P`: Prometheus metrics on 127.0.0.1 beside the stdio gateway; after
 * tool calls, the scrape counts the decisions the audit log records, by decision and tool; other
 * hosts, browser origins and other routes are refused. The same port answers an orchestrator's
 * probes: `/livez` while the process runs, `/readyz` when the policy, the upstream, the audit log
 * and (failing closed) the decision shipping are ready.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startCollector } from "../helpers/collector.js";
import { armorBin, assertBuilt, connectGateway, everything, fixtures, freePort, repoRoot, waitFor } from "./support.js";

describe("armor mcp --metrics-port", () => {
  it("serves the gateway's decisions as Prometheus metrics on loopback", async () => {
    assertBuilt();
    const audit = join(mkdtempSync(join(tmpdir(), "armor-mcp-metrics-")), "audit.jsonl");
    const port = await freePort();
    const gw = await connectGateway(["--policy", join(fixtures, "everything.armor"), "--audit", audit, "--metrics-port", String(port), "--", process.execPath, ...everything]);
    try {
      await waitFor(() => (/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/.test(gw.stderr()) ? true : undefined), 10_000, "the metrics address in the log");
      await gw.client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
      await gw.client.callTool({ name: "echo", arguments: { message: "hi" } });
      await gw.client.callTool({ name: "echo", arguments: { message: "again" } });
      const url = `http://127.0.0.1:${port}/metrics`;
      const text = await (await fetch(url)).text();
      const counted: Record<string, number> = {};
      for (const m of text.matchAll(/^armor_decisions_total\{([^}]*)\} (\d+)$/gm)) {
        const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
        if (labels.stage !== "call") continue;
        const key = `${labels.decision} ${labels.action_type}`;
        counted[key] = (counted[key] ?? 0) + Number(m[2]);
      }
      const logged: Record<string, number> = {};
      for (const line of readFileSync(audit, "utf8").trim().split("\n")) {
        const r = JSON.parse(line) as { kind: string; decision?: string; action?: { type: string } };
        if (r.kind !== "decision") continue;
        const key = `${r.decision} ${r.action!.type}`;
        logged[key] = (logged[key] ?? 0) + 1;
      }
      expect(Object.values(logged).reduce((a, b) => a + b, 0)).toBe(3);
      // a tool the policy does not name is `other`
      const named = (k: string) => (readFileSync(join(fixtures, "everything.armor"), "utf8").includes(`"${k.split(" ")[1]}"`) ? k : `${k.split(" ")[0]} other`);
      const expected: Record<string, number> = {};
      for (const [k, n] of Object.entries(logged)) expected[named(k)] = (expected[named(k)] ?? 0) + n;
      expect(counted).toEqual(expected);
      expect(text).toContain("process_cpu_user_seconds_total");
      expect((await fetch(url, { headers: { origin: "https://evil.example" } })).status).toBe(403);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      expect((await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(405);
    } finally {
      await gw.close();
    }
  });

  it("answers /livez and /readyz beside /metrics, and /readyz is 503 naming the collector while shipping fails closed", { timeout: 120_000 }, async () => {
    assertBuilt();
    const c = await startCollector();
    const audit = join(mkdtempSync(join(tmpdir(), "armor-mcp-probes-")), "audit.jsonl");
    const port = await freePort();
    const ship = ["--ship-to", c.url, "--ship-overflow", "deny", "--ship-interval", "20"];
    const gw = await connectGateway(["--policy", join(fixtures, "everything.armor"), "--audit", audit, "--metrics-port", String(port), ...ship, "--", process.execPath, ...everything]);
    const base = `http://127.0.0.1:${port}`;
    try {
      const live = await fetch(`${base}/livez`);
      expect([live.status, await live.json()]).toEqual([200, { status: "ok" }]);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready", policy: { name: expect.any(String), sourceHash: expect.stringMatching(/^[0-9a-f]{64}$/) } });

      c.answer = () => ({ status: 503, body: "collector down" });
      await gw.client.callTool({ name: "echo", arguments: { message: "hi" } });
      const notReady = await waitFor(
        async () => {
          const res = await fetch(`${base}/readyz`);
          return res.status === 503 ? ((await res.json()) as { status: string; problems: string[] }) : undefined;
        },
        30_000,
        "readyz to say 503",
      );
      expect(notReady.status).toBe("not_ready");
      expect(notReady.problems).toEqual(["decision shipping (fails closed): the collector answered 503 (a server error: retried)"]);
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      c.answer = () => null;
      await waitFor(async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 60_000, "readyz to say 200");
      // probes are read-only and local, as /metrics
      expect((await fetch(`${base}/readyz`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(405);
      expect((await fetch(`${base}/livez`, { headers: { origin: "https://evil.example" } })).status).toBe(403);
    } finally {
      await gw.close();
      await c.stop();
    }
  });

  it.each([
    ["99999", "--metrics-port must be a port number (0-65535), not `99999`"],
    ["http", "--metrics-port must be a port number (0-65535), not `http`"],
  ])("refuses --metrics-port %s with a usage error", (value, message) => {
    const r = spawnSync(process.execPath, [armorBin, "mcp", "--policy", join(fixtures, "everything.armor"), "--metrics-port", value, "--", "node", "x.js"], { cwd: repoRoot, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
