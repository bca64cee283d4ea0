/**
 * POST /jobs/failure — QStash's failure callback (README "How a job is handled"; docs/contracts.md#qstash).
 * Thin: validation here, the dead letter in src/jobs/failure.ts.
 */
import { failureCallbackSchema, failurePrefetch, recordDeadLetter } from "../src/jobs/failure.ts";
import { type JobHandler, parseJob } from "../src/jobs/handler.ts";

export const failureHandler: JobHandler = {
  family: "failure",
  prefetch: failurePrefetch,
  handle: (body, { deps, ...ctx }) => recordDeadLetter(deps, parseJob(failureCallbackSchema, body), ctx),
};
