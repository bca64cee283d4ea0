/**
 * The console channel: prints the rendered message as one JSON log line (the worker's
 * logger, so stdout on the binary and Deno, `wrangler tail` on Workers). For local runs and
 * for seeing exactly what a template produces.
 */
import type { ChannelConfig } from "../config/schema.ts";
import { type Channel, type Message, ratesOf, type SendContext } from "./channel.ts";
import { escapeHtml, escapeMarkdown, escapeText, type Format } from "./text.ts";

type ConsoleConfig = Extract<ChannelConfig, { type: "console" }>;

export function consoleChannel(name: string, cfg: ConsoleConfig): Channel {
  return {
    name,
    type: "console",
    cfg,
    formats: ["text", "markdown", "html"],
    defaultFormat: cfg.format ?? "text",
    dialect: (f: Format) => f,
    escape: (f: Format) => (f === "html" ? escapeHtml : f === "markdown" ? escapeMarkdown : escapeText),
    limit: () => undefined,
    measure: (m) => m.body.length,
    robot: cfg.rate ? `console:${name}` : undefined,
    rates: ratesOf(cfg, []),
    async send(m: Message, ctx: SendContext) {
      ctx.logger.info("notification", {
        channel: name,
        message_id: ctx.messageId,
        part: m.part,
        parts: m.parts,
        format: m.format,
        title: m.title,
        body: m.body,
      });
      return "printed";
    },
  };
}
