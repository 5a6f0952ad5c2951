/** The public API of @agent-armor/gateway. */

export { type ApprovalWebhook, type ApprovalWebhookOptions, approvalPayload, approvalWebhook, slackPayload, webhookSignature } from "./approval-webhook.js";
export { APPROVER_ROUTES, type ApprovalEndpoint, type ApprovalEndpointOptions, type ApprovalRoutes, type ApprovalRoutesOptions, approvalRoutes, serveApprovals } from "./approvals-http.js";
export { type Approver, type ApproverEntry, type Approvers, approversFrom, loadApprovers, tokenDigest } from "./approvers.js";
export { DEFAULT_QUEUE_TIMEOUT_MS } from "./decider.js";
export { alwaysDeniedTools } from "./hidden.js";
export { type Access, type AccessOptions, createAccess, readTokenFile } from "./http-access.js";
export { MAX_JSON_DEPTH } from "./http-util.js";
export { logLine, logText } from "./log-text.js";
export { denialText, type GatewayExit, type McpGatewayOptions, type RunningGateway, runMcpGateway } from "./mcp.js";
export { schemaFromMcp, schemaFromTools } from "./schema.js";
export { DEFAULT_MAX_BODY, type DecisionService, ROUTES, type ServeOptions, startDecisionService } from "./serve.js";
export { collectorName, type ShipConfig, type ShippedLog, shipEventLogger, shippedAuditLog } from "./shipping.js";
export { DEFAULT_SIGN_IN_LIMIT, type SignInLimitOptions } from "./sign-in-limit.js";
export { connectUpstream, type Upstream, type UpstreamSpec } from "./upstream.js";
export { VERSION } from "./version.js";
