/** The job handlers by family; a family without a handler here is not mounted. */
import type { Family } from "../src/config/schema.ts";
import type { JobHandler } from "../src/jobs/handler.ts";
import { analysisHandler } from "./analysis.ts";
import { autoscaleHandler } from "./autoscale.ts";
import { configSyncHandler } from "./config-sync.ts";
import { failureHandler } from "./failure.ts";
import { notificationHandler } from "./notification.ts";

export const HANDLERS: Partial<Record<Family, JobHandler>> = {
  analysis: analysisHandler,
  failure: failureHandler,
  notification: notificationHandler,
  "config-sync": configSyncHandler,
  autoscale: autoscaleHandler,
};
