import { afterAll, describe, expect, test } from "bun:test";
import { bigGroup, fixture, nastyAlert } from "../support/alert-groups.ts";
import { injectedMention } from "../support/fake-robot.ts";
import { startFakeWeCom, wecomBusy } from "../support/fake-wecom.ts";
import { makeHarness } from "../support/harness.ts";

const wecom = startFakeWeCom();
afterAll(() => wecom.stop());

type Body = { deliveries: { channel: string; status: string; attempts: number; parts?: number }[] };
type Problem = { error: { code: string; message: string; details: Body } };

let n = 0;
const key = () => `key-${++n}`;
const alert = { labels: { alertname: "DiskFull", severity: "warning", instance: "db-1" } };

describe("WeCom group robot", () => {
  test("markdown: colours for severity and status, the title as heading, mentions as <@userid>", async () => {
    const k = key();
    const h = makeHarness(`channels:
  wx: { type: wecom, webhook: "${wecom.webhook(k)}", mentioned_list: [zhangsan, "@all"] }
`);
    const res = await h.job("/jobs/notification", {
      channels: ["wx"],
      payload: fixture("alertmanager-mixed.json"),
    });
    expect(res.status).toBe(200);
    const [m] = wecom.of(k);
    expect(m.body.msgtype).toBe("markdown");
    // WeCom documents no escapes: brackets in the title are look-alikes that show as brackets.
    expect(m.text).toStartWith("### 🟡 ［FIRING:1, RESOLVED:1］ KubePodCrashLooping\n");
    expect(m.text).toContain('**<font color="warning">🔥 Firing (1)</font>**');
    expect(m.text).toContain('**<font color="info">✅ Resolved (1)</font>**');
    // The title names the group's one alertname: the blocks show the severity, not the name again.
    expect(m.text).toContain('🟡 <font color="warning">WARNING</font>');
    expect(m.text).toContain("> pod: api-7d9f8-x2k4q");
    expect(m.text).toEndWith("<@zhangsan>");
  });

  test("markdown: each line of a multi-line description is quoted, as WeCom quotes line by line", async () => {
    const k = key();
    const h = makeHarness(`channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}" }\n`);
    const description = "Disk /data is 97% full.\nGrowth: 2 GB/h.\r\n> not a quote of ours\n\n";
    const res = await h.job("/jobs/notification", {
      channels: ["wx"],
      alerts: [{ ...alert, annotations: { description } }],
    });
    expect(res.status).toBe(200);
    const [m] = wecom.of(k);
    expect(m.text).toContain("> Disk /data is 97% full.\n> Growth: 2 GB/h.\n> ＞ not a quote of ours\n");
  });

  test("markdown: a label value of several lines stays on its quoted line", async () => {
    const k = key();
    const h = makeHarness(`channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}" }\n`);
    const labels = { ...alert.labels, multi: "第一行\n- 第二行\r\n# 第三行" };
    const res = await h.job("/jobs/notification", { channels: ["wx"], alerts: [{ ...alert, labels }] });
    expect(res.status).toBe(200);
    const [m] = wecom.of(k);
    const line = m.text.split("\n").find((l) => l.includes("第一行")) ?? "";
    expect(line).toStartWith("> multi: 第一行");
    expect(line).toContain("第二行");
    expect(line).toContain("第三行");
  });

  test("text: mentioned_list and mentioned_mobile_list on the message, under 2048 bytes", async () => {
    const k = key();
    const h = makeHarness(`channels:
  wx: { type: wecom, webhook: "${wecom.webhook(k)}", msgtype: text, mentioned_list: ["@all"], mentioned_mobile_list: ["13800001111"] }
`);
    const res = await h.job("/jobs/notification", { channels: ["wx"], payload: bigGroup(30, { zh: true }) });
    expect(res.status).toBe(200);
    const parts = wecom.of(k);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.bytes).toBeLessThanOrEqual(2048);
    expect(parts[0].body.text).toMatchObject({
      mentioned_list: ["@all"],
      mentioned_mobile_list: ["13800001111"],
    });
    expect((parts[1].body.text as Record<string, unknown>).mentioned_list).toBeUndefined();
    expect(parts[0].text).toContain("== FIRING (30) ==");
  });

  test("a Chinese group over 4096 bytes is split into parts that each fit", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", max_parts: 10 }\n`,
    );
    const payload = bigGroup(40, { zh: true });
    const res = await h.job("/jobs/notification", { channels: ["wx"], payload });
    expect(res.status).toBe(200);
    const parts = wecom.of(k);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p.bytes).toBeLessThanOrEqual(4096);
    const all = parts.map((p) => p.text).join("\n");
    for (const a of payload.alerts) expect(all).toContain(a.annotations.description);
  });

  test("a group label of kilobytes: the title is cut to a headline and the message arrives on markdown and text", async () => {
    const [md, tx] = [key(), key()];
    const h = makeHarness(`channels:
  wx: { type: wecom, webhook: "${wecom.webhook(md)}" }
  wx-text: { type: wecom, webhook: "${wecom.webhook(tx)}", msgtype: text }
`);
    // A rule named after a log line: 1,500 Chinese characters (4,500 bytes) in the group's labels.
    const name = "磁盘写入失败".repeat(250);
    const payload = fixture("alertmanager-zh.json");
    payload.groupLabels = { alertname: name };
    payload.commonLabels = { ...(payload.commonLabels as Record<string, string>), alertname: name };
    payload.alerts = payload.alerts.map((a) => ({ ...a, labels: { ...a.labels, alertname: name } }));
    const res = await h.job("/jobs/notification", { channels: ["wx", "wx-text"], payload });
    expect(res.status).toBe(200);
    const [m] = wecom.of(md);
    const title = m.text.split("\n")[0];
    expect(title).toStartWith("### 🟡 ［FIRING:1］ 磁盘写入失败");
    expect(title).toEndWith("…");
    expect([...title].length).toBeLessThanOrEqual(204);
    expect(wecom.of(tx)[0].text).toStartWith("🟡 [FIRING:1] 磁盘写入失败");
  });

  test("text: a description of several lines stays indented under its alert (a line at column 0 reads as another entry)", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", msgtype: text }\n`,
    );
    const description = "磁盘即将写满。\n执行：du -sh /var/log\n然后轮转日志。";
    const alert = { labels: { alertname: "DiskFull", severity: "warning" }, annotations: { description } };
    expect((await h.job("/jobs/notification", { channels: ["wx"], alerts: [alert] })).status).toBe(200);
    expect(wecom.of(k)[0].text).toContain("\n  磁盘即将写满。\n  执行：du -sh /var/log\n  然后轮转日志。");
  });

  test("a title template placing the part number itself keeps it when the title is cut", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", msgtype: text, max_parts: 10 }\n`,
    );
    const payload = bigGroup(30, { zh: true });
    const name = "A".repeat(300);
    payload.groupLabels = { alertname: name };
    payload.alerts = payload.alerts.map((a) => ({ ...a, labels: { ...a.labels, alertname: name } }));
    const res = await h.job("/jobs/notification", {
      channels: ["wx"],
      title: "{{default_title}}{{part_label}}",
      payload,
    });
    expect(res.status).toBe(200);
    const titles = wecom.of(k).map((m) => m.text.split("\n")[0]);
    expect(titles.length).toBeGreaterThan(1);
    titles.forEach((t, i) => {
      expect(t).toEndWith(`(${i + 1}/${titles.length})`);
      expect([...t].length).toBeLessThanOrEqual(200);
    });
  });

  test("markdown_v2: no colours", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", msgtype: markdown_v2 }\n`,
    );
    await h.job("/jobs/notification", { channels: ["wx"], alerts: [alert] });
    const [m] = wecom.of(k);
    expect(m.body.msgtype).toBe("markdown_v2");
    expect(m.text).not.toContain("<font");
  });

  test("a label value cannot mention everyone or inject markup", async () => {
    const k = key();
    const h = makeHarness(`channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}" }\n`);
    await h.job("/jobs/notification", { channels: ["wx"], alerts: [nastyAlert()] });
    const { text } = wecom.of(k)[0];
    // No backslash escapes (WeCom shows them as they are): look-alikes that read the same.
    expect(text).toContain("＜@all＞");
    expect(text).not.toContain("<@all>");
    expect(text).toContain("> instance: *\u200B*bold*\u200B*");
    expect(text).toContain("［click］(http://evil.example)");
    expect(text).not.toContain("\\");
  });

  test("one robot busy (-1): 503 after the other robot is sent; the redelivery retries that robot only", async () => {
    const [a, b] = [key(), key()];
    const h = makeHarness(`channels:
  wx-a: { type: wecom, webhook: "${wecom.webhook(a)}" }
  wx-b: { type: wecom, webhook: "${wecom.webhook(b)}" }
`);
    wecom.fault(a, wecomBusy, 1);
    const body = { channels: ["wx-a", "wx-b"], alerts: [alert] };
    const first = await h.job("/jobs/notification", body, { messageId: "msg_busy" });
    expect(first.status).toBe(503);
    expect(((await first.json()) as Problem).error.message).toContain("-1 system busy");
    expect([wecom.of(a).length, wecom.of(b).length]).toEqual([0, 1]);
    const second = await h.job("/jobs/notification", body, { messageId: "msg_busy", retried: 1 });
    expect(second.status).toBe(200);
    expect([wecom.of(a).length, wecom.of(b).length]).toEqual([1, 1]);
    expect(((await second.json()) as Body).deliveries.map((d) => [d.channel, d.attempts])).toEqual([
      ["wx-a", 2],
      ["wx-b", 1],
    ]);
  });

  test("45009 from the robot becomes 429 with Retry-After", async () => {
    const k = key();
    const h = makeHarness(`channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", rate: 50/min }\n`);
    for (let i = 0; i < 20; i++) await h.job("/jobs/notification", { channels: ["wx"], alerts: [alert] });
    const res = await h.job("/jobs/notification", { channels: ["wx"], alerts: [alert] });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(((await res.json()) as Problem).error.message).toContain("45009");
  });

  test("an invalid webhook key (93000) is permanent: 489", async () => {
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.url}/cgi-bin/webhook/send?key=nope" }\n`,
    );
    const res = await h.job("/jobs/notification", { channels: ["wx"], alerts: [alert] });
    expect(res.status).toBe(489);
    expect(((await res.json()) as Problem).error.details.deliveries[0].status).toBe("failed");
  });
});

