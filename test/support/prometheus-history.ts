/**
 * A real Prometheus holding hours of made-up history, for the evidence queries (docs/analysis.md, "Evidence from Prometheus").
 *
 * startPrometheusWithHistory() writes OpenMetrics text for the scenarios below (timestamps
 * relative to Date.now(), last sample 30 s before `now`), turns it into TSDB blocks with
 * Debian's `promtool tsdb create-blocks-from openmetrics`, then starts Debian's `prometheus`
 * on that data dir (no scrape targets) on a free loopback port, and waits until /-/ready and
 * until a query at `now` sees every scenario. stop() ends the process by its pid and removes
 * the temp dir. A missing binary fails with the apt-get line — never skipped.
 *
 * The known truths are in EVIDENCE (all "at now"): tests assert within ±10%.
 * Scenarios and truths are described in test/fixtures/evidence/README.md.
 *
 * Staleness: an instant query only sees a sample from the last 5 min (--query.lookback-delta),
 * so query at `now` (pass `time`) or within ~4 min of start-up; nothing is written after that.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, runTool, tempDir } from "./peers.ts";

export const PROMETHEUS_INSTALL_HINT = "apt-get install prometheus";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** What the history holds; every number is exact in the generated data. */
export const EVIDENCE = {
  filesystem: {
    labels: {
      instance: "db-1:9100",
      job: "node",
      mountpoint: "/var/lib/mysql",
      device: "/dev/nvme1n1",
      fstype: "ext4",
    },
    sizeBytes: 500 * GiB,
    /** Constant over the whole history: avail drops by this much every second. */
    fillBytesPerSecond: 3_000_000,
    /** avail reaches 0 this long after `now` (1.5 h). */
    secondsToFull: 5400,
    /** fillBytesPerSecond × secondsToFull. */
    availBytesAtNow: 3_000_000 * 5400,
  },
  /** A second, steady filesystem on the same host (a distractor: never fills). */
  rootFilesystem: {
    labels: { instance: "db-1:9100", job: "node", mountpoint: "/", device: "/dev/nvme0n1p1", fstype: "ext4" },
    sizeBytes: 50 * GiB,
    availBytes: 31 * GiB,
  },
  oom: {
    labels: { namespace: "shop", pod: "checkout-7d9c5b6f8-x2k4p", container: "checkout" },
    node: "node-3",
    memoryLimitBytes: 512 * MiB,
    /** OOMKilled at now-55m, -45m, …, -5m: the restart counter goes 0 → 6. */
    restartsLastHour: 6,
    restartsTotal: 6,
    killsSecondsAgo: [3300, 2700, 2100, 1500, 900, 300],
    /** working set climbs to this fraction of the limit before each kill. */
    peakWorkingSetRatio: 0.99,
    /** working set right after a restart. */
    restartWorkingSetBytes: 180 * MiB,
  },
  replication: {
    /** Lag 0 until now-2h, then +1800 s every hour (0.5 s/s): 3600 s at now. */
    growing: {
      labels: { instance: "db-2:9104", job: "mysql", master_host: "db-1" },
      slopeSecondsPerHour: 1800,
      growingSinceSecondsAgo: 7200,
      lagSecondsAtNow: 3600,
    },
    /** Lag grew +600 s/h from now-2h40m to now-40m, then stayed at 1200 s (flat for the last 40 min). */
    stalled: {
      labels: { instance: "db-3:9104", job: "mysql", master_host: "db-1" },
      slopeSecondsPerHourWhileGrowing: 600,
      grewFromSecondsAgo: 9600,
      flatSinceSecondsAgo: 2400,
      lagSeconds: 1200,
    },
    /** A healthy replica (distractor): lag 0 throughout. */
    healthy: { labels: { instance: "db-4:9104", job: "mysql", master_host: "db-1" } },
  },
  certificate: {
    labels: { instance: "https://shop.example.com", job: "blackbox" },
    /** probe_ssl_earliest_cert_expiry = now + 5 days (unix seconds, constant). */
    secondsToExpiry: 5 * 86400,
  },
  /** 4 CPUs, each second per CPU: iowait 0.6, user 0.2, system 0.1, idle 0.1 (busy 90%). */
  cpu: {
    labels: { instance: "web-1:9100", job: "node" },
    cpus: 4,
    secondsPerSecond: { idle: 0.1, user: 0.2, system: 0.1, iowait: 0.6 },
    busyRatio: 0.9,
    topMode: "iowait",
    topModeRatio: 0.6,
    load5: 6,
  },
  /** 16 GiB; available falls 1 GiB an hour to 0.5 GiB at now; the OOM killer struck twice in the last hour. */
  memory: {
    labels: { instance: "cache-1:9100", job: "node" },
    totalBytes: 16 * GiB,
    availableBytesAtNow: 0.5 * GiB,
    fallBytesPerHour: 1 * GiB,
    oomKillsSecondsAgo: [2400, 600],
  },
  /** Up until now−20m, then down (scrapes fail, each taking its 10 s timeout). */
  target: {
    labels: { instance: "api-1:8080", job: "api" },
    downSinceSecondsAgo: 1200,
    scrapeTimeoutSeconds: 10,
    /** A target of the same job that stayed up (a distractor, and the zero case). */
    healthy: { instance: "api-2:8080", job: "api" },
  },
} as const;

