/**
 * `armor`: the command line of the MCP gateway and the decision service (@agent-armor/gateway).
 *
 *   armor mcp --policy POLICY [--audit FILE] [--store redis://HOST:PORT] [--approvals terminal|queue|web] [--approvals-port P] [--approvers FILE] [--metrics-port P]
 *             [--token-file FILE] [--allowed-origin O]... [--allowed-host H]...
 *             [--hide-denied-tools] [--session ID] (--upstream-url URL | -- UPSTREAM_CMD ARGS...)
 *   armor serve --policy POLICY [--port P] [--host H] [--audit FILE] [--store redis://HOST:PORT] [--max-body BYTES] [--queue-timeout MS] [--approvers FILE]
 *               [--token-file FILE] [--allowed-origin O]... [--allowed-host H]...
 *
 * Exit codes: 0 clean exit, 1 startup failure (policy does not compile, upstream unreachable,
 * port in use) or, for mcp, the upstream server went away, 2 usage errors, 70 internal errors.
 * Logs go to stderr only.
 */
import type { AccessOptions } from "@agent-armor/gateway";
// the service's module alone: the MCP SDK loads only for `armor mcp`
import { DEFAULT_MAX_BODY, DEFAULT_QUEUE_TIMEOUT_MS, logText, readTokenFile, startDecisionService, VERSION } from "@agent-armor/gateway/serve";
import type { PolicyDiagnostic } from "@agent-armor/runtime";
import { type OptionSpecs, parseCommandArgs, UsageError, wantsHelp } from "../args.js";
import { ConfigError, withConfig } from "./config-file.js";
import { logDiagnostics, logFormat, logger, reloadOnChange } from "./operate.js";
import { checkRunCodeAccess, RUN_CODE_HELP, RUN_CODE_OPTIONS, RUN_CODE_TOOLS_OPTIONS, RUN_CODE_TOOLS_USAGE, RUN_CODE_USAGE, runCodeArgs } from "./run-code-args.js";
import { SHIP_HELP, SHIP_OPTIONS, SHIP_USAGE, shipArgs } from "./shipping-args.js";

const ACCESS_USAGE = "[--token-file FILE] [--allowed-origin ORIGIN]... [--allowed-host NAME]...";
const MCP_USAGE = `armor mcp [--config armor.yaml] --policy POLICY [--audit FILE] [--store redis://HOST:PORT] [--approvals terminal|queue|web] [--approvals-port P] [--approvers FILE] [--approvals-webhook URL] ${ACCESS_USAGE} [--hide-denied-tools] [--session ID] [--metrics-port P] ${RUN_CODE_USAGE} ${RUN_CODE_TOOLS_USAGE} ${SHIP_USAGE} (--upstream-url URL | -- UPSTREAM_CMD ARGS...)`;
const SERVE_USAGE = `armor serve [--config armor.yaml] --policy POLICY [--port P] [--host 127.0.0.1] [--audit FILE] [--store redis://HOST:PORT] [--max-body BYTES] [--queue-timeout MS] [--approvers FILE] ${ACCESS_USAGE} ${RUN_CODE_USAGE} ${SHIP_USAGE}`;

