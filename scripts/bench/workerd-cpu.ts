/**
 * Benchmark section "CPU per job on workerd" (issue #19): how much CPU one job costs the worker
 * under `wrangler dev` (local workerd), against the Workers free plan's 10 ms of CPU per request.
 *
 * Local workerd reports no per-request CPU, so this reads the CPU time (utime + stime,
 * /proc/<pid>/stat) of the workerd process that runs the worker — wrangler dev starts two: its
 * dev proxy, bound to the --port, and the worker's own, started with an inspector — before and
 * after N sequential signed requests of one kind (after a warm-up, and after the process has gone
 * quiet again, so work left to waitUntil is counted), and divides by N. Nothing is subtracted;
 * the bare Hono app on workerd (bare-worker.ts), measured the same way, is the floor that is not
 * the worker's JavaScript: HTTP parsing, miniflare's entry worker, the runtime's own threads.
 *
 * Rows: a signed failure callback (examples/jobs/failure.json), a notification of one
 * Alertmanager group of 100 alerts to one webhook channel (a loopback sink that counts what it
 * receives), and a built-in-engine analysis of the typical alert of examples/jobs/analysis.json.
 * Each job is a new message (and a new group or alert). Every run starts wrangler afresh.
 *
 * Each worker row runs on the memory store and on the Upstash store (the test suite's REST shim in
 * front of a local redis-server): on Workers every store call is a subrequest whose answer is parsed.
 *
 * Usage: bun run scripts/bench/workerd-cpu.ts [--jobs 500] [--warmup 200] [--runs 2] [--stores memory,upstash]
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { bigGroup } from "../../test/support/alert-groups.ts";
import { startRedis } from "../../test/support/redis-server.ts";
import { startUpstashShim } from "../../test/support/upstash-shim.ts";
import {
  CPU_TICK_MS,
  cleanup,
  cpuMs,
  descendants,
  fail,
  fmt,
  freePort,
  machine,
  markdownTable,
  type Server,
  spawnServer,
  stopServer,
  wranglerCommand,
} from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BIN = join(ROOT, "node_modules/.bin");
const { values: opt } = parseArgs({
  options: {
    jobs: { type: "string", default: "500" },
    warmup: { type: "string", default: "200" },
    runs: { type: "string", default: "2" },
    // The worker's store: memory (per isolate) and upstash (what Workers run in production,
    // here the Upstash-compatible REST shim in front of a local redis-server).
    stores: { type: "string", default: "memory,upstash" },
  },
});
const STORES = opt.stores.split(",") as ("memory" | "upstash")[];
const JOBS = Number(opt.jobs);
const WARMUP = Number(opt.warmup);
const RUNS = Number(opt.runs);
const FREE_PLAN_MS = 10;
const ALERTS = 100;
const ENV = {
  ...process.env,
  ALERTAGENT_CONFIG: "",
  PATH: `${BIN}:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: "false",
  NO_UPDATE_NOTIFIER: "1",
} as Record<string, string>;
const example = (name: string) => JSON.parse(readFileSync(join(ROOT, `examples/jobs/${name}.json`), "utf8"));
const FAILURE = example("failure");
const ANALYSIS = example("analysis");
const GROUP = bigGroup(ALERTS);

/** The loopback webhook receiver: counts what it is sent (and how many alerts each carried). */
let delivered = 0;
let deliveredAlerts = 0;
const sink = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const body = (await req.json()) as { alerts?: unknown[] };
    delivered++;
    deliveredAlerts += body.alerts?.length ?? 0;
    return Response.json({ ok: true });
  },
});

/** Upstash's REST API over a local redis-server (the test suite's shim), when a row asks for it. */
const upstash = STORES.includes("upstash")
  ? await (async () => {
      const redis = await startRedis();
      const shim = await startUpstashShim({ redisUrl: redis.url, token: "bench-token" });
      return { redis, shim };
    })()
  : undefined;

