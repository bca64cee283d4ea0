/**
 * Hostile producers against the compiled binary (build first: scripts/build): a signed job whose
 * template amplifies, a flood of unsigned bodies over the limit, lease churn in a full memory
 * store, and a job stuck past worker.shutdown_timeout. What must hold is what a user sees: the
 * job fails fast and for good, the process stays responsive, nothing is sent twice, and the
 * figures autoscale reads are not moved by someone without the signing key.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { postSigned, rssMb, sink, startWorker } from "../support/binary-worker.ts";

const sinks: { stop(): void }[] = [];
const procs: { kill(sig?: number | NodeJS.Signals): void }[] = [];
afterAll(() => {
  for (const s of sinks) s.stop();
  for (const p of procs) p.kill("SIGKILL");
});

/** Polls /health/live every 20 ms until `done` settles; the slowest answer in ms. */
async function slowestLive(url: string, done: Promise<unknown>): Promise<number> {
  let settled = false;
  done.finally(() => {
    settled = true;
  });
  let worst = 0;
  while (!settled) {
    const t = performance.now();
    await fetch(`${url}/health/live`);
    worst = Math.max(worst, performance.now() - t);
    await Bun.sleep(20);
  }
  return worst;
}

const alerts = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    labels: { alertname: "Amplify", severity: "warning", instance: `host-${i}:9100` },
    annotations: { summary: `alert ${i}` },
  }));

describe("hostile producers: template amplification", () => {
  test("a title nesting {{#alerts}} four deep over 60 alerts fails permanently, fast, with nothing sent", async () => {
    const hook = sink(0);
    sinks.push(hook);
    const w = await startWorker(`channels:\n  hook: { type: webhook, url: "${hook.url}" }\n`);
    procs.push(w.proc);
    const title =
      "{{#alerts}}{{#alerts}}{{#alerts}}{{#alerts}}{{labels.instance}}{{/alerts}}{{/alerts}}{{/alerts}}{{/alerts}}";
    const body = JSON.stringify({ channels: ["hook"], title, alerts: alerts(60) });
    expect(body.length).toBeLessThan(8_000);
    const t = performance.now();
    const answer = postSigned(w.url, "/jobs/notification", body, "msg_amplify_1");
    const worstLive = await slowestLive(w.url, answer);
    const res = await answer;
    const ms = performance.now() - t;
    expect(res.status).toBe(489);
    expect(res.headers.get("upstash-nonretryable-error")).toBe("true");
    const problem = (await res.json()) as { error: { code: string; message: string; details: unknown } };
    expect(problem.error.code).toBe("template_too_large");
    expect(problem.error.details).toEqual([{ path: "title", message: expect.stringContaining("more than") }]);
    expect(ms).toBeLessThan(1_000);
    expect(worstLive).toBeLessThan(100);
    expect(hook.seen).toHaveLength(0);
    expect(rssMb(w.proc.pid)).toBeLessThan(300);
  }, 30_000);

  test("a config body template that renders past its size cap fails with the template's path", async () => {
    const hook = sink(0);
    sinks.push(hook);
    const big =
      "{{#alerts}}{{#alerts}}{{annotations.summary}} padding padding padding padding{{/alerts}}{{/alerts}}";
    const w = await startWorker(
      `templates:\n  wide: { format: text, title: "t", body: "${big}" }\nchannels:\n  hook: { type: webhook, url: "${hook.url}", template: wide }\n`,
    );
    procs.push(w.proc);
    const body = JSON.stringify({
      channels: ["hook"],
      alerts: alerts(300).map((a) => ({ ...a, annotations: { summary: "x".repeat(200) } })),
    });
    const res = await postSigned(w.url, "/jobs/notification", body, "msg_amplify_2");
    expect(res.status).toBe(489);
    const problem = (await res.json()) as {
      error: { code: string; message: string; details: { deliveries: { error: { details: unknown } }[] } };
    };
    expect(problem.error.code).toBe("template_too_large");
    expect(problem.error.message).toContain("templates.wide.body renders past its limit");
    expect(problem.error.details.deliveries[0].error.details).toEqual([
      { path: "templates.wide.body", message: expect.stringContaining("more than") },
    ]);
    expect(hook.seen).toHaveLength(0);
  }, 30_000);
});

