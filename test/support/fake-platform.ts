/**
 * An in-memory Platform for CLI tests: files from a map, captured stdout/stderr, signals
 * that the test fires, and exit() that throws so a test can read the code.
 */
import type { Platform } from "../../src/cli/platform.ts";
import { nodeDial, nodeTcp } from "../../src/entry/node-net.ts";
import { PromMetrics } from "../../src/telemetry/prom-metrics.ts";

export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function fakePlatform(files: Record<string, string> = {}, env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const signals = new Map<string, () => void>();
  let handler: ((req: Request) => Response | Promise<Response>) | undefined;
  let stopped = false;
  const p: Platform = {
    runtime: "bun",
    env,
    readFile: async (path) => {
      if (!(path in files)) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return files[path];
    },
    serve(fetch, _host, port) {
      handler = fetch;
      return {
        port: port || 18081,
        stop: async () => {
          stopped = true;
        },
      };
    },
    onSignal: (s, fn) => void signals.set(s, fn),
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    exit: (code) => {
      throw new Exit(code);
    },
    newMetrics: () => new PromMetrics(),
    dial: nodeDial,
    tcp: nodeTcp,
  };
  return {
    p,
    files,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    signal: (s: string) => signals.get(s)?.(),
    fetch: (path: string, init?: RequestInit) => {
      if (!handler) throw new Error("not serving");
      // A path, or a whole URL (another Host than the loopback one).
      return handler(new Request(path.startsWith("http") ? path : `http://127.0.0.1${path}`, init));
    },
    stopped: () => stopped,
  };
}

/** Runs `main` and returns the exit code (undefined when it kept serving). */
export async function exitCode(run: Promise<void>): Promise<number | undefined> {
  try {
    await run;
    return undefined;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    throw e;
  }
}

/**
 * The code a serving worker exits with later (a signal's shutdown): `p.exit` records it instead of
 * throwing, and `exited` resolves with it.
 */
export function laterExit(p: { exit: (code: number) => never }): {
  exited: Promise<number>;
  code(): number | undefined;
} {
  let code: number | undefined;
  const exited = new Promise<number>((resolve) => {
    p.exit = ((c: number) => {
      code = c;
      resolve(c);
    }) as never;
  });
  return { exited, code: () => code };
}
