/**
 * Evidence from a real Prometheus (Debian's, on promtool-built history: test/fixtures/evidence):
 * what an on-call engineer would read — how soon a disk is full, why a pod died, whether a
 * replica's lag still grows, when a certificate expires — and, with Prometheus down, an answer
 * that says so quickly instead of failing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Alert, alertId } from "../../src/alerts/alert.ts";
import { PROBES, probesFor } from "../../src/analysis/evidence/catalogue.ts";
import { collectEvidence, type EvidenceConfig } from "../../src/analysis/evidence/collect.ts";
import { quote, selector } from "../../src/analysis/evidence/promql.ts";
import { loadConfig } from "../../src/config/load.ts";
import { MINIMAL_YAML } from "../support/harness.ts";
import {
  EVIDENCE,
  type PrometheusWithHistory,
  startPrometheusWithHistory,
} from "../support/prometheus-history.ts";
import { freePort } from "../support/redis-server.ts";

let prom: PrometheusWithHistory;
beforeAll(async () => {
  prom = await startPrometheusWithHistory();
}, 60_000);
afterAll(() => prom?.stop());

const evidenceConfig = (yaml: string): EvidenceConfig =>
  loadConfig(`${MINIMAL_YAML}ai:\n  evidence: ${yaml}\n`, {}, "test").ai.evidence as EvidenceConfig;

const alert = (alertname: string, labels: Record<string, string>): Alert =>
  ({ status: "firing", labels: { alertname, severity: "critical", ...labels }, annotations: {} }) as Alert;

/** Text as HTML escapes it between tags (quotes stay). */
const textHtml = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const within = (value: number | null, truth: number) => {
  expect(value).not.toBeNull();
  expect(Math.abs((value as number) - truth)).toBeLessThanOrEqual(Math.abs(truth) * 0.1);
};

const collect = (a: Alert, language: "en" | "zh" = "en") =>
  collectEvidence(fetch, evidenceConfig(`{ prometheus_url: "${prom.url}" }`), a, language, prom.now);

describe("evidence from a real Prometheus", () => {
  test("a filling disk: time to full within ±10%, and the sentence says the hours", async () => {
    const ev = await collect(alert("NodeFilesystemSpaceFillingUp", EVIDENCE.filesystem.labels));
    expect(ev?.status).toBe("ok");
    const ttf = ev?.items.find((i) => i.id === "time_to_full");
    within(ttf?.value ?? null, EVIDENCE.filesystem.secondsToFull);
    expect(ttf?.unit).toBe("seconds");
    expect(ttf?.summary).toBe("At the last hour's rate it is full in about 1.5 h.");
    within(
      ev?.items.find((i) => i.id === "fill_rate")?.value ?? null,
      EVIDENCE.filesystem.fillBytesPerSecond,
    );
  });

  test("a steady filesystem is not filling: no time to full", async () => {
    const ev = await collect(alert("NodeFilesystemAlmostOutOfSpace", EVIDENCE.rootFilesystem.labels), "zh");
    const ttf = ev?.items.find((i) => i.id === "time_to_full");
    expect(ttf?.value).toBeNull();
    expect(ttf?.summary).toContain("无法估算写满时间");
  });

  test("an OOMKilled pod: the reason, restarts in the last hour and memory against the limit", async () => {
    const ev = await collect(alert("KubePodCrashLooping", EVIDENCE.oom.labels));
    const reason = ev?.items.find((i) => i.id === "last_terminated_reason");
    expect(reason?.labels).toEqual({ reason: "OOMKilled" });
    within(ev?.items.find((i) => i.id === "restarts_1h")?.value ?? null, EVIDENCE.oom.restartsLastHour);
    within(
      ev?.items.find((i) => i.id === "memory_vs_limit")?.value ?? null,
      EVIDENCE.oom.peakWorkingSetRatio,
    );
    within(ev?.items.find((i) => i.id === "memory_limit")?.value ?? null, EVIDENCE.oom.memoryLimitBytes);
  });

  test("replication lag: the growing replica's trend per hour, and a stalled one that stopped growing", async () => {
    const growing = await collect(alert("MysqlSlaveReplicationLag", EVIDENCE.replication.growing.labels));
    within(
      growing?.items.find((i) => i.id === "lag")?.value ?? null,
      EVIDENCE.replication.growing.lagSecondsAtNow,
    );
    within(
      growing?.items.find((i) => i.id === "lag_trend_1h")?.value ?? null,
      EVIDENCE.replication.growing.slopeSecondsPerHour,
    );
    const stalled = await collect(alert("MysqlSlaveReplicationLag", EVIDENCE.replication.stalled.labels));
    const recent = stalled?.items.find((i) => i.id === "lag_trend_30m");
    expect(Math.abs(recent?.value ?? Number.NaN)).toBeLessThan(60);
    expect(recent?.summary).toBe("Over the last 30m the lag has stopped growing.");
  });

  test("the alert's own expression (generatorURL g0.expr): now, its lowest and highest, and its trend per hour", async () => {
    const fs = EVIDENCE.filesystem;
    const expr = `node_filesystem_avail_bytes{mountpoint="${fs.labels.mountpoint}"}`;
    const a = {
      ...alert("DiskSpaceLow", fs.labels),
      generatorURL: `http://prometheus:9090/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`,
    } as Alert;
    const ev = await collect(a);
    const item = (id: string) => ev?.items.find((i) => i.id === id)?.value ?? null;
    within(item("alert_expression"), fs.availBytesAtNow);
    within(item("alert_expression_min"), fs.availBytesAtNow);
    within(item("alert_expression_max"), fs.availBytesAtNow + fs.fillBytesPerSecond * 6 * 3600);
    within(item("alert_expression_trend"), -fs.fillBytesPerSecond * 3600);
  });

  test("a certificate: seconds to expiry within ±10%", async () => {
    const ev = await collect(alert("BlackboxSslCertificateWillExpireSoon", EVIDENCE.certificate.labels));
    within(
      ev?.items.find((i) => i.id === "seconds_to_expiry")?.value ?? null,
      EVIDENCE.certificate.secondsToExpiry,
    );
  });
});

