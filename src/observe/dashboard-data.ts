/**
 * Gathers what /dashboard shows from the metrics snapshot (process or store-wide, like
 * /stats) and the store's recent lists (dead letters, autoscale decisions).
 */
import type { Deps } from "../deps.ts";
import { DEAD_LETTERS_KEY, type DeadLetter } from "../jobs/dead-letters.ts";
import type { Decision } from "../scale/decide.ts";
import { DECISIONS_KEY } from "../scale/run.ts";
import type { DashboardData } from "./dashboard.ts";
import { engineChecks } from "./health.ts";
import { buildStats } from "./stats.ts";

export async function dashboardData(deps: Deps): Promise<DashboardData> {
  const snap = await deps.metrics.snapshot();
  const stats = buildStats(snap);
  // The page must still load when the store is down: the lists are then empty (and /health says why).
  const [dead, decisions] = await Promise.all([
    deps.store.list<DeadLetter>(DEAD_LETTERS_KEY, 20).catch(() => []),
    deps.store.list<Decision>(DECISIONS_KEY, 20).catch(() => []),
  ]);
  const health = await engineChecks(deps);
  const up = new Map((snap.values.engineUp ?? []).map((s) => [s.labels.engine, s.value === 1]));
  const engineNames = new Set([...Object.keys(stats.engines), ...up.keys(), ...Object.keys(health)]);
  const versions = new Map((snap.values.configVersion ?? []).map((s) => [s.labels.target, s.value]));
  const targetNames = new Set([
    ...Object.keys(deps.config.config_sync.targets),
    ...Object.keys(stats.targets),
  ]);
  return {
    name: deps.config.worker.name,
    type: deps.config.worker.type,
    version: deps.version,
    runtime: deps.runtime,
    uptimeS: (deps.now() - deps.startedAt) / 1000,
    scope: deps.metrics.scope,
    concurrency: deps.gate.limit,
    inFlight: Object.values(stats.families).reduce((a, f) => a + f.in_flight, 0),
    families: stats.families,
    channels: stats.channels,
    engines: [...engineNames].map((engine) => ({
      engine,
      up: health[engine]?.ok ?? up.get(engine) ?? null,
      breaker: health[engine]?.breaker,
      counts: stats.engines[engine] ?? {},
    })),
    targets: [...targetNames].map((target) => ({
      target,
      kind: deps.config.config_sync.targets[target]?.kind,
      version: versions.get(target),
      last_error:
        (stats.targets[target]?.failed ?? 0) > 0 ? "failed syncs counted; see /v1/sync/status" : null,
    })),
    deadLetters: dead,
    decisions,
    refreshS: 10,
    generatedAt: new Date(deps.now()).toISOString(),
  };
}
