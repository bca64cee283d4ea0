/**
 * Evidence for one alert (docs/analysis.md, "Evidence"): the catalogue's queries for its family and
 * its own expression (from generatorURL's `g0.expr`), asked of Prometheus in parallel, at most
 * `max_queries` of them, all under one deadline (`timeout`). Prometheus down, slow or refusing is
 * never an error of the analysis: the answer is `unavailable` with the reason.
 */
import type { Alert } from "../../alerts/alert.ts";
import type { Config } from "../../config/schema.ts";
import { maskText } from "../../mask.ts";
import type { Fetch } from "../../ports.ts";
import { exprOf } from "../facts.ts";
import type { Evidence, EvidenceItem, Language } from "../schema.ts";
import { type ProbeQuery, probesFor } from "./catalogue.ts";
import { EvidenceError, promClient, type Sample, type Series } from "./client.ts";

export type EvidenceConfig = NonNullable<Config["ai"]["evidence"]>;

/** The Prometheus an alert's evidence is asked of: the configured one, else (when allowed) the one that fired it. */
export function prometheusFor(cfg: EvidenceConfig, alert: Alert): string | undefined {
  if (cfg.prometheus_url) return cfg.prometheus_url;
  if (!cfg.allow_generator_url || !alert.generatorURL) return undefined;
  try {
    return new URL(alert.generatorURL).origin;
  } catch {
    return undefined;
  }
}

export async function collectEvidence(
  fetch: Fetch,
  cfg: EvidenceConfig,
  alert: Alert,
  language: Language,
  nowMs: number,
  /** The alert's expression when its generatorURL has none (the rule set config sync holds). */
  ruleExpr?: string,
): Promise<Evidence | undefined> {
  const base = prometheusFor(cfg, alert);
  if (!base) return undefined;
  // The headers (credentials) are prometheus_url's: never sent to an origin an alert names.
  const prom = promClient(fetch, base, cfg.prometheus_url ? cfg.headers : {});
  const source = new URL(base).origin;
  const zh = language === "zh";
  const atS = nowMs / 1000;
  const signal = AbortSignal.timeout(cfg.timeout);
  const expr = exprOf(alert) ?? ruleExpr;
  const queries = [...probesFor(alert).flatMap((p) => p.queries(alert)), ...ownExpression(expr, zh)];
  const asked = queries.slice(0, cfg.max_queries);
  const lookbackS = cfg.lookback / 1000;
  // The expression's history over the lookback, when the query budget has room for it.
  const history =
    expr && asked.length < cfg.max_queries
      ? prom.range(expr, atS - lookbackS, atS, Math.max(15, Math.round(lookbackS / 120)), signal)
      : undefined;
  const [answers, past] = await Promise.all([
    Promise.allSettled(asked.map((q) => prom.instant(q.query, atS, signal))),
    history?.then(
      (series) => series,
      () => undefined,
    ),
  ]);
  const items: EvidenceItem[] = [];
  let reason: string | undefined;
  for (const [i, a] of answers.entries()) {
    if (a.status === "rejected") {
      const why =
        a.reason instanceof EvidenceError
          ? a.reason
          : new EvidenceError("the evidence query failed", "证据查询失败");
      reason ??= zh ? why.zh : why.message;
      continue;
    }
    items.push(itemOf(asked[i], pick(a.value, alert), zh));
  }
  if (expr && past) items.push(...trendItems(expr, past, alert, cfg.lookback, zh));
  // A reason may quote the URL: never with its credentials (src/mask.ts).
  if (items.length === 0 && reason)
    return { status: "unavailable", reason: maskText(reason), source, items: [] };
  return { status: "ok", source, items };
}

/** The series about this alert: the one whose labels agree with the alert's, else the first. */
function pick(samples: Sample[], alert: Alert): Sample | undefined {
  const finite = samples.filter((s) => Number.isFinite(s.value));
  return (
    finite.find((s) =>
      Object.entries(s.metric).every(
        ([k, v]) => k === "__name__" || alert.labels[k] === undefined || alert.labels[k] === v,
      ),
    ) ?? finite[0]
  );
}

function itemOf(q: ProbeQuery, s: Sample | undefined, zh: boolean): EvidenceItem {
  const value = s ? s.value : null;
  const labels = s && q.keep ? Object.fromEntries(q.keep.map((k) => [k, s.metric[k] ?? ""])) : undefined;
  return {
    id: q.id,
    query: q.query,
    value,
    unit: q.unit,
    summary: q.say(value, s?.metric ?? {}, zh),
    ...(labels ? { labels } : {}),
  };
}

/** The expression's range over the lookback for the alert's series: its lowest, highest, and trend per hour. */
function trendItems(
  expr: string,
  series: Series[],
  alert: Alert,
  lookbackMs: number,
  zh: boolean,
): EvidenceItem[] {
  const s = pick(
    series.map((x) => ({ metric: x.metric, value: x.values.at(-1)?.[1] ?? Number.NaN })),
    alert,
  );
  const points =
    series.find((x) => x.metric === s?.metric)?.values.filter(([, v]) => Number.isFinite(v)) ?? [];
  if (points.length < 2) return [];
  const vs = points.map(([, v]) => v);
  const [min, max] = [Math.min(...vs), Math.max(...vs)];
  // Least-squares slope, per hour.
  const n = points.length;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const mv = vs.reduce((a, v) => a + v, 0) / n;
  const cov = points.reduce((a, [t, v]) => a + (t - mt) * (v - mv), 0);
  const vt = points.reduce((a, [t]) => a + (t - mt) ** 2, 0);
  const perHour = vt > 0 ? (cov / vt) * 3600 : 0;
  const h = `${Math.round(lookbackMs / 360_000) / 10}h`;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  const query = `${expr} [range ${h}]`;
  return [
    {
      id: "alert_expression_min",
      query,
      value: min,
      unit: "value",
      summary: zh ? `最近 ${h} 最低 ${r(min)}。` : `Its lowest over the last ${h} was ${r(min)}.`,
    },
    {
      id: "alert_expression_max",
      query,
      value: max,
      unit: "value",
      summary: zh ? `最近 ${h} 最高 ${r(max)}。` : `Its highest over the last ${h} was ${r(max)}.`,
    },
    {
      id: "alert_expression_trend",
      query,
      value: perHour,
      unit: "value_per_hour",
      summary: zh
        ? `最近 ${h} 每小时变化 ${r(perHour)}。`
        : `Over the last ${h} it changed by ${r(perHour)} an hour.`,
    },
  ];
}

/** The alert's own expression, as Prometheus evaluates it now. */
function ownExpression(expr: string | undefined, zh: boolean): ProbeQuery[] {
  if (!expr) return [];
  return [
    {
      id: "alert_expression",
      query: expr,
      unit: "count",
      say: (v) =>
        v === null
          ? zh
            ? "告警表达式现在没有结果（可能已恢复）。"
            : "The alert's expression gives no result now (it may have resolved)."
          : zh
            ? `告警表达式当前值为 ${Math.round(v * 1000) / 1000}。`
            : `The alert's expression is ${Math.round(v * 1000) / 1000} now.`,
    },
  ];
}
