import { afterAll, describe, expect, test } from "bun:test";
import { signedUrl } from "../../src/notify/channels/dingtalk.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { bigGroup, fixture, nastyAlert } from "../support/alert-groups.ts";
import { startFakeDingTalk } from "../support/fake-dingtalk.ts";
import { failureCallback, makeHarness } from "../support/harness.ts";

const ding = startFakeDingTalk();
afterAll(() => ding.stop());

type Body = { deliveries: { channel: string; status: string; parts?: number; error?: { code: string } }[] };
type Problem = { error: { code: string; message: string; details: Body } };

let robots = 0;
/** A fresh robot (its own rate budget) and a harness with a channel for it. */
function setup(opts: { secret?: string; robotSecret?: string; extra?: string; store?: MemoryStore } = {}) {
  const token = `tok${++robots}`;
  const webhook = ding.webhook(token, { secret: opts.robotSecret ?? opts.secret });
  const h = makeHarness(
    `worker: { timezone: Asia/Shanghai }
channels:
  ops:
    type: dingtalk
    webhook: "${webhook}"
${opts.secret ? `    secret: ${opts.secret}\n` : ""}${opts.extra ?? ""}`,
    { store: opts.store },
  );
  return { h, token, webhook };
}

const alert = { labels: { alertname: "HighCPU", severity: "critical" }, startsAt: "2026-11-28T08:00:00Z" };

describe("DingTalk robot: signing", () => {
  test("a signed robot accepts the worker's signature (ms timestamp, HMAC-SHA256, base64, URL-encoded once)", async () => {
    const { h, token } = setup({ secret: "SEC0123456789abcdef" });
    const res = await h.job("/jobs/notification", { channels: ["ops"], alerts: [alert] });
    expect(res.status).toBe(200);
    expect(ding.of(token)).toHaveLength(1);
  });

  test("a wrong secret: the robot answers 310000 under HTTP 200, the job ends 489 (no retry can fix it)", async () => {
    const { h, token } = setup({ secret: "SECwrong", robotSecret: "SECright" });
    const res = await h.job("/jobs/notification", { channels: ["ops"], alerts: [alert] });
    expect(res.status).toBe(489);
    const p = (await res.json()) as Problem;
    expect(p.error.message).toContain("310000");
    expect(p.error.details.deliveries[0]).toMatchObject({
      status: "failed",
      error: { code: "channel_auth_failed" },
    });
    expect(ding.of(token)).toHaveLength(0);
  });

  test("the fake enforces the encoding: a double-encoded or unencoded sign is rejected with 310000", async () => {
    const secret = "SECencoding";
    const webhook = ding.webhook("tok-enc", { secret });
    const post = (url: string) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ msgtype: "text", text: { content: "hi" } }),
      }).then((r) => r.json() as Promise<{ errcode: number }>);
    const good = await signedUrl(webhook, secret, Date.now());
    const sign = decodeURIComponent(new URL(good).searchParams.get("sign") ?? "");
    const ts = new URL(good).searchParams.get("timestamp");
    const twice = `${webhook}&timestamp=${ts}&sign=${encodeURIComponent(encodeURIComponent(sign))}`;
    const raw = `${webhook}&timestamp=${ts}&sign=${sign}`;
    expect((await post(good)).errcode).toBe(0);
    expect((await post(twice)).errcode).toBe(310000);
    // base64 of 32 bytes always ends in "=", and often holds "+" or "/": raw, they do not survive.
    if (/[+]/.test(sign)) expect((await post(raw)).errcode).toBe(310000);
  });

  test("a timestamp over an hour old is refused", async () => {
    const webhook = ding.webhook("tok-old", { secret: "SECold" });
    const url = await signedUrl(webhook, "SECold", Date.now() - 2 * 3_600_000);
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ msgtype: "text", text: { content: "hi" } }),
    });
    expect(((await r.json()) as { errcode: number }).errcode).toBe(310000);
  });
});

