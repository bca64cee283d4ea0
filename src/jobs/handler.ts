/**
 * What a job handler is: it takes the parsed JSON body and a context, validates the body
 * with its zod schema, does the work through the domain modules, and returns the 200 body
 * or throws a JobError. Handlers live in handlers/, one file per route.
 */
import type { z } from "zod";
import type { Family } from "../config/schema.ts";
import { permanent, zodIssues } from "../errors.ts";
import type { Batch } from "../store/ledger.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Deps } from "./deps.ts";

export interface JobContext {
  deps: Deps;
  /** What the claim read for this job (`prefetch`) and the writes made with its answer. */
  batch: Batch;
  family: Family;
  messageId: string;
  /** When this message first reached the worker (its ledger entry's received_at). */
  receivedAt: string;
  retried: number;
  scheduleId?: string;
  /** The query string of the job URL (QStash delivers the destination URL as published). */
  query: Record<string, string>;
  logger: Logger;
  /**
   * Adds fields to the job's one log line, "job answered", written when the job is answered;
   * `warn` raises that line to warn (something an operator should see, such as a dead letter).
   */
  note(fields: Record<string, unknown>, level?: "warn"): void;
}

export interface JobHandler {
  family: Family;
  handle(body: unknown, ctx: JobContext): Promise<unknown>;
  /**
   * The store keys the job will read, named from its body before it is validated (a body that
   * does not parse names none): read in the claim's round trip, given to `handle` as `batch`.
   */
  prefetch?(body: unknown, ctx: Pick<JobContext, "deps" | "messageId" | "query">): string[];
}

type Parsed<S extends z.ZodType> = ReturnType<S["safeParse"]>;

/** The parse's data; a mismatch is a permanent failure naming the path of every bad field. */
function dataOf<S extends z.ZodType>(r: Parsed<S>): z.output<S> {
  if (!r.success) {
    const issues = zodIssues(r.error);
    throw permanent(
      "invalid_payload",
      `invalid job: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      issues,
    );
  }
  return r.data as z.output<S>;
}

/** Validates a job body; a mismatch is a permanent failure naming the path of every bad field. */
export function parseJob<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return dataOf<S>(schema.safeParse(body) as Parsed<S>);
}

/**
 * A job's schema run once per request body: `peek` for the prefetch (a body that does not parse
 * names no keys), `parse` for the handler (it throws as parseJob does). `prepare` turns the body
 * into the job first (a raw Alertmanager payload and the URL's query, say). Keyed on the body
 * object alone: the runner parses a new one per request, so a body never meets a second query.
 */
export function jobParser<S extends z.ZodType>(
  schema: S,
  prepare: (body: unknown, query: Record<string, string>) => unknown = (b) => b,
) {
  const seen = new WeakMap<object, Parsed<S>>();
  const run = (body: unknown, query: Record<string, string>): Parsed<S> => {
    const cached = typeof body === "object" && body !== null ? seen.get(body) : undefined;
    if (cached) return cached;
    const r = schema.safeParse(prepare(body, query)) as Parsed<S>;
    if (typeof body === "object" && body !== null) seen.set(body, r);
    return r;
  };
  return {
    peek(body: unknown, query: Record<string, string>): z.output<S> | undefined {
      const r = run(body, query);
      return r.success ? (r.data as z.output<S>) : undefined;
    },
    parse: (body: unknown, query: Record<string, string>): z.output<S> => dataOf<S>(run(body, query)),
  };
}
