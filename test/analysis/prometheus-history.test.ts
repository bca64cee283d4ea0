/**
 * Proves the evidence harness: a real Prometheus on promtool-built history answers the
 * evidence queries (instant at `now`, range over the 6 h lookback) with the
 * scenarios' known truths, within ±10%.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dirname } from "node:path";
import {
  buildHistory,
  EVIDENCE,
  instantQuery,
  type PrometheusWithHistory,
  rangeQuery,
  startPrometheusWithHistory,
} from "../support/prometheus-history.ts";

let prom: PrometheusWithHistory;

beforeAll(async () => {
  prom = await startPrometheusWithHistory();
  console.log(
    `prometheus with ${prom.history.series} series / ${prom.history.samples} samples ready in ${prom.startupSeconds.toFixed(2)}s`,
  );
}, 90_000);

afterAll(async () => {
  await prom?.stop();
});

const within10 = (actual: number, truth: number) => {
  expect(Math.abs(actual - truth)).toBeLessThanOrEqual(Math.abs(truth) * 0.1);
};

/** The only value of an instant query at `now` (fails unless exactly one series answers). */
async function one(query: string, time = prom.now): Promise<number> {
  const result = await instantQuery(prom.url, query, time);
  expect(result.length).toBe(1);
  return Number(result[0].value[1]);
}

const FS = `node_filesystem_avail_bytes{instance="db-1:9100",mountpoint="/var/lib/mysql"}`;
const POD = `namespace="shop",pod="checkout-7d9c5b6f8-x2k4p",container="checkout"`;
const LAG = "mysql_slave_status_seconds_behind_master";
const HOUR = 3600_000;

describe("history text", () => {
  test("is OpenMetrics ending in # EOF, 8 h at 15 s ending 30 s before now", () => {
    const h = buildHistory({ now: 1_800_000_000_000 });
    expect(h.text.endsWith("# EOF\n")).toBe(true);
    expect(h.end).toBe(h.now - 30_000);
    expect(h.end - h.start).toBe(8 * HOUR);
    // 13 for the first scenarios; CPU 4 × 4 modes + load; memory 3; two targets' up, one's scrape duration.
    expect(h.series).toBe(36);
  });
});

describe("filesystem filling at a constant rate", () => {
  const fs = EVIDENCE.filesystem;

  test("avail / -deriv(avail[1h]) is the time to full", async () => {
    // The last sample is 30 s old at now: 5430 s, within 1% of 5400.
    within10(await one(`${FS} / -deriv(${FS}[1h])`), fs.secondsToFull);
  });

  test("-deriv and -delta give the fill rate", async () => {
    within10(await one(`-deriv(${FS}[1h])`), fs.fillBytesPerSecond);
    // delta() extrapolates to the window edges: ≈ rate × 3600.
    within10(await one(`-delta(${FS}[1h]) / 3600`), fs.fillBytesPerSecond);
  });

  test("predict_linear crosses zero at the time to full", async () => {
    // predict_linear(v[1h], t) is the value t seconds after the query time.
    expect(await one(`predict_linear(${FS}[1h], ${fs.secondsToFull * 0.9}) > 0`)).toBeGreaterThan(0);
    const after = await instantQuery(prom.url, `predict_linear(${FS}[1h], ${fs.secondsToFull * 1.1}) < 0`);
    expect(after.length).toBe(1);
    // at exactly the time to full the prediction is ~0 (the fit is exact; 6 h window as in node-mixin)
    const atFull = await one(`predict_linear(${FS}[6h], ${fs.secondsToFull})`);
    expect(Math.abs(atFull)).toBeLessThan(fs.availBytesAtNow * 0.01);
  });

  test("used ratio from avail and size", async () => {
    const ratio = await one(
      `1 - ${FS} / node_filesystem_size_bytes{instance="db-1:9100",mountpoint="/var/lib/mysql"}`,
    );
    within10(ratio, 1 - fs.availBytesAtNow / fs.sizeBytes);
  });

  test("the root filesystem is steady (no time to full)", async () => {
    expect(await one(`deriv(node_filesystem_avail_bytes{instance="db-1:9100",mountpoint="/"}[1h])`)).toBe(0);
  });

  test("query_range over 6 h falls linearly", async () => {
    const [series, ...rest] = await rangeQuery(prom.url, FS, prom.now - 6 * HOUR, prom.now, 300);
    expect(rest.length).toBe(0);
    expect(series.values.length).toBe(73);
    const first = Number(series.values[0][1]);
    const last = Number(series.values.at(-1)![1]);
    within10((first - last) / (6 * 3600), fs.fillBytesPerSecond);
  });
});

