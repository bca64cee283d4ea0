import { describe, expect, test } from "bun:test";
import { labelsFingerprint } from "../../src/alerts/alert.ts";
import type { AnalysisRecord } from "../../src/analysis/status.ts";
import { deadLetterOf } from "../../src/jobs/failure.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { fixture } from "../support/alert-groups.ts";
import { failureCallback, makeHarness } from "../support/harness.ts";
import { startWebhookSink } from "../support/webhook-sink.ts";

/** An Alertmanager payload (the fixture's) with these changes to its first alert, one alert each. */
function payloadOf(changes: Record<string, unknown>[]) {
  const p = fixture("alertmanager-firing.json");
  return { ...p, alerts: changes.map((c) => ({ ...p.alerts[0], ...c })) };
}

describe("POST /jobs/failure", () => {
  test("the dead letter of a job near worker.body_limit is recorded: its callback quotes the job in base64, a third larger", async () => {
    const h = makeHarness();
    // A 900 KB notification (under the 1 MiB limit) that died; QStash's callback carries it as sourceBody.
    const job = {
      channels: ["console"],
      alerts: [{ labels: { alertname: "Big" }, annotations: { description: "x".repeat(900_000) } }],
    };
    const cb = failureCallback("msg_big", {
      sourceBody: Buffer.from(JSON.stringify(job)).toString("base64"),
    });
    expect(JSON.stringify(cb).length).toBeGreaterThan(1024 * 1024);
    const res = await h.job("/jobs/failure", cb, { messageId: "msg_cb_big" });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await (await h.request("/v1/jobs/msg_big")).json()).toMatchObject({
      dead_letter: { source_message_id: "msg_big", family: "notification" },
    });
    // The room is for what QStash quotes, not a second limit on anything else.
    const huge = failureCallback("msg_huge", { sourceBody: "A".repeat(2 * 1024 * 1024) });
    const refused = await h.job("/jobs/failure", huge, { messageId: "msg_cb_huge" });
    expect(refused.status).toBe(489);
  });

  test("records the dead job under its source message id and marks the ledger entry failed", async () => {
    const h = makeHarness();
    // The source message ran here first and failed transiently until QStash gave up.
    const ran = await h.deps.ledger.claim("msg_src_1", "notification", { retried: 3 });
    if (ran.kind !== "claimed") throw new Error(ran.kind);
    await h.deps.ledger.release(ran.entry, ran.lease, {
      code: "downstream_unavailable",
      message: "503",
      retryable: true,
    });
    const res = await h.job("/jobs/failure", failureCallback("msg_src_1"), { messageId: "msg_cb_1" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      recorded: true,
      source_message_id: "msg_src_1",
      family: "notification",
      dlq_id: "dlq_1",
    });
    const src = (await (await h.request("/v1/jobs/msg_src_1")).json()) as Record<string, unknown>;
    expect(src).toMatchObject({
      status: "failed",
      family: "notification",
      error: { code: "downstream_unavailable", message: "DingTalk answered 503" },
      dead_letter: {
        status: 503,
        retried: 3,
        dlq_id: "dlq_1",
        url: "https://worker.example.com/jobs/notification",
      },
    });
  });

  test("one log line per dead letter: the callback's answer line, at warn, says which message died", async () => {
    const h = makeHarness();
    await h.job("/jobs/failure", failureCallback("msg_src_log"), { messageId: "msg_cb_log" });
    await h.job("/jobs/failure", failureCallback("msg_src_log"), { messageId: "msg_cb_log_2" });
    const lines = h.linesOf("msg_cb_log");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: "warn",
      msg: "job answered",
      status: 200,
      dead_letter: { source_message_id: "msg_src_log", family: "notification", dlq_id: "dlq_1", status: 503 },
    });
    // The second callback for the same message records nothing new: info, and says so.
    expect(lines[1]).toMatchObject({
      level: "info",
      dead_letter: { source_message_id: "msg_src_log", already_recorded: true },
    });
  });

  test("a dead analysis job marks each alert's analysis failed", async () => {
    const h = makeHarness();
    const sourceBody = btoa(
      JSON.stringify({
        type: "comprehensive",
        payload: payloadOf([{ fingerprint: "fp1" }, { fingerprint: "fp2" }]),
      }),
    );
    const res = await h.job(
      "/jobs/failure",
      failureCallback("msg_an", { url: "https://w.example.com/jobs/analysis", sourceBody, body: "" }),
    );
    expect(res.status).toBe(200);
    const a1 = await h.deps.store.get<AnalysisRecord>("analysis:fp1");
    const a2 = await h.deps.store.get<AnalysisRecord>("analysis:fp2");
    expect(a1).toMatchObject({ status: "failed", error: { code: "delivery_failed" } });
    expect(a2?.status).toBe("failed");
  });

  test("a dead storm's payload marks only the alerts its job analysed (ai.job_alerts), not one another message completed", async () => {
    const h = makeHarness("ai: { order: [builtin], job_alerts: 2 }\n");
    const alerts = [{ fingerprint: "fq1" }, { fingerprint: "fq2" }, { fingerprint: "fq3" }];
    // fq3 was analysed by another message, completed.
    expect(
      (
        await h.job(
          "/jobs/analysis",
          { type: "quick", payload: payloadOf([alerts[2]]) },
          { messageId: "msg_fq3" },
        )
      ).status,
    ).toBe(200);
    const sourceBody = btoa(JSON.stringify({ type: "quick", payload: payloadOf(alerts) }));
    const res = await h.job(
      "/jobs/failure",
      failureCallback("msg_storm", { url: "https://w.example.com/jobs/analysis", sourceBody, body: "" }),
    );
    expect(res.status).toBe(200);
    const status = async (fp: string) => (await h.deps.store.get<AnalysisRecord>(`analysis:${fp}`))?.status;
    expect([await status("fq1"), await status("fq2"), await status("fq3")]).toEqual([
      "failed",
      "failed",
      "completed",
    ]);
  });

  test("a dead raw Alertmanager payload, and an alert known only by its labels, are marked failed under the ids they were analysed under", async () => {
    const h = makeHarness();
    // What Alertmanager posts, as it posts it, to /jobs/analysis?type=quick.
    const raw = payloadOf([
      { fingerprint: "fp-raw" },
      { fingerprint: undefined, labels: { alertname: "NoId", instance: "db-1" } },
    ]);
    const sourceBody = btoa(JSON.stringify(raw));
    const res = await h.job(
      "/jobs/failure",
      failureCallback("msg_raw", { url: "https://w.example.com/jobs/analysis?type=quick", sourceBody }),
    );
    expect(res.status).toBe(200);
    expect((await h.deps.store.get<AnalysisRecord>("analysis:fp-raw"))?.status).toBe("failed");
    const byLabels = labelsFingerprint({ alertname: "NoId", instance: "db-1" });
    expect((await h.deps.store.get<AnalysisRecord>(`analysis:${byLabels}`))?.status).toBe("failed");
  });

  test("an unknown source route is recorded as family unknown, not rejected", async () => {
    const h = makeHarness();
    const res = await h.job(
      "/jobs/failure",
      failureCallback("msg_x", { url: "https://w.example.com/elsewhere" }),
    );
    expect(((await res.json()) as { family: string }).family).toBe("unknown");
  });

  test("fields QStash adds later are ignored, not refused", async () => {
    const h = makeHarness();
    const res = await h.job(
      "/jobs/failure",
      failureCallback("msg_new_fields", { flowControlKey: "notify", label: "pager", retryDelay: "1000" }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ recorded: true, source_message_id: "msg_new_fields" });
  });

  test("a callback without status (no HTTP answer to the last attempt) is recorded, not refused", async () => {
    const h = makeHarness();
    const { status: _, body: __, ...rest } = failureCallback("msg_timed_out");
    const res = await h.job("/jobs/failure", rest);
    expect(res.status).toBe(200);
    const withNull = await h.job("/jobs/failure", {
      ...rest,
      status: null,
      sourceMessageId: "msg_null_status",
    });
    expect(withNull.status).toBe(200);
    expect(await deadLetterOf(h.deps.store, "msg_timed_out")).toMatchObject({
      status: 0,
      error: {
        code: "delivery_failed",
        message: "QStash gave up after 3 retries; last answer none (no HTTP answer)",
      },
    });
  });

  test("a callback without sourceMessageId is a 489 naming the field", async () => {
    const h = makeHarness();
    const { sourceMessageId: _, ...rest } = failureCallback("x");
    const res = await h.job("/jobs/failure", rest);
    expect(res.status).toBe(489);
    const err = ((await res.json()) as { error: { details: { path: string; message: string }[] } }).error;
    expect(err.details).toEqual([{ path: "sourceMessageId", message: "required but missing (string)" }]);
  });

  test("a sourceMessageId longer than /v1/jobs/:id reads back (512) is a 489 naming it, nothing recorded", async () => {
    const h = makeHarness();
    const res = await h.job("/jobs/failure", failureCallback("s".repeat(513)));
    expect(res.status).toBe(489);
    const err = ((await res.json()) as { error: { details: { path: string }[] } }).error;
    expect(err.details.map((d) => d.path)).toEqual(["sourceMessageId"]);
    expect(await deadLetterOf(h.deps.store, "s".repeat(513))).toBeNull();
    expect((await h.job("/jobs/failure", failureCallback("s".repeat(512)))).status).toBe(200);
    expect(await (await h.request(`/v1/jobs/${"s".repeat(512)}`)).json()).toMatchObject({
      dead_letter: { source_message_id: "s".repeat(512) },
    });
  });
});

