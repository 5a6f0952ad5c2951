/**
 * @agent-armor/ai-sdk driven by the AI SDK's own loop (`generateText` with `MockLanguageModelV3`):
 * the scripted model proposes tool calls, the policy allows, denies, redacts, withholds and asks
 * for approval (through the runtime's handler and through the SDK's `needsApproval` flow), the
 * model reads each denial and tries something else, and the audit log verifies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApprovalQueue, createEnforcer, type Enforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { generateText, type ModelMessage, stepCountIs, streamText, tool } from "ai";
import { convertArrayToReadableStream, MockLanguageModelV3 } from "ai/test";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { aiSdkApprovals, armorTools, checkText } from "../src/index.js";
import { call, scriptedModel, text, toolOutputs } from "./scripted-model.js";

export const POLICY = `policy adapter_demo version "1"

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

const tools = {
  delete_file: tool({ description: "delete a file", inputSchema: z.object({ path: z.string() }), execute: async ({ path }) => `deleted ${path}` }),
  archive_file: tool({ description: "archive a file", inputSchema: z.object({ path: z.string() }), execute: async ({ path }) => `archived ${path}` }),
  lookup_customer: tool({ inputSchema: z.object({ id: z.number() }), execute: async ({ id }) => ({ id, notes: "paid with 4111 1111 1111 1111" }) }),
  read_file: tool({ inputSchema: z.object({ path: z.string() }), execute: async ({ path }) => ({ path, content: "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE" }) }),
  refund: tool({ inputSchema: z.object({ order: z.string(), amount: z.number() }), execute: async ({ order, amount }) => `refunded ${amount} on ${order}` }),
};

const open: Enforcer[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});

async function enforcerWith(options: Omit<Parameters<typeof createEnforcer>[0], "policy" | "audit"> = {}) {
  const file = join(mkdtempSync(join(tmpdir(), "armor-ai-sdk-")), "audit.jsonl");
  const enforcer = await createEnforcer({ policy: { fileName: "adapter.armor", source: POLICY }, audit: { file }, ...options });
  open.push(enforcer);
  return { enforcer, file };
}

interface AuditLine {
  kind: string;
  mode?: string;
  decision?: string;
  approval?: { outcome: string; approver: string | null; note: string | null } | null;
}

export function auditRecords(file: string): AuditLine[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditLine);
}

describe("armorTools in generateText", () => {
  it("allows, denies (the model tries something else), redacts and withholds results", async () => {
    const { enforcer, file } = await enforcerWith();
    const model = scriptedModel([
      [call("c1", "delete_file", { path: "/tmp/report.txt" })],
      (prompt) => {
        const seen = toolOutputs(prompt).get("c1")?.value as { denied?: boolean } | undefined;
        return seen?.denied === true ? [call("c2", "archive_file", { path: "/tmp/report.txt" })] : [text("deleted")];
      },
      [call("c3", "lookup_customer", { id: 7 }), call("c4", "read_file", { path: ".env" })],
      [text("done")],
    ]);
    const result = await generateText({
      model,
      tools: armorTools(enforcer, tools, { ctx: { session: "conv-1", user: { id: "u1" } } }),
      prompt: "tidy up",
      stopWhen: stepCountIs(6),
    });
    expect(result.text).toBe("done");
    const outputs = toolOutputs(model.prompts[3]!);
    expect(outputs.get("c1")).toEqual({
      type: "json",
      value: {
        denied: true,
        stage: "call",
        decision: "deny",
        rules: [{ id: "no_deletes", reason: "the agent never deletes files" }],
        errors: [],
        message: "the policy denied `delete_file` (no_deletes: the agent never deletes files)",
      },
    });
    expect(outputs.get("c2")).toEqual({ type: "text", value: "archived /tmp/report.txt" });
    expect(outputs.get("c3")).toEqual({ type: "json", value: { id: 7, notes: "paid with [CARD]" } });
    expect(outputs.get("c4")?.value).toMatchObject({ denied: true, stage: "result", rules: [{ id: "no_credentials", reason: "a tool returned a credential" }] });
    expect(JSON.stringify(model.prompts)).not.toContain("AKIA");
    expect(JSON.stringify(model.prompts)).not.toContain("4111");

    await enforcer.close();
    expect(await verifyAuditLogFile(file)).toMatchObject({ ok: true, records: 10 });
    // the denied call has its decision record; each call that ran, its decision, outcome and result
    // records (c3 and c4 run side by side, so their records interleave)
    expect(
      auditRecords(file)
        .map((r) => `${r.kind}${r.decision ? ` ${r.decision}` : ""}`)
        .sort(),
    ).toEqual(["decision deny", ...["decision allow", "outcome", "result allow"], ...["decision allow", "outcome", "result allow"], ...["decision allow", "outcome", "result deny"]].sort());
  });

  it("takes the session and user from experimental_context", async () => {
    const decisions: { session: string; user: unknown }[] = [];
    const { enforcer } = await enforcerWith({ onDecision: (d) => decisions.push({ session: d.session, user: (d as { user?: unknown }).user }) });
    await generateText({
      model: scriptedModel([[call("c1", "archive_file", { path: "a" })], [text("ok")]]),
      tools: armorTools(enforcer, tools),
      experimental_context: { session: "conv-ctx", user: { id: "u9" } },
      prompt: "go",
      stopWhen: stepCountIs(3),
    });
    // the call's decision and its result's
    expect(decisions.map((d) => d.session)).toEqual(["conv-ctx", "conv-ctx"]);
  });

  it("asks the runtime's approval handler while the SDK waits", async () => {
    const approvals = createApprovalQueue({ onRequest: (req) => void approvals.approve(req.id, "lee") });
    const { enforcer, file } = await enforcerWith({ approvals });
    const model = scriptedModel([[call("c1", "refund", { order: "A-1", amount: 250 })], [text("refunded")]]);
    await generateText({ model, tools: armorTools(enforcer, tools, { ctx: { session: "conv-2" } }), prompt: "refund", stopWhen: stepCountIs(3) });
    expect(toolOutputs(model.prompts[1]!).get("c1")).toEqual({ type: "text", value: "refunded 250 on A-1" });
    await enforcer.close();
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });

  it.each([
    { answer: true, seen: { type: "text", value: "refunded 250 on A-2" }, outcome: "approved" },
    { answer: false, seen: { type: "execution-denied", reason: "not today" }, outcome: undefined },
    // the rule asks "support-leads"; a flow that answers for no group approves nothing
    {
      answer: true,
      groups: [],
      seen: { type: "json", value: expect.objectContaining({ denied: true, errors: [expect.stringContaining("asks approval from `support-leads`")] }) },
      outcome: "rejected",
    },
    // the policy's timeout is 2s: an approval given later, while the SDK waited, is a timeout
    {
      answer: true,
      lateMs: 2_001,
      seen: {
        type: "json",
        value: expect.objectContaining({ denied: true, errors: [expect.stringMatching(/^approval timed out after 2000 ms \(the AI SDK's tool approval answered after 2001 ms/)] }),
      },
      outcome: "timeout",
    },
  ])("surfaces require_approval as the SDK's tool approval (approved: $answer, late: $lateMs)", async ({ answer, seen, outcome, groups, lateMs }) => {
    let clock = 0;
    const approvals = aiSdkApprovals({ approverGroups: groups ?? ["support-leads"], now: () => clock });
    const { enforcer, file } = await enforcerWith({ approvals });
    const guarded = armorTools(enforcer, tools, { ctx: { session: "conv-3" }, approvals });
    const model = scriptedModel([[call("c1", "refund", { order: "A-2", amount: 250 })], [text("done")]]);

    const first = await generateText({ model, tools: guarded, prompt: "refund A-2", stopWhen: stepCountIs(3) });
    const request = first.content.find((p) => p.type === "tool-approval-request");
    expect(request).toMatchObject({ type: "tool-approval-request", toolCall: { toolCallId: "c1", toolName: "refund" } });
    expect(model.prompts).toHaveLength(1); // the SDK stopped for the approval
    clock += lateMs ?? 1_000;

    const messages: ModelMessage[] = [
      { role: "user", content: "refund A-2" },
      ...first.response.messages,
      { role: "tool", content: [{ type: "tool-approval-response", approvalId: request!.approvalId, approved: answer, reason: answer ? "regular customer" : "not today" }] },
    ];
    await generateText({ model, tools: guarded, messages, stopWhen: stepCountIs(3) });
    expect(toolOutputs(model.prompts[1]!).get("c1")).toEqual(seen);

    await enforcer.close();
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
    const runs = auditRecords(file).filter((r) => r.kind === "decision" && r.mode !== "decide");
    expect(runs.map((r) => r.approval?.outcome)).toEqual(outcome === undefined ? [] : [outcome]);
    if (outcome === "approved") expect(runs[0]!.approval).toMatchObject({ approver: "ai-sdk tool approval", note: "regular customer" });
  });

  it("an approval the SDK never gave is not granted by the bridge", async () => {
    const approvals = aiSdkApprovals({ approverGroups: ["support-leads"] });
    const { enforcer } = await enforcerWith({ approvals });
    // guarded without the SDK's flow: the runtime asks the bridge, which has no grant
    const guarded = armorTools(enforcer, tools, { ctx: { session: "conv-4" } });
    const model = scriptedModel([[call("c1", "refund", { order: "A-3", amount: 900 })], [text("done")]]);
    await generateText({ model, tools: guarded, prompt: "refund", stopWhen: stepCountIs(3) });
    expect(toolOutputs(model.prompts[1]!).get("c1")?.value).toMatchObject({
      denied: true,
      decision: "deny",
      rules: [{ id: "large_refunds" }],
      errors: ["approval rejected by ai-sdk tool approval: not approved through the AI SDK's tool approval (needsApproval)"],
    });
  });
});

describe("armorTools in streamText", () => {
  it("guards the calls of a streamed generation the same way", async () => {
    const { enforcer, file } = await enforcerWith();
    const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } };
    const prompts: unknown[] = [];
    const turns = [
      [
        { type: "tool-call" as const, toolCallId: "s1", toolName: "delete_file", input: JSON.stringify({ path: "a" }) },
        { type: "finish" as const, finishReason: { unified: "tool-calls" as const, raw: undefined }, usage },
      ],
      [
        { type: "text-start" as const, id: "t" },
        { type: "text-delta" as const, id: "t", delta: "ok" },
        { type: "text-end" as const, id: "t" },
        { type: "finish" as const, finishReason: { unified: "stop" as const, raw: undefined }, usage },
      ],
    ];
    const model = new MockLanguageModelV3({
      doStream: async (options) => {
        prompts.push(options.prompt);
        return { stream: convertArrayToReadableStream(turns[prompts.length - 1]!) };
      },
    });
    const result = streamText({ model, tools: armorTools(enforcer, tools, { ctx: { session: "conv-s" } }), prompt: "go", stopWhen: stepCountIs(3) });
    expect(await result.text).toBe("ok");
    expect(toolOutputs(prompts[1] as Parameters<typeof toolOutputs>[0]).get("s1")?.value).toMatchObject({ denied: true, rules: [{ id: "no_deletes" }] });
    await enforcer.close();
    expect(auditRecords(file).map((r) => `${r.kind} ${r.decision}`)).toEqual(["decision deny"]);
  });
});

describe("checkText", () => {
  it.each([
    { says: "Your order ships today.", allowed: true },
    { says: "We will refund you.", allowed: false },
  ])("decides the model's final text: $says", async ({ says, allowed }) => {
    const { enforcer, file } = await enforcerWith();
    const result = await generateText({ model: scriptedModel([[text(says)]]), prompt: "hi" });
    const checked = await checkText(enforcer, result.text, { session: "conv-5" });
    expect(checked.allowed).toBe(allowed);
    if (checked.allowed) expect(checked.text).toBe(says);
    else expect(checked.denial).toMatchObject({ denied: true, stage: "output", rules: [{ id: "no_refund_promises" }] });
    await enforcer.close();
    expect((await verifyAuditLogFile(file)).records).toBe(1);
  });
});
