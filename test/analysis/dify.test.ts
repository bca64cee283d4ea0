/** The Dify engine against the fake Dify (docs/contracts.md#dify), seen through POST /jobs/analysis: app shapes, errors, repair, readiness. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { difyEngine } from "../../src/analysis/dify.ts";
import { aiYaml, fixtureAlert, goodAnalysis, problemOf, resultOf } from "../support/analysis.ts";
import { type FakeDify, startFakeDify } from "../support/fake-dify.ts";
import { makeHarness } from "../support/harness.ts";

let dify: FakeDify;
const alert = fixtureAlert("alertmanager-firing");

beforeAll(async () => {
  dify = await startFakeDify({
    apps: [
      { key: "app-wf", mode: "workflow" },
      { key: "app-chat", mode: "chat" },
      { key: "app-agent", mode: "agent-chat" },
    ],
  });
});
afterAll(() => dify.stop());
beforeEach(() => {
  dify.calls.length = 0;
});

const harness = (
  over: {
    order?: string[];
    chatKey?: string;
    chatMode?: "chat" | "agent";
    workflowKey?: string;
    timeout?: string;
    reuseFor?: string;
  } = {},
) =>
  makeHarness(
    aiYaml({
      order: over.order ?? ["dify", "builtin"],
      dify: {
        url: dify.url,
        workflowKey: over.workflowKey ?? "app-wf",
        chatKey: over.chatKey ?? "app-chat",
        chatMode: over.chatMode,
        timeout: over.timeout,
      },
      reuseFor: over.reuseFor,
    }),
  );

describe("Dify workflow apps (comprehensive)", () => {
  test("a succeeded run answers, with the inputs the app contract names and its token total", async () => {
    dify.respond = () => ({ outputs: { analysis: goodAnalysis() }, total_tokens: 512 });
    const h = harness();
    const r = await resultOf(await h.job("/jobs/analysis", { type: "comprehensive", alert }));
    expect(r).toMatchObject({
      engine: "dify-workflow",
      degraded: false,
      summary: "CPU saturated by a runaway batch job on 10.0.0.11",
      severity: "critical",
      tokens: { prompt: 512, completion: 0 },
    });
    expect(r.attempts).toEqual([{ engine: "dify-workflow", ok: true, ms: expect.any(Number) }]);
    const call = dify.calls[0];
    expect(call.path).toBe("/v1/workflows/run");
    expect(call.app.key).toBe("app-wf");
    expect(call.body).toMatchObject({
      user: "alertagent-worker",
      response_mode: "blocking",
      inputs: { type: "comprehensive", language: "en" },
    });
    expect(JSON.parse((call.body.inputs as { alert: string }).alert).labels).toEqual(alert.labels);
  });

  test("`analysis` given as JSON text, and `text` alone as the summary, are both accepted", async () => {
    const h = harness();
    dify.respond = () => ({
      outputs: { analysis: JSON.stringify(goodAnalysis({ summary: "from JSON text" })) },
    });
    expect((await resultOf(await h.job("/jobs/analysis", { type: "comprehensive", alert }))).summary).toBe(
      "from JSON text",
    );
    dify.respond = () => ({ outputs: { text: "Probably a runaway process; check top." } });
    const r = await resultOf(await h.job("/jobs/analysis", { type: "comprehensive", alert }));
    expect(r).toMatchObject({
      engine: "dify-workflow",
      summary: "Probably a runaway process; check top.",
      severity: "critical",
      root_causes: [],
      remediation: [],
    });
  });

  test("a run that ends partial-succeeded (a node failed, the app's error strategy handled it) is a result when it has the output", async () => {
    dify.respond = () => ({
      outputs: { analysis: goodAnalysis({ summary: "from a fail branch" }) },
      status: "partial-succeeded",
    });
    const r = await resultOf(await harness().job("/jobs/analysis", { type: "comprehensive", alert }));
    expect(r).toMatchObject({ engine: "dify-workflow", degraded: false, summary: "from a fail branch" });
    dify.respond = () => ({ outputs: null, status: "partial-succeeded" });
    const none = await resultOf(await harness().job("/jobs/analysis", { type: "comprehensive", alert }));
    expect(none.engine).toBe("builtin");
  });

  test("the model provider failing behind Dify (400 completion_request_error) is a wait: with Dify alone, 503 for QStash to retry", async () => {
    dify.respond = () => ({
      http: 400,
      code: "completion_request_error",
      message: "[openai] Server Unavailable Error, Request timed out.",
    });
    const res = await harness({ order: ["dify"] }).job("/jobs/analysis", { type: "comprehensive", alert });
    expect(res.status).toBe(503);
    expect((await problemOf(res)).code).toBe("engines_unavailable");
    // The same code for the provider refusing the credentials (Dify's InvokeAuthorizationError): for good.
    dify.respond = () => ({
      http: 400,
      code: "completion_request_error",
      message: "[openai] Incorrect model credentials provided, please check and try again.",
    });
    const refused = await harness({ order: ["dify"] }).job("/jobs/analysis", {
      type: "comprehensive",
      alert,
    });
    expect(refused.status).toBe(489);
    // A gateway's timeout quoted in the detail is still an outage (Dify's class comes first).
    dify.respond = () => ({
      http: 400,
      code: "completion_request_error",
      message:
        "[openai_api_compatible] Server Unavailable Error, Error code: 504 - {'error': 'context deadline exceeded (invalid request)'}",
    });
    const outage = await harness({ order: ["dify"] }).job("/jobs/analysis", { type: "comprehensive", alert });
    expect(outage.status).toBe(503);
  });

  for (const status of ["failed", "paused"] as const) {
    test(`a run that ends ${status} under HTTP 200 is a failure: the next engine answers`, async () => {
      dify.respond = () => ({ outputs: null, status, error: "LLM node timed out" });
      const r = await resultOf(await harness().job("/jobs/analysis", { type: "comprehensive", alert }));
      expect(r.engine).toBe("builtin");
      expect(r.degraded).toBe(true);
      expect(r.attempts[0]).toMatchObject({ engine: "dify-workflow", ok: false });
      expect(r.attempts[0].error).toContain(`run ${status}`);
    });
  }

  test("a failed run is transient: with Dify alone the job answers 503 for QStash to retry", async () => {
    dify.respond = () => ({ outputs: null, status: "failed", error: "upstream model overloaded" });
    const res = await harness({ order: ["dify"] }).job("/jobs/analysis", { type: "comprehensive", alert });
    expect(res.status).toBe(503);
    expect((await problemOf(res)).code).toBe("engines_unavailable");
  });
});

describe("Dify chat apps (quick, root_cause)", () => {
  test("the prompt goes as `query`; a fenced JSON answer is read; usage is recorded", async () => {
    dify.respond = () => ({
      answer: `Here is the analysis:\n\`\`\`json\n${JSON.stringify(goodAnalysis({ summary: "quick take" }))}\n\`\`\``,
      usage: { prompt_tokens: 300, completion_tokens: 90 },
    });
    const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
    expect(r).toMatchObject({
      engine: "dify-chat",
      summary: "quick take",
      tokens: { prompt: 300, completion: 90 },
    });
    const call = dify.calls[0];
    expect(call.path).toBe("/v1/chat-messages");
    expect(call.app.key).toBe("app-chat");
    expect(call.body).toMatchObject({ response_mode: "blocking", user: "alertagent-worker", inputs: {} });
    expect(call.body.query).toContain("quick triage");
    expect(call.body.query).toContain('"alertname":"HighCPU"');
  });

  test("root_cause uses the root-cause prompt", async () => {
    dify.respond = () => ({ answer: JSON.stringify(goodAnalysis()) });
    await resultOf(await harness().job("/jobs/analysis", { type: "root_cause", alert }));
    expect(dify.calls[0].body.query).toContain("Find the root cause of this alert");
  });

  test("a reasoning model's <think> and a note after the JSON are not the analysis", async () => {
    const json = JSON.stringify(goodAnalysis({ summary: "数据库连接池耗尽" }));
    for (const answer of [
      `<think>\n用户要求输出 {summary, root_causes} 的 JSON……\n</think>\n${json}`,
      `${json}\n补充：可执行 up{job="api"} 查看实例是否存活`,
      `先看 {instance} 标签：\n${json}`,
    ]) {
      dify.respond = () => ({ answer });
      const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
      expect(r).toMatchObject({ engine: "dify-chat", summary: "数据库连接池耗尽" });
      expect((r.root_causes as unknown[]).length).toBeGreaterThan(0);
    }
  });

  test("a free-text answer's <think> is not in the summary", async () => {
    dify.respond = () => ({ answer: "<think>The user wants a summary…</think>\nThe disk on db-1 is full." });
    const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
    expect(r.summary).toBe("The disk on db-1 is full.");
  });

  test("a gateway's error page passed on as the answer is no analysis: the next engine answers", async () => {
    dify.respond = () => ({
      answer: "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    });
    const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
    expect(r.engine).toBe("builtin");
    expect(r.summary).not.toContain("Bad Gateway");
    expect(JSON.stringify(r.attempts)).toContain("HTML page");
  });

  test("a free-text answer that quotes a tag (`<title>`, `<body>`) is still an answer", async () => {
    for (const answer of [
      "The probe fails because the login page's <title> no longer matches the regex.",
      "探测失败：登录页返回的 <body> 为空，可能是 08:00 的发布导致。",
    ]) {
      dify.respond = () => ({ answer });
      const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
      expect(r).toMatchObject({ engine: "dify-chat", summary: answer });
    }
  });

  test("a free-text answer becomes the summary", async () => {
    dify.respond = () => ({ answer: "Looks like a noisy neighbour; check steal time." });
    const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
    expect(r).toMatchObject({
      engine: "dify-chat",
      summary: "Looks like a noisy neighbour; check steal time.",
    });
  });

  test("an alert with a whole log in its description is sent cut, marked, in the inputs and in the query", async () => {
    dify.respond = (call) =>
      call.path.includes("workflows")
        ? { outputs: { analysis: goodAnalysis() } }
        : { answer: JSON.stringify(goodAnalysis()) };
    const long = { ...alert, annotations: { ...alert.annotations, description: "日志".repeat(100_000) } };
    const h = harness();
    await resultOf(await h.job("/jobs/analysis", { type: "quick", alert: long }));
    await resultOf(
      await h.job("/jobs/analysis", { type: "comprehensive", alert: { ...long, fingerprint: "other" } }),
    );
    const sent = dify.calls.map((c) => JSON.stringify(c.body));
    expect(sent).toHaveLength(2);
    for (const body of sent) {
      expect(body.length).toBeLessThan(30_000);
      expect(body).toMatch(/[日志]…/);
    }
  });

  test("an answer that runs on is cut to what a page and a record can carry, visibly", async () => {
    // 3 million characters of summary and 50 causes were seen from a misbehaving app.
    dify.respond = () => ({
      answer: JSON.stringify(
        goodAnalysis({
          summary: "磁".repeat(300_000),
          root_causes: Array.from({ length: 50 }, (_, i) => ({
            cause: `c${i} ${"x".repeat(5000)}`,
            confidence: 0.5,
            evidence: "",
          })),
        }),
      ),
    });
    const h = harness();
    const res = await h.job("/jobs/analysis", { type: "quick", alert });
    const text = await res.clone().text();
    const r = await resultOf(res);
    expect(r).toMatchObject({ engine: "dify-chat", degraded: false });
    expect(r.summary.length).toBe(4000);
    expect(r.summary).toEndWith("磁…");
    expect(r.root_causes).toHaveLength(10);
    expect(r.root_causes[0].cause.length).toBe(1000);
    expect(text.length).toBeLessThan(40_000);
  });

  test("an answer that does not fit is repaired once, in the same conversation", async () => {
    let n = 0;
    dify.respond = () =>
      n++ === 0
        ? {
            answer: JSON.stringify(goodAnalysis({ severity: "catastrophic" })),
            usage: { prompt_tokens: 100, completion_tokens: 10 },
          }
        : {
            answer: JSON.stringify(goodAnalysis({ summary: "repaired" })),
            usage: { prompt_tokens: 150, completion_tokens: 20 },
          };
    const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
    expect(r).toMatchObject({
      engine: "dify-chat",
      summary: "repaired",
      tokens: { prompt: 250, completion: 30 },
    });
    expect(dify.calls).toHaveLength(2);
    expect(dify.calls[1].body.conversation_id).toBeString();
    expect(dify.calls[1].body.query).toContain("did not match the required JSON shape");
    expect(dify.calls[1].body.query).toContain("severity");
  });

  test("a zh job answered in English is asked once for Chinese; a second English answer is kept", async () => {
    const zh = () =>
      makeHarness(
        aiYaml({ order: ["dify", "builtin"], language: "zh", dify: { url: dify.url, chatKey: "app-chat" } }),
      );
    let n = 0;
    dify.respond = () => ({
      answer: JSON.stringify(
        goodAnalysis({ summary: n++ === 0 ? "CPU saturated by a batch job" : "批处理任务占满 CPU" }),
      ),
    });
    const r = await resultOf(await zh().job("/jobs/analysis", { type: "quick", alert }));
    expect(r).toMatchObject({ engine: "dify-chat", degraded: false, summary: "批处理任务占满 CPU" });
    expect(dify.calls).toHaveLength(2);
    expect(dify.calls[1].body.query).toContain("in Chinese (简体中文)");
    // Still English after the one repair: the analysis that fit is kept, not thrown away.
    dify.calls.length = 0;
    dify.respond = () => ({
      answer: JSON.stringify(goodAnalysis({ summary: "CPU saturated by a batch job" })),
    });
    const kept = await resultOf(await zh().job("/jobs/analysis", { type: "quick", alert }));
    expect(kept).toMatchObject({ engine: "dify-chat", summary: "CPU saturated by a batch job" });
    expect(dify.calls).toHaveLength(2);
  });

  test("an en job answered in Chinese is asked once for English; an English summary quoting a Chinese alert name is not", async () => {
    const en = () =>
      makeHarness(aiYaml({ order: ["dify", "builtin"], dify: { url: dify.url, chatKey: "app-chat" } }));
    let n = 0;
    dify.respond = () => ({
      answer: JSON.stringify(
        goodAnalysis({
          summary: n++ === 0 ? "支付服务的 Pod 反复崩溃重启。" : "The payments pod keeps crashing.",
        }),
      ),
    });
    const r = await resultOf(await en().job("/jobs/analysis", { type: "quick", alert }));
    expect(r).toMatchObject({ engine: "dify-chat", summary: "The payments pod keeps crashing." });
    expect(dify.calls).toHaveLength(2);
    expect(dify.calls[1].body.query).toContain("write the summary, causes and steps in English");
    dify.calls.length = 0;
    dify.respond = () => ({
      answer: JSON.stringify(goodAnalysis({ summary: "磁盘空间不足 fired: /var on db-1 is 95% full" })),
    });
    await resultOf(await en().job("/jobs/analysis", { type: "quick", alert }));
    expect(dify.calls).toHaveLength(1);
  });

  test("an answer still broken after the repair makes Dify fail: the next engine answers", async () => {
    dify.respond = () => ({
      answer: JSON.stringify({ summary: "x", severity: "warning", root_causes: "none" }),
    });
    const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
    expect(r).toMatchObject({ engine: "builtin", degraded: true });
    expect(r.attempts[0].error).toContain("does not fit the analysis schema");
    expect(dify.calls).toHaveLength(2);
  });
});

describe("the same alert in another message (a reminder, an HA peer's copy, a group that grew)", () => {
  const ask = (h: ReturnType<typeof harness>, messageId: string, over: Record<string, unknown> = {}) =>
    h.job("/jobs/analysis", { type: "comprehensive", alert: { ...alert, ...over } }, { messageId });

  test("is answered with the analysis made moments ago in the same episode: Dify is not paid twice", async () => {
    dify.respond = () => ({ outputs: { analysis: goodAnalysis() }, total_tokens: 512 });
    const h = harness({ reuseFor: "1h" });
    const first = await resultOf(await ask(h, "m-peer-1"));
    const second = await resultOf(await ask(h, "m-peer-2"));
    expect(dify.calls).toHaveLength(1);
    expect(second).toMatchObject({
      summary: first.summary,
      engine: "dify-workflow",
      reused_from: "m-peer-1",
    });
    // Nothing was asked or spent for it: a caller summing tokens per answer does not count them twice.
    expect(first.tokens.prompt + first.tokens.completion).toBeGreaterThan(0);
    expect(second).toMatchObject({ attempts: [], tokens: { prompt: 0, completion: 0 }, latency_ms: 0 });
    // Its own redelivery replays that answer; /v1 still shows the analysis the engine made.
    expect(await resultOf(await ask(h, "m-peer-2"))).toMatchObject({ reused_from: "m-peer-1" });
    expect(dify.calls).toHaveLength(1);
    const stored = (await (await h.request(`/v1/analyses/${second.alert_id}`)).json()) as { result: unknown };
    expect(stored.result).toMatchObject({ summary: first.summary });
  });

  test("is analysed again in another language, in a new episode, past ai.reuse_for, or resolved", async () => {
    dify.respond = () => ({ outputs: { analysis: goodAnalysis() }, total_tokens: 512 });
    const h = harness({ reuseFor: "1h" });
    await resultOf(await ask(h, "m-1"));
    await resultOf(
      await h.job("/jobs/analysis", { type: "comprehensive", alert, language: "zh" }, { messageId: "m-2" }),
    );
    expect(dify.calls).toHaveLength(2);
    // Fired again after the analysis: a new episode.
    await resultOf(await ask(h, "m-3", { startsAt: new Date(Date.now() + 1000).toISOString() }));
    expect(dify.calls).toHaveLength(3);
    await resultOf(await ask(h, "m-4", { status: "resolved", endsAt: new Date().toISOString() }));
    expect(dify.calls).toHaveLength(4);
    // Asked of the built-in engine alone, or about another alert under the same id: not an answer for this job.
    const h2 = harness({ reuseFor: "1h" });
    await resultOf(
      await h2.job(
        "/jobs/analysis",
        { type: "comprehensive", alert, engine: "builtin" },
        { messageId: "m-b" },
      ),
    );
    await resultOf(await ask(h2, "m-auto"));
    expect(dify.calls).toHaveLength(5);
    await resultOf(await ask(h2, "m-other", { labels: { ...alert.labels, instance: "web-7:9100" } }));
    expect(dify.calls).toHaveLength(6);
    dify.calls.length = 0;
    const off = harness({ reuseFor: "0s" });
    await resultOf(await ask(off, "m-5"));
    await resultOf(await ask(off, "m-6"));
    expect(dify.calls).toHaveLength(2);
  });
});

describe("Dify errors", () => {
  test("a wrong app key (401) is that engine failing now: 489 when it is the only engine", async () => {
    const res = await harness({ order: ["dify"], chatKey: "app-wrong" }).job("/jobs/analysis", {
      type: "quick",
      alert,
    });
    expect(res.status).toBe(489);
    expect(res.headers.get("upstash-nonretryable-error")).toBe("true");
    const err = await problemOf(res);
    expect(err.code).toBe("analysis_failed");
    expect(err.message).toContain("401 unauthorized");
  });

  test("429 too_many_requests is transient: 503 with the Retry-After Dify gave", async () => {
    dify.respond = () => ({
      http: 429,
      code: "too_many_requests",
      message: "Too many requests",
      headers: { "Retry-After": "40" },
    });
    const res = await harness({ order: ["dify"] }).job("/jobs/analysis", { type: "quick", alert });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("40");
    expect((await problemOf(res)).retryable).toBe(true);
  });

  test("429 rate_limit_error (the model provider's limit) is a wait too: 503 alone, the built-in engine otherwise", async () => {
    dify.respond = () => ({ http: 429, code: "rate_limit_error", message: "Rate Limit Error" });
    const alone = await harness({ order: ["dify"] }).job("/jobs/analysis", { type: "quick", alert });
    expect(alone.status).toBe(503);
    // Its 10 s wait, raised to QStash's own first backoff (e^2.5 ≈ 12.2 s).
    expect(alone.headers.get("retry-after")).toBe("13");
    expect((await problemOf(alone)).message).toContain("rate_limit_error");
    const r = await resultOf(await harness().job("/jobs/analysis", { type: "quick", alert }));
    expect(r).toMatchObject({ engine: "builtin", degraded: true });
  });

  test("5xx is transient", async () => {
    dify.respond = () => ({ http: 502, code: "bad_gateway", message: "upstream down" });
    const res = await harness({ order: ["dify"] }).job("/jobs/analysis", { type: "quick", alert });
    expect(res.status).toBe(503);
  });

  test("an answer slower than the timeout is abandoned and the next engine answers", async () => {
    dify.respond = () => ({ delayMs: 1500, reply: { answer: JSON.stringify(goodAnalysis()) } });
    const t = Date.now();
    const r = await resultOf(
      await harness({ timeout: "200ms" }).job("/jobs/analysis", { type: "quick", alert }),
    );
    expect(Date.now() - t).toBeLessThan(1200);
    expect(r).toMatchObject({ engine: "builtin", degraded: true });
    expect(r.attempts[0].error).toBe("dify-chat: no answer within 200 ms");
  });

  test("an answer that runs on is read no further than 4 MiB, and the next engine answers", async () => {
    dify.respond = () => ({ endless: true });
    dify.streamed = 0;
    const t = Date.now();
    const r = await resultOf(
      await harness({ timeout: "20s" }).job("/jobs/analysis", { type: "quick", alert }),
    );
    expect(r).toMatchObject({ engine: "builtin", degraded: true });
    expect(r.attempts[0].error).toBe("dify-chat: answered more than 4 MiB (HTTP 200); not read further");
    expect(dify.streamed).toBeLessThan(16 * 1024 * 1024); // of the 64 MiB offered (the sockets buffer a few MB ahead)
    expect(Date.now() - t).toBeLessThan(10_000);
  });

  test("an agent app (streaming only) configured as a chat app is refused, not waited on", async () => {
    const res = await harness({ order: ["dify"], chatKey: "app-agent" }).job("/jobs/analysis", {
      type: "quick",
      alert,
    });
    expect(res.status).toBe(489);
    expect((await problemOf(res)).message).toContain("Agent Chat App does not support blocking mode");
  });
});

describe("Dify agent apps (mode: agent, streaming only)", () => {
  test("the answer streams in agent_message pieces and message_end closes it, with the usage", async () => {
    dify.respond = () => ({
      answer: JSON.stringify(goodAnalysis()),
      usage: { prompt_tokens: 90, completion_tokens: 40 },
    });
    const r = await resultOf(
      await harness({ chatKey: "app-agent", chatMode: "agent" }).job("/jobs/analysis", {
        type: "quick",
        alert,
      }),
    );
    expect(r).toMatchObject({
      engine: "dify-agent",
      degraded: false,
      summary: "CPU saturated by a runaway batch job on 10.0.0.11",
      tokens: { prompt: 90, completion: 40 },
    });
    expect(dify.calls[0].body).toMatchObject({
      response_mode: "streaming",
      user: "alertagent-worker",
      inputs: {},
    });
  });

  test("message_replace (output moderation) replaces what was streamed: the replacement is the answer", async () => {
    dify.respond = () => ({
      answer: JSON.stringify(goodAnalysis({ summary: "flagged words" })),
      replacedBy: JSON.stringify(goodAnalysis({ summary: "内容不合规，已被替换" })),
    });
    const r = await resultOf(
      await harness({ chatKey: "app-agent", chatMode: "agent" }).job("/jobs/analysis", {
        type: "quick",
        alert,
      }),
    );
    expect(r).toMatchObject({ engine: "dify-agent", summary: "内容不合规，已被替换" });
  });

  test("a stream that breaks before message_end is not trusted: the built-in engine answers", async () => {
    dify.respond = () => ({ answer: JSON.stringify(goodAnalysis()), breakAfter: 3 });
    const r = await resultOf(
      await harness({ chatKey: "app-agent", chatMode: "agent" }).job("/jobs/analysis", {
        type: "quick",
        alert,
      }),
    );
    expect(r).toMatchObject({ engine: "builtin", degraded: true });
    expect(r.attempts[0].error).toContain("dify-agent: the stream ended before message_end");
  });

  test("an error event in the stream is the engine failing: 429 too_many_requests is retried later", async () => {
    dify.respond = () => ({
      streamError: { status: 429, code: "too_many_requests", message: "Too many requests" },
    });
    const res = await harness({ order: ["dify"], chatKey: "app-agent", chatMode: "agent" }).job(
      "/jobs/analysis",
      {
        type: "quick",
        alert,
      },
    );
    expect(res.status).toBe(503);
    expect((await problemOf(res)).message).toContain("dify-agent answered 429 too_many_requests");
  });

  test("readiness: an agent app configured as agent is ready", async () => {
    const ok = await difyEngine(harness({ chatKey: "app-agent", chatMode: "agent" }).deps).ready(
      AbortSignal.timeout(2000),
    );
    expect(ok).toMatchObject({ ok: true, detail: expect.stringContaining("quick: agent-chat") });
  });
});

describe("Dify readiness (GET /info)", () => {
  test("every configured app answers with its key and the mode it is configured as", async () => {
    const ok = await difyEngine(harness().deps).ready(AbortSignal.timeout(2000));
    expect(ok).toMatchObject({ ok: true, detail: "comprehensive: workflow, quick: chat, root_cause: chat" });
  });

  test("a wrong key or a mode mismatch is reported by app", async () => {
    const bad = await difyEngine(harness({ chatKey: "app-wrong" }).deps).ready(AbortSignal.timeout(2000));
    expect(bad.ok).toBe(false);
    expect(bad.detail).toContain("quick: dify-chat answered 401 unauthorized");
    const agent = await difyEngine(harness({ chatKey: "app-agent" }).deps).ready(AbortSignal.timeout(2000));
    expect(agent).toMatchObject({
      ok: false,
      detail: "quick: the app is in agent-chat mode, configured as chat",
    });
  });
});