describe("WeCom refusing a part as too long (40058)", () => {
  test("the part is split smaller and every alert still arrives", async () => {
    const k = key();
    const h = makeHarness(`channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}" }\n`);
    wecom.fault(
      k,
      () =>
        Response.json({
          errcode: 40058,
          errmsg: "markdown.content exceed max length 4096. invalid Request Parameter",
        }),
      1,
    );
    const res = await h.job("/jobs/notification", { channels: ["wx"], payload: bigGroup(3, { zh: true }) });
    expect(res.status).toBe(200);
    const got = wecom.of(k);
    expect(got.length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 3; i++) expect(got.map((m) => m.text).join("\n")).toContain(`node-00${i}:9100`);
  });

  test("one alert whose single long line is the excess still arrives, cut where it must be, in the channel's language", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", locale: zh-CN }\n`,
    );
    wecom.fault(
      k,
      () =>
        Response.json({
          errcode: 40058,
          errmsg: "markdown.content exceed max length 4096. invalid Request Parameter",
        }),
      1,
    );
    const [first] = fixture("alertmanager-zh.json").alerts;
    // ~2.8 KB in one line: under the worker's own budget, refused once by the robot.
    const description = "磁盘写入延迟持续升高，".repeat(85);
    const res = await h.job("/jobs/notification", {
      channels: ["wx"],
      alerts: [{ ...first, annotations: { summary: "根分区使用率超过 85%", description } }],
    });
    expect(res.status).toBe(200);
    // Re-split under the budget the refusal leaves: as many pieces as that takes (two here), the
    // long line cut to what one piece holds (it was cut to a third: characters taken for bytes).
    const got = wecom.of(k);
    expect(got.map((m) => m.text.split("\n")[0].match(/\(\d\/\d\)$/)?.[0])).toEqual(["(1/2)", "(2/2)"]);
    const text = got.map((m) => m.text).join("\n");
    expect(text).toContain("db-03:9100");
    expect(text).toContain("[已截断]");
    expect(text).not.toContain("[truncated]");
    expect(got[0].text.length).toBeGreaterThan(600);
  });
});

