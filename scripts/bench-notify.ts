/**
 * Notification throughput: the compiled worker (dist/alertagent-worker; build it with
 * scripts/build) answering signed `POST /jobs/notification` jobs, each delivering one
 * Alertmanager group (2 alerts, a new groupKey per job, so no repeat is skipped) to a webhook
 * channel that points at a loopback sink in this process. wrk loads the worker from its own
 * process; every request carries a new Upstash-Message-Id. Prints a markdown table: jobs/s,
 * p50/p99 latency, what the sink received, the worker's peak RSS.
 * Usage: bun run scripts/bench-notify.ts [--duration 10] [--connections 32] [--threads 2]
 * [--pool N] [--bin dist/alertagent-worker]
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEV_SIGNING_KEYS } from "../src/config/default.ts";
import { signRequest } from "../src/qstash/sign.ts";

const ROOT = resolve(import.meta.dir, "..");
const { values: opt } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    threads: { type: "string", default: String(Math.min(2, cpus().length)) },
    pool: { type: "string" },
    bin: { type: "string", default: join(ROOT, "dist/alertagent-worker") },
  },
});
const DURATION_S = Number(opt.duration);
const CONNECTIONS = Number(opt.connections);
const THREADS = Number(opt.threads);
const POOL = Number(opt.pool ?? Math.max(40_000, DURATION_S * 8_000));
const BIN = resolve(opt.bin as string);
const PAYLOAD = JSON.parse(readFileSync(join(ROOT, "../shared/fixtures/alertmanager-firing.json"), "utf8"));

function fail(msg: string): never {
  console.error(`bench-notify: ${msg}`);
  process.exit(1);
}
if (!existsSync(BIN)) fail(`${BIN} is missing: run scripts/build first`);
if (!Bun.which("wrk")) fail("wrk is not installed: apt-get install -y wrk");

const children = new Set<ReturnType<typeof Bun.spawn>>();
process.on("SIGINT", () => {
  for (const c of children) c.kill("SIGKILL");
  process.exit(130);
});

function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port as number;
  s.stop(true);
  return port;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

// ---- the loopback sink the webhook channel delivers to
let delivered = 0;
const sink = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    await req.arrayBuffer();
    delivered++;
    return Response.json({ ok: true });
  },
});

// ---- the worker
const scratch = join(tmpdir(), `alertagent-bench-notify-${process.pid}`);
const configFile = `${scratch}.yaml`;
writeFileSync(
  configFile,
  `worker: { concurrency: 1024 }
qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }
channels:
  sink: { type: webhook, url: "http://127.0.0.1:${sink.port}/hook" }
`,
);
const port = freePort();
const url = `http://127.0.0.1:${port}`;
const worker = Bun.spawn([BIN, "serve", "--config", configFile, "--port", String(port)], {
  cwd: tmpdir(),
  env: { ...process.env, ALERTAGENT_CONFIG: "" },
  stdout: "ignore",
  stderr: "pipe",
});
children.add(worker);
const t0 = performance.now();
for (;;) {
  if (worker.exitCode !== null)
    fail(`the worker exited: ${await new Response(worker.stderr as ReadableStream).text()}`);
  if (performance.now() - t0 > 10_000) fail("the worker was not ready within 10 s");
  try {
    if ((await fetch(`${url}/health/ready`)).status === 200) break;
  } catch {
    // not listening yet
  }
  await Bun.sleep(5);
}

// ---- one signed job per line: message id, signature, body
const pool = `${scratch}.tsv`;
const script = `${scratch}.lua`;
const run = Date.now().toString(36);
const now = Math.floor(Date.now() / 1000);
console.error(`bench-notify: signing ${POOL} jobs…`);
const lines: string[] = [];
for (let i = 0; i < POOL; i += 1000) {
  const batch = Array.from({ length: Math.min(1000, POOL - i) }, async (_, j) => {
    const n = i + j;
    const body = JSON.stringify({
      channels: ["sink"],
      payload: { ...PAYLOAD, groupKey: `${PAYLOAD.groupKey}:bench-${run}-${n}` },
    });
    const sig = await signRequest({
      key: DEV_SIGNING_KEYS.current,
      url: `${url}/jobs/notification`,
      body,
      claims: { exp: now + 300 + 3 * DURATION_S },
    });
    return `msg_bench_notify_${run}_${n}\t${sig}\t${body}`;
  });
  lines.push(...(await Promise.all(batch)));
}
writeFileSync(pool, `${lines.join("\n")}\n`);
writeFileSync(
  script,
  `
local threads, reqs, i, wraps = {}, {}, 0, 0
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
function init(args)
  local k, n = 0, tonumber(args[2])
  for line in io.lines(args[1]) do
    if k % n == tid then
      local id, sig, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", "/jobs/notification",
        { ["Content-Type"] = "application/json", ["Upstash-Message-Id"] = id, ["Upstash-Signature"] = sig }, body)
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
`,
);

// ---- load
console.error(`bench-notify: wrk ${CONNECTIONS} connections, ${THREADS} threads, ${DURATION_S} s…`);
const idle = rssMb(worker.pid);
let peak = idle;
const sampler = setInterval(() => {
  peak = Math.max(peak, rssMb(worker.pid));
}, 100);
const wrk = Bun.spawn(
  [
    "wrk",
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
    url,
    "--",
    pool,
    String(THREADS),
  ],
  { stdout: "pipe", stderr: "pipe" },
);
children.add(wrk);
const [code, out, err] = await Promise.all([
  wrk.exited,
  new Response(wrk.stdout).text(),
  new Response(wrk.stderr).text(),
]);
clearInterval(sampler);
const line = out.split("\n").find((l) => l.startsWith("BENCH "));
const metrics = await (await fetch(`${url}/metrics`)).text();
worker.kill("SIGTERM");
await Promise.race([worker.exited, Bun.sleep(5000)]);
worker.kill("SIGKILL");
sink.stop(true);
for (const f of [pool, script, configFile]) rmSync(f, { force: true });
if (code !== 0 || !line) fail(`wrk failed (exit ${code}):\n${out}${err}`);

const r = JSON.parse(line.slice(6));
const count = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? 0);
const succeeded = count(
  /^alertagent_jobs_total\{[^}]*family="notification"[^}]*outcome="succeeded"[^}]*\} (\S+)$/m,
);
const sent = count(/^alertagent_notifications_total\{[^}]*channel="sink"[^}]*status="sent"[^}]*\} (\S+)$/m);
const rows = [
  ["throughput (jobs/s)", (r.requests / (r.duration_us / 1e6)).toFixed(0)],
  ["latency p50 (ms)", (r.p50_us / 1000).toFixed(2)],
  ["latency p99 (ms)", (r.p99_us / 1000).toFixed(2)],
  ["jobs answered (non-2xx, socket errors)", `${r.requests} (${r.non2xx}, ${r.errors})`],
  ["jobs the worker counted as succeeded", String(succeeded)],
  ["deliveries the sink received / the worker counted as sent", `${delivered} / ${sent}`],
  ["worker RSS idle → peak (MB)", `${idle.toFixed(1)} → ${peak.toFixed(1)}`],
];
console.log(
  [
    `Notification throughput: compiled worker (${BIN.replace(`${ROOT}/`, "")}), signed \`POST /jobs/notification\`,`,
    `one Alertmanager group (2 alerts) per job to a loopback webhook sink; wrk ${CONNECTIONS} connections,`,
    `${THREADS} threads, ${DURATION_S} s; ${cpus().length} CPUs, Bun ${Bun.version}.`,
    "",
    "| metric | value |",
    "|---|---:|",
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  ].join("\n"),
);
if (r.wraps > 0) console.log(`\nwarning: the pool of ${POOL} jobs ran out ${r.wraps} time(s): raise --pool`);
