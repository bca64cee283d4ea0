/**
 * Messages in the team's language: with worker.locale zh-CN every word the templates add is
 * Chinese on every channel (the alert data stays as it came), durations read 小时/分, a channel's
 * `locale` overrides the worker's, and the template preview takes `locale`.
 */
import { describe, expect, test } from "bun:test";
import { WORDS } from "../../src/notify/locale.ts";
import { fixture } from "../support/alert-groups.ts";
import { makeHarness } from "../support/harness.ts";

const CHANNELS = `channels:
  ding: { type: dingtalk, webhook: "https://oapi.dingtalk.com/robot/send?access_token=t" }
  wx: { type: wecom, webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k" }
  wx2: { type: wecom, webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k2", msgtype: markdown_v2 }
  fs: { type: feishu, webhook: "https://open.feishu.cn/open-apis/bot/v2/hook/h" }
  sl: { type: slack, webhook: "https://hooks.slack.com/services/T/B/X" }
  hook: { type: webhook, url: "https://hooks.example.com/in" }
  mail: { type: email, smtp: { host: smtp.example.com }, from: a@example.com, to: [b@example.com] }
  out: { type: console }
`;

type Preview = { channel: string; title: string; body: string };
async function previews(
  yaml: string,
  body: Record<string, unknown> = {},
  name = "alertmanager-zh.json",
): Promise<Preview[]> {
  const h = makeHarness(yaml);
  const payload = fixture(name);
  const res = await h.request("/v1/templates/preview", {
    method: "POST",
    body: JSON.stringify({ data: payload, ...body }),
  });
  expect(res.status).toBe(200);
  const out = (await res.json()) as {
    previews: { channel: string; parts: { title: string; body: string }[] }[];
  };
  return out.previews.map((p) => ({ channel: p.channel, title: p.parts[0].title, body: p.parts[0].body }));
}

const ENGLISH = /\b(Firing|Resolved|Started|firing for|lasted|Labels|Open in Alertmanager|Graph|Silence)\b/;

describe("worker.locale: zh-CN", () => {
  test("every channel: the words the templates add are Chinese, the alert data as it came", async () => {
    const all = await previews(`worker: { locale: zh-CN, timezone: Asia/Shanghai }\n${CHANNELS}`);
    expect(all.map((p) => p.channel).sort()).toEqual([
      "ding",
      "fs",
      "hook",
      "mail",
      "out",
      "sl",
      "wx",
      "wx2",
    ]);
    for (const p of all) {
      const text = `${p.title}\n${p.body}`.replace(
        /\(http[^)]*\)|<http[^>|]*|href="[^"]*"|https?:\/\/\S+/g,
        "",
      );
      expect({ channel: p.channel, english: ENGLISH.exec(text)?.[0] }).toEqual({
        channel: p.channel,
        english: undefined,
      });
      expect({ channel: p.channel, ok: /告警/.test(p.title) && /告警|恢复/.test(p.body) }).toEqual({
        channel: p.channel,
        ok: true,
      });
      expect(p.body).toContain("根分区使用率超过 85%"); // the data stays as it came
    }
    const ding = all.find((p) => p.channel === "ding") as Preview;
    expect(ding.title).toContain("[告警:1] 磁盘空间不足");
    // Days, and hours unless they are 0 (in the hour the fixture's age is whole days, "6天" alone).
    expect(ding.body).toMatch(/开始: 2026-11-28 14:12:00 UTC\+8 \(已持续 \d+天(\d+小时)?\)/);
    const resolved = await previews(`worker: { locale: zh-CN }\n${CHANNELS}`, {}, "alertmanager-mixed.json");
    expect(resolved.find((p) => p.channel === "ding")?.body).toContain("共持续 35分");
  });

  test("an alert without a severity label: 未分级 on every channel, not the English NONE", async () => {
    const h = makeHarness(`worker: { locale: zh-CN }\n${CHANNELS}`);
    const payload = fixture("alertmanager-zh.json");
    for (const a of payload.alerts) delete a.labels.severity;
    const res = await h.request("/v1/templates/preview", {
      method: "POST",
      body: JSON.stringify({ data: payload }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).toContain("未分级");
    expect(text).not.toMatch(/\bNONE\b|\bnone\b/);
  });

  test("a channel's locale overrides the worker's, and the preview takes one", async () => {
    const mixed = await previews(
      `channels:\n  en: { type: console }\n  zh: { type: console, locale: zh-CN }\n`,
    );
    expect(mixed.find((p) => p.channel === "en")?.body).toMatch(/firing \(1\)/i);
    expect(mixed.find((p) => p.channel === "zh")?.body).toMatch(/告警中? \(1\)/);
    const asked = await previews(`channels:\n  en: { type: console, format: markdown }\n`, {
      locale: "zh-CN",
    });
    expect(asked[0].body).toMatch(/告警中? \(1\)/);
  });
});

