#!/usr/bin/env node
// A support assistant built on the OpenAI Agents SDK, guarded by @agent-armor/openai-agents with
// the policy of examples/support-agent. The model is scripted (an implementation of the SDK's
// `Model` interface), so this runs offline: it reads a CRM record (card numbers masked before the
// model sees them), tries to erase the customer (denied; it reads the denial and moves on), asks
// for a refund (the policy wants a team lead: the run stops with the SDK's own interruption, a
// scripted lead approves, the run goes on and the refund runs), tries a second refund of the same
// order (denied), and writes a reply whose card number is masked before the customer reads it.
// Every decision lands in a hash-chained audit log.
//
// This folder is its own package (`@openai/agents` 0.14 wants zod 4; the rest of the repository
// uses zod 3), so `npm ci` at the root installs what it imports.
//
//   node examples/agent-openai-agents/run.mjs [AUDIT_FILE]      (after `npm run build`)
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { agentsApprovals, armorTool, checkText } from "@agent-armor/openai-agents";
import { createEnforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { Agent, run, setTracingDisabled, Usage } from "@openai/agents";
import { z } from "zod";

const here = dirname(fileURLToPath(import.meta.url));
const auditFile = process.argv[2] ?? join(here, "..", "..", "out", "examples", "agent-openai-agents", "audit.jsonl");
mkdirSync(dirname(auditFile), { recursive: true });
rmSync(auditFile, { force: true });
setTracingDisabled(true); // offline: no traces are exported

// ---- the enforcer, with the SDK's tool approval flow as its approval handler ------------------
const approvals = agentsApprovals({ approverGroups: ["support-leads"] });
const enforcer = await createEnforcer({ policy: join(here, "..", "support-agent", "policy.armor"), approvals, audit: { file: auditFile } });
const session = { session: "chat-1042", user: { id: "assistant-1", role: "support" } };

// ---- the tools (stand-ins for the CRM and the payment system) --------------------------------
const guard = (options) => armorTool(enforcer, options, { ctx: session, approvals });
const tools = [
  guard({
    name: "lookup_customer",
    description: "Read a customer's CRM record",
    parameters: z.object({ customer_id: z.string() }),
    execute: async ({ customer_id }) => ({ id: customer_id, name: "Dana Ortiz", tier: "pro", notes: "Paid with 4111 1111 1111 1111, asked about order o-77" }),
  }),
  guard({ name: "delete_customer", description: "Erase a customer record", parameters: z.object({ customer_id: z.string() }), execute: async ({ customer_id }) => `erased ${customer_id}` }),
  guard({
    name: "issue_refund",
    description: "Refund an order",
    parameters: z.object({ order_id: z.string(), amount: z.number(), reason: z.string() }),
    execute: async ({ order_id, amount }) => `refunded ${amount} on ${order_id}`,
  }),
];

// ---- the scripted model: each turn reads what it was shown ------------------------------------
let calls = 0;
const callTool = (name, args) => ({ type: "function_call", callId: `call-${++calls}`, name, arguments: JSON.stringify(args), status: "completed" });
const say = (text) => ({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text }] });
const outputs = (request) =>
  (Array.isArray(request.input) ? request.input : [])
    .filter((i) => i.type === "function_call_result")
    .map((i) => ({ id: i.callId, name: i.name, text: typeof i.output === "string" ? i.output : (i.output?.text ?? JSON.stringify(i.output)) }));
const deniedBefore = (request) => outputs(request).some((o) => o.text.includes('"denied":true'));
const script = [
  () => [callTool("lookup_customer", { customer_id: "c-1042" })],
  () => [callTool("delete_customer", { customer_id: "c-1042" })],
  (request) => (deniedBefore(request) ? [callTool("issue_refund", { order_id: "o-77", amount: 250, reason: "damaged" })] : [say("erased")]),
  () => [callTool("issue_refund", { order_id: "o-77", amount: 250, reason: "still damaged" })],
  () => [say("Your refund of 250 for o-77 is on its way to the card on file, 4111 1111 1111 1111.")],
];
let step = 0;
const shown = new Set();
const model = {
  async getResponse(request) {
    // what the model reads: the tool outputs it has not seen yet
    for (const o of outputs(request).filter((o) => !shown.has(o.id))) {
      shown.add(o.id);
      console.log(`  <- ${o.name}: ${o.text}`);
    }
    const output = script[step++](request);
    for (const item of output) console.log(item.type === "function_call" ? `model: ${item.name}(${item.arguments})` : `model: "${item.content[0].text}"`);
    return { usage: new Usage(), output, responseId: `response-${step}` };
  },
  // biome-ignore lint/correctness/useYield: the scripted model does not stream
  async *getStreamedResponse() {
    throw new Error("the scripted model does not stream");
  },
};

// ---- the conversation ---------------------------------------------------------------------------
const agent = new Agent({ name: "support", instructions: "Help the customer within the policy.", model, tools });
let result = await run(agent, "Dana (c-1042) wants her account gone and a refund for o-77.", { maxTurns: 10 });

// the run stopped for approval: a scripted team lead answers, and the run goes on
while (result.interruptions.length > 0) {
  for (const item of result.interruptions) {
    console.log(`  .. ${item.rawItem.name} waits for approval; the lead (lee) approves`);
    result.state.approve(item);
  }
  result = await run(agent, result.state, { maxTurns: 10 });
}

const reply = await checkText(enforcer, String(result.finalOutput), session);
console.log(reply.allowed ? `\nto the customer: ${reply.text}` : `\nreply withheld: ${reply.denial.message}`);
await enforcer.close();

const verified = await verifyAuditLogFile(auditFile);
console.log(`\naudit log ${auditFile}: ${verified.records} records, chain ${verified.ok ? "intact" : "BROKEN"}`);
process.exitCode = verified.ok ? 0 : 1;
