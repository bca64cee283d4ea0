/**
 * The built-in engine's answer, reread against the evidence (docs/analysis.md, "Evidence"): an
 * OOMKilled container puts the memory cause first with its limit and working set; a disk that
 * fills gets its hours in the summary and is urgent under 6 h; a lag that stopped growing, a
 * certificate's days left and the rest of what Prometheus said lead the summary. Unavailable
 * evidence changes nothing.
 */
import type { Analysis, Evidence, EvidenceItem } from "../schema.ts";

const URGENT_S = 6 * 3600;

export function withEvidence(a: Analysis, evidence: Evidence | undefined, zh: boolean): Analysis {
  if (evidence?.status !== "ok" || evidence.items.length === 0) return a;
  const item = (id: string): EvidenceItem | undefined => evidence.items.find((i) => i.id === id);
  let { summary, severity, root_causes, remediation } = a;
  const lead: string[] = [];

  const reason = item("last_terminated_reason");
  if (reason?.labels?.reason === "OOMKilled") {
    const said = ["last_terminated_reason", "memory_vs_limit", "memory_limit", "restarts_1h"]
      .map((id) => item(id)?.summary)
      .filter(Boolean)
      .join(" ");
    root_causes = [
      {
        cause: zh
          ? "容器超出内存上限被杀（OOMKilled）：内存上限太低，或应用内存泄漏"
          : "The container is killed for going over its memory limit (OOMKilled): the limit is too low or the app leaks memory",
        confidence: 0.9,
        evidence: said,
      },
      ...root_causes.map((c) => ({ ...c, confidence: Math.min(c.confidence, 0.5) })),
    ];
    remediation = [
      {
        step: zh
          ? "对比内存峰值与上限：是负载增长就提高 resources.limits.memory，是泄漏就找出增长的对象"
          : "Compare the memory peak with the limit: raise resources.limits.memory if the load grew, find the leak if it did not",
        command: "",
        risk: "medium",
      },
      ...remediation,
    ];
    lead.push(reason.summary);
  }

  const ttf = item("time_to_full");
  if (ttf) {
    lead.push(ttf.summary);
    if (ttf.value !== null && ttf.value < URGENT_S) severity = "critical";
    if (ttf.value !== null) {
      root_causes = [
        {
          cause: zh ? "磁盘持续写入，按当前速度很快写满" : "The disk keeps filling at its current rate",
          confidence: 0.8,
          evidence: [ttf.summary, item("fill_rate")?.summary].filter(Boolean).join(" "),
        },
        ...root_causes,
      ];
    }
  }

  for (const id of ["lag_trend_30m", "seconds_to_expiry", "up_1h", "alert_expression"]) {
    const it = item(id);
    if (it) lead.push(it.summary);
  }
  if (lead.length) summary = `${lead.join(" ")} ${summary}`;
  return { summary, severity, root_causes, remediation };
}

/** The evidence as prompt lines for an LLM: what each query gave, so it reasons on numbers. */
export function evidenceLines(evidence: Evidence | undefined): string[] {
  if (!evidence) return [];
  if (evidence.status !== "ok") return [`evidence: unavailable (${evidence.reason ?? "no answer"})`];
  return evidence.items.map(
    (i) =>
      `evidence ${i.id}: ${i.value === null ? "no data" : `${i.value} ${i.unit}`}${i.labels?.reason ? ` (${i.labels.reason})` : ""} — ${i.summary}`,
  );
}
