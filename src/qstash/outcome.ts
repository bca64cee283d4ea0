/**
 * Outcome → HTTP answer (README, "How a job is handled"): the one place an error becomes a status code, headers
 * and the JSON problem body that QStash (and people) read.
 */
import type { ErrorKind, JobError } from "../errors.ts";

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** The wait the error itself knew (a robot's window, a lease, a peer's Retry-After), if any. */
  retryAfterS?: number;
}

export interface Problem {
  error: { code: string; message: string; retryable: boolean; details?: unknown };
}

/** The HTTP status of each kind of error (README, "How a job is handled"): 489 tells QStash not to retry. */
const STATUS: Record<ErrorKind, number> = {
  permanent: 489,
  transient: 503,
  rate_limited: 429,
  unauthorized: 401,
  invalid: 400,
  not_found: 404,
  too_large: 413,
  internal: 500,
};

export const statusOf = (err: JobError): number => STATUS[err.kind];

export function problemBody(err: JobError): Problem {
  return {
    error: {
      code: err.code,
      message: err.message,
      retryable: err.retryable,
      ...(err.details !== undefined ? { details: err.details } : {}),
    },
  };
}

/** Retry-After for a 503 or 429 that did not say how long (a person's /v1 call; a job's: pacedForQstash). */
const DEFAULT_RETRY_AFTER_S = 10;

/** The answer to an error; `status` overrides the kind's only for Hono's own refusals (app.ts). */
export function problemReply(err: JobError, status = statusOf(err)): Reply {
  const headers: Record<string, string> = {};
  if (err.kind === "permanent") headers["Upstash-NonRetryable-Error"] = "true";
  // A person's 503 or 429 always says when to come back; a job's is paced for QStash (pacedForQstash).
  const after =
    err.retryAfterS ??
    (err.kind === "transient" || err.kind === "rate_limited" ? DEFAULT_RETRY_AFTER_S : undefined);
  if (after !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(after)));
  return { status, headers, body: problemBody(err), retryAfterS: err.retryAfterS };
}

/** How many times QStash retried the message a request delivers (Upstash-Retried; 0 without it). */
export const retriedOf = (headers: Headers): number => Number(headers.get("upstash-retried") ?? 0) || 0;

/** QStash's own wait before its retry number `n`: min(1 day, e^(2.5·n)) s (docs/contracts.md#qstash). */
export const qstashBackoffS = (n: number): number => Math.min(86_400, Math.exp(2.5 * n));

/**
 * A job's answer as QStash reads it after attempt `retried`. Without a wait of the error's own, no
 * Retry-After: QStash's backoff (or the producer's Upstash-Retry-Delay) paces the retry. With one,
 * at least QStash's own wait before the next retry: a shorter one would only bring that retry
 * sooner and spend one of the message's few retries (3 by default) on a downstream that has most
 * likely not come back — 10 s hints sent a message to the DLQ 30 s into an outage QStash would
 * have waited 33 minutes for — while a producer's short Upstash-Retry-Delay still waits out the
 * known one (a robot's rate window).
 */
export function pacedForQstash(reply: Reply, retried: number): Reply {
  delete reply.headers["Retry-After"];
  if (reply.retryAfterS !== undefined)
    reply.headers["Retry-After"] = String(
      Math.ceil(Math.max(reply.retryAfterS, qstashBackoffS(retried + 1))),
    );
  return reply;
}

/** Wraps a Reply as a Response (JSON body). */
export function toResponse(reply: Reply): Response {
  return new Response(JSON.stringify(reply.body), {
    status: reply.status,
    headers: { "content-type": "application/json; charset=utf-8", ...reply.headers },
  });
}
