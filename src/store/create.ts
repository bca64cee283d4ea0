/**
 * Picks the store implementation the config names; without a kind, SQLite where the runtime
 * opens it (the binary, Deno), else memory (Workers). A store the runtime cannot reach (redis://
 * without `dial`, sqlite without `openSqlite`) is refused at start-up with a clear reason.
 * `keep` is the memory store's eviction rule (the ledger's `openMessageKeys`).
 */
import type { Config } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";
import type { Dial } from "../ports.ts";
import { type KeepRule, MemoryStore } from "./memory.ts";
import { tcpStore, upstashStore } from "./redis.ts";
import { type OpenSqlite, SqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";

/** The store a config runs on here: its kind, or SQLite where the runtime opens it, else memory. */
export function storeKindOf(
  cfg: Config["store"],
  openSqlite?: OpenSqlite,
): NonNullable<Config["store"]["kind"]> {
  return cfg.kind ?? (openSqlite ? "sqlite" : "memory");
}

/**
 * What of `store` the open store depends on: a SIGHUP that changes only the rest (`retention`,
 * which the ledger reads from the config) keeps it open.
 */
export function storeIdentity(cfg: Config["store"]): string {
  return JSON.stringify([cfg.kind, cfg.path, cfg.url, cfg.token, cfg.prefix, cfg.max_keys]);
}

/** What the runtime offers the stores (the entry's ports; the CLI's Platform has them). */
export interface StorePorts {
  dial?: Dial;
  openSqlite?: OpenSqlite;
  runtime: string;
}

export function createStore(cfg: Config["store"], opts: StorePorts & { keep?: KeepRule }): Store {
  switch (storeKindOf(cfg, opts.openSqlite)) {
    case "sqlite":
      if (!opts.openSqlite) {
        throw new ConfigError(
          `store.kind: sqlite is not available on ${opts.runtime}; use store.kind: upstash (REST) there`,
          [{ path: "store.kind", message: `sqlite is not available on ${opts.runtime}` }],
        );
      }
      try {
        return new SqliteStore(opts.openSqlite(cfg.path));
      } catch (e) {
        // SQLite's own text ("unable to open database file", "file is not a database") names no file.
        throw new Error(`store.path ${cfg.path}: ${(e as Error).message ?? e}`, { cause: e });
      }
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
