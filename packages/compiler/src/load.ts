/**
 * Loads emitted code into this process. The module imports nothing, so it can be evaluated from
 * a data URL without touching the file system.
 */
import type * as IR from "./ir.js";

export interface LoadedPolicy {
  decide(input: unknown): IR.DecisionResult;
  readonly policy: Record<string, unknown>;
  readonly trackers: readonly { kind: string; withinMs: number | null; matches(action: unknown): boolean }[];
}

export async function loadModule(js: string): Promise<LoadedPolicy> {
  const url = `data:text/javascript;base64,${Buffer.from(js, "utf8").toString("base64")}`;
  return (await import(url)) as LoadedPolicy;
}
