/**
 * The generic webhook behind a real reverse proxy: Debian's nginx with a body limit, where many
 * receivers sit (client_max_body_size is 1 MB by default; 100 KB here keeps the alerts small).
 * nginx answers 413 to a larger request and the receiver never sees it: the message is split by
 * its alerts, each part carrying only its own, and nothing is lost.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { type Packer, repack } from "../../src/notify/heal.ts";
import type { PartRecord } from "../../src/notify/records.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { makeHarness } from "../support/harness.ts";
import { PEER_STOP_MS, type Peer, startNginx } from "../support/peers.ts";
import { startWebhookSink } from "../support/webhook-sink.ts";

const LIMIT = 100 * 1024;
const sink = startWebhookSink();
let nginx: Peer;
beforeAll(async () => {
  nginx = await startNginx(new URL(sink.url).origin, "100k");
});
afterAll(async () => {
  await nginx?.stop();
  await sink.stop();
}, PEER_STOP_MS);
beforeEach(() => {
  sink.requests.length = 0;
  sink.answers.length = 0;
});

const host = (k: number) => `host-${String(k).padStart(2, "0")}`;
/** 40 alerts of ~3 KB each: the alerts alone are over nginx's 100 KB, the text as much again. */
const alerts = Array.from({ length: 40 }, (_, k) => ({
  labels: { alertname: "DiskFull", severity: "critical", instance: host(k) },
  annotations: { description: `${host(k)}: ${"the volume is almost full. ".repeat(110)}` },
}));
/** The alerts as one Alertmanager group (repeats of it are deduplicated: a takeover applies). */
const groupOf = (fingerprint: string, description: (k: number) => string) => ({
  version: "4",
  groupKey: '{}:{alertname="DiskFull"}',
  status: "firing",
  receiver: "ops",
  groupLabels: { alertname: "DiskFull" },
  commonLabels: { alertname: "DiskFull", severity: "critical" },
  commonAnnotations: {},
  externalURL: "http://alertmanager.test",
  alerts: alerts.map((x, k) => ({
    status: "firing",
    labels: x.labels,
    annotations: { description: description(k) },
    startsAt: "2026-12-05T01:00:00Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus.test/graph",
    fingerprint: `${fingerprint}${k}`,
  })),
});
const config = () => `channels:\n  hook: { type: webhook, url: "${nginx.url}/hook", format: text }\n`;

type Sent = {
  part: number;
  parts: number;
  body: string;
  alerts: { labels: { instance: string } }[];
};
const sent = () => sink.requests.map((r) => r.body as unknown as Sent);

test("a message nginx refuses as too large (413) is split by its alerts: each part under the limit, every alert once, numbered 1..n", async () => {
  const h = makeHarness(config());
  const res = await h.job("/jobs/notification", { channels: ["hook"], alerts }, { messageId: "msg-413" });
  expect(res.status).toBe(200);

  const got = sent();
  expect(got.length).toBeGreaterThan(1);
  for (const r of sink.requests) expect(JSON.stringify(r.body).length).toBeLessThan(LIMIT);
  // Every alert reached the receiver exactly once, in a part whose text lists it.
  const instances = got.flatMap((r) => r.alerts.map((a) => a.labels.instance));
  expect(instances.sort()).toEqual(alerts.map((a) => a.labels.instance).sort());
  for (const r of got) for (const a of r.alerts) expect(r.body).toContain(a.labels.instance);
  for (const r of got) {
    const others = alerts
      .map((a) => a.labels.instance)
      .filter((i) => !r.alerts.some((a) => a.labels.instance === i));
    for (const i of others) expect(r.body).not.toContain(`${i}:`);
  }
  // Numbered as one message, each part under its own key.
  expect(got.map((r) => `${r.part}/${r.parts}`)).toEqual(got.map((_, k) => `${k + 1}/${got.length}`));
  const keys = sink.requests.map((r) => r.headers["idempotency-key"]);
  expect(new Set(keys).size).toBe(got.length);
  expect(keys[0]).toBe("msg-413:hook:1");

  const record = (await (await h.request("/v1/notifications/msg-413")).json()) as {
    deliveries: { status: string; parts: { sent: boolean; alerts: number }[] }[];
  };
  expect(record.deliveries[0].status).toBe("sent");
  expect(record.deliveries[0].parts.map((p) => p.sent)).toEqual(got.map(() => true));
  expect(record.deliveries[0].parts.reduce((n, p) => n + p.alerts, 0)).toBe(40);
});

