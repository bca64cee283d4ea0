import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/store/memory.ts";
import { fixture } from "../support/alert-groups.ts";
import { makeHarness } from "../support/harness.ts";
import { around } from "../support/store-spy.ts";
import { startWebhookSink, type WebhookSink } from "../support/webhook-sink.ts";

const sinks: WebhookSink[] = [];
const sink = () => {
  const s = startWebhookSink();
  sinks.push(s);
  return s;
};
afterAll(async () => {
  for (const s of sinks) await s.stop();
});

const alert = (over: Record<string, unknown> = {}) => ({
  status: "firing",
  labels: { alertname: "HighCPU", severity: "critical", instance: "10.0.0.11:9100" },
  annotations: { summary: "CPU usage above 90%" },
  startsAt: "2026-11-28T08:00:00Z",
  ...over,
});

type Body = {
  message_id: string;
  deliveries: {
    channel: string;
    status: string;
    attempts: number;
    fallback_for?: string;
    response?: unknown;
  }[];
};
type Problem = { error: { code: string; message: string; details: Body } };

describe("POST /jobs/notification", () => {
  let a: WebhookSink;
  let b: WebhookSink;
  beforeEach(() => {
    a = sink();
    b = sink();
  });
  const hooks = () => `
channels:
  hook-a: { type: webhook, url: "${a.url}", headers: { X-Token: abc } }
  hook-b: { type: webhook, url: "${b.url}" }
  console: { type: console }
templates:
  deploy:
    format: text
    title: "Deploy {{service}} {{version}}"
    body: "{{service}} {{version}} is live; by {{user}}"
`;

  test("delivers to every named channel and answers one record per channel", async () => {
    const h = makeHarness(hooks());
    const res = await h.job(
      "/jobs/notification",
      { channels: ["hook-a", "console"], alerts: [alert()] },
      {
        messageId: "msg_n1",
      },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      message_id: "msg_n1",
      deliveries: [
        { channel: "hook-a", status: "sent", attempts: 1, response: { ok: true } },
        { channel: "console", status: "sent", attempts: 1, response: "printed" },
      ],
    });
    const hook = a.requests[0];
    expect(hook.headers["x-token"]).toBe("abc");
    expect(hook.body).toMatchObject({
      message_id: "msg_n1",
      channel: "hook-a",
      title: "🔴 [FIRING:1] HighCPU",
      format: "markdown",
      alerts: [{ labels: { alertname: "HighCPU" } }],
    });
    expect(hook.body.body).toContain("CPU usage above 90%");
    // The console channel prints a block a person reads: header, title, the body as text.
    expect(h.printed).toHaveLength(1);
    const [head, title, blank, ...body] = h.printed[0].split("\n");
    expect(head).toStartWith("── console · msg_n1 ──");
    expect(title).toBe("🔴 [FIRING:1] HighCPU");
    expect(blank).toBe("");
    expect(body.join("\n")).toContain("CPU usage above 90%");
    expect(h.printed[0]).not.toContain("\\n");
  });

  test("the console channel prints no terminal control sequence an alert carries (screen clears, OSC 52 clipboard writes)", async () => {
    const h = makeHarness(hooks());
    const hostile = "\x1b[2J\x1b[31mFAKE: all clear\x1b]52;c;ZWNobyBwd25lZA==\x07\x9b";
    const res = await h.job("/jobs/notification", {
      channels: ["console"],
      alerts: [{ labels: { alertname: "HighCPU", instance: hostile }, annotations: { summary: hostile } }],
    });
    expect(res.status).toBe(200);
    expect([...h.printed[0]].some((c) => /[\p{Cc}]/u.test(c) && c !== "\n")).toBe(false);
    expect(h.printed[0]).toContain("␛[2J␛[31mFAKE: all clear");
  });

  test("forwards an Alertmanager payload's group to a webhook", async () => {
    const h = makeHarness(hooks());
    const res = await h.job("/jobs/notification", {
      channels: ["hook-a"],
      payload: fixture("alertmanager-mixed.json"),
    });
    expect(res.status).toBe(200);
    expect(a.requests[0].body).toMatchObject({
      title: "🟡 [FIRING:1, RESOLVED:1] KubePodCrashLooping",
      group: { receiver: "alertagent-notify", commonLabels: { namespace: "payments" } },
    });
  });

  test("an unknown channel is a 489 naming it, and nothing is sent", async () => {
    const h = makeHarness(hooks());
    const res = await h.job("/jobs/notification", { channels: ["hook-a", "pager"], alerts: [alert()] });
    expect(res.status).toBe(489);
    expect(res.headers.get("upstash-nonretryable-error")).toBe("true");
    expect(((await res.json()) as Problem).error).toMatchObject({
      code: "unknown_channel",
      message: 'unknown channel "pager"',
    });
    expect(a.requests).toHaveLength(0);
  });

  test("exactly one of alerts, payload or data: none or two is a 489", async () => {
    const h = makeHarness(hooks());
    for (const body of [
      { channels: ["hook-a"] },
      { channels: ["hook-a"], alerts: [alert()], data: { x: 1 } },
    ]) {
      const res = await h.job("/jobs/notification", body);
      expect(res.status).toBe(489);
      expect(((await res.json()) as Problem).error.message).toContain("exactly one of alerts, payload");
    }
  });

  test("a typo in a top-level field is a 489 naming it", async () => {
    const h = makeHarness(hooks());
    const res = await h.job("/jobs/notification", { channels: ["hook-a"], alerts: [alert()], fallbacks: [] });
    expect(res.status).toBe(489);
    expect(((await res.json()) as Problem).error.message).toContain("fallbacks");
  });

  test("an unknown template is a 489 and nothing is sent", async () => {
    const h = makeHarness(hooks());
    const res = await h.job("/jobs/notification", {
      channels: ["hook-a"],
      template: "nope",
      alerts: [alert()],
    });
    expect(res.status).toBe(489);
    expect(((await res.json()) as Problem).error.code).toBe("unknown_template");
    expect(a.requests).toHaveLength(0);
  });

  test("data is rendered with a custom template; the title is the template's", async () => {
    const h = makeHarness(hooks());
    const res = await h.job("/jobs/notification", {
      channels: ["hook-a"],
      template: "deploy",
      data: { service: "api", version: "1.4.2", user: "lin" },
    });
    expect(res.status).toBe(200);
    expect(a.requests[0].body).toMatchObject({
      title: "Deploy api 1.4.2",
      body: "api 1.4.2 is live; by lin",
      format: "text",
      data: { service: "api" },
    });
  });

  test("data nested deeper than 64 levels is a 489 naming data, nothing sent; 64 levels go out", async () => {
    const h = makeHarness(hooks());
    // A body as raw JSON: the test's own JSON.stringify cannot write 100,000 levels either.
    const nested = (levels: number, channels = '"channels":["hook-a"],') =>
      `{${channels}"template":"deploy","data":{"x":${"[".repeat(levels)}"leaf"${"]".repeat(levels)}}}`;
    // 100,000 levels: JSON.stringify overflowed the stack, retried as "cannot reach" the receiver.
    const deep = await h.job("/jobs/notification", nested(100_000));
    expect(deep.status).toBe(489);
    expect(((await deep.json()) as { error: { details: unknown } }).error.details).toEqual([
      { path: "data", message: "nests deeper than 64 levels" },
    ]);
    expect(a.requests).toHaveLength(0);
    const preview = await h.request("/v1/templates/preview", { method: "POST", body: nested(100_000, "") });
    expect(preview.status).toBe(400);
    expect(JSON.stringify(await preview.json())).toContain("nests deeper than 64 levels");
    expect((await h.job("/jobs/notification", nested(63))).status).toBe(200);
  });

  test("data without a custom template is a 489 that says what to do", async () => {
    const h = makeHarness(hooks());
    const res = await h.job("/jobs/notification", { channels: ["hook-a"], data: { x: 1 } });
    expect(res.status).toBe(489);
    expect(((await res.json()) as Problem).error.message).toContain("custom template");
  });

  test("the job's title overrides the default and is a template itself", async () => {
    const h = makeHarness(hooks());
    await h.job("/jobs/notification", {
      channels: ["hook-a"],
      title: "{{count}} alert(s) on the payments cluster",
      alerts: [alert(), alert({ labels: { alertname: "HighCPU", instance: "b" } })],
    });
    expect(a.requests[0].body.title).toBe("2 alert(s) on the payments cluster");
  });
});

