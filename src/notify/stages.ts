/**
 * One channel's delivery as a pipeline of small stages (docs/notifications.md, "Exactly once"),
 * in the spirit of Alertmanager's notify stages: resume what an earlier delivery settled, check
 * repeats (dedup), plan (render + split), send the parts (each through the robot's rate limit),
 * and record the outcome. `runChannel` composes them; deliver.ts runs it per channel.
 */
import { JobError, permanent, toJobError, transient } from "../errors.ts";
import { isoAt } from "../iso-time.ts";
import type { Services } from "../services.ts";
import type { Batch } from "../store/ledger.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type Channel, type Message, type SendContext, wakes } from "./channels/channel.ts";
import { TOO_LONG } from "./channels/http.ts";
import { type Alongside, claimNotification, type DedupClaim, receivedWrites, releaseWrite } from "./dedup.ts";
import { repack, splitSmaller } from "./heal.ts";
import type { NotificationJob } from "./job.ts";
import { type Notifier, wordsOf } from "./notifier.ts";
import type { Take } from "./rate-limit.ts";
import type { DeliveryRecord, PartRecord } from "./records.ts";
import { alertPacker, planFor, toneOf } from "./render.ts";
import type { GroupView, NotifyInput } from "./view.ts";

/** What one channel's delivery came to: its record, and the error when it did not succeed. */
export interface Run {
  record: DeliveryRecord;
  error?: JobError;
}

/** One notification job as every stage sees it. */
export interface Job {
  deps: Services;
  n: Notifier;
  job: NotificationJob;
  input: NotifyInput;
  /** The group's view in a channel's locale (undefined for free `data`). */
  groupOf: (ch?: Channel) => GroupView | undefined;
  messageId: string;
  /** When the message first reached this worker: an older group state than the channel received is obsolete (dedup.ts). */
  receivedAt: string;
  /** Notes the message's first arrival with the first channel's claim (dedup.ts). */
  noteArrival: (at: string) => Promise<unknown>;
  logger: Logger;
  /** What the job's claim read, and the writes made with its answer. */
  batch: Batch;
}

const stepOf = (ch: Channel) => `notify:${ch.name}`;
const labelsOf = (ch: Channel) => ({ channel: ch.name, type: ch.type });

