/**
 * Loads emitted code into this process. The module imports nothing, so it can be evaluated from
 * a data URL without touching the file system.
 */
import type * as IR from "./ir.js";

export interface LoadedPolicy {
  decide(input: unknown, trackerValues?: readonly (number | boolean | undefined)[]): IR.DecisionResult;
  readonly policy: Record<string, unknown>;
  readonly trackers: readonly { kind: "count" | "seen"; withinMs: number | null; key: string; matches(action: unknown): boolean }[];
  readonly actionSchema: Readonly<Record<string, unknown>> | null;
  readonly actionBranches: Readonly<Record<string, string | null>> | null;
}

export async function loadModule(js: string): Promise<LoadedPolicy> {
  const url = `data:text/javascript;base64,${Buffer.from(js, "utf8").toString("base64")}`;
  return (await import(url)) as LoadedPolicy;
}