describe("DingTalk robot: what the chat shows", () => {
  test("markdown: the title as heading, sections, and @mentions both in `at` and as @mobile in the text", async () => {
    const { h, token } = setup({ extra: "    at: { mobiles: ['13800000000'], user_ids: [ops-lead] }\n" });
    const res = await h.job("/jobs/notification", {
      channels: ["ops"],
      payload: fixture("alertmanager-zh.json"),
    });
    expect(res.status).toBe(200);
    const [m] = ding.of(token);
    expect(m.body.msgtype).toBe("markdown");
    expect(m.title).toBe("🟡 [FIRING:1] 磁盘空间不足");
    expect(m.text).toStartWith("### 🟡 \\[FIRING:1\\] 磁盘空间不足\n");
    expect(ding.mentioned(m)).toEqual(["13800000000"]);
    expect(m.text).toContain("@ops-lead");
    expect(m.body.at).toEqual({ atMobiles: ["13800000000"], atUserIds: ["ops-lead"], isAtAll: false });
  });

  test("Chinese labels and annotations arrive intact, times in worker.timezone", async () => {
    const { h, token } = setup();
    await h.job("/jobs/notification", { channels: ["ops"], payload: fixture("alertmanager-zh.json") });
    const { text } = ding.of(token)[0];
    for (const s of [
      "磁盘空间不足",
      "根分区使用率超过 85%",
      "预计 6 小时内写满",
      "机房: 华东-2",
      "instance: db-03:9100",
    ])
      expect(text).toContain(s);
    expect(text).toContain("Started: 2026-11-28 14:12:00 UTC+8");
    expect(text).toContain("[🔕 Silence](http://alertmanager.example:9093/#/silences/new?filter=");
  });

  test("text msgtype: plain text, no markdown", async () => {
    const { h, token } = setup({ extra: "    msgtype: text\n" });
    await h.job("/jobs/notification", { channels: ["ops"], payload: fixture("alertmanager-mixed.json") });
    const [m] = ding.of(token);
    expect(m.body.msgtype).toBe("text");
    expect(m.text).toStartWith("🟡 [FIRING:1, RESOLVED:1] KubePodCrashLooping\n\nLabels: namespace=payments");
    expect(m.text).toContain("== RESOLVED (1) ==");
  });

  test("actionCard: a button to Alertmanager", async () => {
    const { h, token } = setup({ extra: "    msgtype: actionCard\n" });
    await h.job("/jobs/notification", { channels: ["ops"], payload: fixture("alertmanager-firing.json") });
    const [m] = ding.of(token);
    expect(m.body.msgtype).toBe("actionCard");
    expect((m.body.actionCard as { singleURL: string }).singleURL).toStartWith(
      "http://alertmanager.example:9093/#/alerts?filter=%7Balertname%3D%22HighCPU%22%7D",
    );
  });

  test("actionCard: the button's caption is in the channel's locale", async () => {
    const { h, token } = setup({ extra: "    msgtype: actionCard\n    locale: zh-CN\n" });
    await h.job("/jobs/notification", { channels: ["ops"], payload: fixture("alertmanager-firing.json") });
    const [m] = ding.of(token);
    expect((m.body.actionCard as { singleTitle: string }).singleTitle).toBe("查看");
  });

  test("label values full of markdown and HTML metacharacters cannot break or inject into the message", async () => {
    const { h, token } = setup();
    const res = await h.job("/jobs/notification", { channels: ["ops"], alerts: [nastyAlert()] });
    expect(res.status).toBe(200);
    const { text } = ding.of(token)[0];
    expect(text).toContain("instance: \\*\\*bold\\*\\* \\_it\\_ \\[click\\](http://evil.example)");
    // DingTalk renders no tables or strikethrough: | and ~ stay as they are.
    expect(text).toContain("&lt;font color=red&gt;red&lt;/font&gt; \\`tick\\` |a|b|");
    expect(text).toContain("&lt;script&gt;");
    expect(text).not.toContain("<font color=red>");
    // The description's block markers stay text: no heading, quote or list is created from it.
    expect(text).toContain("\\# heading  \n&gt; quote  \n\\- item  \n1\\. first");
    // The template's own structure is intact.
    expect(text).toContain("#### 🔥 Firing (1)");
    expect(text).toContain("**🔴 Nasty\\_Alert\\*** · CRITICAL");
    expect(text).toContain("[📈 Graph](http://prometheus.example:9090/graph?g0.expr=up%3D%3D0&x=%28a%29)");
  });
});

