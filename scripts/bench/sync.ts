/**
 * Benchmark: config sync. Validation, render + hash and diff for 10,000 rules (budget: a
 * whole plan — render + hash + diff — under 1 s), and end-to-end sync times to a running
 * Prometheus (Debian's `prometheus`, started here on a free loopback port with a temp dir):
 * a signed job through the app → file written → POST /-/reload → /api/v1/rules read back.
 * Prints a markdown table (median of --runs). Does not write BENCHMARKS.md.
 * Usage: bun run scripts/bench/sync.ts [--rules 10000] [--runs 5]
 */
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config/load.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { unifiedDiff } from "../../src/sync/diff.ts";
import { planTargets } from "../../src/sync/plan.ts";
import { renderTarget } from "../../src/sync/render.ts";
import { emptyState, saveState } from "../../src/sync/state.ts";
import { checkRuleSet, parseRules } from "../../src/sync/validate.ts";
import { createLogger } from "../../src/telemetry/logger.ts";
import { PromMetrics } from "../../src/telemetry/prom-metrics.ts";
import { buildDeps } from "../../src/wire.ts";
import { startPrometheus } from "../../test/support/peers.ts";
import { makeSyncHarness, SYNC_YAML_HEAD } from "../../test/support/sync-harness.ts";
import { sampleRules } from "../../test/support/sync-rules.ts";

const { values: opt } = parseArgs({
  options: { rules: { type: "string", default: "10000" }, runs: { type: "string", default: "5" } },
});
const N = Number(opt.rules);
const RUNS = Number(opt.runs);
const BUDGET_MS = 1000;

/** N rules in groups of 100, with labels, templated annotations and notify like real sets. */
function ruleSet(n: number, severity = (i: number) => (["critical", "warning", "info"] as const)[i % 3]) {
  return Array.from({ length: n }, (_, i) => ({
    id: `bench-${i}`,
    name: `Alert${i}`,
    group: `group-${String(Math.floor(i / 100)).padStart(4, "0")}`,
    severity: severity(i),
    expr: `rate(http_requests_total{job="svc-${i}",code=~"5.."}[5m]) / rate(http_requests_total{job="svc-${i}"}[5m]) > 0.05`,
    for: "5m",
    labels: { team: `team-${i % 17}`, service: `svc-${i}` },
    annotations: {
      summary: `svc-${i}: error ratio {{ $value | printf "%.2f" }}`,
      description: "{{ $labels.instance }} answers 5xx; see the runbook.",
    },
    notify: { channels: [`chan-${i % 11}`], group_by: ["alertname", "instance"], repeat_interval: "4h" },
  }));
}

async function median(fn: () => Promise<unknown> | unknown, runs = RUNS): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const config = loadConfig(`${SYNC_YAML_HEAD}
config_sync:
  targets:
    prometheus: { kind: prometheus, delivery: { type: file, path: /tmp/unused-p.yml } }
    vmalert: { kind: vmalert, delivery: { type: file, path: /tmp/unused-v.yml } }
    alertmanager: { kind: alertmanager, delivery: { type: file, path: /tmp/unused-a.yml } }
`);
const names = Object.keys(config.config_sync.targets).sort();
const rows: [string, string, string][] = [];
const ms = (x: number) => `${x.toFixed(1)} ms`;

const raw = ruleSet(N);
const validate = (r: unknown[]) => {
  const parsed = parseRules(r);
  checkRuleSet(parsed.rules, config.config_sync.targets, (id) => id);
  return parsed.rules;
};
const rules = validate(raw);
rows.push([`validate ${N} rules (zod + set checks)`, ms(await median(() => validate(raw))), ""]);
const rendered: Record<string, Awaited<ReturnType<typeof renderTarget>>> = {};
for (const name of names) {
  const t = await median(async () => {
    rendered[name] = await renderTarget(name, config.config_sync.targets[name], rules, config);
  });
  const size = (rendered[name].content.length / 1024 / 1024).toFixed(1);
  rows.push([`render + hash: ${name} (${size} MB)`, ms(t), ""]);
}

const prom = rendered.prometheus.content;
const oneChanged = await renderTarget(
  "prometheus",
  config.config_sync.targets.prometheus,
  rules.map((r, i) => (i === N / 2 ? { ...r, expr: `${r.expr} * 2` } : r)),
  config,
);
const allChanged = await renderTarget(
  "prometheus",
  config.config_sync.targets.prometheus,
  validate(ruleSet(N, () => "warning")),
  config,
);
rows.push([
  "diff: one rule changed",
  ms(await median(() => unifiedDiff(prom, oneChanged.content, "a", "b"))),
  "",
]);
rows.push([
  "diff: nothing applied yet (all added)",
  ms(await median(() => unifiedDiff("", prom, "a", "b"))),
  "",
]);
rows.push([
  "diff: every rule's severity changed (worst case)",
  ms(await median(() => unifiedDiff(prom, allChanged.content, "a", "b"))),
  "",
]);

