/**
 * POST /jobs/notification (docs/notifications.md): renders the alerts (or an Alertmanager payload, or
 * data for a custom template) for each named channel and delivers them exactly once per
 * channel, with fallbacks. Thin: validation here, the work in src/notify/deliver.ts.
 */
import { ConfigError, permanent } from "../src/errors.ts";
import { type JobHandler, parseJob } from "../src/jobs/handler.ts";
import { deliver } from "../src/notify/deliver.ts";
import { asNotificationJob, notificationJobSchema } from "../src/notify/job.ts";
import { type Notifier, notifierFor } from "../src/notify/notifier.ts";

export const notificationHandler: JobHandler = {
  family: "notification",
  async handle(body, { deps, messageId, logger, query }) {
    const job = parseJob(notificationJobSchema, asNotificationJob(body, query));
    let n: Notifier;
    try {
      n = notifierFor(deps);
    } catch (e) {
      // Only reachable without createApp (the `run` command): the worker refuses such a config at start.
      if (e instanceof ConfigError) throw permanent("config_error", e.message, e.issues);
      throw e;
    }
    return deliver(deps, n, job, messageId, logger);
  },
};
