/**
 * The failure family's domain: QStash's failure callback (README "How a job is handled";
 * docs/contracts.md#qstash). A dead message is recorded once under its source message id
 * (`dead:<id>`, and its id in the capped `dead-letters` list /dashboard shows), the source is
 * marked failed in the ledger, a dead analysis marks its alerts failed, and the ops channels
 * (`failure.notify`) are told once per dead message.
 */
import { z } from "zod";
import { alertIdsOfBody } from "../analysis/analyse.ts";
import { alertStep, markAnalysisFailed } from "../analysis/status.ts";
import { base64Text } from "../base64.ts";
import { FAMILIES, type Family } from "../config/schema.ts";
import { JobError, transient } from "../errors.ts";
import { isoAt } from "../iso-time.ts";
import { maskText, maskUrl, quotedAnswer, secretValuesOf } from "../mask.ts";
import { type Delivery, deliver } from "../notify/deliver.ts";
import { notificationJobSchema } from "../notify/job.ts";
import { type Batch, type LedgerEntry, readThrough } from "../store/ledger.ts";
import { onceWith, type Store } from "../store/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Deps } from "./deps.ts";
import type { JobContext } from "./handler.ts";
import { MAX_MESSAGE_ID } from "./runner.ts";

/**
 * The fields of QStash's failure callback (docs/contracts.md#qstash) that the worker reads. The rest
 * (method, headers, topic, endpoint, schedule, timestamps, caller IP) and any field QStash adds
 * later are ignored, not checked or refused.
 */
export const failureCallbackSchema = z.object({
  // QStash's docs do not say what it sends when the last attempt got no HTTP answer (a timeout, a
  // refused connection): without it (absent or null) the dead letter is recorded with 0, not refused.
  status: z
    .number()
    .int()
    .nullish()
    .transform((v) => v ?? 0),
  // No longer than /v1/jobs/:id reads back (runner.ts); printable ASCII, as QStash's ids are: it
  // is sent on in `Idempotency-Key: dead:<id>`, which no HTTP client sends with a control character.
  sourceMessageId: z
    .string()
    .min(1)
    .max(MAX_MESSAGE_ID)
    .regex(/^[\x21-\x7e]+$/, "is not a message id (printable ASCII, no spaces)"),
  url: z.string().optional(),
  body: z.string().optional(),
  retried: z.number().int().optional(),
  maxRetries: z.number().int().optional(),
  dlqId: z.string().optional(),
  sourceBody: z.string().optional(),
});

export interface DeadLetter {
  source_message_id: string;
  family: Family | "unknown";
  url?: string;
  status: number;
  retried?: number;
  max_retries?: number;
  dlq_id?: string;
  /** What the worker last answered (decoded, at most 2 KB). */
  response?: string;
  error: { code: string; message: string };
  /** The source's delivery ended in success after QStash gave up on it: nothing to resend. */
  source_succeeded?: true;
  recorded_at: string;
}

const lastAnswer = (status: number) => (status ? `HTTP ${status}` : "none (no HTTP answer)");

/** The capped list of the source message ids of recent dead letters, newest first. */
export const DEAD_LETTERS_KEY = "dead-letters";

/** The key of one dead letter. */
export const deadLetterKey = (sourceMessageId: string) => `dead:${sourceMessageId}`;

/** The dead letter of one source message, if it died. */
export function deadLetterOf(store: Store, sourceMessageId: string): Promise<DeadLetter | null> {
  return store.get<DeadLetter>(deadLetterKey(sourceMessageId));
}

/** The keys a failure callback reads, read with its claim: the source's dead letter, its entry and its lease. */
export function failurePrefetch(body: unknown, { deps }: { deps: Deps }): string[] {
  const src = (body as { sourceMessageId?: unknown } | null)?.sourceMessageId;
  return typeof src === "string" && src
    ? [deadLetterKey(src), deps.ledger.entryKey(src), deps.ledger.leaseKey(src)]
    : [];
}

/** The newest `limit` dead letters still kept, newest first. */
export async function recentDeadLetters(store: Store, limit: number): Promise<DeadLetter[]> {
  const ids = await store.list<string>(DEAD_LETTERS_KEY, limit);
  const dead = await store.mget<DeadLetter>(ids.map(deadLetterKey));
  return dead.filter((d): d is DeadLetter => d !== null);
}

