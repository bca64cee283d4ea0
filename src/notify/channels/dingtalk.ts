/**
 * DingTalk custom robot (docs/contracts.md#dingtalk-robot): `POST …/robot/send?access_token=T`, signed when a
 * secret is set (ms timestamp, base64(HMAC-SHA256(secret, ts + "\n" + secret)), URL-encoded
 * once). Bodies: markdown {title, text}, text {content}, actionCard. Mentions go in `at` and,
 * as DingTalk requires, as `@<mobile>` / `@<userId>` in the text — on the first part only, so
 * a split message wakes people once. Errors arrive under HTTP 200 as errcodes.
 */
import type { ChannelConfig } from "../../config/schema.ts";
import { escapeDingtalk, escapeText, type Format, utf8Length } from "../text.ts";
import {
  type Channel,
  type Message,
  PER_MINUTE,
  ratesOf,
  type SendContext,
  wakes,
  withKeyword,
} from "./channel.ts";
import { hash64, hmacBase64 } from "./hmac.ts";
import { errcodeAnswer, requestJson } from "./http.ts";

type DingTalkConfig = Extract<ChannelConfig, { type: "dingtalk" }>;

/**
 * DingTalk refuses a request body over 20000 bytes (errcode 460101, "body 大小不合法 … 请保持大小在
 * 20000bytes 以内"): measured on the serialized JSON, escapes included, with a 5% margin
 * (docs/contracts.md#dingtalk-robot).
 */
export const DINGTALK_MAX_BYTES = 19_000;
/** After 130101 the robot stays throttled for 10 minutes. */
const THROTTLED_S = 600;

export function dingtalk(name: string, cfg: DingTalkConfig): Channel {
  const mentions = [...cfg.at.mobiles, ...cfg.at.user_ids].map((m) => `@${m}`).join(" ");
  const msgtypeOf = (m: Message) =>
    m.format === "text" ? "text" : cfg.msgtype === "actionCard" && m.link ? "actionCard" : "markdown";
  const mentionsIn = (m: Message) => wakes(m, cfg.at.on_resolved);
  const content = (m: Message): string => {
    const head = m.format === "text" ? `${m.title}\n\n` : `### ${escapeDingtalk(m.title)}\n\n`;
    const at = mentionsIn(m) && mentions ? `\n\n${mentions}` : "";
    return withKeyword(head + m.body, cfg.keywords) + at;
  };
  const payload = (m: Message) => {
    const type = msgtypeOf(m);
    const text = content(m);
    const body: Record<string, unknown> = { msgtype: type };
    if (type === "text") body.text = { content: text };
    else if (type === "markdown") body.markdown = { title: m.title, text };
    else body.actionCard = { title: m.title, text, singleTitle: m.linkText ?? "Open", singleURL: m.link };
    if (mentionsIn(m) && (mentions || cfg.at.all))
      body.at = { atMobiles: cfg.at.mobiles, atUserIds: cfg.at.user_ids, isAtAll: cfg.at.all };
    return body;
  };
  return {
    name,
    type: "dingtalk",
    cfg,
    formats: ["markdown", "text"],
    defaultFormat: cfg.format === "text" || (!cfg.format && cfg.msgtype === "text") ? "text" : "markdown",
    dialect: (f: Format) => (f === "text" ? "text" : "markdown"),
    escape: (f: Format) => (f === "text" ? escapeText : escapeDingtalk),
    limit: () => ({ max: DINGTALK_MAX_BYTES, unit: "bytes" }),
    measure: (m) => utf8Length(JSON.stringify(payload(m))),
    robot: `dingtalk:${hash64(cfg.webhook)}`,
    rates: ratesOf(cfg, [PER_MINUTE(20)]),
    async send(m: Message, ctx: SendContext) {
      const url = cfg.secret ? await signedUrl(cfg.webhook, cfg.secret, ctx.now()) : cfg.webhook;
      const a = await requestJson(ctx, name, url, payload(m));
      return errcodeAnswer(name, a, ctx.now(), ERRCODES);
    },
  };
}

/** The webhook URL with `&timestamp=<ms>&sign=<base64, URL-encoded once>`. */
export async function signedUrl(webhook: string, secret: string, nowMs: number): Promise<string> {
  const ts = String(nowMs);
  const sign = await hmacBase64(secret, `${ts}\n${secret}`);
  return `${webhook}${webhook.includes("?") ? "&" : "?"}timestamp=${ts}&sign=${encodeURIComponent(sign)}`;
}

/** DingTalk's own errcodes (docs/contracts.md#dingtalk-robot): 130101 throttled (10 min); 300001/300005 bad token, 310000 sign or keyword refused; 460101 (101002 before) too long. */
const ERRCODES = {
  130101: { kind: "rate", retryAfterS: THROTTLED_S },
  300001: { kind: "auth" },
  300005: { kind: "auth" },
  310000: { kind: "auth" },
  460101: { kind: "too_long" },
  101002: { kind: "too_long" },
} as const;