describe("DingTalk robot: size (20000 bytes)", () => {
  test("a 200-alert Chinese group is split at alert boundaries into numbered parts that each fit", async () => {
    const { h, token } = setup({ extra: "    max_parts: 20\n" });
    const payload = bigGroup(200, { zh: true, resolvedEvery: 10 });
    const res = await h.job("/jobs/notification", { channels: ["ops"], payload });
    expect(res.status).toBe(200);
    const parts = ding.of(token);
    expect(parts.length).toBeGreaterThan(1);
    expect(((await res.json()) as Body).deliveries[0].parts).toBe(parts.length);
    parts.forEach((p, i) => {
      expect(p.bytes).toBeLessThanOrEqual(20_000);
      expect(p.title).toEndWith(`(${i + 1}/${parts.length})`);
    });
    // Every alert is in exactly one part, whole (its block starts and ends in the same part).
    for (const a of payload.alerts) {
      const holding = parts.filter((p) => p.text.includes(`instance: ${a.labels.instance}`));
      expect(holding).toHaveLength(1);
      expect(holding[0].text).toContain(a.annotations.description);
    }
    // Mentions only wake people once: the first part carries `at`, the others do not.
    expect(parts.slice(1).every((p) => p.body.at === undefined)).toBe(true);
  });

  test("the limit is on the request body: quotes and newlines that JSON escapes are counted", async () => {
    const { h, token } = setup({ extra: "    max_parts: 30\n" });
    const payload = bigGroup(120, { zh: true });
    for (const a of payload.alerts)
      a.annotations.description = `"${a.labels.instance}" said "disk full"\n"retry" "later"\n`.repeat(4);
    const res = await h.job("/jobs/notification", { channels: ["ops"], payload });
    expect(res.status).toBe(200);
    const parts = ding.of(token);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.bytes).toBeLessThanOrEqual(20_000);
    // The markdown text alone would have been packed right up to the limit: the bodies were the risk.
    expect(Math.max(...parts.map((p) => p.bytes))).toBeGreaterThan(15_000);
  });

  test("an alert past the limit on its own, with a `](` in a label, is cut at its end: severity, summary and instance stay", async () => {
    const { h, token } = setup();
    const labels: Record<string, string> = { alertname: "Big", severity: "critical", instance: "db-1:9100" };
    for (let i = 0; i < 120; i++) labels[`l${String(i).padStart(3, "0")}`] = "v".repeat(250);
    labels.k_note = "regex foo](bar";
    const res = await h.job("/jobs/notification", {
      channels: ["ops"],
      alerts: [{ labels, annotations: { summary: "disk full" } }],
    });
    expect(res.status).toBe(200);
    const text = ding
      .of(token)
      .map((p) => p.text)
      .join("\n");
    for (const kept of ["CRITICAL", "disk full", "db-1:9100", "l000"]) expect(text).toContain(kept);
    for (const p of ding.of(token)) expect(p.bytes).toBeLessThanOrEqual(20_000);
  });

  test("a label of brackets 750 KB long is cut in linear time: the page goes out", async () => {
    const { h, token } = setup();
    const res = await h.job("/jobs/notification", {
      channels: ["ops"],
      alerts: [{ labels: { alertname: "Brackets", severity: "warning", junk: "[](".repeat(250_000) } }],
    });
    expect(res.status).toBe(200);
    expect(ding.of(token).length).toBeGreaterThan(0);
  });

  // 460101 today; 101002 "message is too long" in older robots' answers (docs/contracts.md).
  for (const [errcode, errmsg] of [
    [460101, "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;"],
    [101002, "message is too long"],
  ] as const)
    test(`a part the robot still refuses as too long (${errcode}) is split smaller and sent, not failed`, async () => {
      const { h, token } = setup();
      ding.fault(token, () => Response.json({ errcode, errmsg }), 1);
      const res = await h.job("/jobs/notification", {
        channels: ["ops"],
        payload: bigGroup(12, { zh: true }),
      });
      expect(res.status).toBe(200);
      const parts = ding.of(token);
      expect(parts.length).toBeGreaterThanOrEqual(2);
      const all = parts.map((p) => p.text).join("\n");
      for (let i = 0; i < 12; i++) expect(all).toContain(`node-${String(i).padStart(3, "0")}:9100`);
    });

  /**
   * 150 alerts to a robot that refuses every piece of part `n` as too long (a limit of its own the
   * worker cannot learn): the job's answer and what the robot took.
   */
  const refusingPart = async (n: number, extra = "") => {
    const { h, token } = setup({ extra: `${extra}    max_parts: 20\n` });
    ding.fault(token, (body) =>
      body.includes(`(${n}/`)
        ? Response.json({ errcode: 460101, errmsg: "description: body 大小不合法;" })
        : undefined,
    );
    const res = await h.job("/jobs/notification", {
      channels: ["ops"],
      payload: bigGroup(150, { zh: true }),
    });
    return { res, parts: ding.of(token) };
  };

  test("a part the robot refuses as too long however it is cut: the parts after it still go, then the job says which failed", async () => {
    const { res, parts: got } = await refusingPart(2);
    expect(res.status).toBe(489);
    expect(JSON.stringify(await res.json())).toContain("message_too_long");
    const titles = got.map((p) => String(p.title));
    const parts = Number(/\(1\/(\d+)\)/.exec(titles[0])?.[1]);
    expect(parts).toBeGreaterThanOrEqual(3);
    // Every part but the refused one arrived.
    expect(titles.map((t) => /\((\d+)\/\d+\)/.exec(t)?.[1]).map(Number)).toEqual(
      Array.from({ length: parts }, (_, i) => i + 1).filter((k) => k !== 2),
    );
  });

  test("a first part refused for good: the next part sent wakes people in its place", async () => {
    const { res, parts } = await refusingPart(1, '    at: { mobiles: ["13800000000"] }\n');
    expect(res.status).toBe(489);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts.map((p) => ding.mentioned(p))).toEqual([["13800000000"], ...parts.slice(1).map(() => [])]);
  });

  // The first delivery: part 1 refused for good, part 2 sent waking people, part 3 failing for now
  // (502); the redelivery: part 1 refused again, or taken this time.
  for (const [taken, when] of [
    [false, "refused again"],
    [true, "taken this time"],
  ] as const)
    test(`a first part refused for good, then a redelivery where it is ${when}: people are woken once`, async () => {
      const { h, token } = setup({ extra: '    at: { mobiles: ["13800000000"] }\n    max_parts: 20\n' });
      let first = true;
      let busy = 1;
      ding.fault(token, (body) =>
        body.includes("(1/") && (first || !taken)
          ? Response.json({ errcode: 460101, errmsg: "description: body 大小不合法;" })
          : body.includes("(3/") && busy-- > 0
            ? new Response("bad gateway", { status: 502 })
            : undefined,
      );
      const job = { channels: ["ops"], payload: bigGroup(150, { zh: true }) };
      expect((await h.job("/jobs/notification", job, { messageId: `msg_wake_${taken}` })).status).toBe(503);
      first = false;
      const again = await h.job("/jobs/notification", job, { messageId: `msg_wake_${taken}`, retried: 1 });
      expect(again.status).toBe(taken ? 200 : 489);
      const parts = ding.of(token);
      expect(parts.some((p) => String(p.title).includes("(1/"))).toBe(taken);
      expect(parts.map((p) => ding.mentioned(p)).filter((m) => m.length)).toEqual([["13800000000"]]);
    });

  test("a first part split again after 460101 wakes people once: only its first piece mentions them", async () => {
    const { h, token } = setup({ extra: '    at: { mobiles: ["13800000000"] }\n    max_parts: 1\n' });
    ding.fault(token, () => Response.json({ errcode: 460101, errmsg: "description: body 大小不合法;" }), 1);
    const res = await h.job("/jobs/notification", { channels: ["ops"], payload: bigGroup(12, { zh: true }) });
    expect(res.status).toBe(200);
    const parts = ding.of(token);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts.map((p) => ding.mentioned(p))).toEqual([["13800000000"], ...parts.slice(1).map(() => [])]);
  });

  test("beyond max_parts the last part summarises the rest, with counts and a link", async () => {
    const { h, token } = setup({ extra: "    max_parts: 3\n" });
    const res = await h.job("/jobs/notification", {
      channels: ["ops"],
      payload: bigGroup(200, { zh: true }),
    });
    expect(res.status).toBe(200);
    const parts = ding.of(token);
    expect(parts).toHaveLength(3);
    const last = parts[2];
    expect(last.title).toEndWith("(3/3)");
    const listed = parts
      .slice(0, 2)
      .reduce((n, p) => n + (p.text.match(/\*\*🔴|\*\*🟡|\*\*🔵/g)?.length ?? 0), 0);
    expect(last.text).toContain(`**${200 - listed} more alerts are not listed here** (${listed} were sent`);
    expect(last.text).toMatch(/By severity: critical \d+ · warning \d+ · info \d+/);
    expect(last.text).toContain("By alertname: 磁盘空间不足 ");
    expect(last.text).toContain(
      "[See every alert in Alertmanager](http://alertmanager.example:9093/#/alerts?",
    );
  });

  test("a redelivery after a partial send sends only the parts not sent yet", async () => {
    const { h, token } = setup({ extra: "    max_parts: 20\n" });
    const body = { channels: ["ops"], payload: bigGroup(120, { zh: true }) };
    ding.fault(token, () => Response.json({ errcode: -1, errmsg: "系统繁忙" }), 1, 2);
    const first = await h.job("/jobs/notification", body, { messageId: "msg_parts" });
    expect(first.status).toBe(503);
    expect(ding.of(token)).toHaveLength(2);
    const second = await h.job("/jobs/notification", body, { messageId: "msg_parts", retried: 1 });
    expect(second.status).toBe(200);
    const parts = ding.of(token);
    const n = parts.length;
    expect(n).toBeGreaterThan(3);
    expect(parts.map((p) => p.title?.match(/\((\d+)\/\d+\)$/)?.[1])).toEqual(
      Array.from({ length: n }, (_, i) => String(i + 1)),
    );
  });
});