test("a sourceMessageId with a line break or a space is a 489 naming it (it would be an Idempotency-Key no client can send), nothing recorded", async () => {
  const h = makeHarness();
  for (const id of ["src-1-a\nb", "src 1", "src-1-é"]) {
    const res = await h.job("/jobs/failure", failureCallback(id));
    expect(res.status).toBe(489);
    const err = ((await res.json()) as { error: { details: { path: string; message: string }[] } }).error;
    expect(err.details).toEqual([
      { path: "sourceMessageId", message: "is not a message id (printable ASCII, no spaces)" },
    ]);
    expect(await deadLetterOf(h.deps.store, id)).toBeNull();
  }
});

describe("a message dies once", () => {
  test("a second failure callback for the same source is acknowledged without counting it again", async () => {
    const h = makeHarness();
    expect((await h.job("/jobs/failure", failureCallback("msg_once"))).status).toBe(200);
    const again = await h.job("/jobs/failure", failureCallback("msg_once", { dlqId: "dlq_2" }));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ already_recorded: true, source_message_id: "msg_once" });
    expect(await h.deps.metrics.render()).toContain('alertagent_dead_letters_total{family="notification"} 1');
    expect(await h.deps.store.list("dead-letters", 10)).toHaveLength(1);
  });

  test("the store failing while the dead letter is recorded leaves nothing half-written: the retry records it all", async () => {
    // The store drops the first write that would mark the source message failed.
    const store = new MemoryStore();
    let down = true;
    const touchesSource = (keys: string[]) => keys.includes("job:msg_half");
    const failing = (keys: string[]) => {
      if (down && touchesSource(keys)) {
        down = false;
        throw new Error("connection reset by peer");
      }
    };
    const real = {
      set: store.set.bind(store),
      writeMany: store.writeMany.bind(store),
    };
    // The dead letter is written with the callback's own answer (its finish).
    store.writeMany = async (writes) => {
      failing(writes.map((w) => w.key));
      return real.writeMany(writes);
    };
    store.set = async (key, value, opts) => {
      failing([key]);
      return real.set(key, value, opts);
    };
    const h = makeHarness("worker: { lease: 1s }\n", { store });
    const first = await h.job("/jobs/failure", failureCallback("msg_half"), { messageId: "cb_half" });
    expect(first.status).toBe(503);
    expect(first.headers.get("upstash-nonretryable-error")).toBeNull();
    await Bun.sleep(1100); // the lease the failed finish could not let go expires
    const retry = await h.job("/jobs/failure", failureCallback("msg_half"), {
      messageId: "cb_half",
      retried: 1,
    });
    expect(retry.status).toBe(200);
    expect(await retry.json()).not.toHaveProperty("already_recorded");
    const src = (await (await h.request("/v1/jobs/msg_half")).json()) as Record<string, unknown>;
    expect(src).toMatchObject({ status: "failed", dead_letter: { source_message_id: "msg_half" } });
    expect(await store.list("dead-letters", 10)).toEqual(["msg_half"]);
    expect(await h.deps.metrics.render()).toContain('alertagent_dead_letters_total{family="notification"} 1');
  });
});