export interface HistoryOptions {
  /** The "now" the history ends at (ms since epoch); default Date.now(). */
  now?: number;
  /** Hours of history; default 8. */
  hours?: number;
  /** Seconds between samples; default 15. */
  stepSeconds?: number;
  /** The last sample is this long before `now`; default 30 s. */
  endSecondsBeforeNow?: number;
}

export interface History {
  /** OpenMetrics text (ends with `# EOF`). */
  text: string;
  /** ms since epoch. */
  now: number;
  /** First and last sample, ms since epoch. */
  start: number;
  end: number;
  /** Unix seconds at which probe_ssl_earliest_cert_expiry says the certificate expires. */
  certExpiry: number;
  series: number;
  samples: number;
}

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(",");
}

/** The OpenMetrics history for every scenario, timestamps relative to `now`. */
export function buildHistory(opts: HistoryOptions = {}): History {
  const now = opts.now ?? Date.now();
  const step = (opts.stepSeconds ?? 15) * 1000;
  const end = now - (opts.endSecondsBeforeNow ?? 30) * 1000;
  const count = Math.floor(((opts.hours ?? 8) * 3600_000) / step);
  const start = end - count * step;
  const times: number[] = [];
  for (let i = 0; i <= count; i++) times.push(start + i * step);
  // seconds before now (an integer when step and end offset are whole seconds)
  const ago = (t: number) => (now - t) / 1000;

  const lines: string[] = [];
  let series = 0;
  let samples = 0;
  const family = (name: string, type: string, help: string) => {
    lines.push(`# TYPE ${name} ${type}`, `# HELP ${name} ${help}`);
  };
  /** One series: value(t) for every t (null: no sample then). Samples in time order. */
  const emit = (name: string, labels: Labels, value: (t: number) => number | null) => {
    const l = `${name}{${labelText(labels)}}`;
    let any = false;
    for (const t of times) {
      const v = value(t);
      if (v === null) continue;
      lines.push(`${l} ${v} ${(t / 1000).toFixed(3)}`);
      samples++;
      any = true;
    }
    if (any) series++;
  };

  // --- node_exporter: /var/lib/mysql filling at a constant rate ----------------------------
  const fs = EVIDENCE.filesystem;
  const root = EVIDENCE.rootFilesystem;
  family("node_filesystem_avail_bytes", "gauge", "Filesystem space available to non-root users in bytes.");
  emit("node_filesystem_avail_bytes", fs.labels, (t) => fs.fillBytesPerSecond * (fs.secondsToFull + ago(t)));
  emit("node_filesystem_avail_bytes", root.labels, () => root.availBytes);
  family("node_filesystem_size_bytes", "gauge", "Filesystem size in bytes.");
  emit("node_filesystem_size_bytes", fs.labels, () => fs.sizeBytes);
  emit("node_filesystem_size_bytes", root.labels, () => root.sizeBytes);

  // --- kube-state-metrics + cAdvisor: a pod OOMKilled every 10 min for the last hour -------
  const oom = EVIDENCE.oom;
  const kills = [...oom.killsSecondsAgo].sort((a, b) => b - a); // oldest first
  const ksm = { job: "kube-state-metrics", instance: "kube-state-metrics:8080" };
  const killsBefore = (t: number) => kills.filter((k) => ago(t) <= k).length;
  family(
    "kube_pod_container_status_last_terminated_reason",
    "gauge",
    "Describes the last reason the container was in terminated state.",
  );
  emit(
    "kube_pod_container_status_last_terminated_reason",
    { ...ksm, ...oom.labels, reason: "OOMKilled" },
    (t) => (killsBefore(t) > 0 ? 1 : null),
  );
  family("kube_pod_container_status_restarts", "counter", "The number of container restarts per container.");
  emit("kube_pod_container_status_restarts_total", { ...ksm, ...oom.labels }, killsBefore);
  family(
    "kube_pod_container_resource_limits",
    "gauge",
    "The number of requested limit resource by a container.",
  );
  emit(
    "kube_pod_container_resource_limits",
    { ...ksm, ...oom.labels, node: oom.node, resource: "memory", unit: "byte" },
    () => oom.memoryLimitBytes,
  );
  const peak = Math.round(oom.memoryLimitBytes * oom.peakWorkingSetRatio);
  const firstKill = kills[0];
  family("container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes");
  emit(
    "container_memory_working_set_bytes",
    {
      job: "kubelet",
      metrics_path: "/metrics/cadvisor",
      instance: oom.node,
      ...oom.labels,
      image: "registry.example.com/shop/checkout:1.14.2",
    },
    (t) => {
      const a = ago(t);
      // a slow leak from the start of the history up to the first kill…
      if (a > firstKill) {
        const total = (now - start) / 1000 - firstKill;
        const done = total - (a - firstKill);
        return Math.round(oom.restartWorkingSetBytes + ((peak - oom.restartWorkingSetBytes) * done) / total);
      }
      // …then from each restart to the limit in 10 min (the last climb is cut short by `now`).
      const since = kills.filter((k) => a <= k).at(-1)!; // the latest kill before t
      const frac = Math.min(1, (since - a) / 600);
      return Math.round(oom.restartWorkingSetBytes + (peak - oom.restartWorkingSetBytes) * frac);
    },
  );

  // --- mysqld_exporter: replication lag ----------------------------------------------------
  const rep = EVIDENCE.replication;
  family("mysql_slave_status_seconds_behind_master", "gauge", "Generic metric from SHOW SLAVE STATUS.");
  const g = rep.growing;
  emit("mysql_slave_status_seconds_behind_master", g.labels, (t) =>
    Math.max(0, ((g.growingSinceSecondsAgo - ago(t)) * g.slopeSecondsPerHour) / 3600),
  );
  const s = rep.stalled;
  emit("mysql_slave_status_seconds_behind_master", s.labels, (t) => {
    const a = Math.max(ago(t), s.flatSinceSecondsAgo);
    return Math.max(0, ((s.grewFromSecondsAgo - a) * s.slopeSecondsPerHourWhileGrowing) / 3600);
  });
  emit("mysql_slave_status_seconds_behind_master", rep.healthy.labels, () => 0);

  // --- blackbox_exporter: a certificate expiring in 5 days ---------------------------------
  const cert = EVIDENCE.certificate;
  const certExpiry = Math.floor(now / 1000) + cert.secondsToExpiry;
  family("probe_ssl_earliest_cert_expiry", "gauge", "Returns last SSL chain expiry in unixtime");
  emit("probe_ssl_earliest_cert_expiry", cert.labels, () => certExpiry);
  family("probe_success", "gauge", "Displays whether or not the probe was a success");
  emit("probe_success", cert.labels, () => 1);

  // --- node_exporter: a host whose CPUs wait on disk I/O ----------------------------------
  const cpu = EVIDENCE.cpu;
  const elapsed = (t: number) => (t - start) / 1000;
  family("node_cpu_seconds", "counter", "Seconds the CPUs spent in each mode.");
  for (let c = 0; c < cpu.cpus; c++)
    for (const [mode, rate] of Object.entries(cpu.secondsPerSecond))
      emit(
        "node_cpu_seconds_total",
        { ...cpu.labels, cpu: String(c), mode },
        (t) => 1000 + rate * elapsed(t),
      );
  family("node_load5", "gauge", "5m load average.");
  emit("node_load5", cpu.labels, () => cpu.load5);

  // --- node_exporter: a host running out of memory ------------------------------------------
  const mem = EVIDENCE.memory;
  family("node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.");
  emit("node_memory_MemTotal_bytes", mem.labels, () => mem.totalBytes);
  family("node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.");
  emit("node_memory_MemAvailable_bytes", mem.labels, (t) =>
    Math.round(mem.availableBytesAtNow + (mem.fallBytesPerHour * ago(t)) / 3600),
  );
  family("node_vmstat_oom_kill", "unknown", "/proc/vmstat information field oom_kill.");
  emit(
    "node_vmstat_oom_kill",
    mem.labels,
    (t) => 3 + mem.oomKillsSecondsAgo.filter((k) => ago(t) <= k).length,
  );

  // --- Prometheus' own series for a target that went down ----------------------------------
  const tgt = EVIDENCE.target;
  const down = (t: number) => ago(t) <= tgt.downSinceSecondsAgo;
  family("up", "gauge", "Whether the last scrape of the target succeeded.");
  emit("up", tgt.labels, (t) => (down(t) ? 0 : 1));
  emit("up", tgt.healthy, () => 1);
  family("scrape_duration_seconds", "gauge", "How long the last scrape took.");
  emit("scrape_duration_seconds", tgt.labels, (t) => (down(t) ? tgt.scrapeTimeoutSeconds : 0.05));

  lines.push("# EOF", "");
  return { text: lines.join("\n"), now, start, end, certExpiry, series, samples };
}

