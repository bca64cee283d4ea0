/**
 * Starting the worker on a runtime for black-box tests: the compiled binary, Deno
 * (scripts/deno-run) or workerd (`wrangler dev`, offline), each in its own process group on a free
 * loopback port, waiting for /health/live and failing with the process's output when it never
 * answers; stopping kills the whole group (wrangler starts workerd children).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const BIN = join(ROOT, "dist/alertagent-worker");
export const NODE_BIN = join(ROOT, "node_modules/.bin");

/** The worker's env: no inherited worker config, the project's tools on PATH, no telemetry. */
export function toolEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PATH: `${NODE_BIN}:${process.env.PATH}`,
    WRANGLER_SEND_METRICS: "false",
    NO_UPDATE_NOTIFIER: "1",
    ...extra,
  };
  if (!("ALERTAGENT_CONFIG" in extra)) delete env.ALERTAGENT_CONFIG;
  return env;
}

/** A port nothing listens on right now: bind a throwaway server on port 0. */
export function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port as number;
  s.stop(true);
  return port;
}

/** `wrangler dev` on a loopback port, offline-friendly, with `extra` arguments (e.g. --var). */
export function wranglerDev(port: number, extra: string[] = []): [string, string[]] {
  return [
    join(NODE_BIN, "wrangler"),
    [
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(freePort()),
      "--log-level",
      "warn",
      ...extra,
    ],
  ];
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawns in its own process group (so stopping reaches wrangler's workerd too), capturing output. */
export function spawnGroup(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Proc {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? toolEnv(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((res) => {
    child.on("exit", (code) => res(code));
    child.on("error", (e) => {
      out += `\nspawn error: ${e.message}`;
      res(-1);
    });
  });
  return { child, output: () => out, exited };
}

function killGroup(p: Proc, signal: NodeJS.Signals): void {
  try {
    if (p.child.pid) process.kill(-p.child.pid, signal);
  } catch {
    // the group is gone already
  }
}

export async function stopGroup(p: Proc): Promise<void> {
  killGroup(p, "SIGTERM");
  const done = await Promise.race([p.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
  // Whatever is left of the group (or everything, if SIGTERM was not enough) goes now.
  killGroup(p, "SIGKILL");
  if (!done) await Promise.race([p.exited, Bun.sleep(2_000)]);
}

export interface Started {
  baseUrl: string;
  proc: Proc;
  stop(): Promise<void>;
}

/** Starts `cmd` and waits for GET /health/live → 200 (any answer with `anyAnswer`); fails with the process's output when it never comes. */
export async function startGroup(
  what: string,
  cmd: string,
  args: string[],
  port: number,
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; anyAnswer?: boolean } = {},
): Promise<Started> {
  const proc = spawnGroup(cmd, args, opts);
  const baseUrl = `http://127.0.0.1:${port}`;
  const timeout = opts.timeoutMs ?? 45_000;
  const deadline = Date.now() + timeout;
  let exitCode: number | null | undefined;
  proc.exited.then((c) => {
    exitCode = c;
  });
  while (Date.now() < deadline && exitCode === undefined) {
    try {
      const res = await fetch(`${baseUrl}/health/live`, { signal: AbortSignal.timeout(2_000) });
      // anyAnswer: a worker that refuses its config still answers (503 with the reason).
      if (res.status === 200 || opts.anyAnswer) return { baseUrl, proc, stop: () => stopGroup(proc) };
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  await stopGroup(proc);
  const why =
    exitCode !== undefined
      ? `exited with ${exitCode}`
      : `did not answer /health/live within ${timeout / 1000} s`;
  throw new Error(`${what} ${why}. Its output:\n${proc.output()}`);
}
