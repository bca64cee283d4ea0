/**
 * The notification job (docs/notifications.md) as a zod schema — the one definition of what
 * `POST /jobs/notification` accepts — and the renderer's input made from it.
 */
import { z } from "zod";
import {
  type Alert,
  alertmanagerPayloadSchema,
  alertSchema,
  alertsOf,
  isRawAlertmanagerPayload,
} from "../alerts/alert.ts";
import type { AnalysisBrief } from "../alerts/brief.ts";
import { freeJson } from "../json-record.ts";
import type { NotifyInput } from "./view.ts";

export const notificationJobSchema = z
  .strictObject({
    /** Channel names from the config. */
    channels: z.array(z.string().min(1)).min(1),
    /** A template name (custom, or alert-default / alert-compact); default per channel. */
    template: z.string().min(1).optional(),
    format: z.enum(["text", "markdown", "html"]).optional(),
    /** Overrides the title; itself a Mustache template over the view. */
    title: z.string().min(1).optional(),
    alerts: z.array(alertSchema).min(1).optional(),
    /** A whole Alertmanager webhook payload (version "4"). */
    payload: alertmanagerPayloadSchema.optional(),
    /** Free data for a custom template. */
    data: freeJson().optional(),
    /** Tried, in order, when a channel fails permanently (after the channel's own fallback). */
    fallback: z.array(z.string().min(1)).default([]),
    /** Show each firing alert's latest analysis when one has finished (docs/notifications.md). */
    analysis: z.boolean().default(true),
  })
  .superRefine((j, ctx) => {
    const given = [j.alerts, j.payload, j.data].filter((v) => v !== undefined).length;
    if (given !== 1)
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "give exactly one of alerts, payload (Alertmanager v4) or data (for a custom template)",
      });
  });

export type NotificationJob = z.output<typeof notificationJobSchema>;

/**
 * A raw Alertmanager payload (Alertmanager → QStash → worker) as a notification job: the
 * channels come from `?channels=a,b` on the URL, else from the receiver's name, which config
 * sync renders as the comma-joined channel names (Alertmanager regex-escapes it, so the escapes
 * are undone). `?template=` and `?format=` work too. Any other body is returned unchanged.
 */
export function asNotificationJob(body: unknown, query: Record<string, string>): unknown {
  if (!isRawAlertmanagerPayload(body)) return body;
  const names = query.channels ?? String(body.receiver ?? "").replace(/\\(.)/g, "$1");
  return {
    channels: names
      .split(",")
      .map((c) => c.trim())
      .filter(Boolean),
    payload: body,
    ...(query.template ? { template: query.template } : {}),
    ...(query.format ? { format: query.format } : {}),
    ...(query.analysis === "false" ? { analysis: false } : {}),
  };
}

/**
 * What the renderer works from: the alerts with ids filled in, with their group when given, and
 * the firing alerts' analyses (by alert id) when the job shows them.
 */
export function inputOf(
  job: Pick<NotificationJob, "alerts" | "payload" | "data">,
  analyses?: Record<string, AnalysisBrief>,
): NotifyInput {
  if (job.payload) return { kind: "alerts", alerts: alertsOf(job.payload), payload: job.payload, analyses };
  if (job.alerts) return { kind: "alerts", alerts: job.alerts as Alert[], analyses };
  return { kind: "data", data: job.data ?? {} };
}
