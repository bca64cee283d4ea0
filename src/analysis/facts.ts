/**
 * Plain facts read off an alert that every engine and the prompts use: its severity as one of
 * the three result severities, how long it has fired, its value, where it comes from, and the
 * PromQL that fired it (from the generatorURL).
 */
import { type Alert, hasEnded, isTime } from "../alerts/alert.ts";
import { type DurationWords, formatDuration as formatDurationIn } from "../duration.ts";
import type { Language, Severity } from "./schema.ts";

const CRITICAL = /^(critical|crit|page|emergency|fatal|error|high|p0|p1|disaster|严重|紧急|致命)$/i;
const INFO = /^(info|informational|notice|none|low|debug|p4|p5|提示|信息)$/i;

/** The alert's severity label mapped onto critical | warning | info (warning when unknown). */
export function severityOf(alert: Alert): Severity {
  const s = (alert.labels.severity ?? alert.labels.priority ?? "").trim();
  if (CRITICAL.test(s)) return "critical";
  if (INFO.test(s)) return "info";
  return "warning";
}

/** Milliseconds the alert has fired (until endsAt when resolved), or undefined without startsAt. */
export function firingMs(alert: Alert, now: number): number | undefined {
  const start = isTime(alert.startsAt) ? Date.parse(alert.startsAt) : Number.NaN;
  if (Number.isNaN(start)) return undefined;
  const end = hasEnded(alert) ? Date.parse(alert.endsAt as string) : now;
  return Number.isNaN(end) ? undefined : Math.max(0, end - start);
}

const UNITS: Record<Language, DurationWords> = {
  en: { s: "s", m: "m", h: "h", d: "d", sep: " " },
  zh: { s: "秒", m: "分钟", h: "小时", d: "天", sep: "" },
};

/** "2h 5m", "45s", "3d 4h" — or "2小时5分钟". */
export function formatDuration(ms: number, language: Language): string {
  return formatDurationIn(ms, UNITS[language]);
}

/** The PromQL expression that fired the alert, decoded from a Prometheus generatorURL. */
export function exprOf(alert: Alert): string | undefined {
  if (!alert.generatorURL) return undefined;
  try {
    const u = new URL(alert.generatorURL);
    return u.searchParams.get("g0.expr") ?? undefined;
  } catch {
    return undefined;
  }
}

/** The host an alert is about: `instance` without its port, else node/host/hostname. */
export function hostOf(alert: Alert): string | undefined {
  const l = alert.labels;
  const inst = l.instance ?? l.node ?? l.host ?? l.hostname ?? l.nodename;
  return inst?.replace(/:\d+$/, "");
}

/** Annotation text: summary, description and message, as one string. */
export function annotationText(alert: Alert): string {
  const a = alert.annotations;
  return [a.summary, a.description, a.message].filter(Boolean).join(" — ");
}
