/**
 * `armor mcp`: an MCP server on stdio in front of an upstream MCP server (a stdio command or a
 * streamable HTTP URL). Every `tools/call` becomes the action `{ type: <tool>, ...arguments }`,
 * decided by the runtime's enforcer before it reaches the upstream:
 *
 * - allow: the call is forwarded with the (possibly redacted) arguments; its result is decided
 *   by the policy's rules on results (the runtime's `run`), as the view tool-result.ts makes of
 *   it, and returned as the policy rewrote it, or withheld: a tool result with `isError: true`
 *   naming the rules and reasons, never the withheld content;
 * - deny: a tool result with `isError: true` whose text names the rules and reasons;
 * - require approval: the approval handler (a prompt on /dev/tty, or a queue over loopback HTTP)
 *   decides; approved calls run, others come back as denied.
 *
 * `tools/list` passes through (optionally hiding tools the policy always denies); resources and
 * prompts pass through untouched when the upstream has them. Every call lands in the audit log
 * (the enforcer writes a decision record and, for calls that ran, an outcome record and, when the
 * policy decides results, a result record).
 *
 * stdout is the MCP channel: every log line goes to stderr.
 */

import { randomUUID } from "node:crypto";
import { closeSync, createReadStream, createWriteStream, openSync } from "node:fs";
import * as compiler from "@agent-armor/compiler";
import {
  type ApprovalHandler,
  type ApprovalQueue,
  type AuditLog,
  createApprovalQueue,
  createAuditLog,
  createEnforcer,
  type Decision,
  type DecisionShipper,
  type Enforcer,
  fileSink,
  loadPolicy,
  type PendingApproval,
  type PolicyDiagnostic,
  type ShipEvent,
  type StageDecision,
  terminalApprovals,
} from "@agent-armor/runtime";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  CallToolResultSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ReadResourceRequestSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { type ApprovalWebhookOptions, approvalWebhook } from "./approval-webhook.js";
import { type ApprovalEndpoint, approvalAsksOf, serveApprovals, unenforcedApprovalsWarning } from "./approvals-http.js";
import { type Approvers, loadApprovers } from "./approvers.js";
import { auditFileName } from "./audit-file-name.js";
import { alwaysDeniedTools, type RuleMeta } from "./hidden.js";
import type { AccessOptions } from "./http-access.js";
import { logLine } from "./log-text.js";
import { decisionMetrics, type MetricsServer, type ServiceMetrics, serviceMetrics, shippingMetrics, startMetricsServer } from "./metrics.js";
import type { ProbeSources } from "./probes.js";
import { readinessProblems } from "./readiness.js";
import { type ReloadAnswer, reloadPolicy } from "./reload-policy.js";
import { RUN_CODE_TOOL, type RunCodeConfig, type RunCodeTool, runCodeCallResult, runCodeToolDefinition, startRunCodeTool, upstreamHostTools } from "./run-code-tool.js";
import { type ShipConfig, shippedAuditLog } from "./shipping.js";
import { clientResult, type TextLayout, toolResultView } from "./tool-result.js";
import { connectUpstream, describeUpstream, type Upstream, type UpstreamSpec } from "./upstream.js";
import { VERSION } from "./version.js";

