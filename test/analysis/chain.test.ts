/** The fallback chain and the per-engine circuit breaker, seen through POST /jobs/analysis and /metrics. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { engineHealth } from "../../src/analysis/health.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { fixture } from "../support/alert-groups.ts";
import { aiYaml, fixtureAlert, goodAnalysis, manualClock, problemOf, resultOf } from "../support/analysis.ts";
import { type FakeDify, startFakeDify } from "../support/fake-dify.ts";
import { type FakeOllama, startFakeOllama } from "../support/fake-ollama.ts";
import { makeHarness } from "../support/harness.ts";
import { around } from "../support/store-spy.ts";

let dify: FakeDify;
let ollama: FakeOllama;
const DOWN = "http://127.0.0.1:1";
const alert = fixtureAlert("alertmanager-firing");

beforeAll(async () => {
  dify = await startFakeDify({ apps: [{ key: "app-wf", mode: "workflow" }] });
  ollama = await startFakeOllama({ models: ["qwen2.5:7b"] });
});
afterAll(async () => {
  await dify.stop();
  await ollama.stop();
});
beforeEach(() => {
  dify.calls.length = 0;
  ollama.calls.length = 0;
  dify.respond = () => ({ outputs: { analysis: goodAnalysis({ summary: "from dify" }) } });
  ollama.respond = () => ({ content: JSON.stringify(goodAnalysis({ summary: "from ollama" })) });
});

function harness(
  o: { order?: string[]; difyUp?: boolean; ollamaUp?: boolean; breaker?: string } = {},
  extra = {},
) {
  return makeHarness(
    aiYaml({
      order: o.order,
      dify: { url: o.difyUp === false ? `${DOWN}/v1` : dify.url, workflowKey: "app-wf" },
      ollama: { url: o.ollamaUp === false ? DOWN : ollama.url },
    }) + (o.breaker ? `  breaker: ${o.breaker}\n` : ""),
    extra,
  );
}
/** A harness on a manual clock (the store's too), with `ai.breaker` set. */
function clocked(breaker: string) {
  const clock = manualClock();
  return { clock, h: harness({ breaker }, { now: clock.now, store: new MemoryStore(clock.now) }) };
}
const analyse = (h: ReturnType<typeof harness>, body: Record<string, unknown> = {}) =>
  h.job("/jobs/analysis", { type: "comprehensive", alert, ...body });

describe("the dashboard's engine table", () => {
  test("one row per engine name jobs use, with its probe, breaker and counts together", async () => {
    const h = harness({ order: ["dify", "builtin"] });
    expect((await resultOf(await analyse(h))).engine).toBe("dify-workflow");
    const html = await (await h.request("/dashboard")).text();
    const table = html.slice(
      html.indexOf("<h2>Analysis engines</h2>"),
      html.indexOf("</table>", html.indexOf("<h2>Analysis engines</h2>")),
    );
    const rows = [...table.matchAll(/<tr><td>([^<]+)<\/td>(.*?)<\/tr>/g)].map((m) => [m[1], m[2]]);
    expect(rows.map((r) => r[0])).toEqual(["dify-workflow", "builtin"]);
    expect(rows[0][1]).toContain('<span class="ok">up</span>');
    expect(rows[0][1]).toContain("closed");
    expect(rows[0][1]).toContain("succeeded 1");
  });
});