test("ai.language follows worker.locale unless set: a zh-CN team's analyses answer in Chinese", async () => {
  const alert = { ...fixture("alertmanager-firing.json").alerts[0] };
  const zh = makeHarness("worker: { locale: zh-CN }\nai: { order: [builtin] }\n");
  const r = (await (await zh.job("/jobs/analysis", { type: "quick", alert })).json()) as { summary: string };
  expect(r.summary).toMatch(/[\u4e00-\u9fff]/);
  const en = makeHarness("worker: { locale: zh-CN }\nai: { order: [builtin], language: en }\n");
  const e = (await (await en.job("/jobs/analysis", { type: "quick", alert })).json()) as { summary: string };
  expect(e.summary).not.toMatch(/[\u4e00-\u9fff]/);
});

describe("odd times an alert may carry", () => {
  const one = (alert: Record<string, unknown>, template = "") =>
    previews(
      `${CHANNELS.split("\n")[0]}\n  out: { type: console${template ? `, template: ${template}` : ""} }\n`,
      {
        data: {
          alerts: [{ labels: { alertname: "OddTime", severity: "warning" }, annotations: {}, ...alert }],
        },
      },
    ).then((p) => p[0].body);

  test("a startsAt in the future (a skewed clock) reads 'firing for 0s', not an empty duration", async () => {
    const body = await one({ startsAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect(body).toContain("(firing for 0s)");
    expect(
      await one({ startsAt: new Date(Date.now() + 3_600_000).toISOString() }, "alert-compact"),
    ).toContain("(for 0s)");
  });

  test("Go's zero time as startsAt is no time: no 1901 date, no 739954-day duration", async () => {
    const body = await one({ startsAt: "0001-01-01T00:00:00Z" });
    expect(body).not.toMatch(/1901|0001|739954d|UTC\+166/);
    expect(body).not.toContain("Started");
  });

  test("a resolved alert without endsAt shows no duration in the compact template (it is not 'lasted until now')", async () => {
    const startsAt = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const body = await one({ status: "resolved", startsAt }, "alert-compact");
    expect(body).toContain("OddTime");
    expect(body).not.toMatch(/\(3h\)|\(\)/);
  });
});

test("English counts agree with their nouns (1 alert, 2 alerts) and a missing severity reads 'unclassified', not NONE", () => {
  const en = WORDS.en;
  expect(en.left_out(1)).toContain("left 1 more alert out");
  expect(en.left_out(2)).toContain("left 2 more alerts out");
  expect(en.omitted_count.call({ count: 1 })).toBe("1 more alert is not listed here");
  expect(en.omitted_shown.call({ shown: 1 })).toBe("(1 was sent in the parts before this one).");
  expect(en.lines_left_out(1, 2)).toBe("… [1 more line not sent: max_parts is 2]");
  expect(en.no_severity).toBe("unclassified");
});
