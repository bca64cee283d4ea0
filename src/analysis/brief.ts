/**
 * An analysis in brief (src/alerts/brief.ts): what a notification shows under a firing alert and what the dashboard
 * lists (docs/notifications.md, "The analysis in the message"; README, "Operations"). Made from the
 * stored result, in the analysis job's language; long LLM text is cut so one alert's block
 * stays a few lines on a robot (the longest Chinese block is under 3 KB, inside WeCom's
 * 4096 bytes).
 */
import { type Alert, alertId } from "../alerts/alert.ts";
import type { AnalysisBrief } from "../alerts/brief.ts";
import { excerpt } from "../clip.ts";
import { type Batch, readThrough } from "../store/ledger.ts";
import type { Store, Write } from "../store/store.ts";
import type { AnalysisResult } from "./schema.ts";
import { type AnalysisRecord, analysisKey } from "./status.ts";

/** One line of the dashboard's recent analyses. */
export interface RecentAnalysis extends AnalysisBrief {
  alert_id: string;
  alertname: string;
  at: string;
  degraded: boolean;
}

const MAX_EVIDENCE = 3;

/** The brief of a result; the first root cause is the top one, as everywhere (evidence/apply.ts). */
export function briefOf(r: AnalysisResult): AnalysisBrief {
  const ev = r.evidence;
  return {
    summary: excerpt(r.summary, 200),
    cause: r.root_causes[0] ? excerpt(r.root_causes[0].cause, 120) : "",
    evidence:
      ev?.status === "ok"
        ? ev.items
            .filter((i) => i.value !== null)
            .slice(0, MAX_EVIDENCE)
            .map((i) => excerpt(i.summary, 120))
        : [],
    evidence_unavailable: ev?.status === "unavailable" ? excerpt(ev.reason ?? "", 120) : "",
    conflicts: (ev?.conflicts ?? []).slice(0, 2).map((c) => excerpt(c, 120)),
    engine: r.engine,
  };
}

/** The dashboard's list of the latest completed analyses (newest first). */
export const RECENT_ANALYSES_KEY = "analyses:recent";
const RECENT_MAX = 20;

/** The write that puts a completed analysis on the dashboard's list (made with its result). */
export function recentWrite(r: AnalysisResult, alertname: string, at: string, retentionMs: number): Write {
  const value: RecentAnalysis = { alert_id: r.alert_id, alertname, at, degraded: r.degraded, ...briefOf(r) };
  return { op: "push", key: RECENT_ANALYSES_KEY, value, max: RECENT_MAX, ttlMs: retentionMs };
}

export function recentAnalyses(store: Store, limit = RECENT_MAX): Promise<RecentAnalysis[]> {
  return store.list<RecentAnalysis>(RECENT_ANALYSES_KEY, limit);
}

const firing = (alerts: readonly Alert[]) => alerts.filter((a) => a.status !== "resolved");

/** The analysis records a notification of these alerts reads (with its claim): the firing ones'. */
export const analysisKeysOf = (alerts: readonly Alert[]): string[] =>
  firing(alerts).map((a) => analysisKey(alertId(a)));

/**
 * Each firing alert's analysis in brief, by alert id: the latest result, when it was made after
 * the alert started firing (an older one is about an earlier episode; an alert without startsAt
 * cannot tell, and shows it).
 */
export async function firingBriefs(
  store: Store,
  alerts: readonly Alert[],
  batch?: Batch,
): Promise<Record<string, AnalysisBrief>> {
  const out: Record<string, AnalysisBrief> = {};
  await Promise.all(
    firing(alerts).map(async (a) => {
      const id = alertId(a);
      const rec = await readThrough<AnalysisRecord>(store, analysisKey(id), batch);
      // The last result, even while a newer analysis runs (a record from before completed_at: its update).
      const done = rec?.completed_at ?? (rec?.status === "completed" ? rec.updated_at : undefined);
      if (!rec?.result || !done) return;
      const started = a.startsAt ? Date.parse(a.startsAt) : Number.NaN;
      if (Number.isFinite(started) && Date.parse(done) < started) return;
      out[id] = briefOf(rec.result as AnalysisResult);
    }),
  );
  return out;
}