describe("the fallback chain (ai.order)", () => {
  test("Dify answers first when it is up", async () => {
    const r = await resultOf(await analyse(harness()));
    expect(r).toMatchObject({ engine: "dify-workflow", degraded: false, summary: "from dify" });
    expect(r.attempts.map((a) => [a.engine, a.ok])).toEqual([["dify-workflow", true]]);
    expect(ollama.calls).toHaveLength(0);
  });

  test("Dify down → Ollama answers, degraded, and the attempts say why", async () => {
    const r = await resultOf(await analyse(harness({ difyUp: false })));
    expect(r).toMatchObject({ engine: "ollama", degraded: true, summary: "from ollama" });
    expect(r.attempts.map((a) => [a.engine, a.ok])).toEqual([
      ["dify-workflow", false],
      ["ollama", true],
    ]);
    expect(r.attempts[0].error).toContain("dify-workflow: cannot reach http://127.0.0.1:1");
    expect(r.note).toBe("dify-workflow did not answer; ollama answered instead.");
  });

  test("Dify and Ollama down → the built-in engine answers, degraded", async () => {
    const r = await resultOf(await analyse(harness({ difyUp: false, ollamaUp: false })));
    expect(r).toMatchObject({ engine: "builtin", degraded: true });
    expect(r.summary).toContain("CPU on 10.0.0.11 is saturated");
    expect(r.attempts.map((a) => [a.engine, a.ok])).toEqual([
      ["dify-workflow", false],
      ["ollama", false],
      ["builtin", true],
    ]);
    expect(r.note).toBe(
      "dify-workflow, ollama did not answer; this is the built-in rule-based analysis (no AI).",
    );
    // A zh job is told so in Chinese, as plainly.
    const zh = await resultOf(
      await makeHarness(
        aiYaml({ language: "zh", dify: { url: `${DOWN}/v1`, workflowKey: "app-wf" }, ollama: { url: DOWN } }),
      ).job("/jobs/analysis", { type: "comprehensive", alert }),
    );
    expect(zh.note).toBe("dify-workflow、ollama 未能应答；以下为内置规则引擎的分析（不经 AI）。");
    // Not degraded: no note.
    expect((await resultOf(await analyse(harness()))).note).toBeUndefined();
  });

  test("every engine failing transiently → 503 with Retry-After; the analysis is pending again", async () => {
    const h = harness({ order: ["dify", "ollama"], difyUp: false });
    ollama.respond = () => ({ http: 503, error: "server busy" });
    const res = await analyse(h);
    expect(res.status).toBe(503);
    const err = await problemOf(res);
    expect(err.code).toBe("engines_unavailable");
    expect(err.message).toContain("ollama answered 503");
    const rec = await (await h.request(`/v1/analyses/${alert.id}`)).json();
    expect(rec).toMatchObject({ status: "pending", error: { code: "engines_unavailable" } });
  });

  test("a permanent failure with nothing after it → 489; the analysis is failed", async () => {
    const h = harness({ order: ["dify"] });
    dify.respond = () => ({ http: 400, code: "provider_quota_exceeded", message: "quota exceeded" });
    const res = await analyse(h);
    expect(res.status).toBe(489);
    const rec = await (await h.request(`/v1/analyses/${alert.id}`)).json();
    expect(rec).toMatchObject({ status: "failed", error: { code: "analysis_failed" } });
  });

  test("one engine refusing for good and another failing for now → 503: the retry may get the second's answer", async () => {
    const h = harness({ order: ["dify", "ollama"] });
    dify.respond = () => ({ http: 401, code: "unauthorized", message: "Access token is invalid" });
    ollama.respond = () => ({ http: 503, error: "server busy" });
    const res = await analyse(h);
    expect(res.status).toBe(503);
    expect((await problemOf(res)).code).toBe("engines_unavailable");
    expect(await (await h.request(`/v1/analyses/${alert.id}`)).json()).toMatchObject({ status: "pending" });
    ollama.respond = () => ({ content: JSON.stringify(goodAnalysis({ summary: "from ollama" })) });
    expect(await resultOf(await analyse(h))).toMatchObject({ engine: "ollama", summary: "from ollama" });
  });

  test("a job may name one engine: only that engine is asked", async () => {
    const r = await resultOf(await analyse(harness(), { engine: "builtin" }));
    expect(r).toMatchObject({ engine: "builtin", degraded: false });
    expect(dify.calls).toHaveLength(0);
    const o = await resultOf(await analyse(harness(), { engine: "ollama" }));
    expect(o).toMatchObject({ engine: "ollama", degraded: false });
  });

  test("naming an engine that is not configured for the type is a 489", async () => {
    const res = await analyse(harness(), { type: "quick", engine: "dify" });
    expect(res.status).toBe(489);
    expect(await problemOf(res)).toMatchObject({
      code: "engine_not_configured",
      message: "the dify engine is not configured for quick analyses",
    });
  });

  test("an engine missing from the config is left out of the chain, not counted as a fallback", async () => {
    // quick has no Dify app here: Ollama is the first engine that can answer it.
    const r = await resultOf(await analyse(harness(), { type: "quick" }));
    expect(r).toMatchObject({ engine: "ollama", degraded: false });
    expect(r.attempts).toHaveLength(1);
  });
});

