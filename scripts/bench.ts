/**
 * Benchmark: the compiled worker (dist/alertagent-worker) answering signed QStash failure
 * callbacks on POST /jobs/failure, against a bare Hono route compiled the same way
 * (dist/bench-bare, scripts/bench-bare.ts), both on loopback, under wrk in its own process.
 * Builds nothing: run `scripts/build --bench` first. Needs wrk (`apt-get install -y wrk`).
 *
 * Every request is a new job: requests are signed ahead of time (a new Upstash-Message-Id
 * and sourceMessageId each) into a file that a wrk Lua script walks through. Measures
 * throughput and p50/p99 latency, idle RSS, peak RSS under load, spawn → first 200 from
 * /health/ready (mean of 5 starts) and the binary's size; prints a markdown table and writes
 * it to BENCHMARKS.md. Usage: bun run scripts/bench.ts [--duration 10] [--connections 32]
 * [--threads 2] [--pool N] [--out BENCHMARKS.md]
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEV_SIGNING_KEYS } from "../src/config/default.ts";
import { signRequest } from "../src/qstash/sign.ts";

const ROOT = resolve(import.meta.dir, "..");
const WORKER = join(ROOT, "dist/alertagent-worker");
const BARE = join(ROOT, "dist/bench-bare");
const { values: opt } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    threads: { type: "string", default: String(Math.min(2, cpus().length)) },
    pool: { type: "string" },
    out: { type: "string", default: join(ROOT, "BENCHMARKS.md") },
  },
});
const DURATION_S = Number(opt.duration);
const CONNECTIONS = Number(opt.connections);
const THREADS = Number(opt.threads);
/** Signed requests to prepare; more than the worker can answer in DURATION_S, so none repeats. */
const POOL = Number(opt.pool ?? Math.max(50_000, DURATION_S * 25_000));
const BUDGET = { ratio: 0.25, readyMs: 150, idleRssMb: 60 };
const EXAMPLE = JSON.parse(readFileSync(join(ROOT, "examples/jobs/failure.json"), "utf8")) as Record<
  string,
  unknown
>;

function fail(msg: string): never {
  console.error(`bench: ${msg}`);
  process.exit(1);
}
for (const [f, why] of [
  [WORKER, "the worker binary"],
  [BARE, "the bare Hono baseline"],
]) {
  if (!existsSync(f)) fail(`${f} (${why}) is missing: run scripts/build --bench first`);
}
if (!Bun.which("wrk")) fail("wrk is not installed: apt-get install -y wrk");

const ENV = { ...process.env, ALERTAGENT_CONFIG: "" } as Record<string, string>;
const children = new Set<ReturnType<typeof Bun.spawn>>();
const cleanup = () => {
  for (const c of children) c.kill("SIGKILL");
};
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port as number;
  s.stop(true);
  return port;
}

interface Server {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  readyMs: number;
}

/** Spawns a server and polls /health/ready until 200; readyMs is spawn → that answer. */
async function start(bin: string, args: string[] = []): Promise<Server> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const proc = Bun.spawn([bin, "serve", "--port", String(port), ...args], {
    cwd: tmpdir(),
    env: ENV,
    stdout: "ignore",
    stderr: "pipe",
  });
  children.add(proc);
  while (performance.now() - t0 < 10_000) {
    if (proc.exitCode !== null)
      fail(
        `${bin} exited with ${proc.exitCode}: ${await new Response(proc.stderr as ReadableStream).text()}`,
      );
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200)
        return { proc, url, readyMs: performance.now() - t0 };
    } catch {
      // not listening yet
    }
    await Bun.sleep(2);
  }
  proc.kill("SIGKILL");
  fail(`${bin} was not ready within 10 s`);
}