const HELP = `armor ${VERSION}: Agent Armor where agents already are

Usage:
  ${MCP_USAGE}
  ${SERVE_USAGE}

Commands:
  mcp    an MCP gateway on stdio: every tools/call is decided by the policy before it reaches
         the upstream server (denied calls come back as tool errors naming the rules)
  serve  a decision service over HTTP: POST /v1/decide, /v1/record, /v1/release, GET /healthz,
         GET /metrics (Prometheus);
         with --approvers, approvals (/v1/approvals) and the approval console (/console)
         (loopback only unless --host says otherwise; see packages/gateway/openapi.yaml)

Options of both:
  --log-format text|json  text (default): \`armor serve: MESSAGE\` lines; json: one object per
                          line with time, level, msg, component and the event's fields
                          (docs/cli.md#logs-probes-and-reload)
  --config FILE           read the options from a YAML file: each key an option without its
                          dashes (\`policy: p.armor\`, \`allowed-host: [a, b]\`, for mcp
                          \`upstream-command: [node, server.js]\`); options given on the command
                          line override the file's (docs/cli.md#the-config-file)

Options of mcp:
  --policy POLICY         a .armor file (compiled on load) or a module from \`armorc compile\`
  --audit FILE            append hash-chained audit records (JSON Lines) to FILE; {pid} and
                          {host} in FILE name the process (a chain per process)
  --approvals MODE        terminal: a prompt on /dev/tty; queue: pending approvals over HTTP
                          (GET /approvals, POST /approvals/:id); web: the queue and the approval
                          console (a web page at /console, with --approvers); default: denied
  --approvals-port P      port of the approval queue on 127.0.0.1 (default: any free port)
  --approvals-webhook URL post each new pending approval to URL (with --approvals queue), retried
                          with backoff; --approvals-webhook-format json|slack (default json);
                          --approvals-webhook-secret-file FILE signs each post (X-Armor-Signature)
  --approvers FILE        who may approve (with --approvals queue): names, groups and the SHA-256
                          of each approver's own token; a request from a group is answered only by
                          its members, and the audit log records the approver the token names
  --token-file, --allowed-origin, --allowed-host
                          who may call the approval queue, as for serve (with --approvals queue;
                          the token is needed on every route of the queue)
  --hide-denied-tools     leave tools the policy always denies out of tools/list
  --session ID            the session for history rules (default: one per gateway process)
  --store redis://HOST:PORT  keep the session's history, and with --approvals queue the pending
                          approvals, in Redis (or Valkey): gateways on one Redis share them, an
                          approval answered at any gateway's queue releases the call, and a
                          restart keeps both (docs/deployment.md)
  --upstream-url URL      a streamable HTTP upstream instead of a command
  --metrics-port P        Prometheus metrics at http://127.0.0.1:P/metrics, and the probes
                          /livez and /readyz (0: any free port; the address is logged); any
                          local process may read them
${RUN_CODE_HELP.trimEnd()}
                          (a tool \`run_code\`, listed with the upstream's; an upstream tool of
                          that name is left out)
  --run-code-tools NAMES  the upstream's tools the code may call as functions, each call decided
                          as that tool's own call (comma-separated)

${SHIP_HELP}
Options of serve:
  --policy POLICY         as above
  --port P                default 8470 (0: any free port; the address is logged)
  --host H                default 127.0.0.1
  --audit FILE            as above: replicas writing to one folder keep a chain each
                          (armorc audit verify FOLDER)
  --store redis://HOST:PORT  keep session history and reservations in Redis (or Valkey): replicas
                          on one Redis share their limits, and a restart keeps them; while Redis
                          does not answer, decisions deny naming it (docs/deployment.md)
  --max-body BYTES        largest request body (default ${DEFAULT_MAX_BODY}); larger ones get 413
  --queue-timeout MS      decisions run in a worker thread, one at a time; a request not started
                          within MS (default ${DEFAULT_QUEUE_TIMEOUT_MS}) gets 503 busy with Retry-After, undecided
  --approvers FILE        who may approve, as for mcp: the agent opens the approval of a
                          require_approval decision (POST /v1/approvals { decisionId }) and waits
                          (GET /v1/approvals/ID?wait=S); approvers answer at /approvals/ID or in
                          the console at /console with their own tokens, never the service's
  --token-file FILE       require \`Authorization: Bearer TOKEN\` (the file's first line) on every
                          route but GET /healthz and the approvers' own; 401 with WWW-Authenticate
                          otherwise; an approver holding this token is refused at start
  --allowed-origin ORIGIN a web origin (http://localhost:3000) whose pages may call the service
                          (CORS); requests with any other Origin header get 403 (repeatable)
  --allowed-host NAME     a host name, besides localhost and the bound address, that requests may
                          name in Host (a proxy's); others get 403, against DNS rebinding (repeatable)
${RUN_CODE_HELP.trimEnd()}
                          (POST /v1/run_code { language, code, session?, user?, context? })
  --ship-to URL ...       decision shipping, as for mcp

Who may call serve: a client that names the service in Host (localhost, the bound address and
port, or an --allowed-host), sends no browser Origin (or an --allowed-origin), and carries the
token when --token-file is given (GET /metrics too). POST bodies must be application/json (415 otherwise) and nest
at most 64 levels (400). The approval queue of mcp checks the same.

Docs: packages/gateway/README.md
`;

