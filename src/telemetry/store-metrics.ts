/**
 * Metrics aggregated in the store, so every Workers isolate adds to one set of figures.
 * Recording is buffered in memory and written by `flush()` (the Workers entry calls it
 * with ctx.waitUntil after each response). Each metric is one store hash; a field is a
 * label set (JSON), with `#b<i>`, `#sum`, `#count` suffixes for histogram parts.
 *
 * prom-client cannot run on Workers (it needs node:cluster) nor load aggregated
 * histograms, so the exposition here is written out by `renderText`.
 */
import type { Store } from "../store/store.ts";
import { bucketOf, defOf, type Labels, METRICS, type MetricKey } from "./metric-defs.ts";
import type { HistogramSample, Metrics, MetricsSnapshot } from "./metrics.ts";

const PREFIX = "metrics:";
/** A gauge this isolate keeps setting to the same value is written again after this long. */
const GAUGE_REFRESH_MS = 60_000;

export class StoreMetrics implements Metrics {
  readonly scope = "store" as const;
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";
  private pending = new Map<string, Map<string, number>>();
  /** Gauges set (not added) are absolute; kept per isolate and written as-is. */
  private sets = new Map<string, Map<string, number>>();
  /** What this isolate last wrote of each gauge, and when. */
  private written = new Map<string, { value: number; at: number }>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  private bump(metric: string, field: string, by: number): void {
    const m = fieldsOf(this.pending, metric);
    m.set(field, (m.get(field) ?? 0) + by);
  }

  /** Series declared with inc(…, 0): shown at 0 until the store has them, with no write. */
  private declared = new Map<string, Set<string>>();

  inc(metric: MetricKey, labels: Labels, by = 1): void {
    if (by === 0) {
      const d = this.declared.get(metric) ?? new Set<string>();
      this.declared.set(metric, d.add(key(labels)));
      return;
    }
    this.bump(metric, key(labels), by);
  }

  /** As inc: a delta of 0 declares the series (a gauge whose +1 and -1 cancel in a flush writes nothing). */
  add(metric: MetricKey, labels: Labels, delta: number): void {
    this.inc(metric, labels, delta);
  }

  set(metric: MetricKey, labels: Labels, value: number): void {
    fieldsOf(this.sets, metric).set(key(labels), value);
  }

  /** Every instance has its own info series in the store: a plain set. */
  setOnly(metric: MetricKey, labels: Labels, value: number): void {
    this.set(metric, labels, value);
  }

  observe(metric: MetricKey, labels: Labels, value: number): void {
    const id = key(labels);
    const bounds = defOf(metric).buckets ?? [];
    const i = bucketOf(bounds, value);
    if (i >= 0) this.bump(metric, `${id}#b${i}`, 1);
    this.bump(metric, `${id}#sum`, value);
    this.bump(metric, `${id}#count`, 1);
  }

  async flush(): Promise<void> {
    const pending = this.pending;
    const sets = this.sets;
    this.pending = new Map();
    this.sets = new Map();
    const writes: Promise<unknown>[] = [];
    for (const [metric, fields] of pending) {
      // A write that failed (the store down) is kept for the next flush: an outage's errors count.
      for (const [field, by] of fields)
        if (by !== 0)
          writes.push(
            this.store.hincr(PREFIX + metric, field, by).catch((e) => {
              this.bump(metric, field, by);
              throw e;
            }),
          );
    }
    const now = this.now();
    for (const [metric, fields] of sets) {
      for (const [field, value] of fields) {
        // Written when this isolate's value changes, and at least every GAUGE_REFRESH_MS: most
        // jobs set a gauge to what it already was (engineUp on every analysis), and each write is
        // two round trips, which on Workers are subrequests (BENCHMARKS.md, "CPU per job on workerd").
        const id = `${metric}\n${field}`;
        const last = this.written.get(id);
        if (last && last.value === value && now - last.at < GAUGE_REFRESH_MS) continue;
        // An absolute gauge: add the difference from what the store holds.
        writes.push(
          this.store
            .hgetall(PREFIX + metric)
            .then((cur) => this.store.hincr(PREFIX + metric, field, value - (cur[field] ?? 0)))
            .then(() => this.written.set(id, { value, at: now }))
            .catch((e) => {
              const later = fieldsOf(this.sets, metric);
              if (!later.has(field)) later.set(field, value);
              throw e;
            }),
        );
      }
    }
    await Promise.all(writes);
  }

  async snapshot(): Promise<MetricsSnapshot> {
    const snap: MetricsSnapshot = { values: {}, histograms: {} };
    const keys = Object.keys(METRICS) as MetricKey[];
    const all = await Promise.all(keys.map((k) => this.store.hgetall(PREFIX + k)));
    keys.forEach((metric, idx) => {
      const fields = all[idx];
      const def = defOf(metric);
      if (def.type !== "histogram") {
        const zeros = Object.fromEntries([...(this.declared.get(metric) ?? [])].map((f) => [f, 0]));
        snap.values[metric] = Object.entries({ ...zeros, ...fields }).map(([f, value]) => ({
          labels: JSON.parse(f) as Labels,
          value,
        }));
        return;
      }
      const bounds = def.buckets ?? [];
      const series = new Map<string, HistogramSample>();
      for (const [f, value] of Object.entries(fields)) {
        const [id, part] = f.split("#");
        let s = series.get(id);
        if (!s) {
          s = { labels: JSON.parse(id) as Labels, buckets: bounds.map(() => 0), sum: 0, count: 0 };
          series.set(id, s);
        }
        if (part === "sum") s.sum = value;
        else if (part === "count") s.count = value;
        else s.buckets[Number(part.slice(1))] = value;
      }
      // Stored per bucket; the exposition wants cumulative counts.
      for (const s of series.values())
        for (let i = 1; i < s.buckets.length; i++) s.buckets[i] += s.buckets[i - 1];
      snap.histograms[metric] = [...series.values()];
    });
    return snap;
  }

  async render(): Promise<string> {
    return renderText(await this.snapshot());
  }
}

function key(labels: Labels): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))));
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const fmtLabels = (l: Labels, extra?: [string, string]) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

/** Prometheus text exposition (version 0.0.4) of a snapshot. */
export function renderText(snap: MetricsSnapshot): string {
  const out: string[] = [];
  for (const metric of Object.keys(METRICS) as MetricKey[]) {
    const def = defOf(metric);
    out.push(`# HELP ${def.name} ${def.help}`, `# TYPE ${def.name} ${def.type}`);
    if (def.type !== "histogram") {
      for (const s of snap.values[metric] ?? []) out.push(`${def.name}${fmtLabels(s.labels)} ${s.value}`);
      continue;
    }
    const bounds = def.buckets ?? [];
    for (const s of snap.histograms[metric] ?? []) {
      for (const [i, b] of bounds.entries())
        out.push(`${def.name}_bucket${fmtLabels(s.labels, ["le", String(b)])} ${s.buckets[i]}`);
      out.push(`${def.name}_bucket${fmtLabels(s.labels, ["le", "+Inf"])} ${s.count}`);
      out.push(
        `${def.name}_sum${fmtLabels(s.labels)} ${s.sum}`,
        `${def.name}_count${fmtLabels(s.labels)} ${s.count}`,
      );
    }
  }
  return `${out.join("\n")}\n`;
}

function fieldsOf(map: Map<string, Map<string, number>>, metric: string): Map<string, number> {
  const m = map.get(metric) ?? new Map<string, number>();
  map.set(metric, m);
  return m;
}