export interface McpGatewayOptions {
  policy: string;
  upstream: UpstreamSpec;
  audit?: string;
  /** `web`: the queue, and the approval console beside it (needs `approvers`). */
  approvals?: "terminal" | "queue" | "web" | "none";
  approvalsPort?: number;
  /** Who may call the approval queue: allowed hosts and origins, the bearer token. */
  approvalsAccess?: AccessOptions;
  /** Who may approve (approvers.ts), each with a token of its own: an approvers file, or the approvers. */
  approvers?: string | Approvers;
  /** Where each new pending approval is posted (approval-webhook.ts); with `approvals: "queue"`. */
  approvalsWebhook?: ApprovalWebhookOptions;
  hideDeniedTools?: boolean;
  /** The session id for the enforcer's history; default one per gateway process. */
  session?: string;
  /**
   * A shared store, `redis://HOST:PORT` (`@agent-armor/store-redis`): the session's history, and
   * with `approvals: "queue"` the pending approvals, kept in Redis, so gateways on one Redis share
   * them and a restart keeps them.
   */
  store?: string;
  /** Ships the audit file's records to a collector (shipping.ts); needs `audit`. */
  ship?: ShipConfig;
  /** Each event of the decision shipper (batches shipped and failed, overflow), e.g. for metrics. */
  onShipEvent?: (event: ShipEvent) => void;
  /** Serve Prometheus metrics at `http://127.0.0.1:PORT/metrics` (metrics.ts; 0: any free port). */
  metricsPort?: number;
  log?: (line: string) => void;
  /**
   * The built-in `run_code` tool (run-code-tool.ts): code in the sandbox, under the policy; with
   * `hostTools`, the upstream's tools the code may call as functions. The sandbox loads only then.
   */
  runCode?: RunCodeConfig & { hostTools?: readonly string[] };
}

/** The text of a denied call's tool result: the rules and reasons that decided, and the errors. */
export function denialText(d: Decision): string {
  const type = String((d.action as { type?: unknown } | null)?.type ?? "?");
  const denying = d.rules.filter((r) => r.effect === "deny");
  const deciding = denying.length > 0 ? denying : d.rules.filter((r) => r.effect === "require_approval");
  const lines = [`Agent Armor denied the call to \`${type}\` (policy ${d.policy.name}${d.policy.version ? ` ${d.policy.version}` : ""}).`];
  for (const r of deciding) lines.push(`rule ${r.id}${r.reason ? `: ${r.reason}` : ""}`);
  for (const e of d.errors) lines.push(e.rule ? `rule ${e.rule}: ${e.message}` : e.message);
  if (deciding.length === 0 && d.errors.length === 0) lines.push("no rule allowed it (the policy's default is deny)");
  lines.push(`decision ${d.id}`);
  return lines.join("\n");
}

/** The text of a withheld result: the rules and reasons that withheld it, and the errors; never the result. */
export function withheldText(d: StageDecision): string {
  const type = String((d.action as { type?: unknown } | null)?.type ?? "?");
  const denying = d.rules.filter((r) => r.effect === "deny");
  const deciding = denying.length > 0 ? denying : d.rules.filter((r) => r.effect === "require_approval");
  const lines = [`Agent Armor withheld the result of \`${type}\` (policy ${d.policy.name}${d.policy.version ? ` ${d.policy.version}` : ""}).`];
  for (const r of deciding) lines.push(`rule ${r.id}${r.reason ? `: ${r.reason}` : ""}`);
  for (const e of d.errors) lines.push(e.rule ? `rule ${e.rule}: ${e.message}` : e.message);
  lines.push(`decision ${d.id}`);
  return lines.join("\n");
}

/** What a client's `_meta` says about a decision (never the action's or the result's content). */
function decisionMeta(d: Decision | StageDecision): Record<string, unknown> {
  return {
    id: d.id,
    ...("stage" in d ? { stage: d.stage } : {}),
    decision: d.decision,
    rules: d.rules,
    errors: d.errors,
    labels: d.labels ?? [],
    policy: d.policy,
  };
}

function openTerminalApprovals(): ApprovalHandler & { close(): void } {
  // the prompt goes to the controlling terminal, never to stdin/stdout (the MCP channel)
  let fdIn: number;
  let fdOut: number;
  try {
    fdIn = openSync("/dev/tty", "r");
    fdOut = openSync("/dev/tty", "w");
  } catch (e) {
    throw new Error(`--approvals terminal needs a controlling terminal (/dev/tty): ${(e as Error).message}; use --approvals queue`);
  }
  const input = createReadStream("", { fd: fdIn });
  const output = createWriteStream("", { fd: fdOut });
  const handler = terminalApprovals({ input, output });
  return {
    request: (req) => handler.request(req),
    close() {
      handler.close();
      input.destroy();
      output.end();
      try {
        closeSync(fdIn);
      } catch {
        // closed by the stream
      }
    },
  };
}