/** The metric names startPrometheusWithHistory() waits to see at `now`. */
export const HISTORY_METRICS = [
  "node_filesystem_avail_bytes",
  "node_filesystem_size_bytes",
  "kube_pod_container_status_last_terminated_reason",
  "kube_pod_container_status_restarts_total",
  "kube_pod_container_resource_limits",
  "container_memory_working_set_bytes",
  "mysql_slave_status_seconds_behind_master",
  "probe_ssl_earliest_cert_expiry",
  "probe_success",
  "node_cpu_seconds_total",
  "node_memory_MemAvailable_bytes",
  "up",
];

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}
export interface PromSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

async function promApi<T>(url: string, path: string, params: Record<string, string>): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params),
  });
  const body = (await res.json()) as { status: string; data?: { result: T }; error?: string };
  if (body.status !== "success") throw new Error(`${path} ${params.query}: ${body.error ?? res.status}`);
  return body.data!.result;
}

/** /api/v1/query; `time` in ms since epoch (default: Prometheus' now). */
export function instantQuery(url: string, query: string, time?: number): Promise<PromSample[]> {
  const params: Record<string, string> = { query };
  if (time !== undefined) params.time = (time / 1000).toFixed(3);
  return promApi(url, "/api/v1/query", params);
}

/** /api/v1/query_range; times in ms since epoch, step in seconds. */
export function rangeQuery(
  url: string,
  query: string,
  start: number,
  end: number,
  stepSeconds: number,
): Promise<PromSeries[]> {
  return promApi(url, "/api/v1/query_range", {
    query,
    start: (start / 1000).toFixed(3),
    end: (end / 1000).toFixed(3),
    step: String(stepSeconds),
  });
}