describe("evidence never makes an analysis worse", () => {
  test("Prometheus down: unavailable, with why, within the timeout", async () => {
    const port = await freePort();
    const ask = (language: "en" | "zh") =>
      collectEvidence(
        fetch,
        evidenceConfig(`{ prometheus_url: "http://127.0.0.1:${port}", timeout: 2s }`),
        alert("KubePodCrashLooping", EVIDENCE.oom.labels),
        language,
        Date.now(),
      );
    const started = Date.now();
    const ev = await ask("en");
    expect(Date.now() - started).toBeLessThan(2500);
    expect(ev?.status).toBe("unavailable");
    expect(ev?.reason).toStartWith("Prometheus unreachable");
    expect(ev?.items).toEqual([]);
    // A zh job's page says why in Chinese.
    expect((await ask("zh"))?.reason).toStartWith("无法连接 Prometheus：");
  });

  test("Prometheus too slow: unavailable when the deadline passes", async () => {
    const slow = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => Bun.sleep(5000).then(() => new Response("{}")),
    });
    try {
      const started = Date.now();
      const ev = await collectEvidence(
        fetch,
        evidenceConfig(`{ prometheus_url: "http://127.0.0.1:${slow.port}", timeout: 300ms }`),
        alert("TargetDown", { instance: "x:9100", job: "node" }),
        "en",
        Date.now(),
      );
      expect(Date.now() - started).toBeLessThan(1500);
      expect(ev).toMatchObject({ status: "unavailable", reason: "Prometheus did not answer in time" });
    } finally {
      slow.stop(true);
    }
  });

  test("a login page answering 200, and a Prometheus whose body stalls after its headers: each said as what it is", async () => {
    const login = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => new Response("<html>Sign in</html>", { headers: { "content-type": "text/html" } }),
    });
    const stalled = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode('{"status":'));
            },
          }),
          { headers: { "content-type": "application/json" } },
        ),
    });
    try {
      const ask = (port: number | undefined) =>
        collectEvidence(
          fetch,
          evidenceConfig(`{ prometheus_url: "http://127.0.0.1:${port}", timeout: 300ms }`),
          alert("TargetDown", { instance: "x:9100", job: "node" }),
          "en",
          Date.now(),
        );
      expect((await ask(login.port))?.reason).toContain("not with the query API's JSON");
      expect(await ask(stalled.port)).toMatchObject({
        status: "unavailable",
        reason: "Prometheus did not answer in time",
      });
    } finally {
      login.stop(true);
      stalled.stop(true);
    }
  });

  test("allow_generator_url: the alert's origin is asked, but never given the configured headers (they are prometheus_url's)", async () => {
    const seen: (string | null)[] = [];
    const capture = Bun.serve({
      port: 0,
      fetch(req) {
        seen.push(req.headers.get("authorization"));
        return Response.json({ status: "success", data: { resultType: "vector", result: [] } });
      },
    });
    try {
      const cfg = evidenceConfig(
        '{ headers: { Authorization: "Bearer PROM-SECRET-TOKEN" }, allow_generator_url: true }',
      );
      const a = {
        ...alert("Zzz", { instance: "x" }),
        generatorURL: `http://127.0.0.1:${capture.port}/graph?g0.expr=up`,
      } as Alert;
      await collectEvidence(fetch, cfg, a, "en", Date.now());
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((h) => h === null)).toBe(true);
    } finally {
      capture.stop(true);
    }
  });

  test("no Prometheus configured: no evidence, no call", async () => {
    expect(
      await collectEvidence(fetch, evidenceConfig("{}"), alert("TargetDown", {}), "en", Date.now()),
    ).toBeUndefined();
  });

  test("label values cannot inject PromQL: quoted and escaped; bad label names left out", () => {
    expect(quote('a"} or vector(1) #\\')).toBe('"a\\"} or vector(1) #\\\\"');
    expect(selector({ pod: 'x"}) or up{a="', "bad-name": "v" }, ["pod", "bad-name"])).toBe(
      '{pod="x\\"}) or up{a=\\""}',
    );
  });

  test("at least 25 alert names have probes", () => {
    const names = [
      "KubePodCrashLooping",
      "NodeFilesystemSpaceFillingUp",
      "TargetDown",
      "SSLCertExpiringSoon",
    ];
    for (const n of names) expect(probesFor(alert(n, {})).length).toBeGreaterThan(0);
    expect(PROBES.flatMap((p) => p.alerts).length).toBeGreaterThanOrEqual(25);
  });
});

