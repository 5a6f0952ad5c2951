/**
 * What readiness (`GET /readyz`, probes.ts) asks of the parts a gateway decides with: the history
 * store answers, the audit log is not stuck, and, where decisions fail closed while the collector
 * refuses records (`--ship-overflow deny`), the collector is taking them. Used by `armor serve`'s
 * decision worker and by `armor mcp`'s metrics port. The probes take no token, so a problem is
 * named by a fixed description, never by an error's own text (it may hold a path or an address).
 */
import type { AuditLog, DecisionShipper, SharedHistoryStore } from "@agent-armor/runtime";

export interface ReadinessParts {
  history: SharedHistoryStore | null;
  audit: AuditLog | null;
  shipper: DecisionShipper | null;
  /** Decisions are denied while the shipping buffer is full (`overflow: "deny"`). */
  shipFailsClosed: boolean;
}

/** A part's failure as the probes say it: that it did not answer in time, or that it failed (with the error's code, if any). */
function fixedDescription(e: Error, what: string): string {
  if (e.message === `${what} did not answer within 1 s`) return e.message;
  const code = (e as NodeJS.ErrnoException).code;
  return `${what} failed${typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : ""}`;
}

/** How long one part may take to answer before it counts as not ready. */
const PART_TIMEOUT_MS = 1_000;

/** Each part that is not ready, with why (empty when all are). */
export async function readinessProblems(parts: ReadinessParts): Promise<string[]> {
  const problems: string[] = [];
  const within = <T>(p: Promise<T>, what: string): Promise<unknown> =>
    Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within 1 s`)), PART_TIMEOUT_MS).unref())]);
  const { history, audit, shipper } = parts;
  if (history !== null) {
    await within(history.pending("readyz", "readyz"), "the history store").catch((e: Error) => problems.push(`history store: ${fixedDescription(e, "the history store")}`));
  }
  if (audit !== null) await within(audit.flush(), "the audit log").catch((e: Error) => problems.push(`audit log: ${fixedDescription(e, "the audit log")}`));
  const s = shipper?.stats();
  if (s !== undefined && parts.shipFailsClosed && s.failing > 0 && s.lastError !== null) problems.push(`decision shipping (fails closed): ${s.lastError}`);
  return problems;
}
