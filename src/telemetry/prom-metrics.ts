/**
 * Metrics in one process (the binary, Deno, bun run), exposed through prom-client's Registry:
 * its text format and content type, as for its own metric classes. The series are kept here,
 * one per label set under a string key made from the definition's label names, because
 * prom-client's Counter/Gauge/Histogram validate and hash the label object on every call —
 * five calls per job, a measurable share of a no-op job. Imported only by those entries:
 * prom-client needs node:cluster and friends, which Workers do not have.
 */
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { bucketOf, defOf, type Labels, METRICS, type MetricDef, type MetricKey } from "./metric-defs.ts";
import type { HistogramSample, Metrics, MetricsSnapshot, ProcessFigures } from "./metrics.ts";

interface Series {
  labels: Labels;
  /** Counter and gauge value; a histogram's count. */
  value: number;
  /** Histogram only: observations per bucket (not cumulative), then the sum. */
  perBucket?: number[];
  sum: number;
}

/** prom-client's shape for one exported value (what Registry.getMetricsAsString reads). */
interface Exported {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  sharedLabels?: Labels;
}

/** One metric and its series; registered with prom-client's Registry, which calls get(). */
class Family {
  readonly series = new Map<string, Series>();
  readonly name: string;
  readonly help: string;
  readonly type: MetricDef["type"];
  readonly aggregator = "sum";
  private readonly bounds: readonly number[];

  constructor(readonly def: MetricDef) {
    this.name = def.name;
    this.help = def.help;
    this.type = def.type;
    this.bounds = def.buckets ?? [];
  }

  at(labels: Labels): Series {
    const names = this.def.labels;
    let key = names.length === 1 ? (labels[names[0]] ?? "") : "";
    if (names.length > 1) for (const n of names) key += `${labels[n] ?? ""}\u0000`;
    let s = this.series.get(key);
    if (!s) {
      const own: Labels = {};
      for (const n of names) if (labels[n] !== undefined) own[n] = labels[n];
      s = { labels: own, value: 0, sum: 0 };
      if (this.type === "histogram") s.perBucket = this.bounds.map(() => 0);
      this.series.set(key, s);
    }
    return s;
  }

  observe(labels: Labels, v: number): void {
    const s = this.at(labels);
    const i = bucketOf(this.bounds, v);
    if (i >= 0) (s.perBucket as number[])[i]++;
    s.value++;
    s.sum += v;
  }

  /** Cumulative bucket counts, in the order of the definition's bounds. */
  cumulative(s: Series): number[] {
    let acc = 0;
    return (s.perBucket ?? []).map((n) => (acc += n));
  }

  async get(): Promise<{ name: string; help: string; type: string; values: Exported[]; aggregator: string }> {
    const values: Exported[] = [];
    for (const s of this.series.values()) {
      if (this.type !== "histogram") {
        values.push({ labels: s.labels, value: s.value });
        continue;
      }
      const bucket = `${this.name}_bucket`;
      const counts = this.cumulative(s);
      for (let i = 0; i < counts.length; i++)
        values.push({
          labels: { le: this.bounds[i] },
          value: counts[i],
          metricName: bucket,
          sharedLabels: s.labels,
        });
      values.push(
        { labels: { le: "+Inf" }, value: s.value, metricName: bucket, sharedLabels: s.labels },
        { labels: {}, value: s.sum, metricName: `${this.name}_sum`, sharedLabels: s.labels },
        { labels: {}, value: s.value, metricName: `${this.name}_count`, sharedLabels: s.labels },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

const GAUGES_NAMED_TOTAL = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** prom-client's process figures that it reads from /proc/self on Linux. */
const PROC_ONLY = [
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
];

export class PromMetrics implements Metrics {
  readonly scope = "process" as const;
  readonly registry = new Registry();
  private readonly byKey = new Map<MetricKey, Family>();

  /**
   * @param opts.process also collect prom-client's process metrics (CPU, RSS, heap, event-loop
   * lag: what the old worker watched), for an entry that owns the process (binary, Deno).
   * @param opts.rss the resident set size, for a runtime that keeps /proc/self from prom-client
   * (Deno allows it only with --allow-all): RSS is taken from it, and the figures only /proc has
   * (open and max fds, virtual memory, heap segment) are left out rather than shown as 0.
   */
  constructor(private readonly opts: { process?: boolean; rss?: () => number } = {}) {
    if (opts.process) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters fail `promtool check metrics`; the same counts are there by type
      // (nodejs_active_handles{type}, …) without the suffix.
      for (const name of GAUGES_NAMED_TOTAL) this.registry.removeSingleMetric(name);
    }
    const rss = opts.rss;
    if (opts.process && rss) {
      for (const name of PROC_ONLY) this.registry.removeSingleMetric(name);
      this.registry.registerMetric(
        new Gauge({
          name: "process_resident_memory_bytes",
          help: "Resident memory size in bytes.",
          registers: [],
          collect() {
            this.set(rss());
          },
        }),
      );
    }
    for (const key of Object.keys(METRICS) as MetricKey[]) {
      const family = new Family(defOf(key));
      // The registry only reads name, help, type and get() (see Family).
      this.registry.registerMetric(family as unknown as Parameters<Registry["registerMetric"]>[0]);
      this.byKey.set(key, family);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  inc(metric: MetricKey, labels: Labels, by = 1): void {
    if (by < 0) throw new Error(`${defOf(metric).name}: a counter cannot go down (inc by ${by})`);
    (this.byKey.get(metric) as Family).at(labels).value += by;
  }

  add(metric: MetricKey, labels: Labels, delta: number): void {
    (this.byKey.get(metric) as Family).at(labels).value += delta;
  }

  set(metric: MetricKey, labels: Labels, value: number): void {
    (this.byKey.get(metric) as Family).at(labels).value = value;
  }

  setOnly(metric: MetricKey, labels: Labels, value: number): void {
    (this.byKey.get(metric) as Family).series.clear();
    this.set(metric, labels, value);
  }

  observe(metric: MetricKey, labels: Labels, value: number): void {
    (this.byKey.get(metric) as Family).observe(labels, value);
  }

  flush(): undefined {
    return undefined;
  }

  async process(): Promise<ProcessFigures | undefined> {
    if (!this.opts.process) return undefined;
    // A whole collection: prom-client fills these in hooks of their sibling metrics (the CPU
    // total in the user-CPU one's), so one metric's get() shows the last scrape's figure, or 0.
    const all = await this.registry.getMetricsAsJSON();
    const value = (name: string) =>
      all.find((m) => m.name === name)?.values.find((v) => !v.labels.space)?.value ?? 0;
    return {
      cpu_seconds: value("process_cpu_seconds_total"),
      resident_bytes: value("process_resident_memory_bytes"),
      heap_used_bytes: value("nodejs_heap_size_used_bytes"),
      event_loop_lag_p99_seconds: value("nodejs_eventloop_lag_p99_seconds"),
    };
  }

  async snapshot(): Promise<MetricsSnapshot> {
    const snap: MetricsSnapshot = { values: {}, histograms: {} };
    for (const [key, f] of this.byKey) {
      const series = [...f.series.values()];
      if (f.type === "histogram") {
        snap.histograms[key] = series.map(
          (s) =>
            ({
              labels: s.labels,
              buckets: f.cumulative(s),
              sum: s.sum,
              count: s.value,
            }) satisfies HistogramSample,
        );
      } else snap.values[key] = series.map((s) => ({ labels: s.labels, value: s.value }));
    }
    return snap;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
