/**
 * Benchmark section "store waits": how many times a job waits on the store, and how many store
 * commands it costs. The compiled worker (dist/alertagent-worker, or --bin) runs with
 * `store.kind: redis` pointed at a delaying TCP proxy in front of its own redis-server; the
 * proxy adds D ms to every chunk in each direction (D = 0 and 5 by default, in one run) and
 * counts, by parsing RESP both ways:
 *   - waits: a client→server burst sent while no reply is outstanding (one round trip; commands
 *     pipelined or written while others are in flight ride on the same wait);
 *   - commands: every command array the worker sends, by name (Upstash bills each command, a
 *     pipeline's too; MULTI/EXEC are left out of the billed count: the REST API's /multi-exec
 *     sends only the commands inside).
 * The counting is checked on known sequences first (3 sequential GETs = 3 waits, one 3-command
 * pipeline = 1 wait, …). Then per family — notification to 1 and to 2 webhook sinks and to a
 * DingTalk robot (its rate budget asked through the store), analysis
 * with the built-in engine (similar-alert index on), the failure callback, config sync to a file —
 * N sequential signed jobs after a warm-up, each a new message id; after each job the proxy is
 * let go quiet, so every job's waits are its own. Background waits (counted while idle, per
 * second) are subtracted over each job's window; worker.lease is 30m so that no lease renewal
 * lands inside a job. Latency is the POST's round trip (p50).
 * Prints a markdown section on stdout.
 * Usage: bun run scripts/bench/store-waits.ts [--jobs 40] [--warmup 3] [--delays 0,5] [--bin dist/alertagent-worker]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { nodeDial } from "../../src/entry/node-net.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { tcpStore } from "../../src/store/redis.ts";
import { RespConnection } from "../../src/store/resp.ts";
import { startWebhookSink } from "../../test/support/webhook-sink.ts";
import { children, cleanup, fail, fmt, freePort, markdownTable, spawnServer, stopServer } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const { values: opt } = parseArgs({
  options: {
    jobs: { type: "string", default: "40" },
    warmup: { type: "string", default: "3" },
    delays: { type: "string", default: "0,5" },
    bin: { type: "string", default: join(ROOT, "dist/alertagent-worker") },
  },
});
const JOBS = Number(opt.jobs);
const WARMUP = Number(opt.warmup);
const DELAYS = String(opt.delays).split(",").map(Number);
const BIN = resolve(String(opt.bin));
/** How long the proxy must see nothing (and no reply outstanding) before a job counts as done. */
const QUIET_MS = (d: number) => 25 + 4 * d;
const IDLE_MS = 2000;
/** Upstash Redis pay-as-you-go: $0.20 per 100,000 commands (upstash.com/pricing/redis). */
const USD_PER_COMMAND = 0.2 / 100_000;
const PRICE_SOURCE = "https://upstash.com/docs/redis/overall/billing";
/** Sent on the wire inside a transaction, but not a billed command on Upstash's REST API. */
const NOT_BILLED = new Set(["MULTI", "EXEC"]);

if (!Bun.which("redis-server")) fail("redis-server is missing: apt-get install -y redis-server");
if (!(await Bun.file(BIN).exists())) fail(`${BIN} is missing: run scripts/build first`);

// ---------------------------------------------------------------------------------------------
// RESP framing: where one value ends (requests are arrays of bulk strings; replies any RESP2 type).

const CRLF = Buffer.from("\r\n");

/** The end of the RESP value at `pos`, or -1 when the buffer does not hold all of it yet. */
function respEnd(buf: Buffer, pos: number): number {
  if (pos >= buf.length) return -1;
  const eol = buf.indexOf(CRLF, pos);
  if (eol < 0) return -1;
  const type = buf[pos];
  const n = () => Number(buf.toString("latin1", pos + 1, eol));
  if (type === 0x24 /* $ */) {
    const len = n();
    if (len < 0) return eol + 2;
    const end = eol + 2 + len + 2;
    return end <= buf.length ? end : -1;
  }
  if (type === 0x2a /* * */) {
    const count = n();
    let p = eol + 2;
    for (let i = 0; i < count; i++) {
      p = respEnd(buf, p);
      if (p < 0) return -1;
    }
    return p;
  }
  // + - : and inline commands: one line.
  return eol + 2;
}

