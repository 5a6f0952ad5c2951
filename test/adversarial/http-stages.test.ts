/**
 * Hostile bodies at the result and output stages of `POST /v1/decide`: results past the body
 * limit, nested past the depth limit, holding too many values, numbers JSON cannot represent,
 * prototype keys, and long texts for the detectors. Each gets a 4xx with a JSON error or a
 * `deny` that says why, never a 500, a hang or the withheld content; the audit log verifies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DecisionService, startDecisionService } from "@agent-armor/gateway";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, repoRoot } from "../gateway/support.js";

let svc: DecisionService;
let audit: string;

beforeAll(async () => {
  assertBuilt();
  audit = join(mkdtempSync(join(tmpdir(), "armor-http-stages-")), "audit.jsonl");
  svc = await startDecisionService({ policy: join(repoRoot, "examples", "python-client", "tool-results.armor"), port: 0, audit, log: () => undefined });
});

afterAll(async () => {
  await svc?.close();
});

const action = '{"type":"lookup_customer","id":7}';
const nested = (depth: number): string => `${"[".repeat(depth)}1${"]".repeat(depth)}`;

// [what, the raw body, status, the error code (4xx) or the decision (200), words of its message or errors, text the answer must not hold]
const cases: [string, string, number, string, string, string?][] = [
  ["a result over the 1 MiB body limit", `{"stage":"result","action":${action},"result":"${"x".repeat(1024 * 1024)}"}`, 413, "payload_too_large", "1048576"],
  ["a result nested past 64 levels", `{"stage":"result","action":${action},"result":${nested(100)}}`, 400, "too_deep", "64"],
  ["an output nested past 64 levels", `{"stage":"output","output":{"text":"hi","x":${nested(100)}}}`, 400, "too_deep", "64"],
  ["a result of more than 100,000 values", `{"stage":"result","action":${action},"result":[${Array(100_001).fill("0").join(",")}]}`, 200, "deny", "more than 100,000 values"],
  ["a number JSON cannot represent in a result", `{"stage":"result","action":${action},"result":{"n":1e400}}`, 200, "deny", "result.n"],
  ["a number JSON cannot represent in an output", `{"stage":"output","output":{"text":"hi","n":-1e999}}`, 200, "deny", "output.n"],
  ["an output whose text is not a string", `{"stage":"output","output":{"text":["hi"]}}`, 200, "deny", "`output` must be an object with a string `text`"],
  [
    "a credential behind a __proto__ key is still read (an own field of the result)",
    `{"stage":"result","action":${action},"result":{"__proto__":{"k":"AKIAIOSFODNN7EXAMPLE"}}}`,
    200,
    "deny",
    "no_credentials_to_the_model",
    "AKIAIOSFODNN7EXAMPLE",
  ],
  [
    "a result whose notes are not a string: the redaction errs, so it is withheld",
    `{"stage":"result","action":${action},"result":{"notes":{"card":"4111 1111 1111 1111"}}}`,
    200,
    "deny",
    "needs a string",
    "4111",
  ],
  ["a stage that names an object prototype key", `{"stage":"constructor","action":${action},"result":1}`, 400, "invalid_request", "`stage` must be"],
  ["a decisionId on the call stage", `{"action":${action},"decisionId":"d-1"}`, 400, "invalid_request", "/decisionId"],
  ["a decisionId that is not a string", `{"stage":"result","action":${action},"result":1,"decisionId":7}`, 400, "invalid_request", "/decisionId"],
  ["a decisionId with an action that cannot be recorded", `{"stage":"result","action":{"id":7},"result":1,"decisionId":"d-1"}`, 400, "invalid_request", "/action"],
  ["a decisionId that breaks out of its JSON string", `{"stage":"result","action":${action},"result":1,"decisionId":"x\\",\\"decision\\":\\"deny"}`, 400, "invalid_request", "/decisionId"],
  ["a decisionId that names no reservation", `{"stage":"result","action":${action},"result":1,"decisionId":"never-reserved"}`, 409, "no_reservation", "without `decisionId`"],
];

describe("hostile bodies at the result and output stages", () => {
  it.each(cases)("%s", async (_what, body, status, outcome, words, secret) => {
    const res = await fetch(`${svc.url}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).toBe(status);
    const text = await res.text();
    const json = JSON.parse(text) as Record<string, unknown>;
    if (status === 200) {
      expect(json.decision).toBe(outcome);
      expect((json.result ?? json.output ?? null) === null).toBe(true);
      const said = [...(json.errors as { message: string }[]).map((e) => e.message), ...(json.rules as { id: string }[]).map((r) => r.id)].join("\n");
      expect(said).toContain(words);
    } else {
      const error = json.error as { code: string; message: string };
      expect(error.code).toBe(outcome);
      expect(`${error.message} ${JSON.stringify(error)}`).toContain(words);
    }
    if (secret !== undefined) expect(text).not.toContain(secret);
  });

  it("a long text full of card-like digits is decided within the matcher's bounds, and the log verifies", async () => {
    const notes = "4111 1111 1111 1111 ".repeat(40_000);
    const res = await fetch(`${svc.url}/v1/decide`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ stage: "result", action: { type: "lookup_customer", id: 7 }, result: { notes } }),
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { decision: string; result: { notes: string } | null; errors: { message: string }[] };
    // either every card is redacted, or a limit of the matcher denies it with its reason: never the cards
    if (json.decision === "allow") expect(json.result!.notes).not.toMatch(/4111/);
    else expect(json.errors.length).toBeGreaterThan(0);
    expect(verifyAuditLog(readFileSync(audit, "utf8")).ok).toBe(true);
  });

  it("a result with the decisionId of a reserved call settles the reservation, once, in its own session only", async () => {
    const post = async (body: unknown) =>
      (await fetch(`${svc.url}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
    const call = { type: "fetch_url", url: "https://example.com" };
    const decided = await post({ action: call, session: "reserved-result", reserve: true });
    expect(decided).toMatchObject({ decision: "allow", reserved: true });
    const first = await post({ stage: "result", action: call, result: "<html>", session: "reserved-result", decisionId: decided.id });
    expect(first).toMatchObject({ decision: "allow", stage: "result", result: "<html>", labels: ["untrusted"], settled: true, id: decided.id });
    // the reservation is settled: its id names nothing now, and decides nothing
    const again = await post({ stage: "result", action: call, result: "<html>", session: "reserved-result", decisionId: decided.id });
    expect(again).toMatchObject({ error: { code: "no_reservation" } });
    // another session's reservation is not this session's
    const other = await post({ action: call, session: "other-session", reserve: true });
    expect(await post({ stage: "result", action: call, result: "<html>", session: "reserved-result", decisionId: other.id })).toMatchObject({ error: { code: "no_reservation" } });
    expect(await post({ action: { type: "send_email" }, session: "reserved-result" })).toMatchObject({ decision: "deny" });
    expect(verifyAuditLog(readFileSync(audit, "utf8")).ok).toBe(true);
  });
});