describe("an alert longer than a WeCom message", () => {
  test("a description of many lines is shortened; the instance, the labels, the start and the links stay (markdown, markdown_v2)", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", locale: zh-CN }\n  w2: { type: wecom, webhook: "${wecom.webhook(`${k}-2`)}", locale: zh-CN, msgtype: markdown_v2 }\n`,
    );
    const [first] = fixture("alertmanager-zh.json").alerts;
    // 80 lines, ~8.7 KB: more than two WeCom messages on its own.
    const description = Array.from(
      { length: 80 },
      (_, i) => `第 ${i + 1} 行：磁盘写入延迟持续升高，请检查。`,
    ).join("\n");
    const res = await h.job("/jobs/notification", {
      channels: ["wx", "w2"],
      alerts: [
        {
          ...first,
          labels: { ...first.labels, pod: "db-03-7f9c" },
          annotations: {
            summary: "根分区使用率超过 85%",
            description,
            runbook_url: "https://runbooks.example/disk",
          },
        },
      ],
    });
    expect(res.status).toBe(200);
    for (const [m] of [wecom.of(k), wecom.of(`${k}-2`)]) {
      expect(new TextEncoder().encode(m.text).length).toBeLessThanOrEqual(4096);
      for (const kept of [
        "db-03:9100",
        "db-03-7f9c",
        "开始",
        "https://runbooks.example/disk",
        "第 1 行",
        "已截断",
      ])
        expect(m.text).toContain(kept);
      expect(m.text).not.toContain("第 80 行");
    }
  });

  test("a cut that cannot keep a whole link drops it rather than send half a URL (markdown, text)", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", locale: zh-CN }\n  wt: { type: wecom, webhook: "${wecom.webhook(`${k}-t`)}", locale: zh-CN, msgtype: text }\n`,
    );
    // 300 CJK characters in a group label (four-byte and three-byte): each silence or Alertmanager link is ~2–3 KB of escapes.
    const svc = "𠮷服务".repeat(100);
    const zh = fixture("alertmanager-zh.json");
    const payload = {
      ...zh,
      groupKey: `{}:{svc="${svc}"}`,
      groupLabels: { svc },
      commonLabels: { ...(zh.commonLabels as Record<string, string>), svc },
      alerts: [{ ...zh.alerts[0], labels: { ...zh.alerts[0].labels, svc } }],
    };
    expect((await h.job("/jobs/notification", { channels: ["wx", "wt"], payload })).status).toBe(200);
    for (const m of [...wecom.of(k), ...wecom.of(`${k}-t`)]) {
      expect(m.text).toContain("db-03:9100");
      // Every link that starts ends; every URL left decodes whole (none cut inside a character's escapes).
      for (const url of m.text.match(/https?:\/\/[^\s)]+/g) ?? []) expect(() => decodeURI(url)).not.toThrow();
      expect(m.text.split("](").length - 1).toBe((m.text.match(/\]\([^)\s]*\)/g) ?? []).length);
      expect(m.text.split("\n").filter((l) => /:\/\/\S*%[0-9A-F]?$/.test(l))).toEqual([]);
    }
  });
});

