/**
 * An alert's analysis in brief: what analysis hands the pages and the dashboard (a notification
 * shows it under a firing alert: docs/notifications.md, "The analysis in the message"). Here,
 * beside the alert, because both analysis and notify speak it.
 */
export interface AnalysisBrief {
  summary: string;
  /** The most likely root cause, "" when none was named. */
  cause: string;
  /** Up to three evidence sentences from Prometheus. */
  evidence: string[];
  /** Why Prometheus gave no evidence ("" when it did, or evidence is off). */
  evidence_unavailable: string;
  /** Where an LLM's answer contradicts the evidence. */
  conflicts: string[];
  engine: string;
}
