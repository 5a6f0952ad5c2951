/**
 * Notifications of pending approvals: every new pending request is posted to a webhook, as a
 * generic JSON payload or as a Slack-compatible message, so that approvers learn of it where they
 * already are. Sending never delays or changes a decision: it runs beside it, and a receiver that
 * fails is retried with exponential backoff, then given up on (reported to the log).
 *
 * Receivers can verify where a payload comes from: with a secret, each request carries
 * `X-Armor-Timestamp` (seconds since the epoch) and `X-Armor-Signature: sha256=HEX`, the
 * HMAC-SHA256 of `TIMESTAMP.BODY` under the secret. A receiver recomputes it, compares in constant
 * time, and refuses timestamps older than a few minutes (a replayed request).
 *
 * The generic payload carries the request as the approval queue shows it (the action after
 * redaction, its hash, the rules and reasons, session, user, policy, time left). A Slack message
 * names the tool, the rules and reasons, the group and the queue's URL, not the arguments: a chat
 * channel is read by more people than the approvers.
 */
import { createHmac } from "node:crypto";
import type { PendingApproval } from "@agent-armor/runtime";
import { logLine } from "./log-text.js";

export interface ApprovalWebhookOptions {
  url: string;
  /** `json` (default): the request as data; `slack`: a message for a Slack incoming webhook. */
  format?: "json" | "slack";
  /** Signs each request (`X-Armor-Signature`); without one, requests are not signed. */
  secret?: string;
  /** Where approvers answer (the queue's URL), named in the payload. */
  approvalsUrl?: string;
  /** Attempts in all before giving up (default 5). */
  attempts?: number;
  /** The first retry's delay; each next one doubles it (default 500 ms). */
  backoffMs?: number;
  /** How long one attempt may take (default 5 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
  /** The clock, in milliseconds (default `Date.now`). */
  clock?: () => number;
}

export interface ApprovalWebhook {
  /** Posts a new pending request (returns at once; the sending runs beside the caller), naming where it is answered. */
  notify(pending: PendingApproval, approvalsUrl?: string): void;
  /** Resolves when every notification started so far was delivered or given up on. */
  idle(): Promise<void>;
}

/** The signature of a body sent at `timestamp` (seconds), as `X-Armor-Signature` carries it. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex")}`;
}

/** The generic payload of a pending request. */
export function approvalPayload(p: PendingApproval, approvalsUrl?: string): Record<string, unknown> {
  return {
    type: "approval.requested",
    id: p.id,
    requestedAt: p.requestedAt,
    from: p.from,
    timeoutMs: p.timeoutMs,
    reason: p.reason,
    rules: p.rules,
    action: p.action,
    actionHash: p.actionHash,
    ...(p.stage !== undefined ? { stage: p.stage, valueHash: p.valueHash } : {}),
    session: p.session,
    user: p.user ?? null,
    policy: p.policy,
    ...(approvalsUrl !== undefined ? { approvalsUrl } : {}),
  };
}

/**
 * Text as Slack's mrkdwn shows it literally: `&`, `<` and `>` escaped (so that a tool name an
 * upstream server chose cannot become a link or a mention), and at most 200 characters.
 */
function slackText(text: string): string {
  const short = text.length > 200 ? `${text.slice(0, 199)}…` : text;
  return short.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A Slack message (incoming webhook) about a pending request: no arguments, only what the policy said. */
export function slackPayload(p: PendingApproval, approvalsUrl?: string): Record<string, unknown> {
  const type = slackText(String((p.action as { type?: unknown } | null)?.type ?? "?"));
  const what = p.stage === "result" ? `the result of \`${type}\`` : p.stage === "output" ? "a message of the model" : `\`${type}\``;
  const reasons = p.rules.map((r) => `• ${slackText(r.id)}${r.reason ? `: ${slackText(r.reason)}` : ""}`).join("\n");
  const text = `Approval needed${p.from ? ` from *${slackText(p.from)}*` : ""} for ${what} (session ${slackText(p.session)})`;
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text } },
      ...(reasons ? [{ type: "section", text: { type: "mrkdwn", text: reasons } }] : []),
      { type: "context", elements: [{ type: "mrkdwn", text: `request ${slackText(p.id)}${approvalsUrl ? ` · answer at ${approvalsUrl}` : ""}` }] },
    ],
  };
}

export function approvalWebhook(options: ApprovalWebhookOptions): ApprovalWebhook {
  const attempts = Math.max(1, options.attempts ?? 5);
  const backoffMs = options.backoffMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const clock = options.clock ?? Date.now;
  const log = options.log ?? (() => {});
  const running = new Set<Promise<void>>();

  async function deliver(p: PendingApproval, approvalsUrl: string | undefined): Promise<void> {
    const body = JSON.stringify(options.format === "slack" ? slackPayload(p, approvalsUrl) : approvalPayload(p, approvalsUrl));
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (options.secret !== undefined) {
        // signed afresh per attempt: its timestamp is the attempt's
        const timestamp = Math.floor(clock() / 1000);
        headers["x-armor-timestamp"] = String(timestamp);
        headers["x-armor-signature"] = webhookSignature(options.secret, timestamp, body);
      }
      let problem: string;
      try {
        const res = await fetch(options.url, { method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
        // the body is not needed: read it away so that the connection is released
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        problem = `HTTP ${res.status}`;
      } catch (e) {
        problem = (e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (e as Error).message;
      }
      if (attempt === attempts) {
        log(logLine`approval ${p.id}: the webhook failed ${attempts} times (last: ${problem}); giving up`);
        return;
      }
      await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
    }
  }

  return {
    notify(p, approvalsUrl = options.approvalsUrl) {
      const sending = deliver(p, approvalsUrl).catch((e: unknown) => log(logLine`approval ${p.id}: the webhook failed: ${(e as Error).message}`));
      running.add(sending);
      void sending.finally(() => running.delete(sending));
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
