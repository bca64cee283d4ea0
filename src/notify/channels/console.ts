/**
 * The console channel: prints the rendered message as a person reads it — a header line, the
 * title and the body — among the worker's log lines (stdout on the binary and Deno, `wrangler
 * tail` on Workers). For local runs and for seeing exactly what a template produces.
 */
import type { ChannelConfig } from "../../config/schema.ts";
import { escapeHtml, escapeMarkdown, escapeText, type Format } from "../text.ts";
import { type Channel, type Message, ratesOf, type SendContext } from "./channel.ts";

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
      ctx.logger.print(consoleBlock(name, ctx.messageId, m));
      return "printed";
    },
  };
}

/** One message as a block of text: `── channel · message id · part i/n ──`, the title, the body. */
export function consoleBlock(channel: string, messageId: string, m: Message): string {
  const part = m.parts > 1 ? ` · part ${m.part}/${m.parts}` : "";
  const head = `── ${channel} · ${messageId}${part} `;
  return shownPlainly(`${head.padEnd(72, "─")}\n${m.title}\n\n${m.body.trimEnd()}\n`);
}

/**
 * Control characters as their visible pictures (ESC as ␛): a label from the alert's sender would
 * otherwise reach the terminal of whoever follows the logs (`docker logs -f`) as escape
 * sequences — a cleared screen, fake text, an OSC 52 write to their clipboard.
 */
function shownPlainly(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => {
    const code = c.charCodeAt(0);
    if (c === "\n" || c === "\t") return c;
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? "␡" : "\ufffd";
  });
}
