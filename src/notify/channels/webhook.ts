/**
 * Generic webhook (docs/contracts.md#generic-webhook): the configured method, headers and timeout; a JSON body with
 * the rendered message and the alerts (and the Alertmanager group, or the custom data).
 * 2xx is success; 5xx, 408 and timeouts are transient; 429 honours Retry-After; other 4xx are
 * permanent. No size limit of its own: the receiver gets the whole message in one request, until
 * it answers 413 — then the parts not sent are packed again by their alerts into smaller requests,
 * each with only its own alerts (heal.ts).
 * Each request carries `Idempotency-Key: <message id>:<channel>:<part>`, the same on every
 * redelivery — and on a repeat that takes over a state whose sender died (ctx.sendAs) — so a
 * receiver can drop the one duplicate the worker cannot rule out: a send that reached the
 * receiver just before the worker died, before the send was recorded.
 */
import type { ChannelConfig } from "../../config/schema.ts";
import { permanent } from "../../errors.ts";
import { escapeHtml, escapeMarkdown, escapeText, type Format, utf8Length } from "../text.ts";
import { type Channel, type Message, ratesOf, type SendContext } from "./channel.ts";
import { hash64 } from "./hmac.ts";
import { answerOf, httpError, requestJson, TOO_LONG } from "./http.ts";

type WebhookConfig = Extract<ChannelConfig, { type: "webhook" }>;

export function webhook(name: string, cfg: WebhookConfig): Channel {
  return {
    name,
    type: "webhook",
    cfg,
    formats: ["markdown", "text", "html"],
    defaultFormat: cfg.format ?? "markdown",
    dialect: (f: Format) => f,
    escape: (f: Format) => (f === "html" ? escapeHtml : f === "markdown" ? escapeMarkdown : escapeText),
    limit: () => undefined,
    measure: (m) => m.body.length,
    requestBytes: (m, ctx) => bytesOf(bodyOf(name, m, ctx)),
    robot: cfg.rate ? `webhook:${hash64(cfg.url)}` : undefined,
    rates: ratesOf(cfg, []),
    async send(m: Message, ctx: SendContext) {
      const body = bodyOf(name, m, ctx);
      const a = await requestJson(ctx, name, cfg.url, body, {
        method: cfg.method,
        headers: { "Idempotency-Key": `${ctx.sendAs}:${name}:${m.part}`, ...cfg.headers },
        timeoutMs: cfg.timeout,
      });
      // Too large for the receiver (nginx's client_max_body_size, 1 MB by default): packed smaller, not lost.
      if (a.status === 413) {
        const size = bytesOf(body);
        throw permanent(
          TOO_LONG,
          `channel ${name}: HTTP 413: the receiver refused ${size} bytes as too large`,
          {
            channel: name,
            status: 413,
            size,
          },
        );
      }
      const err = httpError(name, a, ctx.now());
      if (err) throw err;
      return answerOf(a);
    },
  };
}

/** The JSON body of one part: its text, and the alerts it lists (all of them unless it says). */
function bodyOf(name: string, m: Message, ctx: SendContext): Record<string, unknown> {
  const p = ctx.payload;
  return {
    message_id: ctx.messageId,
    channel: name,
    title: m.title,
    body: m.body,
    format: m.format,
    part: m.part,
    parts: m.parts,
    ...(ctx.alerts ? { alerts: m.at ? m.at.map((i) => ctx.alerts?.[i]) : ctx.alerts } : {}),
    ...(p
      ? {
          group: {
            groupKey: p.groupKey,
            status: p.status,
            receiver: p.receiver,
            groupLabels: p.groupLabels,
            commonLabels: p.commonLabels,
            commonAnnotations: p.commonAnnotations,
            externalURL: p.externalURL,
            truncatedAlerts: p.truncatedAlerts,
          },
        }
      : {}),
    ...(ctx.data ? { data: ctx.data } : {}),
  };
}

/** The bytes of a request body as requestJson sends it (JSON, UTF-8). */
const bytesOf = (body: unknown): number => utf8Length(JSON.stringify(body));