/** The command name of a request array (its first bulk string), upper-cased. */
function commandName(buf: Buffer, pos: number): string {
  if (buf[pos] !== 0x2a)
    return buf.toString("latin1", pos, buf.indexOf(CRLF, pos)).split(" ")[0].toUpperCase();
  const head = buf.indexOf(CRLF, pos) + 2;
  const eol = buf.indexOf(CRLF, head);
  const len = Number(buf.toString("latin1", head + 1, eol));
  return buf.toString("latin1", eol + 2, eol + 2 + len).toUpperCase();
}

/** Splits a byte stream into whole RESP values; keeps the incomplete tail for the next chunk. */
class RespStream {
  private buf: Buffer = Buffer.alloc(0);
  get partial(): boolean {
    return this.buf.length > 0;
  }
  feed(chunk: Buffer, onValue: (buf: Buffer, start: number) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let pos = 0;
    for (let end = respEnd(this.buf, pos); end > 0; end = respEnd(this.buf, pos)) {
      onValue(this.buf, pos);
      pos = end;
    }
    this.buf = this.buf.subarray(pos);
  }
}

// ---------------------------------------------------------------------------------------------
// The delaying, counting proxy.

/** Writes chunks to `out` after `delayMs`, in order (at once when the delay is 0 and none wait). */
class DelayLine {
  private q: { at: number; since: number; chunk: Buffer; done?: () => void }[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    private readonly out: Socket,
    /** Told how late each delayed chunk really went out (timers fire late on a busy machine). */
    private readonly onLag: (ms: number) => void,
  ) {}
  get pending(): boolean {
    return this.q.length > 0;
  }
  push(chunk: Buffer, delayMs: number, done?: () => void): void {
    if (delayMs <= 0 && this.q.length === 0) {
      this.out.write(chunk);
      done?.();
      return;
    }
    this.q.push({ at: performance.now() + delayMs, chunk, done, since: performance.now() });
    this.arm();
  }
  private arm(): void {
    if (this.timer || this.q.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = performance.now();
        while (this.q.length && this.q[0].at <= now + 0.25) {
          const { chunk, done, since } = this.q.shift() as (typeof this.q)[number];
          if (!this.out.destroyed) this.out.write(chunk);
          this.onLag(performance.now() - since);
          done?.();
        }
        this.arm();
      },
      Math.max(0, this.q[0].at - performance.now()),
    );
  }
}

interface Tally {
  waits: number;
  commands: number;
  byName: Map<string, number>;
}

interface Link {
  sent: number;
  answered: number;
  req: RespStream;
  up: DelayLine;
  down: DelayLine;
}

class DelayProxy {
  delayMs = 0;
  readonly tally: Tally = { waits: 0, commands: 0, byName: new Map() };
  lastActivity = performance.now();
  /** What the delayed chunks really waited (ms): the delay as the worker saw it. */
  lag = { sum: 0, n: 0 };
  private readonly links = new Set<Link>();
  private server = createServer();
  port = 0;

  constructor(private readonly upstreamPort: number) {
    this.server.on("connection", (client: Socket) => this.accept(client));
  }

  listen(): Promise<number> {
    return new Promise((ok) =>
      this.server.listen(0, "127.0.0.1", () => {
        this.port = (this.server.address() as { port: number }).port;
        ok(this.port);
      }),
    );
  }

  close(): Promise<void> {
    return new Promise((ok) => this.server.close(() => ok()));
  }

  /** A reply is outstanding, or a chunk waits in a delay line. */
  busy(): boolean {
    for (const l of this.links)
      if (l.sent !== l.answered || l.up.pending || l.down.pending || l.req.partial) return true;
    return false;
  }

  snapshot(): Tally {
    return { ...this.tally, byName: new Map(this.tally.byName) };
  }