describe("DingTalk: a split firing page and its resolve", () => {
  test("a partly sent firing page retried after its resolve was sent: its last parts are not sent after RESOLVED", async () => {
    const { h, token } = setup({ extra: "    max_parts: 20\n" });
    const firing = bigGroup(120, { zh: true });
    const resolved = {
      ...firing,
      status: "resolved",
      alerts: firing.alerts.map((a) => ({ ...a, status: "resolved", endsAt: "2026-11-28T09:00:00Z" })),
    };
    ding.fault(token, () => Response.json({ errcode: -1, errmsg: "系统繁忙" }), 1, 2);
    const first = await h.job(
      "/jobs/notification",
      { channels: ["ops"], payload: firing },
      { messageId: "msg_fp" },
    );
    expect(first.status).toBe(503);
    expect(ding.of(token)).toHaveLength(2);
    await Bun.sleep(5); // the resolve is a later message
    const resolve = await h.job(
      "/jobs/notification",
      { channels: ["ops"], payload: resolved },
      { messageId: "msg_rp" },
    );
    expect(resolve.status).toBe(200);
    const afterResolve = ding.of(token).length;
    const retry = await h.job(
      "/jobs/notification",
      { channels: ["ops"], payload: firing },
      { messageId: "msg_fp", retried: 1 },
    );
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { deliveries: { status: string }[] }).deliveries[0].status).toBe(
      "skipped_obsolete",
    );
    expect(ding.of(token)).toHaveLength(afterResolve);
    expect(ding.of(token).at(-1)?.title).toContain("RESOLVED");
  });
});