export interface McpArgs {
  policy: string;
  /** The token file and allowed origins and hosts of the approval queue. */
  tokenFile?: string;
  approvers?: string;
  webhook?: { url: string; format: "json" | "slack"; secretFile?: string };
  allowedOrigins: string[];
  allowedHosts: string[];
  audit?: string;
  approvals?: "terminal" | "queue" | "web";
  approvalsPort?: number;
  metricsPort?: number;
  hideDeniedTools: boolean;
  session?: string;
  store?: string;
  upstreamUrl?: string;
  command: string[];
  runCode?: ReturnType<typeof runCodeArgs>;
  /** The raw values of the decision-shipping options (shipping-args.ts), read when the command starts. */
  shipValues: Record<string, unknown>;
  logFormat: "text" | "json";
}

const ACCESS_OPTIONS: OptionSpecs = {
  "token-file": { type: "string" },
  "allowed-origin": { type: "string", multiple: true },
  "allowed-host": { type: "string", multiple: true },
};

export const MCP_OPTIONS: OptionSpecs = {
  config: { type: "string" },
  "log-format": { type: "string" },
  policy: { type: "string" },
  audit: { type: "string" },
  approvals: { type: "string" },
  "approvals-port": { type: "string" },
  approvers: { type: "string" },
  "approvals-webhook": { type: "string" },
  "approvals-webhook-format": { type: "string" },
  "approvals-webhook-secret-file": { type: "string" },
  "upstream-url": { type: "string" },
  session: { type: "string" },
  "hide-denied-tools": { type: "boolean" },
  store: { type: "string" },
  "metrics-port": { type: "string" },
  ...ACCESS_OPTIONS,
  ...RUN_CODE_OPTIONS,
  ...RUN_CODE_TOOLS_OPTIONS,
  ...SHIP_OPTIONS,
};

export const SERVE_OPTIONS: OptionSpecs = {
  config: { type: "string" },
  "log-format": { type: "string" },
  policy: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  audit: { type: "string" },
  store: { type: "string" },
  "max-body": { type: "string" },
  "queue-timeout": { type: "string" },
  approvers: { type: "string" },
  ...ACCESS_OPTIONS,
  ...RUN_CODE_OPTIONS,
  ...SHIP_OPTIONS,
};

function port(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`${name} must be a port number (0-65535), not \`${text}\``);
  return n;
}

/**
 * Options come first; the upstream command starts after `--` or at the first argument that is
 * not an option (MCP Inspector's CLI swallows `--`), so the upstream's own flags are never ours.
 */
