/**
 * POST /jobs/notification (docs/notifications.md): renders the alerts (or an Alertmanager payload, or
 * data for a custom template) for each named channel and delivers them exactly once per
 * channel, with fallbacks. Thin: validation here, the work in src/notify/deliver.ts.
 */
import { permanentOnConfigError } from "../src/errors.ts";
import { type JobHandler, parseJob } from "../src/jobs/handler.ts";
import { deliver, notificationPrefetch } from "../src/notify/deliver.ts";
import { asNotificationJob, notificationJobSchema } from "../src/notify/job.ts";

export const notificationHandler: JobHandler = {
  family: "notification",
  prefetch: (body, { deps, messageId, query }) =>
    notificationPrefetch(
      permanentOnConfigError(() => deps.notifier),
      (step) => deps.ledger.stepKey(messageId, step),
      body,
      messageId,
      query,
    ),
  handle(body, { deps, messageId, logger, query, batch }) {
    const job = parseJob(notificationJobSchema, asNotificationJob(body, query));
    return deliver(
      deps,
      permanentOnConfigError(() => deps.notifier),
      job,
      messageId,
      logger,
      batch,
    );
  },
};