describe("exactly once per channel on an at-least-once queue", () => {
  test("a redelivery of a completed message replays its answer and sends nothing again", async () => {
    const a = sink();
    const h = makeHarness(`channels:\n  hook-a: { type: webhook, url: "${a.url}" }\n`);
    const body = { channels: ["hook-a"], alerts: [alert()] };
    const first = await h.job("/jobs/notification", body, { messageId: "msg_once" });
    const again = await h.job("/jobs/notification", body, { messageId: "msg_once", retried: 1 });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get("x-idempotent-replay")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    expect(a.requests).toHaveLength(1);
  });

  test("a transient failure answers 503 after the others are sent; the redelivery sends only that channel", async () => {
    const a = sink();
    const b = sink();
    a.answers.push(() => new Response("upstream down", { status: 502 }));
    const h = makeHarness(`channels:
  hook-a: { type: webhook, url: "${a.url}" }
  hook-b: { type: webhook, url: "${b.url}" }
`);
    const body = { channels: ["hook-a", "hook-b"], alerts: [alert()] };
    const first = await h.job("/jobs/notification", body, { messageId: "msg_partial" });
    expect(first.status).toBe(503);
    const problem = (await first.json()) as Problem;
    expect(problem.error.code).toBe("channel_unavailable");
    expect(problem.error.details.deliveries.map((d) => [d.channel, d.status])).toEqual([
      ["hook-a", "pending"],
      ["hook-b", "sent"],
    ]);
    expect(b.requests).toHaveLength(1);

    const second = await h.job("/jobs/notification", body, { messageId: "msg_partial", retried: 1 });
    expect(second.status).toBe(200);
    const result = (await second.json()) as Body;
    expect(result.deliveries).toMatchObject([
      { channel: "hook-a", status: "sent", attempts: 2 },
      { channel: "hook-b", status: "sent", attempts: 1 },
    ]);
    expect(a.requests).toHaveLength(2);
    expect(b.requests).toHaveLength(1);
  });

  test("a 429 from a webhook answers 429 with its Retry-After", async () => {
    const a = sink();
    a.answers.push(() => new Response("slow down", { status: 429, headers: { "retry-after": "17" } }));
    const h = makeHarness(`channels:\n  hook-a: { type: webhook, url: "${a.url}" }\n`);
    const res = await h.job("/jobs/notification", { channels: ["hook-a"], alerts: [alert()] });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("17");
  });
});

