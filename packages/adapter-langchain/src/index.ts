/** @agent-armor/langchain: Agent Armor policies around LangChain.js tools, with LangGraph interrupts for approvals. */

export { type ArmorDenial, type CheckedText, checkText, denialOf, denialOfRejection } from "@agent-armor/runtime/adapter-kit";
export { type ArmorApprovalAnswer, type ArmorApprovalInterrupt, type LangGraphApprovals, type LangGraphApprovalsOptions, langGraphApprovals } from "./approvals.js";
export { ArmorGuardedTool, type ArmorToolsOptions, armorTool, armorTools } from "./tools.js";
