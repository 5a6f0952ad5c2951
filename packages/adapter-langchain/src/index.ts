/** @agent-armor/langchain: Agent Armor policies around LangChain.js tools, with LangGraph interrupts for approvals. */
export { type ArmorApprovalAnswer, type ArmorApprovalInterrupt, type LangGraphApprovals, type LangGraphApprovalsOptions, langGraphApprovals } from "./approvals.js";
export { type ArmorDenial, denialOf, denialOfRejection } from "./denial.js";
export { type CheckedText, checkText } from "./output.js";
export { ArmorGuardedTool, type ArmorToolsOptions, armorTool, armorTools } from "./tools.js";
