/**
 * Outcome → HTTP answer (README, "How a job is handled"): the one place an error becomes a status code, headers
 * and the JSON problem body that QStash (and people) read.
 */
import { JobError } from "../errors.ts";

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface Problem {
  error: { code: string; message: string; retryable: boolean; details?: unknown };
}

/** Any thrown value as a JobError; unknown errors are bugs: 500, retryable, message kept generic. */
export function toJobError(e: unknown): JobError {
  if (e instanceof JobError) return e;
  return new JobError({
    code: "internal_error",
    message: "unexpected error in the worker (see its log)",
    status: 500,
    retryable: true,
    cause: e,
  });
}

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

/** Retry-After for a 503 or 429 that did not say how long: about QStash's own first backoff (12 s). */
const DEFAULT_RETRY_AFTER_S = 10;

export function problemReply(err: JobError): Reply {
  const headers: Record<string, string> = {};
  if (err.status === 489) headers["Upstash-NonRetryable-Error"] = "true";
  // Every 503 and 429 says when to come back, so QStash and people never guess.
  const after =
    err.retryAfterS ?? (err.status === 503 || err.status === 429 ? DEFAULT_RETRY_AFTER_S : undefined);
  if (after !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(after)));
  return { status: err.status, headers, body: problemBody(err) };
}

/** Wraps a Reply as a Response (JSON body). */
export function toResponse(reply: Reply): Response {
  return new Response(JSON.stringify(reply.body), {
    status: reply.status,
    headers: { "content-type": "application/json; charset=utf-8", ...reply.headers },
  });
}
