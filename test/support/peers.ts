/**
 * The real config-sync peers for tests: Debian's promtool, amtool and `vmalert -dryRun` on
 * temp files, and running Prometheus (--web.enable-lifecycle), Alertmanager and vmalert on
 * free loopback ports with temp data dirs. A missing binary fails the test with the
 * install command — these suites are never skipped. Every process started here is stopped
 * by its pid (stop()).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * How long an afterAll that stops peers may take: a peer gets 5 s to exit on SIGTERM, then
 * SIGKILL (kill below). vmalert, with samples queued for an unreachable remote write, can use
 * all of it; bun's default hook timeout is 5 s.
 */
export const PEER_STOP_MS = 15_000;

export const INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager victoria-metrics";

/** The binary's path (PATH, then the sbin directories Debian puts daemons in), or an Error naming the package to install. */
export function requireTool(name: string, hint = INSTALL_HINT): string {
  const path = Bun.which(name, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
  if (!path) throw new Error(`${name} is not installed: ${hint}`);
  return path;
}

export function tempDir(prefix = "alertagent-sync-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface ToolRun {
  code: number;
  output: string;
}

export async function runTool(name: string, args: string[], cwd?: string): Promise<ToolRun> {
  const proc = Bun.spawn([requireTool(name), ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, output: `${out}${err}` };
}

/** Writes `content` to a temp file and runs a checker on it; resolves to the tool's run. */
async function checkFile(content: string, file: string, tool: string, args: (f: string) => string[]) {
  const dir = tempDir();
  const path = join(dir, file);
  writeFileSync(path, content);
  try {
    return await runTool(tool, args(path), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const promtoolCheckRules = (content: string) =>
  checkFile(content, "rules.yml", "promtool", (f) => ["check", "rules", f]);
export const amtoolCheckConfig = (content: string) =>
  checkFile(content, "alertmanager.yml", "amtool", (f) => ["check-config", f]);
export const vmalertDryRun = (content: string) =>
  checkFile(content, "vmalert.yml", "vmalert", (f) => ["-dryRun", `-rule=${f}`, "-loggerLevel=ERROR"]);

/** The receivers `amtool config routes test` picks for an alert with these labels. */
export async function amtoolRoutes(content: string, labels: Record<string, string>): Promise<string> {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const run = await checkFile(content, "alertmanager.yml", "amtool", (f) => [
    "config",
    "routes",
    "test",
    `--config.file=${f}`,
    ...pairs,
  ]);
  if (run.code !== 0) throw new Error(`amtool config routes test failed: ${run.output}`);
  return run.output
    .split("\n")
    .filter((l) => l && !l.startsWith("Warning:"))
    .join("\n")
    .trim();
}

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port as number;
  s.stop(true);
  return port;
}

export interface Peer {
  name: string;
  url: string;
  dir: string;
  child: ChildProcess;
  output(): string;
  /** Stops the process: SIGTERM, then SIGKILL after 5 s. */
  kill(): Promise<void>;
  /** kill(), then removes the peer's temp dir. */
  stop(): Promise<void>;
}

async function startPeer(
  name: string,
  tool: string,
  args: string[],
  dir: string,
  port: number,
  ready: string,
  headers: Record<string, string> = {},
) {
  const child = spawn(tool.startsWith("/") ? tool : requireTool(tool), args, {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((res) => child.on("exit", () => res()));
  const url = `http://127.0.0.1:${port}`;
  const peer: Peer = {
    name,
    url,
    dir,
    child,
    output: () => out,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const gone = await Promise.race([exited.then(() => true), Bun.sleep(5000).then(() => false)]);
      if (!gone) {
        child.kill("SIGKILL");
        await Promise.race([exited, Bun.sleep(2000)]);
      }
    },
    async stop() {
      await peer.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited at start-up:\n${out}`);
    const ok = await fetch(url + ready, { headers })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return peer;
    if (Date.now() > deadline) {
      await peer.stop();
      throw new Error(`${name} did not get ready on ${url} within 30s:\n${out}`);
    }
    await Bun.sleep(100);
  }
}

/**
 * Prometheus loading every *.yml under `<dir>/rules/`, with the lifecycle API on (`lifecycle:
 * false`: off, as Prometheus starts by default); with `basicAuth`, every endpoint needs it (its
 * web config's basic_auth_users, a bcrypt hash).
 */
export async function startPrometheus(
  /**
   * `ruleGlobs`: the rule files it loads under rulesDir, `*.yml` by default. `relative`: its config
   * named relative to its directory, as `prometheus --config.file=prometheus.yml` started there:
   * it then lists its rule files by relative paths.
   */
  opts: {
    basicAuth?: { user: string; password: string };
    lifecycle?: boolean;
    ruleGlobs?: string[];
    relative?: boolean;
  } = {},
): Promise<Peer & { rulesDir: string }> {
  requireTool("prometheus"); // before making anything to clean up
  const dir = tempDir("alertagent-prom-");
  const rulesDir = join(dir, "rules");
  mkdirSync(rulesDir);
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global: { evaluation_interval: 15s }\nrule_files: ${JSON.stringify((opts.ruleGlobs ?? ["*.yml"]).map((g) => `${opts.relative ? "rules" : rulesDir}/${g}`))}\n`,
  );
  const auth = opts.basicAuth;
  const webConfig: string[] = [];
  const headers: Record<string, string> = {};
  if (auth) {
    const hash = await Bun.password.hash(auth.password, { algorithm: "bcrypt", cost: 4 });
    writeFileSync(join(dir, "web.yml"), `basic_auth_users:\n  ${auth.user}: '${hash}'\n`);
    webConfig.push(`--web.config.file=${join(dir, "web.yml")}`);
    headers.authorization = `Basic ${btoa(`${auth.user}:${auth.password}`)}`;
  }
  const port = freePort();
  const peer = await startPeer(
    "prometheus",
    "prometheus",
    [
      `--config.file=${opts.relative ? "prometheus.yml" : join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(opts.lifecycle === false ? [] : ["--web.enable-lifecycle"]),
      "--log.level=warn",
      ...webConfig,
    ],
    dir,
    port,
    "/-/ready",
    headers,
  );
  return { ...peer, rulesDir };
}

/**
 * Alertmanager reading `<dir>/alertmanager.yml` (`config`, or a minimal one until a sync replaces
 * it); with `asUser` (when this is root), run as that user as its Debian unit does.
 */
export async function startAlertmanager(
  config = 'route: { receiver: "initial" }\nreceivers: [{ name: "initial" }]\n',
  /** One of an HA pair: its cluster port, its peers' and their peer_timeout (alone without it). */
  cluster?: { port: number; peers: number[]; peerTimeout: string },
  opts: { asUser?: { uid: number; gid: number } } = {},
): Promise<Peer & { configPath: string }> {
  const binary = requireTool("prometheus-alertmanager"); // before making anything to clean up
  const dir = tempDir("alertagent-am-");
  const configPath = join(dir, "alertmanager.yml");
  writeFileSync(configPath, config);
  const port = freePort();
  const clustering = cluster
    ? [
        `--cluster.listen-address=127.0.0.1:${cluster.port}`,
        `--cluster.advertise-address=127.0.0.1:${cluster.port}`,
        ...cluster.peers.map((p) => `--cluster.peer=127.0.0.1:${p}`),
        `--cluster.peer-timeout=${cluster.peerTimeout}`,
      ]
    : ["--cluster.listen-address="];
  const user = process.getuid?.() === 0 ? opts.asUser : undefined;
  if (user) {
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "data"));
    chownSync(join(dir, "data"), user.uid, user.gid);
  }
  const peer = await startPeer(
    "alertmanager",
    user ? "setpriv" : "prometheus-alertmanager",
    [
      ...(user ? [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", binary] : []),
      `--config.file=${configPath}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...clustering,
      "--log.level=warn",
    ],
    dir,
    port,
    "/-/ready",
  );
  return { ...peer, configPath };
}

/**
 * vmalert loading every *.yml under `<dir>/rules/`, querying `datasource`, notifying `notifier`
 * (none: started without -notifier.url); `defaults: true` leaves its evaluation interval at
 * vmalert's own default (1m).
 */
export async function startVmalert(
  datasource: string,
  notifier: string | undefined,
  opts: { defaults?: boolean; remoteWrite?: string } = {},
): Promise<Peer & { rulesDir: string }> {
  requireTool("vmalert"); // before making anything to clean up
  const dir = tempDir("alertagent-vmalert-");
  const rulesDir = join(dir, "rules");
  mkdirSync(rulesDir);
  const port = freePort();
  const peer = await startPeer(
    "vmalert",
    "vmalert",
    [
      `-rule=${rulesDir}/*.yml`,
      `-datasource.url=${datasource}`,
      ...(notifier ? [`-notifier.url=${notifier}`] : []),
      `-httpListenAddr=127.0.0.1:${port}`,
      // A new group sleeps up to one interval before it starts and takes updates only then:
      // keep it short so an update right after a create shows within the verify timeout.
      ...(opts.defaults ? [] : ["-evaluationInterval=1s"]),
      // vmalert refuses recording rules unless it has somewhere to write their results.
      ...(opts.remoteWrite ? [`-remoteWrite.url=${opts.remoteWrite}`] : []),
      "-loggerLevel=WARN",
    ],
    dir,
    port,
    "/health",
  );
  return { ...peer, rulesDir };
}

/**
 * A Redis for tests that need a shared store: $REDIS_URL when scripts/test.sh set it, else a
 * throw-away redis-server on a free port (stop() ends it). Missing → an Error with the hint.
 */
export async function redisForTest(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.REDIS_URL;
  if (given) return { url: given, stop: async () => {} };
  const bin = Bun.which("redis-server");
  if (!bin)
    throw new Error("redis-server is not installed: apt-get install redis-server (or export REDIS_URL)");
  const port = freePort();
  const child = spawn(
    bin,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const exited = new Promise<void>((res) => child.on("exit", () => res()));
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await Promise.race([exited, Bun.sleep(3000)]);
  };
  for (let i = 0; i < 100; i++) {
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })
      .then((s) => {
        s.end();
        return true;
      })
      .catch(() => false);
    if (ok) return { url: `redis://127.0.0.1:${port}`, stop };
    await Bun.sleep(50);
  }
  await stop();
  throw new Error(`redis-server did not listen on 127.0.0.1:${port}`);
}

/**
 * Debian's nginx (nginx-light) as a reverse proxy in front of `upstream` (an origin), with
 * `client_max_body_size` at `maxBody` (nginx's default is 1m): a request over it is answered 413
 * by nginx and never reaches the upstream.
 */
export async function startNginx(upstream: string, maxBody: string): Promise<Peer> {
  const nginx = requireTool("nginx", "apt-get install nginx-light");
  const dir = tempDir("alertagent-nginx-");
  const port = freePort();
  writeFileSync(
    join(dir, "nginx.conf"),
    [
      "daemon off;",
      "master_process off;",
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      "events { worker_connections 256; }",
      "http {",
      "  access_log off;",
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  client_max_body_size ${maxBody};`,
      `  server { listen 127.0.0.1:${port}; location / { proxy_pass ${upstream}; } }`,
      "}",
      "",
    ].join("\n"),
  );
  const args = ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")];
  // Ready once a GET goes through to the upstream (any answer of its own, not nginx's 502).
  return startPeer("nginx", nginx, args, dir, port, "/");
}
