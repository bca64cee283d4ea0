/**
 * Config-sync test harness: the shared harness (a real app on the memory store) with a whole
 * config document that carries qstash.token and worker.public_url (config sync needs both), real
 * files (node:fs, as the Bun entry wires them), and a QStash-signed POST to /jobs/config-sync.
 */
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { nodeFileAccess } from "../../src/entry/node-fs.ts";
import type { Deps } from "../../src/jobs/deps.ts";
import type { Fetch, FileAccess } from "../../src/ports.ts";
import type { Store } from "../../src/store/store.ts";
import { makeHarness } from "./harness.ts";

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
  const h = makeHarness(syncYamlHead(opts.worker) + configYaml, {
    store: opts.store,
    fetch: opts.fetch,
    fs: opts.fs === null ? undefined : (opts.fs ?? nodeFileAccess),
    env: opts.env,
  });
  return {
    ...h,
    sync: (body, messageId) =>
      h.job("/jobs/config-sync", body, { messageId, subject: `${PUBLIC_URL}/jobs/config-sync` }),
    async json(path) {
      const res = await h.request(path);
      if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
  };
}