  private readonly addLag = (ms: number) => {
    this.lag.sum += ms;
    this.lag.n++;
  };

  private accept(client: Socket): void {
    const upstream = connect(this.upstreamPort, "127.0.0.1");
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const link: Link = {
      sent: 0,
      answered: 0,
      req: new RespStream(),
      up: new DelayLine(upstream, this.addLag),
      down: new DelayLine(client, this.addLag),
    };
    const rep = new RespStream();
    this.links.add(link);
    client.on("data", (chunk: Buffer) => {
      this.lastActivity = performance.now();
      // A new round trip starts only when the client has nothing in flight (not even half a command).
      if (link.sent === link.answered && !link.req.partial) this.tally.waits++;
      link.req.feed(chunk, (buf, start) => {
        link.sent++;
        this.tally.commands++;
        const name = commandName(buf, start);
        this.tally.byName.set(name, (this.tally.byName.get(name) ?? 0) + 1);
      });
      link.up.push(chunk, this.delayMs);
    });
    upstream.on("data", (chunk: Buffer) => {
      link.down.push(chunk, this.delayMs, () => {
        // Counted when the client gets it: until then, from its side, the reply is outstanding.
        rep.feed(chunk, () => link.answered++);
        this.lastActivity = performance.now();
      });
    });
    const end = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  }

  /** Resolves once nothing is outstanding and nothing has moved for `quietMs`. */
  async settle(quietMs: number, limitMs = 10_000): Promise<void> {
    const t0 = performance.now();
    while (this.busy() || performance.now() - this.lastActivity < quietMs) {
      if (performance.now() - t0 > limitMs) fail(`the store traffic did not settle within ${limitMs} ms`);
      await Bun.sleep(2);
    }
  }
}

function diff(after: Tally, before: Tally): Tally {
  const byName = new Map<string, number>();
  for (const [k, v] of after.byName) {
    const d = v - (before.byName.get(k) ?? 0);
    if (d) byName.set(k, d);
  }
  return { waits: after.waits - before.waits, commands: after.commands - before.commands, byName };
}

const billed = (t: Tally) =>
  [...t.byName].reduce((sum, [name, n]) => sum + (NOT_BILLED.has(name) ? 0 : n), 0);

// ---------------------------------------------------------------------------------------------
// Set-up: redis-server, the proxy, sinks, the worker.

const scratch = mkdtempSync(join(tmpdir(), "alertagent-bench-waits-"));
const redisPort = freePort();
const redis = Bun.spawn(
  [
    "redis-server",
    "--port",
    String(redisPort),
    "--bind",
    "127.0.0.1",
    "--dir",
    scratch,
    "--save",
    "",
    "--appendonly",
    "no",
  ],
  { stdout: "ignore", stderr: "ignore" },
);
children.add(redis);
const direct = new RespConnection(`redis://127.0.0.1:${redisPort}`, {
  connectTimeoutMs: 200,
  dial: nodeDial,
});
for (let i = 0; ; i++) {
  try {
    await direct.command(["PING"]);
    break;
  } catch {
    if (i > 100) fail(`redis-server did not start on ${redisPort}`);
    await Bun.sleep(20);
  }
}
const proxy = new DelayProxy(redisPort);
await proxy.listen();

