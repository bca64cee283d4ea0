/**
 * Every metric the worker exposes (README, "Operations"), defined once: both backends (prom-client in a
 * process, store-aggregated on Workers) and /stats read these definitions.
 */
export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricDef {
  name: string;
  help: string;
  type: MetricType;
  labels: readonly string[];
  buckets?: readonly number[];
}

/** Seconds; spans a no-op job (sub-ms) to a slow LLM call (minutes). */
export const DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
] as const;

export const JOB_OUTCOMES = [
  "succeeded",
  "failed_permanent",
  "failed_transient",
  "duplicate",
  "rate_limited",
  "unauthorized",
] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

export const METRICS = {
  jobs: {
    name: "alertagent_jobs_total",
    help: "Jobs answered, by family and outcome.",
    type: "counter",
    labels: ["family", "outcome"],
  },
  jobDuration: {
    name: "alertagent_job_duration_seconds",
    help: "Time from receiving a signed job to answering it.",
    type: "histogram",
    labels: ["family"],
    buckets: DURATION_BUCKETS,
  },
  inFlight: {
    name: "alertagent_jobs_in_flight",
    help: "Jobs being handled now.",
    type: "gauge",
    labels: ["family"],
  },
  retries: {
    name: "alertagent_retries_total",
    help: "Deliveries that QStash marked as retries (Upstash-Retried > 0).",
    type: "counter",
    labels: ["family"],
  },
  deadLetters: {
    name: "alertagent_dead_letters_total",
    help: "Messages QStash gave up on (failure callbacks received).",
    type: "counter",
    labels: ["family"],
  },
  notifications: {
    name: "alertagent_notifications_total",
    help: "Notification deliveries by channel, channel type and status.",
    type: "counter",
    labels: ["channel", "type", "status"],
  },
  notificationDuration: {
    name: "alertagent_notification_duration_seconds",
    help: "Time to deliver to one channel (all parts), by channel.",
    type: "histogram",
    labels: ["channel"],
    buckets: DURATION_BUCKETS,
  },
  analysis: {
    name: "alertagent_analysis_total",
    help: "Analyses by engine and outcome.",
    type: "counter",
    labels: ["engine", "outcome"],
  },
  engineUp: {
    name: "alertagent_engine_up",
    help: "1 when the analysis engine answered its last check.",
    type: "gauge",
    labels: ["engine"],
  },
  engineDuration: {
    name: "alertagent_engine_duration_seconds",
    help: "Time an analysis engine took to answer (successful or not), by engine.",
    type: "histogram",
    labels: ["engine"],
    buckets: DURATION_BUCKETS,
  },
  configSync: {
    name: "alertagent_config_sync_total",
    help: "Config-sync deliveries by target and outcome.",
    type: "counter",
    labels: ["target", "outcome"],
  },
  configVersion: {
    name: "alertagent_config_version",
    help: "Version of the config last applied to a target.",
    type: "gauge",
    labels: ["target"],
  },
  parallelism: {
    name: "alertagent_autoscale_parallelism",
    help: "Flow-control parallelism set by autoscale.",
    type: "gauge",
    labels: ["key"],
  },
  waitList: {
    name: "alertagent_flow_control_wait_list",
    help: "Messages waiting in QStash's wait list for a flow-control key (read by autoscale).",
    type: "gauge",
    labels: ["key"],
  },
  info: {
    name: "alertagent_worker_info",
    help: "Worker identity; always 1.",
    type: "gauge",
    labels: ["name", "type", "version", "runtime"],
  },
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;

/** A metric's definition, widened so optional fields (buckets) can be read on any of them. */
export const defOf = (key: MetricKey): MetricDef => METRICS[key];
export type Labels = Record<string, string>;

/** The histogram bucket an observation falls in (first bound ≥ value); -1 past the last (+Inf). */
export function bucketOf(bounds: readonly number[], value: number): number {
  for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]) return i;
  return -1;
}
