/**
 * Feishu/Lark custom bot (docs/contracts.md#feishu-bot): `POST …/open-apis/bot/v2/hook/<id>`; with a secret,
 * `timestamp` (seconds, a string) and `sign` = base64(HMAC-SHA256(key = ts + "\n" + secret,
 * message = "")) travel in the JSON body. msg_type interactive (a card: coloured header, lark_md
 * body), post (rich text, one line a paragraph) or text. The whole body must stay under 20 KB.
 * Answers `{code, msg}`: 19021 bad signature/time, 19024 keyword, 11232 rate limited, 9499 too
 * large; the open platform's own limit is an HTTP 429 (99991400).
 */
import type { ChannelConfig } from "../../config/schema.ts";
import { escapeFeishu, escapeRobotText, type Format, utf8Length } from "../text.ts";
import {
  type Channel,
  type Message,
  PER_MINUTE,
  PER_SECOND,
  ratesOf,
  type SendContext,
  wakes,
  withKeyword,
} from "./channel.ts";
import { hash64, hmacBase64 } from "./hmac.ts";
import { answerOf, httpError, requestJson, retryAfterOf, robotError } from "./http.ts";

type FeishuConfig = Extract<ChannelConfig, { type: "feishu" }>;

/** The request body limit (20 KB), less room for the signature fields added at send time. */
export const FEISHU_MAX_BYTES = 20_000;
/** A body this large refused with 9499 may have been refused for its size (Feishu counts its own way). */
const NEAR_LIMIT = FEISHU_MAX_BYTES * 0.75;
const SIGN_ROOM = 96;

const TEMPLATE_COLOR = {
  red: "red",
  orange: "orange",
  yellow: "yellow",
  blue: "blue",
  green: "green",
  grey: "grey",
};

export function feishu(name: string, cfg: FeishuConfig): Channel {
  // msg_type: text is the operator's choice of plain text: markdown (a job's, the channel's, a
  // custom template's) goes as text too, not as a card (docs/notifications.md, "Feishu").
  const typeOf = (f: Format) => (f === "text" ? "text" : cfg.msg_type);
  const ids = [...cfg.at.user_ids, ...(cfg.at.all ? ["all"] : [])];
  const mentioning = (m: Message) => (wakes(m, cfg.at.on_resolved) ? ids : []);
  /** The mentions as a last line, in the form each type reads (docs/contracts.md#feishu-bot). */
  const atLine = (m: Message, form: (id: string) => string) => {
    const who = mentioning(m);
    return who.length ? `\n\n${who.map(form).join(" ")}` : "";
  };
  const payload = (m: Message): Record<string, unknown> => {
    const type = typeOf(m.format);
    const body = withKeyword(m.body, cfg.keywords);
    // The title carries label values too (the group name): it must not mention anyone either.
    if (type === "text") {
      const text = withKeyword(`${escapeRobotText(m.title)}\n\n${m.body}`, cfg.keywords);
      return { msg_type: "text", content: { text: text + atLine(m, (id) => `<at user_id="${id}"></at>`) } };
    }
    if (type === "post") {
      const content: Record<string, string>[][] = body
        .split("\n")
        .map((line) => [{ tag: "text", text: line }]);
      const who = mentioning(m);
      if (who.length) content.push(who.map((id) => ({ tag: "at", user_id: id })));
      return { msg_type: "post", content: { post: { zh_cn: { title: m.title, content } } } };
    }
    return {
      msg_type: "interactive",
      card: {
        config: { wide_screen_mode: true },
        header: { title: { tag: "plain_text", content: m.title }, template: TEMPLATE_COLOR[m.tone] },
        elements: [
          { tag: "div", text: { tag: "lark_md", content: body + atLine(m, (id) => `<at id=${id}></at>`) } },
        ],
      },
    };
  };
  return {
    name,
    type: "feishu",
    cfg,
    formats: ["markdown", "text"],
    defaultFormat: cfg.format === "text" || (!cfg.format && cfg.msg_type === "text") ? "text" : "markdown",
    // A card's lark_md renders bold, links and colour but no headings, quotes or lists ("lark");
    // a post is rich text made of plain lines: it renders (and escapes) like text.
    dialect: (f: Format) => (typeOf(f) === "interactive" ? "lark" : "text"),
    escape: (f: Format) => (typeOf(f) === "interactive" ? escapeFeishu : escapeRobotText),
    limit: () => ({ max: FEISHU_MAX_BYTES, unit: "bytes" }),
    measure: (m) => utf8Length(JSON.stringify(payload(m))) + (cfg.secret ? SIGN_ROOM : 0),
    robot: `feishu:${hash64(cfg.webhook)}`,
    rates: ratesOf(cfg, [PER_MINUTE(100), PER_SECOND(5)]),
    async send(m: Message, ctx: SendContext) {
      const body = payload(m);
      if (cfg.secret) {
        const ts = String(Math.floor(ctx.now() / 1000));
        body.timestamp = ts;
        body.sign = await hmacBase64(`${ts}\n${cfg.secret}`, "");
      }
      const a = await requestJson(ctx, name, cfg.webhook, body);
      const r = a.json as { code?: number; msg?: string; StatusCode?: number } | undefined;
      const code = typeof r?.code === "number" ? r.code : r?.StatusCode;
      // The platform's own limit answers HTTP 429 with a code of its own (99991400) and the wait in
      // x-ogw-ratelimit-reset: a wait, whatever the code says (docs/contracts.md#feishu-bot).
      if (a.status === 429)
        throw robotError(
          name,
          "rate",
          code ?? 429,
          r?.msg ?? a.text.slice(0, 200),
          retryAfterOf(a.headers, ctx.now()) ?? resetOf(a.headers),
        );
      // No code of Feishu's: read by the HTTP status (a redirect, a gateway's 5xx); a 2xx without a code is not Feishu's either.
      if (typeof code !== "number")
        throw (
          httpError(name, a, ctx.now()) ??
          robotError(name, "transient", a.status, `HTTP ${a.status}: ${a.text.slice(0, 200)}`)
        );
      if (code === 0) return answerOf(a);
      const msg = r?.msg ?? "";
      if (code === 11232) throw robotError(name, "rate", code, msg, 60);
      if (code === 19021) throw robotError(name, "auth", code, msg);
      // 19036: the request is over the size limit; 11246: the card is too large. 9499 is any bad
      // request, a body over 20 KB among them: read as "too long" only for a body near the limit
      // (a smaller one was refused for its content, and splitting it would only spend requests).
      if (code === 19036 || code === 11246) throw robotError(name, "too_long", code, msg);
      if (code === 9499 && utf8Length(JSON.stringify(body)) >= NEAR_LIMIT)
        throw robotError(name, "too_long", code, msg);
      if (a.status >= 500) throw robotError(name, "transient", code, msg);
      throw robotError(name, "permanent", code, msg);
    },
  };
}

/** Feishu's gateway names the seconds until its limit resets in `x-ogw-ratelimit-reset`. */
function resetOf(headers: Headers): number | undefined {
  const v = headers.get("x-ogw-ratelimit-reset")?.trim();
  return v && /^\d+$/.test(v) ? Math.max(1, Number(v)) : undefined;
}
