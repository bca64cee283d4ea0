/**
 * An analysis job, end to end (docs/analysis.md): every alert of the job goes pending, then one by one
 * processing → completed (or back to pending after a transient failure, failed after a permanent
 * one). For each: similar past alerts are found first (they are context for the engines), the
 * engine chain answers (or, for `similar`, the matches are the answer), the result is validated,
 * stored under the alert id and the alert is indexed for later searches. A redelivered message
 * does not analyse again the alerts it already completed (ledger steps).
 */
import { type Alert, alertId, alertsOf, labelsFingerprint } from "../alerts/alert.ts";
import { JobError, permanent, transient } from "../errors.ts";
import { isoAt } from "../iso-time.ts";
import { type Batch, readThrough } from "../store/ledger.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { AnalysisServices } from "./analyst.ts";
import { recentWrite } from "./brief.ts";
import { type InJob, runChain } from "./chain.ts";
import { conflictsOf } from "./evidence/apply.ts";
import { collectEvidence } from "./evidence/collect.ts";
import { exprOf } from "./facts.ts";
import { type AnalysisJob, analysisJobSchema, asAnalysisJob } from "./job.ts";
import { type AnalysisResult, type Attempt, type Language, resultSchema } from "./schema.ts";
import { alertTokens } from "./similar/features.ts";
import { docOf, embedAlert, resolutionOf, similarAnalysis } from "./similarity.ts";
import { type AnalysisRecord, alertStep, analysisKey, analysisRecord, analysisWrite } from "./status.ts";

export interface JobScope {
  messageId: string;
  logger: Logger;
  /** What the job's claim read (steps, records), and the writes made with its answer. */
  batch: Batch;
}

/** The keys an analysis job reads, read with its claim: each analysed alert's step and analysis record. */
export function analysisPrefetch(job: AnalysisJob, cap: number, stepKey: (step: string) => string): string[] {
  return alertsOfJob(job, cap).alerts.flatMap((a) => [stepKey(stepName(a.id)), analysisKey(a.id)]);
}

/**
 * The ids a job body's alerts are analysed under, as its handler reads it (a raw Alertmanager
 * payload too, with the URL's query); none when it is not an analysis job. For a dead job's
 * marks: only the alerts the job analyses (`cap`, ai.job_alerts), not the ones it leaves out.
 */
export function alertIdsOfBody(body: unknown, query: Record<string, string>, cap: number): string[] {
  const job = analysisJobSchema.safeParse(asAnalysisJob(body, query));
  return job.success ? alertsOfJob(job.data, cap).alerts.map((a) => a.id) : [];
}

/**
 * A job's alerts, each with the id the analysis stores it under: at most `cap` of them (ai.job_alerts,
 * docs/analysis.md "Many alerts"), the firing ones first, kept in payload order; `total` counts all.
 */
function alertsOfJob(job: AnalysisJob, cap: number): { alerts: (Alert & { id: string })[]; total: number } {
  const all = job.alert
    ? [{ ...job.alert, id: alertId(job.alert) }]
    : alertsOf(job.payload as NonNullable<AnalysisJob["payload"]>).map((a) => ({ ...a, id: a.id as string }));
  if (all.length <= cap) return { alerts: all, total: all.length };
  const firing = all.filter((a) => a.status !== "resolved");
  const chosen = new Set([...firing, ...all.filter((a) => a.status === "resolved")].slice(0, cap));
  return { alerts: all.filter((a) => chosen.has(a)), total: all.length };
}

export type JobAnswer =
  | AnalysisResult
  | { group_key: string; status: string; results: AnalysisResult[]; left_out?: number };