describe("the built-in analysis answers from the evidence", () => {
  const analyse = async (a: Alert) => {
    const { makeHarness } = await import("../support/harness.ts");
    const h = makeHarness(`ai:\n  order: [builtin]\n  evidence: { prometheus_url: "${prom.url}" }\n`);
    const res = await h.job("/jobs/analysis", { type: "comprehensive", alert: a });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      summary: string;
      severity: string;
      root_causes: { cause: string; evidence: string }[];
      evidence?: { status: string; items: { id: string }[] };
    };
  };

  test("an OOMKilled crash loop: the memory cause first, with the limit and the peak in its evidence", async () => {
    const r = await analyse(alert("KubePodCrashLooping", EVIDENCE.oom.labels));
    expect(r.root_causes[0].cause).toContain("OOMKilled");
    expect(r.root_causes[0].evidence).toContain("of its limit");
    expect(r.root_causes[0].evidence).toContain("512 MiB");
    expect(r.evidence?.status).toBe("ok");
    expect(r.evidence?.items.map((i) => i.id)).toContain("last_terminated_reason");
  });

  test("a steady filesystem leads with 'not filling up'; one Prometheus has no data for is never said to be", async () => {
    const steady = await analyse(alert("NodeFilesystemAlmostOutOfSpace", EVIDENCE.rootFilesystem.labels));
    expect(steady.summary).toStartWith("At the last hour's rate the filesystem is not filling up.");
    const unknown = await analyse(
      alert("NodeFilesystemSpaceFillingUp", {
        instance: "db-00:9100",
        mountpoint: "/nowhere",
        device: "none",
      }),
    );
    expect(unknown.summary).not.toContain("not filling up");
    expect(unknown.severity).toBe("critical");
  });

  test("a disk full in 1.5 h: urgent, with the hours in the summary", async () => {
    const r = await analyse(
      alert("NodeFilesystemSpaceFillingUp", { ...EVIDENCE.filesystem.labels, severity: "warning" }),
    );
    expect(r.severity).toBe("critical");
    expect(r.summary).toStartWith("At the last hour's rate it is full in about 1.5 h.");
  });
});