describe("fallback channels", () => {
  test("a permanent failure falls back to the channel's fallback; the job succeeds", async () => {
    const a = sink();
    const b = sink();
    a.answers.push(() => new Response("bad token", { status: 403 }));
    const h = makeHarness(`channels:
  hook-a: { type: webhook, url: "${a.url}", fallback: [hook-b] }
  hook-b: { type: webhook, url: "${b.url}" }
`);
    const res = await h.job("/jobs/notification", { channels: ["hook-a"], alerts: [alert()] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Body).deliveries).toMatchObject([
      { channel: "hook-a", status: "fell_back", attempts: 1 },
      { channel: "hook-b", status: "sent", fallback_for: "hook-a" },
    ]);
    expect(b.requests[0].body.title).toBe("🔴 [FIRING:1] HighCPU");
  });

  test("after a fallback, GET /v1/notifications/:id lists the channel that failed and the one that delivered", async () => {
    const a = sink();
    const b = sink();
    a.answers.push(() => new Response("bad token", { status: 403 }));
    const h = makeHarness(`channels:
  hook-a: { type: webhook, url: "${a.url}", fallback: [hook-b] }
  hook-b: { type: webhook, url: "${b.url}" }
`);
    const res = await h.job(
      "/jobs/notification",
      { channels: ["hook-a"], alerts: [alert()] },
      { messageId: "msg_fb_index" },
    );
    expect(res.status).toBe(200);
    const rec = (await (await h.request("/v1/notifications/msg_fb_index")).json()) as {
      channels: string[];
      deliveries: { channel: string; status: string }[];
    };
    expect(rec.channels).toEqual(["hook-a", "hook-b"]);
    expect(rec.deliveries.map((d) => [d.channel, d.status])).toEqual([
      ["hook-a", "fell_back"],
      ["hook-b", "sent"],
    ]);
  });

  test("the job's fallback list is tried when the channel has none", async () => {
    const a = sink();
    const b = sink();
    a.answers.push(() => new Response("gone", { status: 410 }));
    const h = makeHarness(`channels:
  hook-a: { type: webhook, url: "${a.url}" }
  hook-b: { type: webhook, url: "${b.url}" }
`);
    const res = await h.job("/jobs/notification", {
      channels: ["hook-a"],
      fallback: ["hook-b"],
      alerts: [alert()],
    });
    expect(res.status).toBe(200);
    expect(b.requests).toHaveLength(1);
  });

  test("with no fallback, a permanent failure ends the job 489 after the other channels are sent", async () => {
    const a = sink();
    const b = sink();
    a.answers.push(() => new Response("invalid payload", { status: 400 }));
    const h = makeHarness(`channels:
  hook-a: { type: webhook, url: "${a.url}" }
  hook-b: { type: webhook, url: "${b.url}" }
`);
    const res = await h.job("/jobs/notification", { channels: ["hook-a", "hook-b"], alerts: [alert()] });
    expect(res.status).toBe(489);
    const p = (await res.json()) as Problem;
    expect(p.error.code).toBe("notification_failed");
    expect(p.error.message).toContain("hook-a");
    expect(p.error.details.deliveries.map((d) => d.status)).toEqual(["failed", "sent"]);
    expect(b.requests).toHaveLength(1);
  });

  test("a fallback that is also a channel of the job and was sent is not sent twice", async () => {
    const a = sink();
    const b = sink();
    a.answers.push(() => new Response("no", { status: 404 }));
    const h = makeHarness(`channels:
  hook-a: { type: webhook, url: "${a.url}", fallback: [hook-b] }
  hook-b: { type: webhook, url: "${b.url}" }
`);
    const res = await h.job("/jobs/notification", { channels: ["hook-a", "hook-b"], alerts: [alert()] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Body).deliveries.map((d) => d.status)).toEqual(["fell_back", "sent"]);
    expect(b.requests).toHaveLength(1);
  });

  test("a fallback that fails transiently is retried on redelivery, without resending the failed channel", async () => {
    const a = sink();
    const b = sink();
    a.answers.push(() => new Response("no", { status: 401 }));
    b.answers.push(() => new Response("busy", { status: 503 }));
    const h = makeHarness(`channels:
  hook-a: { type: webhook, url: "${a.url}", fallback: [hook-b] }
  hook-b: { type: webhook, url: "${b.url}" }
`);
    const body = { channels: ["hook-a"], alerts: [alert()] };
    expect((await h.job("/jobs/notification", body, { messageId: "msg_fb" })).status).toBe(503);
    const res = await h.job("/jobs/notification", body, { messageId: "msg_fb", retried: 1 });
    expect(res.status).toBe(200);
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(2);
  });
});

