/** The Python example client (standard library only) against a live `armor serve` on an ephemeral port. */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, fixtures, repoRoot, type Served, startServe } from "./support.js";

let python: string | null = null;
try {
  execFileSync("python3", ["--version"]);
  python = "python3";
} catch {
  python = null;
}

let svc: Served;
let audit: string;

beforeAll(async () => {
  if (python === null) return;
  assertBuilt();
  audit = join(mkdtempSync(join(tmpdir(), "armor-py-")), "audit.jsonl");
  svc = await startServe(["--policy", join(fixtures, "serve.armor"), "--audit", audit]);
});

afterAll(async () => {
  await svc?.stop();
});

describe.skipIf(python === null)("examples/python-client", () => {
  it("decides, guards, records and reports errors against a live service", async () => {
    const { stdout } = await promisify(execFile)(python!, [join(repoRoot, "examples", "python-client", "client.py"), svc.url], { timeout: 30_000 });
    const steps = Object.fromEntries(stdout.trim().split("\n").map((l) => JSON.parse(l) as { step: string; value: unknown }).map((s) => [s.step, s.value]));
    expect(steps).toEqual({
      health: "ok",
      small_wire: "allow",
      large_wire: ["require_approval", "finance"],
      intern_wire: ["deny", ["clerks_only_small"]],
      mail_0: "sent",
      mail_1: "sent",
      // the two recorded mails count: the third is over the limit
      mail_2: ["denied", ["mail_limit"]],
      // the tool got the redacted arguments
      sent: ["card [REDACTED] #0", "card [REDACTED] #1"],
      empty_body: [400, "invalid_json"],
      unknown_route: [404, "not_found"],
    });
    const text = readFileSync(audit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    expect(text.trim().split("\n").filter((l) => l.includes('"mode":"record"'))).toHaveLength(2);
  });
});
