/**
 * How a job's answer paces QStash's retries (docs/contracts.md#qstash): a known wait is said as at
 * least QStash's own backoff (min(1 day, e^(2.5·n)) s), so a message keeps its few retries for a
 * downstream that has not come back yet, and none is said without one. Through the QStash-like relay (3 retries, its
 * backoff and Retry-After as QStash documents them) on a virtual clock.
 */
import { afterAll, expect, test } from "bun:test";
import { qstashBackoffS } from "../../src/qstash/outcome.ts";
import { makeHarness, serveHarness } from "../support/harness.ts";
import { RELAY_TOKEN, relayTo, virtualClock } from "../support/qstash-relay.ts";

const clock = virtualClock();
const started = clock.now();
/** Down for ten minutes, saying "come back in 3 s" the whole time. */
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () =>
    clock.now() - started < 10 * 60_000
      ? new Response("restarting", { status: 503, headers: { "retry-after": "3" } })
      : Response.json({ ok: true }),
});
const h = makeHarness(
  `channels:\n  hook: { type: webhook, url: "http://127.0.0.1:${receiver.port}/hook" }\n`,
  { now: clock.now },
);
const worker = serveHarness(h);
const relay = relayTo(worker.url, clock);
afterAll(async () => {
  await relay.stop();
  worker.stop();
  receiver.stop(true);
});

test("a receiver down for ten minutes that keeps saying Retry-After: 3 gets the page when it is back, not the DLQ", async () => {
  const res = await fetch(`${relay.url}/v2/publish/${worker.url}/jobs/notification`, {
    method: "POST",
    headers: { authorization: `Bearer ${RELAY_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      channels: ["hook"],
      alerts: [{ labels: { alertname: "DiskFull", severity: "critical" } }],
    }),
  });
  expect(res.ok).toBe(true);
  await relay.idle();
  expect(relay.dead).toEqual([]);
  // Retried on QStash's schedule (12 s, then 2 min 28 s, then 30 min), not every 3 s.
  expect(relay.attempts.map((a) => [a.status, a.retryAfter])).toEqual([
    [503, "13"],
    [503, "149"],
    [503, "1809"],
    [200, null],
  ]);
});

test("a wait longer than QStash's own next backoff is said as it is; a shorter one raised to that backoff", async () => {
  const t = 60 * 60_000;
  let answer = () => new Response("slow down", { status: 429, headers: { "retry-after": "45" } });
  const hook = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => answer() });
  try {
    const h2 = makeHarness(
      `channels:\n  hook: { type: webhook, url: "http://127.0.0.1:${hook.port}/hook" }\n`,
    );
    const job = { channels: ["hook"], alerts: [{ labels: { alertname: "DiskFull" } }] };
    // After the first attempt QStash waits 12 s: 45 s is longer, so it is said.
    const first = await h2.job("/jobs/notification", job, { messageId: "m-pace", retried: 0 });
    expect([first.status, first.headers.get("retry-after")]).toEqual([429, "45"]);
    // After the second it waits 2 min 28 s: 45 s would bring the retry sooner (and a producer's
    // short Upstash-Retry-Delay would not wait out the window at all).
    const second = await h2.job("/jobs/notification", job, { messageId: "m-pace", retried: 1 });
    expect([second.status, second.headers.get("retry-after")]).toEqual([429, "149"]);
    expect(qstashBackoffS(2)).toBeGreaterThan(45);
    answer = () =>
      new Response("down for an hour", { status: 503, headers: { "retry-after": String(t / 1000) } });
    const third = await h2.job("/jobs/notification", job, { messageId: "m-pace", retried: 2 });
    expect([third.status, third.headers.get("retry-after")]).toEqual([503, "3600"]);
  } finally {
    hook.stop(true);
  }
});
