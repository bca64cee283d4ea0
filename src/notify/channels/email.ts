/**
 * Email over SMTP (docs/contracts.md#email-smtp): one message per notification, multipart text + HTML (the
 * HTML escaped value by value), UTF-8 subject, AUTH PLAIN/LOGIN, implicit TLS (465) or
 * STARTTLS (587). Sent with the small client in smtp/ over the runtime's TCP (Deps.tcp):
 * node:net/node:tls on the binary and Deno, `cloudflare:sockets` on Workers.
 */
import type { ChannelConfig } from "../../config/schema.ts";
import { permanent } from "../../errors.ts";
import type { Dialect } from "../defaults.ts";
import { escapeHtml, escapeText, type Format } from "../text.ts";
import { type Channel, type Message, ratesOf, type SendContext } from "./channel.ts";
import { sendMail } from "./smtp/client.ts";
import { buildMessage, parseAddress } from "./smtp/mime.ts";

type EmailConfig = Extract<ChannelConfig, { type: "email" }>;

/** The SMTP port a `secure` mode uses when none is configured. */
export const DEFAULT_PORTS = { tls: 465, starttls: 587, none: 25 } as const;

export function email(name: string, cfg: EmailConfig): Channel {
  const from = parseAddress(cfg.from);
  const to = cfg.to.map(parseAddress);
  const cc = cfg.cc.map(parseAddress);
  const domain = from.address.split("@")[1] ?? "localhost";
  const smtp = {
    host: cfg.smtp.host,
    port: cfg.smtp.port ?? DEFAULT_PORTS[cfg.smtp.secure],
    secure: cfg.smtp.secure,
    user: cfg.smtp.user,
    pass: cfg.smtp.pass,
    ca: cfg.smtp.ca,
    rejectUnauthorized: cfg.smtp.reject_unauthorized,
    timeoutMs: cfg.smtp.timeout,
    helo: cfg.smtp.helo ?? domain,
  };
  return {
    name,
    type: "email",
    cfg,
    // A markdown custom template is mailed as it is, as text/plain.
    formats: ["html", "text", "markdown"],
    defaultFormat: cfg.format === "text" ? "text" : "html",
    dialect: (f: Format): Dialect => (f === "html" ? "html" : "text"),
    escape: (f: Format) => (f === "html" ? escapeHtml : escapeText),
    alternative: (f: Format) => (f === "html" ? "text" : undefined),
    limit: () => undefined,
    measure: (m) => m.body.length,
    robot: cfg.rate ? `email:${name}` : undefined,
    rates: ratesOf(cfg, []),
    async send(m: Message, ctx: SendContext) {
      if (!ctx.tcp)
        throw permanent("channel_unavailable", `channel ${name}: this runtime cannot open TCP connections`);
      const html = m.format === "html";
      const id = `${ctx.sendAs}.${name}.${m.part}`.replace(/[^A-Za-z0-9._-]/g, "_");
      const message = buildMessage({
        from,
        to,
        cc,
        subject: m.title,
        text: html ? (m.alt ?? m.body) : m.body,
        html: html ? m.body : undefined,
        messageId: `<${id}@${domain}>`,
        date: ctx.now(),
        headers: { "X-AlertAgent-Message-Id": ctx.messageId },
      });
      const rcpt = [...to, ...cc].map((a) => a.address).filter((a) => !m.sent_to?.includes(a));
      // A retry whose recipients all have it (or were taken out of the config meanwhile).
      if (!rcpt.length) return `already sent to ${m.sent_to?.length ?? 0} recipient(s)`;
      const envelope = { from: from.address, to: rcpt, sentBefore: m.sent_to?.length };
      const sent = await sendMail(ctx.tcp, smtp, envelope, message);
      if (!sent.refused.length) return sent.answer;
      // The others have it; a wrong address will not fix itself, so it is said, not retried.
      ctx.logger.warn("email recipients refused", { channel: name, refused: sent.refused });
      return `${sent.answer} (refused: ${sent.refused.join("; ")})`;
    },
  };
}