export interface RunningGateway {
  enforcer: Enforcer;
  approvals: ApprovalEndpoint | null;
  /** The metrics endpoint (`metricsPort`), or null. */
  metrics: MetricsServer | null;
  queue: ApprovalQueue | null;
  hidden: ReadonlySet<string>;
  /** The policy's warnings from compiling it on load, as data (the command line prints them). */
  diagnostics: readonly PolicyDiagnostic[];
  /** Closes the client side, the upstream, the approval endpoint and the audit log. */
  close(): Promise<void>;
  /** Resolves when the gateway has shut down; `upstreamLost` when the upstream went away first. */
  closed: Promise<GatewayExit>;
  /** The policy in force; a reload changes it. */
  readonly policy: { name: string; version: string | null; sourceHash: string };
  /** Reads and compiles the policy file again; the policy in force stays when the new one does not load. */
  reload(): Promise<ReloadAnswer>;
}

export interface GatewayExit {
  /** The upstream server exited or closed the connection (the gateway did not close it). */
  upstreamLost: boolean;
}

/** How long pending calls may take to be answered once the upstream has gone. */
const ANSWER_PENDING_MS = 5_000;

export async function runMcpGateway(options: McpGatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`armor mcp: ${line}\n`));
  const session = options.session ?? `mcp-${randomUUID()}`;

  let queue: ApprovalQueue | null = null;
  let endpoint: ApprovalEndpoint | null = null;
  let terminal: (ApprovalHandler & { close(): void }) | null = null;
  let handler: ApprovalHandler | undefined;
  const web = options.approvals === "web";
  if (web && options.approvers === undefined) throw new Error("--approvals web signs approvers in with their own tokens: give --approvers FILE");
  // loaded only by a gateway that uses it (the Redis client is most of a bundle's chunk)
  const redis = options.store !== undefined ? await import("@agent-armor/store-redis") : null;
  let shared: { close(): Promise<void> } | null = null;
  if (options.approvals === "queue" || web) {
    const webhook = options.approvalsWebhook ? approvalWebhook({ log, ...options.approvalsWebhook }) : null;
    const onRequest = (p: PendingApproval): void => {
      log(
        logLine`approval ${p.id} pending for ${p.stage === "result" ? "the result of " : ""}\`${(p.action as { type?: unknown } | null)?.type}\`${p.from ? ` (from ${p.from})` : ""}: ${endpoint?.url ?? ""}`,
      );
      webhook?.notify(p, endpoint?.url);
    };
    if (redis !== null) {
      // pending approvals in Redis: listed and answerable from every gateway on it, kept across restarts
      const inRedis = redis.redisApprovalQueue({ url: options.store!, onRequest });
      shared = inRedis;
      try {
        await inRedis.ready;
      } catch (e) {
        await inRedis.close();
        throw new Error(`cannot read the pending approvals from ${redis.storeName(options.store!)}: ${(e as Error).message}`);
      }
      queue = inRedis;
    } else queue = createApprovalQueue({ onRequest });
    handler = queue;
  } else if (options.approvals === "terminal") {
    terminal = openTerminalApprovals();
    handler = terminal;
  }

  // set when the upstream goes away (below)
  let markLost!: () => void;
  const lost = new Promise<void>((r) => (markLost = r));
  // an action still waiting for approval then can no longer run: its approval fails, so it is
  // denied and recorded, and the queue drops it (an approver can no longer answer it)
  const inner = handler;
  const approvals: ApprovalHandler | undefined = inner && {
    request: (req) => Promise.race([inner.request(req), lost.then(() => Promise.reject(new Error("the upstream MCP server exited while the action waited for approval")))]),
  };

  if (options.ship !== undefined && !options.audit) throw new Error("decision shipping sends the audit log's records: give an audit file (--audit FILE) with --ship-to");
  const loaded = await loadPolicy(options.policy, { compiler });
  // approvals taken without approvers cannot hold a policy's groups and quorums: say so at start
  if (handler !== undefined && options.approvers === undefined) {
    const warning = unenforcedApprovalsWarning(await approvalAsksOf(options.policy));
    if (warning !== null) log(warning);
  }
  const history = redis !== null ? redis.redisStore({ url: options.store! }) : null;
  const metrics = options.metricsPort !== undefined ? serviceMetrics() : null;
  const audited = options.audit ? auditLogOf(options, log, metrics) : null;
  const enforcer = await createEnforcer({
    ...(metrics !== null ? { telemetry: { observer: decisionMetrics(metrics.registry, metrics.approvals) } } : {}),
    policy: loaded.module,
    ...(approvals ? { approvals } : {}),
    ...(history !== null ? { history } : {}),
    ...(audited !== null ? { audit: audited.log } : {}),
    throwOnDeny: false,
    onError: (e) => log(logLine`error: ${e.message}`),
  });
  if (queue) {
    const approvers = typeof options.approvers === "string" ? loadApprovers(options.approvers) : options.approvers;
    endpoint = await serveApprovals(queue, {
      ...(options.approvalsPort !== undefined ? { port: options.approvalsPort } : {}),
      ...(options.approvalsAccess ? { access: options.approvalsAccess } : {}),
      ...(approvers !== undefined ? { approvers } : {}),
      console: web,
      log,
    });
    log(logLine`approvals queue at ${endpoint.url}`);
    if (endpoint.consoleUrl !== undefined) log(logLine`approval console at ${endpoint.consoleUrl}`);
  }

  const { name, version, sourceHash } = loaded.module.policy;
  let policy = { name, version, sourceHash };
  // set once the upstream answers, and when it goes away or the gateway closes (readiness)
  let connected = false;
  let upstreamLost = false;
  let closing: Promise<void> | null = null;
  const probes: ProbeSources = {
    shuttingDown: () => closing !== null,
    policy: () => policy,
    health: async () => {
      const problems = connected ? [] : [upstreamLost ? "the upstream MCP server exited" : "the upstream MCP server is not connected yet"];
      const parts = await readinessProblems({ history, audit: audited?.log ?? null, shipper: audited?.shipper ?? null, shipFailsClosed: options.ship?.overflow === "deny" });
      return [...problems, ...parts];
    },
  };
  const metricsServer = metrics !== null ? await startMetricsServer(() => metrics.scrape(), options.metricsPort!, log, probes) : null;
  if (metricsServer !== null) log(logLine`metrics at ${metricsServer.url}`);

  let upstream: Upstream;
  let runCode: RunCodeTool | null = null;
  try {
    if (options.runCode !== undefined) runCode = await startRunCodeTool(enforcer, options.runCode);
    upstream = await connectUpstream(options.upstream);
    connected = true;
  } catch (e) {
    await runCode?.close();
    await metricsServer?.close();
    await endpoint?.close();
    await enforcer.close();
    await shared?.close();
    await history?.close();
    throw new Error(`cannot connect to the upstream MCP server ${describeUpstream(options.upstream)}: ${(e as Error).message}`);
  }
  const upstreamCaps = upstream.client.getServerCapabilities() ?? {};
  const info = upstream.client.getServerVersion();

  // which tools to hide: decided once, from the policy (not from any call)
  let hidden = new Set<string>();
  if (options.hideDeniedTools) {
    const metaRules = loaded.module.policy.rules as unknown as RuleMeta[];
    const named = new Set<string>();
    for (const r of metaRules) for (const t of r.actionTypes ?? []) named.add(t);
    hidden = alwaysDeniedTools(metaRules, [...named]);
    if (!metaRules.some((r) => typeof r.typeOnly === "boolean")) log("--hide-denied-tools: the policy was compiled by an armorc that does not mark type-only rules; no tool is hidden");
    else if (hidden.size > 0) log(logLine`hiding tools the policy always denies: ${[...hidden].join(", ")}`);
  }

  const server = new Server(
    { name: `agent-armor (${info?.name ?? "upstream"})`, version: VERSION },
    {
      capabilities: {
        tools: { listChanged: true },
        ...(upstreamCaps.resources ? { resources: { listChanged: upstreamCaps.resources.listChanged ?? false } } : {}),
        ...(upstreamCaps.prompts ? { prompts: { listChanged: upstreamCaps.prompts.listChanged ?? false } } : {}),
        ...(upstreamCaps.completions ? { completions: {} } : {}),
      },
      ...(upstream.client.getInstructions() ? { instructions: upstream.client.getInstructions()! } : {}),
    },
  );

  const context = (): Record<string, unknown> => {
    const client = server.getClientVersion();
    return {
      client: client ? { name: client.name, version: client.version } : null,
      gateway: "mcp",
      upstream: info ? { name: info.name, version: info.version } : null,
    };
  };

  // every request in flight; when the upstream goes away, each is answered with a JSON-RPC
  // error at once, and the gateway waits for them to finish (audit records) before it exits
  const pending = new Set<Promise<unknown>>();
  const upstreamGone = (what: string): McpError =>
    new McpError(ErrorCode.InternalError, `the upstream MCP server exited before answering ${what}; the gateway is shutting down`, { upstream: describeUpstream(options.upstream) });
  function tracked<Req extends { method: string; params?: unknown }, Extra, R>(fn: (req: Req, extra: Extra) => Promise<R>): (req: Req, extra: Extra) => Promise<R> {
    return (req, extra) => {
      const what = req.method === "tools/call" ? `the call to \`${String((req.params as { name?: unknown } | undefined)?.name)}\`` : req.method;
      if (upstreamLost) return Promise.reject(upstreamGone(what));
      const work = fn(req, extra);
      pending.add(work);
      const forget = (): void => void pending.delete(work);
      work.then(forget, forget);
      return Promise.race([work, lost.then(() => Promise.reject(upstreamGone(what)))]);
    };
  }

  server.setRequestHandler(
    ListToolsRequestSchema,
    tracked(async (req, extra) => {
      const result = await upstream.client.listTools(req.params, { signal: extra.signal });
      if (runCode !== null) return withRunCode(result, runCode, options.runCode?.hostTools ?? [], hidden, req.params?.cursor === undefined, log);
      if (hidden.size === 0) return result;
      return { ...result, tools: result.tools.filter((t) => !hidden.has(t.name)) };
    }),
  );

  server.setRequestHandler(
    CallToolRequestSchema,
    tracked(async (req, extra): Promise<CallToolResult> => {
      const { name, arguments: args, ...restParams } = req.params;
      if (runCode !== null && name === RUN_CODE_TOOL) {
        const host = upstreamHostTools(
          options.runCode?.hostTools ?? [],
          async (tool, forwarded) => toolResultView((await upstream.client.callTool({ name: tool, arguments: forwarded }, CallToolResultSchema, { signal: extra.signal })) as CallToolResult).view,
        );
        const answer = await runCode.call(args, { session, context: context() }, host);
        log(logLine`${name}: ${answer.status}${answer.decision !== null ? ` ${answer.decision.id}` : ""}${answer.status === "failed" ? ` (${answer.failure.kind})` : ""}`);
        return runCodeCallResult(answer, { denial: denialText, withheld: withheldText });
      }
      const given = (args ?? {}) as Record<string, unknown>;
      // the action type is the tool name; a tool argument that is itself called `type` cannot be
      // seen by the policy under that name and is forwarded as given
      const action = { ...given, type: name };
      const progressToken = req.params._meta?.progressToken;
      // where the tool's text items were, to give the client the decided text in their place
      let layout: TextLayout | null = null;
      const result = await enforcer
        .run(action, { session, context: context() }, async (rewritten) => {
          const { type: _type, ...forwarded } = rewritten;
          if (Object.hasOwn(given, "type")) forwarded.type = given.type;
          const answer = (await upstream.client.callTool({ ...restParams, name, arguments: forwarded }, CallToolResultSchema, {
            signal: extra.signal,
            ...(progressToken !== undefined
              ? { onprogress: (p) => void extra.sendNotification({ method: "notifications/progress", params: { ...p, progressToken } }).catch(() => undefined), resetTimeoutOnProgress: true }
              : {}),
          })) as CallToolResult;
          // the policy's rules on results decide this view of it (tool-result.ts)
          const viewed = toolResultView(answer);
          layout = viewed.layout;
          return viewed.view;
        })
        .catch((e: unknown) => ({ error: e as Error }));

      if ("error" in result) {
        // the upstream failed (the outcome record says so): report it as a tool error
        log(logLine`${name}: upstream error: ${result.error.message}`);
        return { isError: true, content: [{ type: "text", text: `the upstream server failed: ${result.error.message}` }] };
      }
      const d = result.decision;
      const fired = d.rules.map((r) => r.id).join(", ");
      log(logLine`${name}: ${d.decision}${fired ? ` (${fired})` : ""} ${d.id}`);
      if (d.decision !== "allow") return { isError: true, content: [{ type: "text", text: denialText(d) }], _meta: { "agent-armor/decision": decisionMeta(d) } };
      const rd = result.resultDecision;
      if (rd !== undefined) {
        const rfired = rd.rules.map((r) => r.id).join(", ");
        if (rd.decision !== "allow" || rfired !== "") log(logLine`${name}: result ${rd.decision}${rfired ? ` (${rfired})` : ""} ${rd.id}`);
        // withheld: the client reads why, never what
        if (rd.decision !== "allow") return { isError: true, content: [{ type: "text", text: withheldText(rd) }], _meta: { "agent-armor/decision": decisionMeta(rd) } };
      }
      if (!("result" in result) || layout === null) {
        return { isError: true, content: [{ type: "text", text: `the call to \`${name}\` returned no result (decision ${d.id})` }], _meta: { "agent-armor/decision": decisionMeta(d) } };
      }
      return clientResult(result.result, layout);
    }),
  );

  if (upstreamCaps.resources) {
    server.setRequestHandler(
      ListResourcesRequestSchema,
      tracked((req, extra) => upstream.client.listResources(req.params, { signal: extra.signal })),
    );
    server.setRequestHandler(
      ListResourceTemplatesRequestSchema,
      tracked((req, extra) => upstream.client.listResourceTemplates(req.params, { signal: extra.signal })),
    );
    server.setRequestHandler(
      ReadResourceRequestSchema,
      tracked((req, extra) => upstream.client.readResource(req.params, { signal: extra.signal })),
    );
    upstream.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void server.sendResourceListChanged());
  }
  if (upstreamCaps.prompts) {
    server.setRequestHandler(
      ListPromptsRequestSchema,
      tracked((req, extra) => upstream.client.listPrompts(req.params, { signal: extra.signal })),
    );
    server.setRequestHandler(
      GetPromptRequestSchema,
      tracked((req, extra) => upstream.client.getPrompt(req.params, { signal: extra.signal })),
    );
    upstream.client.setNotificationHandler(PromptListChangedNotificationSchema, () => void server.sendPromptListChanged());
  }
  if (upstreamCaps.completions) {
    server.setRequestHandler(
      CompleteRequestSchema,
      tracked((req, extra) => upstream.client.complete(req.params, { signal: extra.signal })),
    );
  }
  upstream.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void server.sendToolListChanged());

  let markClosed!: (exit: GatewayExit) => void;
  const closed = new Promise<GatewayExit>((r) => (markClosed = r));
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await server.close();
      } catch {
        // already closed
      }
      await upstream.close();
      await runCode?.close();
      await metricsServer?.close();
      await endpoint?.close();
      terminal?.close();
      await enforcer.close().catch((e: Error) => log(logLine`closing the audit log failed: ${e.message}`));
      await shared?.close();
      await history?.close();
      markClosed({ upstreamLost });
    })();
    return closing;
  };
  /** Lets the requests in flight finish (their errors are already answered), then closes. */
  const closeAfterPending = async (): Promise<void> => {
    const deadline = Date.now() + ANSWER_PENDING_MS;
    while (pending.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
    }
    // the SDK writes a handler's answer a few promise turns after the handler settles
    await new Promise((r) => setImmediate(r));
    await close();
  };
  // the upstream went away: answer what is pending with errors, then shut down (non-zero exit)
  upstream.client.onclose = () => {
    if (closing || upstreamLost) return;
    upstreamLost = true;
    connected = false;
    log(`the upstream server closed the connection${pending.size > 0 ? ` with ${pending.size} request(s) pending; answering them with errors` : ""}`);
    markLost();
    void closeAfterPending();
  };

  const transport = new StdioServerTransport();
  server.onclose = () => void close();
  await server.connect(transport);
  // exit when the client closes our stdin, or the client waits ~2 s and then SIGTERMs us
  process.stdin.once("end", () => void close());
  process.stdin.once("close", () => void close());
  log(
    logLine`policy ${loaded.module.policy.name}${loaded.module.policy.version ? ` ${loaded.module.policy.version}` : ""} in front of ${describeUpstream(options.upstream)}; session ${session}${options.audit ? `; audit ${options.audit}` : ""}`,
  );
  const reload = async (): Promise<ReloadAnswer> => {
    const answer = await reloadPolicy(enforcer, options.policy);
    if (answer.ok) policy = answer.policy;
    metrics?.reloaded(answer.ok ? "ok" : "failed");
    return answer;
  };
  return {
    enforcer,
    approvals: endpoint,
    queue,
    hidden,
    metrics: metricsServer,
    diagnostics: loaded.diagnostics,
    close,
    closed,
    get policy() {
      return policy;
    },
    reload,
  };
}

