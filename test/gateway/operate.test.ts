/**
 * Running `armor serve` and `armor mcp` as services: JSON logs (`--log-format json`), liveness
 * and readiness (`/livez`, `/readyz`), and policy reload on SIGHUP and on file change, each
 * result logged (the policy now in force, or the error with its place while the last good
 * policy stays).
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startCollector } from "../helpers/collector.js";
import { assertBuilt, connectGateway, everything, type Served, startServe, waitFor } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "armor-operate-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const V1 = 'policy ops version "1"\ndefault allow\nrule no_delete when action.type == "delete" deny\n';
const BROKEN = 'policy ops version "2"\ndefault allow\nrule bad when action.type == 1 deny\n';
const V3 = 'policy ops version "3"\ndefault deny\n';

/** The JSON log lines printed so far. */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
const reloads = (text: string) => jsonLines(text).filter((l) => l.event === "reload");

async function decide(s: Served, type: string): Promise<string> {
  const res = await fetch(`${s.url}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: { type } }) });
  return ((await res.json()) as { decision: string }).decision;
}

describe("armor serve as a service", () => {
  it("logs JSON lines, answers its probes, and reloads on SIGHUP and on file change", { timeout: 120_000 }, async () => {
    assertBuilt();
    const policy = join(work, "serve.armor");
    writeFileSync(policy, V1);
    const s = await startServe(["--policy", policy, "--log-format", "json", "--audit", join(work, "serve.jsonl")]);
    try {
      // every line is one JSON object with time, level, msg and component
      const start = jsonLines(s.stderr());
      expect(start.length).toBeGreaterThan(0);
      for (const l of start) expect(Object.keys(l).slice(0, 4)).toEqual(["time", "level", "msg", "component"]);
      expect(start).toContainEqual(expect.objectContaining({ level: "info", component: "serve", policy: "ops", version: "1" }));
      expect(
        s
          .stderr()
          .split("\n")
          .filter((l) => l !== "" && !l.startsWith("{")),
      ).toEqual([]);

      expect((await fetch(`${s.url}/livez`)).status).toBe(200);
      const ready = await fetch(`${s.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready", policy: { name: "ops", version: "1" } });
      expect(await decide(s, "delete")).toBe("deny");

      // SIGHUP with the file unchanged: reloaded, the same policy
      s.child.kill("SIGHUP");
      await waitFor(() => (reloads(s.stderr()).length >= 1 ? true : undefined), 20_000, "the SIGHUP reload");
      expect(reloads(s.stderr())[0]).toMatchObject({ result: "ok", trigger: "SIGHUP", policy: "ops", version: "1", level: "info" });

      // a broken policy on disk: the error with its place, and the last good policy stays
      writeFileSync(policy, BROKEN);
      s.child.kill("SIGHUP");
      await waitFor(() => (reloads(s.stderr()).some((r) => r.result === "error") ? true : undefined), 20_000, "the failed reload");
      const failed = reloads(s.stderr()).find((r) => r.result === "error")!;
      expect(failed).toMatchObject({ level: "error", location: `${policy}:3:15`, version: "1" });
      expect(failed.error).toMatch(/^A301 /);
      expect(await decide(s, "delete")).toBe("deny");
      expect(await decide(s, "read")).toBe("allow");

      // a good policy written: the file change reloads it
      const before = reloads(s.stderr()).length;
      writeFileSync(policy, V3);
      await waitFor(
        () =>
          reloads(s.stderr())
            .slice(before)
            .some((r) => r.result === "ok" && r.version === "3")
            ? true
            : undefined,
        20_000,
        "the file-change reload",
      );
      expect(await decide(s, "read")).toBe("deny");
      expect(((await (await fetch(`${s.url}/healthz`)).json()) as { policy: { version: string } }).policy.version).toBe("3");
      expect(((await (await fetch(`${s.url}/readyz`)).json()) as { policy: { version: string } }).policy.version).toBe("3");
    } finally {
      await s.stop();
    }
  });

  it("a file written in two steps is reloaded once it stops changing, never half-written", { timeout: 120_000 }, async () => {
    const policy = join(work, "two-steps.armor");
    writeFileSync(policy, V1);
    const s = await startServe(["--policy", policy, "--log-format", "json"]);
    try {
      expect(await decide(s, "delete")).toBe("deny");
      // the first half is a valid policy without the deny rule; the rest comes 600 ms later
      writeFileSync(policy, 'policy ops version "4"\ndefault allow\n');
      const seen: string[] = [];
      const until = Date.now() + 600;
      while (Date.now() < until) {
        seen.push(await decide(s, "delete"));
        await new Promise((r) => setTimeout(r, 25));
      }
      appendFileSync(policy, 'rule no_delete when action.type == "delete" deny\n');
      await waitFor(() => (reloads(s.stderr()).some((r) => r.version === "4") ? true : undefined), 20_000, "the reload of the whole file");
      seen.push(await decide(s, "delete"));
      expect(seen.filter((d) => d !== "deny")).toEqual([]);
      // one reload, of the whole file
      const four = reloads(s.stderr()).filter((r) => r.version === "4");
      expect(four).toHaveLength(1);
      expect(four[0]).toMatchObject({ result: "ok", trigger: "file change" });
      expect(await decide(s, "read")).toBe("allow");
    } finally {
      await s.stop();
    }
  });

  it("text stays the default log format, and --log-format takes only text or json", async () => {
    const policy = join(work, "text.armor");
    writeFileSync(policy, V1);
    const s = await startServe(["--policy", policy]);
    try {
      expect(s.stderr()).toMatch(/^armor serve: policy ops listening on http:\/\/127\.0\.0\.1:\d+\n/m);
      s.child.kill("SIGHUP");
      await waitFor(() => (/armor serve: policy reloaded \(SIGHUP\): ops 1 \(source [0-9a-f]{12}\)/.test(s.stderr()) ? true : undefined), 20_000, "the reload line");
    } finally {
      await s.stop();
    }
    await expect(startServe(["--policy", policy, "--log-format", "yaml"])).rejects.toThrow(/--log-format is text or json, not `yaml`/);
  });
});

