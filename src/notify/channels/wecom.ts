/**
 * WeCom (企业微信) group robot (docs/contracts.md#wecom-group-robot): `POST …/webhook/send?key=K`, no signing.
 * markdown (≤ 4096 B, `<font color>`, mentions as `<@userid>` in the text), markdown_v2
 * (≤ 4096 B, no colour) and text (≤ 2048 B, `mentioned_list` / `mentioned_mobile_list`).
 * Mentions go on the first part only. Errors arrive under HTTP 200 as errcodes.
 */
import type { ChannelConfig } from "../../config/schema.ts";
import { escapeRobotText, escapeWecom, type Format, utf8Length } from "../text.ts";
import { type Channel, type Message, PER_MINUTE, ratesOf, type SendContext, wakes } from "./channel.ts";
import { hash64 } from "./hmac.ts";
import { errcodeAnswer, requestJson } from "./http.ts";

type WeComConfig = Extract<ChannelConfig, { type: "wecom" }>;

/**
 * WeCom limits the `content` field in UTF-8 bytes (markdown 4096, text 2048: "markdown.content
 * exceed max length 4096"); the budgets keep a margin (docs/contracts.md#wecom-group-robot).
 */
export const WECOM_MARKDOWN_MAX_BYTES = 4000;
export const WECOM_TEXT_MAX_BYTES = 2000;

export function wecom(name: string, cfg: WeComConfig): Channel {
  const markdownType = cfg.msgtype === "text" ? "markdown" : cfg.msgtype;
  const typeOf = (f: Format) => (f === "text" ? "text" : markdownType);
  // markdown_v2 has no <@userid> mentions; markdown has no @all.
  const inline = cfg.mentioned_list.filter((u) => u !== "@all").map((u) => `<@${u}>`);
  const mentionsIn = (m: Message) => wakes(m, cfg.mention_on_resolved);
  const content = (m: Message): string => {
    // The title carries label values too (the group name): it must not mention anyone either.
    if (m.format === "text") return `${escapeRobotText(m.title)}\n\n${m.body}`;
    const at = mentionsIn(m) && markdownType === "markdown" && inline.length ? `\n${inline.join(" ")}` : "";
    return `### ${escapeWecom(m.title)}\n${m.body}${at}`;
  };
  const payload = (m: Message) => {
    const type = typeOf(m.format);
    if (type !== "text") return { msgtype: type, [type]: { content: content(m) } };
    const text: Record<string, unknown> = { content: content(m) };
    if (mentionsIn(m)) {
      if (cfg.mentioned_list.length) text.mentioned_list = cfg.mentioned_list;
      if (cfg.mentioned_mobile_list.length) text.mentioned_mobile_list = cfg.mentioned_mobile_list;
    }
    return { msgtype: "text", text };
  };
  return {
    name,
    type: "wecom",
    cfg,
    formats: ["markdown", "text"],
    defaultFormat: cfg.format === "text" || (!cfg.format && cfg.msgtype === "text") ? "text" : "markdown",
    dialect: (f: Format) => (f === "text" ? "text" : markdownType === "markdown" ? "wecom" : "markdown"),
    escape: (f: Format) => (f === "text" ? escapeRobotText : escapeWecom),
    limit: (f: Format) => ({
      max: f === "text" ? WECOM_TEXT_MAX_BYTES : WECOM_MARKDOWN_MAX_BYTES,
      unit: "bytes",
    }),
    measure: (m) => utf8Length(content(m)),
    robot: `wecom:${hash64(cfg.webhook)}`,
    rates: ratesOf(cfg, [PER_MINUTE(20)]),
    async send(m: Message, ctx: SendContext) {
      const a = await requestJson(ctx, name, cfg.webhook, payload(m));
      return errcodeAnswer(name, a, ctx.now(), ERRCODES);
    },
  };
}

/** WeCom's own errcodes (docs/contracts.md#wecom-group-robot): 45009 over the robot's 20/min; 93000 bad webhook key. */
const ERRCODES = {
  45009: { kind: "rate", retryAfterS: 60 },
  93000: { kind: "auth" },
  45002: { kind: "too_long" },
  40058: { kind: "too_long" },
} as const;