/** The counting checked on known sequences, through the proxy, at every delay. */
async function verifyCounting(): Promise<string[][]> {
  const rows: string[][] = [];
  const conn = new RespConnection(`redis://127.0.0.1:${proxy.port}`, { dial: nodeDial });
  await conn.command(["PING"]); // connect outside the checks
  const cases: [string, number, number, () => Promise<unknown>][] = [
    [
      "3 sequential GETs",
      3,
      3,
      async () => {
        for (let i = 0; i < 3; i++) await conn.command(["GET", `bench:check:${i}`]);
      },
    ],
    [
      "one pipeline of 3 commands",
      1,
      3,
      () =>
        conn.pipeline([
          ["GET", "a"],
          ["SET", "b", "1"],
          ["GET", "c"],
        ]),
    ],
    [
      "MULTI + 2 commands + EXEC",
      1,
      4,
      () =>
        conn.multi([
          ["INCR", "bench:check:n"],
          ["GET", "a"],
        ]),
    ],
    [
      "pipeline of 2, then 1 GET",
      2,
      3,
      async () => {
        await conn.pipeline([
          ["GET", "a"],
          ["GET", "b"],
        ]);
        await conn.command(["GET", "c"]);
      },
    ],
  ];
  // The worker's own client (RedisStore over tcpRequester): two reads under Promise.all share a
  // round trip when the reply takes longer than issuing the second (at +0 ms it may not).
  const store = tcpStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix: "bench:check:", dial: nodeDial });
  await store.ping();
  const concurrent: (typeof cases)[number] = [
    "tcpStore: 2 gets under Promise.all, then 1 set",
    2,
    3,
    async () => {
      await Promise.all([store.get("a"), store.get("b")]);
      await store.set("c", 1);
    },
  ];
  for (const d of DELAYS) {
    proxy.delayMs = d;
    for (const [what, waits, commands, run] of d > 0 ? [...cases, concurrent] : cases) {
      await proxy.settle(QUIET_MS(d));
      const before = proxy.snapshot();
      await run();
      await proxy.settle(QUIET_MS(d));
      const got = diff(proxy.snapshot(), before);
      const ok = got.waits === waits && got.commands === commands;
      if (!ok)
        fail(
          `proxy counting check failed at +${d} ms: ${what}: ${got.waits} waits / ${got.commands} commands, expected ${waits} / ${commands}`,
        );
      rows.push([
        `+${d} ms`,
        what,
        `${got.waits} (expected ${waits})`,
        `${got.commands} (expected ${commands})`,
      ]);
    }
  }
  await conn.close();
  await store.close();
  await proxy.settle(QUIET_MS(0));
  return rows;
}
console.error("bench (store-waits): checking the proxy's counting on known sequences…");
const checks = await verifyCounting();

const sinkA = startWebhookSink();
const sinkB = startWebhookSink();
// A DingTalk robot that always accepts: the channel asks its rate budget (raised here so that no
// job has to wait) through the store before each send, as on a real robot.
const robot = startWebhookSink();
robot.answers = Array.from({ length: 100_000 }, () => () => Response.json({ errcode: 0, errmsg: "ok" }));
const rulesFile = join(scratch, "rules.yml");
const config = join(scratch, "worker.yaml");
writeFileSync(
  config,
  // lease: 30m puts the lease renewal timer (every lease/3) past the run: a renewal landing inside a
  // job would add a command and hide one of its waits (sent while the renewal's reply is outstanding).
  `worker: { concurrency: 64, log_level: warn, lease: 30m }
qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }
store: { kind: redis, url: "redis://127.0.0.1:${proxy.port}", prefix: "bench:" }
channels:
  sink-a: { type: webhook, url: "${sinkA.url}" }
  sink-b: { type: webhook, url: "${sinkB.url}" }
  robot: { type: dingtalk, webhook: "${robot.url}", rate: 1000000/min }
config_sync:
  targets:
    rules: { kind: prometheus, delivery: { type: file, path: "${rulesFile}" } }
`,
);
const workerPort = freePort();
const url = `http://127.0.0.1:${workerPort}`;
const worker = await spawnServer([BIN, "serve", "--config", config, "--port", String(workerPort)], url, {
  cwd: scratch,
  env: { ...process.env, ALERTAGENT_CONFIG: "" } as Record<string, string>,
});

// ---------------------------------------------------------------------------------------------
// The families and their jobs.

const run = Date.now().toString(36);
const json = (p: string) => JSON.parse(readFileSync(join(ROOT, p), "utf8"));
const PAYLOAD = json("test/fixtures/alertmanager-firing.json");
const ANALYSIS = json("examples/jobs/analysis.json");
const FAILURE = json("examples/jobs/failure.json");