describe("DingTalk robot: 20 messages a minute per robot, across instances", () => {
  test("over the budget the worker answers 429 with Retry-After, and the robot never sees the excess", async () => {
    const { h, token } = setup();
    for (let i = 0; i < 20; i++)
      expect((await h.job("/jobs/notification", { channels: ["ops"], alerts: [alert] })).status).toBe(200);
    const before = ding.requests;
    const res = await h.job("/jobs/notification", { channels: ["ops"], alerts: [alert] });
    expect(res.status).toBe(429);
    const after = Number(res.headers.get("retry-after"));
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(70);
    expect(((await res.json()) as Problem).error.code).toBe("channel_rate_limited");
    expect(ding.requests).toBe(before);
    expect(ding.of(token)).toHaveLength(20);
  });

  test("130101 from the robot becomes 429 Retry-After 600, and every instance then holds off", async () => {
    const store = new MemoryStore();
    const { h, token, webhook } = setup({ extra: "    rate: 100/min\n", store });
    for (let i = 0; i < 20; i++) await h.job("/jobs/notification", { channels: ["ops"], alerts: [alert] });
    const res = await h.job("/jobs/notification", { channels: ["ops"], alerts: [alert] });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("600");
    expect(((await res.json()) as Problem).error.message).toContain("130101");
    // Another instance (same store), another channel on the same robot: not even tried.
    const other = makeHarness(
      `channels:\n  ops2: { type: dingtalk, webhook: "${webhook}", rate: 100/min }\n`,
      {
        store,
      },
    );
    const before = ding.requests;
    const res2 = await other.job("/jobs/notification", { channels: ["ops2"], alerts: [alert] });
    expect(res2.status).toBe(429);
    expect(Number(res2.headers.get("retry-after"))).toBeGreaterThan(590);
    expect(ding.requests).toBe(before);
    expect(ding.of(token)).toHaveLength(20);
  });
});

