/**
 * POST /jobs/notification (docs/notifications.md): renders the alerts (or an Alertmanager payload, or
 * data for a custom template) for each named channel and delivers them exactly once per
 * channel, with fallbacks; under each firing alert, its latest analysis when one has finished.
 * Thin: validation here, the work in src/notify/deliver.ts.
 */
import { analysisKeysOf, firingBriefs } from "../src/analysis/brief.ts";
import { permanentOnConfigError } from "../src/errors.ts";
import { type JobHandler, jobParser } from "../src/jobs/handler.ts";
import { deliver, notificationPrefetch } from "../src/notify/deliver.ts";
import { asNotificationJob, type NotificationJob, notificationJobSchema } from "../src/notify/job.ts";

const job = jobParser(notificationJobSchema, asNotificationJob);

/**
 * The alerts whose analyses the job shows: none for free data or with `analysis: false`. As they
 * came (alertId reads the same id from them as the renderer's inputOf).
 */
const shownAlerts = (j: NotificationJob) => (j.analysis ? (j.payload?.alerts ?? j.alerts ?? []) : []);

export const notificationHandler: JobHandler = {
  family: "notification",
  prefetch(body, { deps, messageId, query }) {
    const j = job.peek(body, query);
    if (!j) return [];
    const keys = notificationPrefetch(
      permanentOnConfigError(() => deps.notifier),
      (step) => deps.ledger.stepKey(messageId, step),
      j,
      messageId,
    );
    return [...keys, ...analysisKeysOf(shownAlerts(j))];
  },
  async handle(body, { deps, messageId, receivedAt, logger, query, batch }) {
    const j = job.parse(body, query);
    const analyses = await firingBriefs(deps.store, shownAlerts(j), batch);
    return deliver(
      deps,
      permanentOnConfigError(() => deps.notifier),
      j,
      { id: messageId, receivedAt },
      logger,
      batch,
      analyses,
    );
  },
};
