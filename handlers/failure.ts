/**
 * POST /jobs/failure — QStash's failure callback (README "How a job is handled"; docs/contracts.md#qstash). Records the
 * dead job under its source message id, marks that message failed in the ledger, and marks
 * the alert's analysis failed when the dead job was an analysis.
 */
import { z } from "zod";
import { alertIdsOf, alertStep, markAnalysisFailed } from "../src/analysis/status.ts";
import { base64Text } from "../src/base64.ts";
import { FAMILIES, type Family } from "../src/config/schema.ts";
import { isoAt } from "../src/iso-time.ts";
import { DEAD_LETTERS_KEY, type DeadLetter, deadLetterKey } from "../src/jobs/failure.ts";
import { type JobHandler, parseJob } from "../src/jobs/handler.ts";
import { notifyDeadLetter } from "../src/notify/dead-letter.ts";

/**
 * The fields of QStash's failure callback (docs/contracts.md#qstash) that the worker reads. The rest
 * (method, headers, topic, endpoint, schedule, timestamps, caller IP) and any field QStash adds
 * later are ignored, not checked or refused.
 */
export const failureCallbackSchema = z.object({
  status: z.number().int(),
  sourceMessageId: z.string().min(1),
  url: z.string().optional(),
  body: z.string().optional(),
  retried: z.number().int().optional(),
  maxRetries: z.number().int().optional(),
  dlqId: z.string().optional(),
  sourceBody: z.string().optional(),
});
export type FailureCallback = z.output<typeof failureCallbackSchema>;

export const failureHandler: JobHandler = {
  family: "failure",
  async handle(body, { deps, messageId, logger, note }) {
    const cb = parseJob(failureCallbackSchema, body);
    const family = familyOf(cb.url);
    const response = cb.body ? base64Text(cb.body).slice(0, 2048) : undefined;
    const reason = problemCode(response);
    const at = isoAt(deps.now());
    const error = {
      code: reason?.code ?? "delivery_failed",
      message:
        reason?.message ?? `QStash gave up after ${cb.retried ?? 0} retries; last answer HTTP ${cb.status}`,
    };
    const dead: DeadLetter = {
      source_message_id: cb.sourceMessageId,
      family,
      url: cb.url,
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
    if (family === "analysis" && cb.sourceBody && !(await deps.store.get(key))) {
      // A payload job can die after some of its alerts were analysed: those keep their result.
      // Marked before the dead letter is recorded: marking again is harmless, so a retry redoes it.
      for (const id of alertIdsOf(safeJson(base64Text(cb.sourceBody)))) {
        const step = await deps.ledger.getStep(cb.sourceMessageId, alertStep(id));
        if (step?.status !== "succeeded") await markAnalysisFailed(deps.store, id, error, at, retention);
      }
    }
    // A message dies once: a second callback for the same source (another failure-callback
    // message, a replayed DLQ entry, or this callback retried) is not recorded or counted again;
    // the notice to failure.notify goes only to channels not yet told (ledger steps). The dead
    // letter, the source's failed ledger entry and the recent list are written in one step: a
    // retry after a store failure finds all three or none.
    const recorded = await deps.store.setOnce(key, dead, retention, [
      await deps.ledger.failedWrite(cb.sourceMessageId, family, { ...error, retryable: false }),
      { op: "push", key: DEAD_LETTERS_KEY, value: cb.sourceMessageId, max: 100, ttlMs: retention },
    ]);
    if (!recorded) {
      note({ dead_letter: { source_message_id: cb.sourceMessageId, already_recorded: true } });
      const notice = await notifyDeadLetter(deps, dead, logger);
      return { ...result, already_recorded: true, ...(notice ? { notified: notice } : {}) };
    }
    deps.metrics.inc("deadLetters", { family });
    // On the job's own answer line, raised to warn: one line per dead letter.
    note(
      { dead_letter: { source_message_id: cb.sourceMessageId, family, dlq_id: cb.dlqId, status: cb.status } },
      "warn",
    );
    const notice = await notifyDeadLetter(deps, dead, logger);
    return notice ? { ...result, notified: notice } : result;
  },
};

/** The family of each job URL seen lately: a worker's callbacks name a handful of URLs, over and over. */
const familiesByUrl = new Map<string, Family | "unknown">();

function familyOf(url: string | undefined): Family | "unknown" {
  if (!url) return "unknown";
  let family = familiesByUrl.get(url);
  if (family === undefined) {
    const m = /\/jobs\/([a-z-]+)\/?(?:\?|$)/.exec(url);
    family = m && (FAMILIES as readonly string[]).includes(m[1]) ? (m[1] as Family) : "unknown";
    if (familiesByUrl.size >= 256) familiesByUrl.clear();
    familiesByUrl.set(url, family);
  }
  return family;
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
