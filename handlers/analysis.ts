/**
 * POST /jobs/analysis (docs/analysis.md): one alert or a whole Alertmanager v4 payload, analysed by the
 * engine chain (or similarity only for `similar`). The 200 body is the result — for a payload,
 * `{group_key, status, results}` with one result per alert.
 */
import { analyseJob, analysisPrefetch } from "../src/analysis/analyse.ts";
import { analysisJobSchema, asAnalysisJob } from "../src/analysis/job.ts";
import { type JobHandler, parseJob } from "../src/jobs/handler.ts";

export const analysisHandler: JobHandler = {
  family: "analysis",
  prefetch: (body, { deps, messageId, query }) =>
    analysisPrefetch(body, query, (step) => deps.ledger.stepKey(messageId, step)),
  handle(body, { deps, messageId, logger, query, batch }) {
    return analyseJob(deps, parseJob(analysisJobSchema, asAnalysisJob(body, query)), {
      messageId,
      logger,
      batch,
    });
  },
};
