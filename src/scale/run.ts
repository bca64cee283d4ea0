/**
 * One autoscale run: for each family's flow-control key, read QStash's wait list and the
 * worker's own health since the last run (from the metrics snapshot, so on Workers it is
 * every isolate's), decide, pin the new parallelism, and record the decision.
 */
import type { Family } from "../config/schema.ts";
import { permanent } from "../errors.ts";
import type { QstashApi } from "../qstash/management.ts";
import type { Services } from "../services.ts";
import type { Store } from "../store/store.ts";
import { METRICS } from "../telemetry/metric-defs.ts";
import { quantileFromBuckets } from "../telemetry/metrics.ts";
import { type Decision, decide } from "./decide.ts";

const DECISIONS_KEY = "autoscale:decisions";

/**
 * The cooldown as runs see it, less a slack (5%, at most 10 s): a schedule as long as the cooldown
 * (every 5 minutes, cooldown 5m) delivers each run a little before the last move's marker is a
 * whole cooldown old, and a key would then move every other run.
 */
const cooldownOf = (cooldownMs: number) => cooldownMs - Math.min(10_000, cooldownMs * 0.05);

/** The newest `limit` autoscale decisions, newest first. */
export function recentDecisions(store: Store, limit: number): Promise<Decision[]> {
  return store.list<Decision>(DECISIONS_KEY, limit);
}
const FLOW_FAMILIES: [keyof Services["config"]["qstash"]["flow_control"], Family][] = [
  ["analysis", "analysis"],
  ["notification", "notification"],
  ["config_sync", "config-sync"],
];

/** Each process's own baselines, by its metrics (a reload keeps the metrics, so the baseline too). */
const baselines = new WeakMap<object, Map<string, HealthBaseline>>();
function processBaselines(metrics: object): Map<string, HealthBaseline> {
  const found = baselines.get(metrics) ?? new Map<string, HealthBaseline>();
  baselines.set(metrics, found);
  return found;
}

interface HealthBaseline {
  answered: number;
  failed: number;
  /** Jobs answered 429 (the worker full, or a robot's rate limit). */
  turnedAway: number;
  buckets: number[];
  count: number;
}

export async function runAutoscale(deps: Services, api: QstashApi, onlyKeys?: string[]): Promise<Decision[]> {
  const { config } = deps;
  const entries = FLOW_FAMILIES.flatMap(([cfgKey, family]) => {
    const fc = config.qstash.flow_control[cfgKey];
    return fc ? [{ family, fc }] : [];
  });
  if (onlyKeys) {
    const known = new Set(entries.map((e) => e.fc.key));
    const unknown = onlyKeys.filter((k) => !known.has(k));
    if (unknown.length) {
      const details = unknown.map((k) => ({
        path: `keys[${onlyKeys.indexOf(k)}]`,
        message: `unknown flow-control key "${k}"`,
      }));
      throw permanent(
        "unknown_flow_control_key",
        `not in qstash.flow_control: ${unknown.join(", ")}`,
        details,
      );
    }
  }
  const snap = await deps.metrics.snapshot();
  const decisions: Decision[] = [];
  for (const { family, fc } of entries) {
    if (onlyKeys && !onlyKeys.includes(fc.key)) continue;
    // undefined: nothing was published under the key yet, so nothing waits (its messages will carry their parallelism).
    const state = await api.flowControl(fc.key);
    const { health, keep } = await healthSince(deps, family, snap);
    const changedKey = `autoscale:changed:${fc.key}`;
    const ceilingKey = `autoscale:ceiling:${fc.key}`;
    const [lastChangeAt, ceiling] = await Promise.all([
      deps.store.get<number>(changedKey),
      deps.store.get<number>(ceilingKey),
    ]);
    let d = decide({
      key: fc.key,
      family,
      current: state?.parallelism || fc.parallelism || fc.min,
      waitList: state?.waitList ?? 0,
      active: state?.active ?? 0,
      known: state !== undefined,
      min: fc.min,
      max: fc.max,
      upThreshold: config.qstash.autoscale.scale_up_threshold,
      downThreshold: config.qstash.autoscale.scale_down_threshold,
      cooldownMs: cooldownOf(config.qstash.autoscale.cooldown),
      lastChangeAt: lastChangeAt ?? undefined,
      ceiling: ceiling ?? undefined,
      now: deps.now(),
      health,
      limits: {
        maxErrorRate: config.qstash.autoscale.max_error_rate,
        maxP95Ms: config.qstash.autoscale.max_latency_p95,
      },
    });
    if (d.to !== d.from) {
      // The move is recorded before it is made, and kept if the pin fails (QStash may have made it
      // and lost the answer): a redelivery finds the key in its cooldown instead of moving it
      // twice — a missed move is the safer mistake. NX: of two runs at once, one moves.
      // Kept for the cooldown, no longer: the cooldown reads it (a longer life held the key for twice
      // the cooldown, "moved by another run" when none had).
      const took = await deps.store.set(changedKey, deps.now(), {
        nx: true,
        ttlMs: Math.max(cooldownOf(config.qstash.autoscale.cooldown), 1_000),
      });
      if (!took) d = { ...d, to: d.from, reason: "another autoscale run moved this key just now: holding" };
      else if (!(await api.pin(fc.key, { parallelism: d.to })))
        d = { ...d, to: d.from, reason: "QStash refused to pin the key (it does not know it): holding" };
    }
    // Kept for a while (six cooldowns, at least half an hour): long enough to stop the sawtooth,
    // short enough for the worker's capacity to be tried again after it changed.
    if (d.ceiling !== undefined)
      await deps.store.set(ceilingKey, d.ceiling, {
        ttlMs: Math.max(config.qstash.autoscale.cooldown * 6, 30 * 60_000),
      });
    deps.metrics.set("parallelism", { key: fc.key }, d.to);
    deps.metrics.set("waitList", { key: fc.key }, d.inputs.wait_list);
    await deps.store.pushCapped(DECISIONS_KEY, d, 200, config.store.retention);
    // Only now: a run that failed before this point is judged again on the same jobs.
    await keep();
    deps.logger.info("autoscale decision", { key: d.key, from: d.from, to: d.to, reason: d.reason });
    decisions.push(d);
  }
  return decisions;
}