describe("hostile producers: an unsigned flood", () => {
  test("ten unsigned 1.1 MB bodies are 401s that move nothing autoscale reads", async () => {
    const w = await startWorker("");
    procs.push(w.proc);
    const big = JSON.stringify({ channels: ["console"], pad: "x".repeat(1_100_000) });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${w.url}/jobs/notification`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: big,
        }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(401));
    const stats = (await (await fetch(`${w.url}/stats`)).json()) as {
      families: Record<string, Record<string, unknown>>;
    };
    expect(stats.families.notification).toMatchObject({
      failed: 0,
      failed_permanent: 0,
      error_rate: 0,
      unauthorized: 10,
      latency_ms: { p50: null, p95: null, p99: null },
    });
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    expect(metrics).not.toMatch(/alertagent_job_duration_seconds_count\{family="notification"\} [1-9]/);
  }, 30_000);
});

describe("hostile producers: churn in a full memory store", () => {
  test("60 jobs during one 6 s job never evict its lease: the redelivery waits, the robot gets one send", async () => {
    const slow = sink(6_000);
    sinks.push(slow);
    const w = await startWorker(
      `store: { kind: memory, max_keys: 100 }\nchannels:\n  slow: { type: webhook, url: "${slow.url}" }\n  fast: { type: console }\n`,
    );
    procs.push(w.proc);
    const job = (channel: string, n: number) =>
      JSON.stringify({
        channels: [channel],
        alerts: [{ labels: { alertname: "Churn", severity: "info", n: String(n) }, annotations: {} }],
      });
    const long = postSigned(w.url, "/jobs/notification", job("slow", 0), "msg_churn_long");
    for (let i = 0; i < 100 && slow.seen.length === 0; i++) await Bun.sleep(20);
    expect(slow.seen).toHaveLength(1);
    for (let i = 1; i <= 60; i++) {
      const r = await postSigned(w.url, "/jobs/notification", job("fast", i), `msg_churn_${i}`);
      expect(r.status).toBe(200);
    }
    const again = await postSigned(w.url, "/jobs/notification", job("slow", 0), "msg_churn_long", 1);
    expect(again.status).toBe(503);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("in_progress");
    expect((await long).status).toBe(200);
    const replay = await postSigned(w.url, "/jobs/notification", job("slow", 0), "msg_churn_long", 2);
    expect(replay.status).toBe(200);
    expect(replay.headers.get("x-idempotent-replay")).toBe("true");
    expect(slow.seen.filter((s) => s.body.message_id === "msg_churn_long")).toHaveLength(1);
  }, 60_000);
});

describe("hostile producers: a job stuck past worker.shutdown_timeout", () => {
  test("SIGTERM with a job stuck on a 15 s webhook exits within timeout + 1 s, naming the abandoned job", async () => {
    const stuck = sink(15_000);
    sinks.push(stuck);
    const w = await startWorker(
      `worker: { shutdown_timeout: 2s }\nchannels:\n  stuck: { type: webhook, url: "${stuck.url}", timeout: 30s }\n`,
    );
    procs.push(w.proc);
    const body = JSON.stringify({
      channels: ["stuck"],
      alerts: [{ labels: { alertname: "Stuck", severity: "info" }, annotations: {} }],
    });
    const answer = postSigned(w.url, "/jobs/notification", body, "msg_stuck_1").catch(() => undefined);
    for (let i = 0; i < 100 && stuck.seen.length === 0; i++) await Bun.sleep(20);
    expect(stuck.seen).toHaveLength(1);
    const t = performance.now();
    w.proc.kill("SIGTERM");
    expect(await w.proc.exited).toBe(0);
    const ms = performance.now() - t;
    expect(ms).toBeGreaterThan(1_900);
    expect(ms).toBeLessThan(3_000);
    const lines = (await new Response(w.proc.stdout).text()).split("\n").filter((l) => l.startsWith("{"));
    const abandoned = lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith("shutdown timeout"));
    expect(abandoned).toMatchObject({ level: "warn", abandoned: ["msg_stuck_1"], in_flight: 1 });
    await answer;
  }, 30_000);
});
