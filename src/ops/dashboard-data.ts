/**
 * Gathers what /dashboard shows from the metrics snapshot (process or store-wide, like
 * /stats) and the store's recent lists (dead letters, analyses, autoscale decisions).
 */

import { recentAnalyses } from "../analysis/brief.ts";
import { isoAt } from "../iso-time.ts";
import type { Deps } from "../jobs/deps.ts";
import { recentDeadLetters } from "../jobs/failure.ts";
import { recentDecisions } from "../scale/run.ts";
import { UNVERIFIABLE } from "../sync/read-back.ts";
import { syncStatus } from "../sync/status.ts";
import type { DashboardData } from "./dashboard.ts";
import { engineChecks } from "./health.ts";
import { buildStats } from "./stats.ts";

export async function dashboardData(deps: Deps): Promise<DashboardData> {
  const snap = await deps.metrics.snapshot();
  const stats = buildStats(snap);
  // The page must still load when the store is down: a list it could not read is shown empty,
  // and the page names it, so "None." is never a store that did not answer.
  const failed = new Set<string>();
  const read = <T>(what: string, list: Promise<T>, none: T): Promise<T> =>
    list.catch(() => {
      failed.add(what);
      return none;
    });
  // Read in the page's order, which is the order the page names what it could not read.
  const lists = ["dead letters", "analyses", "config-sync state", "autoscale decisions"];
  const [dead, analyses, sync, decisions] = await Promise.all([
    read(lists[0], recentDeadLetters(deps.store, 20), []),
    read(lists[1], recentAnalyses(deps.store), []),
    // Each target's applied version, verification and last error, as /v1/sync/status shows them.
    read(lists[2], syncStatus(deps), { rules: 0, rules_updated_at: null, targets: [] }),
    read(lists[3], recentDecisions(deps.store, 20), []),
  ]);
  const health = await engineChecks(deps);
  const up = new Map((snap.values.engineUp ?? []).map((s) => [s.labels.engine, s.value === 1]));
  // One row per name jobs use (dify-chat, …), each with its engine's probe and breaker.
  const checkOf = new Map(Object.values(health).flatMap((c) => c.names.map((n) => [n as string, c])));
  const engineNames = new Set([...checkOf.keys(), ...Object.keys(stats.engines), ...up.keys()]);
  return {
    name: deps.config.worker.name,
    type: deps.config.worker.type,
    version: deps.version,
    runtime: deps.runtime,
    uptimeS: (deps.now() - deps.startedAt) / 1000,
    timezone: deps.config.worker.timezone,
    process: await deps.metrics.process?.(),
    scope: deps.metrics.scope,
    concurrency: deps.gate.limit,
    inFlight: Object.values(stats.families).reduce((a, f) => a + f.in_flight, 0),
    families: stats.families,
    channels: stats.channels,
    engines: [...engineNames].map((engine) => ({
      engine,
      up: checkOf.get(engine)?.ok ?? up.get(engine) ?? null,
      breaker: checkOf.get(engine)?.breaker,
      counts: stats.engines[engine] ?? {},
    })),
    targets: sync.targets.map((t) => ({
      target: t.target,
      kind: t.kind,
      version: t.version,
      verified: t.applied_at ? t.verified : undefined,
      verifiable: t.verified_how !== UNVERIFIABLE,
      applied_at: t.applied_at ?? undefined,
      last_error: t.last_error ? `${t.last_error.code}: ${t.last_error.message}` : null,
    })),
    deadLetters: dead,
    decisions,
    analyses,
    unread: lists.filter((what) => failed.has(what)),
    refreshS: 10,
    generatedAt: isoAt(deps.now()),
  };
}
