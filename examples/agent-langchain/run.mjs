#!/usr/bin/env node
// A support assistant built on LangChain.js and LangGraph.js, guarded by @agent-armor/langchain
// with the policy of examples/support-agent. The model is scripted (LangChain's FakeListChatModel
// answering from a script), so this runs offline: it reads a CRM record (card numbers masked
// before the model sees them), tries to erase the customer (denied; it reads the denial and moves
// on), asks for a refund (the policy wants a team lead: the graph stops with a LangGraph
// interrupt, a scripted lead resumes it with an approval), tries a second refund of the same
// order (denied), and writes a reply whose card number is masked before the customer reads it.
// Every decision lands in a hash-chained audit log.
//
//   node examples/agent-langchain/run.mjs [AUDIT_FILE]      (after `npm run build`)
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { armorTools, checkText, langGraphApprovals } from "@agent-armor/langchain";
import { createEnforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { Command, END, interrupt, MemorySaver, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { z } from "zod";

const here = dirname(fileURLToPath(import.meta.url));
const auditFile = process.argv[2] ?? join(here, "..", "..", "out", "examples", "agent-langchain", "audit.jsonl");
mkdirSync(dirname(auditFile), { recursive: true });
rmSync(auditFile, { force: true });

// ---- the enforcer, with LangGraph interrupts as its approval handler ---------------------------
const approvals = langGraphApprovals({ interrupt, approverGroups: ["support-leads"] });
const enforcer = await createEnforcer({ policy: join(here, "..", "support-agent", "policy.armor"), approvals, audit: { file: auditFile } });

// ---- the tools (stand-ins for the CRM and the payment system) --------------------------------
const tools = armorTools(
  enforcer,
  [
    tool(async ({ customer_id }) => ({ id: customer_id, name: "Dana Ortiz", tier: "pro", notes: "Paid with 4111 1111 1111 1111, asked about order o-77" }), {
      name: "lookup_customer",
      description: "Read a customer's CRM record",
      schema: z.object({ customer_id: z.string() }),
    }),
    tool(async ({ customer_id }) => `erased ${customer_id}`, { name: "delete_customer", description: "Erase a customer record", schema: z.object({ customer_id: z.string() }) }),
    tool(async ({ order_id, amount }) => `refunded ${amount} on ${order_id}`, {
      name: "issue_refund",
      description: "Refund an order",
      schema: z.object({ order_id: z.string(), amount: z.number(), reason: z.string().optional() }),
    }),
  ],
  { approvals },
);

// ---- the scripted model: each turn reads what it was shown ------------------------------------
let calls = 0;
const callTool = (name, args) => new AIMessage({ content: "", tool_calls: [{ id: `call-${++calls}`, name, args, type: "tool_call" }] });
const script = [
  () => callTool("lookup_customer", { customer_id: "c-1042" }),
  () => callTool("delete_customer", { customer_id: "c-1042" }),
  (messages) => (JSON.parse(messages.at(-1).content).denied ? callTool("issue_refund", { order_id: "o-77", amount: 250, reason: "damaged" }) : new AIMessage("erased")),
  () => callTool("issue_refund", { order_id: "o-77", amount: 250, reason: "still damaged" }),
  () => new AIMessage("Your refund of 250 for o-77 is on its way to the card on file, 4111 1111 1111 1111."),
];
class ScriptedModel extends FakeListChatModel {
  async _generate(messages) {
    const last = messages.at(-1);
    if (last.getType() === "tool") console.log(`  <- ${last.name} (${last.status}): ${last.content}`);
    const message = script.shift()(messages);
    console.log(message.tool_calls?.length ? `model: ${message.tool_calls[0].name}(${JSON.stringify(message.tool_calls[0].args)})` : `model: "${message.content}"`);
    return { generations: [{ text: "", message }] };
  }
}
const model = new ScriptedModel({ responses: [] });

// ---- the graph: the model, then its tool calls, until it answers --------------------------------
const graph = new StateGraph(MessagesAnnotation)
  .addNode("agent", async (state) => ({ messages: [await model.invoke(state.messages)] }))
  .addNode("tools", new ToolNode(tools))
  .addEdge(START, "agent")
  .addConditionalEdges("agent", (state) => (state.messages.at(-1).tool_calls?.length ? "tools" : END))
  .addEdge("tools", "agent")
  .compile({ checkpointer: new MemorySaver() });

const config = { configurable: { thread_id: "chat-1042", user: { id: "assistant-1", role: "support" } }, recursionLimit: 20 };
let state = await graph.invoke({ messages: [new HumanMessage("Dana (c-1042) wants her account gone and a refund for o-77.")] }, config);
while (state.__interrupt__?.length) {
  // the graph stopped for approval: a scripted team lead answers, and the graph resumes
  const request = state.__interrupt__[0].value;
  console.log(`  .. ${request.tool} waits for approval (${request.rules.map((r) => r.id).join(", ")}); the lead (lee) approves`);
  state = await graph.invoke(new Command({ resume: { approved: true, actionHash: request.actionHash, approver: "lee", note: "damaged in transit" } }), config);
}

const reply = await checkText(enforcer, state.messages.at(-1).content, { session: "chat-1042" });
console.log(reply.allowed ? `\nto the customer: ${reply.text}` : `\nreply withheld: ${reply.denial.message}`);
await enforcer.close();

const verified = await verifyAuditLogFile(auditFile);
console.log(`\naudit log ${auditFile}: ${verified.records} records, chain ${verified.ok ? "intact" : "BROKEN"}`);
process.exitCode = verified.ok ? 0 : 1;