describe("Alertmanager repeats", () => {
  const yaml = (url: string, window = "", more = "") =>
    `channels:\n  hook-a: { type: webhook, url: "${url}"${window ? `, dedup_window: ${window}` : ""}${more ? `, ${more}` : ""} }\n`;
  /** An Alertmanager fixture with `over` set on every alert (and on the group, `group`). */
  const changed = (name: string, over: Record<string, unknown>, group: Record<string, unknown> = {}) => {
    const p = fixture(name);
    return { ...p, ...group, alerts: p.alerts.map((x: Record<string, unknown>) => ({ ...x, ...over })) };
  };

  /** A harness on the clock `now` whose hook answers 500 while `down()`; `titles` is what the hook received. */
  const flakyHook = (now: () => number, down: () => boolean, more = "") => {
    const titles: string[] = [];
    const h = makeHarness(yaml("http://hook.test/in", "", more), {
      now,
      store: new MemoryStore(now),
      fetch: async (_input, init) => {
        if (down()) return new Response("busy", { status: 500 });
        titles.push(JSON.parse(String(init?.body)).title);
        return new Response("ok");
      },
    });
    /** The hook's delivery status for `payload` delivered as `messageId`. */
    const send = async (payload: unknown, messageId: string) =>
      (
        (await (
          await h.job("/jobs/notification", { channels: ["hook-a"], payload }, { messageId })
        ).json()) as Body
      ).deliveries[0].status;
    return { h, titles, send };
  };
  const zhResolved = () =>
    changed(
      "alertmanager-zh.json",
      { status: "resolved", endsAt: "2026-11-28T08:01:04Z" },
      { status: "resolved" },
    );

  test("the same group, status and alerts again within the window is skipped_duplicate", async () => {
    const a = sink();
    const h = makeHarness(yaml(a.url));
    const payload = fixture("alertmanager-firing.json");
    const first = await h.job(
      "/jobs/notification",
      { channels: ["hook-a"], payload },
      { messageId: "msg_am_1" },
    );
    const repeat = await h.job(
      "/jobs/notification",
      { channels: ["hook-a"], payload },
      { messageId: "msg_am_2" },
    );
    expect(first.status).toBe(200);
    expect(((await repeat.json()) as Body).deliveries).toEqual([
      { channel: "hook-a", status: "skipped_duplicate", attempts: 0, duplicate_of: "msg_am_1" } as never,
    ]);
    expect(a.requests).toHaveLength(1);
  });

  test("firing → resolved → firing again is three notifications, not a repeat", async () => {
    const a = sink();
    const h = makeHarness(yaml(a.url));
    const firing = fixture("alertmanager-zh.json");
    const resolved = changed(
      "alertmanager-zh.json",
      { status: "resolved", endsAt: "2026-11-28T07:00:00Z" },
      { status: "resolved" },
    );
    // Firing again is a new episode: a new startsAt.
    const again = changed("alertmanager-zh.json", { startsAt: "2026-11-28T08:00:00Z" });
    for (const payload of [firing, resolved, again]) {
      const res = await h.job("/jobs/notification", { channels: ["hook-a"], payload });
      expect(((await res.json()) as Body).deliveries[0].status).toBe("sent");
    }
    expect(a.requests.map((r) => String(r.body.title))).toEqual([
      "🟡 [FIRING:1] 磁盘空间不足",
      "✅ [RESOLVED:1] 磁盘空间不足",
      "🟡 [FIRING:1] 磁盘空间不足",
    ]);
  });

  test("the same alert firing again in a new episode pages, though its resolve never reached the channel", async () => {
    // send_resolved: false (common for chat robots), or a resolve the channel refused: the last
    // state the channel received is "firing". A new episode has a new startsAt; a reminder does not.
    const a = sink();
    const h = makeHarness(yaml(a.url));
    const firing = fixture("alertmanager-zh.json");
    const again = changed("alertmanager-zh.json", { startsAt: "2026-11-28T08:00:00Z" });
    const statuses: string[] = [];
    for (const payload of [firing, again, again]) {
      const res = await h.job("/jobs/notification", { channels: ["hook-a"], payload });
      statuses.push(((await res.json()) as Body).deliveries[0].status);
    }
    expect(statuses).toEqual(["sent", "sent", "skipped_duplicate"]);
    expect(a.requests).toHaveLength(2);
  });

  test("a firing page retried past its own resolve is skipped as obsolete; a later firing of it still pages", async () => {
    // Each message retries on its own schedule: the resolve can reach the robot first.
    let t = Date.now();
    let down = true;
    const { h, titles: got } = flakyHook(
      () => t,
      () => down,
    );
    const firing = fixture("alertmanager-zh.json");
    const resolved = zhResolved();
    const send = async (payload: unknown, messageId: string, retried = 0) => {
      const res = await h.job(
        "/jobs/notification",
        { channels: ["hook-a"], payload },
        { messageId, retried },
      );
      return { status: res.status, body: (await res.json()) as Body };
    };
    const first = await send(firing, "msg_fire");
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    t += 5_000;
    down = false;
    expect((await send(resolved, "msg_resolve")).body.deliveries[0].status).toBe("sent");
    t += 10_000;
    const retry = await send(firing, "msg_fire", 1);
    expect(retry.status).toBe(200);
    expect(retry.body.deliveries).toEqual([
      { channel: "hook-a", status: "skipped_obsolete", attempts: 1, superseded_by: "msg_resolve" } as never,
    ]);
    // The same alert firing again, published minutes after the resolve (as Prometheus does when it
    // restores an alert's state after a restart: same startsAt).
    t += 3 * 60_000;
    expect((await send(firing, "msg_refire")).body.deliveries[0].status).toBe("sent");
    expect(got).toEqual(["✅ [RESOLVED:1] 磁盘空间不足", "🟡 [FIRING:1] 磁盘空间不足"]);
    const shown = await (await h.request("/v1/notifications/msg_fire")).json();
    expect(JSON.stringify(shown)).toContain('"superseded_by":"msg_resolve"');
  });

  test("a repeat taking over a state whose sender died mid-send goes out under the dead sender's Idempotency-Key", async () => {
    // Two instances on one store; the first dies after its request reached the receiver.
    let t = Date.now();
    const store = new MemoryStore(() => t);
    const keys: string[] = [];
    let dying: (e: Error) => void = () => {};
    const fetch = (dies: boolean) => async (_input: unknown, init?: RequestInit) => {
      keys.push(new Headers(init?.headers).get("idempotency-key") ?? "");
      if (dies) return new Promise<Response>((_, reject) => (dying = reject));
      return new Response("ok");
    };
    const a = makeHarness(yaml("http://hook.test/in"), { store, now: () => t, fetch: fetch(true) });
    const b = makeHarness(yaml("http://hook.test/in"), { store, now: () => t, fetch: fetch(false) });
    const payload = fixture("alertmanager-firing.json");
    const job = { channels: ["hook-a"], payload };
    const first = a.job("/jobs/notification", job, { messageId: "msg_dies" });
    while (keys.length === 0) await new Promise((r) => setTimeout(r, 5));
    t += 61_000; // its lease (worker.lease, 60 s) runs out: the process is gone
    const reminder = await b.job("/jobs/notification", job, { messageId: "msg_reminder" });
    expect(reminder.status, await reminder.clone().text()).toBe(200);
    expect(((await reminder.json()) as Body).deliveries[0].status).toBe("sent");
    expect(keys).toEqual(["msg_dies:hook-a:1", "msg_dies:hook-a:1"]);
    const shown = await (await b.request("/v1/notifications/msg_reminder")).json();
    expect(JSON.stringify(shown)).toContain('"sent_as":"msg_dies"');
    dying(new Error("the process was killed"));
    await first;
  });

  test("an Alertmanager HA peer's late copy of the firing state, sent after the resolve as a new message: obsolete", async () => {
    // Seen with two clustered Alertmanager 0.25: the peer sends, peer_timeout later, a group it
    // built before the resolve; then its copy of the resolve comes too.
    let t = Date.now();
    const { titles, send } = flakyHook(
      () => t,
      () => false,
    );
    const firing = fixture("alertmanager-zh.json");
    const resolved = zhResolved();
    expect(await send(firing, "msg_am1_9")).toBe("sent");
    t += 20_000;
    expect(await send(resolved, "msg_am1_10")).toBe("sent");
    t += 10_000;
    expect(await send(firing, "msg_am2_11")).toBe("skipped_obsolete");
    t += 15_000;
    expect(await send(resolved, "msg_am2_12")).toBe("skipped_duplicate");
    expect(titles).toEqual(["🟡 [FIRING:1] 磁盘空间不足", "✅ [RESOLVED:1] 磁盘空间不足"]);
  });

  test("late_copy_window below a short group_interval: the same episode firing again 10 s after its resolve pages", async () => {
    // One Alertmanager with group_interval: 10s, Prometheus resending the alert (same startsAt)
    // after Alertmanager resolved it: with the default minute it would wait for a reminder.
    let t = Date.now();
    const { titles, send } = flakyHook(
      () => t,
      () => false,
      "late_copy_window: 5s",
    );
    expect(await send(fixture("alertmanager-zh.json"), "msg_gi_1")).toBe("sent");
    t += 10_000;
    expect(await send(zhResolved(), "msg_gi_2")).toBe("sent");
    t += 10_000;
    expect(await send(fixture("alertmanager-zh.json"), "msg_gi_3")).toBe("sent");
    expect(titles).toEqual([
      "🟡 [FIRING:1] 磁盘空间不足",
      "✅ [RESOLVED:1] 磁盘空间不足",
      "🟡 [FIRING:1] 磁盘空间不足",
    ]);
    // 0s turns it off, even within the same millisecond.
    const off = flakyHook(
      () => t,
      () => false,
      "late_copy_window: 0s",
    );
    expect(await off.send(fixture("alertmanager-zh.json"), "msg_gi0_1")).toBe("sent");
    expect(await off.send(zhResolved(), "msg_gi0_2")).toBe("sent");
    expect(await off.send(fixture("alertmanager-zh.json"), "msg_gi0_3")).toBe("sent");
  });

  test("after a partial resolve, an HA peer's late copy of the all-firing state is obsolete; a real change is not", async () => {
    let t = Date.now();
    const { titles, send } = flakyHook(
      () => t,
      () => false,
    );
    const both = fixture("alertmanager-firing.json");
    const partial = {
      ...both,
      alerts: [{ ...both.alerts[0], status: "resolved", endsAt: "2026-11-28T09:00:00Z" }, both.alerts[1]],
    };
    expect(await send(both, "msg_a1")).toBe("sent");
    t += 20_000;
    expect(await send(partial, "msg_a2")).toBe("sent");
    t += 10_000;
    expect(await send(both, "msg_b1")).toBe("skipped_obsolete");
    t += 15_000;
    expect(await send(partial, "msg_b2")).toBe("skipped_duplicate");
    expect(titles).toHaveLength(2);
  });

  test("a re-fire of the same episode a minute and more after its resolve pages (not an HA copy)", async () => {
    let t = Date.now();
    const { titles, send } = flakyHook(
      () => t,
      () => false,
    );
    expect(await send(fixture("alertmanager-zh.json"), "msg_1")).toBe("sent");
    t += 5 * 60_000;
    expect(await send(zhResolved(), "msg_2")).toBe("sent");
    t += 90_000; // Prometheus back after an outage, the alert's startsAt restored
    expect(await send(fixture("alertmanager-zh.json"), "msg_3")).toBe("sent");
    expect(titles).toHaveLength(3);
  });

  test("a new episode is news on an instance whose clock is behind: never obsolete", async () => {
    let t = Date.now();
    const store = new MemoryStore(() => t);
    const hook = (titles: string[]) => async (_input: unknown, init?: RequestInit) => {
      titles.push(JSON.parse(String(init?.body)).title);
      return new Response("ok");
    };
    const titles: string[] = [];
    const fast = makeHarness(yaml("http://hook.test/in"), {
      store,
      now: () => t + 90_000,
      fetch: hook(titles),
    });
    const slow = makeHarness(yaml("http://hook.test/in"), { store, now: () => t, fetch: hook(titles) });
    const job = (payload: unknown) => ({ channels: ["hook-a"], payload });
    expect((await fast.job("/jobs/notification", job(fixture("alertmanager-zh.json")))).status).toBe(200);
    expect((await fast.job("/jobs/notification", job(zhResolved()))).status).toBe(200);
    t += 30_000;
    const again = await slow.job(
      "/jobs/notification",
      job(changed("alertmanager-zh.json", { startsAt: "2026-11-28T08:30:00Z" })),
    );
    expect(((await again.json()) as Body).deliveries[0].status).toBe("sent");
    expect(titles).toHaveLength(3);
  });

  test("an alert joining past Alertmanager's max_alerts (only truncatedAlerts grows) is not a repeat", async () => {
    const a = sink();
    const h = makeHarness(yaml(a.url));
    await h.job("/jobs/notification", { channels: ["hook-a"], payload: fixture("alertmanager-firing.json") });
    const more = { ...fixture("alertmanager-firing.json"), truncatedAlerts: 3 };
    const res = await h.job("/jobs/notification", { channels: ["hook-a"], payload: more });
    expect(((await res.json()) as Body).deliveries[0].status).toBe("sent");
    expect(a.requests).toHaveLength(2);
  });

  test("a firing page whose first delivery died mid-send, redelivered after its resolve was sent: obsolete", async () => {
    let t = Date.now();
    const store = new MemoryStore(() => t);
    const titles: string[] = [];
    let dying: (e: Error) => void = () => {};
    const fetch = (dies: boolean) => async (_input: unknown, init?: RequestInit) => {
      if (dies) return new Promise<Response>((_, reject) => (dying = reject));
      titles.push(JSON.parse(String(init?.body)).title);
      return new Response("ok");
    };
    const a = makeHarness(yaml("http://hook.test/in"), { store, now: () => t, fetch: fetch(true) });
    const b = makeHarness(yaml("http://hook.test/in"), { store, now: () => t, fetch: fetch(false) });
    const firing = fixture("alertmanager-zh.json");
    const resolved = zhResolved();
    const first = a.job(
      "/jobs/notification",
      { channels: ["hook-a"], payload: firing },
      { messageId: "msg_fire" },
    );
    await new Promise((r) => setTimeout(r, 20)); // its send is on the wire; then the process dies
    t += 5_000;
    expect(
      (
        await b.job(
          "/jobs/notification",
          { channels: ["hook-a"], payload: resolved },
          { messageId: "msg_resolve" },
        )
      ).status,
    ).toBe(200);
    t += 61_000; // the dead delivery's lease runs out
    const again = await b.job(
      "/jobs/notification",
      { channels: ["hook-a"], payload: firing },
      { messageId: "msg_fire", retried: 1 },
    );
    expect(((await again.json()) as Body).deliveries[0].status).toBe("skipped_obsolete");
    expect(titles).toEqual(["✅ [RESOLVED:1] 磁盘空间不足"]);
    dying(new Error("the process was killed"));
    await first;
  });

  test("a firing page retried long after the dedup window, past its resolve: still obsolete", async () => {
    let t = Date.now();
    let down = true;
    const { h, titles } = flakyHook(
      () => t,
      () => down,
    );
    const firing = fixture("alertmanager-zh.json");
    const resolved = zhResolved();
    expect(
      (await h.job("/jobs/notification", { channels: ["hook-a"], payload: firing }, { messageId: "msg_f" }))
        .status,
    ).toBe(503);
    t += 5_000;
    down = false;
    expect(
      (await h.job("/jobs/notification", { channels: ["hook-a"], payload: resolved }, { messageId: "msg_r" }))
        .status,
    ).toBe(200);
    t += 30 * 60_000; // QStash's third retry comes about half an hour later; the window is 10 minutes
    const late = await h.job(
      "/jobs/notification",
      { channels: ["hook-a"], payload: firing },
      { messageId: "msg_f", retried: 3 },
    );
    expect(((await late.json()) as Body).deliveries[0].status).toBe("skipped_obsolete");
    // …while the same state again, as a new message after the window, is a reminder and is sent.
    const reminder = await h.job(
      "/jobs/notification",
      { channels: ["hook-a"], payload: resolved },
      { messageId: "msg_r2" },
    );
    expect(((await reminder.json()) as Body).deliveries[0].status).toBe("sent");
    expect(titles).toEqual(["✅ [RESOLVED:1] 磁盘空间不足", "✅ [RESOLVED:1] 磁盘空间不足"]);
  });

  test("a message's first arrival is written once, whatever its number of channels", async () => {
    const a = sink();
    const b = sink();
    const notes: unknown[] = [];
    const store = around(new MemoryStore(), (method, call, args) => {
      if (method === "set" && String(args[0]).endsWith(":@arrived")) notes.push(args[0]);
      return call();
    });
    const h = makeHarness(
      `channels:\n  hook-a: { type: webhook, url: "${a.url}" }\n  hook-b: { type: webhook, url: "${b.url}" }\n`,
      { store },
    );
    const res = await h.job(
      "/jobs/notification",
      { channels: ["hook-a", "hook-b"], payload: fixture("alertmanager-firing.json") },
      { messageId: "msg_two" },
    );
    expect(res.status).toBe(200);
    expect(notes).toEqual(["notification:msg_two:@arrived"]);
  });

  test("an alert changing status inside a group is not a repeat", async () => {
    const a = sink();
    const h = makeHarness(yaml(a.url));
    const mixed = fixture("alertmanager-mixed.json");
    const bothFiring = changed("alertmanager-mixed.json", { status: "firing" });
    await h.job("/jobs/notification", { channels: ["hook-a"], payload: bothFiring });
    await h.job("/jobs/notification", { channels: ["hook-a"], payload: mixed });
    expect(a.requests).toHaveLength(2);
  });

  test("dedup_window: 0 sends every repeat", async () => {
    const a = sink();
    const h = makeHarness(yaml(a.url, "0"));
    const payload = fixture("alertmanager-firing.json");
    await h.job("/jobs/notification", { channels: ["hook-a"], payload });
    await h.job("/jobs/notification", { channels: ["hook-a"], payload });
    expect(a.requests).toHaveLength(2);
  });

  test("a plain list of alerts is never deduplicated (there is no group to compare)", async () => {
    const a = sink();
    const h = makeHarness(yaml(a.url));
    await h.job("/jobs/notification", { channels: ["hook-a"], alerts: [alert()] });
    await h.job("/jobs/notification", { channels: ["hook-a"], alerts: [alert()] });
    expect(a.requests).toHaveLength(2);
  });
});

