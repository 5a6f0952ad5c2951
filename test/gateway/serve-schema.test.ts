/** `armor serve` in front of the payments example: an invalid action's errors come from its own type's branch, in the response and in the audit log. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, repoRoot, type Served, startServe } from "./support.js";

let svc: Served;
let audit: string;

beforeAll(async () => {
  assertBuilt();
  audit = join(mkdtempSync(join(tmpdir(), "armor-serve-schema-")), "audit.jsonl");
  svc = await startServe(["--policy", join(repoRoot, "examples", "payments", "policy.armor"), "--audit", audit]);
});

afterAll(async () => {
  await svc?.stop();
});

const wire = { type: "wire_transfer", from_account: "ops-usd-01", recipient: "globex", recipient_country: "DE", recipient_account: "DE89", amount: 10, currency: "EUR" };

describe("armor serve: schema errors", () => {
  it.each([
    ["a missing field", { ...wire, recipient_account: undefined }, ["`wire_transfer` lacks the field `recipient_account`"]],
    [
      "several errors of the type's own branch",
      { ...wire, amount: "10", memo: 5, extra: true },
      ["`wire_transfer` has an unexpected field `extra`", "`amount` must be number", "`memo` must be string"],
    ],
    ["an unknown type", { type: "wire" }, ["the action type `wire` is not one of the schema's action types (`wire_transfer`, `add_payee`, `get_balance`, `list_transactions`)"]],
  ])("POST /v1/decide, %s", async (_name, action, expected) => {
    const res = await fetch(`${svc.url}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { decision: string; id: string; errors: unknown };
    const errors = expected.map((m) => ({ rule: null, message: `invalid action: ${m}` }));
    expect(body.decision).toBe("deny");
    expect(body.errors).toEqual(errors);
    const records = readFileSync(audit, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { kind: string; decisionId?: string; errors?: unknown });
    expect(records.find((r) => r.kind === "decision" && r.decisionId === body.id)?.errors).toEqual(errors);
  });
});
