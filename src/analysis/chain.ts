/**
 * The fallback chain (`ai.order`, or the one engine a job names): each engine configured for the
 * analysis type is tried in turn under its own timeout, skipped while its circuit breaker is
 * open, and its answer validated (one repair allowed). The first valid answer wins; `degraded`
 * says a later engine gave it. When all fail: 503 if every failure was transient (QStash retries
 * later), otherwise 489 — nothing would change on a retry.
 */

import { JobError, permanent, transient } from "../errors.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { AnalysisServices } from "./analyst.ts";
import type { Admission } from "./breaker.ts";
import { type Engine, type EngineId, type EngineRequest, engineFailed, timeoutOf } from "./engine.ts";
import { severityOf } from "./facts.ts";
import { normalizeAnalysis } from "./normalize.ts";
import type { Analysis, Attempt, EngineName, Language, Tokens } from "./schema.ts";

export interface ChainOutcome {
  analysis: Analysis;
  engine: EngineName;
  degraded: boolean;
  attempts: Attempt[];
  /** Tokens spent by every attempt, failed ones included. */
  tokens: Tokens;
}

export type EngineChoice = "auto" | EngineId;

/** What one job's alerts share in the chain (analyse.ts): engines failed for now, and ai.job_budget's end. */
export interface InJob {
  failed: Map<EngineId, string>;
  /** When ai.job_budget runs out (ms on deps.now's clock). */
  until: number;
  /** Alerts this delivery has answered so far. */
  answered: number;
}

/**
 * Below this share of its own timeout, an engine cut by a budget was not given its chance, and its
 * silence is not held against it (its breaker, engine_up). Above, it was: a hung Ollama behind a
 * Dify that failed in 2 ms counts as down (docs/analysis.md, "Time"). Cut after this share of what
 * ai.budget could give it, the job's later alerts skip it.
 */
const CUT_SHORT = 0.9;

/**
 * @param inJob what the job's alerts share: engines that failed for now on an earlier alert, and
 * why — skipped for this one (a payload of many alerts must not wait out a hung engine once per
 * alert) — and when ai.job_budget runs out (the LLMs' budget never outlasts it).
 */
