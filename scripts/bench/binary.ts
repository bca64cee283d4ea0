/**
 * Benchmark section "the binary": the compiled worker (dist/alertagent-worker) answering signed
 * QStash failure callbacks on POST /jobs/failure, against a bare Hono route compiled the same
 * way (dist/bench-bare), both on loopback, under wrk in its own process; the same requests
 * against the worker with a no-op job (dist/bench-noop); plus idle and peak RSS, time to ready
 * and binary size. Builds nothing: run `scripts/build --bench` first.
 * Prints a markdown section on stdout (scripts/bench/all.ts assembles BENCHMARKS.md).
 * Usage: bun run scripts/bench/binary.ts [--duration 10] [--connections 32] [--threads 2]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default.ts";
import {
  cleanup,
  fail,
  fmt,
  freePort,
  loadOptions,
  markdownTable,
  medianBy,
  rssMb,
  runWrk,
  type Server,
  spawnServer,
  stopServer,
  writePool,
  wrkLua,
} from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const WORKER = join(ROOT, "dist/alertagent-worker");
const BARE = join(ROOT, "dist/bench-bare");
const NOOP = join(ROOT, "dist/bench-noop");
const LOAD = loadOptions().load;
const DURATION_S = LOAD.durationS;
/** Signed requests to prepare: more than the worker can answer in DURATION_S, so none repeats. */
const POOL = Math.max(50_000, DURATION_S * 40_000);
/**
 * Rounds of bare-then-worker, each on a fresh worker process (an empty ledger: no replays).
 * Single runs here vary by ±5–10%; the table shows the round with the median ratio.
 */
const ROUNDS = 3;
const BUDGET = { ratio: 0.25, readyMs: 150, idleRssMb: 60 };
const EXAMPLE = JSON.parse(readFileSync(join(ROOT, "examples/jobs/failure.json"), "utf8")) as Record<
  string,
  unknown
>;
const ENV = { ...process.env, ALERTAGENT_CONFIG: "" } as Record<string, string>;
/** The rounds run the embedded default on the memory store (the budget's terms); one more run is on its SQLite default. */
const MEMORY = { ...ENV, ALERTAGENT_CONFIG: `${DEFAULT_CONFIG_YAML}store:\n  kind: memory\n` };

for (const [f, why] of [
  [WORKER, "the worker binary"],
  [BARE, "the bare Hono baseline"],
  [NOOP, "the worker with a no-op job"],
]) {
  if (!existsSync(f)) fail(`${f} (${why}) is missing: run scripts/build --bench first`);
}

const start = (bin: string, env: Record<string, string> = MEMORY) => {
  const port = freePort();
  return spawnServer([bin, "serve", "--port", String(port)], `http://127.0.0.1:${port}`, {
    // A fresh folder per process: the embedded default's SQLite file starts empty each time.
    cwd: mkdtempSync(join(tmpdir(), "alertagent-bench-cwd-")),
    env,
  });
};

async function meanReadyMs(bin: string): Promise<number> {
  let sum = 0;
  for (let i = 0; i < 5; i++) {
    const s = await start(bin);
    sum += s.readyMs;
    await stopServer(s);
  }
  return sum / 5;
}

/** The worker's own count of failure jobs by outcome, from /metrics. */
async function outcomes(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(
    /^alertagent_jobs_total\{[^}]*family="failure"[^}]*outcome="(\w+)"[^}]*\} (\S+)$/gm,
  ))
    out[m[1]] = Number(m[2]);
  return out;
}

