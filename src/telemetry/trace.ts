/**
 * W3C trace context for jobs: a `traceparent` that arrives with a job (a producer sets
 * `Upstash-Forward-traceparent`; QStash delivers it as `traceparent`) or a new trace is
 * carried into every log line (trace_id, span_id) and onto every outbound call, so one alert
 * can be followed from producer to page. Spans can be exported as OTLP/HTTP JSON.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Buffer } from "node:buffer";
import { fetchFailure } from "../fetch-failure.ts";
import { maskUrl } from "../mask.ts";
import type { Fetch } from "../ports.ts";

export interface SpanContext {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Random bytes drawn from a pool refilled 4 KiB at a time (ids are made for every job). */
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString("hex", used - bytes, used);
}

/** A child span of the incoming traceparent, or the root of a new trace when there is none (or it is invalid). */
export function startSpan(traceparent: string | null | undefined): SpanContext {
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (m && !/^0+$/.test(m[1]) && !/^0+$/.test(m[2])) {
    return {
      traceId: m[1],
      spanId: randomHex(8),
      parentSpanId: m[2],
      sampled: (Number.parseInt(m[3], 16) & 1) === 1,
    };
  }
  return { traceId: randomHex(16), spanId: randomHex(8), sampled: true };
}

export function traceparentOf(s: SpanContext): string {
  return `00-${s.traceId}-${s.spanId}-${s.sampled ? "01" : "00"}`;
}

/** The span of the job whose code is running (carried across awaits). */
const current = new AsyncLocalStorage<SpanContext>();

/** Runs `fn` as part of `span`: every outbound call it makes through a tracing fetch carries it. */
export function inSpan<T>(span: SpanContext, fn: () => T): T {
  return current.run(span, fn);
}

/**
 * A fetch that adds the running job's traceparent to every outbound request (unless the caller
 * set one). Deps holds one of these, so domain code needs nothing to propagate the trace.
 */
export function tracingFetch(fetch: Fetch): Fetch {
  return (input, init) => {
    const span = current.getStore();
    if (!span) return fetch(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (!headers.has("traceparent")) headers.set("traceparent", traceparentOf(span));
    return fetch(input, { ...init, headers });
  };
}

export interface FinishedSpan {
  span: SpanContext;
  name: string;
  startMs: number;
  endMs: number;
  ok: boolean;
  attributes: Record<string, string | number | boolean | undefined>;
}

/** The OTLP/HTTP JSON body for finished spans (ids hex-encoded, times as nanosecond strings). */
export function otlpBody(serviceName: string, spans: FinishedSpan[]) {
  const attr = (key: string, v: string | number | boolean) =>
    typeof v === "number"
      ? { key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } }
      : typeof v === "boolean"
        ? { key, value: { boolValue: v } }
        : { key, value: { stringValue: v } };
  const nanos = (ms: number) => `${BigInt(Math.round(ms * 1000)) * 1000n}`;
  return {
    resourceSpans: [
      {
        resource: { attributes: [attr("service.name", serviceName)] },
        scopeSpans: [
          {
            scope: { name: "alertagent-worker" },
            spans: spans.map((s) => ({
              traceId: s.span.traceId,
              spanId: s.span.spanId,
              ...(s.span.parentSpanId ? { parentSpanId: s.span.parentSpanId } : {}),
              name: s.name,
              kind: 2,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.endMs),
              attributes: Object.entries(s.attributes).flatMap(([k, v]) =>
                v === undefined ? [] : [attr(k, v)],
              ),
              status: { code: s.ok ? 1 : 2 },
            })),
          },
        ],
      },
    ],
  };
}

/**
 * Posts spans to an OTLP/HTTP collector (`<url>/v1/traces`). Never throws: tracing must not fail a
 * job. Undefined when the collector took them, else why not (no credential in it).
 */
export async function exportSpans(
  fetch: Fetch,
  cfg: { url: string; headers: Record<string, string>; service: string },
  spans: FinishedSpan[],
): Promise<string | undefined> {
  // The path goes before a query the collector's URL may carry (`?api_key=`).
  const u = new URL(cfg.url);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/v1/traces`;
  const url = u.toString();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...cfg.headers },
      body: JSON.stringify(otlpBody(cfg.service, spans)),
    });
    await res.body?.cancel();
    return res.ok ? undefined : `POST ${maskUrl(url)} answered ${res.status}`;
  } catch (e) {
    return `cannot reach ${maskUrl(url)}: ${fetchFailure(e)}`;
  }
}

const warnedAt = new WeakMap<object, number>();
/**
 * One warning a minute about spans the collector did not take: a collector down must not flood
 * the log. Counted per `owner` (the app's config), not per module, so two apps in one process
 * (tests, a reload) each say it.
 */
export function exportWarningDue(owner: object, now: number): boolean {
  if (now - (warnedAt.get(owner) ?? Number.NEGATIVE_INFINITY) < 60_000) return false;
  warnedAt.set(owner, now);
  return true;
}