export async function runChain(
  deps: AnalysisServices,
  req: EngineRequest,
  choice: EngineChoice,
  log: Logger,
  inJob: InJob = { failed: new Map(), until: Number.POSITIVE_INFINITY, answered: 0 },
): Promise<ChainOutcome> {
  const all = deps.analyst.engines;
  const order = choice === "auto" ? deps.config.ai.order : [choice];
  const chain = order.map((id) => all[id]).filter((e) => e.nameFor(req.type));
  if (chain.length === 0)
    throw permanent(
      "engine_not_configured",
      choice === "auto"
        ? `no engine in ai.order (${order.join(", ")}) is configured for ${req.type} analyses`
        : `the ${choice} engine is not configured for ${req.type} analyses`,
    );
  const br = deps.analyst.breakers;
  const guarded = chain.filter((e) => e.id !== "builtin").map((e) => e.id);
  const maxTimeout = Math.max(...chain.map((e) => timeoutOf(deps, e.id)));
  // The LLM engines' waits together stay within ai.budget: a hung Dify and a cold Ollama do not
  // add up before the built-in engine answers (docs/analysis.md, "Time").
  const llms = chain.filter((e) => e.id !== "builtin");
  const budget = deps.config.ai.budget ?? Math.max(0, ...llms.map((e) => timeoutOf(deps, e.id)));
  // What the engines' answers took so far: the budget is theirs, not the store's round trips (a
  // remote store's few ms must not make an engine's own timeout read as a budget cut).
  let enginesMs = 0;
  const chainStarted = deps.now();
  const jobBudget = `ai.job_budget of ${deps.config.ai.job_budget} ms`;
  const admissions = guarded.length ? await br.admit(guarded) : new Map<string, Admission>();
  const attempts: Attempt[] = [];
  const failures: JobError[] = [];
  const tokens: Tokens = { prompt: 0, completion: 0 };

  /** An engine not asked (or cut short): in the attempts, as a transient failure, counted as skipped. */
  const skip = (name: EngineName, error: string, ms = 0, code = "engine_skipped", retryAfterS?: number) => {
    // Cut short (ms > 0) it was asked, and did not answer in time; else it was not asked at all.
    attempts.push({ engine: name, ok: false, error, ms, ...(ms > 0 ? {} : { not_asked: true as const }) });
    failures.push(transient(code, `${name}: ${error}`, retryAfterS));
    deps.metrics.inc("analysis", { engine: name, outcome: "skipped" });
  };

  for (const [i, engine] of chain.entries()) {
    const name = engine.nameFor(req.type) as EngineName;
    // ai.budget only while the built-in engine is left to answer (without it the budget would only
    // lose the answer); ai.job_budget for every LLM engine, so a job ends in time whatever its chain.
    const llm = engine.id !== "builtin";
    const budgeted = llm && chain.slice(i + 1).some((e) => e.id === "builtin");
    const alertLeft = budgeted ? budget - enginesMs : Number.POSITIVE_INFINITY;
    // Without the built-in engine after it, not before this delivery answered one alert: each
    // delivery then makes progress, however slow the engine (the redelivery goes on from there).
    const jobLeft =
      llm && (budgeted || inJob.answered > 0) ? inJob.until - deps.now() : Number.POSITIVE_INFINITY;
    const left = Math.min(alertLeft, jobLeft);
    const by = jobLeft <= alertLeft ? jobBudget : `ai.budget of ${budget} ms`;
    const skipped =
      inJob.failed.get(engine.id) ??
      (left <= 0
        ? `${by} spent${jobLeft <= 0 && inJob.until <= chainStarted ? " by this job's earlier alerts" : ""}`
        : undefined);
    if (skipped) {
      skip(name, `skipped: ${skipped}`);
      continue;
    }
    let admission = admissions.get(engine.id);
    if (admission?.ok && admission.halfOpen)
      admission = await br.trial(engine.id, admission.failures, maxTimeout + 5000);
    if (admission && !admission.ok) {
      // Why it opened, so a bad key and an overloaded engine do not read alike at 3 a.m.
      const why = admission.reason ? ` (${admission.reason})` : "";
      const msg = `circuit open${why}: skipped until ${new Date(admission.until).toISOString()}`;
      skip(name, msg, 0, "engine_circuit_open", admission.retryAfterS);
      deps.metrics.set("engineUp", { engine: name }, 0);
      continue;
    }
    const started = deps.now();
    const timeoutMs = Math.min(timeoutOf(deps, engine.id), left);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const analysis = await attempt(engine, name, req, signal, tokens);
      const ms = deps.now() - started;
      attempts.push({ engine: name, ok: true, ms });
      deps.metrics.inc("analysis", { engine: name, outcome: "succeeded" });
      deps.metrics.set("engineUp", { engine: name }, 1);
      deps.metrics.observe("engineDuration", { engine: name }, ms / 1000);
      if (admission) await br.success(engine.id, admission);
      return { analysis, engine: name, degraded: i > 0, attempts, tokens };
    } catch (e) {
      const ms = deps.now() - started;
      enginesMs += ms;
      const own = timeoutOf(deps, engine.id);
      if (signal.aborted && timeoutMs < CUT_SHORT * own) {
        // Cut by a budget, not by its own timeout: not held against it (its breaker, engine_up) —
        // a slow but healthy engine is not down because ai.budget is short. When it had nearly
        // all the budget could give it, the job's later alerts skip it: they would wait as long.
        skip(name, `skipped: ${by} spent after ${ms} ms of its answer`, ms);
        if (budgeted && timeoutMs >= CUT_SHORT * Math.min(own, budget))
          inJob.failed.set(engine.id, `it did not answer within ${by} for an earlier alert of this job`);
        if (admission) await br.release(engine.id, admission);
        continue;
      }
      const err = asEngineError(e, name, signal, timeoutMs);
      if (err.retryable && engine.id !== "builtin")
        inJob.failed.set(engine.id, `it failed for an earlier alert of this job (${err.message})`);
      if (!(e instanceof JobError)) log.error("analysis engine crashed", { engine: name, error: e });
      attempts.push({ engine: name, ok: false, error: err.message, ms });
      failures.push(err);
      deps.metrics.inc("analysis", {
        engine: name,
        outcome: err.retryable ? "failed_transient" : "failed_permanent",
      });
      deps.metrics.set("engineUp", { engine: name }, 0);
      deps.metrics.observe("engineDuration", { engine: name }, ms / 1000);
      log.warn("analysis engine failed", { engine: name, code: err.code, error: err.message, ms });
      if (engine.id !== "builtin" && (await br.failure(engine.id, admission, err.message)))
        log.warn("circuit breaker opened", { engine: name, cooloff_ms: deps.config.ai.breaker.cooloff });
    }
  }

  const summary = attempts.map((a) => `${a.engine}: ${a.error}`).join("; ");
  // One engine failing for now is enough to retry: a bad Dify key while Ollama restarts must not
  // dead-letter the analysis Ollama can give in a minute (docs/analysis.md, "Outcomes").
  const forNow = failures.filter((f) => f.retryable);
  if (forNow.length) {
    const waits = forNow.map((f) => f.retryAfterS).filter((s): s is number => s !== undefined);
    throw transient(
      "engines_unavailable",
      `${forNow.length === failures.length ? "every analysis engine failed for now" : "no analysis engine answered; some may later"}: ${summary}`,
      waits.length ? Math.min(...waits) : undefined,
      { attempts },
    );
  }
  throw permanent("analysis_failed", `no analysis engine could answer: ${summary}`, { attempts });
}