describe("GET /v1/notifications/:messageId", () => {
  test("shows each delivery with its rendered title and body, the downstream answer and times", async () => {
    const a = sink();
    const h = makeHarness(
      `channels:\n  hook-a: { type: webhook, url: "${a.url}" }\n  console: { type: console }\n`,
    );
    await h.job(
      "/jobs/notification",
      { channels: ["hook-a", "console"], alerts: [alert()] },
      { messageId: "msg_get" },
    );
    const res = await h.request("/v1/notifications/msg_get");
    expect(res.status).toBe(200);
    const rec = (await res.json()) as {
      message_id: string;
      deliveries: {
        channel: string;
        status: string;
        attempts: number;
        parts: { title: string; body: string; sent: boolean; response: unknown }[];
        sent_at: string;
      }[];
    };
    expect(rec.message_id).toBe("msg_get");
    expect(rec.deliveries.map((d) => [d.channel, d.status, d.attempts])).toEqual([
      ["hook-a", "sent", 1],
      ["console", "sent", 1],
    ]);
    const hook = rec.deliveries[0];
    expect(hook.parts[0]).toMatchObject({
      title: "🔴 [FIRING:1] HighCPU",
      sent: true,
      response: { ok: true },
    });
    expect(hook.parts[0].body).toContain("CPU usage above 90%");
    expect(Date.parse(hook.sent_at)).toBeGreaterThan(0);
  });

  test("while the job runs it is shown as processing, not 404; then its deliveries", async () => {
    let answer: () => void = () => {};
    const held = new Promise<void>((r) => {
      answer = r;
    });
    const fetchHeld: typeof fetch = (async () => {
      await held;
      return new Response(JSON.stringify({ ok: true }), { headers: { "content-type": "application/json" } });
    }) as unknown as typeof fetch;
    const h = makeHarness(`channels:\n  hook: { type: webhook, url: "http://hook.test/in" }\n`, {
      fetch: fetchHeld,
    });
    const running = h.job(
      "/jobs/notification",
      { channels: ["hook"], alerts: [alert()] },
      { messageId: "msg_run" },
    );
    await Bun.sleep(50);
    const during = await h.request("/v1/notifications/msg_run");
    expect(during.status).toBe(200);
    expect(await during.json()).toMatchObject({
      message_id: "msg_run",
      status: "processing",
      deliveries: [],
    });
    answer();
    expect((await running).status).toBe(200);
    const after = (await (await h.request("/v1/notifications/msg_run")).json()) as {
      deliveries: { channel: string; status: string }[];
    };
    expect(after.deliveries.map((d) => [d.channel, d.status])).toEqual([["hook", "sent"]]);
  });

  test("an unknown message is a 404", async () => {
    const h = makeHarness();
    expect((await h.request("/v1/notifications/nope")).status).toBe(404);
  });

  test("needs the admin token when one is set", async () => {
    const h = makeHarness("worker: { admin_token: s3cret }\n");
    const refused = await h.request("/v1/notifications/x");
    expect(refused.status).toBe(401);
    // Asking again without the token will not help: not retryable (a QStash signature's 401 is).
    expect(await refused.json()).toMatchObject({ error: { code: "admin_token_required", retryable: false } });
    const ok = await h.request("/v1/notifications/x", { headers: { authorization: "Bearer s3cret" } });
    expect(ok.status).toBe(404);
  });
});