describe("an LLM's answer is checked against the evidence", () => {
  test("Ollama blames the code for an OOMKilled pod and rates a disk full in 1.5 h as a warning: both flagged; the prompt carried the numbers", async () => {
    const { startFakeOllama } = await import("../support/fake-ollama.ts");
    const { goodAnalysis } = await import("../support/analysis.ts");
    const { makeHarness } = await import("../support/harness.ts");
    const ollama = await startFakeOllama({ models: ["qwen2.5:7b"] });
    try {
      ollama.respond = () => ({
        content: JSON.stringify(
          goodAnalysis({
            severity: "warning",
            root_causes: [{ cause: "A bug in the new release", confidence: 0.7, evidence: "guess" }],
          }),
        ),
      });
      const h = makeHarness(
        `ai:\n  order: [ollama, builtin]\n  ollama: { url: ${ollama.url}, model: qwen2.5:7b }\n  evidence: { prometheus_url: "${prom.url}" }\n`,
      );
      const run = async (a: Alert) => {
        const res = await h.job("/jobs/analysis", { type: "quick", alert: a });
        expect(res.status).toBe(200);
        return (await res.json()) as { engine: string; evidence?: { conflicts?: string[] } };
      };
      const oom = await run(alert("KubePodCrashLooping", EVIDENCE.oom.labels));
      expect(oom.engine).toBe("ollama");
      expect(oom.evidence?.conflicts).toEqual([
        "The top cause does not mention memory, but the container was last OOMKilled.",
      ]);
      const disk = await run(alert("NodeFilesystemSpaceFillingUp", EVIDENCE.filesystem.labels));
      expect(disk.evidence?.conflicts).toEqual([
        "Rated warning, but the disk is full in about 1.5 h at its current rate.",
      ]);
      const prompt = JSON.stringify(ollama.calls.at(-1)?.body);
      expect(prompt).toContain("Evidence from Prometheus");
      expect(prompt).toContain("evidence time_to_full: 5");
    } finally {
      await ollama.stop();
    }
  });
});

describe("the alert's expression from the rule set config sync holds", () => {
  test("an alert without a generatorURL is asked with its rule's expression", async () => {
    const { makeHarness } = await import("../support/harness.ts");
    const { saveRuleSet } = await import("../../src/sync/state.ts");
    const h = makeHarness(`ai:\n  order: [builtin]\n  evidence: { prometheus_url: "${prom.url}" }\n`);
    const fs = EVIDENCE.filesystem;
    const expr = `node_filesystem_avail_bytes{mountpoint="${fs.labels.mountpoint}"}`;
    await saveRuleSet(h.deps.store, {
      rules: [{ id: "r1", name: "MysqlDataDiskLow", group: "mysql", expr } as never],
      updated_at: new Date().toISOString(),
    });
    const res = await h.job("/jobs/analysis", { type: "quick", alert: alert("MysqlDataDiskLow", fs.labels) });
    const r = (await res.json()) as { evidence?: { items: { id: string; value: number | null }[] } };
    const item = (id: string) => r.evidence?.items.find((i) => i.id === id)?.value ?? null;
    within(item("alert_expression"), fs.availBytesAtNow);
    within(item("alert_expression_trend"), -fs.fillBytesPerSecond * 3600);
  });
});

