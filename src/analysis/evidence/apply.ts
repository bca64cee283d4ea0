/**
 * The built-in engine's answer, reread against the evidence (docs/analysis.md, "Evidence"): an
 * OOMKilled container puts the memory cause first with its limit and working set; a disk that
 * fills gets its hours in the summary and is urgent under 6 h; a lag that stopped growing, a
 * certificate's days left and the rest of what Prometheus said lead the summary. Unavailable
 * evidence changes nothing.
 */
import type { Analysis, Evidence, EvidenceItem } from "../schema.ts";

const URGENT_S = 6 * 3600;

/** CPU modes that mean the CPUs wait on something else (≥ 30% of their time), as a cause (zh, en). */
const CPU_WAITS: Record<string, [string, string]> = {
  iowait: [
    "CPU 有相当多的时间在等待磁盘 I/O：瓶颈是磁盘，不是计算",
    "The CPUs spend much of their time waiting on disk I/O: the disk is the bottleneck, not the computation",
  ],
  steal: [
    "CPU 时间被虚拟化宿主机拿走（邻居争抢）：换宿主机或升级实例规格",
    "The hypervisor takes the CPU time (a noisy neighbour): move the VM or buy a larger instance",
  ],
};

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
  if (ttf?.value === null && item("available_ratio")?.value != null)
    // The filesystem has data and its free space is not falling: that is worth saying first.
    lead.push(
      zh
        ? "按最近一小时的速度，该文件系统没有在变满。"
        : "At the last hour's rate the filesystem is not filling up.",
    );
  if (ttf && ttf.value !== null) {
    lead.push(ttf.summary);
    if (ttf.value < URGENT_S) severity = "critical";
    root_causes = [
      {
        cause: zh ? "磁盘持续写入，按当前速度很快写满" : "The disk keeps filling at its current rate",
        confidence: 0.8,
        evidence: [ttf.summary, item("fill_rate")?.summary].filter(Boolean).join(" "),
      },
      ...root_causes,
    ];
  }

  // Where the CPU time goes decides the cause: waiting on a disk or on the hypervisor is not a busy program.
  const mode = item("cpu_top_mode");
  const waits = mode?.value != null && mode.value >= 0.3 ? CPU_WAITS[mode.labels?.mode ?? ""] : undefined;
  if (mode && waits)
    root_causes = [
      { cause: zh ? waits[0] : waits[1], confidence: 0.85, evidence: mode.summary },
      ...root_causes.map((c) => ({ ...c, confidence: Math.min(c.confidence, 0.5) })),
    ];

  const kills = item("oom_kills_1h");
  if (kills?.value != null && kills.value >= 1)
    root_causes = [
      {
        cause: zh
          ? "主机内存耗尽：内核 OOM killer 正在杀进程"
          : "The host ran out of memory: the kernel OOM killer is killing processes",
        confidence: 0.9,
        evidence: ["memory_available_ratio", "memory_available_trend_1h", "oom_kills_1h"]
          .map((id) => item(id)?.summary)
          .filter(Boolean)
          .join(" "),
      },
      ...root_causes,
    ];

  for (const id of [
    "lag_trend_30m",
    "seconds_to_expiry",
    "up_1h",
    "cpu_busy",
    "cpu_top_mode",
    "cpu_throttled_ratio",
    "memory_available_ratio",
    "memory_available_trend_1h",
    "alert_expression",
  ]) {
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

/**
 * Where an engine's answer contradicts the evidence: the top cause ignores an OOMKilled
 * termination, the severity is below critical for a disk full within hours, or a cause has the lag
 * still growing when it stopped. An LLM may be wrong in ways the numbers show; this says so.
 */
export function conflictsOf(a: Analysis, evidence: Evidence | undefined, zh: boolean): string[] {
  if (evidence?.status !== "ok") return [];
  const item = (id: string) => evidence.items.find((i) => i.id === id);
  const out: string[] = [];
  const top = a.root_causes[0]?.cause ?? "";
  if (item("last_terminated_reason")?.labels?.reason === "OOMKilled" && !/memory|oom|内存/i.test(top))
    out.push(
      zh
        ? "首要原因没有提到内存，但容器上次是被 OOMKilled 终止的。"
        : "The top cause does not mention memory, but the container was last OOMKilled.",
    );
  const ttf = item("time_to_full")?.value;
  if (ttf !== null && ttf !== undefined && ttf < URGENT_S && a.severity !== "critical")
    out.push(
      zh
        ? `严重程度为 ${a.severity}，但按当前速度磁盘约 ${Math.round(ttf / 360) / 10} 小时后写满。`
        : `Rated ${a.severity}, but the disk is full in about ${Math.round(ttf / 360) / 10} h at its current rate.`,
    );
  const recent = item("lag_trend_30m")?.value;
  if (
    recent !== null &&
    recent !== undefined &&
    Math.abs(recent) < 60 &&
    a.root_causes.some((c) => /grow|increas|持续增长|不断增加/i.test(c.cause))
  )
    out.push(
      zh
        ? "有原因说延迟仍在增长，但最近 30 分钟延迟已不再增长。"
        : "A cause has the lag still growing, but it stopped growing over the last 30 minutes.",
    );
  return out;
}