describe("a callback for a message still being delivered", () => {
  test("waits for that delivery to end (503 source_in_progress), so its end does not undo the dead letter's marks", async () => {
    const hook = startWebhookSink();
    // QStash gave up on the source while its send still runs here; the send then fails.
    hook.answers.push(async () => {
      await Bun.sleep(400);
      return new Response("busy", { status: 503 });
    });
    try {
      const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${hook.url}" }\n`);
      const source = h.job(
        "/jobs/notification",
        { channels: ["hook"], alerts: [{ labels: { alertname: "Slow" } }] },
        { messageId: "msg_running" },
      );
      await Bun.sleep(100);
      const early = await h.job("/jobs/failure", failureCallback("msg_running"), { messageId: "cb_running" });
      expect(early.status).toBe(503);
      expect(((await early.json()) as { error: { code: string } }).error.code).toBe("source_in_progress");
      expect((await source).status).toBe(503);
      const later = await h.job("/jobs/failure", failureCallback("msg_running"), {
        messageId: "cb_running",
        retried: 1,
      });
      expect(later.status).toBe(200);
      expect(await h.deps.ledger.get("msg_running")).toMatchObject({ status: "failed" });
    } finally {
      await hook.stop();
    }
  });
  test("a delivery that ends in success after QStash gave up stays succeeded: the page went out, a replay answers 200", async () => {
    const hook = startWebhookSink();
    // QStash's answer timeout passed while the send ran; the send then went through.
    hook.answers.push(async () => {
      await Bun.sleep(400);
      return Response.json({ ok: true });
    });
    try {
      const h = makeHarness(
        `channels:\n  hook: { type: webhook, url: "${hook.url}" }\nfailure: { notify: [hook] }\n`,
      );
      const body = { channels: ["hook"], alerts: [{ labels: { alertname: "LateOk" } }] };
      const source = h.job("/jobs/notification", body, { messageId: "msg_late_ok" });
      await Bun.sleep(100);
      const early = await h.job("/jobs/failure", failureCallback("msg_late_ok"), { messageId: "cb_late_ok" });
      expect(early.status).toBe(503);
      expect((await source).status).toBe(200);
      const later = await h.job("/jobs/failure", failureCallback("msg_late_ok"), {
        messageId: "cb_late_ok",
        retried: 1,
      });
      expect(later.status).toBe(200); // the dead letter is recorded: QStash did put it in its DLQ
      expect(await h.deps.ledger.get("msg_late_ok")).toMatchObject({ status: "succeeded" });
      // A late redelivery of the same message is a replay of the success, not a 489 saying in_progress.
      const replay = await h.job("/jobs/notification", body, { messageId: "msg_late_ok", retried: 1 });
      expect([replay.status, replay.headers.get("x-idempotent-replay")]).toEqual([200, "true"]);
      // The page once; ops are told it went through, not asked to resend it by hand.
      expect(hook.requests).toHaveLength(2);
      expect(JSON.stringify(hook.requests[1].body)).toContain("but its delivery then succeeded");
      // A retry from the DLQ would be a new message (new id) and run the job again: ops are told not to.
      expect(JSON.stringify(hook.requests[1].body)).toContain("Do not retry it from the DLQ");
      expect(await deadLetterOf(h.deps.store, "msg_late_ok")).toMatchObject({ source_succeeded: true });
    } finally {
      await hook.stop();
    }
  });
});