describe("pod OOMKilled", () => {
  const oom = EVIDENCE.oom;

  test("last terminated reason is OOMKilled", async () => {
    const result = await instantQuery(
      prom.url,
      `kube_pod_container_status_last_terminated_reason{reason="OOMKilled"} == 1`,
      prom.now,
    );
    expect(result.map((r) => r.metric.pod)).toEqual([oom.labels.pod]);
    expect(result[0].metric).toMatchObject({ ...oom.labels, reason: "OOMKilled" });
  });

  test("increase(restarts[1h]) ≈ 6", async () => {
    within10(
      await one(`increase(kube_pod_container_status_restarts_total{${POD}}[1h])`),
      oom.restartsLastHour,
    );
    expect(await one(`changes(kube_pod_container_status_restarts_total{${POD}}[1h])`)).toBe(
      oom.restartsLastHour,
    );
  });

  test("working set reached the memory limit", async () => {
    const ratio = await one(
      `max by (namespace, pod, container) (max_over_time(container_memory_working_set_bytes{${POD}}[1h]))
       / on (namespace, pod, container)
       max by (namespace, pod, container) (kube_pod_container_resource_limits{${POD},resource="memory"})`,
    );
    within10(ratio, oom.peakWorkingSetRatio);
    expect(await one(`kube_pod_container_resource_limits{${POD},resource="memory"}`)).toBe(
      oom.memoryLimitBytes,
    );
  });

  test("query_range shows the sawtooth: six drops in the last hour", async () => {
    const [series] = await rangeQuery(
      prom.url,
      `container_memory_working_set_bytes{${POD}}`,
      prom.now - HOUR,
      prom.now,
      15,
    );
    const v = series.values.map(([, x]) => Number(x));
    const drops = v.filter((x, i) => i > 0 && x < v[i - 1]).length;
    expect(drops).toBe(oom.restartsLastHour);
  });
});

describe("MySQL replication lag", () => {
  const rep = EVIDENCE.replication;

  test("deriv(lag[1h]) * 3600 is the slope of the growing replica", async () => {
    within10(await one(`deriv(${LAG}{instance="db-2:9104"}[1h]) * 3600`), rep.growing.slopeSecondsPerHour);
    within10(await one(`${LAG}{instance="db-2:9104"}`), rep.growing.lagSecondsAtNow);
  });

  test("the stalled replica is flat over [30m] but grew before", async () => {
    expect(await one(`deriv(${LAG}{instance="db-3:9104"}[30m]) * 3600`)).toBe(0);
    within10(await one(`${LAG}{instance="db-3:9104"}`), rep.stalled.lagSeconds);
    // an hour earlier it was still growing
    within10(
      await one(`deriv(${LAG}{instance="db-3:9104"}[1h]) * 3600`, prom.now - HOUR),
      rep.stalled.slopeSecondsPerHourWhileGrowing,
    );
  });

  test("only the growing replica matches a 'lag still growing' query", async () => {
    const result = await instantQuery(prom.url, `deriv(${LAG}[30m]) * 3600 > 60`, prom.now);
    expect(result.map((r) => r.metric.instance)).toEqual(["db-2:9104"]);
  });
});

describe("certificate expiring", () => {
  test("probe_ssl_earliest_cert_expiry - time() is 5 days", async () => {
    within10(
      await one(`probe_ssl_earliest_cert_expiry{instance="https://shop.example.com"} - time()`),
      EVIDENCE.certificate.secondsToExpiry,
    );
    expect(await one("probe_ssl_earliest_cert_expiry")).toBe(prom.history.certExpiry);
  });
});

describe("staleness", () => {
  test("queries without `time` (Prometheus' own now) see the data for ~4.5 min after start-up", async () => {
    const result = await instantQuery(prom.url, `${FS} / -deriv(${FS}[1h])`);
    expect(result.length).toBe(1);
    within10(Number(result[0].value[1]), EVIDENCE.filesystem.secondsToFull);
  });

  test("instant queries see nothing once the last sample is older than 5 min", async () => {
    const later = prom.history.end + 5 * 60_000 + 1000;
    expect(await instantQuery(prom.url, FS, later)).toEqual([]);
    // range functions still answer: their window reaches back to the data
    expect((await instantQuery(prom.url, `deriv(${FS}[1h])`, later)).length).toBe(1);
  });
});

test("a missing prometheus fails with the apt-get line", async () => {
  const proc = Bun.spawn(
    [
      process.execPath,
      "-e",
      `import("${import.meta.dir}/../support/prometheus-history.ts").then((m) => m.startPrometheusWithHistory()).then(
        () => console.log("started"), (e) => console.log(e.message))`,
    ],
    { env: { PATH: dirname(process.execPath) }, stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  expect(out.trim()).toBe("promtool is not installed: apt-get install prometheus");
});