describe("a long description holding a URL", () => {
  test("shortened, it loses the URL whole rather than keep half of it (which opens another dashboard)", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", locale: zh-CN }\n`,
    );
    const [first] = fixture("alertmanager-zh.json").alerts;
    const url = `https://grafana.example.com/d/abc/disk?orgId=1${"&var-instance=db-03".repeat(60)}`;
    const description = `${"磁盘写入延迟持续升高".repeat(70)}面板：${url} ${"请检查磁盘".repeat(100)}`;
    const res = await h.job("/jobs/notification", {
      channels: ["wx"],
      alerts: [{ ...first, annotations: { summary: "磁盘写入慢", description } }],
    });
    expect(res.status).toBe(200);
    const shown = wecom.of(k).flatMap((m) => m.text.match(/https:\/\/grafana\.example\.com\S*/g) ?? []);
    for (const u of shown) expect(u).toBe(url);
  });
});

describe("free text longer than a WeCom message", () => {
  test("a CJK line with a URL early in it is cut at its end, the URL and the text before the cut kept", async () => {
    const k = key();
    const h = makeHarness(
      `templates:\n  note: { format: markdown, title: "发布通知", body: "{{text}}" }\nchannels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", locale: zh-CN, template: note }\n`,
    );
    const text = `变更说明见https://wiki.example.com/deploy/42，本次发布内容：${"修复了订单服务的连接池配置".repeat(150)}`;
    expect((await h.job("/jobs/notification", { channels: ["wx"], data: { text } })).status).toBe(200);
    const all = wecom
      .of(k)
      .map((m) => m.text)
      .join("\n");
    expect(all).toContain("https://wiki.example.com/deploy/42，本次发布内容：修复了订单服务");
    expect(all.length).toBeGreaterThan(1000);
  });
});

