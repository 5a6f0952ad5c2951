/** The public API of @agent-armor/gateway. */
export { runMcpGateway, denialText, type McpGatewayOptions, type RunningGateway } from "./mcp.js";
export { startDecisionService, ROUTES, DEFAULT_MAX_BODY, type DecisionService, type ServeOptions } from "./serve.js";
export { schemaFromMcp, schemaFromTools } from "./schema.js";
export { alwaysDeniedTools } from "./hidden.js";
export { serveApprovals, type ApprovalEndpoint } from "./approvals-http.js";
export { connectUpstream, type Upstream, type UpstreamSpec } from "./upstream.js";
export { main } from "./cli.js";
export { VERSION } from "./version.js";