describe("Alertmanager reminders after a failed send reach the robot", () => {
  const payload = (n: number) => ({
    ...fixture("alertmanager-zh.json"),
    groupKey: `{}:{alertname="磁盘空间不足",case="${n}"}`,
  });

  test("the first send refused for good (310000): the reminder is sent, not skipped as its duplicate", async () => {
    const { h, token } = setup();
    ding.fault(token, () => Response.json({ errcode: 310000, errmsg: "keywords not in content" }), 1);
    const first = await h.job(
      "/jobs/notification",
      { channels: ["ops"], payload: payload(1) },
      { messageId: "m-first" },
    );
    expect(first.status).toBe(489);
    const reminder = await h.job(
      "/jobs/notification",
      { channels: ["ops"], payload: payload(1) },
      { messageId: "m-reminder" },
    );
    expect(reminder.status).toBe(200);
    expect(((await reminder.json()) as Body).deliveries[0].status).toBe("sent");
    expect(ding.of(token)).toHaveLength(1);
    // The state the robot received now dedups a later repeat.
    const again = await h.job(
      "/jobs/notification",
      { channels: ["ops"], payload: payload(1) },
      { messageId: "m-again" },
    );
    expect(((await again.json()) as Body).deliveries[0]).toMatchObject({ status: "skipped_duplicate" });
    expect(ding.of(token)).toHaveLength(1);
  });

  test("the first send failing transiently until the failure callback: the reminder meanwhile is sent", async () => {
    const { h, token } = setup();
    ding.fault(token, () => new Response("upstream busy", { status: 500 }), 4);
    for (let retried = 0; retried < 4; retried++) {
      const r = await h.job(
        "/jobs/notification",
        { channels: ["ops"], payload: payload(2) },
        { messageId: "t-first", retried },
      );
      expect(r.status).toBe(503);
    }
    const reminder = await h.job(
      "/jobs/notification",
      { channels: ["ops"], payload: payload(2) },
      { messageId: "t-reminder" },
    );
    expect(((await reminder.json()) as Body).deliveries[0].status).toBe("sent");
    expect(ding.of(token)).toHaveLength(1);
    // QStash gives up on the first message: its failure callback changes nothing the robot saw.
    const dead = await h.job(
      "/jobs/failure",
      failureCallback("t-first", { url: "https://worker.example.com/jobs/notification" }),
    );
    expect(dead.status).toBe(200);
    expect(ding.of(token)).toHaveLength(1);
  });
});