/** The worker's config, one line of flow YAML for `wrangler dev --var ALERTAGENT_CONFIG:…`. */
const configFor = (store: string, run: string) =>
  `{qstash: {current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next}}, ai: {order: [builtin]}, channels: {sink: {type: webhook, url: "http://127.0.0.1:${sink.port}/hook"}}${
    store === "upstash" && upstash
      ? `, store: {kind: upstash, url: "${upstash.shim.url}", token: bench-token, prefix: "bench-${run}:"}`
      : ""
  }}`;

/** The worker under `wrangler dev` on `store`, or (with `script`) the bare app. */
const wrangler = (port: number, script: string | undefined, store: string, run: string) =>
  wranglerCommand(port, script, script ? [] : ["--var", `ALERTAGENT_CONFIG:${configFor(store, run)}`]);

/**
 * The two workerd processes of a `wrangler dev` on `port`: the dev proxy (bound to the port) and
 * the one running the worker (bound elsewhere, with the inspector). Fails unless exactly one each.
 */
function workerdPids(server: Server, port: number): { worker: number; proxy: number } {
  const w = descendants(server.proc.pid).filter((p) => p.comm === "workerd");
  const proxy = w.filter((p) => p.cmdline.includes(`--socket-addr=entry=127.0.0.1:${port} `));
  const worker = w.filter((p) => !proxy.includes(p));
  if (proxy.length !== 1 || worker.length !== 1 || !worker[0].cmdline.includes("--inspector-addr"))
    fail(
      `expected wrangler's dev proxy and one worker workerd, found:\n${w.map((p) => p.cmdline).join("\n")}`,
    );
  return { worker: worker[0].pid, proxy: proxy[0].pid };
}

/** Waits until the process's CPU time has not moved for 300 ms (at most 5 s); returns it. */
async function settledCpu(pid: number): Promise<{ total: number; user: number }> {
  let last = cpuMs(pid);
  for (let quiet = 0, t = 0; quiet < 3 && t < 50; t++) {
    await Bun.sleep(100);
    const now = cpuMs(pid);
    quiet = now.total === last.total ? quiet + 1 : 0;
    last = now;
  }
  return last;
}

interface Kind {
  name: string;
  path: string;
  body: (n: number, run: string) => string;
  /** What the job's answer must hold (beyond 200). */
  check?: (json: Record<string, unknown>) => string | undefined;
  /** Sent to the bare app, not the worker. */
  bare?: boolean;
  /** The worker's store for this row. */
  store?: string;
}

const KINDS: Kind[] = [
  {
    name: "signed failure callback (examples/jobs/failure.json)",
    path: "/jobs/failure",
    body: (n, run) =>
      JSON.stringify({ ...FAILURE, sourceMessageId: `${FAILURE.sourceMessageId}_${run}_${n}` }),
    check: (j) => (j.recorded === true ? undefined : `not recorded: ${JSON.stringify(j).slice(0, 300)}`),
  },
  {
    name: `notification: 1 Alertmanager group of ${ALERTS} alerts → 1 webhook`,
    path: "/jobs/notification",
    body: (n, run) =>
      JSON.stringify({
        channels: ["sink"],
        payload: { ...GROUP, groupKey: `${GROUP.groupKey}:cpu-${run}-${n}` },
      }),
    check: (j) => {
      const d = (j.deliveries as { status?: string }[] | undefined)?.[0];
      return d?.status === "sent" ? undefined : `not sent: ${JSON.stringify(j).slice(0, 300)}`;
    },
  },
  {
    name: "analysis: built-in engine, examples/jobs/analysis.json's alert",
    path: "/jobs/analysis",
    body: (n, run) =>
      JSON.stringify({
        ...ANALYSIS,
        engine: "builtin",
        alert: {
          ...ANALYSIS.alert,
          id: `${ANALYSIS.alert.id}-${run}-${n}`,
          fingerprint: `${ANALYSIS.alert.fingerprint}${run}${n}`,
          labels: { ...ANALYSIS.alert.labels, pod: `api-7d9f8-${run}${n}` },
        },
      }),
    check: (j) =>
      j.status === "completed" && j.engine === "builtin"
        ? undefined
        : `not a completed built-in analysis: ${JSON.stringify(j).slice(0, 300)}`,
  },
];