test("after the split, a part the receiver cannot take yet is retried alone: the parts it has are not sent again, keys and numbers unchanged", async () => {
  const h = makeHarness(config());
  sink.answers.push(
    () => Response.json({ ok: true }),
    () => Response.json({ error: "busy" }, { status: 503 }),
  );
  const first = await h.job("/jobs/notification", { channels: ["hook"], alerts }, { messageId: "msg-413b" });
  expect(first.status).toBe(503);
  const before = sent();
  const keysBefore = sink.requests.map((r) => r.headers["idempotency-key"]);
  expect(before.length).toBe(2);

  const retry = await h.job(
    "/jobs/notification",
    { channels: ["hook"], alerts },
    { messageId: "msg-413b", retried: 1 },
  );
  expect(retry.status).toBe(200);
  const after = sent().slice(2);
  const n = before[0].parts;
  // Part 2 again under the same key, then the rest; part 1 never twice.
  expect(sink.requests.slice(2).map((r) => r.headers["idempotency-key"])).toEqual(
    Array.from({ length: n - 1 }, (_, k) => `msg-413b:hook:${k + 2}`),
  );
  expect(keysBefore[1]).toBe("msg-413b:hook:2");
  expect([...before.slice(0, 1), ...after].map((r) => `${r.part}/${r.parts}`)).toEqual(
    Array.from({ length: n }, (_, k) => `${k + 1}/${n}`),
  );
  const instances = [...before.slice(0, 1), ...after].flatMap((r) => r.alerts.map((a) => a.labels.instance));
  expect(instances.sort()).toEqual(alerts.map((a) => a.labels.instance).sort());
});

test("one alert alone over the limit cannot be split: 489 message_too_long naming the 413, nothing reached the receiver", async () => {
  const h = makeHarness(config());
  const big = [{ ...alerts[0], annotations: { description: "x".repeat(120 * 1024) } }];
  const res = await h.job("/jobs/notification", { channels: ["hook"], alerts: big });
  expect(res.status).toBe(489);
  const p = (await res.json()) as {
    error: { message: string; details: { deliveries: { error?: { code: string } }[] } };
  };
  expect(p.error.details.deliveries[0].error?.code).toBe("message_too_long");
  expect(p.error.message).toContain("HTTP 413");
  expect(sink.requests).toEqual([]);
});

test("more parts than the channel's max_parts: refused with the 413, not sent in part", async () => {
  const h = makeHarness(
    `channels:\n  hook: { type: webhook, url: "${nginx.url}/hook", format: text, max_parts: 2 }\n`,
  );
  const res = await h.job("/jobs/notification", { channels: ["hook"], alerts });
  expect(res.status).toBe(489);
  expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
    "more than max_parts (2)",
  );
  expect(sink.requests).toEqual([]);
});

test("alerts that share an identity (same labels, no fingerprint) are each sent once, by position", async () => {
  const h = makeHarness(config());
  const twins = [
    ...alerts.slice(0, 39),
    { ...alerts[0], annotations: { description: `twin ${alerts[0].annotations.description}` } },
  ];
  const res = await h.job("/jobs/notification", { channels: ["hook"], alerts: twins });
  expect(res.status).toBe(200);
  const got = sent().flatMap((r) => r.alerts as unknown as { annotations: { description: string } }[]);
  expect(got.length).toBe(40);
  expect(got.filter((a) => a.annotations.description.startsWith("twin ")).length).toBe(1);
});

