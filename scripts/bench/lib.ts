/**
 * What every benchmark script shares: free ports, spawning servers and waiting for them,
 * RSS sampling, a pool of QStash-signed requests (each a new message id) and wrk driving it
 * through a Lua script, in a separate process. Loopback only; everything bounded in time.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { createApp } from "../../src/app.ts";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import type { Config } from "../../src/config/schema.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { PromMetrics } from "../../src/telemetry/prom-metrics.ts";
import { buildDeps } from "../../src/wire.ts";
import { wranglerDev } from "../../test/support/runtimes.ts";

export const children = new Set<ReturnType<typeof Bun.spawn>>();
export const cleanup = () => {
  for (const c of children) c.kill("SIGKILL");
};
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

export function fail(msg: string): never {
  console.error(`bench: ${msg}`);
  cleanup();
  process.exit(1);
}

export function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port as number;
  s.stop(true);
  return port;
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** CPU time of a process, all its threads (live and exited): utime + stime and utime alone, in ms. */
export function cpuMs(pid: number): { total: number; user: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // After "pid (comm) ": state is field 3, so utime (field 14) and stime (15) are [11] and [12].
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const tick = 1000 / CLK_TCK;
  return { total: (Number(f[11]) + Number(f[12])) * tick, user: Number(f[11]) * tick };
}

/** The clock tick /proc counts CPU time in, in ms. */
export const CPU_TICK_MS = 1000 / CLK_TCK;

/** Every descendant of `root`, with its command line. */
export function descendants(root: number): { pid: number; comm: string; cmdline: string }[] {
  const all = new Map<number, number[]>();
  const info = new Map<number, { comm: string; cmdline: string }>();
  for (const d of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const pid = Number(d);
      all.set(ppid, [...(all.get(ppid) ?? []), pid]);
      info.set(pid, {
        comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
        cmdline: readFileSync(`/proc/${d}/cmdline`, "utf8").replaceAll("\0", " "),
      });
    } catch {
      // gone
    }
  }
  const out: { pid: number; comm: string; cmdline: string }[] = [];
  const walk = (p: number) => {
    for (const c of all.get(p) ?? []) {
      const i = info.get(c);
      if (i) out.push({ pid: c, ...i });
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** CPU ms of `pid` and every process under it (wrangler's workerd children, a shell's exec). */
function treeCpuMs(pid: number): number {
  let total = 0;
  for (const p of [pid, ...descendants(pid).map((d) => d.pid)]) {
    try {
      total += cpuMs(p).total;
    } catch {
      // gone
    }
  }
  return total;
}

export interface Server {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  readyMs: number;
}

/** Spawns `cmd` and polls `url + readyPath` until 200; readyMs is spawn → that answer. */
export async function spawnServer(
  cmd: string[],
  url: string,
  opts: { cwd?: string; env?: Record<string, string>; readyPath?: string; timeoutMs?: number } = {},
): Promise<Server> {
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: opts.env,
    stdout: "ignore",
    stderr: "pipe",
    detached: true,
  });
  children.add(proc);
  const limit = opts.timeoutMs ?? 10_000;
  while (performance.now() - t0 < limit) {
    if (proc.exitCode !== null)
      fail(
        `${cmd.join(" ")} exited with ${proc.exitCode}: ${await new Response(proc.stderr as ReadableStream).text()}`,
      );
    try {
      if ((await fetch(`${url}${opts.readyPath ?? "/health/ready"}`)).status === 200)
        return { proc, url, readyMs: performance.now() - t0 };
    } catch {
      // not listening yet
    }
    await Bun.sleep(2);
  }
  proc.kill("SIGKILL");
  fail(`${cmd.join(" ")} was not ready within ${limit / 1000} s`);
}

/** Stops a server and its process group (wrangler starts workerd children). */
export async function stopServer(s: Server): Promise<void> {
  try {
    process.kill(-s.proc.pid, "SIGTERM");
  } catch {
    s.proc.kill("SIGTERM");
  }
  await Promise.race([s.proc.exited, Bun.sleep(5_000)]);
  try {
    process.kill(-s.proc.pid, "SIGKILL");
  } catch {
    // gone
  }
  children.delete(s.proc);
}

/**
 * Writes `count` signed requests for `path` (one line each: message id, signature, body) so
 * that every request is a new job. `body(n)` makes the n-th body (one-line JSON).
 */
export async function writePool(
  file: string,
  url: string,
  path: string,
  count: number,
  body: (n: number) => string,
  validS: number,
): Promise<void> {
  const run = Date.now().toString(36);
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, async (_, j) => {
      const n = i + j;
      const b = body(n);
      const sig = await signRequest({
        key: DEV_SIGNING_KEYS.current,
        url: `${url}${path}`,
        body: b,
        claims: { exp: now + validS },
      });
      return `msg_bench_${run}_${n}\t${sig}\t${b}`;
    });
    lines.push(...(await Promise.all(batch)));
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
}