/** Records the dead message a failure callback reports and tells failure.notify; the job's 200 body. */
export async function recordDeadLetter(
  deps: Deps,
  cb: z.output<typeof failureCallbackSchema>,
  { messageId, logger, note, batch }: Pick<JobContext, "messageId" | "logger" | "note" | "batch">,
): Promise<Record<string, unknown>> {
  const family = familyOf(cb.url);
  // The dead job's last answer, as QStash kept it: a URL in it without its credentials, and no
  // secret of the config it may quote (a peer echoing our Bearer token to a job that died of it).
  // Masked whole before it is cut (a secret cut in two would show its first half, and masking moves
  // what the cut keeps): linear in the answer's size, which QStash bounds. Secrets are looked for
  // as JSON encoders escape them too, as in any peer's answer (quotedAnswer).
  const response = cb.body
    ? quotedAnswer(maskText(base64Text(cb.body)), secretValuesOf(deps.config)).text.slice(0, 2048)
    : undefined;
  const reason = problemCode(response);
  const at = isoAt(deps.now());
  const error = {
    code: reason?.code ?? "delivery_failed",
    message:
      reason?.message ??
      `QStash gave up after ${cb.retried ?? 0} retries; last answer ${lastAnswer(cb.status)}`,
  };
  const dead: DeadLetter = {
    source_message_id: cb.sourceMessageId,
    family,
    // Shown on /v1/jobs and the dashboard: the worker's URL without any credential it carries.
    url: cb.url && maskUrl(cb.url),
    status: cb.status,
    retried: cb.retried,
    max_retries: cb.maxRetries,
    dlq_id: cb.dlqId,
    response,
    error,
    recorded_at: at,
  };
  const retention = deps.config.store.retention;
  const result = {
    recorded: true,
    message_id: messageId,
    source_message_id: cb.sourceMessageId,
    family,
    dlq_id: cb.dlqId ?? null,
    error,
  };
  const key = deadLetterKey(cb.sourceMessageId);
  const [earlier, running, source] = await Promise.all([
    readThrough<DeadLetter>(deps.store, key, batch),
    readThrough(deps.store, deps.ledger.leaseKey(cb.sourceMessageId), batch),
    readThrough<LedgerEntry>(deps.store, deps.ledger.entryKey(cb.sourceMessageId), batch),
  ]);
  // Its answer came too late for QStash, but the delivery went through (ledger.failedWrite keeps it).
  if (source?.status === "succeeded") dead.source_succeeded = true;
  // QStash can give up on a delivery that is still running here (its answer came too late): what
  // that delivery records when it ends would overwrite the dead letter's marks, so wait for it.
  if (running && !earlier)
    throw transient(
      "source_in_progress",
      `message ${cb.sourceMessageId} is still being delivered; its dead letter is recorded once that delivery ends`,
      5,
    );
  if (family === "analysis" && cb.sourceBody && !earlier) {
    // A payload job can die after some of its alerts were analysed: those keep their result.
    // Marked before the dead letter is recorded: marking again is harmless, so a retry redoes it.
    const body = safeJson(base64Text(cb.sourceBody));
    for (const id of alertIdsOfBody(body, queryOf(cb.url), deps.config.ai.job_alerts)) {
      const step = await deps.ledger.getStep(cb.sourceMessageId, alertStep(id));
      if (step?.status !== "succeeded") await markAnalysisFailed(deps.store, id, error, at, retention);
    }
  }
  // A message dies once: a second callback for the same source (another failure-callback
  // message, a replayed DLQ entry, or this callback retried) is not recorded or counted again;
  // the notice to failure.notify goes only to channels not yet told (ledger steps). The dead
  // letter, the source's failed ledger entry and the recent list are written in one step, with
  // this job's own answer (the batch): a retry after a store failure finds all of it or none,
  // and a dead letter recorded meanwhile by another callback keeps the writes from happening twice.
  if (earlier) {
    note({ dead_letter: { source_message_id: cb.sourceMessageId, already_recorded: true } });
    const notice = await notifyDeadLetter(deps, dead, logger, batch);
    return { ...result, already_recorded: true, ...(notice ? { notified: notice } : {}) };
  }
  batch.defer(
    ...onceWith(key, dead, retention, [
      await deps.ledger.failedWrite(cb.sourceMessageId, family, { ...error, retryable: false }, batch),
      { op: "push", key: DEAD_LETTERS_KEY, value: cb.sourceMessageId, max: 100, ttlMs: retention },
    ]),
  );
  batch.afterWrite(() => deps.metrics.inc("deadLetters", { family }));
  // On the job's own answer line, raised to warn: one line per dead letter.
  note(
    { dead_letter: { source_message_id: cb.sourceMessageId, family, dlq_id: cb.dlqId, status: cb.status } },
    "warn",
  );
  const notice = await notifyDeadLetter(deps, dead, logger, batch);
  return notice ? { ...result, notified: notice } : result;
}