describe("readiness", () => {
  it("is 503 naming the collector while decisions fail closed on shipping, and 200 again once it takes records", { timeout: 120_000 }, async () => {
    const c = await startCollector();
    c.answer = () => ({ status: 503, body: "collector down" });
    const policy = join(work, "ready.armor");
    writeFileSync(policy, V1);
    const s = await startServe(["--policy", policy, "--audit", join(work, "ready.jsonl"), "--ship-to", c.url, "--ship-overflow", "deny", "--ship-interval", "20"]);
    try {
      expect(await decide(s, "read")).toBe("allow");
      const notReady = await waitFor(
        async () => {
          const res = await fetch(`${s.url}/readyz`);
          return res.status === 503 ? ((await res.json()) as { status: string; problems: string[] }) : undefined;
        },
        30_000,
        "readyz to say 503",
      );
      expect(notReady.status).toBe("not_ready");
      expect(notReady.problems.join("\n")).toMatch(/^decision shipping \(fails closed\): the collector answered 503 \(a server error: retried\)$/m);
      // the collector's words stay out of an answer that takes no token
      expect(notReady.problems.join("\n")).not.toContain("collector down");
      expect((await fetch(`${s.url}/livez`)).status).toBe(200);
      c.answer = () => null;
      await waitFor(async () => ((await fetch(`${s.url}/readyz`)).status === 200 ? true : undefined), 60_000, "readyz to say 200");
    } finally {
      await s.stop();
      await c.stop();
    }
  });
});

describe("armor mcp as a service", () => {
  it("reloads its policy on SIGHUP and logs the result as JSON", { timeout: 120_000 }, async () => {
    const policy = join(work, "mcp.armor");
    writeFileSync(policy, V1);
    const gw = await connectGateway(["--policy", policy, "--log-format", "json", "--", ...everything]);
    try {
      const pid = (gw.transport as unknown as { pid: number | null }).pid!;
      writeFileSync(policy, 'policy ops version "2"\ndefault allow\nrule no_echo when action.type == "echo" deny\n');
      process.kill(pid, "SIGHUP");
      await waitFor(() => (reloads(gw.stderr()).some((r) => r.trigger === "SIGHUP") ? true : undefined), 20_000, "the reload");
      expect(reloads(gw.stderr()).find((r) => r.trigger === "SIGHUP")).toMatchObject({ result: "ok", component: "mcp", version: "2" });
      const r = (await gw.client.callTool({ name: "echo", arguments: { message: "hi" } })) as { isError?: boolean };
      expect(r.isError).toBe(true);
    } finally {
      await gw.close();
    }
  });
});
