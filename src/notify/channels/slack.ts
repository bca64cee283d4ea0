/**
 * Slack incoming webhook (docs/contracts.md#slack-incoming-webhook): `POST {text, blocks}`; success is HTTP 200 with the
 * body exactly `ok`, anything else is an error string. Markdown goes out as Block Kit: a header
 * block (plain text, ≤ 150 chars) and mrkdwn section blocks (≤ 3000 chars each) cut at line
 * boundaries, under Slack's 50 blocks; `text` carries the title for notifications. Slack
 * counts characters, not bytes. About one message a second per webhook.
 */
import type { ChannelConfig } from "../../config/schema.ts";
import { permanent } from "../../errors.ts";
import { escapeSlack, type Format, urlAcross } from "../text.ts";
import { cutTitle } from "../view.ts";
import { type Channel, type Message, PER_SECOND, ratesOf, type SendContext } from "./channel.ts";
import { hash64 } from "./hmac.ts";
import { httpError, requestJson, robotError } from "./http.ts";

type SlackConfig = Extract<ChannelConfig, { type: "slack" }>;

export const SLACK_SECTION_MAX = 3000;
export const SLACK_HEADER_MAX = 150;
/** A part's body budget: a screenful, well under 50 blocks of 3000 characters. */
export const SLACK_MAX_CHARS = 12_000;

/** Cuts text into pieces of at most `max` characters, at line boundaries where possible. */
export function sections(text: string, max = SLACK_SECTION_MAX): string[] {
  const out: string[] = [];
  // Block Kit refuses a section of blank text (invalid_blocks): such a piece is left out.
  const keep = (piece: string) => {
    if (piece.trim()) out.push(piece);
  };
  let cur = "";
  for (const line of text.split("\n")) {
    let l = line;
    while (l.length > max) {
      keep(cur);
      cur = "";
      const cut = cutAt(l, max);
      keep(l.slice(0, cut));
      l = l.slice(cut);
    }
    const next = cur ? `${cur}\n${l}` : l;
    if (next.length > max) {
      keep(cur);
      cur = l;
    } else cur = next;
  }
  keep(cur);
  return out;
}

/**
 * Where to cut a line of more than `max` characters: not inside a link or mention
 * (`<url|text>`, whose URL may hold raw `&`), a bare URL (the first section would link elsewhere)
 * or an escape (`&amp;`), which Slack would then show as raw text in both sections, nor a
 * surrogate pair; never at 0, so the line always shortens.
 */
function cutAt(l: string, max: number): number {
  let cut = max;
  const lt = l.lastIndexOf("<", cut - 1);
  const amp = l.lastIndexOf("&", cut - 1);
  const url = urlAcross(l, cut);
  if (lt > l.lastIndexOf(">", cut - 1) && l.indexOf(">", lt) >= cut) cut = lt;
  else if (url > 0) cut = url;
  else if (amp > cut - 5 && /^&(amp|lt|gt);/.test(l.slice(amp)) && l.indexOf(";", amp) >= cut) cut = amp;
  if (/[\uD800-\uDBFF]/.test(l[cut - 1] ?? "")) cut--;
  return cut > 0 ? cut : max;
}

/**
 * The title within Slack's header limit, its part labels whole: the parts of a long title stay
 * apart, and so do the pieces of a part split again after `msg_too_long` (heal.ts adds theirs).
 */
function header(m: Message): string {
  return cutTitle(m.title, / \(\d+\/\d+\)(?: \(\d+\/\d+\))*$/.exec(m.title)?.[0] ?? "", SLACK_HEADER_MAX);
}

export function slack(name: string, cfg: SlackConfig): Channel {
  const payload = (m: Message) => {
    if (m.format === "text") return { text: `${escapeSlack(m.title)}\n\n${m.body}`, mrkdwn: false };
    // Slack refuses an empty plain_text (invalid_blocks): free data's title may render empty.
    const blocks: unknown[] = m.title.trim()
      ? [{ type: "header", text: { type: "plain_text", text: header(m), emoji: true } }]
      : [];
    for (const s of sections(m.body)) blocks.push({ type: "section", text: { type: "mrkdwn", text: s } });
    return { text: escapeSlack(m.title), blocks };
  };
  return {
    name,
    type: "slack",
    cfg,
    formats: ["markdown", "text"],
    defaultFormat: cfg.format === "text" ? "text" : "markdown",
    dialect: (f: Format) => (f === "text" ? "text" : "slack"),
    // Slack parses <…> and &…; in every message, mrkdwn or not.
    escape: () => escapeSlack,
    limit: () => ({ max: SLACK_MAX_CHARS, unit: "chars" }),
    measure: (m) => m.title.length + m.body.length,
    robot: `slack:${hash64(cfg.webhook)}`,
    rates: ratesOf(cfg, [PER_SECOND(1)]),
    async send(m: Message, ctx: SendContext) {
      const body = payload(m);
      const blocks = "blocks" in body ? (body.blocks ?? []) : [];
      if (blocks.length > 50)
        throw robotError(name, "too_long", 0, `${blocks.length} blocks (Slack allows 50)`);
      let a = await requestJson(ctx, name, cfg.webhook, body);
      // Blocks Slack will not take (a limit not documented, a client's markup) are not worth a
      // lost page: the same text goes once more as a plain mrkdwn message (docs/notifications.md).
      if (a.status === 400 && a.text.trim() === "invalid_blocks" && blocks.length) {
        a = await requestJson(ctx, name, cfg.webhook, { text: `*${escapeSlack(m.title)}*\n\n${m.body}` });
        if (a.status === 200 && a.text.trim() === "ok") return "ok (as plain text: Slack refused the blocks)";
      }
      if (a.status === 200 && a.text.trim() === "ok") return "ok";
      // Slack's answers for a message too long for it (HTTP 400): split smaller and send again.
      if (["msg_too_long", "msg_blocks_too_long"].includes(a.text.trim()))
        throw robotError(name, "too_long", a.status, a.text.trim());
      const err = httpError(name, a, ctx.now());
      if (err) throw err;
      // HTTP 200 with another body: Slack's error string, permanent.
      throw permanent("channel_rejected", `channel ${name}: Slack answered ${a.text.slice(0, 200)}`, {
        channel: name,
        status: a.status,
        response: a.text.slice(0, 500),
      });
    },
  };
}
