/**
 * The compiled binary as a test peer (scripts/build first): started on a free port with a
 * config under the dev signing keys, a webhook receiver that answers slowly, and signed posts.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { freePort } from "./redis-server.ts";

export const BIN = resolve(import.meta.dir, "../../dist/alertagent-worker");
const dir = mkdtempSync(join(tmpdir(), "binary-worker-"));

export interface Seen {
  key: string | null;
  body: { message_id: string; channel: string; [k: string]: unknown };
  bytes: number;
}

/** A webhook receiver that answers after `delayMs` and records every request as it arrives. */
export function sink(delayMs: number) {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(req) {
      const text = await req.text();
      seen.push({ key: req.headers.get("idempotency-key"), body: JSON.parse(text), bytes: text.length });
      await Bun.sleep(delayMs);
      return Response.json({ ok: true });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, seen, stop: () => server.stop(true) };
}

/**
 * Starts the binary with `config` (after the dev keys) in its own working directory — where the
 * embedded store's ./data/alertagent.db lives; pass the `cwd` of an earlier worker to restart it
 * on the same data. `embedded: true` runs with no --config at all (the embedded default).
 */
export async function startWorker(config: string, opts: { cwd?: string; embedded?: boolean } = {}) {
  if (!existsSync(BIN))
    throw new Error("dist/alertagent-worker is missing: run scripts/build first (scripts/test.sh does)");
  const port = await freePort();
  const cwd = opts.cwd ?? mkdtempSync(join(dir, "cwd-"));
  const file = join(dir, `w-${port}.yaml`);
  writeFileSync(
    file,
    `qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }\n${config}`,
  );
  const args = opts.embedded
    ? ["serve", "--port", String(port)]
    : ["serve", "--config", file, "--port", String(port)];
  const proc = Bun.spawn([BIN, ...args], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ALERTAGENT_CONFIG: "" },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/health/live`)).ok) return { proc, url, cwd };
    } catch {
      // not yet
    }
    await Bun.sleep(25);
  }
  proc.kill("SIGKILL");
  throw new Error(`the binary did not start: ${await new Response(proc.stderr).text()}`);
}

/** The worker's first log line with this `msg`, parsed (it reads the worker's stdout up to it). */
export async function logLine(
  proc: { stdout: ReadableStream<Uint8Array> },
  msg: string,
): Promise<Record<string, unknown>> {
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the worker ended its output without a "${msg}" line:\n${text}`);
      text += decoder.decode(value, { stream: true });
      for (const line of text.split("\n"))
        if (line.includes(`"msg":"${msg}"`)) return JSON.parse(line) as Record<string, unknown>;
    }
  } finally {
    reader.releaseLock();
  }
}

/** POSTs `body` to `url` + `path` signed as QStash does, with a message id and retry count. */
export async function postSigned(
  url: string,
  path: string,
  body: string,
  id: string,
  retried = 0,
): Promise<Response> {
  const target = `${url}${path}`;
  return fetch(target, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "upstash-message-id": id,
      "upstash-retried": String(retried),
      "upstash-signature": await signRequest({ key: DEV_SIGNING_KEYS.current, url: target, body }),
    },
    body,
  });
}

export const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
