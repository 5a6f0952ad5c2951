/**
 * The Python example client (standard library only) against a live `armor serve` running the
 * payments example, as examples/python-client/README.md tells a reader to start it.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, repoRoot, type Served, startServe } from "./support.js";

let python: string | null = null;
try {
  execFileSync("python3", ["--version"]);
  python = "python3";
} catch {
  python = null;
}

let svc: Served;
let locked: Served;
let results: Served;
let resultsAudit: string;
let audit: string;
let tokenFile: string;

beforeAll(async () => {
  if (python === null) return;
  assertBuilt();
  const work = mkdtempSync(join(tmpdir(), "armor-py-"));
  audit = join(work, "audit.jsonl");
  tokenFile = join(work, "token");
  writeFileSync(tokenFile, "py-client-token\n");
  const payments = join(repoRoot, "examples", "payments", "policy.armor");
  svc = await startServe(["--policy", payments, "--audit", audit]);
  locked = await startServe(["--policy", payments, "--token-file", tokenFile]);
  resultsAudit = join(work, "results.audit.jsonl");
  results = await startServe(["--policy", join(repoRoot, "examples", "python-client", "tool-results.armor"), "--audit", resultsAudit]);
});

afterAll(async () => {
  await svc?.stop();
  await locked?.stop();
  await results?.stop();
});

describe.skipIf(python === null)("examples/python-client", () => {
  it("sends the bearer token to a service started with --token-file", async () => {
    const client = join(repoRoot, "examples", "python-client", "client.py");
    const { stdout } = await promisify(execFile)(python!, [client, locked.url, tokenFile], { timeout: 30_000 });
    expect(stdout).toContain('{"step": "wire_5", "value": ["denied", ["wire_velocity"]]}');
    // without it, the first call is refused
    const refused = await promisify(execFile)(python!, [client, locked.url], { timeout: 30_000 }).then(
      () => "",
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toContain("401 unauthorized");
  });

  it("checks tool results and a message: a credential withheld, a card redacted, a label that denies mail", async () => {
    const { stdout } = await promisify(execFile)(python!, [join(repoRoot, "examples", "python-client", "client.py"), "--results", results.url], { timeout: 30_000 });
    const steps = Object.fromEntries(
      stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { step: string; value: unknown })
        .map((s) => [s.step, s.value]),
    );
    expect(steps).toEqual({
      secret_file: ["deny", ["no_credentials_to_the_model"], null],
      customer: { id: 7, notes: "paid with [CARD]" },
      mail_before: "allow",
      mail_after_fetch: ["deny", ["no_mail_after_untrusted_input"]],
      refund_promise: ["deny", ["no_promises_of_refunds"]],
      result_without_stage: [400, "invalid_request", "/result"],
      // every call ran under its reservation, which its result check settled
      settled: [true, true, true],
    });
    const text = readFileSync(resultsAudit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    expect(text).not.toContain("AKIAIOSFODNN7EXAMPLE");
    const kinds = text
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { kind: string }).kind);
    expect(kinds.filter((k) => k === "result")).toHaveLength(3);
    expect(kinds.filter((k) => k === "output")).toHaveLength(1);
  });

  it("decides, guards, records and reports errors against a live service", async () => {
    const { stdout } = await promisify(execFile)(python!, [join(repoRoot, "examples", "python-client", "client.py"), svc.url], { timeout: 30_000 });
    const steps = Object.fromEntries(
      stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { step: string; value: unknown })
        .map((s) => [s.step, s.value]),
    );
    expect(steps).toEqual({
      health: "ok",
      small_wire: "allow",
      new_payee: ["require_approval", "finance", ["new_payee"]],
      sanctioned: ["deny", ["sanctioned_party"]],
      // the schema's errors come back as the decision's errors
      invalid_wire: ["deny", true],
      wire_0: "sent",
      wire_1: "sent",
      wire_2: "sent",
      wire_3: "sent",
      wire_4: "sent",
      // the five reserved and recorded wires count: the sixth is over the hourly limit
      wire_5: ["denied", ["wire_velocity"]],
      // the tool got the redacted arguments
      memos: ["invoice 0 to [REDACTED]", "invoice 1 to [REDACTED]"],
      empty_body: [400, "invalid_json"],
      unknown_route: [404, "not_found"],
    });
    const text = readFileSync(audit, "utf8");
    expect(verifyAuditLog(text).ok).toBe(true);
    expect(
      text
        .trim()
        .split("\n")
        .filter((l) => l.includes('"mode":"record"')),
    ).toHaveLength(5);
  });
});