describe("the evidence reaches the page and the dashboard", () => {
  type Answer = {
    root_causes: { cause: string }[];
    evidence?: { items: { summary: string; value: number | null }[] };
  };
  const setup = async (evidenceUrl: string, locale: "en" | "zh-CN") => {
    const { makeHarness } = await import("../support/harness.ts");
    const { startFakeDingTalk } = await import("../support/fake-dingtalk.ts");
    const ding = startFakeDingTalk();
    const h = makeHarness(
      `worker: { locale: ${locale} }
ai:\n  order: [builtin]\n  evidence: { prometheus_url: "${evidenceUrl}", timeout: 2s }
channels:\n  oncall: { type: dingtalk, webhook: "${ding.webhook("t1")}" }\n`,
    );
    const page = async (a: Alert, extra: Record<string, unknown> = {}) => {
      const before = ding.received.length;
      const res = await h.job("/jobs/notification", { channels: ["oncall"], alerts: [a], ...extra });
      expect(res.status).toBe(200);
      expect(ding.received).toHaveLength(before + 1);
      return ding.received[before].text;
    };
    return { h, ding, page };
  };
  const firingFor = (a: Alert, msAgo: number) => ({
    ...a,
    startsAt: new Date(Date.now() - msAgo).toISOString(),
  });

  test("a page of an OOMKilled pod carries its analysis: the memory cause and the numbers from Prometheus, in Chinese; the dashboard lists it", async () => {
    const { h, ding, page } = await setup(prom.url, "zh-CN");
    try {
      const pod = firingFor(alert("KubePodCrashLooping", EVIDENCE.oom.labels), 3600_000);
      const res = await h.job("/jobs/analysis", { type: "comprehensive", alert: pod });
      expect(res.status).toBe(200);
      const r = (await res.json()) as Answer;
      const shown = (r.evidence?.items ?? []).filter((i) => i.value !== null).slice(0, 3);
      expect(shown.length).toBeGreaterThan(0);

      const text = await page(pod);
      expect(text).toContain("🔎 **分析** (内置规则，非大模型): ");
      expect(text).toContain(`可能原因: ${r.root_causes[0].cause}`);
      expect(r.root_causes[0].cause).toContain("OOMKilled");
      for (const i of shown) expect(text).toContain(`📊 ${i.summary}`);

      const dash = await (await h.request("/dashboard")).text();
      expect(dash).toContain("Recent analyses");
      expect(dash).toContain("KubePodCrashLooping");
      expect(dash).toContain(`📊 ${textHtml(shown[0].summary)}`);

      // A newer analysis of the same episode running: the page still shows the last result.
      const { analysisRecord, analysisWrite, getAnalysis } = await import("../../src/analysis/status.ts");
      const id = alertId(pod);
      const running = analysisRecord(await getAnalysis(h.deps.store, id), id, "processing", {
        at: new Date().toISOString(),
      });
      await h.deps.store.writeMany([analysisWrite(running, 60_000)]);
      expect(await page(pod)).toContain(`可能原因: ${r.root_causes[0].cause}`);

      // Asked to leave it out, resolved, or analysed before this episode began: no analysis shown.
      expect(await page(pod, { analysis: false })).not.toContain("分析");
      expect(await page({ ...pod, status: "resolved", endsAt: new Date().toISOString() })).not.toContain(
        "分析",
      );
      expect(await page({ ...pod, startsAt: new Date(Date.now() + 60_000).toISOString() })).not.toContain(
        "分析",
      );
    } finally {
      ding.stop();
    }
  }, 30_000);

  test("Prometheus down: the page says there is no evidence and why, next to the built-in analysis", async () => {
    const port = await freePort();
    const { h, ding, page } = await setup(`http://127.0.0.1:${port}`, "en");
    try {
      const disk = firingFor(alert("NodeFilesystemSpaceFillingUp", EVIDENCE.filesystem.labels), 600_000);
      expect((await h.job("/jobs/analysis", { type: "quick", alert: disk })).status).toBe(200);
      const text = await page(disk);
      expect(text).toContain("🔎 **Analysis**");
      expect(text).toContain("- No evidence from Prometheus: Prometheus unreachable");
      expect(text).not.toContain("📊");
    } finally {
      ding.stop();
    }
  }, 30_000);
});