// A whole plan as a job makes it: 3 targets rendered, hashed and diffed against their last state.
const store = new MemoryStore();
const deps = buildDeps({
  config,
  store,
  metrics: new PromMetrics(),
  runtime: "bun",
  logger: createLogger({ level: "error" }),
});
for (const name of names) {
  const r = rendered[name];
  await saveState(store, {
    ...emptyState(name, r.kind, "file"),
    version: 1,
    hash: r.hash,
    content: r.display,
  });
}
const changedRules = rules.map((r, i) => (i === N / 2 ? { ...r, expr: `${r.expr} * 2` } : r));
const plan = await median(() => planTargets(deps, changedRules, names));
rows.push([
  `**plan: render + hash + diff, 3 targets, ${N} rules, one changed**`,
  `**${ms(plan)}**`,
  plan < BUDGET_MS ? "✅ < 1 s" : "❌ over 1 s",
]);
const first = await median(
  () => planTargets(buildDeps({ ...deps, store: new MemoryStore(), runtime: "bun" }), rules, names),
  3,
);
rows.push([
  `plan, first sync (nothing applied yet), 3 targets`,
  ms(first),
  first < BUDGET_MS ? "✅ < 1 s" : "❌ over 1 s",
]);

// End to end against a running Prometheus.
const peer = await startPrometheus();
try {
  const h = makeSyncHarness(
    `
config_sync:
  targets:
    prometheus:
      kind: prometheus
      delivery: { type: file, path: "${join(peer.rulesDir, "alertagent.yml")}", reload_url: "${peer.url}/-/reload" }
      verify: { timeout: 60s }
`,
    { worker: "body_limit: 64mb, lease: 10m" },
  );
  // Time spent waiting on Prometheus (reload, read-back), to tell its share from the worker's.
  let peerMs = 0;
  const fetchPeer = h.deps.fetch;
  h.deps.fetch = async (input, init) => {
    const t = performance.now();
    try {
      const res = await fetchPeer(input, init);
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
    } finally {
      peerMs += performance.now() - t;
    }
  };
  const peerShare: Record<string, number[]> = {};
  const sync = async (body: unknown, label = "") => {
    peerMs = 0;
    const t = performance.now();
    const res = await h.sync(body);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`sync answered ${res.status}: ${text.slice(0, 300)}`);
    peerShare[label] = [...(peerShare[label] ?? []), peerMs];
    return performance.now() - t;
  };
  const peerMedian = (label: string) => {
    const xs = [...(peerShare[label] ?? [0])].sort((a, b) => a - b);
    return ` (Prometheus: ${ms(xs[Math.floor(xs.length / 2)])})`;
  };
  const sample = sampleRules();
  let flip = 0;
  const small = await median(() =>
    sync(
      { operation: "full", rules: sample.map((r, i) => (i === 0 ? { ...r, for: `${++flip}m` } : r)) },
      "small",
    ),
  );
  rows.push([
    `e2e: sync 3 rules to Prometheus (job → file → reload → read back)${peerMedian("small")}`,
    ms(small),
    "",
  ]);
  const big = await sync({ operation: "full", rules: raw }, "big");
  rows.push([`e2e: first sync of ${N} rules to Prometheus${peerMedian("big")}`, ms(big), ""]);
  const update = await median(
    () => sync({ operation: "update", rules: [{ ...raw[7], for: `${++flip}m` }] }, "update"),
    3,
  );
  rows.push([`e2e: update 1 of ${N} rules${peerMedian("update")}`, ms(update), ""]);
  const same = await median(
    () => sync({ operation: "update", rules: [{ ...raw[7], for: `${flip}m` }] }, "same"),
    3,
  );
  rows.push([`e2e: the same ${N} rules again (nothing delivered)`, ms(same), ""]);
} finally {
  await peer.stop();
}

console.log(`## Config sync (scripts/bench/sync.ts)

- date: ${new Date().toISOString()}
- machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? "?"}; Bun ${Bun.version}; median of ${RUNS} runs (e2e update/same: 3)
- rules: ${N} in groups of 100, each with labels, Go-templated annotations and a notify route

| step | time | budget |
|---|---:|---|
${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}
`);