describe("WeCom markup as WeCom renders it", () => {
  test("the Chinese group and a hostile label show nothing literally (no backslashes, no v1 lists) and mention nobody", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", template: alert-compact }\n  wt: { type: wecom, webhook: "${wecom.webhook(`${k}-t`)}", msgtype: text }\n`,
    );
    await h.job("/jobs/notification", {
      channels: ["wx", "wt"],
      alerts: [nastyAlert(), ...fixture("alertmanager-zh.json").alerts],
    });
    for (const m of wecom.of(k)) {
      expect(m.literal).toEqual([]);
      expect(m.text).not.toMatch(/^- /m);
    }
    const [t] = wecom.of(`${k}-t`);
    expect(injectedMention(t.text)).toBe(false);
  });
});

describe("a repeat after a send that failed partway", () => {
  test("the retry finishes the message and records the state: an HA copy of it is then skipped", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", max_parts: 10 }\n`,
    );
    const payload = bigGroup(60, { zh: true });
    wecom.fault(k, wecomBusy, 1, 1); // the second part: system busy
    const first = await h.job("/jobs/notification", { channels: ["wx"], payload }, { messageId: "ha-1" });
    expect(first.status).toBe(503);
    const retry = await h.job(
      "/jobs/notification",
      { channels: ["wx"], payload },
      { messageId: "ha-1", retried: 1 },
    );
    expect(retry.status).toBe(200);
    const sent = wecom.of(k).length;
    const copy = await h.job("/jobs/notification", { channels: ["wx"], payload }, { messageId: "ha-2" });
    expect(((await copy.json()) as Body).deliveries[0].status).toBe("skipped_duplicate");
    expect(wecom.of(k)).toHaveLength(sent);
  });
});

describe("links that leave room for alerts", () => {
  test("a 40-alert Chinese group on WeCom markdown: full parts hold 8 alerts (4 before); the first, with the group's links, 7", async () => {
    const k = key();
    const h = makeHarness(
      `channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}", max_parts: 10 }\n`,
    );
    const res = await h.job("/jobs/notification", { channels: ["wx"], payload: bigGroup(40, { zh: true }) });
    expect(res.status).toBe(200);
    const perPart = wecom.of(k).map((p) => (p.text.match(/> instance: node-\d{3}:9100/g) ?? []).length);
    expect(perPart.reduce((a, b) => a + b, 0)).toBe(40);
    expect(perPart[0]).toBeGreaterThanOrEqual(7);
    expect(perPart.slice(1, -1).every((n) => n >= 8)).toBe(true);
    expect(Math.max(...perPart)).toBeGreaterThanOrEqual(8);
  });
});

test("a group not by alertname (group_by: [namespace]) still names the alert in every block", async () => {
  const k = key();
  const h = makeHarness(`channels:\n  wx: { type: wecom, webhook: "${wecom.webhook(k)}" }\n`);
  const payload = { ...fixture("alertmanager-mixed.json"), groupLabels: { namespace: "payments" } };
  await h.job("/jobs/notification", { channels: ["wx"], payload });
  const [m] = wecom.of(k);
  expect(m.text.match(/\*\*KubePodCrashLooping\*\*/g)).toHaveLength(2);
});
