import { afterAll, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/store/memory.ts";
import { bigGroup, fixture, nastyAlert } from "../support/alert-groups.ts";
import { startFakeFeishu } from "../support/fake-feishu.ts";
import { injectedMention } from "../support/fake-robot.ts";
import { startFakeSlack } from "../support/fake-slack.ts";
import { makeHarness } from "../support/harness.ts";

const feishu = startFakeFeishu();
const slack = startFakeSlack();
afterAll(async () => {
  await feishu.stop();
  await slack.stop();
});

type Problem = { error: { code: string; message: string } };
let n = 0;
const id = () => `hook${++n}`;
const alert = { labels: { alertname: "HighCPU", severity: "critical", instance: "10.0.0.11:9100" } };

describe("Feishu bot", () => {
  test("a signed interactive card: timestamp and sign in the body, a red header for critical", async () => {
    const hook = id();
    const h = makeHarness(`channels:
  fs: { type: feishu, webhook: "${feishu.webhook(hook, { secret: "fs-secret" })}", secret: fs-secret }
`);
    const res = await h.job("/jobs/notification", {
      channels: ["fs"],
      payload: fixture("alertmanager-firing.json"),
    });
    expect(res.status).toBe(200);
    const [m] = feishu.of(hook);
    expect(m.body.msg_type).toBe("interactive");
    expect(m.body.timestamp).toMatch(/^\d{10}$/);
    expect((m.body.card as { header: { template: string } }).header.template).toBe("red");
    expect(m.title).toBe("🔴 [FIRING:2] HighCPU");
    // lark_md renders no headings, quotes or lists: sections are bold lines, items "• ".
    expect(m.text).toContain("**🔥 Firing (2)**");
    expect(m.text).toContain("• instance: 10.0.0.11:9100");
    expect(m.text).not.toMatch(/^(#|> |- )/m);
  });

  test("mentions (at): on the first part of a firing page, in each type's own form; an all-clear wakes nobody", async () => {
    const hooks = { interactive: id(), post: id(), text: id() };
    const h = makeHarness(
      `channels:\n${Object.entries(hooks)
        .map(
          ([type, hook]) =>
            `  fs-${type}: { type: feishu, webhook: "${feishu.webhook(hook)}", msg_type: ${type}, max_parts: 3, at: { user_ids: [ou_3f9a], all: true } }`,
        )
        .join("\n")}\n`,
    );
    const channels = Object.keys(hooks).map((t) => `fs-${t}`);
    const big = { ...bigGroup(200), groupKey: `at-${id()}` };
    expect((await h.job("/jobs/notification", { channels, payload: big })).status).toBe(200);
    for (const hook of Object.values(hooks)) {
      const [first, ...rest] = feishu.of(hook);
      expect(feishu.mentioned(first), hook).toEqual(["ou_3f9a", "all"]);
      expect(rest.length, hook).toBeGreaterThan(0);
      for (const m of rest) expect(feishu.mentioned(m), hook).toEqual([]);
    }
    const resolved = fixture("alertmanager-firing.json");
    const clear = {
      ...resolved,
      groupKey: `at-${id()}`,
      status: "resolved",
      alerts: resolved.alerts.map((a) => ({ ...a, status: "resolved", endsAt: "2026-12-05T08:30:00Z" })),
    };
    expect((await h.job("/jobs/notification", { channels, payload: clear })).status).toBe(200);
    for (const hook of Object.values(hooks))
      expect(feishu.mentioned(feishu.of(hook).at(-1) as (typeof feishu.received)[number])).toEqual([]);
  });

  test("a wrong secret is refused with 19021: the job ends 489", async () => {
    const hook = id();
    const h = makeHarness(`channels:
  fs: { type: feishu, webhook: "${feishu.webhook(hook, { secret: "right" })}", secret: wrong }
`);
    const res = await h.job("/jobs/notification", { channels: ["fs"], alerts: [alert] });
    expect(res.status).toBe(489);
    expect(((await res.json()) as Problem).error.message).toContain("19021");
  });

  test("post and text message types", async () => {
    const [p, t] = [id(), id()];
    const h = makeHarness(`channels:
  fs-post: { type: feishu, webhook: "${feishu.webhook(p)}", msg_type: post }
  fs-text: { type: feishu, webhook: "${feishu.webhook(t)}", msg_type: text }
`);
    await h.job("/jobs/notification", {
      channels: ["fs-post", "fs-text"],
      payload: fixture("alertmanager-zh.json"),
    });
    expect(feishu.of(p)[0].title).toBe("🟡 [FIRING:1] 磁盘空间不足");
    expect(feishu.of(p)[0].text).toContain("根分区使用率超过 85%");
    expect(feishu.of(t)[0].text).toStartWith("🟡 [FIRING:1] 磁盘空间不足\n\n== FIRING (1) ==");
  });

  test("lark_md escaping: a label cannot @everyone or format", async () => {
    const hook = id();
    const h = makeHarness(`channels:\n  fs: { type: feishu, webhook: "${feishu.webhook(hook)}" }\n`);
    await h.job("/jobs/notification", { channels: ["fs"], alerts: [nastyAlert()] });
    const { text } = feishu.of(hook)[0];
    expect(text).toContain("&#60;at id=all&#62;&#60;/at&#62;");
    expect(text).toContain("&#42;&#42;bold&#42;&#42;");
    expect(text).not.toContain("<at id=all>");
  });

  test("a 200-alert group is split into bodies under 20 KB", async () => {
    const hook = id();
    const h = makeHarness(
      `channels:\n  fs: { type: feishu, webhook: "${feishu.webhook(hook)}", max_parts: 30 }\n`,
    );
    const res = await h.job("/jobs/notification", { channels: ["fs"], payload: bigGroup(200, { zh: true }) });
    expect(res.status).toBe(200);
    const parts = feishu.of(hook);
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(p.bytes).toBeLessThanOrEqual(20 * 1024);
  });

  test("11232 (frequency limited) becomes 429 with Retry-After", async () => {
    const hook = id();
    const h = makeHarness(
      `channels:\n  fs: { type: feishu, webhook: "${feishu.webhook(hook)}", rate: 100/s }\n`,
    );
    const answers = await Promise.all(
      Array.from({ length: 7 }, () => h.job("/jobs/notification", { channels: ["fs"], alerts: [alert] })),
    );
    const limited = answers.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].headers.get("retry-after")).toBe("60");
    expect(feishu.of(hook)).toHaveLength(5);
  });

  test("the platform's HTTP 429 (99991400) is a wait of x-ogw-ratelimit-reset, then the card goes once", async () => {
    const hook = id();
    let later = 0;
    const now = () => Date.now() + later;
    const h = makeHarness(`channels:\n  fs: { type: feishu, webhook: "${feishu.webhook(hook)}" }\n`, {
      now,
      store: new MemoryStore(now),
    });
    feishu.fault(hook, feishu.gatewayLimit(20), 1);
    const job = { channels: ["fs"], alerts: [alert] };
    const first = await h.job("/jobs/notification", job, { messageId: "fs-gw-1" });
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("20");
    expect(((await first.json()) as Problem & { error: { retryable: boolean } }).error.retryable).toBe(true);
    // QStash comes back after the Retry-After; the bot is held until then.
    later = 21_000;
    const again = await h.job("/jobs/notification", job, { messageId: "fs-gw-1", retried: 1 });
    expect(again.status).toBe(200);
    expect(feishu.of(hook)).toHaveLength(1);
  });

  test("9499 (a body over 20 KB) is too long: the message is split smaller and sent", async () => {
    const hook = id();
    const h = makeHarness(`channels:\n  fs: { type: feishu, webhook: "${feishu.webhook(hook)}" }\n`);
    // As if the bot counted more than the worker measured: the first, whole body is refused.
    feishu.fault(hook, feishu.tooLarge, 1);
    const res = await h.job("/jobs/notification", { channels: ["fs"], payload: bigGroup(30) });
    expect(res.status).toBe(200);
    expect(feishu.of(hook).length).toBeGreaterThan(1);
  });

  test("9499 on a small body (a bad request, not its size): permanent at once, not split into more requests", async () => {
    const hook = id();
    const h = makeHarness(`channels:\n  fs: { type: feishu, webhook: "${feishu.webhook(hook)}" }\n`);
    feishu.fault(hook, () => Response.json({ code: 9499, msg: "Bad Request" }), 10);
    const before = feishu.requests;
    const res = await h.job("/jobs/notification", { channels: ["fs"], alerts: [alert] });
    expect(res.status).toBe(489);
    const problem = JSON.stringify(await res.json());
    expect(problem).toContain("9499");
    expect(problem).not.toContain("message_too_long");
    expect(feishu.requests - before).toBe(1);
  });

  test("a redirect (an SSO gateway in front) is not followed: 489 channel_redirected; a 409 is a wait", async () => {
    const hook = id();
    const h = makeHarness(`channels:\n  fs: { type: feishu, webhook: "${feishu.webhook(hook)}" }\n`);
    feishu.fault(
      hook,
      () =>
        new Response("Redirecting", {
          status: 302,
          headers: { location: "https://sso.example.com/login?ticket=t1" },
        }),
      1,
    );
    const res = await h.job("/jobs/notification", { channels: ["fs"], alerts: [alert] });
    expect(res.status).toBe(489);
    expect(JSON.stringify(await res.json())).toContain("channel_redirected");
    feishu.fault(hook, () => new Response("conflict", { status: 409 }), 1);
    const busy = await h.job("/jobs/notification", { channels: ["fs"], alerts: [alert] });
    expect(busy.status).toBe(503);
  });

  test("the default budget (5/s) spaces sends out instead of hitting 11232", async () => {
    const hook = id();
    const h = makeHarness(`channels:\n  fs: { type: feishu, webhook: "${feishu.webhook(hook)}" }\n`);
    const answers = await Promise.all(
      Array.from({ length: 7 }, () => h.job("/jobs/notification", { channels: ["fs"], alerts: [alert] })),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(7).fill(200));
    expect(feishu.of(hook)).toHaveLength(7);
  });
});

describe("Slack incoming webhook", () => {
  test("Block Kit: a header with the title, mrkdwn sections; the body `ok` is success", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(`channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}" }\n`);
    const res = await h.job("/jobs/notification", {
      channels: ["sl"],
      payload: fixture("alertmanager-mixed.json"),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { deliveries: { response: string }[] }).deliveries[0].response).toBe("ok");
    const [m] = slack.of(hook);
    expect(m.title).toBe("🟡 [FIRING:1, RESOLVED:1] KubePodCrashLooping");
    expect(m.text).toContain("*🔥 Firing (1)*");
    expect(m.text).toContain("🟡 *KubePodCrashLooping* · WARNING — Pod is crash looping.");
    expect(m.text).toContain("|📈 Graph>");
  });

  test("<!channel>, <@U…> and <url|text> in label values arrive escaped", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(`channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}" }\n`);
    await h.job("/jobs/notification", { channels: ["sl"], alerts: [nastyAlert()] });
    const { text } = slack.of(hook)[0];
    expect(text).toContain("&lt;!channel&gt;");
    expect(text).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; ~strike~");
    expect(text).not.toContain("<!channel>");
  });

  test("a 200-alert group: every part within 50 blocks and 3000-character sections", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(
      `channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}", max_parts: 50, rate: 50/s }\n`,
    );
    const res = await h.job("/jobs/notification", { channels: ["sl"], payload: bigGroup(200) });
    expect(res.status).toBe(200);
    expect(slack.of(hook).length).toBeGreaterThan(2);
  });

  test("a long title on a page of several parts: each header keeps its part number within Slack's 150 characters", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(
      `channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}", rate: 50/s }\n`,
    );
    const payload = bigGroup(200);
    payload.groupLabels = { service: `payments-gateway-${"shanghai-production-".repeat(7)}` };
    const res = await h.job("/jobs/notification", { channels: ["sl"], payload });
    expect(res.status).toBe(200);
    const titles = slack.of(hook).map((m) => m.title);
    expect(titles.length).toBeGreaterThan(1);
    titles.forEach((t, i) => {
      expect([...String(t)].length).toBeLessThanOrEqual(150);
      expect(t).toContain(`(${i + 1}/${titles.length})`);
    });
  });

  test("a description of several lines is quoted line by line (Slack quotes one line per '>')", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(`channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}" }\n`);
    const description = "Disk almost full.\nRun: du -sh /var/log\nThen rotate the logs.";
    await h.job("/jobs/notification", {
      channels: ["sl"],
      alerts: [{ ...alert, annotations: { description } }],
    });
    const { text } = slack.of(hook)[0];
    expect(text).toContain(">Disk almost full.\n>Run: du -sh /var/log\n>Then rotate the logs.\n");
  });

  test("a job title that renders empty: the default title is the header, one message", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(`channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}" }\n`);
    const res = await h.job("/jobs/notification", {
      channels: ["sl"],
      title: "{{#data}}{{name}}{{/data}}",
      alerts: [alert],
    });
    expect(res.status).toBe(200);
    expect(slack.of(hook).map((m) => m.title)).toEqual(["🔴 [FIRING:1] HighCPU"]);
  });

  test("free data whose title renders empty: sections only, no empty header Slack would refuse", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(`templates:
  deploy: { format: markdown, title: "{{service}}", body: "version {{version}} is out" }
channels:
  sl: { type: slack, webhook: "${slack.webhook(hook)}", template: deploy }
`);
    const res = await h.job("/jobs/notification", { channels: ["sl"], data: { version: "1.2.3" } });
    expect(res.status).toBe(200);
    expect(slack.of(hook).map((m) => m.text)).toEqual(["version 1.2.3 is out"]);
  });

  test("a line over 3000 characters is cut between escapes and links, never inside one", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(`channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}" }\n`);
    // A quoted line whose 3000th character falls inside "&amp;", and a graph link long enough
    // (a PromQL expression in its URL) that the runbook link after it crosses the 3000th.
    const trace = `${"x".repeat(2996)}& retry at com.example.Foo<Bar>`;
    const expr = encodeURIComponent(
      `sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0 or ${"up == 0 or ".repeat(121)}vector(0)`,
    );
    const res = await h.job("/jobs/notification", {
      channels: ["sl"],
      alerts: [
        {
          labels: { alertname: "Crash", severity: "critical" },
          annotations: { description: trace, runbook_url: "https://runbooks.example.com/crash?a=1&b=2" },
          generatorURL: `https://prometheus.example.com/graph?g0.expr=${expr}&g0.tab=1`,
        },
      ],
    });
    expect(res.status).toBe(200);
    const sections = slack
      .of(hook)
      .flatMap((m) => (m.body.blocks as { type: string }[]).filter((b) => b.type === "section"));
    expect(sections.length).toBeGreaterThan(1);
    for (const m of slack.of(hook)) expect(m.literal).toEqual([]);
  });

  test("an error string is permanent (489); a 5xx is transient (503)", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(`channels:
  gone: { type: slack, webhook: "${slack.url}/services/T0/B0/unknown" }
  sl: { type: slack, webhook: "${slack.webhook(hook)}" }
`);
    const res = await h.job("/jobs/notification", { channels: ["gone"], alerts: [alert] });
    expect(res.status).toBe(489);
    expect(((await res.json()) as Problem).error.message).toContain("no_service");
    slack.fault(hook, () => new Response("internal_error", { status: 500 }), 1);
    expect((await h.job("/jobs/notification", { channels: ["sl"], alerts: [alert] })).status).toBe(503);
  });
});

