/**
 * `@agent-armor/runtime/adapter-kit`: what every framework adapter shares (the denial the model
 * reads, the output check, approvals through a framework's own flow), so that each adapter is
 * its framework's idiom and nothing else.
 */
export { type ArmorDenial, denialOf, denialOfRejection, failureText, rewrittenBySchema } from "./denial.js";
export { type FlowApprovals, type FlowApprovalsOptions, flowApprovals, MAX_FLOW_PENDING, mayRequireApproval, outsideGroups } from "./flow-approvals.js";
export { type CheckedText, checkText } from "./output.js";
