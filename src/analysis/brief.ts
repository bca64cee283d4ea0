/**
 * An analysis in brief (src/alerts/brief.ts): what a notification shows under a firing alert and what the dashboard
 * lists (docs/notifications.md, "The analysis in the message"; docs/operations.md). Made from the
 * stored result, in the analysis job's language; long LLM text is cut so one alert's block
 * stays a few lines on a robot.
 */
import { type Alert, alertId } from "../alerts/alert.ts";
import type { AnalysisBrief } from "../alerts/brief.ts";
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
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function briefOf(r: AnalysisResult): AnalysisBrief {
  const top = [...r.root_causes].sort((a, b) => b.confidence - a.confidence)[0];
  const ev = r.evidence;
  return {
    summary: cut(r.summary, 300),
    cause: top ? cut(top.cause, 200) : "",
    evidence:
      ev?.status === "ok"
        ? ev.items
            .filter((i) => i.value !== null)
            .slice(0, MAX_EVIDENCE)
            .map((i) => cut(i.summary, 200))
        : [],
    evidence_unavailable: ev?.status === "unavailable" ? cut(ev.reason ?? "", 200) : "",
    conflicts: (ev?.conflicts ?? []).map((c) => cut(c, 200)),
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
 * Each firing alert's analysis in brief, by alert id: only one that completed since the alert
 * started firing (an older one is about an earlier episode).
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
      if (rec?.status !== "completed" || !rec.result) return;
      const started = a.startsAt ? Date.parse(a.startsAt) : Number.NaN;
      if (Number.isFinite(started) && Date.parse(rec.updated_at) < started) return;
      out[id] = briefOf(rec.result as AnalysisResult);
    }),
  );
  return out;
}
