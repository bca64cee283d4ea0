/**
 * Delivering one notification job (docs/notifications.md) exactly once per channel on an at-least-once
 * queue. Each channel's send is a ledger step (`notify:<channel>`): a redelivery of the same
 * message sends only to channels whose step has not succeeded, and only their unsent parts
 * (the rendering is kept from the first attempt). Channels go out in parallel; then each
 * permanent failure tries its fallbacks (the channel's, then the job's). The job answers 200
 * when every channel was sent, skipped (a duplicate, or older than what it received) or fell
 * back; else 429 (a robot's rate budget, with Retry-After), 503 (transient: QStash redelivers,
 * only the rest is retried), or 489 once everything else is done when a channel failed for good
 * with no fallback left.
 */

import type { AnalysisBrief } from "../alerts/brief.ts";
import { permanent, rateLimited, transient } from "../errors.ts";
import { isoAt } from "../iso-time.ts";
import type { Services } from "../services.ts";
import { type Batch, readThrough } from "../store/ledger.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Channel } from "./channels/channel.ts";
import { arrivalNote, arrivedKey, dedupKeyOf } from "./dedup.ts";
import { inputOf, type NotificationJob } from "./job.ts";
import { type Notifier, viewsOf } from "./notifier.ts";
import type { DeliveryRecord, DeliveryStatus } from "./records.ts";
import { chooseTemplate } from "./render.ts";
import { type Job, type Run, runChannel } from "./stages.ts";
import { checkJobTitle } from "./templates.ts";
import { partView } from "./view.ts";

/** One channel's line in the job's answer. */
export interface Delivery {
  channel: string;
  status: DeliveryStatus;
  attempts: number;
  response?: unknown;
  fallback_for?: string;
  duplicate_of?: string;
  superseded_by?: string;
  parts?: number;
  error?: DeliveryRecord["error"];
}

export interface NotificationResult {
  message_id: string;
  deliveries: Delivery[];
}

function deliveryOf(r: DeliveryRecord): Delivery {
  return {
    channel: r.channel,
    status: r.status,
    attempts: r.attempts,
    ...(r.response !== undefined ? { response: r.response } : {}),
    ...(r.fallback_for ? { fallback_for: r.fallback_for } : {}),
    ...(r.duplicate_of ? { duplicate_of: r.duplicate_of } : {}),
    ...(r.superseded_by ? { superseded_by: r.superseded_by } : {}),
    ...(r.parts.length > 1 ? { parts: r.parts.length } : {}),
    ...(r.error && r.status !== "sent" ? { error: r.error } : {}),
  };
}