test("a message several times over the limit is packed by request bytes until it fits: every part numbered as one message", async () => {
  const h = makeHarness(
    `channels:\n  hook: { type: webhook, url: "${nginx.url}/hook", format: text, max_parts: 20 }\n`,
  );
  // ~600 KB: the first packing (half of it) is refused again, and every part is packed smaller before any is sent.
  const many = Array.from({ length: 100 }, (_, k) => ({
    labels: { alertname: "DiskFull", severity: "critical", instance: `node-${k}` },
    annotations: { description: `node-${k}: ${"the volume is almost full. ".repeat(110)}` },
  }));
  const res = await h.job(
    "/jobs/notification",
    { channels: ["hook"], alerts: many },
    { messageId: "msg-600k" },
  );
  expect(res.status, await res.clone().text()).toBe(200);
  const got = sent();
  for (const r of sink.requests) expect(JSON.stringify(r.body).length).toBeLessThan(LIMIT);
  expect(got.map((r) => `${r.part}/${r.parts}`)).toEqual(got.map((_, k) => `${k + 1}/${got.length}`));
  expect(got.flatMap((r) => r.alerts.map((a) => a.labels.instance)).sort()).toEqual(
    many.map((a) => a.labels.instance).sort(),
  );
});

test("a repeat that takes over from a sender that died between parts sends that sender's remaining parts under its keys: every alert once", async () => {
  let t = Date.now();
  const store = new MemoryStore(() => t);
  let accepted = 0;
  let dying: (e: Error) => void = () => {};
  // The first instance's requests go through nginx until one was taken; then the process dies.
  const dies = async (input: RequestInfo | URL, init?: RequestInit) => {
    if (accepted > 0) return new Promise<Response>((_, reject) => (dying = reject));
    const res = await fetch(input, init);
    if (res.ok) accepted++;
    return res;
  };
  const a = makeHarness(config(), { store, now: () => t, fetch: dies });
  const b = makeHarness(config(), { store, now: () => t });
  const first = a.job(
    "/jobs/notification",
    // A reminder re-renders its annotations: the text differs, the group state does not.
    {
      channels: ["hook"],
      payload: groupOf("fp", (k) => `${host(k)}: ${"the volume is almost full. ".repeat(110)}`),
    },
    { messageId: "msg_dies" },
  );
  while (accepted === 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  t += 61_000; // its lease runs out: the process is gone
  const reminder = await b.job(
    "/jobs/notification",
    { channels: ["hook"], payload: groupOf("fp", (k) => `${host(k)}: ${"almost full. ".repeat(150)}`) },
    { messageId: "msg_reminder" },
  );
  expect(reminder.status, await reminder.clone().text()).toBe(200);
  const keys = sink.requests.map((r) => r.headers["idempotency-key"]);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.every((k) => k.startsWith("msg_dies:hook:"))).toBe(true);
  expect(
    sent()
      .flatMap((r) => r.alerts.map((x) => x.labels.instance))
      .sort(),
  ).toEqual(alerts.map((x) => x.labels.instance).sort());
  dying(new Error("the process was killed"));
  await first;
});

test("a second takeover (the first taker died between parts too) finishes the last holder's parts: every alert once, every key new", async () => {
  let t = Date.now();
  const store = new MemoryStore(() => t);
  const hanging: ((e: Error) => void)[] = [];
  /** An instance whose requests go through nginx until `lives` were taken; then its process dies. */
  const instance = (lives: number) => {
    let accepted = 0;
    const fetchUntilDead = async (input: RequestInfo | URL, init?: RequestInit) => {
      if (accepted >= lives) return new Promise<Response>((_, reject) => hanging.push(reject));
      const res = await fetch(input, init);
      if (res.ok) accepted++;
      return res;
    };
    return {
      h: makeHarness(config(), { store, now: () => t, fetch: fetchUntilDead }),
      taken: () => accepted,
    };
  };
  const job = { channels: ["hook"], payload: groupOf("fp2-", (k) => alerts[k].annotations.description) };
  const [a, b, c] = [instance(1), instance(1), instance(99)];
  const running = [a.h.job("/jobs/notification", job, { messageId: "msg_a" })];
  while (a.taken() === 0) await Bun.sleep(5);
  await Bun.sleep(50);
  t += 61_000;
  running.push(b.h.job("/jobs/notification", job, { messageId: "msg_b" }));
  while (b.taken() === 0) await Bun.sleep(5);
  await Bun.sleep(50);
  t += 61_000;
  const last = await c.h.job("/jobs/notification", job, { messageId: "msg_c" });
  expect(last.status, await last.clone().text()).toBe(200);
  const keys = sink.requests.map((r) => r.headers["idempotency-key"]);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.every((k) => k.startsWith("msg_a:hook:"))).toBe(true);
  expect(
    sent()
      .flatMap((r) => r.alerts.map((x) => x.labels.instance))
      .sort(),
  ).toEqual(alerts.map((x) => x.labels.instance).sort());
  for (const die of hanging) die(new Error("the process was killed"));
  await Promise.all(running);
});

