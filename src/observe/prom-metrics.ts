/**
 * Metrics in one process with prom-client (the binary, Deno, bun run). Imported only by
 * those entries: prom-client needs node:cluster and friends, which Workers do not have.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { defOf, type Labels, METRICS, type MetricDef, type MetricKey } from "./metric-defs.ts";
import type { HistogramSample, Metrics, MetricsSnapshot, Sample } from "./metrics.ts";

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class PromMetrics implements Metrics {
  readonly scope = "process" as const;
  readonly registry = new Registry();
  private readonly byKey = new Map<MetricKey, AnyMetric>();

  constructor() {
    for (const [key, def] of Object.entries(METRICS) as [MetricKey, MetricDef][]) {
      const opts = {
        name: def.name,
        help: def.help,
        labelNames: [...def.labels],
        registers: [this.registry],
      };
      const m =
        def.type === "counter"
          ? new Counter(opts)
          : def.type === "gauge"
            ? new Gauge(opts)
            : new Histogram({ ...opts, buckets: [...(def.buckets ?? [])] });
      this.byKey.set(key, m);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  inc(metric: MetricKey, labels: Labels, by = 1): void {
    (this.byKey.get(metric) as Counter<string>).inc(labels, by);
  }

  add(metric: MetricKey, labels: Labels, delta: number): void {
    (this.byKey.get(metric) as Gauge<string>).inc(labels, delta);
  }

  set(metric: MetricKey, labels: Labels, value: number): void {
    (this.byKey.get(metric) as Gauge<string>).set(labels, value);
  }

  observe(metric: MetricKey, labels: Labels, value: number): void {
    (this.byKey.get(metric) as Histogram<string>).observe(labels, value);
  }

  async flush(): Promise<void> {}

  async snapshot(): Promise<MetricsSnapshot> {
    const snap: MetricsSnapshot = { values: {}, histograms: {} };
    for (const [key, m] of this.byKey) {
      const data = await m.get();
      if (METRICS[key].type !== "histogram") {
        snap.values[key] = data.values.map(
          (v) => ({ labels: v.labels as Labels, value: v.value }) satisfies Sample,
        );
        continue;
      }
      const series = new Map<string, HistogramSample>();
      const bounds = defOf(key).buckets ?? [];
      for (const v of data.values as ((typeof data.values)[number] & { metricName?: string })[]) {
        const { le, ...labels } = v.labels as Labels & { le?: string | number };
        const id = JSON.stringify(labels);
        let s = series.get(id);
        if (!s) {
          s = { labels: labels as Labels, buckets: bounds.map(() => 0), sum: 0, count: 0 };
          series.set(id, s);
        }
        if (v.metricName?.endsWith("_bucket")) {
          const i = bounds.indexOf(Number(le));
          if (i >= 0) s.buckets[i] = v.value;
        } else if (v.metricName?.endsWith("_sum")) s.sum = v.value;
        else if (v.metricName?.endsWith("_count")) s.count = v.value;
      }
      snap.histograms[key] = [...series.values()];
    }
    return snap;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
