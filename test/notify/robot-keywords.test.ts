/**
 * Robots with keyword security (DingTalk's 自定义关键词, Feishu's custom keywords): the robot refuses
 * every message without one of its keywords (DingTalk 310000, Feishu 19024), for good. A page's
 * own words cannot be counted on — in zh-CN an all-clear says 恢复, never 告警 — so a channel
 * given `keywords` makes sure each part carries one (docs/notifications.md, "Keyword security").
 */
import { afterAll, describe, expect, test } from "bun:test";
import { bigGroup } from "../support/alert-groups.ts";
import { startFakeDingTalk } from "../support/fake-dingtalk.ts";
import { startFakeFeishu } from "../support/fake-feishu.ts";
import { makeHarness } from "../support/harness.ts";

const ding = startFakeDingTalk();
const feishu = startFakeFeishu();
afterAll(() => Promise.all([ding.stop(), feishu.stop()]));

/** A Chinese group whose alerts are all resolved: its page says 已恢复 and nothing with 告警. */
const allClear = () => {
  const p = bigGroup(3, { zh: true });
  return {
    ...p,
    groupKey: `kw-${crypto.randomUUID()}`,
    status: "resolved",
    alerts: p.alerts.map((a) => ({ ...a, status: "resolved", endsAt: "2026-12-05T08:30:00Z" })),
  };
};

describe("robots with keyword security", () => {
  const yaml = (id: string, keywords: string) => `worker: { locale: zh-CN }
channels:
  ding: { type: dingtalk, webhook: "${ding.webhook(`kw-${id}`, { keyword: "告警" })}"${keywords} }
  lark: { type: feishu, webhook: "${feishu.webhook(`kw-${id}`, { keyword: "告警" })}"${keywords} }
`;
  const lastText = (fake: typeof ding | typeof feishu, robot: string) => fake.of(robot).at(-1)?.text ?? "";

  test("given keywords, an all-clear in zh-CN reaches both robots, the keyword in its text", async () => {
    const h = makeHarness(yaml("a", ", keywords: [告警]"));
    const res = await h.job("/jobs/notification", { channels: ["ding", "lark"], payload: allClear() });
    expect(res.status, await res.clone().text()).toBe(200);
    for (const [fake, robot] of [
      [ding, "kw-a"],
      [feishu, "kw-a"],
    ] as const) {
      expect(lastText(fake, robot)).toContain("已恢复");
      expect(lastText(fake, robot)).toContain("告警");
    }
  });

  test("a firing page that has the keyword already is sent as it is", async () => {
    const p = () => ({ ...bigGroup(2, { zh: true }), groupKey: `kw-${crypto.randomUUID()}` });
    const h = makeHarness(yaml("b", ", keywords: [告警]"));
    expect((await h.job("/jobs/notification", { channels: ["ding"], payload: p() })).status).toBe(200);
    const bare = makeHarness(yaml("c", ""));
    expect((await bare.job("/jobs/notification", { channels: ["ding"], payload: p() })).status).toBe(200);
    expect(lastText(ding, "kw-b")).toBe(lastText(ding, "kw-c"));
  });

  test("without keywords the refusal says which setting fixes it", async () => {
    const h = makeHarness(yaml("d", ""));
    const res = await h.job("/jobs/notification", { channels: ["ding", "lark"], payload: allClear() });
    expect(res.status).toBe(489);
    const said = JSON.stringify(await res.json());
    expect(said).toContain("channels.ding.keywords");
    expect(said).toContain("channels.lark.keywords");
  });
});
