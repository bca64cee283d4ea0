/**
 * An Alertmanager HA pair (two of Debian's Alertmanager, clustered on loopback), each sending its
 * webhook through a QStash-like relay to the worker, as production pairs do. The second peer sends,
 * peer_timeout later, what its peer's notification log does not show yet — so after a quick
 * resolve its copy of the firing state arrives after the resolve, as a new message
 * (docs/notifications.md, "An HA peer's late copy"). The robot must read FIRING, RESOLVED: once each.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeDingTalk } from "../support/fake-dingtalk.ts";
import { makeHarness, serveHarness } from "../support/harness.ts";
import { freePort, type Peer, startAlertmanager } from "../support/peers.ts";
import { alertmanagerViaRelay, type Relay, relayTo, virtualClock } from "../support/qstash-relay.ts";

const clock = virtualClock();
const ding = startFakeDingTalk();
ding.now = clock.now;
const robot = "am-ha";
const h = makeHarness(`channels:\n  ops: { type: dingtalk, webhook: "${ding.webhook(robot)}" }\n`, {
  now: clock.now,
});
const worker = serveHarness(h);
const workerUrl = worker.url;
let relay: Relay;
let pair: Peer[] = [];

beforeAll(async () => {
  relay = relayTo(workerUrl, clock);
  const config = alertmanagerViaRelay(relay, workerUrl, {
    channels: "ops",
    repeatInterval: "1h",
  });
  const [a, b] = [freePort(), freePort()];
  pair = await Promise.all([
    startAlertmanager(config, { port: a, peers: [b], peerTimeout: "3s" }),
    startAlertmanager(config, { port: b, peers: [a], peerTimeout: "3s" }),
  ]);
}, 90_000);

afterAll(async () => {
  ding.now = Date.now;
  await Promise.all([...pair.map((p) => p.stop()), relay?.stop(), ding.stop(), worker.stop()]);
}, 30_000);

/** Posts to both peers, as Prometheus does to every Alertmanager it knows. */
async function post(alert: { labels: Record<string, string>; startsAt: string; endsAt?: string }) {
  for (const am of pair) {
    const res = await fetch(`${am.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ annotations: {}, ...alert }]),
    });
    expect(res.status).toBe(200);
  }
}

const until = async (done: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await Bun.sleep(100);
};

describe("an Alertmanager HA pair → relay → worker → DingTalk", () => {
  test("a quick resolve: the robot reads FIRING then RESOLVED once each, though the second peer sends its late copies", async () => {
    const labels = { alertname: "HaQuickResolve", severity: "critical", instance: "web-5:9100" };
    const startsAt = new Date().toISOString();
    const of = () => ding.of(robot).filter((m) => m.text.includes("HaQuickResolve"));
    const published = () =>
      new Set(
        relay.attempts.filter((a) => a.destination.includes("/jobs/notification")).map((a) => a.messageId),
      ).size;
    // The pair settles its gossip before it sends anything.
    await post({ labels, startsAt });
    await until(() => of().length >= 1, 60_000);
    expect(of().map((m) => m.title)).toEqual([expect.stringContaining("FIRING")]);
    await Bun.sleep(1500); // the second peer is now building its own copy of the firing group
    await post({ labels, startsAt, endsAt: new Date().toISOString() });
    // Both peers' messages: the first's firing and resolve, and the second's late copies.
    await until(() => published() >= 4, 40_000);
    await relay.idle();
    expect(published()).toBeGreaterThanOrEqual(3);
    expect(of().map((m) => m.title)).toEqual([
      expect.stringContaining("FIRING"),
      expect.stringContaining("RESOLVED"),
    ]);
  }, 120_000);
});