/** wrk's Lua: each thread walks its share of the pool; counts wraps (replays) if it runs out. */
export function wrkLua(path: string): string {
  return `
local threads, reqs, i = {}, {}, 0
-- global, not local: done() reads it from each thread's own Lua state with thread:get
wraps = 0
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
function init(args)
  local k, n = 0, tonumber(args[2])
  for line in io.lines(args[1]) do
    if k % n == tid then
      local id, sig, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", "${path}",
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
}

export interface Load {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
  wraps: number;
  peakRssMb: number;
  /** CPU µs the server (`pid` and its children) used per answered request during the run. */
  cpuUsPerRequest: number;
}

/**
 * Runs wrk against `url` for `durationS`, sampling `pid`'s RSS every 100 ms and reading its CPU
 * time (its process tree's) before and after: less moved by the host's other load than req/s.
 */
export async function runWrk(o: {
  url: string;
  script: string;
  pool: string;
  durationS: number;
  connections: number;
  threads: number;
  pid?: number;
}): Promise<Load> {
  if (!Bun.which("wrk")) fail("wrk is not installed: apt-get install -y wrk");
  const args = [
    "-t",
    String(o.threads),
    "-c",
    String(o.connections),
    "-d",
    `${o.durationS}s`,
    "--timeout",
    "5s",
    "-s",
    o.script,
    o.url,
    "--",
    o.pool,
    String(o.threads),
  ];
  const wrk = Bun.spawn(["wrk", ...args], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: (o.durationS + 120) * 1000,
  });
  children.add(wrk);
  let peak = o.pid ? rssMb(o.pid) : Number.NaN;
  const cpu0 = o.pid ? treeCpuMs(o.pid) : Number.NaN;
  const sampler = setInterval(() => {
    if (o.pid) peak = Math.max(peak, rssMb(o.pid));
  }, 100);
  const [code, out, err] = await Promise.all([
    wrk.exited,
    new Response(wrk.stdout).text(),
    new Response(wrk.stderr).text(),
  ]);
  clearInterval(sampler);
  const cpuUsed = o.pid ? treeCpuMs(o.pid) - cpu0 : Number.NaN;
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
    cpuUsPerRequest: (cpuUsed * 1000) / r.requests,
  };
}

/** "2 CPUs (nproc), Intel(R) Xeon(R) …, 23.5 GiB memory, Linux x64" */
export function machine(): string {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  return `${cpus().length} CPUs (nproc), ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB memory, Linux ${process.arch}`;
}

/** The middle one of `xs` ordered by `by` (rounds of a run: the one with the median ratio). */
export const medianBy = <T>(xs: readonly T[], by: (x: T) => number): T =>
  [...xs].sort((a, b) => by(a) - by(b))[xs.length >> 1];

export const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "–");

export function markdownTable(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export interface LoadOptions {
  durationS: number;
  connections: number;
  threads: number;
}

/**
 * The load options every wrk-driven section takes: --duration (s), --connections, --threads,
 * plus any `extra` string options of its own (returned as `extra`).
 */
export function loadOptions<K extends string>(
  extra: Partial<Record<K, string>> = {},
): { load: LoadOptions; extra: Record<K, string> } {
  const options: Record<string, { type: "string"; default: string }> = {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    threads: { type: "string", default: String(Math.min(2, cpus().length)) },
  };
  for (const [k, v] of Object.entries(extra)) options[k] = { type: "string", default: v as string };
  const { values } = parseArgs({ options, allowPositionals: false });
  const v = values as Record<string, string>;
  return {
    load: { durationS: Number(v.duration), connections: Number(v.connections), threads: Number(v.threads) },
    extra: Object.fromEntries(Object.keys(extra).map((k) => [k, v[k]])) as Record<K, string>,
  };
}

/** The whole app in-process on a large memory store with logs off: what the in-process sections measure. */
export function inProcessApp(config: Config) {
  return createApp(
    buildDeps({
      config,
      store: new MemoryStore(Date.now, 1_000_000),
      metrics: new PromMetrics(),
      runtime: "bun",
      logger: silentLogger,
    }),
  );
}

/**
 * `wrangler dev` as the tests start it (test/support/runtimes.ts), with `extra` flags; with
 * `bareScript`, the bare app under its own name instead of the worker.
 */
export function wranglerCommand(port: number, bareScript?: string, extra: string[] = []): string[] {
  const [cmd, args] = wranglerDev(port, extra);
  const bare = bareScript
    ? [
        bareScript,
        "--name",
        "bench-bare",
        "--compatibility-date",
        "2026-04-26",
        "--compatibility-flags",
        "nodejs_compat",
      ]
    : [];
  return [cmd, args[0], ...bare, ...args.slice(1)];
}