interface Measured {
  cpuMs: number;
  userMs: number;
  /** CPU ms/job over the first 100 jobs of the warm-up. */
  firstMs: number;
  proxyCpuMs: number;
  p50Ms: number;
  failed: string | undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : Number.NaN;
};

/** Signs warm-up + N jobs, sends the warm-up, then N timed ones, one at a time. */
async function measure(server: Server, port: number, kind: Kind, run: string): Promise<Measured> {
  const { worker, proxy } = workerdPids(server, port);
  const url = `${server.url}${kind.path}`;
  const reqs = await Promise.all(
    Array.from({ length: WARMUP + JOBS }, async (_, n) => {
      const body = kind.body(n, run);
      return {
        body,
        headers: {
          "content-type": "application/json",
          "upstash-message-id": `msg_cpu_${run}${kind.path.replaceAll("/", "_")}_${n}`,
          "upstash-retried": "0",
          "upstash-signature": await signRequest({ key: DEV_SIGNING_KEYS.current, url, body }),
        },
      };
    }),
  );
  let failed: string | undefined;
  const send = async (i: number) => {
    const t = performance.now();
    const res = await fetch(url, { method: "POST", ...reqs[i] });
    const text = await res.text();
    const ms = performance.now() - t;
    if (res.status !== 200) failed ??= `${res.status} ${text.slice(0, 300)}`;
    else if (kind.check) failed ??= kind.check(JSON.parse(text));
    return ms;
  };
  // CPU ms/job of every block of 100 jobs, warm-up first: is it steady? (stderr; the first goes in the table)
  const blocks: number[] = [];
  let mark = cpuMs(worker).total;
  const send100 = async (from: number, to: number, walls?: number[]) => {
    for (let i = from; i < to; i++) {
      const ms = await send(i);
      walls?.push(ms);
      if ((i + 1) % 100 !== 0) continue;
      const now = cpuMs(worker).total;
      blocks.push((now - mark) / 100);
      mark = now;
    }
  };
  await send100(0, WARMUP);
  const c0 = await settledCpu(worker);
  const p0 = cpuMs(proxy).total;
  const walls: number[] = [];
  await send100(WARMUP, WARMUP + JOBS, walls);
  const c1 = await settledCpu(worker);
  console.error(`  CPU ms/job per 100 jobs, warm-up first: ${blocks.map((b) => fmt(b, 2)).join(" ")}`);
  return {
    cpuMs: (c1.total - c0.total) / JOBS,
    userMs: (c1.user - c0.user) / JOBS,
    firstMs: WARMUP >= 100 ? blocks[0] : Number.NaN,
    proxyCpuMs: (cpuMs(proxy).total - p0) / JOBS,
    p50Ms: median(walls),
    failed,
  };
}

async function start(
  script: string | undefined,
  store: string,
  run: string,
): Promise<{ server: Server; port: number }> {
  const port = freePort();
  const server = await spawnServer(wrangler(port, script, store, run), `http://127.0.0.1:${port}`, {
    cwd: ROOT,
    env: ENV,
    readyPath: script ? "/health/ready" : "/health/live",
    timeoutMs: 60_000,
  });
  return { server, port };
}

/** The floor: the bare app (one POST route that reads the body) sent the same bodies. */
const floor = (kind: Kind, what: string): Kind => ({
  name: `floor: bare Hono app (bare-worker.ts), ${what}`,
  path: "/jobs/failure",
  body: kind.body,
  bare: true,
});
/** A worker row on one store. */
const on = (kind: Kind, store: string): Kind => ({ ...kind, name: `${kind.name}, ${store} store`, store });
const ROWS: Kind[] = [
  floor(KINDS[0], "failure body"),
  ...STORES.map((st) => on(KINDS[0], st)),
  floor(KINDS[1], `${ALERTS}-alert notification body`),
  ...STORES.map((st) => on(KINDS[1], st)),
  ...STORES.map((st) => on(KINDS[2], st)),
];