export async function analyseJob(
  deps: AnalysisServices,
  job: AnalysisJob,
  scope: JobScope,
): Promise<JobAnswer> {
  // ai.language, else the team's worker.locale (zh-CN teams read analyses in Chinese).
  const language =
    job.language ?? deps.config.ai.language ?? (deps.config.worker.locale === "zh-CN" ? "zh" : "en");
  const { alerts, total } = alertsOfJob(job, deps.config.ai.job_alerts);
  const at = () => isoAt(deps.now());
  const retentionMs = deps.config.store.retention;

  // A redelivery skips what an earlier delivery of this message completed.
  const [done, prev] = await Promise.all([
    Promise.all(alerts.map((a) => deps.ledger.getStep(scope.messageId, stepName(a.id), scope.batch))),
    Promise.all(alerts.map((a) => readThrough<AnalysisRecord>(deps.store, analysisKey(a.id), scope.batch))),
  ]);
  // A firing alert analysed moments ago by another message (a reminder, an HA peer's copy, a
  // group that grew) is answered with that analysis: the engines are not paid for it again.
  const reused = alerts.map((a, i) =>
    done[i]?.status === "succeeded" ? undefined : reusable(prev[i], a, job, language, deps),
  );
  const open = alerts.flatMap((a, i) => (done[i]?.status === "succeeded" || reused[i] ? [] : [{ a, i }]));
  const pending = open.map(({ a, i }) =>
    analysisRecord(prev[i], a.id, "pending", {
      at: at(),
      type: job.type,
      messageId: scope.messageId,
    }),
  );
  // Alerts that wait for others are shown pending; one alert goes straight to processing.
  if (open.length > 1) await deps.store.writeMany(pending.map((r) => analysisWrite(r, retentionMs)));

  const results: AnalysisResult[] = [];
  const failed: { alert_id: string; error: JobError }[] = [];
  // An engine that failed for now on one alert is skipped for the job's others, and past
  // ai.job_budget the built-in engine answers the rest at once, so the job is answered before its
  // connection or QStash gives up (chain.ts).
  const inJob: InJob = { failed: new Map(), until: deps.now() + deps.config.ai.job_budget, answered: 0 };
  for (const [i, a] of alerts.entries()) {
    const prior = done[i];
    if (prior?.status === "succeeded") {
      results.push(prior.data as AnalysisResult);
      continue;
    }
    const again = reused[i];
    if (again) {
      results.push(again);
      deps.metrics.inc("analysis", { engine: again.engine, outcome: "reused" });
      scope.batch.defer(
        deps.ledger.stepWrite(scope.messageId, stepName(a.id), {
          status: "succeeded",
          at: at(),
          attempts: 1,
          data: again,
        }),
      );
      continue;
    }
    try {
      const k = open.findIndex((o) => o.i === i);
      results.push(
        await analyseAlert(deps, a, job, language, scope, pending[k], k === open.length - 1, inJob),
      );
      inJob.answered++;
    } catch (e) {
      if (!(e instanceof JobError) || alerts.length === 1) throw e;
      failed.push({ alert_id: a.id, error: e });
    }
  }
  if (failed.length) {
    const what = failed.map((f) => `${f.alert_id}: ${f.error.message}`).join("; ");
    const details = { failed: failed.map((f) => ({ alert_id: f.alert_id, code: f.error.code })) };
    // Any transient failure: QStash redelivers and only the unfinished alerts are analysed again.
    if (failed.some((f) => f.error.retryable)) {
      const waits = failed.flatMap((f) => f.error.retryAfterS ?? []);
      const wait = waits.length ? Math.min(...waits) : undefined;
      throw transient("engines_unavailable", `some alerts could not be analysed yet: ${what}`, wait, details);
    }
    throw permanent("analysis_failed", `some alerts could not be analysed: ${what}`, details);
  }
  if (job.alert) return results[0];
  const payload = job.payload as NonNullable<AnalysisJob["payload"]>;
  const leftOut = total - alerts.length;
  return {
    group_key: payload.groupKey,
    status: payload.status,
    results,
    ...(leftOut ? { left_out: leftOut } : {}),
  };
}

