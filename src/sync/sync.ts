/**
 * A config-sync job (docs/config-sync.md): apply the operation to the stored rule set (operation.ts),
 * plan every selected target, and — unless dry_run — save the set and deliver each target
 * whose hash changed (apply.ts): its version goes up by one only when the target took the new
 * rendering. Any target that did not is a failed sync (503, or 489 when no retry can help)
 * after the others were delivered, so a retry only redoes what failed. One sync at a time:
 * the store lock makes a second one answer 503 and be redelivered.
 */

import { transient } from "../errors.ts";
import type { Services } from "../services.ts";
import type { Logger } from "../telemetry/logger.ts";
import { apply, clip, syncFailed } from "./apply.ts";
import type { SyncJob } from "./job.ts";
import { nextRuleSet } from "./operation.ts";
import { pickTargets, planTargets, planView, type TargetPlan } from "./plan.ts";
import { loadRuleSet, saveRuleSet, takeLock } from "./state.ts";

/** Frees the lock of a sync whose process died. */
const LOCK_TTL_MS = 5 * 60_000;

export async function runSync(deps: Services, job: SyncJob, log: Logger) {
  const names = pickTargets(deps, job.targets);
  const release = job.dry_run ? async () => {} : await takeLock(deps.store, LOCK_TTL_MS);
  if (!release)
    throw transient("sync_in_progress", "another config sync is running; this one will be redelivered", 5);
  try {
    const current = await loadRuleSet(deps.store);
    const { set, summary } = await nextRuleSet(deps, job, current);
    const plans = await planTargets(deps, set.rules, names);
    if (job.dry_run)
      return { ...summary, dry_run: true, rules: set.rules.length, targets: plans.map(dryView) };
    if (JSON.stringify(set.rules) !== JSON.stringify(current.rules)) await saveRuleSet(deps.store, set);
    const applied = await Promise.all(plans.map((p) => apply(deps, p, log)));
    if (applied.some((a) => a.failure)) throw syncFailed(applied);
    return { ...summary, dry_run: false, rules: set.rules.length, targets: applied.map((a) => a.result) };
  } finally {
    await release();
  }
}

/** A dry run's answer per target: the plan, with the target's current verification. */
function dryView(p: TargetPlan) {
  const { diff, ...view } = planView(p);
  return { ...view, verified: p.state.verified, ...(p.changed ? { diff: clip(diff) } : {}) };
}
