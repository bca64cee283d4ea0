/**
 * Synthetic alert histories for the similarity tests and the benchmark: labelled incidents (the
 * same problem on several hosts, pods or probers), hard negatives (other problems on the same
 * hosts) and background noise drawn from the catalogue's alert names. Deterministic per seed.
 */
import type { Alert } from "../../src/alerts/alert.ts";
import { CATALOGUE_NAMES } from "../../src/analysis/catalogue/index.ts";

export interface Labelled {
  alert: Alert & { id: string };
  /** The incident it belongs to; "" for noise. */
  incident: string;
}

const firing = (
  id: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
): Alert & { id: string } => ({
  id,
  status: "firing",
  labels,
  annotations,
  startsAt: "2026-11-28T08:00:00Z",
  endsAt: "0001-01-01T00:00:00Z",
});

/** Six incidents of 4–6 alerts each, and hard negatives on the same hosts. */
export function incidents(): Labelled[] {
  const out: Labelled[] = [];
  for (let i = 1; i <= 6; i++) {
    const inst = `10.0.1.${i}:9100`;
    out.push({
      incident: "cpu",
      alert: firing(
        `cpu-${i}`,
        { alertname: "HighCPU", severity: "critical", job: "node", instance: inst },
        {
          summary: "CPU usage above 90%",
          description: `CPU on ${inst} has been above 90% for 5 minutes (current ${90 + i}.3%).`,
        },
      ),
    });
    out.push({
      incident: "",
      alert: firing(
        `mem-${i}`,
        { alertname: "NodeMemoryHighUtilization", severity: "critical", job: "node", instance: inst },
        {
          summary: "Memory is filling up",
          description: `Memory on ${inst} is ${80 + i}% used.`,
        },
      ),
    });
  }
  for (let i = 1; i <= 5; i++) {
    const pod = `api-7d9f8-${"abcde"[i - 1]}x2k4`;
    out.push({
      incident: "crashloop",
      alert: firing(
        `crash-${i}`,
        {
          alertname: "KubePodCrashLooping",
          severity: "warning",
          namespace: "payments",
          pod,
          container: "api",
        },
        {
          summary: "Pod is crash looping.",
          description: `Pod payments/${pod} (api) is in waiting state (reason: "CrashLoopBackOff").`,
        },
      ),
    });
  }
  for (let i = 1; i <= 5; i++) {
    const inst = `db-0${i}:9100`;
    out.push({
      incident: "disk",
      alert: firing(
        `disk-${i}`,
        {
          alertname: "NodeFilesystemSpaceFillingUp",
          severity: "warning",
          job: "node",
          instance: inst,
          mountpoint: "/var/lib/mysql",
          device: "/dev/sdb1",
        },
        {
          summary: "Filesystem is predicted to run out of space within the next 24 hours.",
          description: `Filesystem on /dev/sdb1 at ${inst} has only ${10 + i}% available space left and is filling up.`,
        },
      ),
    });
    out.push({
      incident: "mysql",
      alert: firing(
        `mysql-${i}`,
        {
          alertname: "MysqlTooManyConnections",
          severity: "warning",
          job: "mysql",
          instance: `db-0${i}:9104`,
        },
        {
          summary: "MySQL too many connections (> 80%)",
          description: `More than 80% of MySQL connections are in use on db-0${i}:9104`,
        },
      ),
    });
  }
  for (const region of ["eu-west", "us-east", "ap-south", "sa-east"]) {
    out.push({
      incident: "probe",
      alert: firing(
        `probe-${region}`,
        {
          alertname: "BlackboxProbeFailed",
          severity: "critical",
          job: "blackbox",
          instance: "https://shop.example.com",
          module: "http_2xx",
          prober: region,
        },
        {
          summary: "Probe failed",
          description: "Probe of https://shop.example.com failed: connection refused",
        },
      ),
    });
  }
  for (let i = 1; i <= 4; i++) {
    out.push({
      incident: "orders",
      alert: firing(
        `orders-${i}`,
        {
          alertname: "OrderQueueBacklog",
          severity: "warning",
          service: "orders",
          queue: "orders-in",
          instance: `orders-${i}:8080`,
        },
        {
          summary: "Order queue is backing up",
          description: `More than 5000 orders waiting on orders-${i}; settlement is delayed.`,
        },
      ),
    });
  }
  return out;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  "latency errors saturation requests queue replica backup certificate timeout memory disk network pod node service database cache shard partition leader scrape rule target".split(
    " ",
  );
const NAMESPACES = ["payments", "shop", "search", "auth", "billing", "infra", "monitoring", "data"];

/** `n` background alerts over the catalogue's names, avoiding the incidents' names. */
export function noise(n: number, seed = 7, exclude: string[] = []): Labelled[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const names = CATALOGUE_NAMES.filter((x) => !exclude.includes(x));
  const out: Labelled[] = [];
  for (let i = 0; i < n; i++) {
    const name = pick(names);
    const ns = pick(NAMESPACES);
    const labels: Record<string, string> = {
      alertname: name,
      severity: pick(["critical", "warning", "info"]),
      // A fleet of 2,000 hosts and 5,000 pods: labels repeat as they do in a real week of alerts.
      instance: `10.0.${Math.floor(r() * 8)}.${Math.floor(r() * 250)}:9100`,
      job: pick(["node", "kube-state-metrics", "blackbox", "mysql", "redis", "kafka", "prometheus"]),
    };
    if (r() < 0.5) labels.namespace = ns;
    if (r() < 0.3) labels.pod = `${ns}-${Math.floor(r() * 625).toString(36)}`;
    const text = Array.from({ length: 6 }, () => pick(WORDS)).join(" ");
    out.push({
      incident: "",
      alert: firing(`noise-${seed}-${i}`, labels, { summary: `${name} ${pick(WORDS)}`, description: text }),
    });
  }
  return out;
}
