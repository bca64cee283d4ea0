/** The analysis job's body (docs/analysis.md): one alert or an Alertmanager payload, the type, engine and language. */
import { z } from "zod";
import { alertmanagerPayloadSchema, alertSchema, isRawAlertmanagerPayload } from "../alerts/alert.ts";
import { ANALYSIS_TYPES, LANGUAGES } from "./schema.ts";

export const analysisJobSchema = z
  .strictObject({
    type: z.enum(ANALYSIS_TYPES),
    alert: alertSchema.optional(),
    payload: alertmanagerPayloadSchema.optional(),
    engine: z.enum(["auto", "dify", "ollama", "builtin"]).default("auto"),
    // `zh-CN`, as worker.locale and the channels spell it, is `zh` here (a 489 would lose the job).
    language: z
      .preprocess(
        (v) => (typeof v === "string" ? v.replace(/^(zh|en)[-_].*$/i, "$1").toLowerCase() : v),
        z.enum(LANGUAGES),
      )
      .optional(),
  })
  .superRefine((j, ctx) => {
    if (!j.alert === !j.payload)
      ctx.addIssue({ code: "custom", path: ["alert"], message: "give exactly one of alert or payload" });
  });
export type AnalysisJob = z.output<typeof analysisJobSchema>;

/** A raw Alertmanager payload as an analysis job: `?type=` (default comprehensive), `?engine=`, `?language=`. */
export function asAnalysisJob(body: unknown, query: Record<string, string>): unknown {
  if (!isRawAlertmanagerPayload(body)) return body;
  return {
    type: query.type ?? "comprehensive",
    payload: body,
    ...(query.engine ? { engine: query.engine } : {}),
    ...(query.language ? { language: query.language } : {}),
  };
}
