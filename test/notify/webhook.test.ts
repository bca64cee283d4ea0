/**
 * The generic webhook against receivers that behave like real ones (throwaway servers on
 * loopback): redirects, a key still being processed, header values fetch cannot send.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { makeHarness } from "../support/harness.ts";

type Problem = {
  error: { code: string; message: string; details: { deliveries: { error?: { code: string } }[] } };
};

const seen: { method: string; path: string; body: string; headers: Headers }[] = [];
let answer: (path: string) => Response = () => Response.json({ ok: true });
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const u = new URL(req.url);
    seen.push({ method: req.method, path: u.pathname, body: await req.text(), headers: req.headers });
    return answer(u.pathname);
  },
});
afterAll(() => receiver.stop(true));
const base = `http://127.0.0.1:${receiver.port}`;
const alert = { labels: { alertname: "DiskFull", severity: "critical", instance: "db-1" } };

describe("webhook redirects", () => {
  test.each([301, 302, 303, 307, 308])(
    "a %i is not followed: 489 channel_redirected, no GET without the alert reads as sent",
    async (status) => {
      seen.length = 0;
      answer = (path) =>
        path === "/hook"
          ? new Response(null, {
              status,
              headers: { location: `http://other.example:9/landing?token=t0k3n` },
            })
          : Response.json({ ok: true });
      const h = makeHarness(
        `channels:\n  hook: { type: webhook, url: "${base}/hook", headers: { X-Api-Key: k3y } }\n`,
      );
      const res = await h.job("/jobs/notification", { channels: ["hook"], alerts: [alert] });
      expect(res.status).toBe(489);
      const p = (await res.json()) as Problem;
      expect(p.error.details.deliveries[0].error?.code).toBe("channel_redirected");
      expect(p.error.message).toContain("a redirect to http://other.example:9");
      expect(p.error.message).not.toContain("t0k3n");
      expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /hook"]);
    },
  );
});

test("409 (the key still being processed there) is transient: 503, and the retry delivers once", async () => {
  seen.length = 0;
  let busy = true;
  answer = () =>
    busy
      ? Response.json({ error: "request in progress" }, { status: 409, headers: { "retry-after": "30" } })
      : Response.json({ ok: true });
  const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${base}/hook" }\n`);
  const first = await h.job(
    "/jobs/notification",
    { channels: ["hook"], alerts: [alert] },
    { messageId: "wh-409" },
  );
  expect(first.status).toBe(503);
  expect(first.headers.get("retry-after")).toBe("30");
  busy = false;
  const again = await h.job(
    "/jobs/notification",
    { channels: ["hook"], alerts: [alert] },
    { messageId: "wh-409", retried: 1 },
  );
  expect(again.status).toBe(200);
  expect(seen.map((r) => r.headers.get("idempotency-key"))).toEqual(["wh-409:hook:1", "wh-409:hook:1"]);
});

describe("webhook headers the config refuses", () => {
  const config = (headers: string) =>
    `qstash: { current_signing_key: sig_a1b2c3d4e5f6, next_signing_key: sig_f6e5d4c3b2a1 }\nchannels:\n  hook: { type: webhook, url: "${base}/hook", headers: ${headers} }\n`;
  test.each([
    ['{ X-Team: "运维 team" }', "channels.hook.headers.X-Team", "printable ASCII"],
    ['{ X-Trace: "a\\r\\nX-Evil: 1" }', "channels.hook.headers.X-Trace", "printable ASCII"],
    ['{ "Bad Name": x }', "channels.hook.headers.Bad Name", "header name"],
    ["{ idempotency-key: fixed }", "channels.hook.headers", "Idempotency-Key is set by the worker"],
  ])("%s is refused naming %s", (headers, path, words) => {
    let err: unknown;
    try {
      loadConfig(config(headers), {}, "w.yaml");
    } catch (e) {
      err = e;
    }
    expect((err as Error)?.message).toContain(path);
    expect((err as Error)?.message).toContain(words);
  });

  test("a value with a trailing newline (a secret file through an env variable) or a number loads, trimmed", () => {
    const c = loadConfig(config('{ Authorization: "Bearer s3cr3t\\n", X-Port: 8080 }'), {}, "w.yaml");
    const hook = c.channels.hook as { headers: Record<string, string> };
    expect(hook.headers).toEqual({ Authorization: "Bearer s3cr3t", "X-Port": "8080" });
  });
});

test("the webhook's group carries truncatedAlerts: a receiver can tell the list is cut", async () => {
  seen.length = 0;
  answer = () => Response.json({ ok: true });
  const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${base}/hook" }\n`);
  const payload = {
    version: "4",
    groupKey: '{}:{alertname="DiskFull"}',
    truncatedAlerts: 40,
    status: "firing",
    receiver: "hook",
    groupLabels: { alertname: "DiskFull" },
    commonLabels: alert.labels,
    commonAnnotations: {},
    externalURL: "http://am.example:9093",
    alerts: [{ ...alert, status: "firing", annotations: {}, startsAt: "2026-12-05T01:00:00Z" }],
  };
  const res = await h.job("/jobs/notification?channels=hook", payload);
  expect(res.status).toBe(200);
  const sent = JSON.parse(seen[0].body) as { body: string; group: { truncatedAlerts: number } };
  expect(sent.group.truncatedAlerts).toBe(40);
  expect(sent.body).toContain("Alertmanager left 40 more alerts");
});
