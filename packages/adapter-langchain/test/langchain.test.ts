/**
 * @agent-armor/langchain driven by LangChain's fake chat model (a scripted `FakeListChatModel`)
 * in a plain agent loop, and by a LangGraph graph (`ToolNode`, a checkpointer, `interrupt` and
 * `Command({ resume })`): the model proposes tool calls, the policy allows, denies, redacts,
 * withholds and asks for approval, the model reads each denial and tries something else, and
 * the audit log verifies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApprovalQueue, createEnforcer, type Enforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { type AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { Command, END, interrupt, MemorySaver, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { armorTools, checkText, langGraphApprovals } from "../src/index.js";
import { agentLoop, callTool, ScriptedChatModel, say, toolMessages } from "./scripted-model.js";

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

const tools = [
  tool(async ({ path }) => `deleted ${path}`, { name: "delete_file", description: "delete a file", schema: z.object({ path: z.string() }) }),
  tool(async ({ path }) => `archived ${path}`, { name: "archive_file", description: "archive a file", schema: z.object({ path: z.string() }) }),
  tool(async ({ id }) => ({ id, notes: "paid with 4111 1111 1111 1111" }), { name: "lookup_customer", description: "a customer", schema: z.object({ id: z.number() }) }),
  tool(async ({ path }) => ({ path, content: "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE" }), { name: "read_file", description: "read a file", schema: z.object({ path: z.string() }) }),
  tool(async ({ order, amount }) => `refunded ${amount} on ${order}`, { name: "refund", description: "refund", schema: z.object({ order: z.string(), amount: z.number() }) }),
];

const open: Enforcer[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});

async function enforcerWith(options: Omit<Parameters<typeof createEnforcer>[0], "policy" | "audit"> = {}) {
  const file = join(mkdtempSync(join(tmpdir(), "armor-langchain-")), "audit.jsonl");
  const enforcer = await createEnforcer({ policy: { fileName: "adapter.armor", source: POLICY }, audit: { file }, ...options });
  open.push(enforcer);
  return { enforcer, file };
}

const decisionsOf = (file: string) =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { kind: string; mode?: string; decision?: string; session?: string; approval?: { outcome: string; approver: string | null; note: string | null } | null });

describe("armorTools in an agent loop", () => {
  it("allows, denies (the model tries something else), redacts and withholds results", async () => {
    const { enforcer, file } = await enforcerWith();
    const model = new ScriptedChatModel([
      callTool("c1", "delete_file", { path: "/tmp/report.txt" }),
      (messages) => (toolMessages(messages).get("c1")?.status === "error" ? callTool("c2", "archive_file", { path: "/tmp/report.txt" }) : say("deleted")),
      callTool("c3", "lookup_customer", { id: 7 }),
      callTool("c4", "read_file", { path: ".env" }),
      say("done"),
    ]);
    const answer = await agentLoop(model, armorTools(enforcer, tools), "tidy up", { configurable: { thread_id: "thread-1", user: { id: "u1" } } });
    expect(answer).toBe("done");
    const seen = toolMessages(model.seen.at(-1)!);
    expect(seen.get("c1")).toEqual({
      status: "error",
      content: JSON.stringify({
        denied: true,
        stage: "call",
        decision: "deny",
        rules: [{ id: "no_deletes", reason: "the agent never deletes files" }],
        errors: [],
        message: "the policy denied `delete_file` (no_deletes: the agent never deletes files)",
      }),
    });
    expect(seen.get("c2")).toEqual({ status: "success", content: "archived /tmp/report.txt" });
    expect(seen.get("c3")).toEqual({ status: "success", content: JSON.stringify({ id: 7, notes: "paid with [CARD]" }) });
    expect(JSON.parse(seen.get("c4")!.content as string)).toMatchObject({ denied: true, stage: "result", rules: [{ id: "no_credentials" }] });
    expect(JSON.stringify(model.seen.map((ms) => ms.map((m) => m.content)))).not.toMatch(/AKIA|4111/);

    await enforcer.close();
    expect(await verifyAuditLogFile(file)).toMatchObject({ ok: true, records: 10 });
    const records = decisionsOf(file);
    expect(new Set(records.filter((r) => r.kind === "decision").map((r) => r.session))).toEqual(new Set(["thread-1"]));
    expect(records.map((r) => `${r.kind}${r.decision ? ` ${r.decision}` : ""}`)).toEqual([
      "decision deny",
      ...["decision allow", "outcome", "result allow"],
      ...["decision allow", "outcome", "result allow"],
      ...["decision allow", "outcome", "result deny"],
    ]);
  });

  it("asks the runtime's approval handler while the loop waits", async () => {
    const approvals = createApprovalQueue({ onRequest: (req) => void approvals.approve(req.id, "lee") });
    const { enforcer, file } = await enforcerWith({ approvals });
    const model = new ScriptedChatModel([callTool("c1", "refund", { order: "A-1", amount: 250 }), say("refunded")]);
    await agentLoop(model, armorTools(enforcer, tools, { ctx: { session: "conv-2" } }), "refund");
    expect(toolMessages(model.seen.at(-1)!).get("c1")).toEqual({ status: "success", content: "refunded 250 on A-1" });
    await enforcer.close();
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });

  it("returns the denial itself when invoked with arguments rather than a tool call", async () => {
    const { enforcer } = await enforcerWith();
    const [del] = armorTools(enforcer, tools);
    await expect(del!.invoke({ path: "x" })).resolves.toMatchObject({ denied: true, rules: [{ id: "no_deletes" }] });
  });
});

describe("require_approval as a LangGraph interrupt", () => {
  async function graphWith(answer: unknown | ((actionHash: string | undefined) => unknown), waitMs: number) {
    let clock = 0;
    const approvals = langGraphApprovals({ interrupt, approverGroups: ["support-leads"], now: () => clock });
    const { enforcer, file } = await enforcerWith({ approvals });
    const model = new ScriptedChatModel([callTool("c1", "refund", { order: "A-2", amount: 250 }), say("done")]);
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("agent", async (state) => ({ messages: [await model.invoke(state.messages)] }))
      .addNode("tools", new ToolNode(armorTools(enforcer, tools, { approvals })))
      .addEdge(START, "agent")
      .addConditionalEdges("agent", (state) => ((state.messages.at(-1) as AIMessage).tool_calls?.length ? "tools" : END))
      .addEdge("tools", "agent")
      .compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "thread-9" } };
    const first = await graph.invoke({ messages: [new HumanMessage("refund A-2")] }, config);
    const asked = (first as { __interrupt__?: { value: { actionHash: string } }[] }).__interrupt__?.[0]?.value.actionHash;
    clock += waitMs;
    const second = await graph.invoke(new Command({ resume: typeof answer === "function" ? answer(asked) : answer }), config);
    await enforcer.close();
    return { first, second, model, file };
  }

  it.each([
    { answer: (actionHash: string | undefined) => ({ approved: true, actionHash, approver: "lee", note: "regular customer" }), status: "success", content: "refunded 250 on A-2", outcome: "approved" },
    { answer: { approved: false, approver: "lee", note: "ask finance" }, status: "error", content: expect.stringContaining("approval rejected by lee: ask finance"), outcome: "rejected" },
    // an approval that does not name the interrupt's action (another call's, or none) approves nothing
    { answer: { approved: true, approver: "lee" }, status: "error", content: expect.stringContaining("does not name this action"), outcome: "rejected" },
    { answer: { approved: true, approver: "lee", actionHash: "0".repeat(64) }, status: "error", content: expect.stringContaining("does not name this action"), outcome: "rejected" },
    // the policy's timeout is 2s: an approval given later, while the graph waited, is a timeout
    {
      answer: (actionHash: string | undefined) => ({ approved: true, actionHash, approver: "lee" }),
      waitMs: 2_001,
      status: "error",
      content: expect.stringContaining("approval timed out after 2000 ms (a LangGraph interrupt answered after 2001 ms"),
      outcome: "timeout",
    },
  ])("stops the graph, and runs the call only as the answer says ($outcome)", async ({ answer, status, content, outcome, waitMs }) => {
    const { first, second, model, file } = await graphWith(answer, waitMs ?? 1_000);
    const interrupts = (first as { __interrupt__?: { value: unknown }[] }).__interrupt__;
    expect(interrupts?.map((i) => i.value)).toEqual([
      {
        kind: "armor_approval",
        tool: "refund",
        action: { amount: 250, order: "A-2", type: "refund" },
        actionHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        rules: [{ id: "large_refunds", reason: "refunds above 100 need a lead" }],
        reason: "refunds above 100 need a lead",
        from: "support-leads",
        session: "thread-9",
      },
    ]);
    expect(model.seen).toHaveLength(2);
    expect(toolMessages(second.messages as BaseMessage[]).get("c1")).toEqual({ status, content });
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
    const runs = decisionsOf(file).filter((r) => r.kind === "decision" && r.mode !== "decide");
    expect(runs.map((r) => r.approval && { outcome: r.approval.outcome, approver: r.approval.approver })).toEqual([{ outcome, approver: "lee" }]);
  });
});

describe("checkText", () => {
  it.each([
    { says: "Your order ships today.", allowed: true },
    { says: "We will refund you.", allowed: false },
  ])("decides the model's final text: $says", async ({ says, allowed }) => {
    const { enforcer } = await enforcerWith();
    const checked = await checkText(enforcer, says, { session: "thread-5" });
    expect(checked.allowed).toBe(allowed);
    if (!checked.allowed) expect(checked.denial).toMatchObject({ denied: true, stage: "output", rules: [{ id: "no_refund_promises" }] });
  });
});