/** The gateway's audit log: the file, teed to a collector with `ship` (its shipper then too). */
function auditLogOf(options: McpGatewayOptions, log: (line: string) => void, metrics: ServiceMetrics | null): { log: AuditLog; shipper: DecisionShipper | null } {
  if (options.ship === undefined) return { log: createAuditLog({ sinks: [fileSink(auditFileName(options.audit!), { fsync: false })] }), shipper: null };
  const counted = metrics !== null ? shippingMetrics(metrics.registry) : null;
  const onShipEvent = (event: ShipEvent): void => {
    counted?.(event);
    options.onShipEvent?.(event);
  };
  return shippedAuditLog(options.audit!, options.ship, log, onShipEvent);
}

/**
 * The tool list with the built-in `run_code`: an upstream tool of the same name is left out (every
 * call of `run_code` runs in the sandbox, so the policy's `run_code` always means it), and logged.
 */
function withRunCode<L extends { tools: { name: string }[] }>(
  list: L,
  tool: RunCodeTool,
  hostTools: readonly string[],
  hidden: ReadonlySet<string>,
  firstPage: boolean,
  log: (line: string) => void,
): L {
  if (list.tools.some((t) => t.name === RUN_CODE_TOOL)) log(`the upstream's own \`${RUN_CODE_TOOL}\` tool is not listed: --run-code runs every call of \`${RUN_CODE_TOOL}\` in the sandbox`);
  const tools = list.tools.filter((t) => t.name !== RUN_CODE_TOOL && !hidden.has(t.name));
  // listed once, on the first page of the list; like any tool, hidden when the policy always denies it
  return { ...list, tools: firstPage && !hidden.has(RUN_CODE_TOOL) ? [...tools, runCodeToolDefinition(tool.languages, hostTools)] : tools };
}

export { clientResult, type TextLayout, type ToolResultView, toolResultView } from "./tool-result.js";