describe("CPU, memory and a target down: where the time goes, how much memory is left, how long it failed", () => {
  test("a host whose CPUs wait on disk: busy 90%, iowait the top mode, and the disk named as the cause", async () => {
    const c = EVIDENCE.cpu;
    const ev = await collect(alert("HostHighCpuLoad", c.labels));
    within(ev?.items.find((i) => i.id === "cpu_busy")?.value ?? null, c.busyRatio);
    const top = ev?.items.find((i) => i.id === "cpu_top_mode");
    expect(top?.labels).toEqual({ mode: c.topMode });
    within(top?.value ?? null, c.topModeRatio);
    // rate() over the last 5 min reads a little under the truth: the last sample is 30 s old.
    expect(top?.summary).toMatch(
      /^Most of it is iowait: 5\d(\.\d)?% of the CPU time is waiting on disk I\/O\.$/,
    );
    within(ev?.items.find((i) => i.id === "load_per_cpu")?.value ?? null, c.load5 / c.cpus);

    const { makeHarness } = await import("../support/harness.ts");
    const h = makeHarness(`ai:\n  order: [builtin]\n  evidence: { prometheus_url: "${prom.url}" }\n`);
    const res = await h.job("/jobs/analysis", { type: "quick", alert: alert("HostHighCpuLoad", c.labels) });
    const r = (await res.json()) as { summary: string; root_causes: { cause: string }[] };
    expect(r.root_causes[0].cause).toContain("waiting on disk I/O");
    expect(r.summary).toMatch(/^The CPUs were busy 9\d(\.\d)?% of the last 5 min\. Most of it is iowait: /);
  });

  test("a host out of memory: what is left, how fast it falls, the OOM kills — and the OOM cause first", async () => {
    const m = EVIDENCE.memory;
    const ev = await collect(alert("HostOutOfMemory", m.labels), "zh");
    within(
      ev?.items.find((i) => i.id === "memory_available_ratio")?.value ?? null,
      m.availableBytesAtNow / m.totalBytes,
    );
    within(
      ev?.items.find((i) => i.id === "memory_available_trend_1h")?.value ?? null,
      -m.fallBytesPerHour / 3600,
    );
    within(ev?.items.find((i) => i.id === "oom_kills_1h")?.value ?? null, 2);
    expect(ev?.items.find((i) => i.id === "memory_available_trend_1h")?.summary).toBe(
      "可用内存每小时减少约 1024 MiB。",
    );
    const { makeHarness } = await import("../support/harness.ts");
    const h = makeHarness(`ai:\n  order: [builtin]\n  evidence: { prometheus_url: "${prom.url}" }\n`);
    const res = await h.job("/jobs/analysis", { type: "quick", alert: alert("HostOutOfMemory", m.labels) });
    const r = (await res.json()) as { root_causes: { cause: string; evidence: string }[] };
    expect(r.root_causes[0].cause).toContain("OOM killer");
    expect(r.root_causes[0].evidence).toContain("killed 2 processes in the last hour");
  });

  test("a target down for 20 minutes: up 2/3 of the hour, failed scrapes counted, the last one timing out", async () => {
    const t = EVIDENCE.target;
    const ev = await collect(alert("TargetDown", t.labels));
    within(ev?.items.find((i) => i.id === "up_1h")?.value ?? null, 1 - t.downSinceSecondsAgo / 3600);
    within(ev?.items.find((i) => i.id === "failed_scrapes_1h")?.value ?? null, t.downSinceSecondsAgo / 60);
    within(ev?.items.find((i) => i.id === "scrape_duration")?.value ?? null, t.scrapeTimeoutSeconds);
    // A target that stayed up counts 0 failed minutes; one Prometheus does not scrape, none at all.
    const healthy = await collect(alert("TargetDown", t.healthy));
    expect(healthy?.items.find((i) => i.id === "failed_scrapes_1h")).toMatchObject({
      value: 0,
      summary: "No scrape failed in the last hour.",
    });
    const unknown = await collect(alert("TargetDown", { instance: "nowhere:1", job: "api" }));
    expect(unknown?.items.find((i) => i.id === "failed_scrapes_1h")).toMatchObject({
      value: null,
      summary: "No scrape of this target in the last hour.",
    });
  });
});
