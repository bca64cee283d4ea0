/**
 * What an analysis engine is, and the HTTP plumbing the network engines share: JSON calls through
 * the injected fetch under the caller's deadline, and how a failure is told apart. Every failure
 * is a JobError: `retryable` ones (timeouts, 5xx, 429 "try again") are transient — the chain may
 * answer 503 when all engines fail that way; the others mean this engine cannot answer now.
 */
import type { Alert } from "../alerts/alert.ts";
import { type JobError, permanent, transient } from "../errors.ts";
import { fetchFailure } from "../fetch-failure.ts";
import { credentialsOf, quotedAnswer } from "../mask.ts";
import type { Fetch } from "../ports.ts";
import { MiB, moreThan, readAnswer } from "../read-limited.ts";
import type { Services } from "../services.ts";
import type { Check } from "../telemetry/check.ts";
import type { AnalysisType, EngineName, Evidence, Language, SimilarMatch, Tokens } from "./schema.ts";

export type EngineId = "dify" | "ollama" | "builtin";
/** The analysis types an engine is asked about (`similar` needs no engine). */
export type LlmType = Exclude<AnalysisType, "similar">;

export interface EngineRequest {
  alert: Alert;
  alertId: string;
  type: LlmType;
  language: Language;
  /** Similar past alerts, given to the engine as context. */
  similar: SimilarMatch[];
  /** What Prometheus said about the alert (ai.evidence), given to the engine to reason on. */
  evidence?: Evidence;
}

export interface EngineAnswer {
  /** What the engine produced: an object of the analysis shape, or text. */
  output: unknown;
  /** True when free text is a valid answer (used as the summary): Dify apps may answer so. */
  allowText: boolean;
  tokens: Tokens;
  /** Asks the engine once more to fix an answer that did not fit the schema (its own tokens only). */
  repair?: (problems: string, signal: AbortSignal) => Promise<EngineAnswer>;
}

export interface Engine {
  readonly id: EngineId;
  /** The name this engine answers `type` under, or undefined when it is not configured for it. */
  nameFor(type: LlmType): EngineName | undefined;
  analyse(req: EngineRequest, signal: AbortSignal): Promise<EngineAnswer>;
  /** Readiness: the engine answers and is set up as configured (keys valid, model present). */
  ready(signal: AbortSignal): Promise<Check>;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
  text: string;
}

/**
 * The most of an engine's answer the worker reads: an analysis is a few KB, and an endless or
 * runaway body would otherwise fill memory until the engine's timeout (README, "Security").
 */
export const ENGINE_ANSWER_LIMIT = 4 * MiB;

/** One HTTP call; network failures and deadlines become transient JobErrors naming the engine. */
export async function callHttp(
  fetch: Fetch,
  engine: string,
  url: string,
  init: { method: "GET" | "POST"; headers?: Record<string, string>; body?: unknown; signal: AbortSignal },
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: "application/json", ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  let answer: { text: string; over: boolean };
  try {
    res = await fetch(url, {
      method: init.method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
    answer = await readAnswer(res, ENGINE_ANSWER_LIMIT);
  } catch (e) {
    if (init.signal.aborted) throw timedOut(engine, init.signal);
    throw transient("engine_unreachable", `${engine}: cannot reach ${originOf(url)}: ${fetchFailure(e)}`);
  }
  if (answer.over)
    throw engineFailed(
      "engine_answer_too_large",
      `${engine}: answered ${moreThan(ENGINE_ANSWER_LIMIT)} (HTTP ${res.status}); not read further`,
    );
  // An engine that quotes the request (its key, a signed URL) in its answer must not hand it to
  // our answers, records, logs and /health (README, "Security").
  const sent = credentialsOf(url, init.headers);
  return { status: res.status, headers: res.headers, ...quotedAnswer(answer.text, sent) };
}

/** The error for a call cut by its deadline. */
export function timedOut(engine: string, signal: AbortSignal): JobError {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  const why = reason?.name === "TimeoutError" ? "no answer within its timeout" : "the call was aborted";
  return transient("engine_timeout", `${engine}: ${why}`);
}

/** A failure that is this engine's for now (bad key, quota spent, malformed answer): fall back, no retry. */
export function engineFailed(code: string, message: string, details?: unknown): JobError {
  return permanent(code, message, details);
}

/** Seconds from a Retry-After header (seconds or an HTTP date). */
export function retryAfterS(headers: Headers, now: number): number | undefined {
  const v = headers.get("retry-after");
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(1, Math.ceil((at - now) / 1000));
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "the engine";
  }
}

/** Joins a base URL and a path without doubling or dropping the slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** A Check from a readiness probe, timing it with the injected clock. */
export async function probe(now: () => number, run: () => Promise<string>): Promise<Check> {
  const t = now();
  try {
    return { ok: true, detail: await run(), ms: now() - t };
  } catch (e) {
    return { ok: false, detail: (e as Error).message, ms: now() - t };
  }
}

/** The per-call timeout of an engine. */
export function timeoutOf(deps: Pick<Services, "config">, id: EngineId): number {
  const ai = deps.config.ai;
  if (id === "dify") return ai.dify?.timeout ?? ai.timeout;
  if (id === "ollama") return ai.ollama?.timeout ?? ai.timeout;
  return ai.timeout;
}
