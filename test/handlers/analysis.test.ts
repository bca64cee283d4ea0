/** POST /jobs/analysis and GET /v1/analyses/:alertId as a user sees them: forms, statuses, redelivery, validation, metrics. */
import { describe, expect, test } from "bun:test";
import type { AnalysisRecord } from "../../src/analysis/status.ts";
import { bigGroup } from "../support/alert-groups.ts";
import {
  aiYaml,
  alertOf,
  fixture,
  fixtureAlert,
  goodAnalysis,
  problemOf,
  resultOf,
  resultsOf,
} from "../support/analysis.ts";
import { workflowDifyPerFile } from "../support/fake-dify.ts";
import { makeHarness } from "../support/harness.ts";

const dify = workflowDifyPerFile();

const builtinOnly = () => makeHarness("ai: { order: [builtin] }\n");
const withDify = (order = ["dify", "builtin"]) =>
  makeHarness(aiYaml({ order, dify: { url: dify.url, workflowKey: "app-wf" } }));
const record = async (h: ReturnType<typeof makeHarness>, id: string) =>
  (await (await h.request(`/v1/analyses/${id}`)).json()) as AnalysisRecord;

describe("POST /jobs/analysis", () => {
  test("one alert: the 200 body is the result, stored under the alert id", async () => {
    const h = builtinOnly();
    const alert = fixtureAlert("alertmanager-firing");
    const r = await resultOf(await h.job("/jobs/analysis", { type: "comprehensive", alert }));
    expect(r).toMatchObject({ alert_id: "5f1c0a8e2b7d3c41", type: "comprehensive", status: "completed" });
    const rec = await record(h, "5f1c0a8e2b7d3c41");
    expect(rec).toMatchObject({ alert_id: "5f1c0a8e2b7d3c41", status: "completed", type: "comprehensive" });
    expect(rec.result).toEqual(r);
  });

  test("the alert id is `id`, else the fingerprint, else a hash of the labels", async () => {
    const h = builtinOnly();
    const a = alertOf({ alertname: "HighCPU", instance: "x" });
    expect(
      (await resultOf(await h.job("/jobs/analysis", { type: "quick", alert: { ...a, id: "alert-42" } })))
        .alert_id,
    ).toBe("alert-42");
    expect((await resultOf(await h.job("/jobs/analysis", { type: "quick", alert: a }))).alert_id).toMatch(
      /^[0-9a-f]{16}$/,
    );
  });

  for (const name of ["alertmanager-firing", "alertmanager-mixed", "alertmanager-zh"] as const) {
    test(`a whole Alertmanager payload (${name}): every alert analysed and stored`, async () => {
      const h = builtinOnly();
      const payload = fixture(name);
      const res = await h.job("/jobs/analysis", { type: "comprehensive", payload });
      const body = (await res.clone().json()) as { group_key: string; status: string };
      expect(body).toMatchObject({ group_key: payload.groupKey, status: payload.status });
      const results = await resultsOf(res);
      expect(results.map((r) => r.alert_id)).toEqual(payload.alerts.map((a) => a.fingerprint as string));
      for (const r of results) expect((await record(h, r.alert_id)).status).toBe("completed");
    });
  }

  test("status moves pending → processing → completed", async () => {
    const h = withDify(["dify"]);
    dify.respond = () => ({ delayMs: 300, reply: { outputs: { analysis: goodAnalysis() } } });
    const [first, second] = fixture("alertmanager-firing").alerts.map((a) => a.fingerprint as string);
    const job = h.job("/jobs/analysis", { type: "comprehensive", payload: fixture("alertmanager-firing") });
    await Bun.sleep(150);
    expect((await record(h, first)).status).toBe("processing");
    expect((await record(h, second)).status).toBe("pending");
    expect((await job).status).toBe(200);
    expect((await record(h, first)).status).toBe("completed");
    expect((await record(h, second)).status).toBe("completed");
  });

  test("a replayed message answers its stored result without analysing again", async () => {
    const h = withDify();
    const body = { type: "comprehensive", alert: fixtureAlert("alertmanager-firing") };
    const first = await h.job("/jobs/analysis", body, { messageId: "msg-an-1" });
    const again = await h.job("/jobs/analysis", body, { messageId: "msg-an-1" });
    expect(again.headers.get("x-idempotent-replay")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    expect(dify.calls).toHaveLength(1);
  });

  test("a redelivery after a transient failure analyses only the alerts not done yet", async () => {
    const h = withDify(["dify"]);
    const payload = fixture("alertmanager-firing");
    dify.respond = (call) =>
      String(call.body.inputs && (call.body.inputs as { alert: string }).alert).includes("10.0.0.12")
        ? { http: 503, code: "unavailable", message: "busy" }
        : { outputs: { analysis: goodAnalysis() } };
    const res = await h.job("/jobs/analysis", { type: "comprehensive", payload }, { messageId: "msg-an-2" });
    expect(res.status).toBe(503);
    expect((await problemOf(res)).details).toEqual({
      failed: [{ alert_id: "9a2e4471c0b8d6f3", code: "engines_unavailable" }],
    });
    expect((await record(h, "5f1c0a8e2b7d3c41")).status).toBe("completed");
    expect((await record(h, "9a2e4471c0b8d6f3")).status).toBe("pending");
    dify.respond = () => ({ outputs: { analysis: goodAnalysis() } });
    dify.calls.length = 0;
    const redelivered = await h.job(
      "/jobs/analysis",
      { type: "comprehensive", payload },
      { messageId: "msg-an-2", retried: 1 },
    );
    expect((await resultsOf(redelivered)).map((r) => r.alert_id)).toEqual([
      "5f1c0a8e2b7d3c41",
      "9a2e4471c0b8d6f3",
    ]);
    expect(dify.calls).toHaveLength(1);
    expect(JSON.parse((dify.calls[0].body.inputs as { alert: string }).alert).fingerprint).toBe(
      "9a2e4471c0b8d6f3",
    );
  });

  test("an alert storm's payload: at most ai.job_alerts analysed, firing first; the answer counts the rest", async () => {
    const storm = bigGroup(260, { resolvedEvery: 4 }); // 65 resolved among them
    const h = makeHarness("ai: { order: [builtin] }\n");
    const res = await h.job("/jobs/analysis", { type: "quick", payload: storm });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { alert_id: string }[]; left_out: number };
    expect(body.results).toHaveLength(200);
    expect(body.left_out).toBe(60);
    // The 195 firing alerts all got one; 5 slots went to resolved ones.
    const firing = storm.alerts.filter((a) => a.status === "firing").map((a) => a.fingerprint);
    const analysed = body.results.map((r) => r.alert_id);
    expect(firing.every((f) => analysed.includes(f))).toBe(true);
    // In the payload's order, as a client pairing results with alerts expects.
    const order = storm.alerts.map((a) => a.fingerprint);
    expect(analysed).toEqual(order.filter((f) => analysed.includes(f)));
    const small = makeHarness("ai: { order: [builtin], job_alerts: 5 }\n");
    const few = (await (
      await small.job("/jobs/analysis", { type: "quick", payload: storm })
    ).json()) as typeof body;
    expect([few.results.length, few.left_out]).toEqual([5, 255]);
  });

  test("invalid jobs are 489, naming the path of each bad field", async () => {
    const h = builtinOnly();
    const alert = fixtureAlert("alertmanager-firing");
    const cases: [unknown, string[]][] = [
      [{ type: "comprehensive", alert, typo: 1 }, ["(root)"]],
      [{ type: "deep", alert }, ["type"]],
      [{ type: "quick" }, ["alert"]],
      [{ type: "quick", alert, payload: fixture("alertmanager-firing") }, ["alert"]],
      [{ type: "quick", alert: { labels: { severity: "critical" } } }, ["alert.labels"]],
      [{ type: "quick", alert, engine: "gpt" }, ["engine"]],
      [{ type: "quick", alert, language: "fr" }, ["language"]],
      [{ type: "quick", payload: { ...fixture("alertmanager-firing"), alerts: [] } }, ["payload.alerts"]],
    ];
    for (const [body, paths] of cases) {
      const res = await h.job("/jobs/analysis", body);
      expect(res.status).toBe(489);
      const err = await problemOf(res);
      expect(err.code).toBe("invalid_payload");
      expect((err.details as { path: string }[]).map((d) => d.path)).toEqual(paths);
    }
  });
});

