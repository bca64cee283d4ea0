/**
 * The built-in engine: no network, deterministic, always available. A catalogued alert (by name,
 * or by keyword in its name, expression or annotations) gets that entry's causes — made more
 * likely when the alert's own text hints at them — and its checks and fixes with the alert's
 * labels filled in. Any other alert gets an analysis built from its labels, annotations,
 * severity, duration and value (generic.ts). English and Chinese.
 */
import type { Alert } from "../alerts/alert.ts";
import type { Services } from "../services.ts";
import { CATALOGUE_NAMES, findEntry, MATCHED_CHARS } from "./catalogue/index.ts";
import type { Entry } from "./catalogue/types.ts";
import type { Engine, LlmType } from "./engine.ts";
import { withEvidence } from "./evidence/apply.ts";
import { annotationText, firingMs, formatDuration, hostOf, severityOf } from "./facts.ts";
import { fill, fillCommand } from "./fill.ts";
import { genericAnalysis, situation } from "./generic.ts";
import type { Analysis, Evidence, Language, SimilarMatch } from "./schema.ts";

export interface BuiltinInput {
  alert: Alert;
  type: LlmType;
  language: Language;
  similar: SimilarMatch[];
  /** What Prometheus said about the alert: the answer is reread against it (evidence/apply.ts). */
  evidence?: Evidence;
}

export function builtinEngine(deps: Services): Engine {
  return {
    id: "builtin",
    nameFor: () => "builtin",
    async analyse(req) {
      return {
        output: builtinAnalysis(req, deps.now()),
        allowText: false,
        tokens: { prompt: 0, completion: 0 },
      };
    },
    async ready() {
      return { ok: true, detail: `${CATALOGUE_NAMES.length} alert names catalogued`, ms: 0 };
    },
  };
}

export function builtinAnalysis(input: BuiltinInput, now: number): Analysis {
  const found = findEntry(input.alert);
  const analysis = found
    ? fromEntry(found.entry, input, now)
    : genericAnalysis(input.alert, input.language, now, vars(input.alert, now, input.language));
  return shape(
    withEvidence(withPastResolution(analysis, input), input.evidence, input.language === "zh"),
    input.type,
  );
}

/** Label values plus what can be derived: host, the deployment behind a pod, value and duration. */
export function vars(alert: Alert, now: number, language: Language): Record<string, string> {
  const v: Record<string, string> = { ...alert.labels };
  const host = hostOf(alert);
  if (host) v.host = host;
  if (!v.deployment && v.pod) {
    const m = /^(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$/.exec(v.pod);
    if (m) v.deployment = m[1];
  }
  if (alert.value !== undefined) v.value = String(alert.value);
  const ms = firingMs(alert, now);
  if (ms !== undefined) v.for = formatDuration(ms, language);
  return v;
}

function fromEntry(entry: Entry, input: BuiltinInput, now: number): Analysis {
  const { alert, language } = input;
  const v = vars(alert, now, language);
  // Bounded as the keywords are (catalogue/index.ts MATCHED_CHARS): the hints backtrack too.
  // Not its name: a hint that matches the alert's own name says nothing of this alert.
  const labels = Object.entries(alert.labels).flatMap(([k, x]) => (k === "alertname" ? [] : [x]));
  const text = `${labels.join(" ").slice(0, MATCHED_CHARS)} ${annotationText(alert).slice(0, MATCHED_CHARS)}`;
  const causes = entry.causes
    .map((c, i) => {
      const hinted = c.hint ? c.hint.exec(text) : null;
      const word = hinted ? wordAt(text, hinted.index, hinted[0].length) : "";
      const note = hinted
        ? language === "zh"
          ? `告警内容提到“${word}”。`
          : `The alert mentions "${word}". `
        : "";
      return {
        i,
        cause: c.text[language],
        confidence: Math.min(0.95, round(c.confidence + (hinted ? 0.25 : 0))),
        evidence: `${note}${language === "zh" ? "验证：" : "Check: "}${fillCommand(c.check, v)}`,
      };
    })
    .sort((a, b) => b.confidence - a.confidence || a.i - b.i)
    .map(({ i: _, ...c }) => c);
  const steps = entry.steps.map((s) => ({
    step: s.text[language],
    command: fillCommand(s.command, v),
    risk: s.risk,
  }));
  const runbook = alert.annotations.runbook_url;
  if (runbook)
    steps.unshift({
      step: language === "zh" ? `按运行手册处理：${runbook}` : `Follow the runbook: ${runbook}`,
      command: "",
      risk: "low",
    });
  const head = fill(entry.summary[language], v);
  return {
    summary: `${head}${language === "zh" ? "。" : ". "}${situation(alert, language, now)}`,
    severity: severityOf(alert),
    root_causes: causes,
    remediation: steps,
  };
}

/** A close past alert's resolution is the best hint there is: say it in the summary. */
function withPastResolution(a: Analysis, input: BuiltinInput): Analysis {
  const best = input.similar.find((s) => s.resolution && s.score >= 0.5);
  if (!best) return a;
  const note =
    input.language === "zh"
      ? ` 相似的历史告警 ${best.alert_id}（相似度 ${best.score.toFixed(2)}）的处理方式：${best.resolution}`
      : ` A similar past alert (${best.alert_id}, similarity ${best.score.toFixed(2)}) was resolved by: ${best.resolution}`;
  return { ...a, summary: `${a.summary}${note}` };
}

/** quick: the two likeliest causes and three steps; root_cause: every cause, the checks and the first fix. */
function shape(a: Analysis, type: LlmType): Analysis {
  if (type === "quick")
    return { ...a, root_causes: a.root_causes.slice(0, 2), remediation: a.remediation.slice(0, 3) };
  if (type === "root_cause") {
    const firstFix = a.remediation.find((s) => s.risk !== "low");
    const checks = a.remediation.filter((s) => s.risk === "low");
    return { ...a, remediation: firstFix ? [...checks, firstFix] : checks };
  }
  return a;
}

/** The whole word around a match ("OOMKilled" for a match of "OOM"). */
function wordAt(text: string, start: number, length: number): string {
  let a = start;
  let b = start + length;
  while (a > 0 && /[\w-]/.test(text[a - 1])) a--;
  while (b < text.length && /[\w-]/.test(text[b])) b++;
  return text.slice(a, b);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