async function stop(s: Server): Promise<void> {
  s.proc.kill("SIGTERM");
  await Promise.race([s.proc.exited, Bun.sleep(5_000)]);
  s.proc.kill("SIGKILL");
  children.delete(s.proc);
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function meanReadyMs(bin: string): Promise<number> {
  let sum = 0;
  for (let i = 0; i < 5; i++) {
    const s = await start(bin);
    sum += s.readyMs;
    await stop(s);
  }
  return sum / 5;
}

/** One line per request: message id, signature, body (tab-separated; bodies are one-line JSON). */
async function writePool(file: string, url: string): Promise<void> {
  const run = Date.now().toString(36);
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (let i = 0; i < POOL; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, POOL - i) }, async (_, j) => {
      const n = i + j;
      const body = JSON.stringify({
        ...EXAMPLE,
        sourceMessageId: `src_bench_${run}_${n}`,
        dlqId: `dlq_bench_${run}_${n}`,
      });
      // Signed like QStash, but valid long enough for both runs however long they are.
      const sig = await signRequest({
        key: DEV_SIGNING_KEYS.current,
        url: `${url}/jobs/failure`,
        body,
        claims: { exp: now + 300 + 3 * DURATION_S },
      });
      return `msg_bench_${run}_${n}\t${sig}\t${body}`;
    });
    lines.push(...(await Promise.all(batch)));
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
}

const LUA = `
local threads, reqs, i, wraps = {}, {}, 0, 0
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
function init(args)
  local k, n = 0, tonumber(args[2])
  for line in io.lines(args[1]) do
    if k % n == tid then
      local id, sig, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", "/jobs/failure",
        { ["Content-Type"] = "application/json", ["Upstash-Message-Id"] = id, ["Upstash-Signature"] = sig, ["Upstash-Retried"] = "0" }, body)
    end
    k = k + 1
  end
end
function request()
  i = i + 1
  if i > #reqs then i = 1; wraps = wraps + 1 end
  return reqs[i]
end
function done(s, lat, req)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wraps") or 0) end
  local e = s.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d,"wraps":%d}\\n',
    s.requests, s.duration, lat:percentile(50), lat:percentile(99), e.connect + e.read + e.write + e.timeout, e.status, w))
end
`;

interface Load {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
  wraps: number;
  peakRssMb: number;
}

/** Runs wrk against one server for DURATION_S, sampling the server's RSS every 100 ms. */
async function load(s: Server, script: string, pool: string): Promise<Load> {
  const args = [
    "-t",
    String(THREADS),
    "-c",
    String(CONNECTIONS),
    "-d",
    `${DURATION_S}s`,
    "--timeout",
    "5s",
    "-s",
    script,
    s.url,
    "--",
    pool,
    String(THREADS),
  ];
  const wrk = Bun.spawn(["wrk", ...args], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: (DURATION_S + 120) * 1000,
  });
  children.add(wrk);
  let peak = rssMb(s.proc.pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(s.proc.pid));
  }, 100);
  const [code, out, err] = await Promise.all([
    wrk.exited,
    new Response(wrk.stdout).text(),
    new Response(wrk.stderr).text(),
  ]);
  clearInterval(sampler);
  children.delete(wrk);
  const line = out.split("\n").find((l) => l.startsWith("BENCH "));
  if (code !== 0 || !line) fail(`wrk failed (exit ${code}):\n${out}${err}`);
  const r = JSON.parse(line.slice(6));
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    requests: r.requests,
    errors: r.errors,
    non2xx: r.non2xx,
    wraps: r.wraps,
    peakRssMb: peak,
  };
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

// ---- the run
const fmt = (n: number, d = 0) => n.toFixed(d);
const mb = (bytes: number) => bytes / 1024 / 1024;
console.error(
  `bench: ${DURATION_S} s per side, ${CONNECTIONS} connections, ${THREADS} wrk threads, ${POOL} signed requests`,
);

