#!/usr/bin/env node
// A support assistant built on the Vercel AI SDK, guarded by @agent-armor/ai-sdk with the policy of
// examples/support-agent. The model is scripted (the AI SDK's MockLanguageModelV3), so this runs
// offline: it reads a CRM record (card numbers masked before the model sees them), tries to erase
// the customer (denied; it reads the denial and moves on), asks for a refund (the policy wants a
// team lead: the SDK's own tool approval flow stops, a scripted lead approves, the SDK runs it),
// tries a second refund of the same order (denied), and writes a reply whose card number is
// masked before the customer reads it. Every decision lands in a hash-chained audit log.
//
//   node examples/agent-ai-sdk/run.mjs [AUDIT_FILE]      (after `npm run build`)
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { aiSdkApprovals, armorTools, checkText } from "@agent-armor/ai-sdk";
import { createEnforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { generateText, stepCountIs, tool } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { z } from "zod";

const here = dirname(fileURLToPath(import.meta.url));
const auditFile = process.argv[2] ?? join(here, "..", "..", "out", "examples", "agent-ai-sdk", "audit.jsonl");
mkdirSync(dirname(auditFile), { recursive: true });
rmSync(auditFile, { force: true });

// ---- the enforcer, with the AI SDK's tool approval flow as its approval handler -------------
const approvals = aiSdkApprovals({ approverGroups: ["support-leads"] });
const enforcer = await createEnforcer({ policy: join(here, "..", "support-agent", "policy.armor"), approvals, audit: { file: auditFile } });
const session = { session: "chat-1042", user: { id: "assistant-1", role: "support" } };

// ---- the tools (stand-ins for the CRM and the payment system) --------------------------------
const tools = armorTools(
  enforcer,
  {
    lookup_customer: tool({
      description: "Read a customer's CRM record",
      inputSchema: z.object({ customer_id: z.string() }),
      execute: async ({ customer_id }) => ({ id: customer_id, name: "Dana Ortiz", tier: "pro", notes: "Paid with 4111 1111 1111 1111, asked about order o-77" }),
    }),
    delete_customer: tool({ description: "Erase a customer record", inputSchema: z.object({ customer_id: z.string() }), execute: async ({ customer_id }) => `erased ${customer_id}` }),
    issue_refund: tool({
      description: "Refund an order",
      inputSchema: z.object({ order_id: z.string(), amount: z.number(), reason: z.string().optional() }),
      execute: async ({ order_id, amount }) => `refunded ${amount} on ${order_id}`,
    }),
  },
  { ctx: session, approvals },
);

// ---- the scripted model: each turn reads what it was shown ------------------------------------
const usage = { inputTokens: { total: 1, noCache: 1 }, outputTokens: { total: 1, text: 1 } };
const turn = (...content) => ({ content, finishReason: { unified: content[0].type === "tool-call" ? "tool-calls" : "stop" }, usage, warnings: [] });
let calls = 0;
const callTool = (toolName, input) => ({ type: "tool-call", toolCallId: `call-${++calls}`, toolName, input: JSON.stringify(input) });
const lastOutput = (prompt) => prompt.at(-1).content.at(-1).output;
const script = [
  () => turn(callTool("lookup_customer", { customer_id: "c-1042" })),
  () => turn(callTool("delete_customer", { customer_id: "c-1042" })),
  ({ prompt }) => (lastOutput(prompt).value?.denied ? turn(callTool("issue_refund", { order_id: "o-77", amount: 250, reason: "damaged" })) : turn({ type: "text", text: "erased" })),
  () => turn(callTool("issue_refund", { order_id: "o-77", amount: 250, reason: "still damaged" })),
  () => turn({ type: "text", text: "Your refund of 250 for o-77 is on its way to the card on file, 4111 1111 1111 1111." }),
];
let step = 0;
const shown = new Set();
const model = new MockLanguageModelV3({
  doGenerate: async (options) => {
    // what the model reads: the tool results it has not seen yet
    for (const m of options.prompt.filter((m) => m.role === "tool")) {
      for (const r of m.content.filter((p) => p.type === "tool-result" && !shown.has(p.toolCallId))) {
        shown.add(r.toolCallId);
        console.log(`  <- ${r.toolName}: ${JSON.stringify(r.output.value ?? r.output.reason ?? r.output)}`);
      }
    }
    const next = script[step++](options);
    for (const c of next.content) console.log(c.type === "tool-call" ? `model: ${c.toolName}(${c.input})` : `model: "${c.text}"`);
    return next;
  },
});

// ---- the conversation ---------------------------------------------------------------------------
const messages = [{ role: "user", content: "Dana (c-1042) wants her account gone and a refund for o-77." }];
let result = await generateText({ model, tools, messages, stopWhen: stepCountIs(10) });
messages.push(...result.response.messages);

// the SDK stopped for approval: a scripted team lead answers, and the conversation goes on
const requests = result.content.filter((c) => c.type === "tool-approval-request");
for (const r of requests) console.log(`  .. ${r.toolCall.toolName} waits for approval; the lead (lee) approves`);
messages.push({ role: "tool", content: requests.map((r) => ({ type: "tool-approval-response", approvalId: r.approvalId, approved: true, reason: "lee: damaged in transit" })) });
result = await generateText({ model, tools, messages, stopWhen: stepCountIs(10) });

const reply = await checkText(enforcer, result.text, session);
console.log(reply.allowed ? `\nto the customer: ${reply.text}` : `\nreply withheld: ${reply.denial.message}`);
await enforcer.close();

const verified = await verifyAuditLogFile(auditFile);
console.log(`\naudit log ${auditFile}: ${verified.records} records, chain ${verified.ok ? "intact" : "BROKEN"}`);
process.exitCode = verified.ok ? 0 : 1;
