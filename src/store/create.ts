/**
 * Picks the store implementation the config names. Without `dial` (Workers has no TCP
 * sockets) a redis:// store is refused at start-up with a clear reason.
 * `keep` is the memory store's eviction rule (the ledger's `openMessageKeys`).
 */
import type { Config } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";
import type { Dial } from "../ports.ts";
import { type KeepRule, MemoryStore } from "./memory.ts";
import { tcpStore, upstashStore } from "./redis.ts";
import type { Store } from "./store.ts";

export function createStore(
  cfg: Config["store"],
  opts: { dial?: Dial; runtime: string; keep?: KeepRule },
): Store {
  switch (cfg.kind) {
    case "memory":
      return new MemoryStore(Date.now, cfg.max_keys, opts.keep);
    case "upstash":
      return upstashStore({ url: cfg.url as string, token: cfg.token as string, prefix: cfg.prefix });
    case "redis":
      if (!opts.dial) {
        throw new ConfigError(
          `store.kind: redis (TCP) is not available on ${opts.runtime}; use store.kind: upstash (REST) there`,
          [{ path: "store.kind", message: `redis over TCP is not available on ${opts.runtime}` }],
        );
      }
      return tcpStore({ url: cfg.url as string, prefix: cfg.prefix, dial: opts.dial });
  }
}
