/**
 * The metrics recorder the app writes to, and the snapshot /stats, /metrics and the
 * dashboard read. Two backends implement it: PromMetrics (prom-client, one process: the
 * binary, Deno, bun run) and StoreMetrics (aggregated in the store: Workers isolates).
 */
import type { Labels, MetricKey } from "./metric-defs.ts";

export interface Sample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  /** Cumulative counts per bucket upper bound (same order as the definition's buckets). */
  buckets: number[];
  sum: number;
  count: number;
}

export interface MetricsSnapshot {
  values: Partial<Record<MetricKey, Sample[]>>;
  histograms: Partial<Record<MetricKey, HistogramSample[]>>;
}

/** The process's own figures, where the runtime has them (the binary, Deno; not Workers). */
export interface ProcessFigures {
  cpu_seconds: number;
  resident_bytes: number;
  heap_used_bytes: number;
  event_loop_lag_p99_seconds: number;
}

export interface Metrics {
  /** Where the figures come from: this process, or every instance via the store. */
  readonly scope: "process" | "store";
  /** CPU, memory, heap and event-loop lag of this process; undefined where none are collected. */
  process?(): Promise<ProcessFigures | undefined>;
  inc(metric: MetricKey, labels: Labels, by?: number): void;
  /** Adds to a gauge (in-flight +1/-1). */
  add(metric: MetricKey, labels: Labels, delta: number): void;
  set(metric: MetricKey, labels: Labels, value: number): void;
  /**
   * The gauge's one series of this process (the info series, whose labels a reload may change):
   * the others are dropped; where the figures are every instance's, each keeps its own (a set).
   */
  setOnly(metric: MetricKey, labels: Labels, value: number): void;
  observe(metric: MetricKey, labels: Labels, value: number): void;
  /** Writes anything buffered (StoreMetrics); undefined where recording is immediate. */
  flush(): Promise<void> | undefined;
  snapshot(): Promise<MetricsSnapshot>;
  /** Prometheus text exposition format. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Estimates a quantile from cumulative histogram buckets, as Prometheus' histogram_quantile does. */
export function quantileFromBuckets(
  q: number,
  bounds: readonly number[],
  cumulative: number[],
  count: number,
): number | null {
  if (count === 0) return null;
  const rank = q * count;
  let prevBound = 0;
  let prevCount = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative[i] >= rank) {
      const inBucket = cumulative[i] - prevCount;
      const frac = inBucket > 0 ? (rank - prevCount) / inBucket : 1;
      return prevBound + (bounds[i] - prevBound) * frac;
    }
    prevBound = bounds[i];
    prevCount = cumulative[i];
  }
  return bounds[bounds.length - 1];
}
