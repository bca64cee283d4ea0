/**
 * `POST /v1/templates/preview` (README, "Operations"): renders `data` — an Alertmanager payload, a list of
 * alerts (or `{alerts}`), or free data for a custom template — for one channel or every
 * configured one, exactly as a job would, without sending anything. Answers the whole message
 * with its size against the channel's limit, and the parts it would be sent as.
 */
import { z } from "zod";
import { alertmanagerPayloadSchema, alertSchema } from "../alerts/alert.ts";
import { LOCALES } from "../config/schema.ts";
import { invalid, JobError, notFound, zodIssues } from "../errors.ts";
import { freeJson } from "../json-record.ts";
import type { Services } from "../services.ts";
import type { Channel } from "./channels/channel.ts";
import { consoleChannel } from "./channels/console.ts";
import { inputOf } from "./job.ts";
import { type Notifier, viewsOf } from "./notifier.ts";
import { planFor, specFor, toneOf } from "./render.ts";
import { renderAlerts, renderData } from "./templates.ts";
import { type NotifyInput, partView } from "./view.ts";

export const previewSchema = z.strictObject({
  template: z.string().min(1).optional(),
  channel: z.string().min(1).optional(),
  format: z.enum(["text", "markdown", "html"]).optional(),
  title: z.string().min(1).optional(),
  /** The language of the words the templates add; default each channel's. */
  locale: z.enum(LOCALES).optional(),
  /** Required; checked by parseData, which can say what it may be. */
  data: z.unknown().optional(),
});

const WHAT_DATA_IS =
  "an Alertmanager payload, a list of alerts (or {alerts}), or an object for a custom template";

function parseData(data: unknown): NotifyInput {
  if (data === undefined)
    throw invalid("invalid_request", `data: is required: ${WHAT_DATA_IS}`, [
      { path: "data", message: `is required: ${WHAT_DATA_IS}` },
    ]);
  const fail = (e: z.ZodError, what: string, base: string): never => {
    const issues = zodIssues(e).map((i) => ({
      ...i,
      path: i.path === "(root)" ? base : `${base}${i.path.startsWith("[") ? "" : "."}${i.path}`,
    }));
    throw invalid(
      "invalid_request",
      `data is not ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      issues,
    );
  };
  if (Array.isArray(data) || (data && typeof data === "object" && "alerts" in data && !("version" in data))) {
    const list = Array.isArray(data) ? data : (data as { alerts: unknown }).alerts;
    const r = z.array(alertSchema).min(1, "needs at least one alert").safeParse(list);
    return r.success
      ? inputOf({ alerts: r.data })
      : fail(r.error, "a list of alerts", Array.isArray(data) ? "data" : "data.alerts");
  }
  if (data && typeof data === "object" && "version" in data) {
    const r = alertmanagerPayloadSchema.safeParse(data);
    return r.success ? inputOf({ payload: r.data }) : fail(r.error, "an Alertmanager v4 payload", "data");
  }
  if (data && typeof data === "object") {
    const r = freeJson().safeParse(data);
    return r.success
      ? { kind: "data", data: r.data }
      : fail(r.error, "an object for a custom template", "data");
  }
  throw invalid("invalid_request", `data must be ${WHAT_DATA_IS}`);
}

/** Renders a preview request (validated against previewSchema by the route). */
export async function previewTemplates(deps: Services, n: Notifier, req: z.output<typeof previewSchema>) {
  const input = parseData(req.data);
  const groupOf = viewsOf(n, input, deps.now(), req.locale);
  let channels: Channel[];
  if (req.channel) {
    const ch = n.channels.get(req.channel);
    if (!ch) throw notFound(`channel ${req.channel}`, "channel");
    channels = [ch];
  } else {
    channels = [...n.channels.values()];
    if (!channels.length)
      channels = [
        consoleChannel("preview", {
          type: "console",
          format: req.format,
          fallback: [],
          max_parts: 5,
          dedup_window: 0,
          late_copy_window: 0,
        }),
      ];
  }
  const opts = { template: req.template, format: req.format, title: req.title };
  try {
    const previews = channels.map((ch) => {
      const group = groupOf(ch);
      const { spec, format } = specFor(n, ch, opts);
      const whole =
        group && input.kind === "alerts"
          ? renderAlerts(spec, partView(group, group.all, 1, 1))
          : renderData(spec, input.kind === "data" ? input.data : {});
      const limit = ch.limit(format);
      const wholeMsg = {
        ...whole,
        part: 1,
        parts: 1,
        alerts: group?.count ?? 0,
        format,
        tone: toneOf(group),
      };
      const size = limit ? ch.measure(wholeMsg) : whole.body.length;
      const plan = planFor(n, ch, opts, input, group);
      return {
        channel: ch.name,
        type: ch.type,
        format,
        template: spec.template.name,
        title: whole.title,
        body: whole.body,
        size,
        limit: limit?.max ?? null,
        unit: limit?.unit ?? "chars",
        fits: !limit || size <= limit.max,
        parts: plan.messages.map((m) => ({
          part: m.part,
          title: m.title,
          body: m.body,
          alerts: m.alerts,
          size: limit ? ch.measure(m) : m.body.length,
          ...(m.alt !== undefined ? { text: m.alt } : {}),
        })),
      };
    });
    return { previews };
  } catch (e) {
    // The job would fail for good; a preview is a request to fix, so invalid with the same reason.
    if (e instanceof JobError && e.kind === "permanent")
      throw invalid("invalid_request", e.message, e.details);
    throw e;
  }
}
