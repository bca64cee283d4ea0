/**
 * Benchmark section "evidence": what asking Prometheus adds to an analysis (docs/analysis.md,
 * "Evidence"). The same analysis jobs through the whole app in-process (built-in engine, memory
 * store, logs off), with `ai.evidence` off and on, against Debian's Prometheus serving the test
 * history (test/support/prometheus-history.ts): p50/p95 job latency and what it adds.
 * Prints a markdown section on stdout. Usage: bun run scripts/bench/evidence.ts [--jobs 300]
 */
import { parseArgs } from "node:util";
import type { createApp } from "../../src/app.ts";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { loadConfig } from "../../src/config/load.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { EVIDENCE, startPrometheusWithHistory } from "../../test/support/prometheus-history.ts";
import { fmt, inProcessApp, machine, markdownTable } from "./lib.ts";

const { values: opt } = parseArgs({ options: { jobs: { type: "string" } } });
const JOBS = Number(opt.jobs ?? 300);
const prom = await startPrometheusWithHistory();

function appWith(evidence: string) {
  const config =
    loadConfig(`qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }
worker: { public_url: "https://alerts.example.com" }
store: { kind: memory, max_keys: 1000000 }
ai: { order: [builtin]${evidence} }
`);
  return inProcessApp(config);
}

const CASES = [
  { name: "OOMKilled crash loop (4 queries)", alertname: "KubePodCrashLooping", labels: EVIDENCE.oom.labels },
  {
    name: "filling disk (3 queries)",
    alertname: "NodeFilesystemSpaceFillingUp",
    labels: EVIDENCE.filesystem.labels,
  },
];

let seq = 0;
async function latencies(app: ReturnType<typeof createApp>, c: (typeof CASES)[number]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < JOBS + 20; i++) {
    const path = "/jobs/analysis";
    const raw = JSON.stringify({
      type: "quick",
      alert: {
        id: `ev-${seq++}`,
        labels: { alertname: c.alertname, severity: "warning", ...c.labels },
        annotations: {},
      },
    });
    const sig = await signRequest({
      key: DEV_SIGNING_KEYS.current,
      url: `https://alerts.example.com${path}`,
      body: raw,
    });
    const t = performance.now();
    const res = await app.request(`http://worker.bench${path}`, {
      method: "POST",
      body: raw,
      headers: {
        "content-type": "application/json",
        "upstash-signature": sig,
        "upstash-message-id": `msg_ev_${seq}`,
      },
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`analysis answered ${res.status}`);
    if (i >= 20) out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const rows: string[][] = [];
try {
  const off = appWith("");
  const on = appWith(`, evidence: { prometheus_url: "${prom.url}" }`);
  for (const c of CASES) {
    const a = await latencies(off, c);
    const b = await latencies(on, c);
    rows.push([
      c.name,
      `${fmt(q(a, 0.5), 2)} / ${fmt(q(a, 0.95), 2)}`,
      `${fmt(q(b, 0.5), 2)} / ${fmt(q(b, 0.95), 2)}`,
      `+${fmt(q(b, 0.5) - q(a, 0.5), 2)} / +${fmt(q(b, 0.95) - q(a, 0.95), 2)}`,
    ]);
  }
} finally {
  await prom.stop();
}

console.log(`## Evidence: what asking Prometheus adds to an analysis

${JOBS} sequential analysis jobs per row after 20 warm-up, through the whole app in-process (signature, ledger, built-in engine, memory store, logs off), with \`ai.evidence\` off and on. Prometheus is Debian's, on loopback, serving the test history (\`test/support/prometheus-history.ts\`); the queries of one alert go out in parallel. ${machine()}. Command: \`bun run scripts/bench/evidence.ts --jobs ${JOBS}\`.

${markdownTable(["alert", "off: p50 / p95 (ms)", "on: p50 / p95 (ms)", "added: p50 / p95 (ms)"], rows)}
`);
