/** The job handlers by family; a family without a handler here is not mounted. */
import type { Family } from "../src/config/schema.ts";
import type { JobHandler } from "../src/jobs/handler.ts";
import { autoscaleHandler } from "./autoscale.ts";
import { failureHandler } from "./failure.ts";

export const HANDLERS: Partial<Record<Family, JobHandler>> = {
  failure: failureHandler,
  autoscale: autoscaleHandler,
};
