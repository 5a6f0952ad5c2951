/**
 * Notifications of pending approvals: each new request reaches a webhook as JSON or as a Slack
 * message, signed so that the receiver can verify it, retried with backoff while the receiver
 * fails or hangs, and given up on (logged) without ever holding up or changing the decision.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { approvalWebhook, slackPayload, webhookSignature } from "@agent-armor/gateway";
import { createApprovalQueue, createEnforcer } from "@agent-armor/runtime";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt } from "../gateway/support.js";

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

/** A receiver that answers the n-th request with `answers[n]` (a status, or "hang"); 200 past the list. */
async function receiver(answers: (number | "hang")[] = []): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const answer = answers[got.length - 1] ?? 200;
      if (answer === "hang") return;
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" timeout 2s because "wires need finance"
`;

/** An enforcer whose approvals go to a queue that notifies `hook`; one wire waits for approval. */
async function pendingWire(hook: ReturnType<typeof approvalWebhook>) {
  const queue = createApprovalQueue({ onRequest: (p) => hook.notify(p, "http://127.0.0.1:9/approvals") });
  const e = await createEnforcer({ policy: { source: POLICY, fileName: "w.armor" }, approvals: queue, throwOnDeny: false });
  const running = e.run({ type: "wire", amount: 25_000, iban: "DE89370400440532013000" }, { session: "s", user: { id: "u1" } }, () => "sent");
  const p = await queue.waitFor();
  return { queue, running, p };
}

describe("approval webhooks", () => {
  beforeAll(() => assertBuilt());

  it("post the request as JSON, signed over the timestamp and the body", async () => {
    const r = await receiver();
    const hook = approvalWebhook({ url: r.url, secret: "s3cret", clock: () => 1_700_000_000_000 });
    const { queue, running, p } = await pendingWire(hook);
    await hook.idle();
    expect(r.got).toHaveLength(1);
    const { headers, body } = r.got[0]!;
    expect(headers["x-armor-timestamp"]).toBe("1700000000");
    const expected = `sha256=${createHmac("sha256", "s3cret").update(`1700000000.${body}`).digest("hex")}`;
    expect(timingSafeEqual(Buffer.from(String(headers["x-armor-signature"])), Buffer.from(expected))).toBe(true);
    expect(webhookSignature("s3cret", 1_700_000_000, body)).toBe(expected);
    expect(JSON.parse(body)).toMatchObject({
      type: "approval.requested",
      id: p.id,
      from: "finance",
      timeoutMs: 2000,
      rules: [{ id: "wires", reason: "wires need finance" }],
      action: { type: "wire", amount: 25_000 },
      actionHash: p.actionHash,
      session: "s",
      user: { id: "u1" },
      approvalsUrl: "http://127.0.0.1:9/approvals",
    });
    queue.approve(p.id, "ann");
    expect((await running).result).toBe("sent");
  });

  it("post a Slack message that names the tool, rules and group, not the arguments", async () => {
    const r = await receiver();
    const hook = approvalWebhook({ url: r.url, format: "slack" });
    const { queue, running, p } = await pendingWire(hook);
    await hook.idle();
    const message = JSON.parse(r.got[0]!.body) as { text: string; blocks: unknown[] };
    expect(message.text).toBe("Approval needed from *finance* for `wire` (session s)");
    expect(JSON.stringify(message.blocks)).toContain("wires: wires need finance");
    expect(r.got[0]!.body).not.toContain("DE89370400440532013000");
    expect(r.got[0]!.headers["x-armor-signature"]).toBeUndefined();
    queue.reject(p.id, "ann");
    expect((await running).decision.decision).toBe("deny");
  });

  it("escape in a Slack message what a tool or session name could make a link or a mention", () => {
    const pending = {
      id: "d-1",
      action: { type: "<https://evil.example|click here> & <!channel>" },
      actionHash: "h",
      rules: [{ id: "r", effect: "require_approval", reason: "<@U123>" }],
      reason: null,
      from: "finance",
      timeoutMs: null,
      session: "<!here>",
      user: undefined,
      policy: { name: "p", version: null, sourceHash: "x" },
      requestedAt: "2026-01-01T00:00:00Z",
    } as const;
    const text = JSON.stringify(slackPayload(pending as unknown as Parameters<typeof slackPayload>[0]));
    expect(text).not.toMatch(/<https|<!channel>|<!here>|<@U123>/);
    expect(text).toContain("&lt;https://evil.example|click here&gt; &amp; &lt;!channel&gt;");
  });

  // [what the receiver does, how many posts it gets, whether it is given up on]
  const FAILING: [string, (number | "hang")[], number, boolean][] = [
    ["answers 500 twice, then 200", [500, 500], 3, false],
    ["redirects (not followed), then 200", [302], 2, false],
    ["hangs once past the timeout, then 200", ["hang"], 2, false],
    ["always answers 503", [503, 503, 503], 3, true],
  ];
  it.each(FAILING)("retries a receiver that %s", async (_what, answers, posts, givenUp) => {
    const r = await receiver(answers);
    const lines: string[] = [];
    const hook = approvalWebhook({ url: r.url, attempts: 3, backoffMs: 10, timeoutMs: 300, log: (l) => void lines.push(l) });
    const { queue, running, p } = await pendingWire(hook);
    // the decision does not wait for the webhook: the request is pending meanwhile
    expect(queue.get(p.id)).toBeDefined();
    await hook.idle();
    expect(r.got).toHaveLength(posts);
    expect(lines.some((l) => l.includes("giving up"))).toBe(givenUp);
    queue.approve(p.id, "ann");
    expect((await running).decision.decision).toBe("allow");
  });

  it("a receiver that is not there is given up on, and the approval still works", async () => {
    const lines: string[] = [];
    const hook = approvalWebhook({ url: "http://127.0.0.1:9/nothing-listens", attempts: 2, backoffMs: 5, log: (l) => void lines.push(l) });
    const { queue, running, p } = await pendingWire(hook);
    await hook.idle();
    expect(lines.join("\n")).toMatch(/the webhook failed 2 times .*giving up/);
    queue.approve(p.id, "ann");
    expect((await running).result).toBe("sent");
  });
});