describe("POST /v1/templates/preview", () => {
  test("data missing, empty or free without a template: each a 400 saying what data may be, naming the field", async () => {
    const h = makeHarness("channels:\n  out: { type: console }\n");
    const said = async (body: string) => {
      const r = await h.request("/v1/templates/preview", { method: "POST", body });
      expect(r.status).toBe(400);
      return (
        (await r.json()) as { error: { message: string; details?: { path: string; message: string }[] } }
      ).error;
    };
    expect((await said("{}")).details).toEqual([
      {
        path: "data",
        message: expect.stringMatching(/^is required: an Alertmanager payload, a list of alerts/),
      },
    ]);
    expect((await said('{"data":{"alerts":[]}}')).details).toEqual([
      { path: "data.alerts", message: "needs at least one alert" },
    ]);
    expect((await said('{"data":[{"labels":{"alertname":"A"}}, {"nope":1}]}')).details?.[0].path).toBe(
      "data[1].labels",
    );
    expect((await said('{"data":{}}')).message).toContain("only a custom template renders");
  });

  const yaml = `channels:
  ding: { type: dingtalk, webhook: "https://oapi.dingtalk.com/robot/send?access_token=t" }
  mail: { type: email, smtp: { host: smtp.example.com }, from: "AlertAgent <a@example.com>", to: [o@example.com] }
templates:
  short: { format: markdown, title: "[{{status}}] {{count}}", body: "{{#alerts}}- {{alertname}}\\n{{/alerts}}" }
`;
  const preview = (h: ReturnType<typeof makeHarness>, body: unknown) =>
    h.request("/v1/templates/preview", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  type Previews = {
    previews: {
      channel: string;
      format: string;
      title: string;
      body: string;
      size: number;
      limit: number | null;
      unit: string;
      fits: boolean;
      parts: { title: string; size: number }[];
    }[];
  };

  test("renders a payload for one channel with its size against the limit, sending nothing", async () => {
    const h = makeHarness(yaml);
    const res = await preview(h, { channel: "ding", data: fixture("alertmanager-zh.json") });
    expect(res.status).toBe(200);
    const [p] = ((await res.json()) as Previews).previews;
    expect(p).toMatchObject({ channel: "ding", format: "markdown", limit: 19000, unit: "bytes", fits: true });
    expect(p.title).toBe("🟡 [FIRING:1] 磁盘空间不足");
    expect(p.body).toContain("根分区使用率超过 85%");
    expect(p.size).toBeGreaterThan(new TextEncoder().encode(p.body).length);
    expect(p.parts).toHaveLength(1);
  });

  test("without a channel, renders for every configured channel in its own format", async () => {
    const h = makeHarness(yaml);
    const res = await preview(h, { data: [alert()] });
    const previews = ((await res.json()) as Previews).previews;
    expect(previews.map((p) => [p.channel, p.format])).toEqual([
      ["ding", "markdown"],
      ["mail", "html"],
    ]);
    expect(previews[1].body).toContain("<!DOCTYPE html>");
    expect(previews[1].limit).toBeNull();
  });

  test("a named custom template and a format", async () => {
    const h = makeHarness(yaml);
    const res = await preview(h, { channel: "ding", template: "short", data: { alerts: [alert()] } });
    const [p] = ((await res.json()) as Previews).previews;
    expect(p.title).toBe("[firing] 1");
    expect(p.body).toBe("- HighCPU");
  });

  test("bad data is a 400 naming the path; an unknown channel a 404", async () => {
    const h = makeHarness(yaml);
    const bad = await preview(h, { data: [{ labels: {} }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Problem).error.message).toContain("data[0].labels");
    expect((await preview(h, { channel: "nope", data: [alert()] })).status).toBe(404);
  });
});

describe("metrics", () => {
  test("counts deliveries by channel, type and status, and times each channel", async () => {
    const a = sink();
    a.answers.push(() => new Response("no", { status: 400 }));
    const h = makeHarness(
      `channels:\n  hook-a: { type: webhook, url: "${a.url}" }\n  console: { type: console }\n`,
    );
    await h.job("/jobs/notification", { channels: ["hook-a", "console"], alerts: [alert()] });
    const text = await (await h.request("/metrics")).text();
    expect(text).toContain(
      'alertagent_notifications_total{channel="console",type="console",status="sent"} 1',
    );
    expect(text).toContain(
      'alertagent_notifications_total{channel="hook-a",type="webhook",status="failed"} 1',
    );
    expect(text).toContain('alertagent_notification_duration_seconds_count{channel="console"} 1');
  });
});