interface Family {
  name: string;
  path: string;
  body: (n: number) => unknown;
}
const notification = (channels: string[]) => (n: number) => ({
  channels,
  payload: { ...PAYLOAD, groupKey: `${PAYLOAD.groupKey}:bench-${run}-${channels.join("+")}-${n}` },
});
const FAMILIES: Family[] = [
  { name: "notification, 1 channel", path: "/jobs/notification", body: notification(["sink-a"]) },
  { name: "notification, 2 channels", path: "/jobs/notification", body: notification(["sink-a", "sink-b"]) },
  {
    name: "notification, 1 DingTalk robot (rate budget)",
    path: "/jobs/notification",
    body: notification(["robot"]),
  },
  {
    name: "analysis, built-in engine",
    path: "/jobs/analysis",
    body: (n) => {
      const id = `bench-${run}-${n}`;
      const a = ANALYSIS.alert;
      return { ...ANALYSIS, alert: { ...a, id, fingerprint: id, labels: { ...a.labels, pod: `api-${n}` } } };
    },
  },
  {
    name: "failure callback",
    path: "/jobs/failure",
    body: (n) => ({ ...FAILURE, sourceMessageId: `src_bench_${run}_${n}`, dlqId: `dlq_bench_${run}_${n}` }),
  },
  {
    name: "config sync, 1 file target",
    path: "/jobs/config-sync",
    // One rule whose expression changes every job, so every job renders and writes the file.
    body: (n) => ({
      operation: "create",
      rules: [
        {
          id: "bench-rule",
          name: "BenchRule",
          group: "bench",
          severity: "warning",
          expr: `up{job="bench"} < ${n}`,
          for: "5m",
          annotations: { summary: "bench" },
        },
      ],
    }),
  },
];