describe("time: what the built-in answer waits for", () => {
  const slow = (ms: number) => {
    dify.respond = () => ({
      delayMs: ms,
      reply: { outputs: { analysis: goodAnalysis({ summary: "late dify" }) } },
    });
    ollama.respond = () => ({
      delayMs: ms,
      reply: { content: JSON.stringify(goodAnalysis({ summary: "late ollama" })) },
    });
  };
  /** Dify and Ollama with 600 ms timeouts, and `extra` lines of ai config. */
  const timed = (extra = "") =>
    makeHarness(
      aiYaml({
        dify: { url: dify.url, workflowKey: "app-wf", timeout: "600ms" },
        ollama: { url: ollama.url, timeout: "600ms" },
      }) + extra,
    );
  /** The firing fixture with `n` alerts of its first, each on its own instance (`tag` keeps fingerprints apart). */
  const manyAlerts = (n: number, tag: string) => {
    const payload = fixture("alertmanager-firing.json");
    payload.alerts = Array.from({ length: n }, (_, i) => ({
      ...payload.alerts[0],
      fingerprint: `fp-${tag}${i}`,
      labels: { ...payload.alerts[0].labels, instance: `10.0.${tag ? 1 : 0}.${i}:9100` },
    }));
    return payload;
  };
  /** A comprehensive analysis of `payload`: its status, results and how long it took. */
  const analyseAll = async (h: ReturnType<typeof timed>, payload: unknown) => {
    const t = performance.now();
    const res = await h.job("/jobs/analysis", { type: "comprehensive", payload });
    const ms = performance.now() - t;
    const { results } = (await res.json()) as {
      results: { engine: string; attempts: { error?: string }[] }[];
    };
    return { status: res.status, results, ms };
  };

  test("a hung Dify and a slow Ollama share one budget (the longest timeout): the built-in answer comes at 0.6 s, not 1.2", async () => {
    slow(3_000);
    const t = performance.now();
    const r = await resultOf(await analyse(timed()));
    const ms = performance.now() - t;
    expect(r).toMatchObject({ engine: "builtin", degraded: true });
    expect(r.attempts.map((a) => a.engine)).toEqual(["dify-workflow", "ollama", "builtin"]);
    expect(r.attempts[1].error).toContain("skipped: ai.budget of 600 ms spent");
    expect(ms).toBeLessThan(1_100);
  });

  /** Dify (600 ms) then Ollama (`ollamaTimeout`), a breaker that opens at the first failure, `budget` when given. */
  const breaking = (ollamaTimeout: string, budget?: string) =>
    makeHarness(
      aiYaml({
        dify: { url: dify.url, workflowKey: "app-wf", timeout: "600ms" },
        ollama: { url: ollama.url, timeout: ollamaTimeout },
        breaker: { failures: 1, cooloff: "1m" },
      }) + (budget ? `  budget: ${budget}\n` : ""),
    );
  /** `breaking`, with Dify failing at once and Ollama hung. */
  const hungBehindFailing = (ollamaTimeout: string, budget?: string) => {
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "boom" });
    ollama.respond = () => ({ delayMs: 3_000, reply: { content: JSON.stringify(goodAnalysis()) } });
    return breaking(ollamaTimeout, budget);
  };

  test("ai.budget set: Ollama gets only what Dify left of it, and that cut is not held against it", async () => {
    dify.respond = () => ({ delayMs: 3_000, reply: { outputs: { analysis: goodAnalysis() } } });
    ollama.respond = () => ({
      delayMs: 400,
      reply: { content: JSON.stringify(goodAnalysis({ summary: "from ollama" })) },
    });
    // Dify takes its 600 ms; 200 ms of the budget are left, Ollama needs 400 (within its own 600).
    const h = breaking("600ms", "800ms");
    const r = await resultOf(await analyse(h));
    expect(r).toMatchObject({ engine: "builtin" });
    expect(r.attempts[1].error).toMatch(/^skipped: ai.budget of 800 ms spent after \d+ ms of its answer/);
    // Not a failure of Ollama's: with Dify's breaker now open, the next job is Ollama's (its own stayed closed).
    const next = await resultOf(await analyse(h));
    expect(next).toMatchObject({ engine: "ollama", summary: "from ollama" });
    expect(next.attempts[0].error).toContain("circuit open");
    // Said so at 3 a.m.: Dify was not asked, not "did not answer".
    expect(next.note).toBe(
      "dify-workflow not asked (circuit open, time budget spent, or failing for this job's earlier alerts); ollama answered instead.",
    );
  });

  test("a hung Ollama behind a Dify that fails at once had nearly its whole timeout: held against it (breaker, engine_up, later alerts)", async () => {
    const h = hungBehindFailing("600ms");
    const payload = fixture("alertmanager-firing.json");
    payload.alerts = [0, 1].map((i) => ({
      ...payload.alerts[0],
      fingerprint: `fp-hung${i}`,
      labels: { ...payload.alerts[0].labels, instance: `10.9.0.${i}:9100` },
    }));
    const t = performance.now();
    const res = await h.job("/jobs/analysis", { type: "comprehensive", payload });
    const { results } = (await res.json()) as {
      results: { engine: string; attempts: { error?: string }[] }[];
    };
    // The second alert does not wait out the hang again.
    expect(performance.now() - t).toBeLessThan(1_100);
    expect(results.map((r) => r.engine)).toEqual(["builtin", "builtin"]);
    expect(results[0].attempts[1].error).not.toContain("spent");
    expect(results[1].attempts[1].error).toContain("failed for an earlier alert");
    expect(await h.deps.metrics.render()).toContain('alertagent_engine_up{engine="ollama"} 0');
    // Its breaker opened: the next job does not ask it.
    const next = await resultOf(await analyse(h));
    expect(next.attempts[1]).toMatchObject({ engine: "ollama", not_asked: true });
    expect(next.attempts[1].error).toContain("circuit open (ollama: no answer within");
  });

  test("with ai.budget shorter than Ollama's timeout: a hang through all of the budget is skipped for the job's later alerts, not held against Ollama", async () => {
    const h = hungBehindFailing("1200ms", "600ms");
    const payload = fixture("alertmanager-firing.json");
    payload.alerts = [0, 1, 2].map((i) => ({
      ...payload.alerts[0],
      fingerprint: `fp-budget${i}`,
      labels: { ...payload.alerts[0].labels, instance: `10.9.1.${i}:9100` },
    }));
    const t = performance.now();
    const res = await h.job("/jobs/analysis", { type: "comprehensive", payload });
    const { results } = (await res.json()) as { results: { attempts: { error?: string }[] }[] };
    // Waited out once, not once per alert.
    expect(performance.now() - t).toBeLessThan(1_100);
    expect(results[0].attempts[1].error).toContain("skipped: ai.budget of 600 ms spent");
    expect(results[2].attempts[1].error).toContain(
      "did not answer within ai.budget of 600 ms for an earlier alert",
    );
    // A slow Ollama is not down because the budget is short: a job naming it gets its own timeout.
    ollama.respond = () => ({
      delayMs: 900,
      reply: { content: JSON.stringify(goodAnalysis({ summary: "slow" })) },
    });
    expect(await resultOf(await analyse(h, { engine: "ollama" }))).toMatchObject({
      engine: "ollama",
      summary: "slow",
    });
  });

  test("without the built-in engine in ai.order there is no budget: a hung Dify still leaves Ollama its own time", async () => {
    dify.respond = () => ({ delayMs: 3_000, reply: { outputs: { analysis: goodAnalysis() } } });
    ollama.respond = () => ({
      delayMs: 200,
      reply: { content: JSON.stringify(goodAnalysis({ summary: "from ollama" })) },
    });
    const h = makeHarness(
      aiYaml({
        order: ["dify", "ollama"],
        dify: { url: dify.url, workflowKey: "app-wf", timeout: "600ms" },
        ollama: { url: ollama.url, timeout: "600ms" },
      }),
    );
    expect(await resultOf(await analyse(h))).toMatchObject({ engine: "ollama", summary: "from ollama" });
  });

  test("on a store some ms away, a hung Dify's own timeout counts against it (not read as a budget cut): its breaker opens and Ollama answers next", async () => {
    dify.respond = () => ({ delayMs: 3_000, reply: { outputs: { analysis: goodAnalysis() } } });
    // Each store call 15 ms away, as Upstash from an edge or a cross-region Redis.
    const far = around(new MemoryStore(), (_, call) => {
      const r = call();
      return r instanceof Promise ? Bun.sleep(15).then(() => r) : r;
    });
    const h = makeHarness(
      aiYaml({
        dify: { url: dify.url, workflowKey: "app-wf", timeout: "300ms" },
        ollama: { url: ollama.url, timeout: "300ms" },
        breaker: { failures: 1, cooloff: "1m" },
      }),
      { store: far },
    );
    const first = await resultOf(await analyse(h));
    expect(first.attempts[0].error).toBe("dify-workflow: no answer within 300 ms");
    expect(first.engine).toBe("builtin"); // the shared budget is spent: Ollama skipped this once
    const next = await resultOf(await analyse(h));
    expect(next).toMatchObject({ engine: "ollama", summary: "from ollama" });
    expect(next.attempts[0].error).toContain("circuit open");
  });

  test("a payload of four alerts waits out a hung engine once, not once per alert", async () => {
    slow(3_000);
    const { status, results, ms } = await analyseAll(timed(), manyAlerts(4, ""));
    expect(status).toBe(200);
    expect(results.map((r) => r.engine)).toEqual(["builtin", "builtin", "builtin", "builtin"]);
    expect(results[3].attempts[0].error).toContain("skipped: it failed for an earlier alert of this job");
    expect(ms).toBeLessThan(2_000);
  });

  test("a payload of many alerts on a slow but answering Ollama stops asking it at ai.job_budget: the rest are the built-in engine's, the job answered in time", async () => {
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "down" });
    ollama.respond = () => ({
      delayMs: 300,
      reply: { content: JSON.stringify(goodAnalysis({ summary: "from ollama" })) },
    });
    const h = timed("  job_budget: 1s\n");
    const payload = manyAlerts(10, "jb-");
    const { status, results, ms } = await analyseAll(h, payload);
    expect(status).toBe(200);
    const engines = results.map((r) => r.engine);
    // Ollama answered while the budget lasted (each of its answers takes 300 ms); the fourth alert
    // started with ~100 ms of it left and got only that; then the built-in engine at once.
    expect(engines.slice(0, 3)).toEqual(["ollama", "ollama", "ollama"]);
    expect(engines.slice(3)).toEqual(Array(7).fill("builtin"));
    expect(results[3].attempts[1].error).toMatch(
      /^skipped: ai.job_budget of 1000 ms spent after \d+ ms of its answer/,
    );
    expect(results[9].attempts[1].error).toContain("skipped: ai.job_budget of 1000 ms spent");
    // 10 × 300 ms without it; about the budget with it, not the budget plus a whole alert's answer.
    expect(ms).toBeLessThan(1_600);

    // A job naming Ollama alone (no built-in engine after it) stops at the budget too: a 503, and the
    // redelivery goes on from the alerts done.
    const named = Date.now();
    const alone = await h.job("/jobs/analysis", {
      type: "comprehensive",
      engine: "ollama",
      payload: {
        ...payload,
        alerts: payload.alerts.map((a, i) => ({ ...a, fingerprint: `fp-jb-alone-${i}` })),
      },
    });
    expect(alone.status).toBe(503);
    expect(await alone.text()).toContain("ai.job_budget of 1000 ms");
    expect(Date.now() - named).toBeLessThan(1_800);
  });

  test("ai.job_budget never keeps a delivery from answering its first alert when no built-in engine follows; a budget spent inside one alert is not blamed on earlier ones", async () => {
    ollama.respond = () => ({
      delayMs: 800,
      reply: { content: JSON.stringify(goodAnalysis({ summary: "slow but sure" })) },
    });
    const h = makeHarness(
      `${aiYaml({
        dify: { url: dify.url, workflowKey: "app-wf", timeout: "2s" },
        ollama: { url: ollama.url, timeout: "2s" },
      })}  job_budget: 500ms
`,
    );
    // A model slower than the whole job budget still answers: each delivery makes progress.
    const slow = await resultOf(await analyse(h, { engine: "ollama" }));
    expect(slow).toMatchObject({ engine: "ollama", summary: "slow but sure" });
    // With the built-in engine after them, the LLMs are cut at the budget, which this alert spent.
    dify.respond = () => ({ delayMs: 1_500, reply: { outputs: { analysis: goodAnalysis() } } });
    const cut = await resultOf(await analyse(h));
    expect(cut.engine).toBe("builtin");
    expect(cut.attempts[0].error).toMatch(
      /^skipped: ai.job_budget of 500 ms spent after \d+ ms of its answer$/,
    );
    expect(cut.attempts[1].error).toBe("skipped: ai.job_budget of 500 ms spent");
  });
});

