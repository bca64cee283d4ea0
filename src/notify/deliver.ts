/**
 * Delivering one notification job (docs/notifications.md) exactly once per channel on an at-least-once
 * queue. Each channel's send is a ledger step (`notify:<channel>`): a redelivery of the same
 * message sends only to channels whose step has not succeeded, and only their unsent parts
 * (the rendering is kept from the first attempt). Channels go out in parallel; then each
 * permanent failure tries its fallbacks (the channel's, then the job's). The job answers 200
 * when every channel was sent, skipped as a duplicate or fell back; else 429 (a robot's rate
 * budget, with Retry-After), 503 (transient: QStash redelivers, only the rest is retried), or
 * 489 once everything else is done when a channel failed for good with no fallback left.
 */

import { JobError, permanent, rateLimited, toJobError, transient } from "../errors.ts";
import { isoAt } from "../iso-time.ts";
import type { Services } from "../services.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Channel, Message, SendContext } from "./channels/channel.ts";
import { TOO_LONG } from "./channels/http.ts";
import { claimNotification, type DedupClaim, markReceived, releaseClaim } from "./dedup.ts";
import { splitSmaller } from "./heal.ts";
import { inputOf, type NotificationJob } from "./job.ts";
import { type Notifier, viewsOf } from "./notifier.ts";
import type { DeliveryRecord, DeliveryStatus } from "./records.ts";
import { chooseTemplate, planFor, toneOf } from "./render.ts";
import { checkJobTitle } from "./templates.ts";
import { type GroupView, type NotifyInput, partView } from "./view.ts";

/** One channel's line in the job's answer. */
export interface Delivery {
  channel: string;
  status: DeliveryStatus;
  attempts: number;
  response?: unknown;
  fallback_for?: string;
  duplicate_of?: string;
  parts?: number;
  error?: DeliveryRecord["error"];
}

export interface NotificationResult {
  message_id: string;
  deliveries: Delivery[];
}

interface Run {
  record: DeliveryRecord;
  error?: JobError;
}

interface Job {
  deps: Services;
  n: Notifier;
  job: NotificationJob;
  input: NotifyInput;
  /** The group's view in a channel's locale (undefined for free `data`). */
  groupOf: (ch?: Channel) => GroupView | undefined;
  messageId: string;
  logger: Logger;
}

function deliveryOf(r: DeliveryRecord): Delivery {
  return {
    channel: r.channel,
    status: r.status,
    attempts: r.attempts,
    ...(r.response !== undefined ? { response: r.response } : {}),
    ...(r.fallback_for ? { fallback_for: r.fallback_for } : {}),
    ...(r.duplicate_of ? { duplicate_of: r.duplicate_of } : {}),
    ...(r.parts.length > 1 ? { parts: r.parts.length } : {}),
    ...(r.error && r.status !== "sent" ? { error: r.error } : {}),
  };
}

function newRecord(j: Job, ch: Channel, fallbackFor?: string): DeliveryRecord {
  const at = isoAt(j.deps.now());
  return {
    message_id: j.messageId,
    channel: ch.name,
    type: ch.type,
    status: "pending",
    attempts: 0,
    format: ch.defaultFormat,
    template: "",
    parts: [],
    ...(fallbackFor ? { fallback_for: fallbackFor } : {}),
    created_at: at,
    updated_at: at,
  };
}

