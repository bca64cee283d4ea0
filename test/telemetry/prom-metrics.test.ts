import { describe, expect, test } from "bun:test";
import { PromMetrics } from "../../src/telemetry/prom-metrics.ts";

describe("PromMetrics (one process, rendered by prom-client's Registry)", () => {
  test("counters and gauges render one line per label set, in Prometheus text format", async () => {
    const m = new PromMetrics();
    m.inc("jobs", { family: "failure", outcome: "succeeded" });
    m.inc("jobs", { family: "failure", outcome: "succeeded" }, 2);
    m.inc("jobs", { family: "notification", outcome: "duplicate" });
    m.add("inFlight", { family: "failure" }, 1);
    m.add("inFlight", { family: "failure" }, -1);
    m.set("engineUp", { engine: "dify" }, 1);
    m.inc("notifications", { channel: 'ops"team', type: "slack", status: "sent" });
    const text = await m.render();
    expect(m.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(text).toContain("# TYPE alertagent_jobs_total counter\n");
    expect(text).toContain('alertagent_jobs_total{family="failure",outcome="succeeded"} 3\n');
    expect(text).toContain('alertagent_jobs_total{family="notification",outcome="duplicate"} 1\n');
    expect(text).toContain('alertagent_jobs_in_flight{family="failure"} 0\n');
    expect(text).toContain('alertagent_engine_up{engine="dify"} 1\n');
    expect(text).toContain(
      'alertagent_notifications_total{channel="ops\\"team",type="slack",status="sent"} 1\n',
    );
  });

  test("the dashboard's process figures are today's without a scrape of /metrics first", async () => {
    const m = new PromMetrics({ process: true });
    const until = performance.now() + 60;
    while (performance.now() < until); // some CPU to show
    const p = await m.process();
    expect(p?.cpu_seconds).toBeGreaterThan(0);
    expect(p?.heap_used_bytes).toBeGreaterThan(1_000_000);
  });

  test("promtool check metrics accepts /metrics with the process figures and job series", async () => {
    if (!Bun.which("promtool"))
      throw new Error("promtool is missing: apt-get install prometheus (scripts/test.sh installs it)");
    const m = new PromMetrics({ process: true });
    m.inc("jobs", { family: "failure", outcome: "succeeded" });
    m.inc("notifications", { channel: "ops", type: "dingtalk", status: "sent" });
    m.observe("jobDuration", { family: "failure" }, 0.02);
    const p = Bun.spawnSync(["promtool", "check", "metrics"], {
      stdin: Buffer.from(await m.render()),
      stderr: "pipe",
    });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
  });

  test("histograms render cumulative buckets, +Inf, sum and count; the snapshot agrees", async () => {
    const m = new PromMetrics();
    for (const v of [0.0005, 0.003, 0.003, 7, 1000]) m.observe("jobDuration", { family: "failure" }, v);
    const text = await m.render();
    expect(text).toContain('alertagent_job_duration_seconds_bucket{le="0.001",family="failure"} 1\n');
    expect(text).toContain('alertagent_job_duration_seconds_bucket{le="0.005",family="failure"} 3\n');
    expect(text).toContain('alertagent_job_duration_seconds_bucket{le="10",family="failure"} 4\n');
    expect(text).toContain('alertagent_job_duration_seconds_bucket{le="300",family="failure"} 4\n');
    expect(text).toContain('alertagent_job_duration_seconds_bucket{le="+Inf",family="failure"} 5\n');
    expect(text).toContain('alertagent_job_duration_seconds_sum{family="failure"} 1007.0065\n');
    expect(text).toContain('alertagent_job_duration_seconds_count{family="failure"} 5\n');
    const [h] = (await m.snapshot()).histograms.jobDuration ?? [];
    expect(h).toMatchObject({ labels: { family: "failure" }, count: 5, sum: 1007.0065 });
    expect(h.buckets.slice(0, 3)).toEqual([1, 3, 3]);
    expect(h.buckets.at(-1)).toBe(4);
  });

  test("labels outside the definition are not series of their own; a counter cannot go down", async () => {
    const m = new PromMetrics();
    m.inc("retries", { family: "failure", extra: "x" });
    m.inc("retries", { family: "failure" });
    expect((await m.snapshot()).values.retries).toEqual([{ labels: { family: "failure" }, value: 2 }]);
    expect(() => m.inc("retries", { family: "failure" }, -1)).toThrow(/cannot go down/);
  });
});
