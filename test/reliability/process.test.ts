/**
 * The compiled binary under process-level trouble (build first: scripts/build):
 * - SIGTERM with jobs in flight: they finish (200), new connections are refused, exit 0;
 * - a burst at the concurrency limit: 429 (Retry-After no shorter than QStash's backoff), never 5xx, memory bounded, p99 recorded;
 * - kill -9 in the middle of a job and a restart on the same Redis, or on the same SQLite file
 *   (no store section): the redelivery finishes it exactly once — the channel that was sent is
 *   not sent again, and the in-doubt one carries the same Idempotency-Key;
 * - kill -9 after a job was answered, on the embedded default: the redelivery is a replay.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { fixture } from "../support/alert-groups.ts";
import { logLine, postSigned, rssMb, sink, startWorker } from "../support/binary-worker.ts";
import { startRedis } from "../support/redis-server.ts";

let n = 0;
async function publish(url: string, channels: string[], id = `msg_proc_${Date.now()}_${n++}`, retried = 0) {
  const body = JSON.stringify({
    channels,
    alerts: [
      {
        labels: { alertname: "ProcessTest", severity: "warning", n: String(n) },
        annotations: { summary: "process test" },
      },
    ],
  });
  return postSigned(url, "/jobs/notification", body, id, retried);
}

describe("the binary under process-level trouble", () => {
  const sinks: { stop(): void }[] = [];
  afterAll(() => {
    for (const s of sinks) s.stop();
  });

  test("SIGTERM with jobs in flight: they finish, new connections are refused, exit 0", async () => {
    const slow = sink(1500);
    sinks.push(slow);
    const w = await startWorker(`channels:\n  slow: { type: webhook, url: "${slow.url}" }\n`);
    const inflight = [1, 2, 3].map(() => publish(w.url, ["slow"]));
    for (let i = 0; i < 100 && slow.seen.length < 3; i++) await Bun.sleep(20);
    expect(slow.seen.length).toBe(3);
    w.proc.kill("SIGTERM");
    await Bun.sleep(100);
    await expect(publish(w.url, ["slow"])).rejects.toThrow();
    const answers = await Promise.all(inflight);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await w.proc.exited).toBe(0);
    expect(await new Response(w.proc.stdout).text()).toContain('"msg":"stopped"');
  }, 30_000);

  test("a burst over the concurrency limit: 429 (Retry-After no shorter than QStash's backoff), never 5xx, memory bounded", async () => {
    const s = sink(200);
    sinks.push(s);
    const w = await startWorker(
      `worker: { concurrency: 4 }\nchannels:\n  s: { type: webhook, url: "${s.url}" }\n`,
    );
    try {
      const started = performance.now();
      const times: number[] = [];
      const answers = await Promise.all(
        Array.from({ length: 60 }, async () => {
          const t = performance.now();
          const r = await publish(w.url, ["s"]);
          times.push(performance.now() - t);
          return { status: r.status, retryAfter: r.headers.get("retry-after") };
        }),
      );
      const ok = answers.filter((a) => a.status === 200).length;
      const limited = answers.filter((a) => a.status === 429);
      expect(ok).toBeGreaterThanOrEqual(4);
      expect(limited.length).toBeGreaterThan(0);
      expect(ok + limited.length).toBe(60);
      // Not 1 s: raised to QStash's own first backoff, so a retry is not spent while the worker is busy.
      for (const a of limited) expect(a.retryAfter).toBe("13");
      expect(rssMb(w.proc.pid)).toBeLessThan(150);
      times.sort((a, b) => a - b);
      console.log(
        `burst: ${ok} sent, ${limited.length} × 429 in ${Math.round(performance.now() - started)} ms; p99 ${Math.round(times[Math.floor(times.length * 0.99)])} ms; RSS ${Math.round(rssMb(w.proc.pid))} MB`,
      );
      const metrics = await (await fetch(`${w.url}/metrics`)).text();
      expect(metrics).toContain('alertagent_jobs_total{family="notification",outcome="rate_limited"}');
    } finally {
      w.proc.kill("SIGTERM");
      await w.proc.exited;
    }
  }, 30_000);

  /** Kill -9 mid-send, restart on the same store, redeliver: each channel gets the page once. */
  async function killedMidway(store: (sinks: { stop(): void }[]) => Promise<string>, id: string) {
    const fast = sink(0);
    const slow = sink(1500);
    sinks.push(fast, slow);
    const config = `worker: { lease: 2s }\n${await store(sinks)}channels:\n  fast: { type: webhook, url: "${fast.url}" }\n  slow: { type: webhook, url: "${slow.url}" }\n`;
    let w = await startWorker(config);
    const first = publish(w.url, ["fast", "slow"], id).catch((e: Error) => e);
    for (let i = 0; i < 100 && slow.seen.length < 1; i++) await Bun.sleep(20);
    expect(fast.seen.length).toBe(1);
    expect(slow.seen.length).toBe(1);
    await Bun.sleep(100); // the fast channel's step is recorded by now; the slow one is in flight
    w.proc.kill("SIGKILL");
    await w.proc.exited;
    expect(await first).toBeInstanceOf(Error);

    w = await startWorker(config, { cwd: w.cwd });
    try {
      let r = await publish(w.url, ["fast", "slow"], id, 1);
      for (let i = 0; i < 40 && r.status !== 200; i++) {
        expect([503, 429]).toContain(r.status); // the dead delivery's lease, until it expires
        await Bun.sleep(150);
        r = await publish(w.url, ["fast", "slow"], id, 2 + i);
      }
      expect(r.status).toBe(200);
      expect(fast.seen.length).toBe(1);
      expect(new Set(slow.seen.map((s) => s.key)).size).toBe(1);
      expect(slow.seen[0].key).toBe(`${id}:slow:1`);
      const again = await publish(w.url, ["fast", "slow"], id, 9);
      expect(again.headers.get("x-idempotent-replay")).toBe("true");
      expect(fast.seen.length).toBe(1);
    } finally {
      w.proc.kill("SIGTERM");
      await w.proc.exited;
    }
  }

  test("kill -9 mid-job and a restart on the same Redis: the redelivery finishes it exactly once per channel", async () => {
    await killedMidway(async (sinks) => {
      const redis = await startRedis();
      sinks.push({ stop: () => void redis.stop() });
      return `store: { kind: redis, url: "${redis.url}", prefix: "proc:" }\n`;
    }, "msg_killed_midway");
  }, 60_000);

  test("kill -9 mid-job with no store section (SQLite on disk): the restart finishes it exactly once per channel", async () => {
    await killedMidway(async () => "", "msg_killed_midway_sqlite");
  }, 60_000);

  /**
   * Kill -9 while `job` is being sent to a slow webhook (a channel with `channel` extra config),
   * restart on the same data, redeliver: the receiver sees the page twice, under one key, with one body.
   */
  async function killedMidSend(
    job: (startsAt: string) => Record<string, unknown>,
    channel: string,
    id: string,
  ) {
    const slow = sink(1500);
    sinks.push(slow);
    const config = `worker: { lease: 2s }\nchannels:\n  slow: { type: webhook, url: "${slow.url}"${channel} }\n`;
    // The alert started 77 s ago.
    const body = JSON.stringify({ channels: ["slow"], ...job(new Date(Date.now() - 77_000).toISOString()) });
    let w = await startWorker(config);
    const first = postSigned(w.url, "/jobs/notification", body, id).catch((e: Error) => e);
    for (let i = 0; i < 100 && slow.seen.length < 1; i++) await Bun.sleep(20);
    w.proc.kill("SIGKILL");
    await w.proc.exited;
    expect(await first).toBeInstanceOf(Error);
    await Bun.sleep(2100); // a second or two later: another "firing for", were it rendered again
    w = await startWorker(config, { cwd: w.cwd });
    try {
      let r = await postSigned(w.url, "/jobs/notification", body, id, 1);
      for (let i = 0; i < 40 && r.status !== 200; i++) {
        await Bun.sleep(150);
        r = await postSigned(w.url, "/jobs/notification", body, id, 2 + i);
      }
      expect(r.status).toBe(200);
      // Sent twice (the first reached the receiver before the kill), under one key, with one body.
      expect(slow.seen).toHaveLength(2);
      expect(slow.seen[1].key).toBe(slow.seen[0].key);
      expect(JSON.stringify(slow.seen[1].body)).toBe(JSON.stringify(slow.seen[0].body));
    } finally {
      w.proc.kill("SIGTERM");
      await w.proc.exited;
    }
  }

  test("kill -9 mid-send of an Alertmanager page: the resend under the same Idempotency-Key has the same body (its 'firing for' as of the first arrival)", async () => {
    const payload = fixture("alertmanager-firing.json");
    await killedMidSend(
      (startsAt) => ({
        payload: { ...payload, alerts: payload.alerts.slice(0, 1).map((a) => ({ ...a, startsAt })) },
      }),
      "",
      "msg_killed_same_body",
    );
  }, 60_000);

  test("…and so does a job with an alerts list, on a channel that does not deduplicate", async () => {
    await killedMidSend(
      (startsAt) => ({ alerts: [{ labels: { alertname: "ListedDown", instance: "db-2" }, startsAt }] }),
      ", dedup_window: 0s",
      "msg_killed_same_body_list",
    );
  }, 60_000);

  test("kill -9 after a job was answered, with the embedded default: the redelivery is a replay", async () => {
    const body = JSON.stringify({
      status: 489,
      sourceMessageId: "msg_source_dead",
      url: "http://w/jobs/analysis",
    });
    let w = await startWorker("", { embedded: true });
    // The start-up line names the file, and that it was made now.
    expect(await logLine(w.proc, "listening")).toMatchObject({
      store: "sqlite",
      store_path: "./data/alertagent.db",
      store_created: true,
    });
    const first = await postSigned(w.url, "/jobs/failure", body, "msg_answered_then_killed");
    expect(first.status).toBe(200);
    expect(first.headers.get("x-idempotent-replay")).toBeNull();
    w.proc.kill("SIGKILL");
    await w.proc.exited;
    w = await startWorker("", { embedded: true, cwd: w.cwd });
    try {
      expect(await logLine(w.proc, "listening")).toMatchObject({ store_created: false });
      const again = await postSigned(w.url, "/jobs/failure", body, "msg_answered_then_killed", 1);
      expect(again.status).toBe(200);
      expect(again.headers.get("x-idempotent-replay")).toBe("true");
      expect(await again.json()).toEqual(await first.json());
      const ready = (await (await fetch(`${w.url}/health/ready`)).json()) as {
        checks: { store: { detail: string } };
      };
      expect(ready.checks.store.detail).toBe("sqlite");
    } finally {
      w.proc.kill("SIGTERM");
      await w.proc.exited;
    }
  }, 30_000);
});
