/**
 * End-to-end: runs the black-box suite (suite.ts) against the compiled binary
 * (dist/alertagent-worker: run scripts/build first), Deno from source (scripts/deno-run) and
 * workerd (wrangler dev, offline), each on a free loopback port, and checks the binary's
 * lifecycle: --version, config errors, the loopback rule for the dev keys, publish, SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CONFIG_YAML, DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { VERSION } from "../../src/version.ts";
import { BIN, freePort, ROOT, type Started, startGroup, toolEnv, wranglerDev } from "../support/runtimes.ts";
import { runtimeSuite } from "./suite.ts";

const ENV = toolEnv();

function requireBinary(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run scripts/build first`);
}

const scratchDirs: string[] = [];
/** A fresh working directory: the binary needs nothing from the repo. */
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "alertagent-e2e-"));
  scratchDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
});

runtimeSuite(
  "binary",
  async () => {
    requireBinary();
    const port = freePort();
    return startGroup("the binary", BIN, ["serve", "--port", String(port)], port, {
      cwd: scratch(),
      env: ENV,
    });
  },
  "bun",
);

runtimeSuite("deno", async () => {
  const port = freePort();
  return startGroup(
    "deno (scripts/deno-run)",
    join(ROOT, "scripts/deno-run"),
    ["serve", "--port", String(port)],
    port,
    { env: ENV },
  );
});

runtimeSuite("workerd", async () => {
  const port = freePort();
  const [cmd, args] = wranglerDev(port);
  return startGroup("wrangler dev", cmd, args, port, { env: ENV });
});

