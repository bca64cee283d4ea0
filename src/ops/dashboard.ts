/**
 * /dashboard: one server-rendered HTML page (no front-end build) for an operator's phone at
 * 3 a.m. — per family counts, error rate, latency and in-flight use; recent dead letters;
 * channel deliveries; engine health; the latest analyses with their evidence; config-sync state;
 * recent autoscale decisions. It
 * refreshes itself. Pure: data in, HTML out; every value is escaped.
 */
import type { RecentAnalysis } from "../analysis/brief.ts";
import { bidiShown } from "../bidi.ts";
import { formatTime } from "../notify/time.ts";
import type { ProcessFigures } from "../telemetry/metrics.ts";
import type { FamilyStats } from "./stats.ts";

export interface DashboardData {
  /** The lists the store did not give (it did not answer): shown empty, and named on the page. */
  unread: string[];
  name: string;
  type: string;
  version: string;
  runtime: string;
  uptimeS: number;
  /** worker.timezone: every time on the page is shown in it, with the zone's name. */
  timezone: string;
  /** The process's CPU, memory and event-loop lag (the binary and Deno; Workers have none to show). */
  process?: ProcessFigures;
  scope: "process" | "store";
  concurrency: number;
  inFlight: number;
  families: Record<string, FamilyStats>;
  channels: Record<string, Record<string, number>>;
  engines: { engine: string; up: boolean | null; breaker?: string; counts: Record<string, number> }[];
  targets: {
    target: string;
    kind?: string;
    version?: number;
    verified?: boolean;
    /** False when the target has no read-back URL: "not verifiable", not a failure. */
    verifiable: boolean;
    applied_at?: string;
    last_error?: string | null;
  }[];
  deadLetters: {
    source_message_id: string;
    family: string;
    status: number;
    error: { code: string; message: string };
    recorded_at: string;
    dlq_id?: string;
  }[];
  decisions: { key: string; from: number; to: number; reason: string; at: string }[];
  /** The latest completed analyses, newest first, with their evidence. */
  analyses: RecentAnalysis[];
  refreshS: number;
  generatedAt: string;
}

/** HTML-escaped, bidirectional controls shown by their code point (src/bidi.ts). */
const esc = (v: unknown) =>
  bidiShown(String(v ?? "")).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
const ms = (v: number | null) =>
  v === null ? "–" : v < 1000 ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : `${(v / 1000).toFixed(1)} s`;
/** "10:49:34" with the full timestamp on hover: short enough for a phone. */

const pct = (v: number) => `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)}%`;
const table = (head: string[], rows: string[][], empty: string) =>
  rows.length
    ? `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
        .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
        .join("")}</tbody></table>`
    : `<p class="empty">${esc(empty)}</p>`;

