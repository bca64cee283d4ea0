/**
 * End to end with Debian's Alertmanager at work: alerts posted to its API are grouped and sent
 * by its webhook receiver to a QStash-like relay (test/support/qstash-relay.ts), which delivers
 * them to the worker signed as QStash does, retries as QStash does and calls the failure
 * callback; the worker sends to a fake DingTalk robot. Firing, resolved, a reminder after
 * repeat_interval, a reminder after a refused first send, a receiver's max_alerts, a 300-alert Chinese group, and a
 * 23-part group against the robot's 20 messages a minute.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeDingTalk } from "../support/fake-dingtalk.ts";
import { makeHarness, serveHarness } from "../support/harness.ts";
import { type Peer, startAlertmanager } from "../support/peers.ts";
import { alertmanagerViaRelay, type Relay, relayTo, virtualClock } from "../support/qstash-relay.ts";

const clock = virtualClock();
const ding = startFakeDingTalk();
ding.now = clock.now;
const robot = "am-e2e";
const h = makeHarness(
  `channels:\n  ops: { type: dingtalk, webhook: "${ding.webhook(robot)}", max_parts: 30, dedup_window: 2s }\n`,
  { now: clock.now },
);
// The worker on a real port: the relay delivers to it over HTTP.
const worker = serveHarness(h);
const workerUrl = worker.url;
let relay: Relay;
let am: Peer;

beforeAll(async () => {
  relay = relayTo(workerUrl, clock);
  am = await startAlertmanager(
    alertmanagerViaRelay(relay, workerUrl, {
      channels: "ops",
      repeatInterval: "5s",
      capped: { alertname: "E2ECapped", maxAlerts: 3 },
    }),
  );
}, 60_000);

afterAll(async () => {
  ding.now = Date.now;
  await Promise.all([am?.stop(), relay?.stop(), ding.stop(), worker.stop()]);
});

type Labels = Record<string, string>;
async function post(alerts: { labels: Labels; annotations?: Labels; endsAt?: string }[]): Promise<void> {
  const res = await fetch(`${am.url}/api/v2/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(alerts.map((a) => ({ annotations: {}, ...a }))),
  });
  expect(res.status).toBe(200);
}

/** The robot's messages about `name`, waiting until `count` arrived (or the timeout). */
async function messages(name: string, count: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  const of = () => ding.of(robot).filter((m) => m.text.includes(name));
  while (of().length < count && Date.now() < deadline) await Bun.sleep(100);
  await relay.idle();
  return of();
}

describe("Alertmanager → QStash-like relay → worker → DingTalk", () => {
  test("firing, then resolved", async () => {
    await post([{ labels: { alertname: "E2EFiring", severity: "critical", instance: "web-1:9100" } }]);
    const [firing] = await messages("E2EFiring", 1);
    expect(firing.title).toContain("FIRING");
    expect(firing.text).toContain("web-1:9100");
    await post([
      {
        labels: { alertname: "E2EFiring", severity: "critical", instance: "web-1:9100" },
        endsAt: new Date(Date.now() - 1000).toISOString(),
      },
    ]);
    const all = await messages("E2EFiring", 2);
    expect(all.at(-1)?.title ?? "").toContain("RESOLVED");
  }, 40_000);

  test("a reminder after repeat_interval reaches the robot", async () => {
    await post([{ labels: { alertname: "E2ERepeat", severity: "warning", instance: "db-1:9100" } }]);
    expect(await messages("E2ERepeat", 1)).toHaveLength(1);
    const again = await messages("E2ERepeat", 2);
    expect(again.length).toBeGreaterThanOrEqual(2);
  }, 40_000);

  test("the first send refused (310000, dead-lettered): the reminder reaches the robot", async () => {
    ding.fault(robot, () => Response.json({ errcode: 310000, errmsg: "keywords not in content" }), 1);
    await post([{ labels: { alertname: "E2EReminder", severity: "critical", instance: "mq-1:9100" } }]);
    const got = await messages("E2EReminder", 1);
    expect(got).toHaveLength(1);
    const refused = relay.attempts.find((a) => a.status === 489);
    expect(refused).toBeDefined();
    expect(relay.dead).toContain(refused!.messageId);
    const job = (await (await h.request(`/v1/jobs/${refused?.messageId}`)).json()) as Record<string, unknown>;
    expect(job).toMatchObject({ status: "failed" });
  }, 40_000);

  test("a receiver's max_alerts cut the list: the page says how many it left out", async () => {
    await post(
      Array.from({ length: 10 }, (_, i) => ({
        labels: { alertname: "E2ECapped", severity: "warning", instance: `cap-${i}:9100` },
      })),
    );
    const [page] = await messages("E2ECapped", 1);
    expect(page.text.match(/cap-\d:9100/g)).toHaveLength(3);
    expect(page.text).toContain("Alertmanager left 7 more alerts out of this notification");
  }, 40_000);

  test("a 300-alert Chinese group arrives in numbered parts, every alert once, in order", async () => {
    const alerts = Array.from({ length: 300 }, (_, i) => ({
      labels: {
        alertname: "磁盘空间不足E2E",
        severity: "warning",
        instance: `节点-${String(i).padStart(3, "0")}:9100`,
      },
      annotations: {
        summary: "根分区使用率超过 85%",
        description: `节点-${i} 的根分区即将写满，请尽快清理。`,
      },
    }));
    await post(alerts);
    const deadline = Date.now() + 30_000;
    let parts = await messages("磁盘空间不足E2E", 1);
    const total = () => Number(/\(\d+\/(\d+)\)$/.exec(parts[0]?.title ?? "")?.[1] ?? 1);
    while (parts.length < total() && Date.now() < deadline)
      parts = await messages("磁盘空间不足E2E", total());
    expect(parts.length).toBe(total());
    expect(parts.length).toBeGreaterThan(1);
    const text = parts.map((p) => p.text).join("\n");
    const seen = [...text.matchAll(/节点-(\d{3}):9100/g)].map((m) => Number(m[1]));
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i));
    for (const p of parts) expect(p.bytes).toBeLessThanOrEqual(20_000);
  }, 60_000);

  test("23 parts against 20 messages a minute: all arrive within QStash's default retries", async () => {
    const alerts = Array.from({ length: 23 }, (_, i) => ({
      labels: {
        alertname: "E2ELongGroup",
        severity: "critical",
        instance: `host-${String(i).padStart(2, "0")}:9100`,
      },
      annotations: { description: "磁盘".repeat(3000) },
    }));
    // A fresh minute of the robot's budget for this message.
    clock.advance(120_000);
    await post(alerts);
    const parts = await messages("E2ELongGroup", 23, 30_000);
    expect(parts).toHaveLength(23);
    expect(parts.map((p) => /\((\d+)\/23\)$/.exec(p.title ?? "")?.[1])).toEqual(
      Array.from({ length: 23 }, (_, i) => String(i + 1)),
    );
    const tries = relay.attempts.filter(
      (a) => a.destination.includes("/jobs/notification") && a.status === 429,
    );
    expect(tries.length).toBeLessThanOrEqual(3);
    expect(
      relay.dead.filter((id) => relay.attempts.some((a) => a.messageId === id && a.status === 429)),
    ).toEqual([]);
  }, 60_000);
});
