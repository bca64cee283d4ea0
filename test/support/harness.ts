/**
 * Test harness: a real app (createApp) on the memory store with the config a test names,
 * and a helper that signs requests exactly as QStash does.
 */
import { createApp } from "../../src/app.ts";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { loadConfig } from "../../src/config/load.ts";
import { nodeTcp } from "../../src/entry/node-net.ts";
import type { Deps } from "../../src/jobs/deps.ts";
import type { Fetch, FileAccess } from "../../src/ports.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/store.ts";
import { createLogger } from "../../src/telemetry/logger.ts";
import { PromMetrics } from "../../src/telemetry/prom-metrics.ts";
import { StoreMetrics } from "../../src/telemetry/store-metrics.ts";
import { buildDeps } from "../../src/wire.ts";

export const BASE = "http://worker.test";

export const MINIMAL_YAML = `
qstash:
  current_signing_key: ${DEV_SIGNING_KEYS.current}
  next_signing_key: ${DEV_SIGNING_KEYS.next}
`;

export interface Harness {
  deps: Deps;
  logs: Record<string, unknown>[];
  /** What was printed for a person (the console channel's blocks), in order. */
  printed: string[];
  /** The log lines of the jobs whose message id starts with `prefix`, in order. */
  linesOf(prefix: string): Record<string, unknown>[];
  request(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs `body` to a job route with a valid signature (override anything via opts). */
  job(path: string, body: unknown, opts?: JobOpts): Promise<Response>;
}

export interface JobOpts {
  messageId?: string | null;
  key?: string;
  retried?: number;
  claims?: Record<string, unknown>;
  now?: number;
  /** The body the signature is made for, when it should differ from what is sent. */
  signedBody?: string;
  signature?: string | null;
  subject?: string;
  headers?: Record<string, string>;
}

/**
 * @param yamlExtra YAML appended to the dev signing keys; a document with its own `qstash:`
 * section is used as it is.
 */
export function makeHarness(
  yamlExtra = "",
  opts: {
    store?: Store;
    now?: () => number;
    fetch?: Fetch;
    fs?: FileAccess;
    env?: Record<string, string>;
    /** Work that may go on after a job's answer (as on the binary and Workers); awaited inline without it. */
    background?: (p: Promise<unknown>) => void;
    /** "store": metrics aggregated in the store, as on Workers. */
    metrics?: "process" | "store";
  } = {},
): Harness {
  const yaml = /^qstash:/m.test(yamlExtra) ? yamlExtra : MINIMAL_YAML + yamlExtra;
  const config = loadConfig(yaml, opts.env ?? {}, "test");
  const logs: Record<string, unknown>[] = [];
  const printed: string[] = [];
  const store = opts.store ?? new MemoryStore();
  const deps = buildDeps({
    config,
    store,
    metrics: opts.metrics === "store" ? new StoreMetrics(store) : new PromMetrics(),
    runtime: "bun",
    logger: createLogger({
      level: "debug",
      write: (l) => logs.push(JSON.parse(l)),
      print: (t) => printed.push(t),
    }),
    now: opts.now,
    fetch: opts.fetch,
    fs: opts.fs,
    tcp: nodeTcp,
    background: opts.background,
  });
  const app = createApp(deps);
  const request = async (path: string, init?: RequestInit) => app.request(BASE + path, init);
  return {
    deps,
    logs,
    printed,
    linesOf: (prefix) => logs.filter((l) => String(l.message_id).startsWith(prefix)),
    request,
    async job(path, body, o = {}) {
      const raw = typeof body === "string" ? body : JSON.stringify(body);
      const signature =
        o.signature === null
          ? undefined
          : (o.signature ??
            (await signRequest({
              key: o.key ?? DEV_SIGNING_KEYS.current,
              url: o.subject ?? BASE + path,
              body: o.signedBody ?? raw,
              now: o.now,
              claims: o.claims,
            })));
      const headers: Record<string, string> = { "content-type": "application/json", ...o.headers };
      if (signature) headers["upstash-signature"] = signature;
      if (o.messageId !== null) headers["upstash-message-id"] = o.messageId ?? `msg_${crypto.randomUUID()}`;
      if (o.retried !== undefined) headers["upstash-retried"] = String(o.retried);
      return request(path, { method: "POST", headers, body: raw });
    },
  };
}

/** A QStash failure-callback body for a dead message. */
export function failureCallback(sourceMessageId: string, over: Record<string, unknown> = {}) {
  const body = btoa(
    JSON.stringify({
      error: { code: "downstream_unavailable", message: "DingTalk answered 503", retryable: true },
    }),
  );
  return {
    status: 503,
    header: { "Content-Type": ["application/json"] },
    body,
    retried: 3,
    maxRetries: 3,
    sourceMessageId,
    url: "https://worker.example.com/jobs/notification",
    method: "POST",
    sourceHeader: {},
    sourceBody: btoa(JSON.stringify({ channels: ["console"], alerts: [] })),
    notBefore: 0,
    createdAt: 1764316800000,
    scheduleId: "",
    callerIP: "127.0.0.1",
    dlqId: "dlq_1",
    ...over,
  };
}

/** The harness's app on a real loopback port, for peers that call it over HTTP (a relay). */
export function serveHarness(h: Harness): { url: string; stop: () => void } {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    fetch: async (req) => {
      const u = new URL(req.url);
      return h.request(u.pathname + u.search, {
        method: req.method,
        headers: req.headers,
        body: await req.text(),
      });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}
