/** The policies an enforcer holds: the one in force and the shadow candidate, and swapping them. */
import { canonicalJsonOrUndefined } from "../hash.js";
import { loadPolicy, PolicyLoadError, type PolicySource } from "../load.js";
import type { SharedHistoryStore } from "../store.js";
import type { Decision, PolicyModule } from "../types.js";
import { type ActionValidator, compileValidator } from "../validate.js";
import type { LoadResult } from "./api.js";
import type { EnforcerState } from "./state.js";

/** A loaded policy as the enforcer runs it. */
export interface Active {
  module: PolicyModule;
  validator: ActionValidator | null;
  /** The policy's name, version and source hash as its decisions carry them (shared, frozen). */
  meta: Decision["policy"];
  /** Their canonical JSON, for the audit records. */
  metaJson: string | undefined;
  /**
   * Whether `run` decides tools' results: the module has `decideResult` and rules on results
   * (its metadata says each rule's stage). Without them a result passes as the tool returned it,
   * at no cost.
   */
  decidesResults: boolean;
  /** Whether rules on calls give labels (`label "L"`): `record` then decides the action for its entry's labels. */
  labelsCalls: boolean;
  /** Whether rules on calls redact: `record` then writes the action as a decision of it redacts it. */
  redactsCalls: boolean;
}

export function activate(module: PolicyModule, validate: boolean | undefined): Active {
  const validator = validate === false ? null : compileValidator(module.actionSchema, module.actionBranches);
  const m = meta(module);
  const decidesResults = typeof module.decideResult === "function" && module.policy.rules.some((r) => r.stage === "result");
  const labelsCalls = module.policy.rules.some((r) => r.effect === "label" && (r.stage ?? "call") === "call");
  const redactsCalls = module.policy.rules.some((r) => r.effect === "redact" && (r.stage ?? "call") === "call");
  return { module, validator, meta: Object.freeze(m), metaJson: canonicalJsonOrUndefined(m), decidesResults, labelsCalls, redactsCalls };
}

export function meta(m: PolicyModule): Decision["policy"] {
  return { name: m.policy.name, version: m.policy.version, sourceHash: m.policy.sourceHash };
}

/** Throws when the policy offers grants and the shared store cannot keep them (it has no `grants`). */
export function refuseGrants(store: SharedHistoryStore, a: Active): void {
  if (store.grants !== undefined) return;
  const rule = a.module.policy.rules.find((r) => r.grant !== undefined);
  if (rule === undefined) return;
  throw new Error(
    `the shared history store ${store.name} keeps no grants, which rule \`${rule.id}\` offers (\`require approval ... grant\`): use the in-memory history, or remove the grant clause so that each action is approved`,
  );
}

/**
 * Swaps in a new policy atomically; one that does not load leaves the old in force. With a shared
 * history store, so does one that adds history predicates: the in-memory store starts a new
 * predicate from the session's recent actions, but a shared store keeps no actions, only the
 * predicates' state, so a new predicate would start from zero, and a reload could reset a limit
 * (a window changed by a minute is a new predicate). Set as the shadow policy first, its
 * predicates are counted from then on, and a reload finds them. A shared store that keeps no
 * grants refuses a policy that offers one.
 */
export async function reload(st: EnforcerState, source: PolicySource): Promise<LoadResult> {
  try {
    const next = await loadPolicy(source);
    const fresh = st.store === null ? [] : newPredicates(st, next.module);
    if (fresh.length > 0) {
      const named = fresh.slice(0, 3).map((t) => `${t.since !== undefined ? "seen(... since ...)" : t.kind}${t.withinMs !== null ? ` within ${t.withinMs} ms` : ""}`);
      throw new Error(
        `reload refused: the policy adds ${fresh.length} history predicate${fresh.length === 1 ? "" : "s"} (${named.join(", ")}${fresh.length > 3 ? ", ..." : ""}) ` +
          `that the history store ${st.store!.name} has not counted: it keeps no past actions to start them from, so they would start from zero. ` +
          "Set the policy as the shadow policy first (setShadow): the store counts its predicates from then on, and a reload after their longest window finds them counted",
      );
    }
    const a = activate(next.module, st.options.validate);
    if (st.store !== null) refuseGrants(st.store, a);
    st.active = a;
    st.files = next.files;
    return { ok: true, diagnostics: next.diagnostics, files: next.files };
  } catch (e) {
    return notLoaded(st, e);
  }
}

/** The history predicates of `module` that neither the policy in force nor the shadow candidate has. */
function newPredicates(st: EnforcerState, module: PolicyModule): PolicyModule["trackers"] {
  const known = new Set<string>();
  for (const t of st.active.module.trackers) known.add(t.key);
  // the shadow's predicates count from when it was set: one is counted once its window has
  // passed since then; one over the whole history (or `since`) never is
  const counted = st.shadowSince === null ? 0 : st.clock() - st.shadowSince;
  for (const t of st.shadow?.module.trackers ?? []) if (t.withinMs !== null && t.since === undefined && counted >= t.withinMs) known.add(t.key);
  return module.trackers.filter((t) => !known.has(t.key));
}

/** Sets (and starts counting the flips of) or clears the shadow candidate. */
export async function setShadow(st: EnforcerState, source: PolicySource | null): Promise<LoadResult> {
  if (source === null) {
    st.shadow = null;
    st.shadowSince = null;
    st.shadowStats.candidate = null;
    return { ok: true, diagnostics: [] };
  }
  try {
    const next = await loadPolicy(source);
    const a = activate(next.module, st.options.validate);
    if (st.store !== null) refuseGrants(st.store, a);
    st.shadow = a;
    st.shadowSince = st.clock();
    Object.assign(st.shadowStats, { candidate: meta(next.module), decisions: 0, flips: 0, byKind: {} });
    return { ok: true, diagnostics: next.diagnostics };
  } catch (e) {
    return notLoaded(st, e);
  }
}

function notLoaded(st: EnforcerState, e: unknown): LoadResult {
  st.report(e);
  return { ok: false, diagnostics: e instanceof PolicyLoadError ? e.diagnostics : [], error: (e as Error).message };
}