describe("circuit breaker per engine (shared through the store)", () => {
  test("opens after repeated failures: later jobs skip Dify without calling it", async () => {
    const { h } = clocked("{ failures: 3, cooloff: 30s }");
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "boom" });
    for (let i = 0; i < 3; i++) expect((await resultOf(await analyse(h))).engine).toBe("ollama");
    expect(dify.calls).toHaveLength(3);
    const r = await resultOf(await analyse(h));
    expect(dify.calls).toHaveLength(3);
    expect(r).toMatchObject({ engine: "ollama", degraded: true });
    expect(r.attempts[0]).toMatchObject({ engine: "dify-workflow", ok: false, ms: 0 });
    // It says why it opened: a bad key and an overloaded engine must not read alike.
    expect(r.attempts[0].error).toStartWith("circuit open (");
    expect(r.attempts[0].error).toContain("boom");
    expect(r.attempts[0].error).toContain("): skipped until ");
    const metrics = await (await h.request("/metrics")).text();
    expect(metrics).toContain('alertagent_engine_up{engine="dify-workflow"} 0');
    expect(metrics).toContain('alertagent_analysis_total{engine="dify-workflow",outcome="skipped"} 1');
  });

  test("closes after its cool-off when the one trial call succeeds", async () => {
    const { clock, h } = clocked("{ failures: 2, cooloff: 30s }");
    dify.respond = () => ({ http: 503, code: "unavailable", message: "down" });
    await analyse(h);
    await analyse(h);
    clock.advance(29_000);
    await analyse(h);
    expect(dify.calls).toHaveLength(2);
    clock.advance(2_000);
    dify.respond = () => ({ outputs: { analysis: goodAnalysis({ summary: "back" }) } });
    const r = await resultOf(await analyse(h));
    expect(r).toMatchObject({ engine: "dify-workflow", degraded: false, summary: "back" });
    await analyse(h);
    expect(dify.calls).toHaveLength(4);
    expect(await (await h.request("/metrics")).text()).toContain(
      'alertagent_engine_up{engine="dify-workflow"} 1',
    );
  });

  test("a half-open engine's trial is taken only by a job that reaches it: an engine before it answering does not keep it skipped", async () => {
    const { clock, h } = clocked("{ failures: 1, cooloff: 30s }");
    // Ollama fails once (Dify down for that job): its breaker opens.
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "dify down" });
    ollama.respond = () => ({ http: 500, error: "ollama down" });
    await analyse(h);
    expect(ollama.calls).toHaveLength(1);
    clock.advance(31_000);
    // Half-open now. Dify is back and answers three jobs: none of them holds Ollama's trial.
    dify.respond = () => ({ outputs: { analysis: goodAnalysis({ summary: "from dify" }) } });
    ollama.respond = () => ({ content: JSON.stringify(goodAnalysis({ summary: "from ollama" })) });
    for (let i = 0; i < 3; i++) expect((await resultOf(await analyse(h))).engine).toBe("dify-workflow");
    expect(ollama.calls).toHaveLength(1);
    // Dify fails again: the next job reaches Ollama, which is tried and answers, and its breaker closes.
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "dify down again" });
    const r = await resultOf(await analyse(h));
    expect(r).toMatchObject({ engine: "ollama", degraded: true });
    expect(ollama.calls).toHaveLength(2);
    const health = (await (await h.request("/health")).json()) as {
      engines: Record<string, { breaker?: string }>;
    };
    expect(JSON.stringify(health)).not.toContain("half-open");
  });

  test("a failed trial opens it for another cool-off", async () => {
    const { clock, h } = clocked("{ failures: 2, cooloff: 30s }");
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "still down" });
    await analyse(h);
    await analyse(h);
    clock.advance(31_000);
    await analyse(h); // the trial
    expect(dify.calls).toHaveLength(3);
    clock.advance(10_000);
    const r = await resultOf(await analyse(h));
    expect(dify.calls).toHaveLength(3);
    expect(r.attempts[0].error).toStartWith("circuit open");
  });

  test("with every breaker open and no built-in engine the job answers 503 until the cool-off ends", async () => {
    const clock = manualClock();
    const store = new MemoryStore(clock.now);
    const h = harness(
      { order: ["dify"], breaker: "{ failures: 1, cooloff: 45s }" },
      { now: clock.now, store },
    );
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "boom" });
    expect((await analyse(h)).status).toBe(503);
    clock.advance(5_000);
    const res = await analyse(h);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("40");
    expect((await problemOf(res)).message).toContain("circuit open");
  });

  test("another instance on the same store sees the open breaker", async () => {
    const clock = manualClock();
    const store = new MemoryStore(clock.now);
    const a = harness({ breaker: "{ failures: 2, cooloff: 60s }" }, { now: clock.now, store });
    const b = harness({ breaker: "{ failures: 2, cooloff: 60s }" }, { now: clock.now, store });
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "boom" });
    await analyse(a);
    await analyse(b);
    const r = await resultOf(await analyse(a));
    expect(dify.calls).toHaveLength(2);
    expect(r.attempts[0].error).toStartWith("circuit open");
  });
});