const results = new Map<Kind, Measured[]>(ROWS.map((k) => [k, []]));
const load0 = loadavg()[0];
for (let r = 0; r < RUNS; r++) {
  const run = `${Date.now().toString(36)}${r}`;
  for (const side of [undefined, ...STORES]) {
    const bare = side === undefined;
    const s = await start(bare ? "scripts/bench/bare-worker.ts" : undefined, side ?? "", run);
    try {
      for (const kind of ROWS.filter((k) => (bare ? k.bare : k.store === side))) {
        console.error(`bench-workerd-cpu: run ${r + 1}/${RUNS}: ${kind.name}…`);
        const [before, beforeAlerts] = [delivered, deliveredAlerts];
        const m = await measure(s.server, s.port, kind, run);
        const [got, gotAlerts] = [delivered - before, deliveredAlerts - beforeAlerts];
        if (kind.path === "/jobs/notification" && (got !== WARMUP + JOBS || gotAlerts !== got * ALERTS))
          m.failed ??= `the sink received ${got} deliveries (${gotAlerts} alerts) for ${WARMUP + JOBS} jobs`;
        results.get(kind)?.push(m);
      }
    } finally {
      await stopServer(s.server);
    }
  }
}
sink.stop(true);
if (upstash) {
  await upstash.shim.stop();
  await upstash.redis.stop();
}

const rows = ROWS.map((k) => {
  const ms = results.get(k) ?? [];
  const failed = ms.find((m) => m.failed)?.failed;
  const verdict = (m: Measured) => (k.bare ? "" : m.cpuMs <= FREE_PLAN_MS ? " ✅" : " ❌");
  return [
    k.name,
    fmt(Buffer.byteLength(k.body(0, "x")) / 1024, 1),
    String(JOBS),
    ms.map((m) => `${fmt(m.cpuMs, 2)}${verdict(m)}`).join(" / "),
    ms.map((m) => fmt(m.userMs, 2)).join(" / "),
    ms.map((m) => fmt(m.firstMs, 2)).join(" / "),
    ms.map((m) => fmt(m.p50Ms, 2)).join(" / "),
    ms.map((m) => fmt(m.proxyCpuMs, 2)).join(" / "),
    failed ? `**failed:** ${failed}` : "all 200",
  ];
});

const runs = Array.from({ length: RUNS }, (_, i) => `run ${i + 1}`).join(" / ");
console.log(`## CPU per job on workerd (wrangler dev)

The Workers free plan allows ${FREE_PLAN_MS} ms of CPU per request. Local workerd reports no per-request CPU, so this reads the CPU time (utime + stime of all threads, /proc/<pid>/stat, ${CPU_TICK_MS} ms ticks) of the workerd process that runs the worker after ${WARMUP} warm-up jobs and again after ${JOBS} sequential signed jobs of one kind (once the process has gone quiet, so work left to waitUntil counts), and divides by ${JOBS}. Nothing is subtracted: the bare Hono app's rows, measured the same way with the same bodies, are the floor that is not the worker's JavaScript (HTTP, miniflare's entry worker, the runtime's threads). wrangler's dev proxy runs in a second workerd, shown apart and not counted; p50 wall is the client's, through that proxy. Each job a new message (and group or alert); each worker row on the memory store (per isolate) and on the Upstash store (REST, through the test suite's Upstash-compatible shim in front of a local redis-server, so each store call is a subrequest as on Workers; the similar-alert index grows by one alert per analysis, and each analysis reads up to its last 500); log level info; the webhook is a loopback sink (it received one delivery of ${ALERTS} alerts per job). Each cell is ${runs}, wrangler started afresh for each run. ${machine()}; load average ${fmt(load0, 2)} at start, ${fmt(loadavg()[0], 2)} at the end. Command: \`bun run scripts/bench/workerd-cpu.ts --jobs ${JOBS} --warmup ${WARMUP} --runs ${RUNS} --stores ${opt.stores}\`.

${markdownTable(["job", "body KiB", "N", `CPU ms/job (≤ ${FREE_PLAN_MS} ms?)`, "of which user ms", "first 100 of warm-up, CPU ms/job", "p50 wall ms", "dev proxy CPU ms/job", "answers"], rows)}
`);
cleanup();