/** Tries one channel (at most once per job); never throws for the channel's own failures. */
async function runChannel(j: Job, ch: Channel, fallbackFor?: string): Promise<Run> {
  const { deps, n, messageId } = j;
  const step = `notify:${ch.name}`;
  const [done, saved] = await Promise.all([
    deps.ledger.getStep(messageId, step),
    n.records.getDelivery(messageId, ch.name),
  ]);
  if (done && saved) {
    // Settled by an earlier delivery of this message: never send again.
    if (done.status === "succeeded") return { record: saved };
    const e = saved.error;
    return {
      record: saved,
      error: permanent(e?.code ?? "channel_failed", e?.message ?? "failed", e?.details),
    };
  }
  const started = deps.now();
  let record = saved ?? newRecord(j, ch, fallbackFor);
  const labels = { channel: ch.name, type: ch.type };
  let claim: DedupClaim | undefined;
  try {
    // Alertmanager repeats: checked on every attempt, against what the channel received (a retry
    // finds a reminder that got through meanwhile). An attempt that already sent parts finishes
    // the message whatever the answer, and takes the claim back so the state is recorded at the end.
    const p = j.input.kind === "alerts" ? j.input.payload : undefined;
    if (p && ch.cfg.dedup_window > 0) {
      const started = record.parts.some((part) => part.sent);
      const dedup = await claimNotification(deps.store, ch.name, p, messageId, deps.config.worker.lease);
      if (dedup.kind === "send") claim = dedup.claim;
      else if (!started && dedup.kind === "in_flight")
        throw transient(
          "duplicate_in_flight",
          `channel ${ch.name}: message ${dedup.message} is sending this same group state now`,
          dedup.retryAfterS,
        );
      else if (!started) {
        record = { ...record, status: "skipped_duplicate", duplicate_of: dedup.message };
        delete record.error;
        await n.records.putDelivery(record);
        await deps.ledger.putStep(messageId, step, {
          status: "succeeded",
          at: isoAt(deps.now()),
          attempts: record.attempts,
        });
        deps.metrics.inc("notifications", { ...labels, status: "skipped_duplicate" });
        return { record };
      }
    }
    if (!saved) {
      const plan = planFor(n, ch, j.job, j.input, j.groupOf(ch));
      const limit = ch.limit(plan.format);
      record = {
        ...record,
        format: plan.format,
        template: plan.template.name,
        ...(limit ? { limit } : {}),
        parts: plan.messages.map((m) => ({
          part: m.part,
          parts: m.parts,
          title: m.title,
          body: m.body,
          ...(m.alt !== undefined ? { alt: m.alt } : {}),
          ...(m.link ? { link: m.link } : {}),
          alerts: m.alerts,
          size: limit ? ch.measure(m) : m.body.length,
          sent: false,
        })),
      };
      // A split message keeps its rendering from the first attempt, so a redelivery sends the
      // very parts that are missing; a single message is simply rendered again.
      if (record.parts.length > 1) await n.records.putDelivery(record);
    }
    record.attempts += 1;
    const sendCtx: SendContext = {
      fetch: deps.fetch,
      now: deps.now,
      tcp: deps.tcp,
      logger: j.logger,
      messageId,
      ...(j.input.kind === "alerts"
        ? { alerts: j.input.alerts, payload: j.input.payload }
        : { data: j.input.data }),
    };
    for (let i = 0; i < record.parts.length; i++) {
      const part = record.parts[i];
      if (part.sent) continue;
      if (ch.robot && ch.rates.length)
        await n.limiter.acquire(ch.robot, ch.rates, ch.name, record.parts.length - i);
      const m: Message = { ...part, format: record.format, tone: toneOf(j.groupOf(ch)) };
      let answer: unknown;
      try {
        answer = await ch.send(m, sendCtx);
      } catch (e) {
        const smaller = e instanceof JobError && e.code === TOO_LONG ? splitSmaller(ch, part, m) : undefined;
        if (!smaller) throw e;
        j.logger.warn("robot refused a part as too long: split smaller", {
          channel: ch.name,
          part: part.part,
          size: part.size,
          pieces: smaller.length,
        });
        record.parts.splice(i, 1, ...smaller);
        await n.records.putDelivery({ ...record, updated_at: isoAt(deps.now()) });
        i--;
        continue;
      }
      Object.assign(part, { sent: true, sent_at: isoAt(deps.now()), response: answer });
      record.response = answer;
      // Progress of a split message survives a crash: the next delivery sends the rest only.
      if (record.parts.length > 1) await n.records.putDelivery({ ...record, updated_at: isoAt(deps.now()) });
    }
    const at = isoAt(deps.now());
    record = { ...record, status: "sent", sent_at: at, updated_at: at };
    delete record.error;
    await n.records.putDelivery(record);
    if (claim) await markReceived(deps.store, claim, messageId, ch.cfg.dedup_window);
    await deps.ledger.putStep(messageId, step, { status: "succeeded", at, attempts: record.attempts });
    deps.metrics.inc("notifications", { ...labels, status: "sent" });
    return { record };
  } catch (e) {
    // Nothing reached the channel: let the state go, so a reminder (or this retry) sends it. Once a
    // part was sent the claim stays with this message, which finishes it on its retry.
    if (claim && !record.parts.some((part) => part.sent))
      await releaseClaim(deps.store, claim, messageId).catch(() => {});
    const err = toJobError(e);
    if (err.kind === "internal") throw e;
    const details = err.details as { errcode?: number } | undefined;
    if (err.kind === "rate_limited" && ch.robot && details?.errcode !== undefined && err.retryAfterS)
      await n.limiter.block(ch.robot, err.retryAfterS);
    const at = isoAt(deps.now());
    const final = err.kind === "permanent";
    record = {
      ...record,
      status: final ? "failed" : "pending",
      error: { code: err.code, message: err.message, retryable: err.retryable, details: err.details },
      updated_at: at,
    };
    await n.records.putDelivery(record);
    if (final)
      await deps.ledger.putStep(messageId, step, { status: "failed", at, attempts: record.attempts });
    const status = final ? "failed" : err.kind === "rate_limited" ? "rate_limited" : "retry";
    deps.metrics.inc("notifications", { ...labels, status });
    j.logger.warn("notification channel failed", {
      channel: ch.name,
      code: err.code,
      error: err.message,
      status,
    });
    return { record, error: err };
  } finally {
    deps.metrics.observe("notificationDuration", { channel: ch.name }, (deps.now() - started) / 1000);
  }
}

export async function deliver(
  deps: Services,
  n: Notifier,
  job: NotificationJob,
  messageId: string,
  logger: Logger,
): Promise<NotificationResult> {
  const names = [...new Set(job.channels)];
  for (const name of [...names, ...job.fallback]) {
    if (!n.channels.has(name))
      throw permanent("unknown_channel", `unknown channel "${name}"`, { channel: name });
  }
  // A template error is the job's, not a channel's: refuse before anything is sent.
  for (const name of names) chooseTemplate(n, n.channels.get(name) as Channel, job);
  const input = inputOf(job);
  const groupOf = viewsOf(n, input, deps.now());
  const group = groupOf();
  if (job.title)
    checkJobTitle(
      job.title,
      group ? partView(group, group.all, 1, 1) : input.kind === "data" ? input.data : {},
    );
  const j: Job = { deps, n, job, input, groupOf, messageId, logger };
  const runs = new Map<string, Promise<Run>>();
  const once = (name: string, fallbackFor?: string) => {
    let r = runs.get(name);
    if (!r) {
      r = runChannel(j, n.channels.get(name) as Channel, fallbackFor);
      runs.set(name, r);
    }
    return r;
  };
  const primaries = await Promise.all(names.map((name) => once(name)));
  await n.records.putIndex(messageId, names, isoAt(deps.now()));

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
  if (extra.length)
    await n.records.putIndex(
      messageId,
      extra.map((r) => r.record.channel),
      isoAt(deps.now()),
    );

  const deliveries = [...primaries, ...extra].map((r) => deliveryOf(r.record));
  const result = { message_id: messageId, deliveries };
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
    throw transient(
      "channel_unavailable",
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
