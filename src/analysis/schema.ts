/**
 * The shapes of an analysis (docs/analysis.md): what an engine must produce (`analysisSchema`,
 * also sent to Ollama as its JSON Schema), and the stored and returned result. Zod schemas are
 * the types.
 */
import { z } from "zod";

export const ANALYSIS_TYPES = ["comprehensive", "quick", "root_cause", "similar"] as const;
export type AnalysisType = (typeof ANALYSIS_TYPES)[number];
export const LANGUAGES = ["en", "zh"] as const;
export type Language = (typeof LANGUAGES)[number];
/** Engine names as results, metrics and attempts report them. */
export const ENGINE_NAMES = ["dify-workflow", "dify-chat", "dify-agent", "ollama", "builtin"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
export const SEVERITIES = ["critical", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const rootCauseSchema = z.strictObject({
  cause: z.string().min(1),
  confidence: z.number().min(0).max(1),
  evidence: z.string(),
});
export const remediationSchema = z.strictObject({
  step: z.string().min(1),
  command: z.string(),
  risk: z.enum(["low", "medium", "high"]),
});

/** What an engine answers: the part of the result an LLM writes. */
export const analysisSchema = z.strictObject({
  summary: z.string().min(1),
  severity: z.enum(SEVERITIES),
  root_causes: z.array(rootCauseSchema),
  remediation: z.array(remediationSchema),
});
export type Analysis = z.output<typeof analysisSchema>;

export const similarMatchSchema = z.strictObject({
  alert_id: z.string(),
  score: z.number().min(0).max(1),
  summary: z.string(),
  /** What resolved it, when known; "" otherwise. */
  resolution: z.string(),
});
export type SimilarMatch = z.output<typeof similarMatchSchema>;

export const attemptSchema = z.strictObject({
  engine: z.enum(ENGINE_NAMES),
  ok: z.boolean(),
  error: z.string().optional(),
  ms: z.number().nonnegative(),
  /** Not asked at all: its circuit open, the time budget spent, or it failed for an earlier alert of the job. */
  not_asked: z.literal(true).optional(),
});
export type Attempt = z.output<typeof attemptSchema>;

export const tokensSchema = z.strictObject({
  prompt: z.number().int().nonnegative(),
  completion: z.number().int().nonnegative(),
});
export type Tokens = z.output<typeof tokensSchema>;

export const EVIDENCE_UNITS = [
  "seconds",
  "ratio",
  "bytes",
  "bytes_per_second",
  "count",
  "seconds_per_hour",
  "reason",
  /** The alert expression's own unit (unknown to the worker), and its change per hour. */
  "value",
  "value_per_hour",
] as const;

/** One thing Prometheus said about the alert (docs/analysis.md, "Evidence"). */
export const evidenceItemSchema = z.strictObject({
  id: z.string(),
  query: z.string(),
  /** The number the query gave, or null when it matched nothing. */
  value: z.number().nullable(),
  unit: z.enum(EVIDENCE_UNITS),
  /** One sentence in the job's language. */
  summary: z.string(),
  /** Labels of the series that gave it, where they say something (a termination reason, a CPU mode, a pod). */
  labels: z.record(z.string(), z.string()).optional(),
});
export type EvidenceItem = z.output<typeof evidenceItemSchema>;

export const evidenceSchema = z.strictObject({
  status: z.enum(["ok", "unavailable"]),
  /** Why there is none (unavailable). */
  reason: z.string().optional(),
  /** The Prometheus asked (its origin: no credentials). */
  source: z.string().optional(),
  items: z.array(evidenceItemSchema),
  /** Where an LLM's answer contradicts the items (a person should weigh it), in the job's language. */
  conflicts: z.array(z.string()).optional(),
});
export type Evidence = z.output<typeof evidenceSchema>;

export const resultSchema = z.strictObject({
  alert_id: z.string(),
  type: z.enum(ANALYSIS_TYPES),
  status: z.literal("completed"),
  engine: z.enum(ENGINE_NAMES),
  degraded: z.boolean(),
  /** When degraded: which engines did not answer, in the job's language, for the person reading it. */
  note: z.string().optional(),
  ...analysisSchema.shape,
  similar: z.array(similarMatchSchema),
  attempts: z.array(attemptSchema),
  latency_ms: z.number().nonnegative(),
  tokens: tokensSchema,
  /** What Prometheus said about the alert, when ai.evidence is on. */
  evidence: evidenceSchema.optional(),
  /** Answered with the analysis this message made of the same alert (ai.reuse_for): no engine asked. */
  reused_from: z.string().optional(),
});
export type AnalysisResult = z.output<typeof resultSchema>;

/** The JSON Schema of an engine's answer (Ollama's `format`), computed once, without `$schema`. */
export const ANALYSIS_JSON_SCHEMA: Record<string, unknown> = (() => {
  const { $schema: _, ...schema } = z.toJSONSchema(analysisSchema) as Record<string, unknown>;
  return schema;
})();