/** One engine's try: ask, validate, and ask once more to repair an answer that does not fit. */
async function attempt(
  engine: Engine,
  name: EngineName,
  req: EngineRequest,
  signal: AbortSignal,
  tokens: Tokens,
): Promise<Analysis> {
  const opts = { severity: severityOf(req.alert) };
  const first = await engine.analyse(req, signal);
  add(tokens, first.tokens);
  let n = normalizeAnalysis(first.output, { ...opts, allowText: first.allowText });
  // The one repair: for an answer that does not fit, or one that fits in the wrong language.
  const why = n.ok ? notInLanguage(n.analysis, req.language) : n.problems;
  if (why && first.repair) {
    // An answer that fit is kept unless the repair fits in the job's language — or fails: English beats none.
    const second = await first.repair(why, signal).catch((e: unknown) => {
      if (n.ok) return undefined;
      throw e;
    });
    if (second) {
      add(tokens, second.tokens);
      const again = normalizeAnalysis(second.output, { ...opts, allowText: second.allowText });
      if (!n.ok || (again.ok && !notInLanguage(again.analysis, req.language))) n = again;
    }
  }
  if (!n.ok)
    throw engineFailed(
      "engine_bad_output",
      `${name} answered output that does not fit the analysis schema: ${n.problems}`,
    );
  return n.analysis;
}

/**
 * Why an analysis is not in the job's language, or undefined: a zh job answered in English (a
 * summary with Latin letters and no Chinese), or an en job answered in Chinese (more Chinese
 * characters than Latin letters: an English summary may quote a Chinese alert name), is read at
 * 3 a.m. by people who asked for the other.
 */
function notInLanguage(a: Analysis, language: Language): string | undefined {
  const han = a.summary.match(/\p{Script=Han}/gu)?.length ?? 0;
  const latin = a.summary.match(/[A-Za-z]/g)?.length ?? 0;
  if (language === "zh" && latin > 0 && han === 0)
    return "the analysis is in English; write the summary, causes and steps in Chinese (简体中文)";
  if (language === "en" && han > latin)
    return "the analysis is in Chinese; write the summary, causes and steps in English";
  return undefined;
}

function add(total: Tokens, t: Tokens): void {
  total.prompt += Math.max(0, t.prompt);
  total.completion += Math.max(0, t.completion);
}

function asEngineError(e: unknown, name: string, signal: AbortSignal, timeoutMs: number): JobError {
  if (signal.aborted && (!(e instanceof JobError) || e.code === "engine_timeout"))
    return transient("engine_timeout", `${name}: no answer within ${timeoutMs} ms`);
  if (e instanceof JobError) return e;
  return engineFailed("engine_error", `${name}: ${(e as Error)?.message ?? String(e)}`);
}