describe("a long message against the robot's 20 messages a minute", () => {
  test("23 parts: 20 now, then a Retry-After that covers the rest, so one retry finishes it", async () => {
    let clock = Date.now();
    ding.now = () => clock;
    try {
      const token = `tok${++robots}`;
      const h = makeHarness(
        `channels:\n  ops: { type: dingtalk, webhook: "${ding.webhook(token)}", max_parts: 30 }\n`,
        { now: () => clock },
      );
      const payload = bigGroup(23, { zh: true });
      for (const a of payload.alerts) a.annotations.description = "磁盘".repeat(3000);
      const first = await h.job(
        "/jobs/notification",
        { channels: ["ops"], payload },
        { messageId: "m-long" },
      );
      expect(first.status).toBe(429);
      expect(ding.of(token)).toHaveLength(20);
      const after = Number(first.headers.get("retry-after"));
      expect(after).toBeGreaterThanOrEqual(60);
      expect(((await first.json()) as Problem).error.message).toContain("3 part(s) to send");
      clock += after * 1000;
      const second = await h.job(
        "/jobs/notification",
        { channels: ["ops"], payload },
        { messageId: "m-long", retried: 1 },
      );
      expect(second.status).toBe(200);
      const parts = ding.of(token);
      expect(parts).toHaveLength(23);
      expect(parts.map((p) => p.title?.match(/\((\d+)\/23\)$/)?.[1])).toEqual(
        Array.from({ length: 23 }, (_, i) => String(i + 1)),
      );
    } finally {
      ding.now = Date.now;
    }
  });

  test("during DingTalk's 10-minute throttle (130101) the answer names the robot's throttle", async () => {
    const { h, token } = setup();
    ding.fault(
      token,
      () => Response.json({ errcode: 130101, errmsg: "send too fast, exceed 20 times per minute" }),
      1,
    );
    const first = await h.job("/jobs/notification", { channels: ["ops"], alerts: [alert] });
    expect(first.status).toBe(429);
    const again = await h.job("/jobs/notification", { channels: ["ops"], alerts: [alert] });
    expect(again.status).toBe(429);
    const { error } = (await again.json()) as Problem;
    expect(error.message).toContain("the robot is throttling this webhook");
    expect(error.message).not.toContain("rate budget");
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThan(500);
  });
});

describe("mentions on an all-clear", () => {
  const resolved = {
    labels: { alertname: "AllClear", severity: "critical" },
    annotations: {},
    status: "resolved",
    startsAt: "2026-11-28T08:00:00Z",
    endsAt: "2026-11-28T08:30:00Z",
  };
  test("a message whose alerts are all resolved wakes nobody, unless at.on_resolved", async () => {
    const quiet = setup({ extra: "    at: { mobiles: ['13800000000'] }\n" });
    await quiet.h.job("/jobs/notification", { channels: ["ops"], alerts: [resolved] });
    const [q] = ding.of(quiet.token);
    expect(q.body.at).toBeUndefined();
    expect(q.text).not.toContain("@13800000000");
    const loud = setup({ extra: "    at: { mobiles: ['13800000000'], on_resolved: true }\n" });
    await loud.h.job("/jobs/notification", { channels: ["ops"], alerts: [resolved] });
    expect(ding.of(loud.token)[0].body.at).toMatchObject({ atMobiles: ["13800000000"] });
  });
});
