/**
 * What to ask Prometheus about an alert (docs/analysis.md, "Evidence"): per family of alerts, the
 * queries that answer "how bad, how soon, why" — a filesystem's time to full, a container's last
 * termination reason and its memory against its limit, a replica's lag and whether it still grows,
 * a certificate's time to expiry, a target's `up` history. Each query is built from the alert's
 * labels through `selector` (quoted and escaped), read-only, and turned into one evidence item.
 */
import type { Alert } from "../../alerts/alert.ts";
import type { EvidenceItem } from "../schema.ts";
import { quote, selector } from "./promql.ts";

export type Unit = EvidenceItem["unit"];

/** One query of a probe: its id, the PromQL, and how its answer reads. */
export interface ProbeQuery {
  id: string;
  query: string;
  unit: Unit;
  /** Labels of the answering series kept on the item, where they say something (a reason, a mode). */
  keep?: readonly string[];
  /** One sentence about the value (null: the query matched nothing), in the job's language. */
  say(value: number | null, labels: Record<string, string>, zh: boolean): string;
}

export interface Probe {
  family: string;
  /** Alert names this probe is for (matched case-insensitively). */
  alerts: readonly string[];
  /** Or any alert carrying these labels. */
  labels?: readonly string[];
  queries(alert: Alert): ProbeQuery[];
}

const hours = (s: number) => Math.round((s / 3600) * 10) / 10;
const pct = (r: number) => `${Math.round(r * 1000) / 10}%`;
const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;

function ttl(seconds: number, zh: boolean): string {
  if (seconds < 3600) return zh ? `${Math.round(seconds / 60)} 分钟` : `${Math.round(seconds / 60)} min`;
  if (seconds < 3 * 86400) return zh ? `${hours(seconds)} 小时` : `${hours(seconds)} h`;
  return zh ? `${Math.round(seconds / 86400)} 天` : `${Math.round(seconds / 86400)} days`;
}

/**
 * A query's sentence in the job's language: `none` when it matched nothing, else `some` of the
 * value (each [Chinese, English]).
 */
const sentence =
  (
    none: readonly [string, string],
    some: (v: number, labels: Record<string, string>) => readonly [string, string],
  ): ProbeQuery["say"] =>
  (v, labels, zh) =>
    (v === null ? none : some(v, labels))[zh ? 0 : 1];

/** What a CPU mode means for the engineer (node_exporter's modes). */
const MODE_MEANS: Record<string, [string, string]> = {
  iowait: ["在等待磁盘 I/O", "waiting on disk I/O"],
  steal: ["被虚拟化宿主机占用（邻居争抢）", "stolen by the hypervisor (a noisy neighbour)"],
  system: ["在内核中", "in the kernel"],
  user: ["在用户态程序中", "in user programs"],
  softirq: ["在处理软中断（多为网络）", "in soft interrupts (mostly network)"],
  irq: ["在处理硬中断", "in hardware interrupts"],
  nice: ["在低优先级程序中", "in niced programs"],
};

const NODE_LABELS = ["instance", "job"];
const FS_LABELS = ["instance", "job", "mountpoint", "device", "fstype"];
const POD_LABELS = ["namespace", "pod", "container"];

