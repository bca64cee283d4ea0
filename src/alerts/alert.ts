/**
 * The alert model (docs/contracts.md#alertmanager-webhook-payload): an Alertmanager alert object plus AlertAgent's
 * optional `id` and `value`, and the Alertmanager webhook payload (version "4") that jobs
 * accept instead of a list of alerts. Shared by analysis and notification.
 */
import { z } from "zod";
import { jsonRecord } from "../json-record.ts";

const labelMap = jsonRecord(z.string(), "a label or annotation");

/** Alertmanager's "zero" time for a firing alert's endsAt. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** An alert's time, as Alertmanager writes it (RFC 3339, up to nanoseconds): a page never shows "yesterday". */
const time = z.string().refine((s) => s === "" || !Number.isNaN(Date.parse(s)), {
  message: "not a time: give RFC 3339, as Alertmanager does (2026-11-28T06:00:00Z)",
});

export const alertSchema = z.strictObject({
  /** AlertAgent's alert id; defaults to `fingerprint`. */
  id: z.string().min(1).optional(),
  status: z.enum(["firing", "resolved"]).default("firing"),
  labels: labelMap.refine((l) => typeof l.alertname === "string" && l.alertname.length > 0, {
    message: "labels.alertname is required",
  }),
  annotations: labelMap.default({}),
  startsAt: time.optional(),
  endsAt: time.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
  /** The sample value that fired the alert, when the producer knows it. */
  value: z.union([z.number(), z.string()]).optional(),
});
export type Alert = z.output<typeof alertSchema>;

/** The Alertmanager webhook body (version "4"); unknown fields of newer versions are kept. */
export const alertmanagerPayloadSchema = z.looseObject({
  version: z.literal("4"),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string(),
  groupLabels: labelMap.default({}),
  commonLabels: labelMap.default({}),
  commonAnnotations: labelMap.default({}),
  externalURL: z.string().default(""),
  // Alertmanager never sends a group without alerts; rendered, one would read as an all-clear.
  alerts: z
    .array(alertSchema.omit({ id: true, value: true }).extend({ status: z.enum(["firing", "resolved"]) }))
    .min(1, "the payload has no alerts"),
  notification_reason: z.string().optional(),
  routeLabels: labelMap.optional(),
});
export type AlertmanagerPayload = z.output<typeof alertmanagerPayloadSchema>;

/**
 * True for a body that is an Alertmanager webhook payload itself (Alertmanager publishing
 * straight to QStash), rather than a job that wraps one in `payload`.
 */
export function isRawAlertmanagerPayload(body: unknown): body is Record<string, unknown> {
  // Known by Alertmanager's own keys, not by being valid: a payload missing its alerts, or of
  // another version, is then refused naming that field (payload.alerts), not the job's fields.
  // No job has these keys (the job schemas are strict).
  return (
    !!body && typeof body === "object" && ("groupKey" in body || ("version" in body && "receiver" in body))
  );
}

/** The id an alert is known by: `id`, else `fingerprint`, else a stable hash of its labels. */
export function alertId(a: Pick<Alert, "id" | "fingerprint" | "labels">): string {
  if (a.id) return a.id;
  if (a.fingerprint) return a.fingerprint;
  return labelsFingerprint(a.labels);
}

/** A stable 16-hex-digit id from sorted labels (FNV-1a 64), for alerts that carry no fingerprint. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join("\u0001");
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(text)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, "0");
}

/** True when endsAt is a real time (resolved alerts), not Alertmanager's zero time. */
export function hasEnded(a: Pick<Alert, "endsAt">): boolean {
  return isTime(a.endsAt);
}

/** A time that is one: not missing, not Go's zero time (what a producer sends for "none"). */
export function isTime(t: string | undefined): t is string {
  return !!t && t !== ZERO_TIME && !t.startsWith("0001-");
}

/** The alerts of a payload, with ids filled in. */
export function alertsOf(payload: AlertmanagerPayload): Alert[] {
  return payload.alerts.map((a) => ({ ...a, id: alertId(a) }));
}
