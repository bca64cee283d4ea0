/**
 * A config-sync job (docs/config-sync.md): apply the operation to the stored rule set (operation.ts),
 * plan every selected target, and — unless dry_run — deliver each target whose hash changed
 * (apply.ts), then save the set and the targets' states with the lock's release, in one step:
 * a target's version goes up by one only when it took the new rendering. Any target that did
 * not is a failed sync (503, or 489 when no retry can help) after the others were delivered, so
 * a retry only redoes what failed: an operation that went into the stored set is not made again
 * (later syncs may have changed its rules since: a retried create must not bring back a rule
 * deleted meanwhile), the retry delivers the set as stored. One sync at a time: the store lock
 * makes a second one answer 503 and be redelivered.
 */

import { transient } from "../errors.ts";
import type { Services } from "../services.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type Applied, apply, clip, syncFailed } from "./apply.ts";
import type { SyncJob } from "./job.ts";
import { nextRuleSet } from "./operation.ts";
import { pickTargets, planTargets, planView, type TargetPlan } from "./plan.ts";
import { knownHashes, loadRuleSet, loadStates, type RuleSet, type TargetState, takeLock } from "./state.ts";

export async function runSync(deps: Services, job: SyncJob, log: Logger, messageId: string) {
  const names = pickTargets(deps, job.targets);
  if (job.dry_run) {
    const [current, states] = await Promise.all([loadRuleSet(deps.store), loadStates(deps.store, names)]);
    const { set, summary } = await nextRuleSet(deps, job, current);
    const plans = await planTargets(deps, set.rules, names, states, job.operation === "full");
    return { ...summary, dry_run: true, rules: set.rules.length, targets: plans.map(dryView) };
  }
  // A full sync from the source reads it again on each attempt: the source is the truth, not the job.
  const operates = job.operation !== "full" || job.rules !== undefined;
  // Held as a job's lease is (renewed every third of worker.lease): a sync whose process died
  // frees it within a lease.
  const held = await takeLock(deps.store, names, deps.config.worker.lease, operates ? messageId : undefined);
  if (!held)
    throw transient("sync_in_progress", "another config sync is running; this one will be redelivered", 5);
  let changedSet: RuleSet | undefined;
  let inSet = false;
  const states: TargetState[] = [];
  try {
    const { set, summary }: { set: RuleSet; summary: Record<string, unknown> } = held.applied
      ? {
          set: held.set,
          summary: {
            operation: job.operation,
            ...(job.operation === "full" ? { from: "job" } : {}),
            applied_earlier: true,
          },
        }
      : await nextRuleSet(deps, job, held.set);
    const plans = await planTargets(deps, set.rules, names, held.states, job.operation === "full");
    const known = Object.fromEntries(plans.map((p) => [p.name, knownHashes(p.state)]));
    inSet = operates && !held.applied;
    const unchanged = JSON.stringify(set.rules) === JSON.stringify(held.set.rules);
    if (!unchanged) changedSet = set;
    // Every target's outcome is waited for (and its state kept as it comes) before the lock goes.
    const settled = await Promise.allSettled(
      plans.map(async (p) => {
        // A full from the store's own set (the scheduled `{operation: full}`), or an empty set
        // from the source, builds on what the store knows too: a target holding rules the store
        // did not record (its state lost) is refused, not emptied.
        const onTopOfStore =
          job.operation !== "full" ||
          summary.from === "store" ||
          (summary.from === "config_sync.source" && !set.rules.length);
        const { [p.name]: _, ...siblings } = known;
        const a = await apply(deps, p, log, onTopOfStore, siblings);
        if (a.state) states.push(a.state);
        return a;
      }),
    );
    const crashed = settled.find((s) => s.status === "rejected");
    if (crashed) throw crashed.reason;
    const applied = settled.map((s) => (s as PromiseFulfilledResult<Applied>).value);
    // A set a peer refused (or a target found ahead of the store) is not kept, unless another
    // target took it (or may have: a file left in place, not yet read back): kept, it would fail
    // every later sync until its rule was deleted; dropped under a target that runs it, the set
    // and that target would disagree.
    const refused = applied.some((a) =>
      ["config_refused", "target_ahead_of_store"].includes(a.failure?.code ?? ""),
    );
    const runs = applied.some(runsIt);
    if (refused && !runs) {
      changedSet = undefined;
      inSet &&= unchanged;
    }
    if (applied.some((a) => a.failure)) throw syncFailed(applied, runs ? keptNote(applied) : undefined);
    return { ...summary, dry_run: false, rules: set.rules.length, targets: applied.map((a) => a.result) };
  } finally {
    // Whatever happened, what was delivered is recorded before the lock goes.
    await held.saveAndRelease(
      changedSet,
      states,
      inSet ? { messageId, keepMs: deps.config.store.retention } : undefined,
    );
  }
}

/** Whether a target runs (or may run: written, not yet read back) the new set; one delivered again took the recorded rendering, not the new set. */
const runsIt = (a: Applied) =>
  (a.result.changed && !a.again && !a.failure) || a.failure?.code === "not_applied";

/**
 * What a peer's refusal of the rules means when the set is kept all the same (another target runs
 * it), and what to do; undefined when no peer refused them (a target ahead of the store says its own).
 */
function keptNote(applied: Applied[]): string | undefined {
  const names = (pick: (a: Applied) => boolean) =>
    applied
      .filter(pick)
      .map((a) => a.result.target)
      .join(", ");
  const refusing = names((a) => a.failure?.code === "config_refused");
  if (!refusing) return undefined;
  return `the rule set keeps this change all the same, as ${names(runsIt)} runs it: every later sync to ${refusing} is refused the same way until the rule is deleted, or kept off ${refusing} with its \`targets\``;
}

/** A dry run's answer per target: the plan, with the target's current verification. */
function dryView(p: TargetPlan) {
  const { diff, ...view } = planView(p);
  return { ...view, verified: p.state.verified, ...(p.changed ? { diff: clip(diff) } : {}) };
}