/** Delivers `job`; `analyses` are its firing alerts' latest analyses by alert id, shown under each. */
export async function deliver(
  deps: Services,
  n: Notifier,
  job: NotificationJob,
  message: { id: string; receivedAt: string },
  logger: Logger,
  batch: Batch,
  analyses: Record<string, AnalysisBrief> = {},
): Promise<NotificationResult> {
  const names = [...new Set(job.channels)];
  for (const name of [...names, ...job.fallback]) {
    if (!n.channels.has(name))
      throw permanent("unknown_channel", `unknown channel "${name}"`, { channel: name });
  }
  // A template error is the job's, not a channel's: refuse before anything is sent.
  for (const name of names) chooseTemplate(n, n.channels.get(name) as Channel, job);
  const input = inputOf(job, analyses);
  // Rendered as of the message's first arrival ("firing for", the footer's time), which a
  // redelivery after a crash reads back (dedup.ts arrivedKey): a single-part page is rendered
  // again then, and under the same Idempotency-Key it must carry the same body (docs/notifications.md).
  const arrived =
    input.kind === "alerts" ? await readThrough<string>(deps.store, arrivedKey(message.id), batch) : null;
  const groupOf = viewsOf(
    n,
    input,
    Date.parse(arrived && arrived < message.receivedAt ? arrived : message.receivedAt),
  );
  const group = groupOf();
  if (job.title)
    checkJobTitle(
      job.title,
      group ? partView(group, group.all, 1, 1) : input.kind === "data" ? input.data : {},
    );
  const j: Job = {
    deps,
    n,
    job,
    input,
    groupOf,
    messageId: message.id,
    receivedAt: message.receivedAt,
    noteArrival: arrivalNote(deps.store, message.id, deps.config.store.retention),
    logger,
    batch,
  };
  // The first arrival is noted by a deduplicating channel's claim, in its round trip; without one
  // (an alerts list, dedup_window 0) it is written beside the sends, not before them: no wait is
  // added, and a send killed midway finds it on its redelivery unless the write was cut short too.
  const dedupNotes =
    input.kind === "alerts" &&
    !!input.payload &&
    names.some((c) => (n.channels.get(c) as Channel).cfg.dedup_window > 0);
  const noting =
    input.kind === "alerts" && !arrived && !dedupNotes
      ? j.noteArrival(message.receivedAt).catch(() => undefined)
      : undefined;
  const runs = new Map<string, Promise<Run>>();
  const once = (name: string, fallbackFor?: string) => {
    let r = runs.get(name);
    if (!r) {
      r = runChannel(j, n.channels.get(name) as Channel, fallbackFor);
      runs.set(name, r);
    }
    return r;
  };
  // Every channel ends before the job answers, even when one fails: the answer lets the lease go,
  // and a redelivery meanwhile would send again what is still being sent.
  const settled = await Promise.allSettled(names.map((name) => once(name)));
  await noting;
  const thrown = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (thrown) throw thrown.reason;
  const primaries = settled.map((r) => (r as PromiseFulfilledResult<Run>).value);

  const extra: Run[] = [];
  for (const p of primaries) {
    if (p.error?.kind !== "permanent") continue;
    const ch = n.channels.get(p.record.channel) as Channel;
    const candidates = [...new Set([...ch.cfg.fallback, ...job.fallback])].filter((c) => c !== ch.name);
    for (const c of candidates) {
      const r = await once(c, ch.name);
      if (!names.includes(c) && !extra.includes(r)) extra.push(r);
      if (!r.error) {
        p.record = { ...p.record, status: "fell_back", updated_at: isoAt(deps.now()) };
        await n.records.putDelivery(p.record);
        deps.metrics.inc("notifications", { channel: ch.name, type: ch.type, status: "fell_back" });
        delete p.error;
        break;
      }
      // A fallback that failed transiently is retried with the job; stop here until then.
      if (r.error.kind !== "permanent") {
        p.error = r.error;
        break;
      }
    }
  }
  // One index write for the message, written with the job's answer: the channels in the order tried.
  await n.records.putIndex(
    message.id,
    [...names, ...extra.map((r) => r.record.channel)],
    isoAt(deps.now()),
    batch,
  );

  const deliveries = [...primaries, ...extra].map((r) => deliveryOf(r.record));
  const result = { message_id: message.id, deliveries };
  const errors = [...primaries, ...extra].flatMap((r) =>
    r.error ? [{ ch: r.record.channel, e: r.error }] : [],
  );
  const limited = errors.filter((x) => x.e.kind === "rate_limited");
  const retry = errors.filter((x) => x.e.kind !== "permanent");
  const sent = deliveries.filter((d) => d.status === "sent").map((d) => d.channel);
  const sentNote = sent.length ? `; sent: ${sent.join(", ")}` : "";
  if (limited.length) {
    const after = Math.max(...limited.map((x) => x.e.retryAfterS ?? 1));
    throw rateLimited(
      "channel_rate_limited",
      `${limited.map((x) => x.e.message).join("; ")}${sentNote}`,
      Math.max(after, ...retry.map((x) => x.e.retryAfterS ?? 0)),
      result,
    );
  }
  if (retry.length) {
    const known = retry.map((x) => x.e.retryAfterS).filter((s): s is number => s !== undefined);
    // A store that failed a channel's step (its claim, its record) is what an operator must mend,
    // not the channel, which may never have been reached.
    const store = retry.some((x) => x.e.code === "store_unavailable");
    throw transient(
      store ? "store_unavailable" : "channel_unavailable",
      `${retry.map((x) => x.e.message).join("; ")}${sentNote}`,
      known.length ? Math.max(...known) : undefined,
      result,
    );
  }
  const failed = primaries.filter((r) => r.error);
  // A channel's template that cannot render is the config's mistake: the answer names it.
  const template = failed.find((r) => r.error?.code.startsWith("template_"))?.error;
  if (failed.length) {
    throw permanent(
      template?.code ?? "notification_failed",
      `${failed.map((r) => `channel ${r.record.channel} failed (${r.error?.message}) and no fallback delivered it`).join("; ")}${sentNote}`,
      result,
    );
  }
  return result;
}

/**
 * The keys a notification job reads, read with its claim: per channel (fallbacks too) its
 * step and record, the message's index, and what each deduplicating channel last received.
 */
export function notificationPrefetch(
  n: Notifier,
  stepKey: (step: string) => string,
  job: NotificationJob,
  messageId: string,
): string[] {
  const names = [...new Set([...job.channels, ...job.fallback])].filter((c) => n.channels.has(c));
  const input = inputOf(job);
  const payload = input.kind === "alerts" ? input.payload : undefined;
  return [
    ...names.map((c) => stepKey(`notify:${c}`)),
    ...n.records.keysOf(messageId, names),
    ...(payload
      ? names
          .filter((c) => (n.channels.get(c) as Channel).cfg.dedup_window > 0)
          .map((c) => dedupKeyOf(c, payload))
      : []),
    ...(input.kind === "alerts" ? [arrivedKey(messageId)] : []),
  ];
}