describe("Slack refusing a message as too long (msg_too_long, msg_blocks_too_long)", () => {
  test.each(["msg_too_long", "msg_blocks_too_long"])(
    "%s: the message is split smaller and sent, not failed",
    async (refusal) => {
      const hook = `T0/B0/${id()}`;
      const h = makeHarness(`channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}" }\n`);
      slack.fault(hook, () => new Response(refusal, { status: 400 }), 1);
      const res = await h.job("/jobs/notification", {
        channels: ["sl"],
        payload: fixture("alertmanager-mixed.json"),
      });
      expect(res.status).toBe(200);
      const got = slack.of(hook);
      expect(got.length).toBeGreaterThanOrEqual(2);
      expect(got.map((m) => m.text).join("\n")).toContain("api-7d9f8-x2k4q");
    },
  );
});

test("a long title split again after msg_too_long: each piece's header keeps its own number", async () => {
  const hook = `T0/B0/${id()}`;
  const h = makeHarness(`channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}" }\n`);
  slack.fault(hook, () => new Response("msg_too_long", { status: 400 }), 1);
  const payload = fixture("alertmanager-mixed.json");
  payload.groupLabels = { service: `payments-gateway-${"shanghai-production-".repeat(8)}` };
  expect((await h.job("/jobs/notification", { channels: ["sl"], payload })).status).toBe(200);
  const titles = slack.of(hook).map((m) => String(m.title));
  expect(titles.length).toBeGreaterThanOrEqual(2);
  titles.forEach((t, i) => {
    expect([...t].length).toBeLessThanOrEqual(150);
    expect(t).toEndWith(`(${i + 1}/${titles.length})`);
  });
});