export const PROBES: readonly Probe[] = [
  {
    family: "filesystem",
    alerts: [
      "NodeFilesystemSpaceFillingUp",
      "NodeFilesystemAlmostOutOfSpace",
      "HostOutOfDiskSpace",
      "HostDiskWillFillIn24Hours",
      "DiskSpaceLow",
      "FilesystemFull",
      "DiskFull",
    ],
    labels: ["mountpoint"],
    queries(a) {
      const sel = selector(a.labels, FS_LABELS);
      const avail = `node_filesystem_avail_bytes${sel}`;
      return [
        {
          id: "time_to_full",
          // Seconds until avail reaches 0 at the last hour's rate; no result when it is not falling.
          query: `${avail} / (-deriv(${avail}[1h]) > 0)`,
          unit: "seconds",
          // No result says only that nothing falls: a filesystem Prometheus has no series for looks
          // the same (apply.ts tells them apart with available_ratio).
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "无法估算写满时间：最近一小时可用空间没有下降，或 Prometheus 没有该文件系统的数据。"
                : "No time to full: free space did not fall over the last hour, or Prometheus has no data for this filesystem."
              : zh
                ? `按最近一小时的速度，约 ${ttl(v, zh)} 后写满。`
                : `At the last hour's rate it is full in about ${ttl(v, zh)}.`,
        },
        {
          id: "available_ratio",
          query: `${avail} / node_filesystem_size_bytes${sel}`,
          unit: "ratio",
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "没有找到可用空间数据。"
                : "No free-space data found."
              : zh
                ? `剩余 ${pct(v)}。`
                : `${pct(v)} is free.`,
        },
        {
          id: "fill_rate",
          query: `-deriv(${avail}[1h])`,
          unit: "bytes_per_second",
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "没有找到写入速度。"
                : "No fill rate found."
              : zh
                ? `每小时写入约 ${mib(v * 3600)}。`
                : `It grows by about ${mib(v * 3600)} an hour.`,
        },
      ];
    },
  },
  {
    family: "container",
    alerts: [
      "KubePodCrashLooping",
      "KubeContainerOOMKilled",
      "KubernetesPodCrashLooping",
      "KubernetesContainerOomKiller",
      "ContainerOomKiller",
      "PodRestartingTooMuch",
      "ContainerKilled",
    ],
    queries(a) {
      const sel = selector(a.labels, POD_LABELS);
      const on = "on (namespace, pod, container)";
      return [
        {
          id: "last_terminated_reason",
          query: `kube_pod_container_status_last_terminated_reason${sel} == 1`,
          unit: "reason",
          keep: ["reason"],
          say: (v, l, zh) =>
            v === null
              ? zh
                ? "没有找到上次终止的原因。"
                : "No last termination reason found."
              : zh
                ? `上次终止原因：${l.reason}。`
                : `It last terminated with ${l.reason}.`,
        },
        {
          id: "restarts_1h",
          query: `increase(kube_pod_container_status_restarts_total${sel}[1h])`,
          unit: "count",
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "没有找到重启次数。"
                : "No restart count found."
              : zh
                ? `最近一小时重启 ${Math.round(v)} 次。`
                : `It restarted ${Math.round(v)} times in the last hour.`,
        },
        {
          id: "memory_vs_limit",
          query: `max_over_time(container_memory_working_set_bytes${sel}[1h]) / ${on} kube_pod_container_resource_limits${selector(a.labels, POD_LABELS, [`resource=${quote("memory")}`])}`,
          unit: "ratio",
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "没有找到内存上限（可能未设置）。"
                : "No memory limit found (it may have none)."
              : zh
                ? `最近一小时内存峰值达到上限的 ${pct(v)}。`
                : `Its memory peaked at ${pct(v)} of its limit in the last hour.`,
        },
        {
          id: "memory_limit",
          query: `kube_pod_container_resource_limits${selector(a.labels, POD_LABELS, [`resource=${quote("memory")}`])}`,
          unit: "bytes",
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "未设置内存上限。"
                : "No memory limit is set."
              : zh
                ? `内存上限 ${mib(v)}。`
                : `Its memory limit is ${mib(v)}.`,
        },
      ];
    },
  },
  {
    family: "replication",
    alerts: [
      "MysqlSlaveReplicationLag",
      "MysqlReplicationLag",
      "MySQLReplicationLag",
      "MysqlReplicationLagHigh",
      "MysqlSlaveLagging",
    ],
    queries(a) {
      const lag = `mysql_slave_status_seconds_behind_master${selector(a.labels, ["instance", "job", "master_host", "channel_name"])}`;
      const trend =
        (w: string): ProbeQuery["say"] =>
        (v, _l, zh) =>
          v === null
            ? zh
              ? "没有找到延迟趋势。"
              : "No lag trend found."
            : Math.abs(v) < 60
              ? zh
                ? `最近 ${w} 延迟不再增长。`
                : `Over the last ${w} the lag has stopped growing.`
              : zh
                ? `最近 ${w} 延迟每小时${v > 0 ? "增加" : "减少"} ${Math.round(Math.abs(v))} 秒。`
                : `Over the last ${w} the lag ${v > 0 ? "grew" : "fell"} by ${Math.round(Math.abs(v))} s an hour.`;
      return [
        {
          id: "lag",
          query: lag,
          unit: "seconds",
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "没有找到复制延迟。"
                : "No replication lag found."
              : zh
                ? `当前延迟 ${Math.round(v)} 秒。`
                : `The replica is ${Math.round(v)} s behind.`,
        },
        { id: "lag_trend_1h", query: `deriv(${lag}[1h]) * 3600`, unit: "seconds_per_hour", say: trend("1h") },
        {
          id: "lag_trend_30m",
          query: `deriv(${lag}[30m]) * 3600`,
          unit: "seconds_per_hour",
          say: trend("30m"),
        },
      ];
    },
  },
  {
    family: "certificate",
    alerts: [
      "SSLCertExpiringSoon",
      "BlackboxSslCertificateWillExpireSoon",
      "BlackboxSslCertificateExpired",
      "ProbeSSLCertExpiry",
      "SslCertificateExpiry",
    ],
    queries(a) {
      return [
        {
          id: "seconds_to_expiry",
          query: `probe_ssl_earliest_cert_expiry${selector(a.labels, ["instance", "job"])} - time()`,
          unit: "seconds",
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "没有找到证书到期时间。"
                : "No certificate expiry found."
              : v <= 0
                ? zh
                  ? "证书已经过期。"
                  : "The certificate has expired."
                : zh
                  ? `证书在 ${ttl(v, zh)} 后到期。`
                  : `The certificate expires in ${ttl(v, zh)}.`,
        },
      ];
    },
  },
  {
    family: "cpu",
    alerts: [
      "HostHighCpuLoad",
      "NodeHighCPUUsage",
      "NodeCPUHighUsage",
      "HighCpuUsage",
      "HighCPU",
      "CPUUsageHigh",
      "HostCpuHighIowait",
      "HostCpuStealNoisyNeighbor",
    ],
    queries(a) {
      // Without the host, these would sum the whole fleet and read one host's load against it.
      if (!a.labels.instance) return [];
      const cpu = (mode: string) => `node_cpu_seconds_total${selector(a.labels, NODE_LABELS, [mode])}`;
      const cpus = `count(${cpu('mode="idle"')})`;
      return [
        {
          id: "cpu_busy",
          query: `1 - avg(rate(${cpu('mode="idle"')}[5m]))`,
          unit: "ratio",
          say: sentence(["没有找到 CPU 数据。", "No CPU data found."], (v) => [
            `最近 5 分钟 CPU 繁忙 ${pct(v)}。`,
            `The CPUs were busy ${pct(v)} of the last 5 min.`,
          ]),
        },
        {
          id: "cpu_top_mode",
          keep: ["mode"],
          // The mode that takes the most CPU time, as a share of all the host's CPUs.
          query: `topk(1, sum by (mode) (rate(${cpu('mode!="idle"')}[5m])) / scalar(${cpus}))`,
          unit: "ratio",
          say: sentence(["没有找到 CPU 模式数据。", "No CPU mode data found."], (v, l) => {
            const [zhMeans, enMeans] = MODE_MEANS[l.mode ?? ""] ?? [`模式 ${l.mode}`, `in mode ${l.mode}`];
            return [
              `占用最多的是 ${l.mode}：${pct(v)} 的 CPU 时间${zhMeans}。`,
              `Most of it is ${l.mode}: ${pct(v)} of the CPU time is ${enMeans}.`,
            ];
          }),
        },
        {
          id: "load_per_cpu",
          query: `node_load5${selector(a.labels, NODE_LABELS)} / scalar(${cpus})`,
          unit: "ratio",
          say: sentence(["没有找到负载数据。", "No load average found."], (v) => [
            `5 分钟负载是 CPU 数的 ${pct(v)}。`,
            `The 5-min load average is ${pct(v)} of the CPU count.`,
          ]),
        },
      ];
    },
  },
  {
    family: "container_cpu",
    alerts: [
      "CPUThrottlingHigh",
      "KubernetesContainerCpuThrottling",
      "ContainerHighCpuUtilization",
      "KubeContainerCPUHigh",
    ],
    queries(a) {
      if (!a.labels.namespace) return [];
      const sel = selector(a.labels, POD_LABELS);
      const ns = selector(a.labels, ["namespace"], ['container!=""']);
      return [
        {
          id: "cpu_throttled_ratio",
          query: `sum(increase(container_cpu_cfs_throttled_periods_total${sel}[5m])) / sum(increase(container_cpu_cfs_periods_total${sel}[5m]))`,
          unit: "ratio",
          say: sentence(["没有找到 CPU 限流数据。", "No CPU throttling data found."], (v) => [
            `最近 5 分钟 ${pct(v)} 的调度周期被限流。`,
            `${pct(v)} of its CPU periods were throttled in the last 5 min.`,
          ]),
        },
        {
          id: "top_pod_cpu",
          keep: ["pod"],
          // The busiest pod of the namespace, in cores.
          query: `topk(1, sum by (pod) (rate(container_cpu_usage_seconds_total${ns}[5m])))`,
          unit: "count",
          say: sentence(["没有找到容器 CPU 数据。", "No container CPU data found."], (v, l) => [
            `该命名空间最忙的 Pod 是 ${l.pod}，用了 ${Math.round(v * 100) / 100} 核。`,
            `The busiest pod of the namespace is ${l.pod}, using ${Math.round(v * 100) / 100} cores.`,
          ]),
        },
      ];
    },
  },
  {
    family: "memory",
    alerts: [
      "HostOutOfMemory",
      "HostMemoryUnderMemoryPressure",
      "NodeMemoryHighUtilization",
      "NodeMemoryPressure",
      "HighMemoryUsage",
      "MemoryUsageHigh",
    ],
    queries(a) {
      if (!a.labels.instance) return [];
      const sel = selector(a.labels, NODE_LABELS);
      const avail = `node_memory_MemAvailable_bytes${sel}`;
      return [
        {
          id: "memory_available_ratio",
          query: `${avail} / node_memory_MemTotal_bytes${sel}`,
          unit: "ratio",
          say: sentence(["没有找到内存数据。", "No memory data found."], (v) => [
            `可用内存剩 ${pct(v)}。`,
            `${pct(v)} of the memory is available.`,
          ]),
        },
        {
          id: "memory_available_trend_1h",
          query: `deriv(${avail}[1h])`,
          unit: "bytes_per_second",
          say: sentence(["没有找到内存变化数据。", "No memory trend found."], (v) =>
            v < -1048576 / 3600
              ? [
                  `可用内存每小时减少约 ${mib(-v * 3600)}。`,
                  `Available memory falls by about ${mib(-v * 3600)} an hour.`,
                ]
              : [
                  "最近一小时可用内存没有在减少。",
                  "Available memory has not been falling over the last hour.",
                ],
          ),
        },
        {
          id: "oom_kills_1h",
          query: `increase(node_vmstat_oom_kill${sel}[1h])`,
          unit: "count",
          say: sentence(["没有找到 OOM 记录。", "No OOM kill counter found."], (v) => [
            `最近一小时内核 OOM 杀死 ${Math.round(v)} 个进程。`,
            `The kernel OOM killer killed ${Math.round(v)} processes in the last hour.`,
          ]),
        },
      ];
    },
  },
  {
    family: "target",
    alerts: ["TargetDown", "InstanceDown", "HostDown", "PrometheusTargetMissing", "NodeDown"],
    queries(a) {
      const sel = selector(a.labels, ["instance", "job"]);
      return [
        {
          id: "up_1h",
          query: `avg_over_time(up${sel}[1h])`,
          unit: "ratio",
          say: (v, _l, zh) =>
            v === null
              ? zh
                ? "最近一小时没有抓取记录。"
                : "No scrape recorded in the last hour."
              : zh
                ? `最近一小时抓取成功率 ${pct(v)}。`
                : `It was up for ${pct(v)} of the last hour's scrapes.`,
        },
        {
          id: "failed_scrapes_1h",
          // Minutes of the last hour in which the scrape had failed (a 1-minute subquery); `== bool`
          // so that none failed is 0, and nothing at all means the target is not scraped.
          query: `sum_over_time((up${sel} == bool 0)[1h:1m])`,
          unit: "count",
          say: sentence(
            ["最近一小时没有这个目标的抓取记录。", "No scrape of this target in the last hour."],
            (v) =>
              v === 0
                ? ["最近一小时没有抓取失败。", "No scrape failed in the last hour."]
                : [
                    `最近一小时有 ${Math.round(v)} 分钟抓取失败。`,
                    `Scrapes failed in ${Math.round(v)} minutes of the last hour.`,
                  ],
          ),
        },
        {
          id: "scrape_duration",
          query: `scrape_duration_seconds${sel}`,
          unit: "seconds",
          say: sentence(["没有找到抓取耗时。", "No scrape duration found."], (v) => [
            `上次抓取耗时 ${Math.round(v * 100) / 100} 秒。`,
            `The last scrape took ${Math.round(v * 100) / 100} s.`,
          ]),
        },
      ];
    },
  },
];

/** The probes for an alert: by its name, or by the labels a probe needs. */
export function probesFor(alert: Alert): Probe[] {
  const name = (alert.labels.alertname ?? "").toLowerCase();
  return PROBES.filter(
    (p) =>
      p.alerts.some((n) => n.toLowerCase() === name) ||
      (p.labels?.length ? p.labels.every((l) => alert.labels[l]) : false),
  );
}