console.error(
  `bench (binary): ${DURATION_S} s per side, ${LOAD.connections} connections, ${LOAD.threads} wrk threads, ${POOL} signed requests`,
);
const readyWorker = await meanReadyMs(WORKER);
const readyBare = await meanReadyMs(BARE);
const worker: Server = await start(WORKER);
const bare: Server = await start(BARE);
const noop: Server = await start(NOOP);
const pool = join(tmpdir(), `alertagent-bench-${process.pid}.tsv`);
const script = join(tmpdir(), `alertagent-bench-${process.pid}.lua`);
type Run = Awaited<ReturnType<typeof runWrk>>;
const rounds: { b: Run; w: Run; seen: Record<string, number> }[] = [];
let n: Run;
let sq: Run;
let idleWorker: number;
let idleBare: number;
try {
  await Bun.sleep(1000);
  idleWorker = rssMb(worker.proc.pid);
  idleBare = rssMb(bare.proc.pid);
  const body = (n: number) =>
    JSON.stringify({ ...EXAMPLE, sourceMessageId: `src_bench_${n}_${Date.now()}`, dlqId: `dlq_bench_${n}` });
  await writePool(pool, worker.url, "/jobs/failure", POOL, body, 300 + 3 * DURATION_S);
  writeFileSync(script, wrkLua("/jobs/failure"));
  for (let r = 1; r <= ROUNDS; r++) {
    console.error(`bench: round ${r}/${ROUNDS}: bare Hono route…`);
    const b = await runWrk({ ...LOAD, url: bare.url, script, pool, pid: bare.proc.pid });
    console.error(`bench: round ${r}/${ROUNDS}: worker, signed /jobs/failure…`);
    const fresh = r === 1 ? worker : await start(WORKER);
    try {
      const w = await runWrk({ ...LOAD, url: fresh.url, script, pool, pid: fresh.proc.pid });
      rounds.push({ b, w, seen: await outcomes(fresh.url) });
    } finally {
      if (fresh !== worker) await stopServer(fresh);
    }
  }
  console.error("bench: worker, signed no-op job (same requests, handler does nothing)…");
  n = await runWrk({ ...LOAD, url: noop.url, script, pool, pid: noop.proc.pid });
  console.error("bench: worker on its SQLite default, signed /jobs/failure…");
  const onDisk = await start(WORKER, ENV);
  try {
    sq = await runWrk({ ...LOAD, url: onDisk.url, script, pool, pid: onDisk.proc.pid });
  } finally {
    await stopServer(onDisk);
  }
} finally {
  await Promise.all([stopServer(worker), stopServer(bare), stopServer(noop)]);
  rmSync(pool, { force: true });
  rmSync(script, { force: true });
}

const ratioOf = (r: (typeof rounds)[number]) => r.w.rps / r.b.rps;
const median = medianBy(rounds, ratioOf);
const { b, w, seen } = median;
const ratio = ratioOf(median);
const verdict = (ok: boolean) => (ok ? "✅ meets budget" : "❌ misses budget");
const mb = (bytes: number) => bytes / 1024 / 1024;
const table = markdownTable(
  ["metric", "worker: signed `POST /jobs/failure`", "bare Hono `POST`", "budget", "result"],
  [
    [
      "throughput (req/s)",
      fmt(w.rps),
      fmt(b.rps),
      `ratio ≥ ${BUDGET.ratio * 100}% of bare`,
      `${fmt(ratio * 100, 1)}% ${verdict(ratio >= BUDGET.ratio)}`,
    ],
    ["latency p50 (ms)", fmt(w.p50Ms, 2), fmt(b.p50Ms, 2), "", ""],
    ["latency p99 (ms)", fmt(w.p99Ms, 2), fmt(b.p99Ms, 2), "", ""],
    [
      "CPU µs per request (the server process, all threads)",
      fmt(w.cpuUsPerRequest),
      fmt(b.cpuUsPerRequest),
      "",
      `bare / worker: ${fmt((b.cpuUsPerRequest / w.cpuUsPerRequest) * 100, 1)}%`,
    ],
    [
      "idle RSS (MB)",
      fmt(idleWorker, 1),
      fmt(idleBare, 1),
      `< ${BUDGET.idleRssMb} MB`,
      verdict(idleWorker < BUDGET.idleRssMb),
    ],
    [
      "peak RSS under load (MB)",
      fmt(w.peakRssMb, 1),
      fmt(b.peakRssMb, 1),
      "< 150 MB (issue 7)",
      verdict(w.peakRssMb < 150),
    ],
    [
      "spawn → /health/ready 200 (ms, mean of 5)",
      fmt(readyWorker, 1),
      fmt(readyBare, 1),
      `< ${BUDGET.readyMs} ms`,
      verdict(readyWorker < BUDGET.readyMs),
    ],
    ["binary size (MB)", fmt(mb(statSync(WORKER).size), 1), fmt(mb(statSync(BARE).size), 1), "", ""],
    [
      "requests answered (non-2xx, socket errors)",
      `${w.requests} (${w.non2xx}, ${w.errors})`,
      `${b.requests} (${b.non2xx}, ${b.errors})`,
      "",
      "",
    ],
  ],
);
const noopRatio = n.rps / b.rps;
const noopTable = markdownTable(
  ["metric", "worker: signed no-op job", "bare Hono `POST`", "budget", "result"],
  [
    [
      "throughput (req/s)",
      fmt(n.rps),
      fmt(b.rps),
      `ratio ≥ ${BUDGET.ratio * 100}% of bare (issue 7)`,
      `${fmt(noopRatio * 100, 1)}% ${verdict(noopRatio >= BUDGET.ratio)}`,
    ],
    [
      "latency p50 / p99 (ms)",
      `${fmt(n.p50Ms, 2)} / ${fmt(n.p99Ms, 2)}`,
      `${fmt(b.p50Ms, 2)} / ${fmt(b.p99Ms, 2)}`,
      "",
      "",
    ],
    ["requests answered (non-2xx, socket errors)", `${n.requests} (${n.non2xx}, ${n.errors})`, "", "", ""],
  ],
);
const warnings: string[] = [];
if (n.non2xx > 0 || n.errors > 0)
  warnings.push(`the no-op worker answered ${n.non2xx} non-2xx and ${n.errors} socket errors`);