/** Runs the binary to completion (bounded) and returns its exit code and output. */
async function runBinary(args: string[], cwd = ROOT) {
  const p = Bun.spawn([BIN, ...args], { cwd, env: ENV, stdout: "pipe", stderr: "pipe", timeout: 15_000 });
  const [code, stdout, stderr] = await Promise.all([
    p.exited,
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

/**
 * How many bytes `command` writes into a shell pipe (as `| jq` reads it), at least 200 KB: a pipe
 * a Bun process wrote to before (which leaves it non-blocking), read only a second later.
 */
function pipedBytes(command: string): number {
  const before = `"${process.execPath}" -e 'process.stdout.write("x")'`;
  const r = Bun.spawnSync(["bash", "-c", `set -o pipefail; (${before}; ${command}) | (sleep 1; wc -c)`], {
    env: toolEnv(),
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(r.exitCode, r.stderr.toString()).toBe(0);
  const n = Number(r.stdout.toString().trim()) - 1;
  expect(n).toBeGreaterThan(200_000);
  return n;
}

/** How many bytes `command` writes into a file. */
function fileBytes(command: string): number {
  const out = join(scratch(), "out.txt");
  expect(Bun.spawnSync(["bash", "-c", `${command} > "${out}"`], { env: toolEnv() }).exitCode).toBe(0);
  return statSync(out).size;
}

/** A config whose normalised form is ~300 KB (1,500 webhook channels): past a pipe's buffer. */
function bigConfig(): string {
  const file = join(scratch(), "big.yaml");
  const hooks = Array.from(
    { length: 1500 },
    (_, i) => `  hook${i}: { type: webhook, url: "https://hooks.example.com/path/number/${i}/receiver" }`,
  );
  writeFileSync(
    file,
    `qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }\nchannels:\n${hooks.join("\n")}\n`,
  );
  return file;
}

describe("deno: ports its fetch refuses", () => {
  const DENO = join(ROOT, "node_modules/.bin/deno");
  const hookOn = (port: number) =>
    `qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }\nstore:\n  kind: memory\nchannels:\n  ops-hook: { type: webhook, url: "http://127.0.0.1:${port}/hook" }\n`;

  test("the pinned Deno refuses a fetch to port 10080 (the Fetch standard's blocked ports)", () => {
    const r = Bun.spawnSync(
      [DENO, "eval", 'await fetch("http://127.0.0.1:10080/").catch((e) => console.log(String(e)))'],
      { env: toolEnv(), stdout: "pipe", stderr: "pipe" },
    );
    expect(r.stdout.toString()).toContain("Requests to port 10080 are blocked");
  }, 60_000);

  test("a webhook on such a port: check-config and serve refuse it naming the key, exit 2; another port starts", () => {
    const check = Bun.spawnSync([join(ROOT, "scripts/deno-run"), "check-config"], {
      env: toolEnv({ ALERTAGENT_CONFIG: hookOn(10080) }),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(check.exitCode).toBe(2);
    expect(`${check.stdout}${check.stderr}`).toContain(
      "channels.ops-hook.url: port 10080 is one Deno's fetch refuses",
    );
    const serve = Bun.spawnSync([join(ROOT, "scripts/deno-run"), "serve", "--port", "0"], {
      env: toolEnv({ ALERTAGENT_CONFIG: hookOn(10080) }),
      stdout: "pipe",
      stderr: "pipe",
      timeout: 30_000,
    });
    expect(serve.exitCode).toBe(2);
    expect(`${serve.stdout}${serve.stderr}`).toContain("channels.ops-hook.url: port 10080");
    const fine = Bun.spawnSync([join(ROOT, "scripts/deno-run"), "check-config"], {
      env: toolEnv({ ALERTAGENT_CONFIG: hookOn(10081) }),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(fine.exitCode, `${fine.stdout}${fine.stderr}`).toBe(0);
  }, 90_000);
});

describe("deno: the files the config names", () => {
  const DENO = join(ROOT, "node_modules/.bin/deno");
  const withRules = (rules: string, store = "store:\n  kind: memory\n") =>
    `${DEFAULT_CONFIG_YAML.replace("./data/prometheus/alertagent.rules.yml", rules)}${store}`;

  test("scripts/deno-run: a config sync writes its file target outside ./data (Prometheus's rules directory)", () => {
    const rules = join(scratch(), "prometheus/rules/alertagent.rules.yml");
    const r = Bun.spawnSync(
      [join(ROOT, "scripts/deno-run"), "run", "config-sync", join(ROOT, "examples/jobs/config-sync.json")],
      { env: toolEnv({ ALERTAGENT_CONFIG: withRules(rules) }), stdout: "pipe", stderr: "pipe" },
    );
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
    expect(readFileSync(rules, "utf8")).toContain("groups:");
  }, 60_000);

  test("scripts/deno-run: a long answer on a pipe arrives whole before it exits", () => {
    const file = bigConfig();
    const run = `"${join(ROOT, "scripts/deno-run")}" check-config --config "${file}"`;
    expect(pipedBytes(run)).toBe(fileBytes(run));
  }, 60_000);

  test("scripts/deno-run on a port in use: exit 1 naming the address (Deno's own text names none)", async () => {
    const port = await freePort();
    const taken = Bun.serve({ hostname: "127.0.0.1", port, fetch: () => new Response("") });
    try {
      const r = Bun.spawnSync([join(ROOT, "scripts/deno-run"), "serve", "--port", String(port)], {
        env: toolEnv(),
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr.toString()).toContain(`127.0.0.1:${port} is in use: cannot listen there`);
    } finally {
      taken.stop(true);
    }
  }, 60_000);

  test("scripts/deno-run runs the Deno npm ci installed, not another on PATH", () => {
    const bin = scratch();
    writeFileSync(join(bin, "deno"), "#!/bin/sh\necho 'not the pinned deno' >&2\nexit 3\n", { mode: 0o755 });
    const env = toolEnv();
    const r = Bun.spawnSync([join(ROOT, "scripts/deno-run"), "--version"], {
      env: { ...env, PATH: `${bin}:${env.PATH ?? process.env.PATH}` },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stderr.toString()).not.toContain("not the pinned deno");
  }, 60_000);

  test("scripts/deno-run from another directory: --config, the job file and ./data are that directory's", () => {
    const dir = scratch();
    writeFileSync(
      join(dir, "my.yaml"),
      DEFAULT_CONFIG_YAML.replace("name: alertagent-worker", "name: from-my-yaml"),
    );
    writeFileSync(join(dir, "job.json"), readFileSync(join(ROOT, "examples/jobs/failure.json")));
    const r = Bun.spawnSync(
      [join(ROOT, "scripts/deno-run"), "run", "failure", "job.json", "--config", "my.yaml"],
      {
        cwd: dir,
        env: toolEnv(),
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stderr.toString()).toContain('"name":"from-my-yaml"');
    expect(existsSync(join(dir, "data/alertagent.db"))).toBe(true);
  }, 60_000);

  /** `serve` through `deno run` with net, read and env allowed and `flags`, in `dir`: how it ended. */
  const denoServe = (flags: string[], dir: string, env: Record<string, string> = {}) =>
    Bun.spawnSync(
      [
        DENO,
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-env",
        ...flags,
        join(ROOT, "src/entry/deno.ts"),
        "serve",
        "--port",
        String(freePort()),
      ],
      { cwd: dir, env: toolEnv(env), stdout: "pipe", stderr: "pipe", timeout: 30_000 },
    );

  test("deno run with a narrower --allow-write: serve refuses at start, naming each key whose file it may not write", () => {
    const dir = scratch();
    const config = withRules(
      join(dir, "rules/alertagent.rules.yml"),
      `store:\n  kind: sqlite\n  path: ${join(dir, "db/alertagent.db")}\n`,
    );
    const r = denoServe(["--allow-sys", "--allow-write=./data"], dir, { ALERTAGENT_CONFIG: config });
    const err = r.stderr.toString();
    expect(r.exitCode, `${r.stdout}${err}`).toBe(2);
    expect(err).toContain(`store.path: ${join(dir, "db/alertagent.db")}`);
    expect(err).toContain("config_sync.targets.local-prometheus.delivery.path");
    expect(err).toContain("--allow-write");
  }, 60_000);

  test("deno run without --allow-sys: the SQLite store's refusal names the flag, not a file it could write", () => {
    const r = denoServe(["--allow-write"], scratch());
    const err = r.stderr.toString();
    expect(r.exitCode, `${r.stdout}${err}`).toBe(1);
    expect(err).toContain("store.path");
    expect(err).toContain("--allow-sys");
    expect(err).not.toContain("not writable");
  }, 60_000);

  test("scripts/deno-run: a store under /dev/shm, which Deno opens only with --allow-all, is refused at start naming store.path", () => {
    const r = Bun.spawnSync([join(ROOT, "scripts/deno-run"), "check-config"], {
      cwd: scratch(),
      env: toolEnv({
        ALERTAGENT_CONFIG: withRules(
          "./data/rules.yml",
          "store:\n  kind: sqlite\n  path: /dev/shm/alertagent-e2e/x.db\n",
        ),
      }),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(2);
    expect(r.stderr.toString()).toContain("store.path: /dev/shm/alertagent-e2e/x.db");
    expect(r.stderr.toString()).toContain("--allow-all");
  }, 60_000);
});

describe("binary lifecycle", () => {
  let worker: Started | undefined;
  beforeAll(async () => {
    requireBinary();
    const port = freePort();
    worker = await startGroup("the binary", BIN, ["serve", "--port", String(port)], port, {
      cwd: scratch(),
      env: ENV,
    });
  }, 30_000);
  afterAll(async () => {
    await worker?.stop();
  });

  test("run and publish refuse a job file that is not UTF-8 (a GBK export), as serve refuses its bytes; Deno too", async () => {
    const dir = scratch();
    const job = JSON.stringify({ channels: ["console"], alerts: [{ labels: { alertname: "数据库CPU高" } }] });
    const gbk = join(dir, "gbk.json");
    // "数据库CPU高" in GBK: the bytes a Chinese Windows tool writes.
    writeFileSync(
      gbk,
      Buffer.concat([
        Buffer.from(job.split("数据库CPU高")[0]),
        Buffer.from([0xca, 0xfd, 0xbe, 0xdd, 0xbf, 0xe2]),
        Buffer.from("CPU"),
        Buffer.from([0xb8, 0xdf]),
        Buffer.from(job.split("数据库CPU高")[1]),
      ]),
    );
    const r = await runBinary(["run", "notification", gbk], dir);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("is not UTF-8 text (save it as UTF-8)")]);
    expect(r.stdout).not.toContain("\ufffd");
    const d = Bun.spawnSync([join(ROOT, "scripts/deno-run"), "run", "notification", gbk], {
      cwd: dir,
      env: ENV,
    });
    expect([d.exitCode, d.stderr.toString()]).toEqual([2, expect.stringContaining("is not UTF-8 text")]);
  }, 60_000);

  test("--version prints the version and exits 0", async () => {
    const r = await runBinary(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(VERSION);
  });

  test("a bad --config exits 2 with one line on stderr naming the bad key", async () => {
    const file = join(scratch(), "bad.yaml");
    const keys = `qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }`;
    writeFileSync(file, `worker:\n  concurrency: lots\n${keys}\n`);
    const r = await runBinary(["serve", "--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("worker.concurrency");
  });

  test("a long answer on a pipe arrives whole before the binary exits (check-config | jq)", async () => {
    const file = bigConfig();
    const run = `"${BIN}" check-config --config "${file}"`;
    expect(pipedBytes(run)).toBe(fileBytes(run));
  });

  test("--host 0.0.0.0 with the embedded default exits 2 (public dev keys stay on loopback)", async () => {
    const r = await runBinary(["serve", "--host", "0.0.0.0", "--port", String(freePort())]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("0.0.0.0");
  });

  test("publish failure examples/jobs/failure.json --to <running binary> exits 0", async () => {
    const r = await runBinary([
      "publish",
      "failure",
      join(ROOT, "examples/jobs/failure.json"),
      "--to",
      worker!.baseUrl,
    ]);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(JSON.parse(r.stdout)).toMatchObject({
      recorded: true,
      source_message_id: "msg_example_dead_notification",
    });
  });

  test("SIGTERM: exits 0 within 5 s and logs a stopped line", async () => {
    const { proc } = worker!;
    proc.child.kill("SIGTERM");
    const code = await Promise.race([proc.exited, Bun.sleep(5_000).then(() => "timeout" as const)]);
    expect({ code, output: code === 0 ? "" : proc.output() }).toEqual({ code: 0, output: "" });
    const lines = proc
      .output()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg?: string; level?: string });
    expect(lines.some((l) => l.msg === "stopped")).toBe(true);
  });
});

describe("workerd: a config as wrangler.toml gives it", () => {
  let worker: Started | undefined;
  let dir = "";
  /** wrangler dev of this project's Worker with `vars` as a wrangler.toml of its own writes them. */
  const start = async (vars: string) => {
    dir = mkdtempSync(join(tmpdir(), "alertagent-wrangler-"));
    const toml = join(dir, "wrangler.toml");
    writeFileSync(
      toml,
      `name = "alertagent-worker"\nmain = ${JSON.stringify(join(ROOT, "src/entry/workers.ts"))}\n${readFileSync(
        join(ROOT, "wrangler.toml"),
        "utf8",
      )
        .match(/^compatibility_.*$/gm)
        ?.join("\n")}\n[vars]\n${vars}`,
    );
    const port = freePort();
    const [cmd, args] = wranglerDev(port, ["--config", toml]);
    worker = await startGroup("wrangler dev (typed vars)", cmd, args, port, {
      env: ENV,
      timeoutMs: 55_000,
      anyAnswer: true,
    });
    return worker.baseUrl;
  };
  afterAll(async () => {
    await worker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a number in [vars] fills its reference, and every refused key is named at once on every answer", async () => {
    const base = await start(`CONC = 8
ALERTAGENT_CONFIG = """
worker: { name: typed-vars, concurrency: "\${CONC}", timezone: Mars/Olympus }
qstash: { current_signing_key: sig_typed_current_123456, next_signing_key: sig_typed_next_123456 }
store: { kind: upstash, url: "https://eu1.upstash.io", token: t0k }
templates:
  broken: { title: t, body: "{{#x}}" }
channels:
  sl: { type: slack, webhook: "https://hooks.slack.com/services/T/B/x", format: html }
"""
`);
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toContain("CONC is not set");
    for (const key of ["worker.timezone", "templates.broken.body", "channels.sl.format"])
      expect(text).toContain(key);
    // A job's 503 waits at least QStash's own backoff, as the app's do: a forgotten secret must not
    // spend a message's retries in three minutes (60 s hints) instead of QStash's half hour.
    const job = (retried: number) =>
      fetch(`${base}/jobs/notification`, {
        method: "POST",
        body: "{}",
        headers: { "upstash-signature": "x.y.z", "upstash-retried": String(retried) },
      });
    const waits = [];
    for (const r of [0, 1, 2]) {
      const res = await job(r);
      expect(res.status).toBe(503);
      waits.push(Number(res.headers.get("retry-after")));
    }
    expect(waits).toEqual([60, 149, 1809]);
    expect((await fetch(`${base}/health`)).headers.get("retry-after")).toBe("60");
  }, 60_000);
});

describe("workerd with the Upstash store: figures and ledger live outside the isolate", () => {
  let worker: Started | undefined;
  let shim: { url: string; token: string; stop(): Promise<void> | void } | undefined;
  const prefix = `e2e-workers-${Date.now().toString(36)}:`;
  beforeAll(async () => {
    const redisUrl = process.env.REDIS_URL;
    if (!redisUrl) throw new Error("REDIS_URL is not set: run scripts/test.sh (it starts redis-server)");
    const { startUpstashShim } = await import("../support/upstash-shim.ts");
    shim = await startUpstashShim({ redisUrl, token: "e2e-shim-token" });
    const yaml = `{qstash: {current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next}}, store: {kind: upstash, url: "${shim.url}", token: e2e-shim-token, prefix: "${prefix}"}, worker: {name: edge-store}}`;
    const port = freePort();
    const [cmd, args] = wranglerDev(port, ["--var", `ALERTAGENT_CONFIG:${yaml}`]);
    worker = await startGroup("wrangler dev (upstash store)", cmd, args, port, {
      env: ENV,
      timeoutMs: 55_000,
    });
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await shim?.stop();
  });

  test("jobs are recorded in Redis and /metrics sums what the store holds", async () => {
    const { signRequest } = await import("../../src/qstash/sign.ts");
    const post = async (id: string, source: string) => {
      const url = `${worker!.baseUrl}/jobs/failure`;
      const body = JSON.stringify({
        status: 503,
        sourceMessageId: source,
        url: "https://w.example.com/jobs/notification",
        retried: 3,
      });
      return fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "upstash-message-id": id,
          "upstash-signature": await signRequest({ key: DEV_SIGNING_KEYS.current, url, body }),
        },
        body,
      });
    };
    for (const i of [1, 2, 3]) expect((await post(`${prefix}m${i}`, `${prefix}src${i}`)).status).toBe(200);
    const dup = await post(`${prefix}m1`, `${prefix}src1`);
    expect(dup.headers.get("x-idempotent-replay")).toBe("true");
    const { tcpStore } = await import("../../src/store/redis.ts");
    const { nodeDial } = await import("../../src/entry/node-net.ts");
    const direct = tcpStore({ url: process.env.REDIS_URL as string, prefix, dial: nodeDial });
    try {
      expect(await direct.get(`job:${prefix}m2`)).toMatchObject({ status: "succeeded", family: "failure" });
      let metrics = "";
      for (let i = 0; i < 40 && !metrics.includes('outcome="duplicate"} 1'); i++) {
        await Bun.sleep(100);
        metrics = await (await fetch(`${worker!.baseUrl}/metrics`)).text();
      }
      expect(metrics).toContain('alertagent_jobs_total{family="failure",outcome="succeeded"} 3');
      expect(metrics).toContain('alertagent_jobs_total{family="failure",outcome="duplicate"} 1');
      expect(Object.keys(await direct.hgetall("metrics:jobs")).length).toBeGreaterThan(0);
      const stats = (await (await fetch(`${worker!.baseUrl}/stats`)).json()) as {
        scope: string;
        families: { failure: { succeeded: number } };
      };
      expect(stats).toMatchObject({ scope: "store", families: { failure: { succeeded: 3 } } });
    } finally {
      await direct.close();
    }
  });
});

describe("workerd: a job's lease is renewed past the request that first renewed one", () => {
  let worker: Started | undefined;
  const hits: string[] = [];
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      hits.push(path);
      await Bun.sleep(path === "/a" ? 2_500 : 6_000);
      return Response.json({ ok: true });
    },
  });
  beforeAll(async () => {
    const hook = (p: string) => `{type: webhook, url: "http://127.0.0.1:${receiver.port}${p}", timeout: 20s}`;
    const yaml = `{qstash: {current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next}}, worker: {lease: 1s}, channels: {slow-a: ${hook("/a")}, slow-b: ${hook("/b")}}}`;
    const port = freePort();
    const [cmd, args] = wranglerDev(port, ["--var", `ALERTAGENT_CONFIG:${yaml}`]);
    worker = await startGroup("wrangler dev (lease 1s)", cmd, args, port, { env: ENV, timeoutMs: 55_000 });
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    receiver.stop(true);
  });

  test("a redelivery of a job still running after an earlier job's request ended is in_progress, not sent again", async () => {
    const { signRequest } = await import("../../src/qstash/sign.ts");
    const post = async (id: string, channel: string, retried = 0) => {
      const url = `${worker!.baseUrl}/jobs/notification`;
      const body = JSON.stringify({
        channels: [channel],
        alerts: [{ labels: { alertname: `Lease-${id}` } }],
      });
      return fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "upstash-message-id": id,
          "upstash-retried": String(retried),
          "upstash-signature": await signRequest({ key: DEV_SIGNING_KEYS.current, url, body }),
        },
        body,
      });
    };
    const a = post("lease-a", "slow-a"); // its request starts the lease renewal, and ends first
    await Bun.sleep(500);
    const b = post("lease-b", "slow-b"); // still running when A's request has ended
    expect((await a).status).toBe(200);
    await Bun.sleep(2_000); // past B's 1 s lease, had it not been renewed
    const again = await post("lease-b", "slow-b", 1);
    expect(again.status).toBe(503);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("in_progress");
    expect((await b).status).toBe(200);
    expect(hits.filter((p) => p === "/b")).toHaveLength(1);
  }, 30_000);
});