const readyWorker = await meanReadyMs(WORKER);
const readyBare = await meanReadyMs(BARE);
const worker = await start(WORKER);
const bare = await start(BARE);
const pool = join(tmpdir(), `alertagent-bench-${process.pid}.tsv`);
const script = join(tmpdir(), `alertagent-bench-${process.pid}.lua`);
let w: Load;
let b: Load;
let idleWorker: number;
let idleBare: number;
let seen: Record<string, number>;
try {
  await Bun.sleep(1000);
  idleWorker = rssMb(worker.proc.pid);
  idleBare = rssMb(bare.proc.pid);
  await writePool(pool, worker.url);
  writeFileSync(script, LUA);
  console.error("bench: bare Hono route…");
  b = await load(bare, script, pool);
  console.error("bench: worker, signed /jobs/failure…");
  w = await load(worker, script, pool);
  seen = await outcomes(worker.url);
} finally {
  await Promise.all([stop(worker), stop(bare)]);
  rmSync(pool, { force: true });
  rmSync(script, { force: true });
}

const ratio = w.rps / b.rps;
const verdict = (ok: boolean) => (ok ? "✅ meets budget" : "❌ misses budget");
const rows = [
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
    "idle RSS (MB)",
    fmt(idleWorker, 1),
    fmt(idleBare, 1),
    `< ${BUDGET.idleRssMb} MB`,
    verdict(idleWorker < BUDGET.idleRssMb),
  ],
  ["peak RSS under load (MB)", fmt(w.peakRssMb, 1), fmt(b.peakRssMb, 1), "", ""],
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
];
const table = [
  "| metric | worker: signed `POST /jobs/failure` | bare Hono `POST` | budget | result |",
  "|---|---:|---:|---|---|",
  ...rows.map((r) => `| ${r.join(" | ")} |`),
].join("\n");

const warnings: string[] = [];
if (w.wraps > 0)
  warnings.push(
    `the signed-request pool ran out ${w.wraps} time(s): later requests were replays; raise --pool`,
  );
if (w.non2xx > 0 || w.errors > 0)
  warnings.push(`the worker answered ${w.non2xx} non-2xx and ${w.errors} socket errors`);
if ((seen.duplicate ?? 0) > 0) warnings.push(`the worker counted ${seen.duplicate} duplicates`);

const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
const command = `bun run scripts/bench.ts ${process.argv.slice(2).join(" ")}`.trim();
const doc = `# Benchmarks

Measured by \`scripts/bench.ts\` (build first: \`scripts/build --bench\`). Both sides are
\`bun build --compile\` binaries of the same Bun, on loopback, loaded by wrk in its own process.
The worker runs the embedded default (in-memory store); every request is a new failure
callback (a new \`Upstash-Message-Id\`, QStash-signed with the dev key, verified, recorded in the
ledger and as a dead letter, counted in metrics). The bare side is a Hono route on Bun.serve that
reads the body and answers \`{"ok":true}\`. The worker logs one JSON line per job to stdout, which
goes to /dev/null here. wrk shares the machine's CPUs with the servers. The in-memory store keeps
each job's ledger entry and dead letter up to \`store.max_keys\` (50,000 values), so the worker's
RSS grows with the jobs it has seen until that bound.

- date: ${new Date().toISOString()}
- machine: ${cpus().length} CPUs (nproc), ${cpu}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB memory, Linux ${process.arch}
- runtime: Bun ${Bun.version} (compiled binaries)
- load: wrk, ${CONNECTIONS} connections, ${THREADS} threads, ${DURATION_S} s per side, no warm-up
- command: \`${command}\`

${table}

The worker counted these failure-job outcomes during its run: ${JSON.stringify(seen)}.
${warnings.length ? `\n**Warnings:** ${warnings.join("; ")}.\n` : ""}`;

// Hand-written notes below the marker survive a new run.
const MARKER = "<!-- notes: kept across bench runs -->";
const previous = existsSync(opt.out as string) ? readFileSync(opt.out as string, "utf8") : "";
const notes = previous.includes(MARKER) ? previous.slice(previous.indexOf(MARKER)) : `${MARKER}\n`;
console.log(table);
if (warnings.length) console.log(`\nwarnings: ${warnings.join("; ")}`);
writeFileSync(opt.out as string, `${doc}\n${notes}`);
console.error(`bench: wrote ${opt.out}`);
cleanup();