describe("GET /v1/analyses/:alertId", () => {
  test("404 for an alert never analysed", async () => {
    const res = await builtinOnly().request("/v1/analyses/nope");
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe("not_found");
  });

  test("needs the admin token when one is set, like every /v1 route", async () => {
    const h = makeHarness("worker: { admin_token: s3cret }\nai: { order: [builtin] }\n");
    await h.job("/jobs/analysis", { type: "quick", alert: fixtureAlert("alertmanager-firing") });
    expect((await h.request("/v1/analyses/5f1c0a8e2b7d3c41")).status).toBe(401);
    expect((await h.request("/v1/alerts/5f1c0a8e2b7d3c41/similar")).status).toBe(401);
    const ok = await h.request("/v1/analyses/5f1c0a8e2b7d3c41", {
      headers: { authorization: "Bearer s3cret" },
    });
    expect(ok.status).toBe(200);
  });

  test("a dead analysis job (QStash failure callback) shows as failed, keeping the last result", async () => {
    const h = builtinOnly();
    const alert = fixtureAlert("alertmanager-firing");
    await h.job("/jobs/analysis", { type: "quick", alert });
    const sourceBody = btoa(JSON.stringify({ type: "comprehensive", alert }));
    await h.job("/jobs/failure", {
      status: 503,
      sourceMessageId: "msg-dead",
      url: "https://w.example.com/jobs/analysis",
      sourceBody,
      retried: 3,
    });
    const rec = await record(h, alert.id as string);
    expect(rec).toMatchObject({ status: "failed", error: { code: "delivery_failed" } });
    expect(rec.result).toMatchObject({ type: "quick", status: "completed" });
  });
});

describe("analysis metrics", () => {
  test("/metrics counts analyses by engine and outcome, engine health and latency", async () => {
    const h = withDify();
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "boom" });
    await h.job("/jobs/analysis", { type: "comprehensive", alert: fixtureAlert("alertmanager-firing") });
    const text = await (await h.request("/metrics")).text();
    expect(text).toContain('alertagent_analysis_total{engine="dify-workflow",outcome="failed_transient"} 1');
    expect(text).toContain('alertagent_analysis_total{engine="builtin",outcome="succeeded"} 1');
    expect(text).toContain('alertagent_engine_up{engine="dify-workflow"} 0');
    expect(text).toContain('alertagent_engine_up{engine="builtin"} 1');
    expect(text).toContain('alertagent_engine_duration_seconds_count{engine="dify-workflow"} 1');
  });
});