let serial = 0;
/** One signed job; its latency (ms) and the proxy's count from before it to quiet after it. */
async function job(
  f: Family,
  delay: number,
): Promise<{ ms: number; t: Tally; windowMs: number; afterAnswer: number }> {
  const n = serial++;
  const body = JSON.stringify(f.body(n));
  const signature = await signRequest({ key: DEV_SIGNING_KEYS.current, url: `${url}${f.path}`, body });
  await proxy.settle(QUIET_MS(delay));
  const before = proxy.snapshot();
  const t0 = performance.now();
  const res = await fetch(`${url}${f.path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "upstash-message-id": `msg_bench_waits_${run}_${n}`,
      "upstash-signature": signature,
      "upstash-retried": "0",
    },
    body,
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  const answered = proxy.tally.waits;
  if (res.status !== 200) fail(`${f.name}: job answered ${res.status}: ${text.slice(0, 400)}`);
  await proxy.settle(QUIET_MS(delay));
  const t = diff(proxy.snapshot(), before);
  return { ms, t, windowMs: performance.now() - t0, afterAnswer: proxy.tally.waits - answered };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Result {
  waits: number;
  commands: number;
  billed: number;
  byName: Map<string, number>;
  p50: number;
  minWaits: number;
  maxWaits: number;
  /** Waits that started after the answer was received (work left running past it). */
  afterAnswer: number;
}
const results = new Map<string, Map<number, Result>>();
function resultOf(family: string, delay: number): Result {
  const r = results.get(family)?.get(delay);
  if (!r) fail(`no result for ${family} at +${delay} ms`);
  return r;
}
const idle = new Map<number, { waitsPerS: number; commandsPerS: number }>();
/** The mean one-way delay the delayed chunks really had, per delay setting (ms). */
const lagMs = new Map<number, number>();
const t0 = performance.now();
try {
  for (const d of DELAYS) {
    proxy.delayMs = d;
    proxy.lag = { sum: 0, n: 0 };
    // A first job of each family wakes every code path and the connection before idling.
    for (const f of FAMILIES) await job(f, d);
    await proxy.settle(QUIET_MS(d));
    const before = proxy.snapshot();
    await Bun.sleep(IDLE_MS);
    const bg = diff(proxy.snapshot(), before);
    idle.set(d, { waitsPerS: (bg.waits * 1000) / IDLE_MS, commandsPerS: (bg.commands * 1000) / IDLE_MS });
    for (const f of FAMILIES) {
      console.error(`bench (store-waits): +${d} ms each way: ${f.name}…`);
      for (let i = 0; i < WARMUP; i++) await job(f, d);
      const runs = [];
      for (let i = 0; i < JOBS; i++) runs.push(await job(f, d));
      const { waitsPerS, commandsPerS } = idle.get(d) as { waitsPerS: number; commandsPerS: number };
      const windowS = runs.reduce((s, r) => s + r.windowMs, 0) / 1000;
      const total: Tally = { waits: 0, commands: 0, byName: new Map() };
      for (const r of runs) {
        total.waits += r.t.waits;
        total.commands += r.t.commands;
        for (const [k, v] of r.t.byName) total.byName.set(k, (total.byName.get(k) ?? 0) + v);
      }
      const byName = new Map([...total.byName].map(([k, v]) => [k, v / JOBS]));
      const perJob = runs.map((r) => r.t.waits);
      const row: Result = {
        waits: (total.waits - waitsPerS * windowS) / JOBS,
        commands: (total.commands - commandsPerS * windowS) / JOBS,
        billed: (billed(total) - commandsPerS * windowS) / JOBS,
        byName,
        p50: median(runs.map((r) => r.ms)),
        minWaits: Math.min(...perJob),
        maxWaits: Math.max(...perJob),
        afterAnswer: runs.reduce((sum, r) => sum + r.afterAnswer, 0) / JOBS,
      };
      if (!results.has(f.name)) results.set(f.name, new Map());
      results.get(f.name)?.set(d, row);
    }
    lagMs.set(d, proxy.lag.n ? proxy.lag.sum / proxy.lag.n : 0);
  }
} finally {
  await stopServer(worker);
  await Promise.all([sinkA.stop(), sinkB.stop(), robot.stop()]);
  await direct.close().catch(() => {});
  await proxy.close().catch(() => {});
  redis.kill("SIGTERM");
  await redis.exited;
  children.delete(redis);
  rmSync(scratch, { recursive: true, force: true });
}
const totalS = (performance.now() - t0) / 1000;

// ---------------------------------------------------------------------------------------------
// The section.

const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
const d0 = DELAYS[0];
const dMax = DELAYS[DELAYS.length - 1];
/** What one sequential round trip adds between the first and the last delay: two legs, as timed. */
const roundTripMs = 2 * ((lagMs.get(dMax) ?? dMax) - (lagMs.get(d0) ?? d0));
const range = (r: Result) => (r.minWaits === r.maxWaits ? "" : ` (${r.minWaits}–${r.maxWaits})`);
const waitRows = FAMILIES.map((f) => {
  const lo = resultOf(f.name, d0);
  const hi = resultOf(f.name, dMax);
  const added = hi.p50 - lo.p50;
  return [
    f.name,
    ...DELAYS.map((d) => {
      const r = resultOf(f.name, d);
      return `${fmt(r.waits, 1)}${range(r)}`;
    }),
    ...DELAYS.map((d) => fmt(resultOf(f.name, d).p50, 1)),
    dMax > d0 ? `${fmt(added, 1)} (≈ ${fmt(added / roundTripMs, 1)} round trips)` : "–",
  ];
});
const after = FAMILIES.flatMap((f) =>
  DELAYS.flatMap((d) => {
    const r = resultOf(f.name, d);
    return r.afterAnswer > 0 ? [`${f.name} at +${d} ms: ${fmt(r.afterAnswer, 1)}`] : [];
  }),
);
const warnings = FAMILIES.flatMap((f) => {
  const counts = DELAYS.map((d) => fmt(resultOf(f.name, d).billed, 1));
  return new Set(counts).size > 1
    ? [`${f.name}: billed commands per job differ by delay (${counts.join(" / ")})`]
    : [];
});
const commandRows = FAMILIES.map((f) => {
  const r = resultOf(f.name, d0);
  const names = [...r.byName]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k} ${fmt(v, Number.isInteger(v) ? 0 : 2)}`)
    .join(", ");
  return [
    f.name,
    fmt(r.billed, 1),
    fmt(r.commands, 1),
    names,
    `$${fmt(r.billed * USD_PER_COMMAND * 1_000_000, 2)}`,
  ];
});
const idleText = DELAYS.map((d) => {
  const i = idle.get(d) as { waitsPerS: number; commandsPerS: number };
  return `${fmt(i.waitsPerS, 2)} waits/s and ${fmt(i.commandsPerS, 2)} commands/s at +${d} ms`;
}).join(", ");
const delivered = `${sinkA.requests.length} / ${sinkB.requests.length} / ${robot.requests.length}`;

