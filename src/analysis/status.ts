/**
 * An alert's analysis status record (`analysis:<alertId>`): pending → processing →
 * completed | failed (docs/analysis.md). The failure callback marks it failed when QStash gives up
 * on an analysis job.
 */
import type { Store, Write } from "../store/store.ts";

export type AnalysisStatus = "pending" | "processing" | "completed" | "failed";

export interface AnalysisRecord {
  alert_id: string;
  status: AnalysisStatus;
  updated_at: string;
  /** The analysis type last asked for, and the message that asked. */
  type?: string;
  message_id?: string;
  /** The latest completed result (kept while a newer analysis is pending or processing). */
  result?: unknown;
  /** When `result` was made: a page shows it only if that was after the alert began firing. */
  completed_at?: string;
  /** The language `result` is in (a later job in another asks the engines again). */
  language?: string;
  /** The alert episode `result` is about: its labels' fingerprint and startsAt (episodeOf). */
  episode?: string;
  error?: { code: string; message: string };
}

export const analysisKey = (alertId: string) => `analysis:${alertId}`;

export function getAnalysis(store: Store, alertId: string): Promise<AnalysisRecord | null> {
  return store.get<AnalysisRecord>(analysisKey(alertId));
}

export interface StatusOptions {
  at: string;
  type?: string;
  messageId?: string;
  result?: unknown;
  /** The language of `result`, and the alert episode it is about. */
  language?: string;
  episode?: string;
  error?: { code: string; message: string };
}

/**
 * The record after `prev` moves to `status`, keeping the last completed result unless a new one
 * is given. An error is kept only with the status it explains (pending after a transient
 * failure, failed).
 */
export function analysisRecord(
  prev: AnalysisRecord | null,
  alertId: string,
  status: AnalysisStatus,
  opts: StatusOptions,
): AnalysisRecord {
  const rec: AnalysisRecord = { alert_id: alertId, status, updated_at: opts.at };
  const type = opts.type ?? prev?.type;
  const messageId = opts.messageId ?? prev?.message_id;
  if (type) rec.type = type;
  if (messageId) rec.message_id = messageId;
  const result = opts.result ?? prev?.result;
  if (result !== undefined) rec.result = result;
  const completedAt = opts.result !== undefined ? opts.at : prev?.completed_at;
  if (completedAt) rec.completed_at = completedAt;
  const language = opts.result !== undefined ? opts.language : prev?.language;
  if (language) rec.language = language;
  const episode = opts.result !== undefined ? opts.episode : prev?.episode;
  if (episode) rec.episode = episode;
  if (opts.error) rec.error = opts.error;
  return rec;
}

/** A record as a write to make with others. */
export const analysisWrite = (rec: AnalysisRecord, retentionMs: number): Write => ({
  op: "set",
  key: analysisKey(rec.alert_id),
  value: rec,
  ttlMs: retentionMs,
});

/** The ledger step under which an analysis message records one alert as done. */
export const alertStep = (alertId: string) => `alert:${alertId}`;

export async function markAnalysisFailed(
  store: Store,
  alertId: string,
  error: { code: string; message: string },
  at: string,
  retentionMs: number,
): Promise<void> {
  const rec = analysisRecord(await getAnalysis(store, alertId), alertId, "failed", { at, error });
  await store.writeMany([analysisWrite(rec, retentionMs)]);
}