function parseMcpArgs(argv: readonly string[]): McpArgs {
  const parsed = parseCommandArgs(argv, MCP_OPTIONS, { stopAtPositional: true, helpCommand: "armor mcp" });
  const { values: v, upstreamCommand } = withConfig(parsed.values, MCP_OPTIONS, "mcp");
  const command = parsed.positionals.length > 0 ? parsed.positionals : upstreamCommand;
  const values = new Map(
    Object.entries(v)
      .filter((e): e is [string, string] => typeof e[1] === "string")
      .map(([k, x]) => [`--${k}`, x]),
  );
  const allowedOrigins = (v["allowed-origin"] as string[] | undefined) ?? [];
  const allowedHosts = (v["allowed-host"] as string[] | undefined) ?? [];
  const hide = v["hide-denied-tools"] === true;
  const policy = values.get("--policy");
  if (policy === undefined) throw new UsageError("--policy is required");
  const approvals = values.get("--approvals");
  if (approvals !== undefined && approvals !== "terminal" && approvals !== "queue" && approvals !== "web") throw new UsageError(`--approvals is terminal, queue or web, not \`${approvals}\``);
  // the console's queue is the queue: every option of the queue is an option of the console
  const queued = approvals === "queue" || approvals === "web";
  if (approvals === "web" && !values.has("--approvers")) throw new UsageError("--approvals web signs approvers in with their own tokens: give --approvers FILE");
  const upstreamUrl = values.get("--upstream-url");
  if (upstreamUrl !== undefined && command.length > 0) throw new UsageError("give either --upstream-url or an upstream command, not both");
  if (upstreamUrl === undefined && command.length === 0) throw new UsageError("name the upstream MCP server: -- COMMAND ARGS... or --upstream-url URL");
  if (upstreamUrl !== undefined) {
    try {
      new URL(upstreamUrl);
    } catch {
      throw new UsageError(`--upstream-url is not a URL: \`${upstreamUrl}\``);
    }
  }
  const ap = values.get("--approvals-port");
  if (ap !== undefined && !queued) throw new UsageError("--approvals-port needs --approvals queue or web");
  if (!queued && (values.has("--token-file") || allowedOrigins.length > 0 || allowedHosts.length > 0))
    throw new UsageError("--token-file, --allowed-origin and --allowed-host are for the approval queue: they need --approvals queue or web");
  if (values.has("--approvers") && !queued) throw new UsageError("--approvers says who may answer the approval queue: it needs --approvals queue or web");
  const webhook = values.get("--approvals-webhook");
  const webhookFormat = values.get("--approvals-webhook-format");
  const webhookSecret = values.get("--approvals-webhook-secret-file");
  if ((webhook !== undefined || webhookFormat !== undefined || webhookSecret !== undefined) && !queued)
    throw new UsageError("--approvals-webhook posts the queue's pending approvals: it needs --approvals queue or web");
  if ((webhookFormat !== undefined || webhookSecret !== undefined) && webhook === undefined)
    throw new UsageError("--approvals-webhook-format and --approvals-webhook-secret-file need --approvals-webhook URL");
  if (webhookFormat !== undefined && webhookFormat !== "json" && webhookFormat !== "slack") throw new UsageError(`--approvals-webhook-format is json or slack, not \`${webhookFormat}\``);
  if (webhook !== undefined && !/^https?:\/\//.test(webhook)) throw new UsageError(`--approvals-webhook is an http(s) URL, not \`${webhook}\``);
  if (values.has("--approvers") && values.has("--token-file"))
    throw new UsageError("--approvers and --token-file: approvers authenticate with tokens of their own, so the queue takes no shared token");
  const store = values.get("--store");
  if (store !== undefined) storeUrl(store);
  const runCode = runCodeArgs(v);
  // checked now (usage errors); the token file is read when the gateway starts
  shipArgs(v, values.get("--audit"), () => "");
  return {
    ...(runCode !== undefined ? { runCode } : {}),
    shipValues: v,
    logFormat: logFormat(v["log-format"]),
    policy,
    allowedOrigins,
    allowedHosts,
    ...(values.has("--token-file") ? { tokenFile: values.get("--token-file")! } : {}),
    ...(values.has("--approvers") ? { approvers: values.get("--approvers")! } : {}),
    ...(webhook !== undefined ? { webhook: { url: webhook, format: (webhookFormat ?? "json") as "json" | "slack", ...(webhookSecret !== undefined ? { secretFile: webhookSecret } : {}) } } : {}),
    hideDeniedTools: hide,
    command,
    ...(values.has("--audit") ? { audit: values.get("--audit")! } : {}),
    ...(approvals !== undefined ? { approvals } : {}),
    ...(ap !== undefined ? { approvalsPort: port(ap, "--approvals-port") } : {}),
    ...(values.has("--metrics-port") ? { metricsPort: port(values.get("--metrics-port")!, "--metrics-port") } : {}),
    ...(values.has("--session") ? { session: values.get("--session")! } : {}),
    ...(store !== undefined ? { store } : {}),
    ...(upstreamUrl !== undefined ? { upstreamUrl } : {}),
  };
}

/** A `--store` URL, or a usage error saying what it takes. */
function storeUrl(text: string): string {
  if (!/^rediss?:\/\/[^\s]+$/.test(text)) throw new UsageError(`--store must be a redis://HOST:PORT (or rediss://) URL, not \`${text}\``);
  return text;
}

/** The access options of an HTTP endpoint from the command line (reads the token file). */
function accessOptions(tokenFile: string | undefined, allowedOrigins: readonly string[], allowedHosts: readonly string[]): AccessOptions {
  return {
    allowedOrigins,
    allowedHosts,
    ...(tokenFile !== undefined ? { token: readTokenFile(tokenFile) } : {}),
  };
}

/**
 * The policy's warnings, printed as armorc prints diagnostics (the gateway returns them as data);
 * the printer, and the compiler it renders with, load only when there is something to print.
 */
/** A policy's diagnostics (warnings, or the errors of one that does not compile) on stderr, with source lines and help. */
async function printDiagnostics(diagnostics: readonly PolicyDiagnostic[]): Promise<void> {
  if (diagnostics.length === 0) return;
  const { nodeIo, printLoadDiagnostics } = await import("../io.js");
  const io = nodeIo();
  printLoadDiagnostics(io, io.stderr, diagnostics);
}

/**
 * Reports why a command could not start. A policy that does not compile (the runtime's
 * `PolicyLoadError`, recognised by its `diagnostics`) gets its first line and then its
 * diagnostics from the shared printer; anything else is one log line.
 */
async function reportStartFailure(command: string, e: unknown): Promise<void> {
  const message = e instanceof Error ? e.message : String(e);
  const diagnostics = (e as { diagnostics?: unknown } | null)?.diagnostics;
  if (Array.isArray(diagnostics) && diagnostics.length > 0) {
    process.stderr.write(`armor ${command}: ${logText(message.split("\n")[0]!)}\n`);
    await printDiagnostics(diagnostics as PolicyDiagnostic[]);
    return;
  }
  process.stderr.write(`armor ${command}: ${logText(message)}\n`);
}

function ignoreHangup(): void {
  // reloads are not set up yet; the file watcher sees a change made meanwhile
}

/** Why a command could not start, as JSON log lines: the first line, then each diagnostic. */
function reportStartFailureAsJson(say: (line: string, fields?: Record<string, unknown>) => void, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  say(logText(message.split("\n")[0]!), { level: "error" });
  const diagnostics = (e as { diagnostics?: unknown } | null)?.diagnostics;
  if (Array.isArray(diagnostics)) logDiagnostics(say, diagnostics as PolicyDiagnostic[]);
}

async function mcp(argv: string[]): Promise<number | null> {
  const a = parseMcpArgs(argv);
  const [command, ...args] = a.command;
  // the MCP SDK loads only for this command (a chunk of the bundle)
  const { runMcpGateway } = await import("@agent-armor/gateway/mcp");
  const say = logger(a.logFormat, "mcp");
  // a SIGHUP while starting (before reloads are set up) must not end the process
  process.on("SIGHUP", ignoreHangup);
  let gateway: Awaited<ReturnType<typeof runMcpGateway>>;
  try {
    const ship = shipArgs(a.shipValues, a.audit, readTokenFile);
    gateway = await runMcpGateway({
      log: say,
      ...(ship !== undefined ? { ship } : {}),
      approvalsAccess: accessOptions(a.tokenFile, a.allowedOrigins, a.allowedHosts),
      policy: a.policy,
      upstream: a.upstreamUrl !== undefined ? { url: a.upstreamUrl } : { command: command!, args },
      ...(a.audit !== undefined ? { audit: a.audit } : {}),
      ...(a.approvals !== undefined ? { approvals: a.approvals } : {}),
      ...(a.approvalsPort !== undefined ? { approvalsPort: a.approvalsPort } : {}),
      ...(a.metricsPort !== undefined ? { metricsPort: a.metricsPort } : {}),
      ...(a.approvers !== undefined ? { approvers: a.approvers } : {}),
      ...(a.webhook !== undefined
        ? { approvalsWebhook: { url: a.webhook.url, format: a.webhook.format, ...(a.webhook.secretFile !== undefined ? { secret: readTokenFile(a.webhook.secretFile) } : {}) } }
        : {}),
      ...(a.session !== undefined ? { session: a.session } : {}),
      ...(a.store !== undefined ? { store: a.store } : {}),
      hideDeniedTools: a.hideDeniedTools,
      ...(a.runCode !== undefined ? { runCode: a.runCode } : {}),
    });
  } catch (e) {
    if (a.logFormat === "json") reportStartFailureAsJson(say, e);
    else await reportStartFailure("mcp", e);
    return 1;
  }
  if (a.logFormat === "json") logDiagnostics(say, gateway.diagnostics);
  else await printDiagnostics(gateway.diagnostics);
  const unwatch = reloadOnChange(a.policy, gateway, say);
  process.off("SIGHUP", ignoreHangup);
  const stop = (): void => {
    unwatch();
    void gateway.close();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const { upstreamLost } = await gateway.closed;
  // child streams and the stdio transport keep handles open; the gateway is done
  process.exit(upstreamLost ? 1 : 0);
}

async function serve(argv: string[]): Promise<number | null> {
  const parsed = withConfig(parseCommandArgs(argv, SERVE_OPTIONS, { positionals: false, helpCommand: "armor serve" }).values, SERVE_OPTIONS, "serve").values;
  const runCode = runCodeArgs(parsed);
  const v = parsed as {
    policy?: string;
    port?: string;
    host?: string;
    audit?: string;
    store?: string;
    "max-body"?: string;
    "queue-timeout"?: string;
    approvers?: string;
    "token-file"?: string;
    "allowed-origin"?: string[];
    "allowed-host"?: string[];
    "log-format"?: string;
  };
  if (v.policy === undefined) throw new UsageError("--policy is required");
  checkRunCodeAccess(runCode, v.host, v["token-file"]);
  let maxBody: number | undefined;
  if (v["max-body"] !== undefined) {
    maxBody = Number(v["max-body"]);
    if (!/^\d+$/.test(v["max-body"]) || maxBody < 1) throw new UsageError(`--max-body must be a positive number of bytes, not \`${v["max-body"]}\``);
  }
  let queueTimeoutMs: number | undefined;
  if (v["queue-timeout"] !== undefined) {
    queueTimeoutMs = Number(v["queue-timeout"]);
    if (!/^\d+$/.test(v["queue-timeout"]) || queueTimeoutMs < 1) throw new UsageError(`--queue-timeout must be a positive number of milliseconds, not \`${v["queue-timeout"]}\``);
  }
  if (v.store !== undefined) storeUrl(v.store);
  const values = v as Record<string, unknown>;
  shipArgs(values, v.audit, () => "");
  const format = logFormat(values["log-format"]);
  const say = logger(format, "serve");
  // a SIGHUP while starting (before reloads are set up) must not end the process
  process.on("SIGHUP", ignoreHangup);
  let service: Awaited<ReturnType<typeof startDecisionService>>;
  try {
    const ship = shipArgs(values, v.audit, readTokenFile);
    service = await startDecisionService({
      log: say,
      ...(ship !== undefined ? { ship } : {}),
      ...(queueTimeoutMs !== undefined ? { queueTimeoutMs } : {}),
      policy: v.policy,
      ...(v.port !== undefined ? { port: port(v.port, "--port") } : {}),
      ...(v.host !== undefined ? { host: v.host } : {}),
      ...(v.audit !== undefined ? { audit: v.audit } : {}),
      ...(v.store !== undefined ? { store: v.store } : {}),
      ...(maxBody !== undefined ? { maxBody } : {}),
      ...(v.approvers !== undefined ? { approvers: v.approvers } : {}),
      access: accessOptions(v["token-file"], v["allowed-origin"] ?? [], v["allowed-host"] ?? []),
      ...(runCode !== undefined ? { runCode } : {}),
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (format === "json") reportStartFailureAsJson(say, e);
    else await reportStartFailure("serve", e);
    return 1;
  }
  if (format === "json") logDiagnostics(say, service.diagnostics);
  else await printDiagnostics(service.diagnostics);
  // watching before saying it listens, so a SIGHUP from whoever waits for that line reloads
  const unwatch = reloadOnChange(v.policy, service, say);
  process.off("SIGHUP", ignoreHangup);
  say(`policy ${service.policy.name} listening on ${service.url}`, { url: service.url, policy: service.policy.name, version: service.policy.version, sourceHash: service.policy.sourceHash });
  if (v.approvers !== undefined) say(`approval console at ${service.url}/console`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      unwatch();
      say(`${signal}: finishing requests in flight`);
      void service.close().then(resolve, (e: Error) => {
        say(`shutdown: ${e.message}`, { level: "error" });
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  say("stopped");
  return 0;
}

export async function main(argv: string[]): Promise<number | null> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    // no command is a usage error: usage on stderr, exit 2 (asking for help is not)
    process.stderr.write(HELP);
    return 2;
  }
  if (cmd === "-h" || cmd === "--help" || cmd === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (cmd === "-v" || cmd === "--version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const usage = cmd === "mcp" ? MCP_USAGE : cmd === "serve" ? SERVE_USAGE : null;
  if (usage === null) {
    process.stderr.write(`armor: unknown command \`${cmd}\`; the commands are mcp and serve\n`);
    return 2;
  }
  // for mcp, only our options (before the upstream command) can ask for help
  if (wantsHelp(rest, cmd === "mcp" ? MCP_OPTIONS : SERVE_OPTIONS, { stopAtPositional: cmd === "mcp" })) {
    process.stdout.write(`Usage: ${usage}\n\n${HELP}`);
    return 0;
  }
  try {
    return cmd === "mcp" ? await mcp(rest) : await serve(rest);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`armor ${cmd}: ${e.message}\n  = help: the config file's keys and values: docs/cli.md#the-config-file\n`);
      return 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`armor ${cmd}: ${e.message}\nusage: ${usage}\n`);
      return 2;
    }
    throw e;
  }
}
