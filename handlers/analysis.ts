/**
 * POST /jobs/analysis (docs/analysis.md): one alert or a whole Alertmanager v4 payload, analysed by the
 * engine chain (or similarity only for `similar`). The 200 body is the result — for a payload,
 * `{group_key, status, results}` with one result per alert.
 */
import { analyseJob, analysisPrefetch } from "../src/analysis/analyse.ts";
import { analysisJobSchema, asAnalysisJob } from "../src/analysis/job.ts";
import { type JobHandler, jobParser } from "../src/jobs/handler.ts";

const job = jobParser(analysisJobSchema, asAnalysisJob);

export const analysisHandler: JobHandler = {
  family: "analysis",
  prefetch(body, { deps, messageId, query }) {
    const j = job.peek(body, query);
    return j
      ? analysisPrefetch(j, deps.config.ai.job_alerts, (step) => deps.ledger.stepKey(messageId, step))
      : [];
  },
  handle(body, { deps, messageId, logger, query, batch }) {
    return analyseJob(deps, job.parse(body, query), {
      messageId,
      logger,
      batch,
    });
  },
};
