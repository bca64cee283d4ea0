/**
 * POST /jobs/config-sync (docs/config-sync.md): validates the job's envelope and hands it to the sync
 * domain (src/sync/sync.ts), which validates each rule itself so a bad rule is named by id.
 */
import { type JobHandler, parseJob } from "../src/jobs/handler.ts";
import { configSyncJobSchema } from "../src/sync/job.ts";
import { runSync } from "../src/sync/sync.ts";

export const configSyncHandler: JobHandler = {
  family: "config-sync",
  handle: (body, { deps, logger, messageId }) =>
    runSync(deps, parseJob(configSyncJobSchema, body), logger, messageId),
};
