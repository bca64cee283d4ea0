/**
 * Benchmark of the analysis path; prints markdown tables (numbers never gate CI).
 *
 * 1. Worker overhead per engine: signed `POST /jobs/analysis` jobs through the whole app in-process
 *    (signature, ledger, status records, similar-alert search and indexing, validation), with the
 *    fake Dify and Ollama servers of the tests on loopback answering at once. The time spent inside
 *    the injected fetch (the engine's own time, loopback HTTP included) is subtracted from each
 *    job's latency; what is left is the worker's time.
 * 2. Similar-alert search: top-5 over 10,000 and 100,000 indexed alerts on the memory store,
 *    p50/p95 over random queries from the indexed set.
 *
 * Usage: bun run scripts/bench/analysis.ts [--jobs 400] [--sizes 10000,100000] [--queries 1000]
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { alertTokens } from "../../src/analysis/similar/features.ts";
import { SimilarityIndex } from "../../src/analysis/similar/index.ts";
import { docOf } from "../../src/analysis/similarity.ts";
import { createApp } from "../../src/app.ts";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Fetch } from "../../src/ports.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { PromMetrics } from "../../src/telemetry/prom-metrics.ts";
import { buildDeps } from "../../src/wire.ts";
import { incidents, noise, rng } from "../../test/support/alert-corpus.ts";
import { startFakeDify } from "../../test/support/fake-dify.ts";
import { startFakeOllama } from "../../test/support/fake-ollama.ts";

const { values: opt } = parseArgs({
  options: {
    jobs: { type: "string", default: "400" },
    sizes: { type: "string", default: "10000,100000" },
    queries: { type: "string", default: "1000" },
  },
});
const JOBS = Number(opt.jobs);
const SIZES = String(opt.sizes).split(",").map(Number);
const QUERIES = Number(opt.queries);

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (n: number) => n.toFixed(2);

const ANALYSIS = {
  summary: "CPU saturated by a runaway batch job",
  severity: "critical",
  root_causes: [{ cause: "batch job in a loop", confidence: 0.8, evidence: "top" }],
  remediation: [{ step: "Stop the job", command: "systemctl stop report", risk: "medium" }],
};

async function overhead(): Promise<string[]> {
  const dify = await startFakeDify({
    apps: [
      { key: "app-wf", mode: "workflow" },
      { key: "app-chat", mode: "chat" },
    ],
    respond: (call) =>
      call.path.endsWith("/workflows/run")
        ? { outputs: { analysis: ANALYSIS }, total_tokens: 500 }
        : { answer: JSON.stringify(ANALYSIS), usage: { prompt_tokens: 400, completion_tokens: 100 } },
  });
  const ollama = await startFakeOllama({
    models: ["qwen2.5:7b"],
    respond: () => ({ content: JSON.stringify(ANALYSIS), prompt_eval_count: 400, eval_count: 100 }),
  });
  const cases: [string, string, string][] = [
    ["dify-workflow", "dify", "comprehensive"],
    ["dify-chat", "dify", "quick"],
    ["ollama", "ollama", "comprehensive"],
    ["builtin", "builtin", "comprehensive"],
  ];
  const rows: string[] = [];
  try {
    for (const [name, engine, type] of cases) {
      const yaml = `qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }
worker: { log_level: error }
ai:
  order: [${engine}]
  dify: { url: ${dify.url}, apps: { comprehensive: { mode: workflow, key: app-wf }, quick: { mode: chat, key: app-chat } } }
  ollama: { url: ${ollama.url}, model: "qwen2.5:7b" }
`;
      let inFetch = 0;
      const timed: Fetch = async (input, init) => {
        const t = performance.now();
        try {
          const res = await fetch(input, init);
          await res.clone().arrayBuffer();
          return res;
        } finally {
          inFetch += performance.now() - t;
        }
      };
      const deps = buildDeps({
        config: loadConfig(yaml, {}, "bench"),
        store: new MemoryStore(),
        metrics: new PromMetrics(),
        runtime: "bun",
        logger: silentLogger,
        fetch: timed,
      });
      const app = createApp(deps);
      const totals: number[] = [];
      const engines: number[] = [];
      const own: number[] = [];
      for (let i = -50; i < JOBS; i++) {
        const alert = {
          id: `bench-${name}-${i}`,
          labels: {
            alertname: "HighCPU",
            severity: "critical",
            job: "node",
            instance: `10.0.${i & 255}.${(i >> 8) & 255}:9100`,
          },
          annotations: { summary: "CPU usage above 90%" },
          startsAt: "2026-11-28T08:00:00Z",
        };
        const body = JSON.stringify({ type, alert });
        const url = "http://worker.bench/jobs/analysis";
        const signature = await signRequest({ key: DEV_SIGNING_KEYS.current, url, body });
        inFetch = 0;
        const t = performance.now();
        const res = await app.request(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "upstash-signature": signature,
            "upstash-message-id": `m-${name}-${i}`,
          },
          body,
        });
        await res.arrayBuffer();
        const total = performance.now() - t;
        if (res.status !== 200) throw new Error(`${name}: job answered ${res.status}`);
        if (i < 0) continue;
        totals.push(total);
        engines.push(inFetch);
        own.push(total - inFetch);
      }
      rows.push(
        `| ${name} | ${JOBS} | ${ms(pct(totals, 0.5))} | ${ms(pct(engines, 0.5))} | ${ms(pct(own, 0.5))} | ${ms(pct(own, 0.95))} |`,
      );
    }
  } finally {
    await dify.stop();
    await ollama.stop();
  }
  return rows;
}

async function similarity(size: number): Promise<string> {
  Bun.gc(true);
  const heapBefore = process.memoryUsage().heapUsed;
  const store = new MemoryStore();
  const ix = new SimilarityIndex(store, { maxAlerts: size, retentionMs: 30 * 86_400_000, now: Date.now });
  const labelled = incidents();
  const names = [...new Set(labelled.map((l) => l.alert.labels.alertname))];
  const items = [...labelled, ...noise(size - labelled.length, 42, names)];
  const at = Date.now() - size;
  const t0 = performance.now();
  for (const [i, { alert }] of items.entries())
    await ix.add(docOf(alert, alert.annotations.summary ?? "", "", at + i));
  const addMs = performance.now() - t0;
  const r = rng(9);
  const times: number[] = [];
  for (let i = -100; i < QUERIES; i++) {
    const q = items[Math.floor(r() * items.length)].alert;
    const t = performance.now();
    await ix.search({ id: q.id, labels: q.labels, tokens: alertTokens(q) }, { k: 5, minScore: 0.3 });
    if (i >= 0) times.push(performance.now() - t);
  }
  Bun.gc(true);
  const heap = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  return `| ${size.toLocaleString("en")} | ${QUERIES} | ${ms(pct(times, 0.5))} | ${ms(pct(times, 0.95))} | ${ms(Math.max(...times))} | ${((addMs * 1000) / size).toFixed(0)} µs | ${heap.toFixed(0)} MB |`;
}

const command = `bun run scripts/bench/analysis.ts --jobs ${JOBS} --sizes ${SIZES.join(",")} --queries ${QUERIES}`;
console.log(
  [
    "## Analysis",
    "",
    `Worker overhead per engine: signed \`POST /jobs/analysis\` jobs through the whole app in-process, ${JOBS} per`,
    "engine after 50 warm-up jobs, each a new alert (status records, similar-alert search and indexing included),",
    "fake Dify/Ollama on loopback answering at once. Engine time = time inside the injected fetch (loopback",
    `included); worker time = job latency − engine time. ${cpus().length} CPUs, Bun ${Bun.version}; \`${command}\`.`,
    "",
    "| engine | jobs | job p50 (ms) | engine p50 (ms) | worker p50 (ms) | worker p95 (ms) |",
    "|---|---:|---:|---:|---:|---:|",
    ...(await overhead()),
    "",
    `Similar-alert search, top-5, memory store: ${QUERIES} queries drawn from the indexed alerts (6 labelled`,
    "incidents plus background alerts over the catalogue's names on 2,000 hosts). Heap = held after a GC,",
    "index plus the synthetic corpus.",
    "",
    "| indexed alerts | queries | p50 (ms) | p95 (ms) | max (ms) | index add (mean) | heap held |",
    "|---:|---:|---:|---:|---:|---:|---:|",
  ].join("\n"),
);
for (const size of SIZES) console.log(await similarity(size));
