/**
 * Sync state per target (GET /v1/sync/status, the dashboard): kind, delivery, version, hash,
 * applied_at, verified and how, the last error — every configured target, synced or not.
 */
import type { Services } from "../services.ts";
import { emptyState, loadRuleSet, loadStates } from "./state.ts";

export async function syncStatus(deps: Services) {
  const targets = deps.config.config_sync.targets;
  const names = Object.keys(targets).sort();
  const [states, set] = await Promise.all([loadStates(deps.store, names), loadRuleSet(deps.store)]);
  return {
    rules: set.rules.length,
    rules_updated_at: set.updated_at,
    targets: names.map((name, i) => {
      const t = targets[name];
      const { content: _content, ...state } = states[i] ?? emptyState(name, t.kind, t.delivery.type);
      deps.metrics.set("configVersion", { target: name }, state.version);
      return { ...state, kind: t.kind, delivery: t.delivery.type };
    }),
  };
}
