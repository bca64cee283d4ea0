/**
 * The built-in engine's answer for an alert the catalogue does not know: built from what the
 * alert itself says — where it fires (labels), what it claims (annotations), how bad (severity,
 * value) and for how long — with checks that apply to any Prometheus alert.
 */
import { type Alert, isTime } from "../alerts/alert.ts";
import { annotationText, exprOf, firingMs, formatDuration, severityOf } from "./facts.ts";
import { fillCommand } from "./fill.ts";
import type { Analysis, Language } from "./schema.ts";

const DAY = 86_400_000;

/** Where the alert fires: namespace/pod (container), else instance, else job or service. */
export function whereOf(alert: Alert): string | undefined {
  const l = alert.labels;
  if (l.namespace && l.pod) return `${l.namespace}/${l.pod}${l.container ? ` (${l.container})` : ""}`;
  return l.instance ?? l.host ?? l.node ?? l.service ?? l.job ?? l.namespace;
}

/** One or two sentences: how long, where, how bad, and what the alert says. */
export function situation(alert: Alert, language: Language, now: number): string {
  const ms = firingMs(alert, now);
  const where = whereOf(alert);
  const sev = alert.labels.severity ?? severityOf(alert);
  const value = alert.value !== undefined ? `, ${language === "zh" ? "值" : "value"} ${alert.value}` : "";
  const said = annotationText(alert);
  if (language === "zh") {
    const dur =
      ms === undefined
        ? ""
        : alert.status === "resolved"
          ? `分析时已恢复，持续了${formatDuration(ms, "zh")}`
          : `分析时已持续${formatDuration(ms, "zh")}`;
    const head = [dur, where ? `位于 ${where}` : ""].filter(Boolean).join("，");
    return `${head}（级别 ${sev}${value}）。${said ? `告警描述：“${said}”` : ""}`;
  }
  const dur =
    ms === undefined
      ? alert.status === "resolved"
        ? "Resolved"
        : "Firing"
      : alert.status === "resolved"
        ? `When analysed, resolved after ${formatDuration(ms, "en")}`
        : `When analysed, firing for ${formatDuration(ms, "en")}`;
  return `${dur}${where ? ` on ${where}` : ""} (severity ${sev}${value}).${said ? ` The alert says: "${said}"${/[.!?。！？]$/.test(said) ? "" : "."}` : ""}`;
}

export function genericAnalysis(
  alert: Alert,
  language: Language,
  now: number,
  v: Record<string, string>,
): Analysis {
  const zh = language === "zh";
  const name = alert.labels.alertname;
  const where = whereOf(alert) ?? (zh ? "该目标" : "the target");
  const expr = exprOf(alert);
  const ms = firingMs(alert, now);
  // Labels reach commands and queries only through fillCommand (fill.ts): the sender controls them.
  // startsAt as ISO: the schema takes what Date.parse reads, which ignores "(…)" in it.
  const started = isTime(alert.startsAt) ? new Date(Date.parse(alert.startsAt)).toISOString() : undefined;
  const at = { ...v, alertname: name, starts_at: started ?? "-1h" };
  const cmd = (template: string) => fillCommand(template, at);
  const query = expr ?? cmd('ALERTS{alertname="{{alertname}}"}');
  const selector = alert.labels.instance
    ? 'instance="{{instance}}"'
    : alert.labels.job
      ? 'job="{{job}}"'
      : "";

  const causes: Analysis["root_causes"] = [
    {
      cause: zh
        ? `规则监控的条件确实在 ${where} 上发生`
        : `The condition the rule watches is really happening on ${where}`,
      confidence: 0.45,
      evidence: zh
        ? `在 Prometheus 中执行规则表达式：${query}`
        : `Run the rule's expression in Prometheus: ${query}`,
    },
    {
      cause: zh
        ? `${alert.labels.namespace ?? alert.labels.job ?? where} 近期有变更（发布、配置、流量）`
        : `A recent change to ${alert.labels.namespace ?? alert.labels.job ?? where} (a deploy, a config change, a traffic shift)`,
      confidence: 0.3,
      evidence: zh
        ? `对照 ${started ?? "告警开始"} 前后的变更记录`
        : `Compare with the change log around ${started ?? "the time it started"}`,
    },
  ];
  if (ms !== undefined && ms > DAY && alert.status === "firing")
    causes.push({
      cause: zh
        ? `阈值不适合该目标：告警已持续 ${formatDuration(ms, "zh")} 仍未处理`
        : `The threshold does not fit this target: it has fired for ${formatDuration(ms, "en")} without being fixed`,
      confidence: 0.25,
      evidence: cmd('changes(ALERTS{alertname="{{alertname}}"}[7d])'),
    });
  if (ms !== undefined && ms < 10 * 60_000 && alert.status === "resolved")
    causes.push({
      cause: zh ? "短暂尖峰或状态抖动" : "A short spike or a flapping condition",
      confidence: 0.3,
      evidence: cmd('changes(ALERTS{alertname="{{alertname}}"}[1d])'),
    });

  const steps: Analysis["remediation"] = [];
  if (alert.annotations.runbook_url)
    steps.push({
      step: zh
        ? `按运行手册处理：${alert.annotations.runbook_url}`
        : `Follow the runbook: ${alert.annotations.runbook_url}`,
      command: "",
      risk: "low",
    });
  steps.push({
    step: zh ? "重新执行告警表达式，确认当前值" : "Re-run the alert's expression to see the current value",
    command: query,
    risk: "low",
  });
  if (selector)
    steps.push({
      step: zh ? "确认目标仍被正常抓取" : "Check the target is still scraped",
      command: cmd(`up{${selector}}`),
      risk: "low",
    });
  if (alert.labels.namespace && alert.labels.pod)
    steps.push({
      step: zh ? "查看 Pod 事件与日志" : "Look at the pod's events and logs",
      command: cmd(
        "kubectl -n {{namespace}} describe pod {{pod}} && kubectl -n {{namespace}} logs {{pod}} --tail=100",
      ),
      risk: "low",
    });
  else if (v.host)
    steps.push({
      step: zh ? "查看主机在告警开始后的警告日志" : "Read the host's warnings since the alert started",
      command: cmd(`ssh {{host}} 'journalctl --since "{{starts_at}}" -p warning --no-pager | tail -50'`),
      risk: "low",
    });
  if (ms !== undefined && ms > DAY && alert.status === "firing")
    steps.push({
      step: zh
        ? "修复前先静默，避免持续打扰，并调整规则阈值"
        : "Silence it while the rule's threshold is reviewed",
      command: cmd(
        `amtool silence add alertname="{{alertname}}"${alert.labels.instance ? ' instance="{{instance}}"' : ""} --duration=2h --comment="threshold review"`,
      ),
      risk: "medium",
    });

  const summary = zh
    ? `告警 ${name}：${situation(alert, language, now)} 内置知识库中没有该告警的专门规则，以下分析基于其标签与注释。`
    : `${name}: ${situation(alert, language, now)} No built-in pattern matches this alert; the analysis comes from its labels and annotations.`;
  return { summary, severity: severityOf(alert), root_causes: causes, remediation: steps };
}