rounds.forEach((r, i) => {
  const round = `round ${i + 1}`;
  if (r.w.wraps > 0)
    warnings.push(
      `${round}: the signed-request pool ran out ${r.w.wraps} time(s): later requests were replays`,
    );
  if (r.w.non2xx > 0 || r.w.errors > 0)
    warnings.push(`${round}: the worker answered ${r.w.non2xx} non-2xx and ${r.w.errors} socket errors`);
  if ((r.seen.duplicate ?? 0) > 0)
    warnings.push(`${round}: the worker counted ${r.seen.duplicate} duplicates`);
});

console.log(`## The binary: signed jobs against a bare Hono route

Both sides are \`bun build --compile\` binaries of Bun ${Bun.version}, on loopback, loaded by wrk (${LOAD.connections} connections, ${LOAD.threads} threads, ${DURATION_S} s each, no warm-up) sharing the machine's CPUs. The worker runs the embedded default with \`store: {kind: memory}\` (the budget's terms; its SQLite default is measured apart below); every request is a new failure callback (a new \`Upstash-Message-Id\`, signed with the dev key, verified, recorded in the ledger and as a dead letter, counted in metrics, one JSON log line to /dev/null, the answer's, which carries the dead letter; \`worker.memory_limit\` at its default, 128 MB). The bare side is a Hono route on Bun.serve that reads the body and answers \`{"ok":true}\`. Command: \`bun run scripts/bench/binary.ts\`.

${ROUNDS} rounds, each the bare route then a fresh worker process; single runs on this machine vary by ±5–10%, so the table is the round with the median ratio. The ratio in each round: ${rounds.map((r) => `${fmt(ratioOf(r) * 100, 1)}% (${fmt(r.w.rps)} / ${fmt(r.b.rps)} req/s)`).join(", ")}.

${table}

The worker counted these failure-job outcomes: ${JSON.stringify(seen)}.

The same signed requests against \`dist/bench-noop\` (\`scripts/bench/noop.ts\`): the worker's binary with the failure handler replaced by one that does nothing — body limit, signature, gate, ledger claim and record, metrics and the answer's log line are all there; the dead letter, the source's ledger entry and the recent list are not. The difference between the two tables is the failure handler's own work.

${noopTable}

The same signed failure callbacks against the worker on its real default, the SQLite store (./data/alertagent.db in a fresh folder, WAL mode: each job's claim and answer are transactions on disk): **${fmt(sq.rps)} jobs/s** (${fmt((sq.rps / b.rps) * 100, 1)}% of the bare route), p50 / p99 ${fmt(sq.p50Ms, 2)} / ${fmt(sq.p99Ms, 2)} ms, ${fmt(sq.cpuUsPerRequest)} µs of CPU per job, ${sq.non2xx} non-2xx and ${sq.errors} socket errors. That is what durability across a restart costs here.${warnings.length ? `\n\n**Warnings:** ${warnings.join("; ")}.` : ""}
`);
cleanup();
