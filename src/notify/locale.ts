/**
 * The words the templates add around alert data, per locale (`worker.locale`, a channel's
 * `locale`): the built-in templates write `{{t.firing}}`, never "Firing". Durations are written
 * in the locale too. Alert data itself (names, summaries, label values) is shown as it came.
 */
import type { LOCALES } from "../config/schema.ts";
import { type DurationWords, formatDuration } from "../duration.ts";

export type Locale = (typeof LOCALES)[number];

export interface Words {
  /** The language tag of these words (an HTML `lang`): mail clients pick Chinese glyphs by it. */
  lang: string;
  firing: string;
  resolved: string;
  FIRING: string;
  RESOLVED: string;
  no_alerts: string;
  /** Shown for an alert without a severity label. */
  no_severity: string;
  labels: string;
  started: string;
  firing_for: string;
  for: string;
  resolved_at: string;
  lasted: string;
  value: string;
  graph: string;
  runbook: string;
  silence: string;
  silence_all: string;
  alertmanager: string;
  open_in_alertmanager: string;
  every_alert: string;
  see_every_alert: string;
  by_severity: string;
  by_alertname: string;
  more: string;
  sent_by: string;
  /** The summary part's first words, and what was sent before; called with the `omitted` section as `this`. */
  omitted_count: (this: { count: number }) => string;
  omitted_shown: (this: { shown: number }) => string;
  /** What Alertmanager's `max_alerts` cut from the payload (`truncatedAlerts`): said on the first part. */
  left_out: (count: number) => string;
  /** The graph link of a one-line (compact) alert. */
  graph_short: string;
  /** A message's button (DingTalk actionCard). */
  open: string;
  /** Around a firing alert's latest analysis (docs/notifications.md, "The analysis in the message"). */
  analysis: string;
  /** After "Analysis" when the built-in engine wrote it, not an LLM. */
  by_rules: string;
  likely_cause: string;
  evidence_unavailable: string;
  contradicts: string;
  /** The visible marker where a text too long for the robot was cut. */
  truncated: string;
  /** The last part's note when a free text needed more than max_parts parts. */
  lines_left_out: (count: number, maxParts: number) => string;
  units: DurationWords;
}

const EN: Words = {
  lang: "en",
  firing: "Firing",
  resolved: "Resolved",
  FIRING: "FIRING",
  RESOLVED: "RESOLVED",
  no_alerts: "NO ALERTS",
  no_severity: "unclassified",
  labels: "Labels",
  started: "Started",
  firing_for: "firing for",
  for: "for",
  resolved_at: "Resolved",
  lasted: "lasted",
  value: "Value",
  graph: "Graph",
  runbook: "Runbook",
  silence: "Silence",
  silence_all: "Silence all",
  alertmanager: "Alertmanager",
  open_in_alertmanager: "Open in Alertmanager",
  every_alert: "Every alert",
  see_every_alert: "See every alert in Alertmanager",
  by_severity: "By severity",
  by_alertname: "By alertname",
  more: "more",
  sent_by: "Sent by alertagent-worker",
  omitted_count() {
    return this.count === 1
      ? "1 more alert is not listed here"
      : `${this.count} more alerts are not listed here`;
  },
  omitted_shown() {
    return `(${this.shown} ${this.shown === 1 ? "was" : "were"} sent in the parts before this one).`;
  },
  left_out: (n) =>
    `⚠️ Alertmanager left ${n} more ${n === 1 ? "alert" : "alerts"} out of this notification (max_alerts): not listed here.`,
  graph_short: "graph",
  open: "Open",
  analysis: "Analysis",
  by_rules: "built-in rules, no LLM",
  likely_cause: "Likely cause",
  evidence_unavailable: "No evidence from Prometheus",
  contradicts: "Contradicts the evidence",
  truncated: "[truncated]",
  lines_left_out: (n, max) => `… [${n} more ${n === 1 ? "line" : "lines"} not sent: max_parts is ${max}]`,
  units: { s: "s", m: "m", h: "h", d: "d", sep: " " },
};

const ZH_CN: Words = {
  lang: "zh-CN",
  firing: "告警中",
  resolved: "已恢复",
  FIRING: "告警",
  RESOLVED: "恢复",
  no_alerts: "无告警",
  no_severity: "未分级",
  labels: "标签",
  started: "开始",
  firing_for: "已持续",
  for: "持续",
  resolved_at: "恢复于",
  lasted: "共持续",
  value: "当前值",
  graph: "图表",
  runbook: "处理手册",
  silence: "静默",
  silence_all: "全部静默",
  alertmanager: "Alertmanager",
  open_in_alertmanager: "在 Alertmanager 中查看",
  every_alert: "全部告警",
  see_every_alert: "在 Alertmanager 中查看全部告警",
  by_severity: "按级别",
  by_alertname: "按告警名",
  more: "个其他",
  sent_by: "由 alertagent-worker 发送",
  omitted_count() {
    return `另有 ${this.count} 条告警未在此列出`;
  },
  omitted_shown() {
    return `（前面的部分已发送 ${this.shown} 条）。`;
  },
  left_out: (n) => `⚠️ Alertmanager 因 max_alerts 截去了另外 ${n} 条告警，此处未列出。`,
  graph_short: "图表",
  open: "查看",
  analysis: "分析",
  by_rules: "内置规则，非大模型",
  likely_cause: "可能原因",
  evidence_unavailable: "未能从 Prometheus 取得证据",
  contradicts: "与证据不符",
  truncated: "[已截断]",
  lines_left_out: (n, max) => `… [另有 ${n} 行未发送：max_parts 为 ${max}]`,
  units: { s: "秒", m: "分", h: "小时", d: "天", sep: "" },
};

export const WORDS: Record<Locale, Words> = { en: EN, "zh-CN": ZH_CN };

/** A compact duration in the locale: "1h 20m", "1小时20分". */
export function formatDurationIn(ms: number, locale: Locale): string {
  return formatDuration(ms, WORDS[locale].units);
}
