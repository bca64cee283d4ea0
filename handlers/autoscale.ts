/**
 * POST /jobs/autoscale — meant to run on a QStash schedule (README, "How a job is handled"): moves each family's
 * flow-control parallelism between min and max from QStash's wait list and the worker's own
 * health, honouring the cooldown, and answers the decisions it made.
 */
import { z } from "zod";
import { ConfigError, permanent } from "../src/errors.ts";
import { type JobHandler, parseJob } from "../src/jobs/handler.ts";
import { qstashApi } from "../src/qstash/management.ts";
import { runAutoscale } from "../src/scale/run.ts";

export const autoscaleJobSchema = z.strictObject({ keys: z.array(z.string().min(1)).min(1).optional() });

export const autoscaleHandler: JobHandler = {
  family: "autoscale",
  async handle(body, { deps }) {
    const job = parseJob(autoscaleJobSchema, body ?? {});
    let api: ReturnType<typeof qstashApi>;
    try {
      api = qstashApi(deps.config);
    } catch (e) {
      if (e instanceof ConfigError) throw permanent("config_error", e.message, e.issues);
      throw e;
    }
    const decisions = await runAutoscale(deps, api, job.keys);
    return { decisions: decisions.map(({ key, from, to, reason }) => ({ key, from, to, reason })) };
  },
};