test("an alert too large with its text but not alone is sent with its text shortened, visibly, and every other alert too", async () => {
  const h = makeHarness(config());
  // ~60 KB of description: its text and its raw alert together are over nginx's 100 KB, either alone is not.
  const big = {
    labels: { alertname: "DiskFull", severity: "critical", instance: "host-big" },
    annotations: { description: `host-big: ${"the volume is almost full. ".repeat(2300)}` },
  };
  const res = await h.job("/jobs/notification", { channels: ["hook"], alerts: [...alerts.slice(0, 3), big] });
  expect(res.status, await res.clone().text()).toBe(200);
  const got = sent();
  expect(got.flatMap((r) => r.alerts.map((a) => a.labels.instance)).sort()).toEqual(
    ["host-00", "host-01", "host-02", "host-big"].sort(),
  );
  const part = got.find((r) => r.alerts.some((a) => a.labels.instance === "host-big"));
  expect(part?.body).toContain("[truncated]");
  // Shortened, not emptied: the alert's name and its instance still read.
  expect(part?.body).toContain("DiskFull");
  expect(part?.body).toContain("host-big: the volume is almost full.");
  for (const r of sink.requests) expect(JSON.stringify(r.body).length).toBeLessThan(LIMIT);
});

test("a lone alert that a repack left whole is shortened on its next refusal before the channel gives up", () => {
  const part = (at: number[], extra: Partial<PartRecord> = {}): PartRecord => ({
    part: 1,
    parts: 2,
    title: "t",
    body: "b",
    alerts: at.length,
    at,
    size: 1,
    sent: false,
    ...extra,
  });
  // The packer keeps each alert alone and says when the render had to shorten one.
  const packer: Packer = {
    pack: (at) => at.map((a) => [a]),
    render: (at, n, of) => ({ title: `t ${n}/${of}`, body: "b", shortened: at.length === 1 }),
  };
  const again = repack([part([0]), part([1, 2])], 0, [0, 1, 2], 15_000, 5, packer);
  expect(Array.isArray(again)).toBe(true);
  expect((again as PartRecord[])[0].shortened).toBe(true);
  // Shortened once and still refused: that alert is over the receiver's limit alone.
  expect(repack(again as PartRecord[], 0, [0, 1, 2], 7_000, 5, packer)).toBe(
    "one alert alone is over the receiver's limit",
  );
});

test("one alert too large with its text: its text is halved, not emptied, and it goes", async () => {
  const h = makeHarness(config());
  const big = {
    labels: { alertname: "DiskFull", severity: "critical", instance: "host-big" },
    annotations: { description: `host-big: ${"the volume is almost full. ".repeat(2300)}` },
  };
  const res = await h.job("/jobs/notification", { channels: ["hook"], alerts: [big] });
  expect(res.status, await res.clone().text()).toBe(200);
  const [only] = sent();
  expect(only.body).toContain("[truncated]");
  expect(only.body).toContain("host-big: the volume is almost full.");
  expect(only.body.length).toBeGreaterThan(10_000);
});
