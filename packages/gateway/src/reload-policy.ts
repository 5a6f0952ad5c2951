/**
 * Reading and compiling the policy file again into a running enforcer (`armor serve`'s decision
 * worker, `armor mcp`): the policy in force stays when the new one does not load.
 */
import * as compiler from "@agent-armor/compiler";
import { type Enforcer, loadPolicy, type PolicyDiagnostic } from "@agent-armor/runtime";

/** What a reload did: the policy now in force, or why the one in force stays. */
export type ReloadAnswer =
  | { ok: true; policy: { name: string; version: string | null; sourceHash: string }; diagnostics: PolicyDiagnostic[] }
  | { ok: false; error: string; diagnostics: PolicyDiagnostic[] };

export async function reloadPolicy(enforcer: Enforcer, path: string): Promise<ReloadAnswer> {
  if (!/\.armor$/i.test(path)) {
    return { ok: false, error: `${path} is a compiled module, which a process imports once: reload serves a .armor policy, or restart to load a new module`, diagnostics: [] };
  }
  let loaded: Awaited<ReturnType<typeof loadPolicy>>;
  try {
    loaded = await loadPolicy(path, { compiler });
  } catch (e) {
    const diagnostics = (e as { diagnostics?: unknown }).diagnostics;
    return { ok: false, error: (e as Error).message, diagnostics: Array.isArray(diagnostics) ? (diagnostics as PolicyDiagnostic[]) : [] };
  }
  const result = await enforcer.reload(loaded.module);
  if (!result.ok) return { ok: false, error: result.error ?? "the policy was not loaded", diagnostics: result.diagnostics };
  const { name, version, sourceHash } = loaded.module.policy;
  return { ok: true, policy: { name, version, sourceHash }, diagnostics: loaded.diagnostics };
}
