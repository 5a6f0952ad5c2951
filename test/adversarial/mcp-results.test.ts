/**
 * Hostile tool results through `armor mcp` (an upstream that returns them on purpose): nested
 * too deep, too many values, a credential behind a `__proto__` key or inside an embedded
 * resource, megabytes of card-like digits. Each is withheld with the reason or redacted, never passed
 * unchecked and never a hang; the audit log has a result record per call and verifies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyAuditLog } from "@agent-armor/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, type Connected, connectGateway, fixtures, textOf } from "../gateway/support.js";

let gw: Connected;
let audit: string;

beforeAll(async () => {
  assertBuilt();
  audit = join(mkdtempSync(join(tmpdir(), "armor-adv-mcp-results-")), "audit.jsonl");
  gw = await connectGateway(["--policy", join(fixtures, "results.armor"), "--audit", audit, "--", process.execPath, join(fixtures, "hostile-results-upstream.mjs")]);
});

afterAll(async () => {
  await gw?.close();
});

// [tool, withheld?, words the client reads, text the client must not read]
const cases: [string, boolean, string, string | null][] = [
  ["deep", true, "nests deeper than 64 levels", null],
  ["many", true, "more than 100,000 values", null],
  // the SDK's parsing of the upstream's answer turns an own `__proto__` key into a prototype, which
  // neither the policy (own fields only) nor the client's JSON ever reads: the credential is dropped
  ["proto", false, "proto", "AKIAIOSFODNN7EXAMPLE"],
  ["secret_in_resource", true, "rule no_credentials_to_the_model", "AKIAIOSFODNN7EXAMPLE"],
  ["fine", false, "all good", null],
];

describe("hostile tool results through armor mcp", () => {
  it.each(cases)("%s", async (tool, withheld, words, secret) => {
    const r = await gw.client.callTool({ name: tool, arguments: {} });
    expect(r.isError === true).toBe(withheld);
    expect(textOf(r)).toContain(words);
    if (withheld) expect(r.structuredContent).toBeUndefined();
    if (secret !== null) expect(JSON.stringify(r)).not.toContain(secret);
  });

  it("a text of 4 MiB of card-like digits is past the matcher's length limit: withheld with the reason, never passed", async () => {
    const r = await gw.client.callTool({ name: "long", arguments: {} }, undefined, { timeout: 60_000 });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("withheld the result of `long`");
    expect(textOf(r)).toContain("rule no_credentials_to_the_model: a pattern was matched against a string of 4000000 characters, above the limit of 1048576");
    expect(textOf(r)).not.toContain("4111");
  });

  it("every call has its result record, and the log verifies", async () => {
    await gw.close();
    const text = readFileSync(audit, "utf8");
    const results = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; decision: string })
      .filter((r) => r.kind === "result");
    expect(results.map((r) => r.decision)).toEqual(["deny", "deny", "allow", "deny", "allow", "deny"]);
    expect(text).not.toContain("AKIAIOSFODNN7EXAMPLE");
    expect(verifyAuditLog(text).ok).toBe(true);
  });
});
