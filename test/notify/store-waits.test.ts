/**
 * How many times a notification job waits on the store, with the chat robots users page
 * (DingTalk, WeCom, Feishu, Slack): each has a rate budget shared through the store, and
 * asking it must not add round trips. The store here answers every call after 20 ms (the
 * robots on loopback answer in about one) and counts the waits (test/support/store-spy.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/store/memory.ts";
import { upstashStore } from "../../src/store/redis.ts";
import { fixture } from "../support/alert-groups.ts";
import { startFakeDingTalk } from "../support/fake-dingtalk.ts";
import { startFakeFeishu } from "../support/fake-feishu.ts";
import { startFakeSlack } from "../support/fake-slack.ts";
import { startFakeWeCom } from "../support/fake-wecom.ts";
import { makeHarness } from "../support/harness.ts";
import { startRedis } from "../support/redis-server.ts";
import { around, waitCounting } from "../support/store-spy.ts";
import { startUpstashShim } from "../support/upstash-shim.ts";
import { startWebhookSink } from "../support/webhook-sink.ts";

const ding = startFakeDingTalk();
const wecom = startFakeWeCom();
const feishu = startFakeFeishu();
const slack = startFakeSlack();
const sink = startWebhookSink();
afterAll(() => Promise.all([ding.stop(), wecom.stop(), feishu.stop(), slack.stop(), sink.stop()]));

let n = 0;
/** Channels for four fresh robots named after `id`, each its own rate budget. */
const robotsYaml = (id: string) => `channels:
  ding: { type: dingtalk, webhook: "${ding.webhook(id)}" }
  wecom: { type: wecom, webhook: "${wecom.webhook(id)}" }
  feishu: { type: feishu, webhook: "${feishu.webhook(id)}" }
  slack: { type: slack, webhook: "${slack.webhook(`T0/B0/${id}`)}" }
`;

/**
 * A harness whose channels are fresh robots (each its own rate budget) on a wait-counting store.
 * Its clock stands still: a send taken with the dedup claim never falls in a later sub-window of
 * its budget, which would cost one more round trip (test/notify/rate-limit.test.ts covers that).
 */
function setup(delayMs?: number) {
  const at = Date.now();
  const id = `w${++n}`;
  const counting = waitCounting(new MemoryStore(), delayMs);
  const h = makeHarness(
    `${robotsYaml(id)}  hook: { type: webhook, url: "${sink.url}/${id}" }
`,
    { store: counting.store, now: () => at },
  );
  return { h, id, waits: counting.waits };
}

async function waitsFor(channels: string[], delayMs?: number) {
  const payload = fixture("alertmanager-firing.json");
  const s = setup(delayMs);
  const before = s.waits();
  const res = await s.h.job("/jobs/notification", { channels, payload });
  const body = (await res.json()) as { deliveries: { channel: string; status: string }[] };
  return { ...s, status: res.status, body, waits: s.waits() - before };
}

// One page to every robot first: the measured jobs find their connections open, so channels sent
// in parallel come back within a few ms of each other, well inside one store delay.
beforeAll(async () => {
  const res = await setup().h.job("/jobs/notification", {
    channels: ["ding", "wecom", "feishu", "slack", "hook"],
    payload: fixture("alertmanager-firing.json"),
  });
  expect(res.status).toBe(200);
});