/**
 * Error rate, p95 and in-flight use of a family since the previous run (figures are cumulative),
 * and `keep`, which makes these figures the next run's baseline.
 */
async function healthSince(
  deps: Services,
  family: Family,
  snap: Awaited<ReturnType<Services["metrics"]["snapshot"]>>,
) {
  /** This family's jobs answered with `outcome`. */
  const count = (outcome: string) =>
    (snap.values.jobs ?? [])
      .filter((s) => s.labels.family === family && s.labels.outcome === outcome)
      .reduce((a, s) => a + s.value, 0);
  // Refused input (failed_permanent: a bad payload, a reused id) says nothing of the worker's health.
  const failed = count("failed_transient");
  const answered = count("succeeded") + failed;
  // This family's 429s (the worker full, or its robots' limits): another family's robot limit says
  // nothing of this key, and the worker being full shows in its in-flight use.
  const turnedAway = count("rate_limited");
  const h = snap.histograms.jobDuration?.find((s) => s.labels.family === family);
  const now: HealthBaseline = {
    answered,
    failed,
    turnedAway,
    buckets: h?.buckets ?? [],
    count: h?.count ?? 0,
  };
  // The baseline lives where the figures do: in the store when they are every instance's, in
  // this process when they are its own (another instance's baseline is not this one's).
  const key = `autoscale:health:${family}`;
  const own = deps.metrics.scope === "process" ? processBaselines(deps.metrics) : undefined;
  const prev = (own ? own.get(key) : await deps.store.get<HealthBaseline>(key)) ?? {
    answered: 0,
    failed: 0,
    turnedAway: 0,
    buckets: [],
    count: 0,
  };
  const dAnswered = Math.max(0, now.answered - prev.answered);
  const dFailed = Math.max(0, now.failed - prev.failed);
  const dCount = Math.max(0, now.count - prev.count);
  const dBuckets = now.buckets.map((b, i) => Math.max(0, b - (prev.buckets[i] ?? 0)));
  const p95 = dCount > 0 ? quantileFromBuckets(0.95, METRICS.jobDuration.buckets, dBuckets, dCount) : null;
  // Every family's jobs share the worker's concurrency; this autoscale run is not load.
  const inFlight = (snap.values.inFlight ?? [])
    .filter((s) => s.labels.family !== "autoscale")
    .reduce((a, s) => a + s.value, 0);
  return {
    health: {
      errorRate: dAnswered ? dFailed / dAnswered : 0,
      p95Ms: p95 === null ? null : p95 * 1000,
      inFlightUse: inFlight / deps.config.worker.concurrency,
      jobs: dAnswered,
      turnedAway: Math.max(0, now.turnedAway - (prev.turnedAway ?? 0)),
    },
    keep: async () =>
      void (own ? own.set(key, now) : await deps.store.set(key, now, { ttlMs: deps.config.store.retention })),
  };
}
