import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { loadConfig } from "../../src/config/load.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { manyGroups } from "../../test/support/sync-rules.ts";
import { fmt, inProcessApp, markdownTable } from "./lib.ts";

const sink = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    await req.arrayBuffer();
    return Response.json({ ok: true });
  },
});
const config =
  loadConfig(`qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next}, token: bench-token }
worker: { body_limit: 64mb, public_url: "https://alerts.example.com" }
store: { max_keys: 1000000 }
ai: { order: [builtin] }
channels:
  sink: { type: webhook, url: "http://127.0.0.1:${sink.port}/hook" }
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/alertagent-scaling.yml } }
    am: { kind: alertmanager, delivery: { type: file, path: /tmp/alertagent-scaling-am.yml } }
`);
const app = inProcessApp(config);

let seq = 0;
async function job(path: string, body: unknown): Promise<number> {
  const url = `http://worker.bench${path}`;
  const raw = JSON.stringify(body);
  const sig = await signRequest({
    key: DEV_SIGNING_KEYS.current,
    url: `https://alerts.example.com${path}`,
    body: raw,
  });
  const t = performance.now();
  const res = await app.request(url, {
    method: "POST",
    headers: { "upstash-signature": sig, "upstash-message-id": `scale-${seq++}` },
    body: raw,
  });
  const ms = performance.now() - t;
  if (res.status !== 200)
    throw new Error(`${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return ms;
}

async function p50(runs: number, f: (i: number) => Promise<number>): Promise<number> {
  for (let i = 0; i < 3; i++) await f(-1 - i); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await f(i));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const alerts = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({
    status: "firing",
    labels: {
      alertname: "HighCPU",
      severity: i % 5 ? "warning" : "critical",
      instance: `10.0.${Math.floor(i / 250)}.${i % 250}:9100`,
      job: "node",
    },
    annotations: {
      summary: "CPU usage above 90%",
      description: `CPU on host ${i} has been above 90% for 5 minutes.`,
    },
    startsAt: "2026-11-28T08:00:00Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus.example:9090/graph?g0.expr=x",
    fingerprint: `${tag}-${i}`,
  }));
const payload = (n: number, tag: string) => ({
  version: "4",
  groupKey: `{}:{alertname="HighCPU",run="${tag}"}`,
  truncatedAlerts: 0,
  status: "firing",
  receiver: "sink",
  groupLabels: { alertname: "HighCPU" },
  commonLabels: { alertname: "HighCPU", job: "node" },
  commonAnnotations: {},
  externalURL: "http://alertmanager.example:9093",
  alerts: alerts(n, tag),
});

const rows: string[][] = [];
async function series(
  name: string,
  unit: string,
  sizes: number[],
  runs: number,
  make: (size: number, i: number) => Promise<number>,
) {
  const base: number[] = [];
  for (const size of sizes) {
    const t = await p50(runs, (i) => make(size, i));
    base.push(t);
    rows.push([
      name,
      `${size} ${unit}`,
      fmt(t, 2),
      fmt((t / size) * 1000, 1),
      base.length > 1 ? `${fmt(t / base[0], 1)}×` : "1×",
    ]);
  }
}

await series("notification (webhook)", "alerts", [1, 10, 100], 40, (n, i) =>
  job("/jobs/notification", { channels: ["sink"], payload: payload(n, `n${n}-${i}`) }),
);
await series("analysis (built-in)", "alerts", [1, 10, 100], 20, (n, i) =>
  job("/jobs/analysis", { type: "quick", payload: payload(n, `a${n}-${i}`) }),
);
const ruleSets = new Map([100, 1000, 10000].map((n) => [n, manyGroups(n / 5, 5)]));
await series("config-sync plan (dry run, 2 targets)", "rules", [100, 1000, 10000], 5, (n, i) =>
  job("/jobs/config-sync", {
    operation: "full",
    dry_run: true,
    rules: (ruleSets.get(n) ?? []).map((r, k) => (k === 0 ? { ...r, for: `${(i & 7) + 1}m` } : r)),
  }),
);
sink.stop(true);

console.log(`## How cost grows with the work

The same job at 1×, 10× and 100× its size, through the whole app in-process (signature, ledger, metrics; memory store; logs off), p50 of repeated jobs after a warm-up. Command: \`bun run scripts/bench/scaling.ts\`. Similarity search against history size: the analysis section (10,000 vs 100,000 alerts).

${markdownTable(["job", "size", "p50 per job (ms)", "per unit (µs)", "vs 1×"], rows)}
`);