describe("engine health (for /health and the dashboard)", () => {
  test("each configured engine's readiness and breaker state; engine_up follows", async () => {
    const clock = manualClock();
    const h = harness(
      { ollamaUp: false, breaker: "{ failures: 1, cooloff: 30s }" },
      { now: clock.now, store: new MemoryStore(clock.now) },
    );
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "boom" });
    await analyse(h);
    const health = await engineHealth(h.deps, h.deps.analyst);
    expect(health.map((e) => [e.engine, e.names, e.ready.ok])).toEqual([
      ["dify", ["dify-workflow"], true],
      ["ollama", ["ollama"], false],
      ["builtin", ["builtin"], true],
    ]);
    expect(health[0].breaker).toStartWith("open until ");
    expect(health[0].breaker).toContain("boom");
    expect(health[1].ready.detail).toContain("cannot reach http://127.0.0.1:1");
    expect(health[2].breaker).toBe("none");
    const metrics = await (await h.request("/metrics")).text();
    expect(metrics).toContain('alertagent_engine_up{engine="dify-workflow"} 1');
    expect(metrics).toContain('alertagent_engine_up{engine="ollama"} 0');
  });

  test("an engine whose breaker is open makes /health degraded, though its probe answers", async () => {
    const { clock, h } = clocked("{ failures: 1, cooloff: 60s }");
    const status = async () =>
      (await (await h.request("/health")).json()) as {
        status: string;
        checks: { engines: Record<string, { ok: boolean; detail?: string; breaker: string }> };
      };
    expect((await status()).status).toBe("ok");
    dify.respond = () => ({ http: 500, code: "internal_server_error", message: "boom" });
    await analyse(h);
    clock.advance(16_000); // past the 15 s /health keeps its engine checks; the breaker is still open
    const s = await status();
    expect(s.status).toBe("degraded");
    expect(s.checks.engines.dify.ok).toBe(false);
    expect(s.checks.engines.dify.detail).toContain("breaker is open until");
    expect(s.checks.engines.dify.detail).toContain("boom");
  });
});