describe("failure.notify: the ops channels are told once per dead message", () => {
  test("a dead message is announced with its family, error and DLQ link; a retried callback tells only who was not told", async () => {
    const { startWebhookSink } = await import("../support/webhook-sink.ts");
    const a = startWebhookSink();
    const b = startWebhookSink();
    try {
      const h = makeHarness(`channels:
  ops-a: { type: webhook, url: "${a.url}" }
  ops-b: { type: webhook, url: "${b.url}" }
failure: { notify: [ops-a, ops-b] }
`);
      b.answers.push(() => new Response("busy", { status: 502 }));
      const first = await h.job("/jobs/failure", failureCallback("msg_dead_ops"), { messageId: "cb-1" });
      expect(first.status).toBe(503);
      expect(a.requests).toHaveLength(1);
      const sent = JSON.stringify(a.requests[0].body);
      expect(sent).toContain("AlertAgentDeadLetter");
      expect(sent).toContain("msg_dead_ops");
      expect(sent).toContain("downstream_unavailable");
      expect(sent).toContain("/v2/dlq/dlq_1");
      // QStash retries the callback: only ops-b is tried again, and the dead letter is not counted twice.
      const retry = await h.job("/jobs/failure", failureCallback("msg_dead_ops"), {
        messageId: "cb-1",
        retried: 1,
      });
      expect(retry.status).toBe(200);
      expect(a.requests).toHaveLength(1);
      expect(b.requests).toHaveLength(2);
      expect(await h.deps.metrics.render()).toContain(
        'alertagent_dead_letters_total{family="notification"} 1',
      );
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test("a channel that refuses the notice for good does not fail the dead letter", async () => {
    const { startWebhookSink } = await import("../support/webhook-sink.ts");
    const a = startWebhookSink();
    try {
      const h = makeHarness(
        `channels:\n  ops-a: { type: webhook, url: "${a.url}" }\nfailure: { notify: [ops-a] }\n`,
      );
      a.answers.push(() => new Response("no such hook", { status: 404 }));
      const res = await h.job("/jobs/failure", failureCallback("msg_dead_404"));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        recorded: true,
        notified: { failed: { code: expect.any(String) } },
      });
    } finally {
      await a.stop();
    }
  });
});

test("a dead analysis payload leaves the alerts it had already analysed completed", async () => {
  const h = makeHarness();
  await h.deps.store.set("analysis:fp-done", {
    alert_id: "fp-done",
    status: "completed",
    updated_at: "2026-11-28T00:00:00Z",
  });
  await h.deps.ledger.putStep("msg_partial", "alert:fp-done", {
    status: "succeeded",
    at: "2026-11-28T00:00:00Z",
    attempts: 1,
  });
  const sourceBody = btoa(
    JSON.stringify({
      type: "quick",
      payload: payloadOf([{ fingerprint: "fp-done" }, { fingerprint: "fp-open" }]),
    }),
  );
  await h.job(
    "/jobs/failure",
    failureCallback("msg_partial", { url: "https://w.example.com/jobs/analysis", sourceBody }),
  );
  expect((await h.deps.store.get<{ status: string }>("analysis:fp-done"))?.status).toBe("completed");
  expect((await h.deps.store.get<{ status: string }>("analysis:fp-open"))?.status).toBe("failed");
});
