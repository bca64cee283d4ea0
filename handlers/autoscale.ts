/**
 * POST /jobs/autoscale — meant to run on a QStash schedule (README, "How a job is handled"): moves each family's
 * flow-control parallelism between min and max from QStash's wait list and the worker's own
 * health, honouring the cooldown, and answers the decisions it made.
 */
import { permanentOnConfigError } from "../src/errors.ts";
import { type JobHandler, parseJob } from "../src/jobs/handler.ts";
import { qstashApi } from "../src/qstash/management.ts";
import { autoscaleJobSchema } from "../src/scale/job.ts";
import { runAutoscale } from "../src/scale/run.ts";

export const autoscaleHandler: JobHandler = {
  family: "autoscale",
  async handle(body, { deps }) {
    const job = parseJob(autoscaleJobSchema, body ?? {});
    const api = permanentOnConfigError(() => qstashApi(deps.config));
    const decisions = await runAutoscale(deps, api, job.keys);
    return { decisions: decisions.map(({ key, from, to, reason }) => ({ key, from, to, reason })) };
  },
};
