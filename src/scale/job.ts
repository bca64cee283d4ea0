/** The autoscale job's body (README, "How a job is handled"): which flow-control keys to move; all by default. */
import { z } from "zod";

export const autoscaleJobSchema = z.strictObject({ keys: z.array(z.string().min(1)).min(1).optional() });
