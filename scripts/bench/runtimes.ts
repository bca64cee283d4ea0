/**
 * Benchmark section "each runtime": the same signed failure-callback load against the worker on
 * Deno (from source, scripts/deno-run) and on workerd (wrangler dev), each compared with the bare
 * Hono app on the same runtime (bench-bare-deno.ts, bench-bare-worker.ts). The binary's own row
 * comes from scripts/bench/binary.ts. Prints a markdown section on stdout.
 * Usage: bun run scripts/bench/runtimes.ts [--duration 10] [--rounds 3] [--connections 32] [--only deno|workerd]
 */
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default.ts";
import {
  cleanup,
  fail,
  fmt,
  freePort,
  type Load,
  loadOptions,
  markdownTable,
  medianBy,
  runWrk,
  type Server,
  spawnServer,
  stopServer,
  wranglerCommand,
  writePool,
  wrkLua,
} from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BIN = join(ROOT, "node_modules/.bin");
const { load: LOAD, extra } = loadOptions({ only: "", rounds: "3" });
/** Rounds of bare-then-worker per runtime; the median round by ratio is shown (as in binary.ts). */
const ROUNDS = Number(extra.rounds);
const ENV = {
  ...process.env,
  ALERTAGENT_CONFIG: "",
  PATH: `${BIN}:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: "false",
} as Record<string, string>;

/** The embedded default with the memory store: what the runtimes are compared on (the store's own cost apart). */
const MEMORY_DEFAULT = `${DEFAULT_CONFIG_YAML}store:\n  kind: memory\n`;

const denoWorker = (p: number) => [join(ROOT, "scripts/deno-run"), "serve", "--port", String(p)];
const denoBare = (p: number) => [
  join(BIN, "deno"),
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-env",
  join(ROOT, "scripts/bench/bare-deno.ts"),
  "--port",
  String(p),
];

const RUNTIMES: {
  name: string;
  worker: (port: number) => string[];
  bare: (port: number) => string[];
  env?: Record<string, string>;
}[] = [
  {
    name: "Deno 2.9 (from source), memory store",
    worker: denoWorker,
    env: { ALERTAGENT_CONFIG: MEMORY_DEFAULT },
    bare: denoBare,
  },
  {
    name: "Deno 2.9 (from source), SQLite (the default)",
    worker: denoWorker,
    bare: denoBare,
  },
  {
    name: "workerd (wrangler dev)",
    worker: (p) => wranglerCommand(p),
    bare: (p) => wranglerCommand(p, "scripts/bench/bare-worker.ts"),
  },
];

async function measure(cmd: (port: number) => string[], label: string, env: Record<string, string> = {}) {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const s: Server = await spawnServer(cmd(port), url, {
    cwd: ROOT,
    env: { ...ENV, ...env },
    timeoutMs: 60_000,
  });
  const pool = join(tmpdir(), `bench-rt-${process.pid}-${port}.tsv`);
  const script = join(tmpdir(), `bench-rt-${process.pid}-${port}.lua`);
  try {
    // Each request a new job: ~25k per second of load (Deno does ~14k jobs/s, bare Hono needs none new).
    await writePool(
      pool,
      url,
      "/jobs/failure",
      Math.max(50_000, LOAD.durationS * 25_000),
      (n) =>
        JSON.stringify({
          status: 503,
          sourceMessageId: `src_rt_${port}_${n}`,
          url: "https://w.example.com/jobs/notification",
          retried: 3,
        }),
      300 + 3 * LOAD.durationS,
    );
    writeFileSync(script, wrkLua("/jobs/failure"));
    console.error(`bench: ${label}…`);
    return await runWrk({ ...LOAD, url, script, pool, pid: s.proc.pid });
  } finally {
    await stopServer(s);
    rmSync(pool, { force: true });
    rmSync(script, { force: true });
  }
}

const rows: string[][] = [];
for (const rt of RUNTIMES) {
  if (extra.only && !rt.name.toLowerCase().startsWith(extra.only.toLowerCase())) continue;
  const rounds: { bare: Load; worker: Load }[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const bare = await measure(rt.bare, `${rt.name}: round ${r}/${ROUNDS}: bare Hono`);
    const worker = await measure(rt.worker, `${rt.name}: round ${r}/${ROUNDS}: worker`, rt.env);
    if (worker.wraps > 0) fail(`${rt.name}: the pool of signed requests ran out: later jobs were replays`);
    rounds.push({ bare, worker });
  }
  const ratio = (x: (typeof rounds)[number]) => x.worker.rps / x.bare.rps;
  const { bare, worker } = medianBy(rounds, ratio);
  const all = rounds.map((x) => `${fmt(ratio(x) * 100, 1)}%`).join(", ");
  rows.push([
    rt.name,
    fmt(worker.rps),
    `${fmt(worker.p50Ms, 2)} / ${fmt(worker.p99Ms, 2)}`,
    fmt(bare.rps),
    `${fmt(bare.p50Ms, 2)} / ${fmt(bare.p99Ms, 2)}`,
    `${fmt((worker.rps / bare.rps) * 100, 1)}% (rounds ${all})`,
    `${fmt(worker.cpuUsPerRequest)} / ${fmt(bare.cpuUsPerRequest)}`,
    `${fmt((bare.cpuUsPerRequest / worker.cpuUsPerRequest) * 100, 1)}% (rounds ${rounds.map((x) => `${fmt((x.bare.cpuUsPerRequest / x.worker.cpuUsPerRequest) * 100, 1)}%`).join(", ")})`,
    `${worker.non2xx + worker.errors}`,
  ]);
}
console.log(`## Each runtime: signed failure callbacks against bare Hono on the same runtime

wrk (${LOAD.connections} connections, ${LOAD.threads} threads, ${LOAD.durationS} s each, no warm-up; ${ROUNDS} rounds of bare-then-worker, each on a fresh process, and the round with the median ratio shown: bare Hono alone varies by ±20% between runs here); every request a new signed message. Deno runs from source with the project's node_modules, once with the memory store (the embedded default plus \`store: {kind: memory}\`, so the runtimes compare on the same work) and once on its default, SQLite at ./data/alertagent.db (WAL: every job's claim and answer are transactions on disk); workerd runs under \`wrangler dev\` (local mode, memory store per isolate, metrics aggregated in the store). Command: \`bun run scripts/bench/runtimes.ts\`.

The CPU columns are the server's own CPU time (utime + stime of its process and the processes under it: for wrangler, its Node.js process and both workerds) over the run, divided by the requests answered; the CPU ratio is bare CPU per request over worker CPU per job, the same ratio as the throughput's when the server is the bottleneck, but less moved by wrk and the host's other load, which share the CPUs.

${markdownTable(["runtime", "worker jobs/s", "worker p50 / p99 (ms)", "bare req/s", "bare p50 / p99 (ms)", "ratio", "CPU µs per job / per bare request", "CPU ratio", "worker non-2xx + errors"], rows)}
`);
cleanup();