console.log(`## Store waits and Upstash commands per job (the binary over Redis)

The compiled worker (Bun ${Bun.version}, commit \`${git || "unknown"}\`) with \`store.kind: redis\` pointed at a TCP proxy in front of its own \`redis-server\` (no persistence); the proxy adds ${DELAYS.map((d) => `${d} ms`).join(" and then ")} to every chunk in each direction, in one run. Per family, after a warm-up of ${WARMUP}, ${JOBS} sequential signed jobs, each a new message id (and a new groupKey, alert, dead message or rule expression, so every job does its whole work); after each job the proxy is let go quiet before the next starts, so a job's count is its own. Command: \`bun run scripts/bench/store-waits.ts\` (${JOBS} jobs, ${totalS.toFixed(0)} s here; \`--jobs\`, \`--delays 0,5\`, \`--bin\`).

**A wait** is one client→server burst sent while no reply is outstanding: one round trip. Commands pipelined together, or written while others are still in flight (\`Promise.all\` over one socket), ride on the same wait. The proxy parses RESP both ways (a reply counts as answered when it is handed to the worker, after the delay). The counting was checked first on known sequences through the proxy:

${markdownTable(["delay", "sequence", "waits", "commands"], checks)}

\`worker.lease: 30m\`, so the lease renewal timer (every lease/3; 20 s by default) stays out of the run: no job here lasts long enough to need a renewal. Background store traffic while idle (subtracted over each job's window): ${idleText}. Deliveries received (sink-a / sink-b / the DingTalk robot): ${delivered}.

${markdownTable(
  [
    "family",
    ...DELAYS.map((d) => `waits/job at +${d} ms`),
    ...DELAYS.map((d) => `p50 (ms) at +${d} ms`),
    `p50 added by +${dMax} ms`,
  ],
  waitRows,
)}

Waits per job are the mean (min–max over the jobs when they differ); compare the +${dMax} ms column. At +0 ms, store calls the worker makes at the same time (\`Promise.all\`, two channels in parallel) often go out as separate round trips, because the first reply is back before the second call is written; with a real network between worker and store they overlap, as at +${dMax} ms. Waits that started after the answer had come back: ${after.length ? after.join("; ") : "none"}. A wait on the job's path costs two delays; the delayed chunks really waited ${DELAYS.map((d) => `${fmt(lagMs.get(d) ?? 0, 2)} ms at +${d} ms`).join(", ")} each way (timers fire late), so the added p50 divided by ${fmt(roundTripMs, 1)} ms is about the number of sequential round trips the answer waited for. p50s are indicative only: ${cpus().length} CPUs shared with other work.

Store commands per job, as the worker sends them (at +${d0} ms). Upstash bills every command, each one in a pipeline or transaction too; an \`EVAL\` is counted here as one command (the calls its script makes inside Redis are not); MULTI/EXEC are not billed (the REST API's \`/multi-exec\` sends only the commands inside). Price: Upstash Redis pay-as-you-go, **$0.20 per 100K commands** ([Upstash: Pricing & Billing](${PRICE_SOURCE}); [upstash.com/pricing/redis](https://upstash.com/pricing/redis)), i.e. $2 per million commands; storage and bandwidth not included.

${markdownTable(
  ["family", "billed commands/job", "on the wire/job", "by command (per job)", "$ per million jobs"],
  commandRows,
)}${warnings.length ? `\n\n**Warnings:** ${warnings.join("; ")}.` : ""}
`);
cleanup();
