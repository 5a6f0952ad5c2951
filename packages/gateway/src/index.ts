/** The public API of @agent-armor/gateway. */
export { runMcpGateway, denialText, type GatewayExit, type McpGatewayOptions, type RunningGateway } from "./mcp.js";
export { startDecisionService, ROUTES, DEFAULT_MAX_BODY, type DecisionService, type ServeOptions } from "./serve.js";
export { DEFAULT_QUEUE_TIMEOUT_MS } from "./decider.js";
export { schemaFromMcp, schemaFromTools } from "./schema.js";
export { alwaysDeniedTools } from "./hidden.js";
export { serveApprovals, type ApprovalEndpoint, type ApprovalEndpointOptions } from "./approvals-http.js";
export { createAccess, readTokenFile, type Access, type AccessOptions } from "./http-access.js";
export { MAX_JSON_DEPTH } from "./http-util.js";
export { logLine, logText } from "./log-text.js";
export { connectUpstream, type Upstream, type UpstreamSpec } from "./upstream.js";
export { VERSION } from "./version.js";