describe("Slack refusing the blocks (invalid_blocks)", () => {
  test("the page goes once more as plain mrkdwn text and arrives; the answer says so", async () => {
    const hook = `T0/B0/${id()}`;
    const h = makeHarness(`channels:\n  sl: { type: slack, webhook: "${slack.webhook(hook)}" }\n`);
    // Every message with blocks refused; one without them let through.
    slack.fault(hook, (body) =>
      (JSON.parse(body) as { blocks?: unknown }).blocks
        ? new Response("invalid_blocks", { status: 400 })
        : undefined,
    );
    try {
      const res = await h.job("/jobs/notification", {
        channels: ["sl"],
        payload: fixture("alertmanager-mixed.json"),
      });
      expect(res.status).toBe(200);
      expect(JSON.stringify(await res.json())).toContain("as plain text");
      const got = slack.of(hook);
      expect(got).toHaveLength(1);
      expect(got[0].text).toContain("KubePodCrashLooping");
    } finally {
      slack.clear(hook);
    }
  });
});

describe("Feishu markup as Feishu renders it", () => {
  test("msg_type: text stays plain text when the job or the channel asks for markdown (it became a card); such a config still loads", async () => {
    const [text, both] = [id(), id()];
    const h = makeHarness(
      `channels:\n  ft: { type: feishu, webhook: "${feishu.webhook(text)}", msg_type: text }\n  fm: { type: feishu, webhook: "${feishu.webhook(both)}", msg_type: text, format: markdown }\n`,
    );
    const res = await h.job("/jobs/notification", {
      channels: ["ft", "fm"],
      format: "markdown",
      alerts: [nastyAlert()],
    });
    expect(res.status).toBe(200);
    expect([...feishu.of(text), ...feishu.of(both)].map((m) => m.body.msg_type)).toEqual(["text", "text"]);
  });

  test("a card shows nothing literally (no headings, quotes, lists, backslashes); text mentions nobody", async () => {
    const [card, text] = [id(), id()];
    const h = makeHarness(
      `channels:\n  fc: { type: feishu, webhook: "${feishu.webhook(card)}" }\n  ft: { type: feishu, webhook: "${feishu.webhook(text)}", msg_type: text }\n`,
    );
    const mention = {
      labels: { alertname: '<at user_id="all">x</at>', severity: "critical" },
      annotations: {},
    };
    const res = await h.job("/jobs/notification", {
      channels: ["fc", "ft"],
      alerts: [nastyAlert(), ...fixture("alertmanager-zh.json").alerts, mention],
    });
    expect(res.status).toBe(200);
    for (const m of feishu.of(card)) expect(m.literal).toEqual([]);
    for (const m of feishu.of(text)) expect(injectedMention(m.text)).toBe(false);
  });
});
