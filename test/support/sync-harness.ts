/**
 * Config-sync test harness: a real app (createApp) on the memory store with a whole config
 * document (config sync needs qstash.token and worker.public_url, which the shared harness's
 * fixed qstash block has no room for), real files (node:fs, as the Bun entry wires them),
 * and a QStash-signed POST to /jobs/config-sync.
 */
import { createApp } from "../../src/app.ts";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Deps, Fetch, FileAccess } from "../../src/deps.ts";
import { nodeFileAccess } from "../../src/entry/node-fs.ts";
import { createLogger } from "../../src/observe/logger.ts";
import { PromMetrics } from "../../src/observe/prom-metrics.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/store.ts";
import { buildDeps } from "../../src/wire.ts";

export const BASE = "http://worker.test";
/** worker.public_url: QStash signs for it, and Alertmanager receivers publish to it. */
export const PUBLIC_URL = "https://worker.example.com";
export const QSTASH_TOKEN = "qstash-test-token";

/** The qstash and worker blocks every sync test config starts with; `worker` adds worker keys. */
export const syncYamlHead = (worker = "") => `
worker: { public_url: "${PUBLIC_URL}", log_level: debug${worker ? `, ${worker}` : ""} }
qstash:
  current_signing_key: ${DEV_SIGNING_KEYS.current}
  next_signing_key: ${DEV_SIGNING_KEYS.next}
  token: ${QSTASH_TOKEN}
  url: https://qstash.upstash.io
`;
export const SYNC_YAML_HEAD = syncYamlHead();

export interface SyncHarness {
  deps: Deps;
  logs: Record<string, unknown>[];
  request(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs a config-sync job with a valid signature. */
  sync(body: unknown, messageId?: string): Promise<Response>;
  json<T = Record<string, unknown>>(path: string): Promise<T>;
}

/** `configYaml` is appended to SYNC_YAML_HEAD (give it a config_sync block). */
export function makeSyncHarness(
  configYaml: string,
  opts: {
    fetch?: Fetch;
    fs?: FileAccess | null;
    env?: Record<string, string>;
    worker?: string;
    store?: Store;
  } = {},
): SyncHarness {
  const config = loadConfig(syncYamlHead(opts.worker) + configYaml, opts.env ?? {}, "test");
  const logs: Record<string, unknown>[] = [];
  const deps = buildDeps({
    config,
    store: opts.store ?? new MemoryStore(),
    metrics: new PromMetrics(),
    runtime: "bun",
    logger: createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) }),
    fetch: opts.fetch,
    fs: opts.fs === null ? undefined : (opts.fs ?? nodeFileAccess),
  });
  const app = createApp(deps);
  const request = async (path: string, init?: RequestInit) => app.request(BASE + path, init);
  return {
    deps,
    logs,
    request,
    async sync(body, messageId) {
      const raw = JSON.stringify(body);
      const path = "/jobs/config-sync";
      const signature = await signRequest({
        key: DEV_SIGNING_KEYS.current,
        url: PUBLIC_URL + path,
        body: raw,
      });
      return request(path, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "upstash-signature": signature,
          "upstash-message-id": messageId ?? `msg_${crypto.randomUUID()}`,
        },
        body: raw,
      });
    },
    async json(path) {
      const res = await request(path);
      if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
  };
}
