/**
 * The gateway's `run_code` tool (startRunCodeTool) on its own: code the policy rewrote is never
 * run, the upstream's own `run_code` is never a host function, and a closed pool's refusal is
 * decided and audited like any failure.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnforcer } from "@agent-armor/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, repoRoot } from "./support.js";

type Tool = typeof import("../../packages/gateway/src/run-code-tool.js");
let tool: Tool;
beforeAll(async () => {
  assertBuilt();
  tool = (await import(join(repoRoot, "packages", "gateway", "dist", "run-code-tool.js"))) as Tool;
});

const POLICY = `policy run_code_tool version "1"

default allow

rule no_hidden_code
  when action.type == "run_code" and dynamic == true
  deny because "code that hides what it runs is not run"

rule cards_never_run
  when action.type == "run_code"
  redact code matching std.card_number with "[CARD]"
`;

async function enforcerWith() {
  const file = join(mkdtempSync(join(tmpdir(), "armor-run-code-tool-")), "audit.jsonl");
  const enforcer = await createEnforcer({ policy: { fileName: "run-code-tool.armor", source: POLICY }, audit: { file }, throwOnDeny: false });
  const records = () =>
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; decision?: string; outcome?: string; action?: { type?: string } })
      .map((r) => `${r.kind} ${r.action?.type ?? ""} ${r.decision ?? r.outcome ?? ""}`.replace(/\s+/g, " ").trim());
  return { enforcer, records };
}

describe("the run_code tool", () => {
  // redacted, `g[4111111111111111]` is `g[[CARD]]`, that is `g["eval"]`: code whose facts were never read
  it("code the policy rewrote (a redaction) fails without running (rewritten), decided and audited", async () => {
    const { enforcer, records } = await enforcerWith();
    const t = await tool.startRunCodeTool(enforcer, { languages: ["javascript"], warm: { javascript: 1 } });
    try {
      const code = 'const CARD = "eval"; const g = [globalThis][0]; const f = g[4111111111111111]; return f("6*7")';
      const a = await t.call({ language: "javascript", code }, { session: "s" });
      expect(a).toMatchObject({ status: "failed", failure: { kind: "rewritten", message: expect.stringMatching(/the policy rewrote the code it decided/) } });
      expect(await t.call({ language: "javascript", code: "return 6 * 7" }, { session: "s" })).toMatchObject({ status: "ran", result: { value: 42 } });
    } finally {
      await t.close();
      await enforcer.close();
    }
    expect(records()).toEqual(["decision run_code allow", "outcome error", "decision run_code allow", "outcome ok"]);
  });

  it("a closed pool's refusal is a failure (closed), decided and audited", async () => {
    const { enforcer, records } = await enforcerWith();
    const t = await tool.startRunCodeTool(enforcer, { languages: ["javascript", "python"], warm: { javascript: 1, python: 1 } });
    await t.close();
    const js = await t.call({ language: "javascript", code: "return 1" }, { session: "s" });
    expect(js).toMatchObject({ status: "failed", failure: { kind: "closed", message: "the sandbox pool is closed" } });
    // Python reads its facts on an interpreter before the decision: the refusal is decided as a request that cannot run
    const py = await t.call({ language: "python", code: "1" }, { session: "s" });
    expect(py).toMatchObject({ status: "denied", problem: "the sandbox pool is closed" });
    await enforcer.close();
    expect(records()).toEqual(["decision run_code allow", "outcome error", "decision run_code deny"]);
  });

  it("the upstream's own run_code is never a host function", () => {
    const host = tool.upstreamHostTools(["lookup", "run_code"], async () => null);
    expect(Object.keys(host)).toEqual(["lookup"]);
  });
});