async function analyseAlert(
  deps: AnalysisServices,
  alert: Alert & { id: string },
  job: AnalysisJob,
  language: Language,
  scope: JobScope,
  pending: AnalysisRecord,
  last: boolean,
  inJob: InJob,
): Promise<AnalysisResult> {
  const started = deps.now();
  const at = () => isoAt(deps.now());
  const retentionMs = deps.config.store.retention;
  const log = scope.logger.child({ alert_id: alert.id, type: job.type });
  const processing = analysisRecord(pending, alert.id, "processing", { at: at() });
  try {
    const { top_k, min_score } = deps.config.ai.similar;
    const { index, breakers: br } = deps.analyst;
    // Evidence is asked of Prometheus while the similar alerts are looked up (ai.evidence).
    const ev = deps.config.ai.evidence;
    const asking = ev
      ? (exprOf(alert)
          ? Promise.resolve(undefined)
          : deps.analyst.ruleExpr(alert.labels.alertname ?? "").catch(() => undefined)
        ).then((ruleExpr) => collectEvidence(deps.fetch, ev, alert, language, deps.now(), ruleExpr))
      : undefined;
    const vector = await embedAlert(deps, br, alert, log);
    // The status write and the search go out together: one round trip for both.
    const [, { matches: similar, own }, evidence] = await Promise.all([
      deps.store.writeMany([analysisWrite(processing, retentionMs)]),
      index.searchWith(
        { id: alert.id, labels: alert.labels, tokens: alertTokens(alert), vector },
        { k: top_k, minScore: min_score },
      ),
      asking,
    ]);
    if (evidence?.status === "unavailable") log.warn("evidence unavailable", { reason: evidence.reason });
    const base = {
      alert_id: alert.id,
      type: job.type,
      status: "completed" as const,
      similar,
      ...(evidence ? { evidence } : {}),
    };
    let result: AnalysisResult;
    if (job.type === "similar") {
      const analysis = similarAnalysis(alert, similar, language, min_score);
      deps.metrics.inc("analysis", { engine: "builtin", outcome: "succeeded" });
      result = {
        ...base,
        engine: "builtin",
        degraded: false,
        ...analysis,
        attempts: [{ engine: "builtin", ok: true, ms: deps.now() - started }],
        latency_ms: deps.now() - started,
        tokens: { prompt: 0, completion: 0 },
      };
    } else {
      const req = { alert, alertId: alert.id, type: job.type, language, similar, evidence };
      const out = await runChain(deps, req, job.engine, log, inJob);
      // An LLM's answer is checked against the evidence (the built-in engine answers from it).
      const conflicts =
        out.engine === "builtin" ? [] : conflictsOf(out.analysis, evidence, language === "zh");
      if (conflicts.length)
        log.warn("the answer contradicts the evidence", { engine: out.engine, conflicts });
      result = {
        ...base,
        ...(evidence && conflicts.length ? { evidence: { ...evidence, conflicts } } : {}),
        engine: out.engine,
        degraded: out.degraded,
        ...(out.degraded ? { note: degradedNote(out.attempts, out.engine, language) } : {}),
        ...out.analysis,
        attempts: out.attempts,
        latency_ms: deps.now() - started,
        tokens: out.tokens,
      };
    }
    result = resultSchema.parse(result);
    // `similar` writes no summary of its own: keep what an earlier analysis said about the alert.
    const summary =
      job.type === "similar"
        ? ((processing.result as AnalysisResult | undefined)?.summary ??
          alert.annotations.summary ??
          result.summary)
        : result.summary;
    // The result and the index are written with the job's answer (its batch) — at once while
    // later alerts of the job remain, which may find this one similar.
    const doc = docOf(alert, summary, resolutionOf(alert, language, deps.now()), deps.now());
    const done = at();
    // With the alert's step: a retry that finds the result also finds it done, and neither asks
    // the engine again nor pushes it on the recent list twice.
    const writes = [
      analysisWrite(
        analysisRecord(processing, alert.id, "completed", {
          at: done,
          result,
          language,
          episode: episodeOf(alert),
        }),
        retentionMs,
      ),
      recentWrite(result, alert.labels.alertname ?? "", done, retentionMs),
      ...index.addWrites(doc, vector, own),
      deps.ledger.stepWrite(scope.messageId, stepName(alert.id), {
        status: "succeeded",
        at: done,
        attempts: 1,
        data: result,
      }),
    ];
    if (last) scope.batch.defer(...writes);
    else await deps.store.writeMany(writes);
    // Upkeep, not the job's work: its answer does not wait for it where the runtime lets work go on
    // after the answer (a prune can be hundreds of writes), and a failed prune is tried again later.
    const pruning = index
      .pruneIfDue()
      .catch((e) =>
        log.warn("could not prune the similar-alert index; a later analysis tries again", { error: e }),
      );
    if (deps.background) deps.background(pruning);
    else await pruning;
    return result;
  } catch (e) {
    const je = e instanceof JobError ? e : undefined;
    const error = je
      ? { code: je.code, message: je.message }
      : { code: "internal_error", message: "unexpected error in the worker (see its log)" };
    const rec = analysisRecord(processing, alert.id, je && !je.retryable ? "failed" : "pending", {
      at: at(),
      error,
    });
    await deps.store
      .writeMany([analysisWrite(rec, retentionMs)])
      .catch((se) => log.warn("could not record the analysis status", { error: se }));
    throw e;
  }
}

