/** Similar-alert search: quality on a labelled set, the index's upkeep, the routes and the `similar` type, embeddings. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { alertTokens } from "../../src/analysis/similar/features.ts";
import { SimilarityIndex } from "../../src/analysis/similar/index.ts";
import { docOf } from "../../src/analysis/similarity.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { incidents, type Labelled, noise } from "../support/alert-corpus.ts";
import {
  aiYaml,
  alertOf,
  fixture,
  fixtureAlert,
  manualClock,
  problemOf,
  resultOf,
  resultsOf,
} from "../support/analysis.ts";
import { type FakeOllama, startFakeOllama } from "../support/fake-ollama.ts";
import { makeHarness } from "../support/harness.ts";
import { around } from "../support/store-spy.ts";

const index = (store = new MemoryStore(), now = Date.now, maxAlerts = 100_000) =>
  new SimilarityIndex(store, { maxAlerts, retentionMs: 7 * 86_400_000, now });

async function indexAll(ix: SimilarityIndex, items: Labelled[], at = Date.now()): Promise<void> {
  for (const [i, { alert }] of items.entries())
    await ix.add(docOf(alert, alert.annotations.summary ?? "", "", at + i));
}

describe("similarity quality on a labelled set", () => {
  const labelled = incidents();
  const names = [...new Set(labelled.map((l) => l.alert.labels.alertname))];
  const all = [...labelled, ...noise(400, 11, names)];

  test("the same incident on other hosts, pods or probers ranks above every unrelated alert", async () => {
    const ix = index();
    await indexAll(ix, all);
    for (const q of labelled.filter((l) => l.incident)) {
      const peers = labelled.filter((l) => l.incident === q.incident && l.alert.id !== q.alert.id).length;
      const found = await ix.search(
        { id: q.alert.id, labels: q.alert.labels, tokens: alertTokens(q.alert) },
        { k: peers + 3, minScore: 0 },
      );
      const incidentOf = (id: string) => all.find((l) => l.alert.id === id)?.incident;
      expect({ q: q.alert.id, top: found.slice(0, peers).map((m) => incidentOf(m.alert_id)) }).toEqual({
        q: q.alert.id,
        top: Array(peers).fill(q.incident),
      });
      // A clear margin: the weakest peer scores well above the best unrelated alert.
      expect(found[peers - 1].score - (found[peers]?.score ?? 0)).toBeGreaterThan(0.15);
    }
  });

  test("an alert never matches itself, and min_score cuts weak matches", async () => {
    const ix = index();
    await indexAll(ix, all);
    const q = labelled[0].alert;
    const found = await ix.search(
      { id: q.id, labels: q.labels, tokens: alertTokens(q) },
      { k: 50, minScore: 0.6 },
    );
    expect(found.map((m) => m.alert_id)).not.toContain(q.id);
    expect(found.every((m) => m.score >= 0.6)).toBe(true);
    expect(found.map((m) => m.alert_id).sort()).toEqual(["cpu-2", "cpu-3", "cpu-4", "cpu-5", "cpu-6"]);
  });
});

describe("the index", () => {
  test("re-indexing an alert drops the features it no longer has", async () => {
    const ix = index();
    const a = alertOf({ alertname: "HighCPU", job: "node", instance: "h1" });
    const b = alertOf({ alertname: "HighCPU", job: "node", instance: "h2" });
    const t = Date.now();
    await ix.add(docOf({ ...a, id: "a" }, "cpu", "", t));
    await ix.add(docOf({ ...b, id: "b" }, "cpu", "", t + 1));
    expect(
      (await ix.search({ labels: a.labels, tokens: {} }, { k: 5, minScore: 0 })).map((m) => m.alert_id),
    ).toContain("b");
    await ix.add(
      docOf({ ...alertOf({ alertname: "RedisDown", job: "redis" }), id: "b" }, "redis", "", t + 2),
    );
    expect(
      (await ix.search({ labels: a.labels, tokens: {} }, { k: 5, minScore: 0.01 })).map((m) => m.alert_id),
    ).toEqual(["a"]);
  });

  test("keeps at most max_alerts, dropping the oldest, and drops alerts past retention", async () => {
    const clock = manualClock(1_000_000);
    const store = new MemoryStore(clock.now);
    const ix = new SimilarityIndex(store, { maxAlerts: 100, retentionMs: 60_000, now: clock.now });
    const items = noise(120, 3);
    await indexAll(ix, items, clock.t);
    expect(await store.zcard("sim:all")).toBe(100);
    expect(await ix.get(items[0].alert.id)).toBeNull();
    expect(await ix.get(items[119].alert.id)).not.toBeNull();
    clock.advance(120_000);
    await ix.add(docOf({ ...alertOf({ alertname: "Fresh" }), id: "fresh" }, "", "", clock.t));
    expect(await store.zcard("sim:all")).toBeLessThanOrEqual(100);
    expect(await ix.get(items[119].alert.id)).toBeNull();
  });
});

describe("similar alerts through the worker", () => {
  test("a prune that never settles (work a Worker's runtime cancelled) holds the next back for minutes, not for good", async () => {
    const clock = manualClock(1_000_000);
    let zcards = 0;
    let settleFirst!: () => void;
    const first = new Promise<void>((r) => (settleFirst = r));
    let hold: Promise<void> | undefined;
    const store = around(new MemoryStore(clock.now), async (method, call) => {
      if (method !== "zcard") return call();
      zcards++;
      await (zcards === 1 ? first : hold);
      return call();
    });
    const ix = new SimilarityIndex(store, { maxAlerts: 100, retentionMs: 60_000, now: clock.now });
    void ix.pruneIfDue();
    clock.advance(2 * 60_000);
    await ix.pruneIfDue();
    expect(zcards).toBe(1);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const second = zcards;
    // The second prune is held too; the first, given up on, settles late meanwhile.
    hold = held;
    clock.advance(4 * 60_000);
    const running = ix.pruneIfDue();
    await Bun.sleep(1);
    expect(zcards).toBe(second + 1);
    settleFirst();
    await Bun.sleep(1);
    clock.advance(2 * 60_000);
    await ix.pruneIfDue(); // the second still runs: no third beside it
    expect(zcards).toBe(second + 1);
    release();
    await running;
  });

  test("an alert storm does not grow the index past max_alerts: a search that finds it over the cap prunes, not only once a minute", async () => {
    const clock = manualClock(); // a minute never passes: only the cap can start a prune
    const store = new MemoryStore(clock.now);
    const later: Promise<unknown>[] = [];
    const h = makeHarness("ai: { order: [builtin], similar: { max_alerts: 100 } }\n", {
      store,
      now: clock.now,
      background: (p) => void later.push(p),
    });
    for (let i = 0; i < 400; i++) {
      const alert = alertOf({ alertname: `Storm${i % 7}`, instance: `10.0.${i % 5}.${i}:9100` });
      const res = await h.job("/jobs/analysis", { type: "quick", alert });
      expect(res.status).toBe(200);
    }
    await Promise.all(later);
    // One search after the last prune may have added its alert: the cap, give or take one job's.
    expect(await store.zcard("sim:all")).toBeLessThanOrEqual(101);
  });

  test("an analysis that prunes the index answers without waiting for it; the prune takes a few round trips, not one per alert", async () => {
    const now = Date.now();
    const inner = new MemoryStore();
    // 40 alerts analysed a month ago: past store.retention (7 days by default).
    const items = noise(40, 5);
    const seeding = new SimilarityIndex(inner, {
      maxAlerts: 100_000,
      retentionMs: 365 * 86_400_000,
      now: () => now,
    });
    await indexAll(seeding, items, now - 30 * 86_400_000);
    expect(await inner.zcard("sim:all")).toBe(40);
    let letGo!: () => void;
    const held = new Promise<void>((r) => (letGo = r));
    let calls = 0;
    const store = around(inner, async (method, call) => {
      if (method === "zcard") await held; // the prune's first read, until the job has answered
      calls++;
      return call();
    });
    const later: Promise<unknown>[] = [];
    const h = makeHarness("ai: { order: [builtin] }\n", { store, background: (p) => void later.push(p) });
    const answered = await Promise.race([
      h
        .job("/jobs/analysis", { type: "quick", payload: fixture("alertmanager-firing") })
        .then((r) => r.status),
      Bun.sleep(3000).then(() => "no answer while the prune waits"),
    ]);
    expect(answered).toBe(200);
    const before = calls;
    letGo();
    await Promise.all(later);
    expect(calls - before).toBeLessThanOrEqual(5);
    for (const { alert } of items) expect(await index(inner).get(alert.id)).toBeNull();
    // What is left is what was just analysed.
    const payload = fixture("alertmanager-firing") as { alerts: unknown[] };
    expect(await inner.zcard("sim:all")).toBe(payload.alerts.length);
  });

  test("GET /v1/alerts/:alertId/similar ranks the same incident on the other host first", async () => {
    const h = makeHarness("ai: { order: [builtin] }\n");
    expect(
      (await h.job("/jobs/analysis", { type: "quick", payload: fixture("alertmanager-firing") })).status,
    ).toBe(200);
    for (const p of ["alertmanager-mixed", "alertmanager-zh"] as const)
      await h.job("/jobs/analysis", { type: "quick", payload: fixture(p) });
    const res = await h.request("/v1/alerts/5f1c0a8e2b7d3c41/similar?k=3");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      alert_id: string;
      similar: { alert_id: string; score: number; summary: string }[];
    };
    expect(body.alert_id).toBe("5f1c0a8e2b7d3c41");
    expect(body.similar[0]).toMatchObject({ alert_id: "9a2e4471c0b8d6f3" });
    expect(body.similar[0].score).toBeGreaterThan(0.8);
    expect(body.similar[0].summary).toStartWith("CPU on 10.0.0.12 is saturated");
    expect(body.similar.map((s) => s.alert_id)).not.toContain("77aa01bc3de45f60");
  });

  test("a past alert's credentials do not travel into another team's analysis with its summary or resolution", async () => {
    const h = makeHarness("ai: { order: [builtin] }\n");
    const dsn = "postgres://billing_admin:Hunter2Secret@db-1:5432/billing";
    const token = `ghp_${"a1B2c3D4e5".repeat(4)}`;
    const past = alertOf(
      { alertname: "PostgresqlDown", severity: "critical", team: "billing", instance: "db-1:9187" },
      {
        status: "resolved",
        endsAt: "2026-11-28T08:30:00Z",
        annotations: {
          summary: `Postgres down at ${dsn}`,
          resolution: `Restarted it; rotated the API token ${token} and the password`,
        },
      },
    );
    expect((await h.job("/jobs/analysis", { type: "quick", alert: past })).status).toBe(200);
    const res = await h.job("/jobs/analysis", {
      type: "quick",
      alert: alertOf({
        alertname: "PostgresqlDown",
        severity: "critical",
        team: "search",
        instance: "db-7:9187",
      }),
    });
    const r = await resultOf(res);
    expect(r.similar.length).toBeGreaterThan(0);
    const shown = JSON.stringify(r);
    expect(shown).toContain("rotated the API token");
    expect(shown).not.toContain("Hunter2Secret");
    expect(shown).not.toContain(token);
  });

  test("the `similar` type answers from the index without asking an LLM, with resolutions when known", async () => {
    const h = makeHarness(
      aiYaml({ order: ["dify", "builtin"], dify: { url: "http://127.0.0.1:1/v1", workflowKey: "k" } }),
    );
    const resolved = fixtureAlert("alertmanager-mixed", 1);
    await h.job("/jobs/analysis", { type: "similar", alert: resolved });
    const r = await resultOf(
      await h.job("/jobs/analysis", { type: "similar", alert: fixtureAlert("alertmanager-mixed") }),
    );
    expect(r).toMatchObject({
      type: "similar",
      engine: "builtin",
      degraded: false,
      tokens: { prompt: 0, completion: 0 },
    });
    expect(r.attempts.map((a) => a.engine)).toEqual(["builtin"]);
    expect(r.similar).toEqual([
      {
        alert_id: "0b7e6a5d4c3f2e19",
        score: expect.any(Number),
        summary: "Pod is crash looping.",
        resolution: "Resolved after 35m at 2026-11-28T07:55:00Z",
      },
    ]);
    expect(r.summary).toStartWith(
      "1 similar past alert found for KubePodCrashLooping; the closest is 0b7e6a5d4c3f2e19",
    );
    expect(r.remediation[0].step).toContain("Resolved after 35m");
  });

  test("a `resolution` annotation is the resolution the index keeps", async () => {
    const h = makeHarness("ai: { order: [builtin] }\n");
    const done = alertOf(
      { alertname: "HighCPU", job: "node", instance: "10.0.0.99:9100", severity: "critical" },
      {
        status: "resolved",
        endsAt: "2026-11-28T09:00:00Z",
        annotations: { resolution: "killed the stuck report job (PID 4242)" },
      },
    );
    await h.job("/jobs/analysis", { type: "quick", alert: { ...done, id: "old-cpu" } });
    const r = await resultOf(
      await h.job("/jobs/analysis", { type: "comprehensive", alert: fixtureAlert("alertmanager-firing") }),
    );
    expect(r.similar[0]).toMatchObject({
      alert_id: "old-cpu",
      resolution: "killed the stuck report job (PID 4242)",
    });
    expect(r.summary).toContain("was resolved by: killed the stuck report job (PID 4242)");
  });

  test("k is checked; an alert never analysed is a 404", async () => {
    const h = makeHarness("ai: { order: [builtin] }\n");
    await h.job("/jobs/analysis", { type: "quick", alert: fixtureAlert("alertmanager-firing") });
    for (const k of ["0", "101", "abc", "2.5"]) {
      const res = await h.request(`/v1/alerts/5f1c0a8e2b7d3c41/similar?k=${k}`);
      expect(res.status).toBe(400);
      expect(await problemOf(res)).toMatchObject({ code: "invalid_query", details: [{ path: "k" }] });
    }
    const missing = await h.request("/v1/alerts/never-seen/similar");
    expect(missing.status).toBe(404);
  });
});

describe("Ollama embeddings (ai.ollama.embed_model)", () => {
  let ollama: FakeOllama;
  beforeAll(async () => {
    ollama = await startFakeOllama({ models: ["qwen2.5:7b", "nomic-embed-text:latest"] });
  });
  afterAll(() => ollama.stop());

  const harness = () =>
    makeHarness(aiYaml({ order: ["builtin"], ollama: { url: ollama.url, embed: "nomic-embed-text" } }));

  test("each analysed alert is embedded once and the vectors re-rank the matches", async () => {
    const h = harness();
    ollama.calls.length = 0;
    await h.job("/jobs/analysis", { type: "quick", payload: fixture("alertmanager-firing") });
    const embeds = ollama.calls.filter((c) => c.path === "/api/embed");
    expect(embeds).toHaveLength(2);
    expect(embeds[0].body).toEqual({
      model: "nomic-embed-text",
      input: [expect.stringContaining("HighCPU CPU usage above 90%")],
    });
    const body = (await (await h.request("/v1/alerts/5f1c0a8e2b7d3c41/similar")).json()) as {
      similar: { alert_id: string; score: number }[];
    };
    expect(body.similar[0].alert_id).toBe("9a2e4471c0b8d6f3");
    expect(body.similar[0].score).toBeGreaterThan(0.8);
  });

  test("when embedding fails the built-in similarity still answers", async () => {
    const h = harness();
    ollama.embedFailure = 503;
    try {
      const [, second] = await resultsOf(
        await h.job("/jobs/analysis", { type: "quick", payload: fixture("alertmanager-firing") }),
      );
      expect(second.similar[0].alert_id).toBe("5f1c0a8e2b7d3c41");
      expect(h.logs.some((l) => l.msg === "embedding failed; built-in similarity only")).toBe(true);
    } finally {
      ollama.embedFailure = undefined;
    }
  });
});
