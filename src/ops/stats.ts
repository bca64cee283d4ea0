/**
 * /stats: per-family job figures and per channel/engine/target counts, computed from a
 * metrics snapshot (so it shows the same truth as /metrics, process-wide or store-wide).
 */
import { FAMILIES } from "../config/schema.ts";
import { METRICS } from "../telemetry/metric-defs.ts";
import { type MetricsSnapshot, quantileFromBuckets, type Sample } from "../telemetry/metrics.ts";

export interface FamilyStats {
  received: number;
  succeeded: number;
  failed: number;
  failed_permanent: number;
  failed_transient: number;
  rate_limited: number;
  unauthorized: number;
  retried: number;
  duplicates: number;
  dead_letters: number;
  in_flight: number;
  error_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
}

const sumWhere = (samples: Sample[] | undefined, match: Record<string, string>) =>
  (samples ?? [])
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

const round = (v: number | null) => (v === null ? null : Math.round(v * 1000 * 100) / 100);

export function buildStats(snap: MetricsSnapshot) {
  const families: Record<string, FamilyStats> = {};
  const jobs = snap.values.jobs;
  for (const family of FAMILIES) {
    const by = (outcome: string) => sumWhere(jobs, { family, outcome });
    const succeeded = by("succeeded");
    const failed_permanent = by("failed_permanent");
    const failed_transient = by("failed_transient");
    // A request that is not QStash's is not a job received (README, "Security"): it counts only as unauthorized.
    const received = sumWhere(jobs, { family }) - by("unauthorized");
    const h = snap.histograms.jobDuration?.find((s) => s.labels.family === family);
    const bounds = METRICS.jobDuration.buckets;
    const q = (p: number) => (h ? round(quantileFromBuckets(p, bounds, h.buckets, h.count)) : null);
    const answered = succeeded + failed_permanent + failed_transient;
    families[family] = {
      received,
      succeeded,
      failed: failed_permanent + failed_transient,
      failed_permanent,
      failed_transient,
      rate_limited: by("rate_limited"),
      unauthorized: by("unauthorized"),
      retried: sumWhere(snap.values.retries, { family }),
      duplicates: by("duplicate"),
      dead_letters: sumWhere(snap.values.deadLetters, { family }),
      in_flight: sumWhere(snap.values.inFlight, { family }),
      error_rate: answered
        ? Math.round(((failed_permanent + failed_transient) / answered) * 10_000) / 10_000
        : 0,
      latency_ms: { p50: q(0.5), p95: q(0.95), p99: q(0.99) },
    };
  }
  const group = (samples: Sample[] | undefined, key: string, sub: string) => {
    const out: Record<string, Record<string, number>> = {};
    for (const s of samples ?? []) {
      const k = s.labels[key];
      out[k] ??= {};
      out[k][s.labels[sub]] = (out[k][s.labels[sub]] ?? 0) + s.value;
    }
    return out;
  };
  return {
    families,
    channels: group(snap.values.notifications, "channel", "status"),
    engines: group(snap.values.analysis, "engine", "outcome"),
    targets: group(snap.values.configSync, "target", "outcome"),
  };
}
