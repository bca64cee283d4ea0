/**
 * A fake Feishu/Lark custom bot on 127.0.0.1 (docs/contracts.md#feishu-bot). `POST
 * /open-apis/bot/v2/hook/<id>`; answers `{code, msg, data}`:
 * - unknown hook → 19001; a signed bot needs `timestamp` (seconds, a string, within 1 h) and
 *   `sign` = base64(HMAC-SHA256(key = ts + "\n" + secret, message = "")) in the JSON body → 19021;
 *   a keyword bot → 19024 without it;
 * - over 100 a minute or 5 a second → 11232; the open platform's own limit (HTTP 429, 99991400,
 *   `x-ogw-ratelimit-reset`) is not modelled by count: `fault(id, fake.gatewayLimit(s))` answers it;
 * - a body over 20 KB → 9499 "Bad Request" (docs/contracts.md#feishu-bot);
 * - mentions read as each type writes them (`mentioned`): another type's form mentions nobody.
 */
import {
  type FakeRobotServer,
  hmac,
  json,
  type Received,
  type Sliding,
  serveRobot,
  shownLiterally,
  utf8,
  windowOf,
} from "./fake-robot.ts";

export interface FeishuBot {
  secret?: string;
  keyword?: string;
}

export interface FakeFeishu extends FakeRobotServer {
  webhook(id: string, bot?: FeishuBot): string;
  /**
   * Who a message mentions, as Feishu reads each type (docs/contracts.md#feishu-bot): `<at
   * user_id="…">` in a text, `{tag: "at", user_id}` in a post, `<at id=…>` in a card's lark_md;
   * "all" for everyone. Another type's form mentions nobody.
   */
  mentioned(r: Received): string[];
  /** The open platform's own limit, for `fault`: HTTP 429, 99991400, the wait in x-ogw-ratelimit-reset. */
  gatewayLimit(resetS: number): () => Response;
  /** The bot's answer to a body over 20 KB, for `fault`. */
  tooLarge(): Response;
}

const answer = (code: number, msg: string) => json({ code, msg, data: {} });

/** The text a Feishu message shows (card body, post lines, text). */
function shown(body: Record<string, unknown>): { text: string; title?: string } | undefined {
  const b = body as {
    msg_type?: string;
    content?: { text?: string; post?: { zh_cn?: { title?: string; content?: { text?: string }[][] } } };
    card?: { header?: { title?: { content?: string } }; elements?: { text?: { content?: string } }[] };
  };
  if (b.msg_type === "text" && typeof b.content?.text === "string") return { text: b.content.text };
  if (b.msg_type === "post" && b.content?.post?.zh_cn?.content)
    return {
      title: b.content.post.zh_cn.title,
      text: b.content.post.zh_cn.content.map((l) => l.map((t) => t.text ?? "").join("")).join("\n"),
    };
  if (b.msg_type === "interactive" && b.card?.elements)
    return {
      title: b.card.header?.title?.content,
      text: b.card.elements.map((e) => e.text?.content ?? "").join("\n"),
    };
  return undefined;
}

export function startFakeFeishu(): FakeFeishu {
  const bots = new Map<string, FeishuBot>();
  const minute = new Map<string, Sliding>();
  const second = new Map<string, Sliding>();
  const base = serveRobot(
    (u) => /^\/open-apis\/bot\/v2\/hook\/([^/]+)$/.exec(u.pathname)?.[1],
    async (req, _url, id) => {
      const bot = id ? bots.get(id) : undefined;
      if (!id || !bot) return answer(19001, "param invalid: incoming webhook access token invalid");
      const raw = await req.text();
      // "20 KB": taken as the stricter 20,000 bytes (docs/contracts.md#feishu-bot).
      if (utf8(raw) > 20_000) return fake.tooLarge();
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw);
      } catch {
        return answer(9499, "Bad Request");
      }
      const now = Date.now();
      if (bot.secret) {
        const ts = body.timestamp;
        if (typeof ts !== "string" || !/^\d+$/.test(ts) || Math.abs(now / 1000 - Number(ts)) > 3600)
          return answer(19021, "sign match fail or timestamp is not within one hour from current time");
        if (body.sign !== (await hmac(`${ts}\n${bot.secret}`, "")))
          return answer(19021, "sign match fail or timestamp is not within one hour from current time");
      }
      for (const [m, limit, period] of [
        [minute, 100, 60_000],
        [second, 5, 1000],
      ] as const) {
        if (!windowOf(m, id, limit, period).hit(now))
          return answer(11232, "frequency limited psm[lark.oapi.app_platform_runtime]");
      }
      const s = shown(body);
      if (!s) return answer(9499, "Bad Request: unknown msg_type or content");
      if (bot.keyword && !`${s.title ?? ""}${s.text}`.includes(bot.keyword))
        return answer(19024, "Key Words Not Found");
      const literal = body.msg_type === "interactive" ? shownLiterally("lark_md", s.text) : [];
      fake.received.push({
        robot: id,
        body,
        text: s.text,
        title: s.title,
        bytes: utf8(raw),
        at: now,
        literal,
      });
      return answer(0, "success");
    },
  );
  const fake: FakeFeishu = Object.assign(base, {
    gatewayLimit: (resetS: number) => () =>
      Response.json(
        { code: 99991400, msg: "request trigger frequency limit" },
        { status: 429, headers: { "x-ogw-ratelimit-reset": String(resetS) } },
      ),
    tooLarge: () => answer(9499, "Bad Request: request body too large"),
    mentioned(r: Received) {
      const b = r.body as {
        msg_type?: string;
        content?: { post?: { zh_cn?: { content?: { tag?: string; user_id?: string }[][] } } };
      };
      if (b.msg_type === "post")
        return (b.content?.post?.zh_cn?.content ?? [])
          .flat()
          .flatMap((t) => (t.tag === "at" && t.user_id ? [t.user_id] : []));
      const form = b.msg_type === "text" ? /<at user_id="([^"]+)">/g : /<at id=([^\s>]+)>/g;
      return [...r.text.matchAll(form)].map((m) => m[1]);
    },
    webhook(id: string, bot: FeishuBot = {}) {
      if (!bots.has(id)) bots.set(id, bot);
      return `${base.url}/open-apis/bot/v2/hook/${id}`;
    },
  });
  return fake;
}