export interface DeadLetterNotice {
  deliveries?: Delivery[];
  /** Set when a channel refused the notice for good: logged and reported, never failing the callback. */
  failed?: { code: string; message: string };
}

/** The DLQ entry in QStash's API (GET it with the QStash token, or retry it with POST /v2/dlq/retry/<id>). */
function dlqUrl(qstashUrl: string, dlqId: string): string {
  return `${qstashUrl.replace(/\/+$/, "")}/v2/dlq/${encodeURIComponent(dlqId)}`;
}

async function notifyDeadLetter(
  deps: Deps,
  dead: DeadLetter,
  logger: Logger,
  batch: Batch,
): Promise<DeadLetterNotice | undefined> {
  const channels = deps.config.failure.notify;
  if (channels.length === 0) return undefined;
  const link = dead.dlq_id ? dlqUrl(deps.config.qstash.url, dead.dlq_id) : undefined;
  const dlqLine = link ? `\nDLQ entry: ${link}` : "";
  const said = dead.source_succeeded
    ? {
        summary: `A ${dead.family} job was given up by QStash, but its delivery then succeeded`,
        description: `Message ${dead.source_message_id}'s answer came too late for QStash (last answer ${lastAnswer(dead.status)}), and its delivery went through afterwards: nothing to resend. Do not retry it from the DLQ: a retry is a new message and runs the job again.${dlqLine}`,
      }
    : {
        summary: `A ${dead.family} job was given up by QStash (${dead.error.code})`,
        description: `Message ${dead.source_message_id} failed after ${dead.retried ?? 0} retries, last answer ${lastAnswer(dead.status)}: ${dead.error.message}${dlqLine}`,
      };
  const job = notificationJobSchema.parse({
    channels,
    alerts: [
      {
        id: `dead-${dead.source_message_id}`,
        status: "firing",
        labels: {
          alertname: "AlertAgentDeadLetter",
          severity: "warning",
          family: dead.family,
          worker: deps.config.worker.name,
        },
        annotations: {
          ...said,
          ...(link ? { dlq_url: link } : {}),
          source_message_id: dead.source_message_id,
        },
        startsAt: dead.recorded_at,
      },
    ],
  });
  try {
    const message = { id: `dead:${dead.source_message_id}`, receivedAt: dead.recorded_at };
    const result = await deliver(deps, deps.notifier, job, message, logger, batch);
    return { deliveries: result.deliveries };
  } catch (e) {
    // Transient trouble (503/429) goes back to QStash so the callback is retried; a channel that
    // refuses for good must not turn the dead letter itself into a failure.
    if (e instanceof JobError && e.kind === "permanent") {
      logger.error("failure.notify refused the dead-letter notice", { code: e.code, error: e.message });
      return { failed: { code: e.code, message: e.message } };
    }
    throw e;
  }
}

/** The family of the dead job, from its URL (`…/jobs/<family>`). */
function familyOf(url: string | undefined): Family | "unknown" {
  const m = url ? /\/jobs\/([a-z-]+)\/?(?:\?|$)/.exec(url) : null;
  return m && (FAMILIES as readonly string[]).includes(m[1]) ? (m[1] as Family) : "unknown";
}

/** The query of the dead job's URL (a raw Alertmanager payload's `?type=`), none when it does not parse. */
function queryOf(url: string | undefined): Record<string, string> {
  try {
    return url ? Object.fromEntries(new URL(url).searchParams) : {};
  } catch {
    return {};
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The worker's own JSON problem, when the last answer was one. */
function problemCode(text: string | undefined): { code: string; message: string } | undefined {
  const p = text ? (safeJson(text) as { error?: { code?: unknown; message?: unknown } } | null) : null;
  return typeof p?.error?.code === "string" && typeof p.error.message === "string"
    ? { code: p.error.code, message: p.error.message }
    : undefined;
}