export function newRecord(j: Job, ch: Channel, fallbackFor?: string): DeliveryRecord {
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

/** Resume: the channel's step and record from earlier deliveries; a settled channel is never sent again. */
export async function resume(
  j: Job,
  ch: Channel,
): Promise<{ settled: Run } | { saved: DeliveryRecord | null }> {
  const [done, saved] = await Promise.all([
    j.deps.ledger.getStep(j.messageId, stepOf(ch), j.batch),
    j.n.records.getDelivery(j.messageId, ch.name, j.batch),
  ]);
  if (!done || !saved) return { saved };
  if (done.status === "succeeded") return { settled: { record: saved } };
  const e = saved.error;
  return {
    settled: {
      record: saved,
      error: permanent(e?.code ?? "channel_failed", e?.message ?? "failed", e?.details),
    },
  };
}

/**
 * Dedup: Alertmanager repeats, checked on every attempt against what the channel received (a
 * retry finds a reminder that got through meanwhile). An attempt that already sent parts
 * finishes the message whatever the answer, and takes the claim so the state is recorded at
 * the end. Answers the claim to send under, "duplicate" (recorded as skipped), or throws while
 * another message is sending the same state.
 */
export async function dedup(
  j: Job,
  ch: Channel,
  record: DeliveryRecord,
  alongside?: Alongside,
): Promise<{ claim?: DedupClaim } | { duplicate: Run }> {
  const p = j.input.kind === "alerts" ? j.input.payload : undefined;
  if (!p || ch.cfg.dedup_window <= 0) return {};
  const { deps, messageId } = j;
  const started = record.parts.some((part) => part.sent);
  const answer = await claimNotification(
    deps.store,
    ch.name,
    p,
    {
      messageId,
      receivedAt: j.receivedAt,
      now: deps.now(),
      windowMs: ch.cfg.dedup_window,
      lateCopyMs: ch.cfg.late_copy_window,
      holdMs: Math.max(deps.config.worker.lease, ch.cfg.dedup_window),
      noteArrival: j.noteArrival,
      leaseKey: (id) => deps.ledger.leaseKey(id),
      entryKey: (id) => deps.ledger.entryKey(id),
    },
    j.batch,
    alongside,
  );
  if (answer.kind === "send") return { claim: answer.claim };
  // An attempt that sent parts finishes them — unless a newer state reached the channel meanwhile:
  // its last parts would say FIRING after the RESOLVED.
  if (started && answer.kind !== "obsolete") return {};
  if (answer.kind === "in_flight")
    throw transient(
      "duplicate_in_flight",
      `channel ${ch.name}: message ${answer.message} is sending this same group state now`,
      answer.retryAfterS,
    );
  const skipped: DeliveryRecord =
    answer.kind === "duplicate"
      ? { ...record, status: "skipped_duplicate", duplicate_of: answer.message }
      : { ...record, status: "skipped_obsolete", superseded_by: answer.message };
  delete skipped.error;
  await deps.store.writeMany([
    j.n.records.deliveryWrite(skipped),
    deps.ledger.stepWrite(messageId, stepOf(ch), {
      status: "succeeded",
      at: isoAt(deps.now()),
      attempts: skipped.attempts,
    }),
  ]);
  deps.metrics.inc("notifications", { ...labelsOf(ch), status: skipped.status });
  return { duplicate: { record: skipped } };
}

/**
 * Plan: render and split the channel's message into parts the robot takes. A split message
 * keeps its rendering from the first attempt, so a redelivery sends the very parts that are
 * missing; a single message is simply rendered again.
 */
export async function plan(j: Job, ch: Channel, record: DeliveryRecord): Promise<DeliveryRecord> {
  const p = planFor(j.n, ch, j.job, j.input, j.groupOf(ch));
  const limit = ch.limit(p.format);
  const planned: DeliveryRecord = {
    ...record,
    format: p.format,
    template: p.template.name,
    ...(limit ? { limit } : {}),
    parts: p.messages.map((m) => ({
      part: m.part,
      parts: m.parts,
      title: m.title,
      body: m.body,
      ...(m.alt !== undefined ? { alt: m.alt } : {}),
      ...(m.link ? { link: m.link, linkText: m.linkText } : {}),
      alerts: m.alerts,
      size: limit ? ch.measure(m) : m.body.length,
      sent: false,
    })),
  };
  if (planned.parts.length > 1) await j.n.records.putDelivery(planned);
  return planned;
}

/**
 * Send parts: each unsent part, in order, after the robot's rate limit lets it go. A part the
 * robot calls too long is split smaller and sent (heal.ts). Progress of a split message is
 * saved after each part, so a crash resends only the rest. Updates `record` in place.
 */
export async function sendParts(
  j: Job,
  ch: Channel,
  record: DeliveryRecord,
  early?: EarlyTake,
): Promise<void> {
  const { deps, n, messageId } = j;
  const ctx: SendContext = {
    fetch: deps.fetch,
    now: deps.now,
    tcp: deps.tcp,
    logger: j.logger,
    messageId,
    sendAs: record.sent_as ?? messageId,
    ...(j.input.kind === "alerts"
      ? { alerts: j.input.alerts, payload: j.input.payload }
      : { data: j.input.data }),
  };
  // A part the robot refuses as too long however it is cut: the parts after it still go (their
  // alerts are not lost with it), then the channel fails with that refusal.
  let refused: JobError | undefined;
  // Whether a part that wakes people went out (this delivery or an earlier one); when the first
  // was refused, the next one wakes them, once.
  let woke = record.parts.some((p) => p.sent && ((p.part === 1 && !p.quiet) || p.wake));
  for (let i = 0; i < record.parts.length; i++) {
    const part = record.parts[i];
    if (part.sent) continue;
    if (ch.robot && ch.rates.length)
      await n.limiter.acquire(ch.robot, ch.rates, ch.name, record.parts.length - i, early?.use());
    const m: Message = {
      ...part,
      format: record.format,
      tone: toneOf(j.groupOf(ch)),
      // Woken already (a part sent in place of a first part a robot took only later): not again.
      ...(refused && !woke ? { wake: true } : woke && part.part === 1 ? { quiet: true } : {}),
    };
    let answer: unknown;
    try {
      answer = await ch.send(m, ctx);
    } catch (e) {
      // Some recipients have it already (email over several transactions): kept with the part,
      // so the retry sends only to the others.
      const sentTo =
        e instanceof JobError ? (e.details as { sent_to?: string[] } | undefined)?.sent_to : undefined;
      if (sentTo?.length) part.sent_to = [...new Set([...(part.sent_to ?? []), ...sentTo])];
      // The refusal, or why the part cannot be made smaller.
      let failure: unknown = e;
      let smaller: PartRecord[] | undefined;
      try {
        smaller =
          e instanceof JobError && e.code === TOO_LONG ? healed(j, ch, record, i, m, e, ctx) : undefined;
      } catch (cannot) {
        failure = cannot;
      }
      if (!smaller) {
        if (!(failure instanceof JobError && failure.code === TOO_LONG && !failure.retryable)) throw failure;
        refused ??= failure;
        continue;
      }
      j.logger.warn(
        ch.requestBytes
          ? "receiver refused a part as too large: packed smaller"
          : "robot refused a part as too long: split smaller",
        {
          channel: ch.name,
          part: part.part,
          size: part.size,
          pieces: smaller.length - record.parts.length + 1,
        },
      );
      record.parts = smaller;
      await n.records.putDelivery({ ...record, updated_at: isoAt(deps.now()) });
      i--;
      continue;
    }
    Object.assign(part, {
      sent: true,
      sent_at: isoAt(deps.now()),
      response: answer,
      ...(m.wake ? { wake: true } : {}),
    });
    woke ||= wakes(m, true);
    record.response = answer;
    if (record.parts.length > 1) await n.records.putDelivery({ ...record, updated_at: isoAt(deps.now()) });
  }
  if (refused) throw refused;
}

/**
 * The parts with part `i`, refused as too long, made smaller (heal.ts): a channel that sends the
 * alerts themselves (webhook) packs them again to half the refused request — or says why it
 * cannot — and a robot cuts its text.
 */
function healed(
  j: Job,
  ch: Channel,
  record: DeliveryRecord,
  i: number,
  m: Message,
  e: JobError,
  ctx: SendContext,
) {
  if (!ch.requestBytes) {
    const pieces = splitSmaller(ch, record.parts[i], m, j.groupOf(ch)?.t ?? wordsOf(j.n, ch));
    return pieces && [...record.parts.slice(0, i), ...pieces, ...record.parts.slice(i + 1)];
  }
  const group = j.groupOf(ch);
  const size = (e.details as { size?: number } | undefined)?.size;
  if (!group || !size) return undefined;
  const packer = alertPacker(j.n, ch, j.job, group, ctx);
  const parts = repack(
    record.parts,
    i,
    group.all.map((a) => a.at),
    size,
    ch.cfg.max_parts,
    packer,
  );
  if (typeof parts !== "string") return parts;
  throw permanent(TOO_LONG, `${e.message}; it cannot be packed smaller: ${parts}`, e.details);
}

/** Record a send — the record, what the channel received (dedup), the ledger step — in one step; then count it. */
export async function recordSent(
  j: Job,
  ch: Channel,
  record: DeliveryRecord,
  claim: DedupClaim | undefined,
): Promise<Run> {
  const { deps, messageId } = j;
  const at = isoAt(deps.now());
  const sent: DeliveryRecord = { ...record, status: "sent", sent_at: at, updated_at: at };
  delete sent.error;
  await deps.store.writeMany([
    j.n.records.deliveryWrite(sent),
    ...(claim
      ? receivedWrites(claim, messageId, at, Math.max(deps.config.store.retention, ch.cfg.dedup_window))
      : []),
    deps.ledger.stepWrite(messageId, stepOf(ch), { status: "succeeded", at, attempts: sent.attempts }),
  ]);
  deps.metrics.inc("notifications", { ...labelsOf(ch), status: "sent" });
  return { record: sent };
}

/**
 * Record a failure: the claim let go when nothing reached the channel (so a reminder, or this
 * retry, sends it; once a part was sent the claim stays with this message, which finishes it on
 * its retry), a robot's throttle shared with every sender, the record, and — when final — the
 * ledger step. A bug is rethrown.
 */
export async function recordFailure(
  j: Job,
  ch: Channel,
  record: DeliveryRecord,
  claim: DedupClaim | undefined,
  e: unknown,
): Promise<Run> {
  const { deps, n, messageId } = j;
  // Every part reached the channel and only recording it failed (or its answer was lost): the
  // send's writes are made again, safe to repeat, so no retry sends it again or shows it pending.
  if (record.parts.length && record.parts.every((part) => part.sent))
    return recordSent(j, ch, record, claim).catch((again) => {
      // What an operator needs to expect the one duplicate at-least-once leaves (docs/notifications.md).
      j.logger.error("sent but not recorded: a redelivery will send it again (same Idempotency-Key)", {
        channel: ch.name,
        error: again,
      });
      throw again;
    });
  const err = toJobError(e);
  // A send without an answer in time may have arrived: the state stays claimed, so another
  // message (an HA peer's copy, a reminder) waits for this one's retry — under this message's
  // Idempotency-Key — instead of sending it again under its own (docs/notifications.md).
  const maybeSent = (err.details as { maybe_sent?: boolean } | undefined)?.maybe_sent === true;
  const sentSome = maybeSent || record.parts.some((part) => part.sent || part.sent_to?.length);
  const letGo = claim && !sentSome ? [releaseWrite(claim)] : [];
  if (err.kind === "internal") {
    // A bug: the parts that were sent are still recorded, so the retry does not send them again.
    const progress = sentSome ? [n.records.deliveryWrite({ ...record, updated_at: isoAt(deps.now()) })] : [];
    await deps.store.writeMany([...letGo, ...progress]).catch(() => {});
    throw e;
  }
  const details = err.details as { errcode?: number } | undefined;
  if (err.kind === "rate_limited" && ch.robot && details?.errcode !== undefined && err.retryAfterS)
    await n.limiter.block(ch.robot, err.retryAfterS);
  const at = isoAt(deps.now());
  const final = err.kind === "permanent";
  const failed: DeliveryRecord = {
    ...record,
    status: final ? "failed" : "pending",
    error: { code: err.code, message: err.message, retryable: err.retryable, details: err.details },
    updated_at: at,
  };
  // Nothing reached the channel: the claim is let go in the same step as the record.
  await deps.store.writeMany([
    ...letGo,
    n.records.deliveryWrite(failed),
    ...(final
      ? [deps.ledger.stepWrite(messageId, stepOf(ch), { status: "failed", at, attempts: failed.attempts })]
      : []),
  ]);
  const status = final ? "failed" : err.kind === "rate_limited" ? "rate_limited" : "retry";
  deps.metrics.inc("notifications", { ...labelsOf(ch), status });
  j.logger.warn("notification channel failed", {
    channel: ch.name,
    code: err.code,
    error: err.message,
    status,
  });
  return { record: failed, error: err };
}

/** One channel, at most once per job: the stages in order. Never throws for the channel's own failures. */
export async function runChannel(j: Job, ch: Channel, fallbackFor?: string): Promise<Run> {
  const resumed = await resume(j, ch);
  if ("settled" in resumed) return resumed.settled;
  const { deps } = j;
  const started = deps.now();
  let record = resumed.saved ?? newRecord(j, ch, fallbackFor);
  let claim: DedupClaim | undefined;
  // The first part's rate take rides on the dedup claim's round trip (docs/architecture.md, "Store round trips").
  const early = ch.robot && ch.rates.length ? earlyTake(j.n, ch.robot, ch.rates) : undefined;
  try {
    const d = await dedup(j, ch, record, early);
    if ("duplicate" in d) return d.duplicate;
    claim = d.claim;
    // Taken over from a message that died mid-send: its parts go out under that message's id — the
    // parts as it split them, for a receiver that drops keys it has seen has those alerts under
    // those numbers (a webhook packed after a 413 lists some alerts per part).
    if (claim && claim.holder.origin !== j.messageId) {
      record.sent_as = claim.holder.origin;
      if (!record.parts.length) {
        // The last holder's parts (one that took over before and died too), else the origin's.
        const last = claim.from ? await j.n.records.getDelivery(claim.from, ch.name) : null;
        const theirs = last?.parts.length
          ? last
          : await j.n.records.getDelivery(claim.holder.origin, ch.name);
        if (theirs?.parts.length) {
          const { parts, format, template, limit } = theirs;
          Object.assign(record, { parts, format, template }, limit ? { limit } : {});
        }
      }
    } else delete record.sent_as;
    // A record saved by a failure before its plan (the dedup claim failed, another message was
    // sending) has no parts yet: it is planned now, or nothing would be sent.
    if (!record.parts.length) record = await plan(j, ch, record);
    record.attempts += 1;
    await sendParts(j, ch, record, early);
    return await recordSent(j, ch, record, claim);
  } catch (e) {
    // Nothing more will be sent: the robot's count goes back beside the failure's record.
    early?.lost();
    return await recordFailure(j, ch, record, claim, e);
  } finally {
    await early?.unused();
    deps.metrics.observe("notificationDuration", { channel: ch.name }, (deps.now() - started) / 1000);
  }
}

/**
 * A rate take started ahead of the send it is for. `lost` starts giving it back as soon as no
 * send will take it (the claim went to another message, the delivery failed), so it does not hold
 * a slot of the robot's budget meanwhile; `unused` waits for that, or gives it back then.
 */
interface EarlyTake extends Alongside {
  use(): Promise<Take> | undefined;
  unused(): Promise<void>;
}

function earlyTake(n: Notifier, robot: string, rates: Channel["rates"]): EarlyTake {
  let taking: Promise<Take> | undefined;
  let used = false;
  let returning: Promise<void> | undefined;
  const lost = () => {
    if (!taking || used) return;
    used = true;
    // A take that failed (the store) counted nothing to give back; a failed give-back leaks one slot for one period.
    returning = taking.then((t) => n.limiter.giveBack(t)).catch(() => {});
  };
  return {
    start: () => {
      if (taking) return;
      taking = n.limiter.take(robot, rates);
      // Whoever uses it sees its failure; until then it must not count as unhandled (a store down).
      taking.catch(() => {});
    },
    lost,
    use: () => {
      if (used) return undefined;
      used = true;
      return taking;
    },
    unused: async () => {
      lost();
      await returning;
    },
  };
}
