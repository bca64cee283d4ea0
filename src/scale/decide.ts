/**
 * The autoscale decision (README, "Push-model scaling"): pure data in, one decision
 * out, so every rule can be tested without QStash. QStash's flow control decides how many
 * requests are in flight; this moves a key's parallelism within [min, max]:
 *
 * - never two moves of one key within `cooldown`;
 * - a key QStash does not know yet (nothing published under it) is left alone;
 * - down when the worker is unhealthy (error rate or p95 latency over its limit, from at least
 *   MIN_JOBS jobs since the last run) — more parallelism would only make it worse; jobs refused as
 *   bad input are not ill health;
 * - down by the share of the family's jobs turned away with 429 since the last run (full, or a
 *   robot's limit; at most halving): QStash delivered more than the worker takes, and each 429
 *   spends one of the message's retries; later scale-ups stop below that parallelism for a while;
 * - up when the wait list per unit of parallelism is over `scale_up_threshold` and the worker
 *   has room (in-flight use, every family, under 90% of its concurrency) and is neither failing
 *   nor slow (from any number of jobs: scaling up into a failing or slow downstream only adds to it);
 * - down by one when it is under `scale_down_threshold`, unless every slot is busy;
 * - a current value outside [min, max] is brought back inside first.
 */
import { isoAt } from "../iso-time.ts";

export interface DecisionInput {
  key: string;
  family: string;
  /** The key's parallelism now (what QStash reports). */
  current: number;
  waitList: number;
  /** Messages of the key being delivered now. */
  active: number;
  /** Whether QStash knows the key (it appears with the first message published under it). */
  known: boolean;
  min: number;
  max: number;
  upThreshold: number;
  downThreshold: number;
  cooldownMs: number;
  /** When this key was last changed (ms), if ever. */
  lastChangeAt?: number;
  /** A parallelism that made the worker turn jobs away lately: scaling up stops below it. */
  ceiling?: number;
  now: number;
  health: { errorRate: number; p95Ms: number | null; inFlightUse: number; jobs: number; turnedAway: number };
  limits: { maxErrorRate: number; maxP95Ms: number };
}

export interface Decision {
  key: string;
  family: string;
  from: number;
  to: number;
  reason: string;
  at: string;
  /** Set when the worker turned jobs away at `from`: a ceiling for later scale-ups (run.ts keeps it). */
  ceiling?: number;
  inputs: {
    wait_list: number;
    backlog_per_unit: number;
    error_rate: number;
    p95_ms: number | null;
    in_flight_use: number;
    jobs: number;
    turned_away: number;
  };
}

/** Fewer jobs than this since the last run say too little to back off on (one failure of one job is 100%). */
export const MIN_JOBS = 5;

const r2 = (n: number) => Math.round(n * 100) / 100;

export function decide(i: DecisionInput): Decision {
  const perUnit = i.waitList / Math.max(1, i.current);
  const base = {
    key: i.key,
    family: i.family,
    from: i.current,
    at: isoAt(i.now),
    inputs: {
      wait_list: i.waitList,
      backlog_per_unit: r2(perUnit),
      error_rate: r2(i.health.errorRate),
      p95_ms: i.health.p95Ms === null ? null : Math.round(i.health.p95Ms),
      in_flight_use: r2(i.health.inFlightUse),
      jobs: i.health.jobs,
      turned_away: i.health.turnedAway,
    },
  };
  const to = (n: number, reason: string): Decision => ({ ...base, to: n, reason });
  const clamp = (n: number) => Math.min(i.max, Math.max(i.min, n));

  if (!i.known) return to(i.current, "QStash has no messages under this key yet: holding");
  if (i.current < i.min || i.current > i.max)
    return to(clamp(i.current), `outside [${i.min}, ${i.max}]: brought back within bounds`);
  if (i.lastChangeAt !== undefined && i.now - i.lastChangeAt < i.cooldownMs) {
    const left = Math.ceil((i.cooldownMs - (i.now - i.lastChangeAt)) / 1000);
    return to(
      i.current,
      `cooldown: last change ${Math.round((i.now - i.lastChangeAt) / 1000)}s ago, ${left}s left`,
    );
  }
  const { errorRate, p95Ms, inFlightUse } = i.health;
  if (i.health.jobs >= MIN_JOBS && errorRate > i.limits.maxErrorRate) {
    return to(
      clamp(Math.floor(i.current / 2)),
      `unhealthy: error rate ${r2(errorRate)} > ${i.limits.maxErrorRate}; backing off`,
    );
  }
  if (i.health.jobs >= MIN_JOBS && p95Ms !== null && p95Ms > i.limits.maxP95Ms) {
    return to(
      clamp(Math.floor(i.current / 2)),
      `unhealthy: p95 latency ${Math.round(p95Ms)} ms > ${i.limits.maxP95Ms} ms; backing off`,
    );
  }
  const { jobs, turnedAway } = i.health;
  if (turnedAway > 0 && i.current > i.min) {
    // By the share turned away, at most halving in one run, at least one step.
    const share = jobs / (jobs + turnedAway);
    const next = Math.max(Math.floor(i.current / 2), Math.floor(i.current * share));
    return {
      ...to(
        clamp(Math.min(i.current - 1, next)),
        `the worker turned ${turnedAway} of ${jobs + turnedAway} ${i.family} jobs away (429) since the last run: more than it takes; backing off`,
      ),
      ceiling: i.current,
    };
  }
  if (perUnit > i.upThreshold) {
    if (inFlightUse >= 0.9)
      return to(
        i.current,
        `backlog ${r2(perUnit)}/unit but the worker is ${Math.round(inFlightUse * 100)}% busy: holding`,
      );
    if (turnedAway > 0)
      return to(
        i.current,
        `backlog ${r2(perUnit)}/unit but the worker turned ${turnedAway} jobs away (429) since the last run: holding`,
      );
    if (jobs > 0 && errorRate > i.limits.maxErrorRate)
      return to(
        i.current,
        `backlog ${r2(perUnit)}/unit but ${jobs < MIN_JOBS ? `${jobs} jobs` : "jobs"} failed at rate ${r2(errorRate)} > ${i.limits.maxErrorRate} since the last run: holding`,
      );
    if (p95Ms !== null && p95Ms > i.limits.maxP95Ms)
      return to(
        i.current,
        `backlog ${r2(perUnit)}/unit but p95 latency ${Math.round(p95Ms)} ms > ${i.limits.maxP95Ms} ms since the last run: holding`,
      );
    // Below a parallelism that lately made the worker turn jobs away (the sawtooth: up, 429s, down).
    const top = i.ceiling !== undefined ? Math.min(i.max, i.ceiling - 1) : i.max;
    const next = Math.min(top, clamp(Math.ceil(i.current * (1 + Math.min(1, perUnit)))));
    if (next <= i.current)
      return to(
        i.current,
        top < i.max
          ? `backlog ${r2(perUnit)}/unit, but ${i.ceiling} turned jobs away lately: holding below it`
          : `backlog ${r2(perUnit)}/unit, already at max ${i.max}`,
      );
    return to(next, `backlog ${r2(perUnit)}/unit > ${i.upThreshold}: scaling up`);
  }
  if (perUnit < i.downThreshold && i.current > i.min) {
    if (i.active >= i.current) return to(i.current, `all ${i.current} slots busy: holding`);
    return to(i.current - 1, `backlog ${r2(perUnit)}/unit < ${i.downThreshold}: scaling down`);
  }
  return to(i.current, `backlog ${r2(perUnit)}/unit within [${i.downThreshold}, ${i.upThreshold}]: holding`);
}
