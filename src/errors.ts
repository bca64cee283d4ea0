/**
 * The one error family. Everything that can go wrong with a job or a request is a JobError
 * with a snake_case `code`, an HTTP `status`, whether QStash should retry, and optionally
 * how long to wait. `problemReply` (src/qstash/outcome.ts) is the one place that turns
 * it into a response.
 */
import { maskText } from "./mask.ts";

export interface JobErrorInit {
  code: string;
  message: string;
  status: number;
  retryable: boolean;
  retryAfterS?: number;
  details?: unknown;
  cause?: unknown;
}

export class JobError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterS?: number;
  readonly details?: unknown;

  constructor(init: JobErrorInit) {
    // Messages reach answers, the ledger and logs: a URL in one never carries its credentials.
    super(maskText(init.message), { cause: init.cause });
    this.name = "JobError";
    this.code = init.code;
    this.status = init.status;
    this.retryable = init.retryable;
    this.retryAfterS = init.retryAfterS;
    this.details = init.details;
  }
}

/** A body over worker.body_limit: 489 on a job route (QStash must not retry it), 413 elsewhere. */
export const tooLarge = (limit: number, status: 489 | 413 = 489) =>
  new JobError({
    code: "payload_too_large",
    message: `the body is larger than worker.body_limit (${limit} bytes)`,
    status,
    retryable: false,
    details: { limit },
  });

/** 489 + Upstash-NonRetryable-Error: the job can never succeed as sent. */
export const permanent = (code: string, message: string, details?: unknown) =>
  new JobError({ code, message, status: 489, retryable: false, details });

/** 503: try again later (downstream down, store unavailable, lease held). */
export const transient = (code: string, message: string, retryAfterS?: number, details?: unknown) =>
  new JobError({ code, message, status: 503, retryable: true, retryAfterS, details });

/** 429: slow down (downstream rate limit or this process full). */
export const rateLimited = (code: string, message: string, retryAfterS: number, details?: unknown) =>
  new JobError({ code, message, status: 429, retryable: true, retryAfterS, details });

export const unauthorized = (code: string, message: string) =>
  new JobError({ code, message, status: 401, retryable: true });

export const notFound = (what: string) =>
  new JobError({ code: "not_found", message: `${what} not found`, status: 404, retryable: false });

/** A configuration problem: names every bad path. Raised at start-up and by check-config. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Validation issues from zod as `{path, message}` with a JSON-path-like string. */
export function zodIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(root)";
}
