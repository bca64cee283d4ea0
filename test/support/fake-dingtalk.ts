/**
 * A fake DingTalk custom robot on 127.0.0.1 (docs/contracts.md#dingtalk-robot). `POST /robot/send?access_token=T`;
 * every answer is HTTP 200 with `{errcode, errmsg}`:
 * - unknown token → 300001; a signed robot needs `timestamp` (ms, within 1 h) and `sign` =
 *   base64(HMAC-SHA256(secret, ts + "\n" + secret)) read from the query exactly once (so a
 *   double-encoded or unencoded `+`/`/`/`=` fails) → 310000; a keyword robot → 310000 without it;
 * - over 20 messages a minute → 130101, and the robot stays throttled for 10 minutes;
 * - a request body over 20000 UTF-8 bytes → 460101 with DingTalk's own text (the limit is on the
 *   whole body, JSON escapes included, not on the markdown text);
 * - a body without its msgtype's fields → 40035.
 * Accepted messages are recorded with the mobiles the text really mentions.
 */
import {
  type FakeRobotServer,
  hmac,
  json,
  type Received,
  type Sliding,
  serveRobot,
  utf8,
  windowOf,
} from "./fake-robot.ts";

export interface DingTalkRobot {
  secret?: string;
  keyword?: string;
}

export interface FakeDingTalk extends FakeRobotServer {
  /** The webhook URL of a robot (added when new). */
  webhook(token: string, robot?: DingTalkRobot): string;
  /** Mobiles in `at.atMobiles` that also appear as @mobile in the text (DingTalk needs both). */
  mentioned(r: Received): string[];
  /** The robot's clock (its rate windows and throttle); a test may drive it with the worker's. */
  now: () => number;
}

const err = (errcode: number, errmsg: string) => json({ errcode, errmsg });

export function startFakeDingTalk(): FakeDingTalk {
  const robots = new Map<string, DingTalkRobot>();
  const windows = new Map<string, Sliding>();
  const throttled = new Map<string, number>();
  const base = serveRobot(
    (u) => u.searchParams.get("access_token") ?? undefined,
    async (req, url, token) => {
      const robot = token ? robots.get(token) : undefined;
      if (url.pathname !== "/robot/send" || !token || !robot) return err(300001, "token is not exist");
      const now = fake.now();
      if (robot.secret) {
        const ts = url.searchParams.get("timestamp") ?? "";
        const sign = url.searchParams.get("sign") ?? "";
        if (!/^\d+$/.test(ts) || Math.abs(now - Number(ts)) > 3_600_000)
          return err(310000, "sign not match, timestamp is invalid");
        if (sign !== (await hmac(robot.secret, `${ts}\n${robot.secret}`)))
          return err(310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]");
      }
      if ((throttled.get(token) ?? 0) > now) return err(130101, "send too fast, exceed 20 times per minute");
      if (!windowOf(windows, token, 20, 60_000).hit(now)) {
        throttled.set(token, now + 600_000);
        return err(130101, "send too fast, exceed 20 times per minute");
      }
      const raw = await req.text();
      if (utf8(raw) > 20_000)
        return err(460101, "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;");
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return err(40035, "缺少参数 json");
      }
      const type = body.msgtype as string;
      const part = body[type] as Record<string, string> | undefined;
      const text = type === "text" ? part?.content : part?.text;
      if (!["text", "markdown", "actionCard"].includes(type) || typeof text !== "string" || !text)
        return err(40035, "缺少参数 json");
      if (type !== "text" && !part?.title) return err(40035, "缺少参数 title");
      if (robot.keyword && !text.includes(robot.keyword) && !part?.title?.includes(robot.keyword))
        return err(310000, "keywords not in content");
      fake.received.push({ robot: token, body, text, title: part?.title, bytes: utf8(raw), at: now });
      return err(0, "ok");
    },
  );
  const fake: FakeDingTalk = Object.assign(base, {
    now: Date.now,
    webhook(token: string, robot: DingTalkRobot = {}) {
      if (!robots.has(token)) robots.set(token, robot);
      return `${base.url}/robot/send?access_token=${token}`;
    },
    mentioned(r: Received) {
      const at = (r.body.at as { atMobiles?: string[] } | undefined)?.atMobiles ?? [];
      return at.filter((m) => r.text.includes(`@${m}`));
    },
  });
  return fake;
}