describe("store waits of a notification job to rate-limited robots", () => {
  test("one DingTalk robot: four waits, as a webhook (claim, dedup claim with the rate take, record, answer)", async () => {
    const r = await waitsFor(["ding"]);
    expect(r.status).toBe(200);
    expect(r.body.deliveries).toMatchObject([{ channel: "ding", status: "sent" }]);
    expect(ding.of(r.id)).toHaveLength(1);
    expect(r.waits).toBe(4);
    expect((await waitsFor(["hook"])).waits).toBe(4);
  });

  test("four robots at once, Feishu with two budgets: still four waits, every page sent once", async () => {
    const r = await waitsFor(["ding", "wecom", "feishu", "slack"], 50);
    expect(r.status).toBe(200);
    expect(r.body.deliveries.map((d) => d.status)).toEqual(["sent", "sent", "sent", "sent"]);
    for (const robot of [ding, wecom, feishu]) expect(robot.of(r.id)).toHaveLength(1);
    expect(slack.of(`T0/B0/${r.id}`)).toHaveLength(1);
    expect(r.waits).toBe(4);
  });

  test("an Alertmanager repeat is skipped without taking a send from the robot's budget", async () => {
    const s = setup();
    const payload = fixture("alertmanager-firing.json");
    const first = await s.h.job("/jobs/notification", { channels: ["ding"], payload }, { messageId: "m1" });
    expect(first.status).toBe(200);
    const before = s.waits();
    const repeat = await s.h.job("/jobs/notification", { channels: ["ding"], payload }, { messageId: "m2" });
    expect(((await repeat.json()) as { deliveries: { status: string }[] }).deliveries[0].status).toBe(
      "skipped_duplicate",
    );
    expect(ding.of(s.id)).toHaveLength(1);
    // The repeat took no send from the robot's budget: 19 more pages of new states still go out now.
    for (let i = 0; i < 19; i++) {
      const other = { ...payload, groupKey: `${payload.groupKey}/${i}` };
      const res = await s.h.job("/jobs/notification", { channels: ["ding"], payload: other });
      expect(res.status).toBe(200);
    }
    expect(ding.of(s.id)).toHaveLength(20);
    expect(s.waits() - before).toBe(3 + 19 * 4);
  });

  test("an HA copy that loses the claim gives its rate take back: the robot's 20 a minute stay for real pages", async () => {
    const store = new MemoryStore();
    const at = Date.now();
    const id = `ha${++n}`;
    const yaml = robotsYaml(id);
    // Each copy's send waits until the other copy has answered, so the loser always meets the
    // winner's claim in flight (without it, a winner fast enough to finish first makes the loser
    // a plain repeat, and the race this test is about does not happen).
    let answered = 0;
    let bothSeen!: () => void;
    const other = new Promise<void>((r) => (bothSeen = r));
    const held: typeof fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      await other;
      return fetch(input, init);
    }) as typeof fetch;
    const [h1, h2] = [
      makeHarness(yaml, { store, now: () => at, fetch: held }),
      makeHarness(yaml, { store, now: () => at, fetch: held }),
    ];
    const payload = fixture("alertmanager-firing.json");
    const done = (r: Response) => {
      if (++answered === 1) bothSeen();
      return r;
    };
    const copies = await Promise.all([
      h1.job("/jobs/notification", { channels: ["ding"], payload }, { messageId: "peer-1" }).then(done),
      h2.job("/jobs/notification", { channels: ["ding"], payload }, { messageId: "peer-2" }).then(done),
    ]);
    expect(copies.map((r) => r.status).sort()).toEqual([200, 503]);
    // 19 other groups in the same minute: with the loser's take kept, the last would be refused (429).
    for (let i = 0; i < 19; i++) {
      const other = { ...payload, groupKey: `${payload.groupKey}/ha${i}` };
      const res = await h1.job("/jobs/notification", { channels: ["ding"], payload: other });
      expect(res.status).toBe(200);
    }
    expect(ding.of(id)).toHaveLength(20);
  });

  test("the store failing after the claim: the job answers 503 and nothing is sent, the robot's take failing with it", async () => {
    const id = `f${++n}`;
    let calls = 0;
    // The job's claim goes through; everything after it fails, a little later.
    const failing = around(new MemoryStore(), async (_method, call) => {
      if (++calls > 1) {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error("connection reset by peer");
      }
      return call();
    });
    const h = makeHarness(`channels:\n  ding: { type: dingtalk, webhook: "${ding.webhook(id)}" }\n`, {
      store: failing,
    });
    const res = await h.job("/jobs/notification", {
      channels: ["ding"],
      payload: fixture("alertmanager-firing.json"),
    });
    expect(res.status).toBe(503);
    await new Promise((r) => setTimeout(r, 50));
    expect(ding.of(id)).toHaveLength(0);
  });

  test("over Upstash REST: a page to four robots is at most 8 HTTP requests (calls made together go as one pipeline)", async () => {
    const redis = await startRedis();
    const shim = await startUpstashShim({ redisUrl: redis.url, token: "tok" });
    try {
      const id = `u${++n}`;
      const at = Date.now();
      // A standing clock, as above: no take goes stale between the claim and the send.
      const h = makeHarness(robotsYaml(id), {
        store: upstashStore({ url: shim.url, token: "tok", prefix: `${id}:` }),
        now: () => at,
      });
      const res = await h.job("/jobs/notification", {
        channels: ["ding", "wecom", "feishu", "slack"],
        payload: fixture("alertmanager-firing.json"),
      });
      expect(res.status).toBe(200);
      for (const robot of [ding, wecom, feishu]) expect(robot.of(id)).toHaveLength(1);
      // The claim; the four dedup claims with the rate takes (a read and a write pipeline); each
      // channel's record after its send (fewer when sends end together); the answer.
      expect(shim.requests()).toBeLessThanOrEqual(8);
    } finally {
      await shim.stop();
      await redis.stop();
    }
  });
});