export interface PrometheusWithHistory {
  url: string;
  /** The `now` the history was built for (ms since epoch): query at it. */
  now: number;
  history: Omit<History, "text">;
  /** Seconds spent building blocks and starting Prometheus. */
  startupSeconds: number;
  /** prometheus' stdout+stderr so far (for failure messages). */
  output(): string;
  /** Ends prometheus (SIGTERM, SIGKILL after 5 s) and removes the temp dir. */
  stop(): Promise<void>;
}

export interface StartOptions extends HistoryOptions {
  /** promtool's --max-block-duration; default 24h (one or two blocks instead of 2h blocks). */
  maxBlockDuration?: string;
  /** How long to wait for /-/ready and the data; default 60 s. */
  timeoutMs?: number;
}

function requireBinary(name: string): string {
  const path = Bun.which(name);
  if (!path) throw new Error(`${name} is not installed: ${PROMETHEUS_INSTALL_HINT}`);
  return path;
}

/** Builds the history into TSDB blocks and serves it from a real Prometheus. */
export async function startPrometheusWithHistory(opts: StartOptions = {}): Promise<PrometheusWithHistory> {
  const began = performance.now();
  requireBinary("promtool"); // before making anything to clean up
  const prometheus = requireBinary("prometheus");
  const { text, ...history } = buildHistory(opts);
  const dir = tempDir("alertagent-evidence-");
  const data = join(dir, "data");
  let child: ChildProcess | undefined;
  let out = "";
  let exited: Promise<void> = Promise.resolve();
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const gone = await Promise.race([exited.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!gone) {
      child.kill("SIGKILL");
      await Promise.race([exited, Bun.sleep(2000)]);
    }
  };
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(dir, "history.om"), text);
    const blocks = await runTool(
      "promtool",
      [
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "--quiet",
        `--max-block-duration=${opts.maxBlockDuration ?? "24h"}`,
        join(dir, "history.om"),
        data,
      ],
      dir,
    );
    if (blocks.code !== 0)
      throw new Error(`promtool create-blocks-from openmetrics failed:\n${blocks.output}`);
    writeFileSync(join(dir, "prometheus.yml"), "global: { scrape_interval: 15s }\nscrape_configs: []\n");
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    child = spawn(
      prometheus,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${data}`,
        // Retention counts back from the newest block; 30d keeps the whole history and then some.
        "--storage.tsdb.retention.time=30d",
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    const proc = child;
    const keep = (b: Buffer) => {
      out = (out + b.toString()).slice(-20_000);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    exited = new Promise<void>((res) => proc.on("exit", () => res()));

    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    const seen = `count(count by (__name__) ({__name__=~"${HISTORY_METRICS.join("|")}"}))`;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited at start-up:\n${out}`);
      const ready = await fetch(`${url}/-/ready`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ready) {
        const n = await instantQuery(url, seen, history.now)
          .then((r) => Number(r[0]?.value[1] ?? 0))
          .catch(() => 0);
        if (n === HISTORY_METRICS.length) break;
      }
      if (Date.now() > deadline)
        throw new Error(`prometheus on ${url} did not serve the history in time:\n${out}`);
      await Bun.sleep(100);
    }
    return {
      url,
      now: history.now,
      history,
      startupSeconds: (performance.now() - began) / 1000,
      output: () => out,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
