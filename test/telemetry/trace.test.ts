import { afterAll, describe, expect, test } from "bun:test";
import type { JobHandler } from "../../src/jobs/handler.ts";
import { runJob } from "../../src/jobs/runner.ts";
import { startSpan, traceparentOf } from "../../src/telemetry/trace.ts";
import { failureCallback, makeHarness } from "../support/harness.ts";

const seen: { path: string; traceparent: string | null; body: unknown }[] = [];
const peer = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const body = req.method === "POST" ? await req.json() : null;
    seen.push({ path: new URL(req.url).pathname, traceparent: req.headers.get("traceparent"), body });
    return Response.json({ ok: true });
  },
});
afterAll(() => peer.stop(true));
const PEER = `http://127.0.0.1:${peer.port}`;

const INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("W3C trace context", () => {
  test("an incoming traceparent is carried into every log line, the answer and every outbound call", async () => {
    const h = makeHarness();
    const caller: JobHandler = {
      family: "notification",
      async handle(_body, ctx) {
        await ctx.deps.fetch(`${PEER}/robot`, { method: "POST", body: "{}" });
        ctx.logger.info("sent");
        return { ok: true };
      },
    };
    const reply = await runJob(h.deps, caller, {
      family: "notification",
      body: new TextEncoder().encode("{}"),
      retried: 0,
      trusted: true,
      messageId: "m-tr",
      traceparent: INCOMING,
    });
    expect(reply.status).toBe(200);
    const tp = reply.headers.traceparent;
    expect(tp).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    const spanId = tp.split("-")[2];
    expect(spanId).not.toBe("00f067aa0ba902b7");
    const robot = seen.find((s) => s.path === "/robot");
    expect(robot?.traceparent).toBe(tp);
    const lines = h.logs.filter((l) => l.message_id === "m-tr");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines)
      expect(l).toMatchObject({ trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: spanId });
  });

  test("without one (or with a malformed one) a new trace starts", () => {
    const a = startSpan(undefined);
    expect(traceparentOf(a)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(startSpan("00-00000000000000000000000000000000-00f067aa0ba902b7-01").parentSpanId).toBeUndefined();
    expect(startSpan("garbage").traceId).toHaveLength(32);
    // Ids are drawn from a pool refilled as it runs out: thousands of them are all well-formed and distinct.
    const ids = Array.from({ length: 3000 }, () => startSpan(null));
    for (const s of ids) expect(`${s.traceId} ${s.spanId}`).toMatch(/^[0-9a-f]{32} [0-9a-f]{16}$/);
    expect(new Set(ids.map((s) => s.traceId)).size).toBe(3000);
    expect(new Set(ids.map((s) => s.spanId)).size).toBe(3000);
  });

  test("spans are exported as OTLP/HTTP JSON to the configured collector", async () => {
    const h = makeHarness(`worker: { tracing: { otlp_url: "${PEER}", service_name: edge-1 } }\n`);
    const res = await h.job("/jobs/failure", failureCallback("msg_t"), {
      messageId: "m-otlp",
      headers: { traceparent: INCOMING },
    });
    expect(res.status).toBe(200);
    for (let i = 0; i < 50 && !seen.some((s) => s.path === "/v1/traces"); i++) await Bun.sleep(10);
    const exported = seen.find((s) => s.path === "/v1/traces")?.body as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue: string } }[] };
        scopeSpans: { spans: Record<string, unknown>[] }[];
      }[];
    };
    expect(exported.resourceSpans[0].resource.attributes[0]).toEqual({
      key: "service.name",
      value: { stringValue: "edge-1" },
    });
    const span = exported.resourceSpans[0].scopeSpans[0].spans[0];
    expect(span).toMatchObject({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      parentSpanId: "00f067aa0ba902b7",
      name: "POST /jobs/failure",
      kind: 2,
      status: { code: 1 },
    });
    expect(String(span.startTimeUnixNano)).toMatch(/^\d{19}$/);
    expect(res.headers.get("traceparent")).toContain("4bf92f3577b34da6a3ce929d0e0e4736");
  });
});

test("a collector refusing the spans is said in the log, once a minute, without its credentials", async () => {
  const refusing = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response("no", { status: 500 }),
  });
  try {
    // Two workers in one process (as tests, or a reload, make them): each says it.
    for (const worker of ["a", "b"]) {
      const h = makeHarness(
        `worker: { tracing: { otlp_url: "http://otel:s3cr3t-pw@127.0.0.1:${refusing.port}", headers: { x-api-key: k3y-sekret } } }\n`,
      );
      const said = () => h.logs.filter((l) => l.msg === "spans not exported (said at most once a minute)");
      for (let i = 0; i < 3; i++)
        await h.job("/jobs/failure", failureCallback(`msg_otlp_${worker}${i}`), {
          messageId: `m-otlp-${worker}${i}`,
        });
      for (let i = 0; i < 50 && !said().length; i++) await Bun.sleep(10);
      await Bun.sleep(50);
      expect({ worker, said: said().length }).toEqual({ worker, said: 1 });
      expect(String(said()[0].why)).toContain("answered 500");
      expect(JSON.stringify(said())).not.toContain("s3cr3t-pw");
    }
  } finally {
    refusing.stop(true);
  }
});

test("a collector URL with a query gets /v1/traces on its path, the query kept", async () => {
  seen.length = 0;
  const h = makeHarness(`worker: { tracing: { otlp_url: "${PEER}/otel?api_key=k3y" } }\n`);
  expect((await h.job("/jobs/failure", failureCallback("msg_q"), { messageId: "m-otlp-q" })).status).toBe(
    200,
  );
  for (let i = 0; i < 50 && !seen.some((s) => s.path.endsWith("/v1/traces")); i++) await Bun.sleep(10);
  expect(seen.map((s) => s.path)).toContain("/otel/v1/traces");
});