const stepName = alertStep;

/** An alert's firing episode: its labels and startsAt (a reused id with other labels is another alert). */
const episodeOf = (a: Alert): string | undefined =>
  a.startsAt ? `${labelsFingerprint(a.labels)}@${a.startsAt}` : undefined;

/**
 * The analysis `prev` holds, when it answers this job too: completed (not degraded, not
 * `similar`) by the engine this job would ask first — the one it names, else the first of
 * ai.order — for the same type and language, about this firing episode of the alert, less than
 * ai.reuse_for ago; marked `reused_from`.
 */
function reusable(
  prev: AnalysisRecord | null,
  alert: Alert,
  job: AnalysisJob,
  language: Language,
  deps: AnalysisServices,
): AnalysisResult | undefined {
  const r = prev?.result as AnalysisResult | undefined;
  const at = prev?.completed_at ? Date.parse(prev.completed_at) : Number.NaN;
  const episode = episodeOf(alert);
  const first = job.engine === "auto" ? deps.config.ai.order[0] : job.engine;
  if (
    !prev ||
    !r ||
    prev.status !== "completed" ||
    job.type === "similar" ||
    alert.status === "resolved" ||
    r.type !== job.type ||
    r.degraded ||
    prev.language !== language ||
    !r.engine.startsWith(first) ||
    !episode ||
    prev.episode !== episode ||
    !(deps.now() - at < deps.config.ai.reuse_for)
  )
    return undefined;
  // No engine asked, nothing spent: the original run's attempts and tokens stay on its own record.
  return {
    ...r,
    attempts: [],
    tokens: { prompt: 0, completion: 0 },
    latency_ms: 0,
    reused_from: prev.message_id ?? "",
  };
}

/**
 * Said plainly at 3 a.m., in the job's language: which engines did not answer before the one that
 * did, and which were not asked (a circuit open, the time spent) — their errors stay in `attempts`,
 * in English, for whoever debugs them.
 */
function degradedNote(attempts: Attempt[], engine: string, language: Language): string {
  const names = (asked: boolean) => [
    ...new Set(attempts.filter((a) => !a.ok && !a.not_asked === asked).map((a) => a.engine)),
  ];
  const failed = names(true);
  const notAsked = names(false).filter((e) => !failed.includes(e));
  const w = NOTE_WORDS[language];
  const said = [
    ...(failed.length ? [`${failed.join(w.and)} ${w.failed}`] : []),
    ...(notAsked.length ? [`${notAsked.join(w.and)} ${w.notAsked}`] : []),
  ];
  return `${said.join(w.sep)}${w.sep}${engine === "builtin" ? w.builtin : w.answered(engine)}${w.end}`;
}

/** The degraded note's words in each language. */
const NOTE_WORDS = {
  en: {
    and: ", ",
    sep: "; ",
    end: ".",
    failed: "did not answer",
    notAsked: "not asked (circuit open, time budget spent, or failing for this job's earlier alerts)",
    builtin: "this is the built-in rule-based analysis (no AI)",
    answered: (engine: string) => `${engine} answered instead`,
  },
  zh: {
    and: "、",
    sep: "；",
    end: "。",
    failed: "未能应答",
    notAsked: "未调用（熔断中、时间预算已用完或本任务中此前已失败）",
    builtin: "以下为内置规则引擎的分析（不经 AI）",
    answered: (engine: string) => `以下由 ${engine} 回答`,
  },
} satisfies Record<Language, unknown>;
