/**
 * Similar-alert search as the analysis uses it: the index built from Services, an alert as a query
 * and as a document (with its resolution when known), Ollama embeddings when `embed_model` is
 * set (skipped while Ollama's breaker is open; a failure falls back to built-in similarity),
 * the `similar` analysis type, and the lookup behind GET /v1/alerts/:alertId/similar.
 */
import type { Alert } from "../alerts/alert.ts";
import { notFound } from "../errors.ts";
import type { Services } from "../services.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { AnalysisServices } from "./analyst.ts";
import type { Breakers } from "./breaker.ts";
import { timeoutOf } from "./engine.ts";
import { annotationText, firingMs, formatDuration, severityOf } from "./facts.ts";
import { ollamaEmbed } from "./ollama.ts";
import type { Analysis, Language, SimilarMatch } from "./schema.ts";
import { alertTokens } from "./similar/features.ts";
import type { SimDoc } from "./similar/index.ts";

/** The text an alert is embedded by. */
export function embedText(alert: Alert): string {
  return `${alert.labels.alertname} ${annotationText(alert)}`.trim();
}

/** The alert's embedding, or undefined when embeddings are off or Ollama cannot give one now. */
export async function embedAlert(
  deps: Services,
  br: Breakers,
  alert: Alert,
  log: Logger,
): Promise<number[] | undefined> {
  if (!deps.config.ai.ollama?.embed_model) return undefined;
  if (await br.isOpen("ollama")) return undefined;
  try {
    const [v] = await ollamaEmbed(deps, [embedText(alert)], AbortSignal.timeout(timeoutOf(deps, "ollama")));
    return v;
  } catch (e) {
    log.warn("embedding failed; built-in similarity only", { error: (e as Error).message });
    await br.failure("ollama", undefined, (e as Error).message);
    return undefined;
  }
}

/** What resolved the alert: its `resolution` annotation, else when and after how long it resolved. */
export function resolutionOf(alert: Alert, language: Language, now: number): string {
  const a = alert.annotations;
  const told = a.resolution ?? a.resolution_note ?? a.fix;
  if (told) return told;
  if (alert.status !== "resolved") return "";
  const ms = firingMs(alert, now);
  const dur = ms === undefined ? "" : formatDuration(ms, language);
  const at = alert.endsAt && !alert.endsAt.startsWith("0001-") ? alert.endsAt : "";
  if (language === "zh") return `已恢复${dur ? `，持续 ${dur}` : ""}${at ? `（${at}）` : ""}`;
  return `Resolved${dur ? ` after ${dur}` : ""}${at ? ` at ${at}` : ""}`;
}

export function docOf(
  alert: Alert & { id: string },
  summary: string,
  resolution: string,
  now: number,
): SimDoc {
  return {
    id: alert.id,
    labels: alert.labels,
    tokens: alertTokens(alert),
    summary,
    resolution,
    status: alert.status,
    at: now,
  };
}

/** The `similar` type: no LLM, the matches are the answer. */
export function similarAnalysis(
  alert: Alert,
  matches: SimilarMatch[],
  language: Language,
  minScore: number,
): Analysis {
  const zh = language === "zh";
  const name = alert.labels.alertname;
  const best = matches[0];
  const summary = best
    ? zh
      ? `找到 ${matches.length} 条与 ${name} 相似的历史告警；最相似的是 ${best.alert_id}（相似度 ${best.score.toFixed(2)}）：${best.summary}`
      : `${matches.length} similar past alert${matches.length > 1 ? "s" : ""} found for ${name}; the closest is ${best.alert_id} (similarity ${best.score.toFixed(2)}): ${best.summary}`
    : zh
      ? `没有相似度不低于 ${minScore} 的历史告警与 ${name} 相似。`
      : `No past alert is similar to ${name} (similarity ≥ ${minScore}).`;
  const remediation: Analysis["remediation"] = matches
    .filter((m) => m.resolution)
    .map((m) => ({
      step: zh
        ? `参考 ${m.alert_id}（相似度 ${m.score.toFixed(2)}）的处理：${m.resolution}`
        : `How ${m.alert_id} (similarity ${m.score.toFixed(2)}) ended: ${m.resolution}`,
      command: "",
      risk: "low" as const,
    }));
  return { summary, severity: severityOf(alert), root_causes: [], remediation };
}

/** GET /v1/alerts/:alertId/similar: the indexed alert's best matches. */
export async function similarTo(
  deps: AnalysisServices,
  alertId: string,
  k: number,
): Promise<{ alert_id: string; similar: SimilarMatch[] }> {
  const { index } = deps.analyst;
  const found = await index.get(alertId);
  if (!found) throw notFound(`alert ${alertId} in the similarity index (it is indexed when analysed)`);
  const { doc, vector } = found;
  const similar = await index.search(
    { id: alertId, labels: doc.labels, tokens: doc.tokens, vector },
    { k, minScore: deps.config.ai.similar.min_score },
  );
  return { alert_id: alertId, similar };
}
