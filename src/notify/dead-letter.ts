/**
 * Telling the ops channels (`failure.notify`) about a message QStash gave up on — once per
 * dead message: the sends are ledger steps under `dead:<sourceMessageId>`, so a retried failure
 * callback only re-tries channels that have not been told yet. The message is an alert
 * (`AlertAgentDeadLetter`) so the channels' default templates render it like any page.
 */
import type { Deps } from "../deps.ts";
import { JobError } from "../errors.ts";
import type { DeadLetter } from "../jobs/failure.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type Delivery, deliver } from "./deliver.ts";
import { notificationJobSchema } from "./job.ts";
import { notifierFor } from "./notifier.ts";

export interface DeadLetterNotice {
  deliveries?: Delivery[];
  /** Set when a channel refused the notice for good: logged and reported, never failing the callback. */
  failed?: { code: string; message: string };
}

/** The DLQ entry in QStash's API (GET it with the QStash token, or retry it with POST /v2/dlq/retry/<id>). */
export function dlqUrl(qstashUrl: string, dlqId: string): string {
  return `${qstashUrl.replace(/\/+$/, "")}/v2/dlq/${encodeURIComponent(dlqId)}`;
}

export async function notifyDeadLetter(
  deps: Deps,
  dead: DeadLetter,
  logger: Logger,
): Promise<DeadLetterNotice | undefined> {
  const channels = deps.config.failure.notify;
  if (channels.length === 0) return undefined;
  const link = dead.dlq_id ? dlqUrl(deps.config.qstash.url, dead.dlq_id) : undefined;
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
          summary: `A ${dead.family} job was given up by QStash (${dead.error.code})`,
          description: `Message ${dead.source_message_id} failed after ${dead.retried ?? 0} retries, last answer HTTP ${dead.status}: ${dead.error.message}${link ? `\nDLQ entry: ${link}` : ""}`,
          ...(link ? { dlq_url: link } : {}),
          source_message_id: dead.source_message_id,
        },
        startsAt: dead.recorded_at,
      },
    ],
  });
  try {
    const result = await deliver(deps, notifierFor(deps), job, `dead:${dead.source_message_id}`, logger);
    return { deliveries: result.deliveries };
  } catch (e) {
    // Transient trouble (503/429) goes back to QStash so the callback is retried; a channel that
    // refuses for good must not turn the dead letter itself into a failure.
    if (e instanceof JobError && e.status === 489) {
      logger.error("failure.notify refused the dead-letter notice", { code: e.code, error: e.message });
      return { failed: { code: e.code, message: e.message } };
    }
    throw e;
  }
}