export function renderDashboard(d: DashboardData): string {
  // Times in worker.timezone, with the zone's name; the exact instant in the tooltip.
  const time = (iso: string) => `<span title="${esc(iso)}">${esc(formatTime(iso, d.timezone))}</span>`;
  const families = Object.entries(d.families).filter(
    ([, s]) => s.received > 0 || s.dead_letters > 0 || s.in_flight > 0,
  );
  const familyRows = families.map(([f, s]) => [
    `<b>${esc(f)}</b>`,
    esc(s.received),
    esc(s.succeeded),
    `<span class="${s.failed ? "bad" : ""}">${esc(s.failed)}</span>`,
    esc(s.retried),
    esc(s.duplicates),
    `<span class="${s.error_rate > 0.1 ? "bad" : s.error_rate > 0 ? "warn" : "ok"}">${pct(s.error_rate)}</span>`,
    `${ms(s.latency_ms.p50)} / ${ms(s.latency_ms.p95)} / ${ms(s.latency_ms.p99)}`,
    esc(s.in_flight),
    esc(s.dead_letters),
  ]);
  const use = d.concurrency ? d.inFlight / d.concurrency : 0;
  // Every status a delivery is counted under (src/notify/stages.ts): a channel that only failed
  // for now (retry, rate_limited) must not look idle.
  const flagged: Record<string, string> = { failed: "bad", retry: "warn", rate_limited: "warn" };
  const channelRows = Object.entries(d.channels).map(([ch, c]) => [
    esc(ch),
    ...["sent", "failed", "retry", "rate_limited"].map((k) =>
      c[k] && flagged[k] ? `<span class="${flagged[k]}">${esc(c[k])}</span>` : esc(c[k] ?? 0),
    ),
    esc((c.skipped_duplicate ?? 0) + (c.skipped_obsolete ?? 0)),
    esc(c.fell_back ?? 0),
  ]);
  const engineRows = d.engines.map((e) => [
    esc(e.engine),
    e.up === null ? "–" : e.up ? '<span class="ok">up</span>' : '<span class="bad">down</span>',
    esc(e.breaker ?? "–"),
    esc(
      Object.entries(e.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "–",
    ),
  ]);
  const targetRows = d.targets.map((t) => [
    esc(t.target),
    esc(t.kind ?? ""),
    esc(t.version ?? "–"),
    t.verified === undefined
      ? "–"
      : t.verified
        ? '<span class="ok">yes</span>'
        : t.verifiable
          ? '<span class="bad">no</span>'
          : '<span class="meta">not verifiable</span>',
    t.applied_at ? time(t.applied_at) : "–",
    t.last_error ? `<span class="bad">${esc(t.last_error)}</span>` : "",
  ]);
  const deadRows = d.deadLetters.map((x) => [
    time(x.recorded_at),
    esc(x.family),
    `<code>${esc(x.source_message_id)}</code>`,
    `<b>${esc(x.error.code)}</b> ${esc(x.error.message)} <span class="meta">(HTTP ${esc(x.status)})</span>`,
  ]);
  // One card per analysis, not a table row: its text is long and a phone is narrow.
  const analysisCards = d.analyses.map(
    (a) =>
      `<div class="item"><div>${time(a.at)} · <b>${esc(a.alertname)}</b> <code>${esc(a.alert_id)}</code> · ${esc(a.engine)}${a.degraded ? ' <span class="warn">degraded</span>' : ""}</div>${[
        `<div>${esc(a.summary)}</div>`,
        a.cause ? `<div><span class="meta">likely cause:</span> ${esc(a.cause)}</div>` : "",
        ...a.evidence.map((e) => `<div>📊 ${esc(e)}</div>`),
        a.evidence_unavailable
          ? `<div class="meta">no evidence from Prometheus: ${esc(a.evidence_unavailable)}</div>`
          : "",
        ...a.conflicts.map((c) => `<div class="warn">⚠ contradicts the evidence: ${esc(c)}</div>`),
      ].join("")}</div>`,
  );
  const decisionRows = d.decisions.map((x) => [
    time(x.at),
    `<code>${esc(x.key)}</code>`,
    `${esc(x.from)} → ${esc(x.to)}`,
    esc(x.reason),
  ]);
  // Counted by the metrics (this process, or every instance), which the list below (the store) may outlive.
  const deadCount = families.reduce((a, [, s]) => a + s.dead_letters, 0);
  // A list the store did not give says so where it would stand.
  const none = (what: string, text: string) =>
    d.unread.includes(what) ? "Not shown: the store did not answer." : text;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${d.refreshS}">
<title>${esc(d.name)} · alertagent-worker</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;background:#0f1115;color:#e6e6e6}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px;color:#9ecbff}
.meta{color:#9a9a9a;font-size:12px}.cards{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.card{background:#1a1d24;border-radius:8px;padding:8px 12px;min-width:120px}.card b{display:block;font-size:20px}
.wrap{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#1a1d24;border-radius:8px}
th,td{padding:6px 8px;text-align:left;border-bottom:1px solid #262a33;white-space:nowrap}th{color:#9a9a9a;font-weight:500}
td:last-child{white-space:normal}.item{background:#1a1d24;border-radius:8px;padding:8px 12px;margin:6px 0}.ok{color:#56d364}.warn{color:#e3b341}.bad{color:#f85149}.empty{color:#777}code{font-size:12px}
</style></head><body>
<h1>${esc(d.name)} <span class="meta">${esc(d.type)} · v${esc(d.version)} · ${esc(d.runtime)}</span></h1>
<div class="meta">up ${esc(Math.round(d.uptimeS))} s · figures from ${d.scope === "store" ? "the store (all instances)" : "this process"} · ${time(d.generatedAt)} · refreshes every ${esc(d.refreshS)} s</div>
${d.unread.length ? `<p class="bad">⚠ The store did not answer: ${esc(d.unread.join(", "))} cannot be shown (see /health/ready).</p>` : ""}
<div class="cards">
<div class="card">in flight<b>${esc(d.inFlight)} / ${esc(d.concurrency)}</b><span class="${use > 0.9 ? "bad" : use > 0.7 ? "warn" : "ok"}">${pct(use)} used</span></div>
<div class="card">jobs<b>${esc(families.reduce((a, [, s]) => a + s.received, 0))}</b>received</div>
<div class="card">failed<b class="${families.some(([, s]) => s.failed) ? "bad" : ""}">${esc(families.reduce((a, [, s]) => a + s.failed, 0))}</b>permanent + transient</div>
<div class="card">dead letters<b class="${deadCount ? "bad" : ""}">${esc(deadCount)}</b>given up by QStash${d.scope === "store" ? "" : " since this process started"}</div>
${d.process ? processCards(d.process) : ""}</div>
<h2>Jobs by family</h2><div class="wrap">${table(["family", "received", "ok", "failed", "retried", "dup", "error rate", "p50 / p95 / p99", "in flight", "dead"], familyRows, "No jobs yet.")}</div>
<h2>Recent dead letters</h2><div class="wrap">${table(["at", "family", "message", "last error"], deadRows, none("dead letters", "None."))}</div>
<h2>Channels</h2><div class="wrap">${table(["channel", "sent", "failed", "to retry", "rate limited", "skipped", "fell back"], channelRows, "No notifications yet.")}</div>
<h2>Analysis engines</h2><div class="wrap">${table(["engine", "health", "breaker", "analyses"], engineRows, "No engine data yet.")}</div>
<h2>Recent analyses</h2>${analysisCards.join("\n") || `<p class="empty">${none("analyses", "No analyses yet.")}</p>`}
<h2>Config sync</h2><div class="wrap">${table(["target", "kind", "version", "verified", "applied", "last error"], targetRows, none("config-sync state", "No config-sync targets."))}</div>
<h2>Autoscale decisions</h2><div class="wrap">${table(["at", "key", "parallelism", "reason"], decisionRows, none("autoscale decisions", "No decisions yet."))}</div>
</body></html>`;
}

/** CPU, resident memory, heap and event-loop lag of this process. */
function processCards(p: ProcessFigures): string {
  const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
  return [
    `<div class="card">CPU<b>${esc(p.cpu_seconds.toFixed(1))} s</b>since start</div>`,
    `<div class="card">memory<b>${esc(mb(p.resident_bytes))}</b>resident · heap ${esc(mb(p.heap_used_bytes))}</div>`,
    `<div class="card">event-loop lag<b>${esc((p.event_loop_lag_p99_seconds * 1000).toFixed(1))} ms</b>p99</div>`,
  ].join("\n");
}
