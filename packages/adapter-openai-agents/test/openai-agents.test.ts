/**
 * @agent-armor/openai-agents driven by the Agents SDK's own runner (`run(agent, ...)`) with a
 * scripted `Model`: the model proposes tool calls, the policy allows, denies, redacts, withholds
 * and asks for approval (through the runtime's handler and through the SDK's `needsApproval`
 * interruptions), the model reads each denial and tries something else, and the audit log verifies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApprovalQueue, createEnforcer, type Enforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { Agent, RunContext, run, setTracingDisabled } from "@openai/agents";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { agentsApprovals, armorTool, checkText } from "../src/index.js";
import { callTool, ScriptedModel, say, toolOutputs } from "./scripted-model.js";

const POLICY = `policy adapter_demo version "1"

default allow

rule no_deletes
  when action.type == "delete_file"
  deny because "the agent never deletes files"

rule large_refunds
  when action.type == "refund" and amount > 100
  require approval from "support-leads" timeout 2s because "refunds above 100 need a lead"

rule cards_stay_out on result
  when action.type == "lookup_customer"
  redact result.notes matching std.card_number with "[CARD]"

rule no_credentials on result
  when action.type == "read_file" and any(s in strings(result): s matches std.secret)
  deny because "a tool returned a credential"

rule no_refund_promises on output
  when output.text contains "refund"
  deny because "the assistant may not promise refunds"
`;

beforeAll(() => setTracingDisabled(true));

const open: Enforcer[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});

async function enforcerWith(options: Omit<Parameters<typeof createEnforcer>[0], "policy" | "audit"> = {}) {
  const file = join(mkdtempSync(join(tmpdir(), "armor-agents-")), "audit.jsonl");
  const enforcer = await createEnforcer({ policy: { fileName: "adapter.armor", source: POLICY }, audit: { file }, ...options });
  open.push(enforcer);
  return { enforcer, file };
}

function toolsOf(enforcer: Enforcer, armor: Parameters<typeof armorTool>[2] = {}) {
  return [
    armorTool(enforcer, { name: "delete_file", description: "delete a file", parameters: z.object({ path: z.string() }), execute: async ({ path }) => `deleted ${path}` }, armor),
    armorTool(enforcer, { name: "archive_file", description: "archive a file", parameters: z.object({ path: z.string() }), execute: async ({ path }) => `archived ${path}` }, armor),
    armorTool(
      enforcer,
      { name: "lookup_customer", description: "a customer", parameters: z.object({ id: z.number() }), execute: async ({ id }) => ({ id, notes: "paid with 4111 1111 1111 1111" }) },
      armor,
    ),
    armorTool(
      enforcer,
      { name: "read_file", description: "read a file", parameters: z.object({ path: z.string() }), execute: async ({ path }) => ({ path, content: "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE" }) },
      armor,
    ),
    armorTool(
      enforcer,
      { name: "refund", description: "refund", parameters: z.object({ order: z.string(), amount: z.number() }), execute: async ({ order, amount }) => `refunded ${amount} on ${order}` },
      armor,
    ),
  ];
}

const records = (file: string) =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { kind: string; mode?: string; decision?: string; session?: string; approval?: { outcome: string; approver: string | null } | null });

describe("armorTool in the Agents SDK's runner", () => {
  it("allows, denies (the model tries something else), redacts and withholds results", async () => {
    const { enforcer, file } = await enforcerWith();
    const model = new ScriptedModel([
      [callTool("c1", "delete_file", { path: "/tmp/report.txt" })],
      (request) => (JSON.parse(toolOutputs(request).get("c1") ?? "{}").denied ? [callTool("c2", "archive_file", { path: "/tmp/report.txt" })] : [say("deleted")]),
      [callTool("c3", "lookup_customer", { id: 7 }), callTool("c4", "read_file", { path: ".env" })],
      [say("done")],
    ]);
    const agent = new Agent({ name: "assistant", instructions: "tidy up", model, tools: toolsOf(enforcer) });
    const result = await run(agent, "tidy up", { context: { session: "conv-1", user: { id: "u1" } } });
    expect(result.finalOutput).toBe("done");
    const seen = toolOutputs(model.requests.at(-1)!);
    expect(JSON.parse(seen.get("c1")!)).toEqual({
      denied: true,
      stage: "call",
      decision: "deny",
      rules: [{ id: "no_deletes", reason: "the agent never deletes files" }],
      errors: [],
      message: "the policy denied `delete_file` (no_deletes: the agent never deletes files)",
    });
    expect(seen.get("c2")).toBe("archived /tmp/report.txt");
    expect(JSON.parse(seen.get("c3")!)).toEqual({ id: 7, notes: "paid with [CARD]" });
    expect(JSON.parse(seen.get("c4")!)).toMatchObject({ denied: true, stage: "result", rules: [{ id: "no_credentials" }] });
    expect(JSON.stringify(model.requests)).not.toMatch(/AKIA|4111/);

    await enforcer.close();
    expect(await verifyAuditLogFile(file)).toMatchObject({ ok: true, records: 10 });
    expect(
      new Set(
        records(file)
          .filter((r) => r.kind === "decision")
          .map((r) => r.session),
      ),
    ).toEqual(new Set(["conv-1"]));
  });

  it("asks the runtime's approval handler while the runner waits", async () => {
    const approvals = createApprovalQueue({ onRequest: (req) => void approvals.approve(req.id, "lee") });
    const { enforcer, file } = await enforcerWith({ approvals });
    const model = new ScriptedModel([[callTool("c1", "refund", { order: "A-1", amount: 250 })], [say("refunded")]]);
    await run(new Agent({ name: "a", model, tools: toolsOf(enforcer, { ctx: { session: "conv-2" } }) }), "refund");
    expect(toolOutputs(model.requests[1]!).get("c1")).toBe("refunded 250 on A-1");
    await enforcer.close();
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });

  it.each([
    { approve: true, seen: "refunded 250 on A-2", outcome: ["approved"] },
    { approve: false, seen: expect.stringMatching(/not approved|rejected/i), outcome: [] },
    // the policy's timeout is 2s: an approval given later, while the run was stopped, is a timeout
    { approve: true, lateMs: 2_001, seen: expect.stringContaining("approval timed out after 2000 ms (the Agents SDK's tool approval answered after 2001 ms"), outcome: ["timeout"] },
  ])("surfaces require_approval as the SDK's interruption (approve: $approve, late: $lateMs)", async ({ approve, seen, outcome, lateMs }) => {
    let clock = 0;
    const approvals = agentsApprovals({ approverGroups: ["support-leads"], now: () => clock });
    const { enforcer, file } = await enforcerWith({ approvals });
    const model = new ScriptedModel([[callTool("c1", "refund", { order: "A-2", amount: 250 })], [say("done")]]);
    const agent = new Agent({ name: "a", model, tools: toolsOf(enforcer, { ctx: { session: "conv-3" }, approvals }) });
    const first = await run(agent, "refund A-2");
    expect(first.interruptions.map((i) => (i.rawItem as { name?: string }).name)).toEqual(["refund"]);
    expect(model.requests).toHaveLength(1);
    clock += lateMs ?? 1_000;
    for (const item of first.interruptions) approve ? first.state.approve(item) : first.state.reject(item);
    const second = await run(agent, first.state);
    expect(second.finalOutput).toBe("done");
    expect(toolOutputs(model.requests[1]!).get("c1")).toEqual(seen);
    await enforcer.close();
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
    const runs = records(file).filter((r) => r.kind === "decision" && r.mode !== "decide");
    expect(runs.map((r) => r.approval?.outcome)).toEqual(outcome);
    if (approve) expect(runs[0]!.approval?.approver).toBe("openai-agents approval");
  });
});

describe("checkText", () => {
  it.each([
    { says: "Your order ships today.", allowed: true },
    { says: "We will refund you.", allowed: false },
  ])("decides the agent's final output: $says", async ({ says, allowed }) => {
    const { enforcer } = await enforcerWith();
    const result = await run(new Agent({ name: "a", model: new ScriptedModel([[say(says)]]) }), "hi");
    const checked = await checkText(enforcer, String(result.finalOutput), { session: "conv-5" });
    expect(checked.allowed).toBe(allowed);
    if (!checked.allowed) expect(checked.denial).toMatchObject({ denied: true, stage: "output", rules: [{ id: "no_refund_promises" }] });
  });
});

describe("a guarded tool invoked with text that is not JSON", () => {
  it("decides the call with no arguments, records it, and answers with a denial", async () => {
    const { enforcer, file } = await enforcerWith();
    const [, archive] = toolsOf(enforcer, { ctx: { session: "conv-6" } });
    const out = await archive!.invoke(new RunContext({}), '{"path": ');
    expect(JSON.parse(String(out))).toMatchObject({ denied: true, decision: "deny", errors: [expect.stringMatching(/^the arguments of `archive_file` are not JSON/)] });
    await enforcer.close();
    // the policy has rules on results: the failed call's error is decided as its result too
    expect(records(file).map((r) => `${r.kind} ${r.decision ?? (r as { outcome?: string }).outcome}`)).toEqual(["decision allow", "outcome error", "result allow"]);
  });
});
