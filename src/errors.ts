/**
 * The one error family. Everything that can go wrong with a job or a request is a JobError
 * with a semantic `kind`, a snake_case `code`, and optionally how long to wait. `problemReply`
 * (src/qstash/outcome.ts) is the one place that turns it into a status and a response.
 */
import { maskedCopy, maskText } from "./mask.ts";

/**
 * What went wrong, in the worker's terms. src/qstash/outcome.ts is the one place that turns a
 * kind into an HTTP status (docs/architecture.md, "Errors and answers").
 */
export type ErrorKind =
  /** The job can never succeed as sent (invalid, refused for good): QStash must not retry. */
  | "permanent"
  /** Try again later: a downstream or the store is down, a lease is held. */
  | "transient"
  /** Slow down: a downstream rate limit, or this process is full. */
  | "rate_limited"
  /** The request is not signed (or not by QStash's keys). */
  | "unauthorized"
  /** A bad request to a non-job route (/v1, the preview). */
  | "invalid"
  | "not_found"
  /** A request body over worker.body_limit on a non-job route (a job's is permanent). */
  | "too_large"
  /** A bug: the message stays generic, the cause goes to the log. */
  | "internal";

export interface JobErrorInit {
  kind: ErrorKind;
  code: string;
  message: string;
  retryAfterS?: number;
  details?: unknown;
  cause?: unknown;
  /** Overrides the kind's (RETRYABLE): a 401 QStash may retry (a key being rotated) or a person may not. */
  retryable?: boolean;
}

const RETRYABLE: Record<ErrorKind, boolean> = {
  permanent: false,
  transient: true,
  rate_limited: true,
  unauthorized: true,
  invalid: false,
  not_found: false,
  too_large: false,
  internal: true,
};

export class JobError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly retryAfterS?: number;
  readonly details?: unknown;
  private readonly retry?: boolean;

  constructor(init: JobErrorInit) {
    // Messages reach answers, the ledger and logs: a URL in one never carries its credentials.
    super(maskText(init.message), { cause: init.cause });
    this.name = "JobError";
    this.kind = init.kind;
    this.code = init.code;
    this.retryAfterS = init.retryAfterS;
    this.retry = init.retryable;
    // Details often quote a downstream's answer: masked as the message is (README, "Security").
    this.details = init.details === undefined ? undefined : maskedCopy(init.details);
  }

  /** Whether QStash (or the caller) should try again. */
  get retryable(): boolean {
    return this.retry ?? RETRYABLE[this.kind];
  }
}

/** A body over worker.body_limit: on a job route permanent (QStash must not retry it), else `too_large`. */
export const tooLarge = (limit: number, kind: "permanent" | "too_large" = "permanent") =>
  new JobError({
    kind,
    code: "payload_too_large",
    message: `the body is larger than worker.body_limit allows here (${limit} bytes)`,
    details: { limit },
  });

/** The job can never succeed as sent. */
export const permanent = (code: string, message: string, details?: unknown) =>
  new JobError({ kind: "permanent", code, message, details });

/** Try again later (downstream down, store unavailable, lease held). */
export const transient = (code: string, message: string, retryAfterS?: number, details?: unknown) =>
  new JobError({ kind: "transient", code, message, retryAfterS, details });

/**
 * A store call that failed — the store down, too slow, out of room — as what a job answers: 503
 * store_unavailable, retried later. The stores raise it at their edge (redis.ts, sqlite.ts).
 * `written: false` when the store knows the call wrote nothing (SQLite: a rollback, a lock not
 * had); a network store cannot know (its answer may be what was lost).
 */
export const storeUnavailable = (cause: unknown, written?: false): JobError =>
  cause instanceof JobError
    ? cause
    : new JobError({
        kind: "transient",
        code: "store_unavailable",
        message: `the store failed: ${String((cause as Error | null)?.message ?? cause).slice(0, 300)}`,
        retryAfterS: 5,
        cause,
        ...(written === false ? { details: { written: false } } : {}),
      });

/** Whether a failed store call may have written (not when the store said it wrote nothing). */
export const mayHaveWritten = (e: unknown): boolean =>
  !(e instanceof JobError && (e.details as { written?: unknown } | undefined)?.written === false);

/** Slow down (downstream rate limit or this process full). */
export const rateLimited = (code: string, message: string, retryAfterS: number, details?: unknown) =>
  new JobError({ kind: "rate_limited", code, message, retryAfterS, details });

/** A signature QStash may get right on a retry (keys being rotated), or, with `retryable: false`, a person's missing token. */
export const unauthorized = (code: string, message: string, retryable?: boolean) =>
  new JobError({ kind: "unauthorized", code, message, retryable });

/** A bad request to a non-job route. */
export const invalid = (code: string, message: string, details?: unknown) =>
  new JobError({ kind: "invalid", code, message, details });

/** `path`: the request's field that named it, when a request did. */
export const notFound = (what: string, path?: string) =>
  new JobError({
    kind: "not_found",
    code: "not_found",
    message: `${what} not found`,
    ...(path ? { details: [{ path, message: `${what} not found` }] } : {}),
  });

/** Any thrown value as a JobError; unknown errors are bugs: internal, retryable, message kept generic. */
export function toJobError(e: unknown): JobError {
  if (e instanceof JobError) return e;
  return new JobError({
    kind: "internal",
    code: "internal_error",
    message: "unexpected error in the worker (see its log)",
    cause: e,
  });
}

/**
 * Runs `build` inside a job: a ConfigError there (a channel or API the config cannot serve; only
 * reachable without createApp, which refuses such a config at start) is a permanent failure.
 */
export function permanentOnConfigError<T>(build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ConfigError) throw permanent("config_error", e.message, e.issues);
    throw e;
  }
}

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
  issues: readonly { path: readonly PropertyKey[]; message: string; code?: string }[];
}): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: missingSaid(i) }));
}

/** zod says a missing field is "expected object, received undefined": said as what it is. */
function missingSaid(i: { message: string; code?: string }): string {
  const m = /^Invalid input: expected (.+), received undefined$/.exec(i.message);
  return i.code === "invalid_type" && m ? `required but missing (${m[1]})` : i.message;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(root)";
}
