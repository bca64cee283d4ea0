/**
 * What every answer promises, at the edges a producer or an operator reaches: a 503 that says
 * it can be retried (and leaves the wait to QStash's backoff), the job body limit on the template preview, a case-insensitive Bearer
 * scheme, and `__proto__` as a label name refused by name rather than dropped.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { makeHarness } from "../support/harness.ts";
import { startWebhookSink } from "../support/webhook-sink.ts";

const sink = startWebhookSink();
afterAll(() => sink.stop());
const alert = { labels: { alertname: "Edge", severity: "warning" }, annotations: { summary: "edge" } };

describe("answers at the edges", () => {
  test("a channel that is down answers 503 channel_unavailable, retryable, its retry left to QStash's backoff", async () => {
    const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${sink.url}" }\n`);
    sink.answers.push(() => new Response("busy", { status: 502 }));
    const res = await h.job("/jobs/notification", { channels: ["hook"], alerts: [alert] });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "channel_unavailable", retryable: true } });
    expect(res.headers.get("retry-after")).toBeNull();
  });

  test("/v1/templates/preview refuses a body over worker.body_limit", async () => {
    const h = makeHarness("worker: { body_limit: 10kb }\n");
    const big = JSON.stringify({ data: { pad: "x".repeat(20_000) } });
    const res = await h.request("/v1/templates/preview", { method: "POST", body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    const ok = await h.request("/v1/templates/preview", {
      method: "POST",
      body: JSON.stringify({ channel: "console", data: { alerts: [alert] } }),
    });
    expect(ok.status).not.toBe(413);
  });

  test("a problem with what a request named says which field: a preview's unknown channel, a job title Mustache cannot parse", async () => {
    const h = makeHarness("channels:\n  console: { type: console }\n");
    const res = await h.request("/v1/templates/preview", {
      method: "POST",
      body: JSON.stringify({ channel: "nope", data: { alerts: [alert] } }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      error: { code: "not_found", details: [{ path: "channel", message: "channel nope not found" }] },
    });
    const job = await h.job("/jobs/notification", {
      channels: ["console"],
      title: "{{#alerts}}x",
      alerts: [alert],
    });
    expect(job.status).toBe(489);
    const problem = ((await job.json()) as { error: { code: string; message: string; details: unknown } })
      .error;
    expect(problem.code).toBe("template_error");
    expect(problem.message).toStartWith("title could not be rendered: Unclosed section");
    expect(problem.details).toEqual([
      { path: "title", message: expect.stringContaining("Unclosed section") },
    ]);
  });

  test("the Authorization scheme is case-insensitive: bearer and BEARER work", async () => {
    const h = makeHarness("worker: { admin_token: s3cret }\n");
    for (const scheme of ["Bearer", "bearer", "BEARER"])
      expect(
        (await h.request("/v1/sync/status", { headers: { authorization: `${scheme} s3cret` } })).status,
      ).toBe(200);
    expect((await h.request("/v1/sync/status", { headers: { authorization: "Basic s3cret" } })).status).toBe(
      401,
    );
    expect((await h.request("/v1/sync/status", { headers: { authorization: "bearer wrong" } })).status).toBe(
      401,
    );
  });

  test("__proto__ as a label or annotation name is a 489 naming it; constructor stays a label", async () => {
    const h = makeHarness("channels:\n  out: { type: console }\n");
    const raw = `{"channels":["out"],"alerts":[{"labels":{"alertname":"P","__proto__":"x","constructor":"c"},"annotations":{"__proto__":"y"}}]}`;
    const res = await h.job("/jobs/notification", raw);
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { details: { path: string }[] } };
    expect(error.details.map((d) => d.path)).toEqual([
      "alerts[0].labels.__proto__",
      "alerts[0].annotations.__proto__",
    ]);
    const kept = await h.job(
      "/jobs/notification",
      `{"channels":["out"],"alerts":[{"labels":{"alertname":"P","constructor":"c"},"annotations":{}}]}`,
    );
    expect(kept.status).toBe(200);
    expect(h.printed.at(-1)).toContain("constructor: c");
  });
});

describe("/v1 requests validated at the edge (@hono/zod-validator)", () => {
  test("a bad query or body is a 400 naming the field; malformed JSON is a 400, not a 5xx", async () => {
    const h = makeHarness();
    const k = await h.request("/v1/alerts/a1/similar?k=zero");
    expect(k.status).toBe(400);
    expect(
      ((await k.json()) as { error: { code: string; details: { path: string }[] } }).error,
    ).toMatchObject({
      code: "invalid_query",
      details: [{ path: "k" }],
    });
    const limit = await h.request("/v1/autoscale/decisions?limit=1000");
    expect(limit.status).toBe(400);
    // Given twice, or not a number: said so, not "received NaN".
    for (const [query, said] of [
      ["limit=1&limit=2", "limit: give it once"],
      ["limit=ten", "limit: must be a whole number from 1 to 200"],
      ["limit=-1", "limit: must be a whole number from 1 to 200"],
      ["limit=99999999999999999999", "limit: must be a whole number from 1 to 200"],
    ]) {
      const r = await h.request(`/v1/autoscale/decisions?${query}`);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { message: string } }).error.message).toBe(said);
    }
    expect((await h.request("/v1/autoscale/decisions?limit=3")).status).toBe(200);
    const twice = await h.request("/v1/sync/plan?target=a&target=b");
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: { message: string } }).error.message).toBe(
      "target: give it once",
    );
    const unknown = await h.request("/v1/templates/preview", {
      method: "POST",
      body: '{"nope":1,"data":{}}',
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "invalid_body",
    });
    const malformed = await h.request("/v1/templates/preview", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
  });
});
