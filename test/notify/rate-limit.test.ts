import { afterAll, describe, expect, test } from "bun:test";
import { nodeDial } from "../../src/entry/node-net.ts";
import { JobError } from "../../src/errors.ts";
import { RateLimiter } from "../../src/notify/rate-limit.ts";
import { statusOf } from "../../src/qstash/outcome.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { tcpStore } from "../../src/store/redis.ts";
import { makeHarness } from "../support/harness.ts";
import { startRedis } from "../support/redis-server.ts";
import { startWebhookSink } from "../support/webhook-sink.ts";

/** A clock the test moves; sleeping advances it. */
function clock(start = Date.UTC(2026, 10, 28, 9, 0, 0)) {
  const c = {
    t: start,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

const PER_MIN = [{ limit: 20, periodMs: 60_000 }];

async function attempt(l: RateLimiter): Promise<number> {
  try {
    await l.acquire("robot-1", PER_MIN, "ops");
    return 0;
  } catch (e) {
    if (!(e instanceof JobError)) throw e;
    expect(statusOf(e)).toBe(429);
    return e.retryAfterS ?? -1;
  }
}

describe("per-robot rate limits shared by every instance", () => {
  test("20 a minute across two instances on one store; the 21st waits with Retry-After", async () => {
    const c = clock();
    const store = new MemoryStore(c.now);
    const [a, b] = [new RateLimiter(store, c.now, c.sleep), new RateLimiter(store, c.now, c.sleep)];
    for (let i = 0; i < 20; i++) expect(await attempt(i % 2 ? a : b)).toBe(0);
    const wait = await attempt(a);
    expect(wait).toBeGreaterThan(55);
    expect(wait).toBeLessThanOrEqual(70);
    c.t += wait * 1000;
    expect(await attempt(b)).toBe(0);
  });

  test("no sliding minute ever holds more than 20 sends, whatever the arrival pattern", async () => {
    const c = clock();
    const store = new MemoryStore(c.now);
    const l = new RateLimiter(store, c.now, c.sleep);
    const sent: number[] = [];
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 600; i++) {
      c.t += Math.floor(rnd() * 4000);
      if ((await attempt(l)) === 0) sent.push(c.t);
    }
    for (let i = 0; i < sent.length; i++) {
      const inWindow = sent.filter((t) => t > sent[i] - 60_000 && t <= sent[i]).length;
      expect(inWindow).toBeLessThanOrEqual(20);
    }
    expect(sent.length).toBeGreaterThan(150);
  });

  test("a send taken ahead (with the dedup claim) but made after its sub-window ended counts when it is made", async () => {
    const c = clock();
    const store = new MemoryStore(c.now);
    const l = new RateLimiter(store, c.now, c.sleep);
    const rates = [{ limit: 5, periodMs: 1000 }];
    const start = c.t;
    const early = l.take("robot-2", rates);
    c.t += 400; // rendering and splitting a big group took this long
    await l.acquire("robot-2", rates, "fs", 1, early);
    for (let i = 0; i < 4; i++) await l.acquire("robot-2", rates, "fs");
    // 1.2 s after the take, 0.8 s after the five sends: the robot's last second still holds all five.
    c.t = start + 1200;
    await l.acquire("robot-2", rates, "fs");
    expect(c.t - start).toBeGreaterThanOrEqual(1400);
  });

  test("a robot marked blocked (it said too fast) is held off for the time it said", async () => {
    const c = clock();
    const store = new MemoryStore(c.now);
    const l = new RateLimiter(store, c.now, c.sleep);
    await l.block("robot-1", 600);
    expect(await attempt(l)).toBe(600);
    c.t += 600_001;
    expect(await attempt(l)).toBe(0);
  });

  test("a wait of a second or two happens in-process instead of a 429", async () => {
    const c = clock();
    const l = new RateLimiter(new MemoryStore(c.now), c.now, c.sleep);
    const perSecond = [{ limit: 1, periodMs: 1000 }];
    await l.acquire("slack-1", perSecond, "sl");
    const before = c.t;
    await l.acquire("slack-1", perSecond, "sl");
    expect(c.t - before).toBeGreaterThan(0);
    expect(c.t - before).toBeLessThanOrEqual(2000);
  });
});

describe("the same budget on a real Redis (two instances, two connections)", () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  test("20 a minute between two instances; the 21st is refused with Retry-After, and the count was given back", async () => {
    redis = await startRedis();
    const prefix = `rl-${Date.now()}:`;
    const [s1, s2] = [
      tcpStore({ url: redis.url, prefix, dial: nodeDial }),
      tcpStore({ url: redis.url, prefix, dial: nodeDial }),
    ];
    try {
      const c = clock(Date.now());
      const [a, b] = [new RateLimiter(s1, c.now, c.sleep), new RateLimiter(s2, c.now, c.sleep)];
      const results = await Promise.all(Array.from({ length: 24 }, (_, i) => attempt(i % 2 ? a : b)));
      expect(results.filter((r) => r === 0)).toHaveLength(20);
      for (const r of results.filter((r) => r !== 0)) expect(r).toBeGreaterThan(50);
      // Refused attempts gave their count back: the sub-window holds exactly the 20 sends.
      expect(await s1.get(`notify:rate:robot-1:60000:${Math.floor(c.t / 10_000)}`)).toBe(20);
      c.t += 70_000;
      expect(await attempt(a)).toBe(0);
    } finally {
      await s1.close();
      await s2.close();
    }
  }, 20_000);
});

describe("Alertmanager repeats handled by two instances at once", () => {
  test("the same repeat reaching two instances at the same moment is sent once", async () => {
    const hook = startWebhookSink();
    const store = new MemoryStore();
    const yaml = `channels:\n  hook: { type: webhook, url: "${hook.url}" }\n`;
    const [h1, h2] = [makeHarness(yaml, { store }), makeHarness(yaml, { store })];
    const payload = {
      version: "4",
      groupKey: '{}:{alertname="Race"}',
      status: "firing",
      receiver: "r",
      alerts: [{ status: "firing", labels: { alertname: "Race" }, fingerprint: "f1" }],
    };
    const answers = await Promise.all([
      h1.job("/jobs/notification", { channels: ["hook"], payload }, { messageId: "peer-1" }),
      h2.job("/jobs/notification", { channels: ["hook"], payload }, { messageId: "peer-2" }),
    ]);
    // One sends; the other is told to come back (503) instead of being swallowed: the send could fail.
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 503]);
    const waiting = answers.findIndex((r) => r.status === 503);
    expect(((await answers[waiting].json()) as { error: { code: string } }).error.code).toBe(
      "channel_unavailable",
    );
    expect(answers[waiting].headers.get("retry-after")).toBeTruthy();
    const [h, id] = waiting === 0 ? [h1, "peer-1"] : [h2, "peer-2"];
    const retry = await h.job(
      "/jobs/notification",
      { channels: ["hook"], payload },
      { messageId: id, retried: 1 },
    );
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { deliveries: { status: string }[] }).deliveries[0].status).toBe(
      "skipped_duplicate",
    );
    expect(hook.requests).toHaveLength(1);
    await hook.stop();
  });
});
