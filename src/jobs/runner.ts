/**
 * The job runner: everything between a pushed request and its handler, in order —
 * signature (token, then the body read up to its limit and hashed), concurrency gate, JSON, ledger claim (replay / busy / take over),
 * the handler with its lease renewed, the ledger's final record, metrics and one log line
 * ("job answered", to which the handler may add fields: a canonical line per job).
 * Independent of HTTP so `alertagent-worker run` uses the same path.
 */
import { clip } from "../clip.ts";
import type { Family } from "../config/schema.ts";
import { JobError, permanent, rateLimited, toJobError, tooLarge, transient } from "../errors.ts";
import { pacedForQstash, problemReply, type Reply } from "../qstash/outcome.ts";
import type { JobOutcome } from "../telemetry/metric-defs.ts";
import { exportSpans, exportWarningDue, inSpan, startSpan, traceparentOf } from "../telemetry/trace.ts";
import type { Deps } from "./deps.ts";
import type { JobHandler } from "./handler.ts";

export interface JobRequest {
  family: Family;
  /**
   * The raw body, or how to read it (up to the limit; a longer one comes back as limit + 1
   * bytes): a pushed request's body is read only after its token checks out.
   */
  body: Uint8Array | (() => Promise<Uint8Array>);
  /** Upstash-Message-Id, or Idempotency-Key on a direct call. */
  messageId?: string;
  retried: number;
  scheduleId?: string;
  signature?: string | null;
  /** The URL the signature's `sub` must equal; undefined skips that check. */
  subject?: string;
  /** `run` executes a local file in-process: there is no signature to check. */
  trusted?: boolean;
  /** The job URL's query parameters (how a raw Alertmanager payload names its channels or type). */
  query?: Record<string, string>;
  /** W3C traceparent that came with the job (QStash forwards `Upstash-Forward-traceparent`). */
  traceparent?: string | null;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The most bytes a job's body may have: worker.body_limit, and for a failure callback room for
 * the failed message QStash quotes in it (`sourceBody`, base64: 4/3 of a body up to the limit)
 * with its last answer and headers — the dead letter of a large job must not be refused.
 */
export function bodyLimitOf(family: Family, bodyLimit: number): number {
  return family === "failure" ? Math.ceil((bodyLimit * 4) / 3) + 256 * 1024 : bodyLimit;
}

/** The longest message id a job may carry: what /v1/jobs/:id reads back (routes/validate.ts). */
export const MAX_MESSAGE_ID = 512;

/** What the handler added to the job's answer line (JobContext.note). */
interface Noted {
  fields: Record<string, unknown> | undefined;
  warn: boolean;
}

export async function runJob(deps: Deps, handler: JobHandler, given: JobRequest): Promise<Reply> {
  // A direct call without Upstash-Message-Id or Idempotency-Key still gets an id, for the ledger and the logs.
  const req: JobRequest & { messageId: string } = given.messageId
    ? (given as JobRequest & { messageId: string })
    : { ...given, messageId: `local-${crypto.randomUUID()}` };
  const started = deps.now();
  const family = req.family;
  const span = startSpan(req.traceparent);
  // Read before the signature is: an unsigned request's 7 KB header must not make a 7 KB line
  // (an id the worker takes is never longer, so logs and spans show every one whole).
  const shownId = clip(req.messageId, MAX_MESSAGE_ID);
  const log = deps.logger.child({
    family,
    message_id: shownId,
    retried: req.retried,
    trace_id: span.traceId,
    span_id: span.spanId,
  });
  const noted: Noted = { fields: undefined, warn: false };
  /** `ran`: false for what was answered before it could run (not QStash's, or over the concurrency limit). */
  const finish = (outcome: JobOutcome, reply: Reply, ran = true): Reply => {
    deps.metrics.inc("jobs", { family, outcome });
    // What never ran says nothing about how long jobs take (autoscale reads this): a refusal in
    // a millisecond while the worker is saturated would pull its p95 down.
    if (ran) deps.metrics.observe("jobDuration", { family }, (deps.now() - started) / 1000);
    reply.headers.traceparent = traceparentOf(span);
    // Every answer names its message, so a failed job sent without an id can be looked up too.
    reply.headers["X-Message-Id"] = req.messageId;
    const otlp = deps.config.worker.tracing;
    if (otlp.otlp_url) {
      const sent = exportSpans(
        deps.fetch,
        { url: otlp.otlp_url, headers: otlp.headers, service: otlp.service_name },
        [
          {
            span,
            name: `POST /jobs/${family}`,
            startMs: started,
            endMs: deps.now(),
            ok: reply.status < 500 && reply.status !== 489,
            attributes: {
              "alertagent.family": family,
              "alertagent.message_id": shownId,
              "alertagent.outcome": outcome,
              "http.response.status_code": reply.status,
              "alertagent.retried": req.retried,
            },
          },
        ],
      );
      const told = sent.then((why) => {
        if (why && exportWarningDue(deps.config.worker.tracing, deps.now()))
          log.warn("spans not exported (said at most once a minute)", { why });
      });
      if (deps.background) deps.background(told);
    }
    pacedForQstash(reply, req.retried);
    const code =
      reply.status === 200 ? undefined : (reply.body as { error?: { code?: string } })?.error?.code;
    // The handler's notes cannot hide what the runner says: its fields come last.
    const fields = { ...noted.fields, status: reply.status, outcome, ms: deps.now() - started, code };
    if (reply.status >= 500 || outcome === "failed_permanent" || noted.warn) log.warn("job answered", fields);
    else log.info("job answered", fields);
    return reply;
  };

  // The token first, then the body: an unsigned or forged request of any size is a 401 and
  // counts only as unauthorized (docs/architecture.md, "One job, step by step").
  let bodyHash = "";
  if (!req.trusted) {
    try {
      bodyHash = deps.verifier.verifyToken({
        signature: req.signature,
        url: req.subject,
        clockToleranceS: deps.config.qstash.clock_tolerance / 1000,
      });
    } catch (e) {
      return finish("unauthorized", problemReply(toJobError(e)), false);
    }
  }
  // Recorded under an id nobody could look up, a job's outcome would be lost to the operator.
  if (req.messageId.length > MAX_MESSAGE_ID)
    return finish(
      "failed_permanent",
      problemReply(
        permanent(
          "message_id_too_long",
          `Upstash-Message-Id (or Idempotency-Key) is ${req.messageId.length} characters; at most ${MAX_MESSAGE_ID}`,
        ),
      ),
    );
  const body = typeof req.body === "function" ? await req.body() : req.body;
  const limit = bodyLimitOf(family, deps.config.worker.body_limit);
  if (body.byteLength > limit) {
    return finish("failed_permanent", problemReply(tooLarge(limit)));
  }
  if (!req.trusted) {
    try {
      deps.verifier.verifyBody(bodyHash, body);
    } catch (e) {
      return finish("unauthorized", problemReply(toJobError(e)), false);
    }
  }
  if (req.retried > 0) deps.metrics.inc("retries", { family });
  if (!deps.gate.tryEnter()) {
    return finish(
      "rate_limited",
      problemReply(
        rateLimited(
          "over_concurrency",
          `this worker is running ${deps.gate.limit} jobs, its concurrency limit`,
          1,
        ),
      ),
      false,
    );
  }
  deps.metrics.add("inFlight", { family }, 1);
  try {
    // Inside the span, deps.fetch (a tracing fetch) puts the job's traceparent on every outbound call.
    return await inSpan(span, () => claimAndRun(deps, handler, { ...req, body }, log, noted, finish));
  } finally {
    deps.metrics.add("inFlight", { family }, -1);
    deps.gate.leave();
  }
}

async function claimAndRun(
  deps: Deps,
  handler: JobHandler,
  req: JobRequest & { body: Uint8Array },
  log: Deps["logger"],
  noted: Noted,
  finish: (o: JobOutcome, r: Reply) => Reply,
): Promise<Reply> {
  let body: unknown;
  try {
    body = JSON.parse(UTF8.decode(req.body));
  } catch (e) {
    return finish(
      "failed_permanent",
      problemReply(permanent("invalid_json", `the body is not valid UTF-8 JSON: ${(e as Error).message}`)),
    );
  }
  const messageId = req.messageId as string;
  let claim: Awaited<ReturnType<Deps["ledger"]["claim"]>>;
  try {
    claim = await deps.ledger.claim(
      messageId,
      req.family,
      { retried: req.retried, scheduleId: req.scheduleId },
      prefetchOf(handler, body, { deps, messageId, query: req.query ?? {} }, log),
    );
  } catch (e) {
    // A full memory store says so itself (503 store_full); anything else is the store not answering.
    const full = e instanceof JobError && e.code === "store_full";
    log.error(full ? "store full: cannot claim the message" : "store unavailable: cannot claim the message", {
      error: e,
    });
    return finish(
      "failed_transient",
      problemReply(
        full ? e : transient("store_unavailable", "the store did not answer; the job was not started", 5),
      ),
    );
  }
  if (claim.kind === "busy") {
    return finish(
      "failed_transient",
      problemReply(
        transient("in_progress", "another delivery of this message is being processed", claim.retryAfterS),
      ),
    );
  }
  if (claim.kind === "reused") {
    return finish(
      "failed_permanent",
      problemReply(
        permanent(
          "message_id_reused",
          `message id ${messageId} belongs to /jobs/${claim.family}; a message id is one job of one family`,
        ),
      ),
    );
  }
  if (claim.kind === "replay") {
    const e = claim.entry;
    const reply: Reply =
      e.status === "succeeded"
        ? { status: 200, headers: {}, body: e.result ?? {} }
        : {
            ...problemReply(
              permanent(
                e.error?.code ?? "failed",
                e.error?.message ?? "this message failed",
                e.error?.details,
              ),
            ),
          };
    reply.headers["X-Idempotent-Replay"] = "true";
    return finish("duplicate", reply);
  }

  const { entry, lease, batch, deferred, written } = claim;
  const recorded = () => {
    for (const fn of written) fn();
  };
  // Keep the lease while the handler works, so a long job is not taken over.
  const letGo = deps.ledger.keep(messageId, lease, (e) => log.warn("lease renewal failed", { error: e }));
  let result: unknown;
  let failure: JobError | undefined;
  try {
    result = await handler.handle(body, {
      deps,
      batch,
      family: req.family,
      messageId,
      receivedAt: entry.received_at,
      retried: req.retried,
      scheduleId: req.scheduleId,
      query: req.query ?? {},
      logger: log,
      note(fields, level) {
        noted.fields = { ...noted.fields, ...fields };
        if (level === "warn") noted.warn = true;
      },
    });
  } catch (e) {
    failure = toJobError(e);
    if (failure.kind === "internal")
      log.error("job handler crashed", { error: e, stack: (e as Error)?.stack });
  } finally {
    await letGo();
  }

  try {
    if (!failure) {
      await deps.ledger.finish(entry, lease, { status: "succeeded", httpStatus: 200, result }, deferred);
      recorded();
      return finish("succeeded", { status: 200, headers: {}, body: result ?? {} });
    }
    const error = {
      code: failure.code,
      message: failure.message,
      retryable: failure.retryable,
      details: failure.details,
    };
    if (failure.kind === "permanent") {
      const reply = problemReply(failure);
      await deps.ledger.finish(entry, lease, { status: "failed", httpStatus: reply.status, error }, deferred);
      recorded();
      return finish("failed_permanent", reply);
    }
    await deps.ledger.release(entry, lease, error, deferred);
    recorded();
    return finish(
      failure.kind === "rate_limited" ? "rate_limited" : "failed_transient",
      problemReply(failure),
    );
  } catch (e) {
    if (e instanceof JobError && e.code === "lease_lost") {
      // Its own writes were made; only the entry was left to the delivery that took over.
      recorded();
      log.warn("lease lost: the job's outcome was not recorded over the delivery that took over");
      return finish("failed_transient", problemReply(e));
    }
    // The effects happened but could not be recorded: answer non-2xx so QStash redelivers — once
    // the lease, which could not be let go either, has run out: sooner, the redelivery is only
    // told `in_progress`, and a retry of QStash's few is spent on that.
    // A longer wait the failure itself asked for (a robot's 10-minute throttle) still holds.
    const leaseS = Math.max(5, Math.ceil(deps.config.worker.lease / 1000), failure?.retryAfterS ?? 0);
    log.error("store unavailable: cannot record the job's outcome", { error: e, retry_after_s: leaseS });
    return finish(
      "failed_transient",
      problemReply(
        transient(
          "store_unavailable",
          `the job ran but its outcome could not be recorded; deliver it again in ${leaseS} s, once its lease has run out`,
          leaseS,
        ),
      ),
    );
  }
}

/** The keys the handler reads, read with the claim; a body it cannot name keys for names none. */
function prefetchOf(
  handler: JobHandler,
  body: unknown,
  ctx: Parameters<NonNullable<JobHandler["prefetch"]>>[1],
  log: Deps["logger"],
): string[] {
  try {
    return handler.prefetch?.(body, ctx) ?? [];
  } catch (e) {
    // The handler reports the same trouble itself when it runs; the claim just reads less.
    log.debug("prefetch skipped", { error: (e as Error).message });
    return [];
  }
}
